-- Search at a big city's size. Each request's and message's search vector
-- is stored (computed once, when written), so that a search may look at
-- the last week's requests and messages first (core/staff.go searchBack)
-- and test each against the words for a microsecond, instead of
-- recomputing two languages' vectors per row or reading every mention of
-- a common word in the city's history.
ALTER TABLE requests ADD COLUMN search tsvector GENERATED ALWAYS AS (search_vector(description, address)) STORED;
ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (search_vector(subject, body)) STORED;
DROP INDEX requests_search;
DROP INDEX messages_search;
CREATE INDEX requests_search ON requests USING gin (search);
CREATE INDEX messages_search ON messages USING gin (search) WHERE request_id IS NOT NULL;
-- By when they came, for the last week's and quarter's messages.
CREATE INDEX messages_created ON messages (created_at) WHERE request_id IS NOT NULL;
