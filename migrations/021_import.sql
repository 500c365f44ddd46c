-- A city's history, imported: each request keeps the other system's id
-- for it (importing the same file again files nothing), and is checked
-- against the requests open at its own time for the same issue: those
-- of its service in the window before it, which this index finds without
-- reading the rest of the history.
ALTER TABLE requests ADD COLUMN source text;
CREATE UNIQUE INDEX requests_source ON requests (source) WHERE source IS NOT NULL;
CREATE INDEX requests_service_time ON requests (service_code, requested_at)
    WHERE lat IS NOT NULL AND duplicate_of IS NULL;
