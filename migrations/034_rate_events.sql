-- What each client did in the last hour, for the limits every instance
-- shares: reports and sign-ups on the web, per address. Unlogged: a
-- crash that empties it only forgives an hour of counting, and writes to
-- it cost no WAL.
CREATE UNLOGGED TABLE rate_events (
    bucket text NOT NULL,
    key    text NOT NULL,
    at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rate_events_key ON rate_events (bucket, key, at);
