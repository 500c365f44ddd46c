-- What email (and any channel that redelivers under several names) needs:
-- extra dedupe keys, a little remembered state, and staff flags on messages.

-- Further names of an inbound message, such as "imap:INBOX:UIDVALIDITY:UID":
-- seeing any of them again means the message is already stored.
CREATE TABLE inbound_keys (
    key        text PRIMARY KEY,
    message_id bigint NOT NULL REFERENCES messages (id)
);

-- Small state a channel keeps between runs: the last IMAP UID seen, say.
CREATE TABLE channel_state (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Why staff should look at an inbound message: an automatic reply, a
-- message on a request from someone other than its reporter.
ALTER TABLE messages ADD COLUMN flag text NOT NULL DEFAULT '';
