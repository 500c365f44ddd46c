-- The weekly mail of the city's coming meetings and events, to those who
-- asked for it (a subscription with digest set), sent once a week: a
-- broadcast of a week rather than of an announcement.
ALTER TABLE subscriptions ADD COLUMN digest boolean NOT NULL DEFAULT false;
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_one;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_one UNIQUE NULLS NOT DISTINCT (contact_id, channel, request_id, digest);
ALTER TABLE broadcasts ALTER COLUMN announcement_id DROP NOT NULL;
ALTER TABLE broadcasts ADD COLUMN week date UNIQUE;
ALTER TABLE broadcasts ADD CHECK ((announcement_id IS NULL) <> (week IS NULL));
