-- The inbox's search and sorts, and two staff actions' records:
-- reclassifying a request's service and flagging its sender.

-- What a request and a message say, in English and Spanish at once: the
-- lexemes of both configurations, so a search in either language finds
-- it. One definition, used by the indexes and by the queries alike (an
-- expression index serves a query only when the expressions are the
-- same), and no stored column for every SELECT * to drag along.
CREATE FUNCTION search_vector(a text, b text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_tsvector('english'::regconfig, a || ' ' || b) || to_tsvector('spanish'::regconfig, a || ' ' || b);

-- What a person typed into the search box (quotes, or, -word as on the
-- web), read in English and in Spanish: either reading may match.
CREATE FUNCTION search_query(q text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN websearch_to_tsquery('english'::regconfig, q) || websearch_to_tsquery('spanish'::regconfig, q);

CREATE INDEX requests_search ON requests USING gin (search_vector(description, address));
CREATE INDEX messages_search ON messages USING gin (search_vector(subject, body)) WHERE request_id IS NOT NULL;

-- The inbox sorted by due date: soonest first, requests with no expected
-- date last (as if due at infinity, which keeps the keyset one
-- comparison an index can answer).
CREATE INDEX requests_due ON requests ((COALESCE(expected_at, 'infinity'::timestamptz)), id);

-- A reclassification keeps the service before and after, for figures on
-- how often intake classified right.
ALTER TABLE request_events
    ADD COLUMN from_service text,
    ADD COLUMN to_service   text;

-- A flag set by staff lasts until staff clear it; an automatic one (a
-- flood, a bot: flagged_by NULL) lapses after a day.
ALTER TABLE contacts ADD COLUMN flagged_by bigint REFERENCES users (id);
