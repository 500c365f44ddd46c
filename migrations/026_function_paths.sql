-- pg_restore runs with an empty search_path: the search functions, which
-- call one another (and run for every row restored, through the search
-- columns), name the schema they find each other in.
ALTER FUNCTION search_vector(text, text) SET search_path = public, pg_catalog;
ALTER FUNCTION search_query(text) SET search_path = public, pg_catalog;
ALTER FUNCTION word_pairs(tsvector) SET search_path = public, pg_catalog;
ALTER FUNCTION with_pairs(tsquery) SET search_path = public, pg_catalog;
ALTER FUNCTION note_request_change() SET search_path = public, pg_catalog;
