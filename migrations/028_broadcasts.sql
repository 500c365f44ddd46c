-- Residents who asked for the city's emergency notices, and each notice
-- sent to them.

-- One subscription per contact and channel. A text subscription (ALERTS)
-- is confirmed by the text itself; a mail one when its owner follows the
-- link mailed to them (double opt-in). token names it in that link and in
-- every unsubscribe link.
CREATE TABLE subscriptions (
    id           bigserial PRIMARY KEY,
    contact_id   bigint NOT NULL REFERENCES contacts (id),
    channel      text NOT NULL CHECK (channel IN ('sms', 'email')),
    token        text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    confirmed_at timestamptz,
    ended_at     timestamptz,
    UNIQUE (contact_id, channel)
);
-- Who hears an emergency notice.
CREATE INDEX subscriptions_live ON subscriptions (id) WHERE confirmed_at IS NOT NULL AND ended_at IS NULL;

-- An emergency notice sent to the subscribers: once (its announcement is
-- unique). Its messages are written a batch of subscribers at a time, in
-- order, each batch in one transaction with its deliveries: last_id is
-- the last subscription written, texts and mails how many of each, which
-- sets when the next goes out; fanned_out_at, when all are written.
CREATE TABLE broadcasts (
    id              bigserial PRIMARY KEY,
    announcement_id bigint NOT NULL UNIQUE REFERENCES announcements (id),
    actor_id        bigint REFERENCES users (id),
    actor           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_id         bigint NOT NULL DEFAULT 0,
    texts           integer NOT NULL DEFAULT 0,
    mails           integer NOT NULL DEFAULT 0,
    fanned_out_at   timestamptz
);

-- A subscriber gets one message of a broadcast per channel, whatever
-- retries or restarts happen while it is written.
ALTER TABLE messages ADD COLUMN broadcast_id bigint REFERENCES broadcasts (id);
CREATE UNIQUE INDEX messages_broadcast ON messages (broadcast_id, contact_id, channel) WHERE broadcast_id IS NOT NULL;
