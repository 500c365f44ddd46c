-- Conversations over SMS (and later voice and email): half-made reports,
-- keywords, abuse caps and delivery receipts.

ALTER TABLE contacts
    ADD COLUMN language_chosen boolean NOT NULL DEFAULT false, -- ESPAÑOL/ENGLISH beats detection
    ADD COLUMN flagged_at      timestamptz,                     -- a flood or a bot: automatic answers paused
    ADD COLUMN flag_reason     text NOT NULL DEFAULT '';

-- One current conversation per contact and channel; the draft is a report
-- still missing its service or place, kept until expires_at.
CREATE UNIQUE INDEX conversations_contact_channel ON conversations (contact_id, channel);

ALTER TABLE messages
    ADD COLUMN auto boolean NOT NULL DEFAULT false; -- an automatic answer, counted against the cap
CREATE INDEX messages_contact_recent ON messages (contact_id, direction, created_at DESC);
CREATE INDEX messages_provider ON messages (channel, provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX attachments_message ON attachments (message_id);

-- Provider receipts, deduplicated: the same status twice is one row, and a
-- receipt that arrives before the send is recorded waits here for it.
CREATE TABLE delivery_events (
    channel     text NOT NULL,
    provider_id text NOT NULL,
    status      text NOT NULL,
    error_code  text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, provider_id, status)
);
