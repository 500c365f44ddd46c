-- Anyone may follow a request they did not report: its public updates
-- reach them by text (FOLLOW 1234) or mail (confirmed by a link) until
-- they stop. A follow is a subscription to one request's updates
-- (request_id), beside those to the city's emergency notices (NULL).
ALTER TABLE subscriptions ADD COLUMN request_id bigint REFERENCES requests (id);
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_contact_id_channel_key;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_one UNIQUE NULLS NOT DISTINCT (contact_id, channel, request_id);
DROP INDEX subscriptions_live;
CREATE INDEX subscriptions_live ON subscriptions (id) WHERE request_id IS NULL AND confirmed_at IS NOT NULL AND ended_at IS NULL;
CREATE INDEX subscriptions_followers ON subscriptions (request_id)
    WHERE request_id IS NOT NULL AND confirmed_at IS NOT NULL AND ended_at IS NULL;

-- The subscription a message went out under, whose link ends it.
ALTER TABLE messages ADD COLUMN subscription_id bigint REFERENCES subscriptions (id);
