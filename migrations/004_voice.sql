-- Callers choose how they hear back: by text when they accept it on the
-- call, otherwise by a phone call during the day.
ALTER TABLE contacts ADD COLUMN texts_ok boolean NOT NULL DEFAULT false;
