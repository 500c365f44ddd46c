-- Phrase search at a big city's size. A GIN index over tsvectors keeps no
-- positions, so "deep hole" used to read every request and message
-- holding both words, anywhere, to check they stand side by side (20,000
-- rows at a million requests). Each vector now also holds its pairs of
-- neighbouring words as single lexemes ("deep hole"), and a search asks
-- for the pairs its phrases need: the index then returns the rows holding
-- the phrase, which the check only confirms.

-- The pairs of lexemes at neighbouring positions in v, each as the lexeme
-- "first second" (the parser never makes a lexeme with a space). In
-- PL/pgSQL, through an array by position: as a query (unnest, and a join
-- by position) it cost twice what parsing the text does, every write.
CREATE FUNCTION word_pairs(v tsvector) RETURNS tsvector
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    words text[] := '{}';
    pairs text[] := '{}';
    w record;
    p int;
BEGIN
    FOR w IN SELECT lexeme, positions FROM unnest(v) LOOP
        FOREACH p IN ARRAY w.positions LOOP
            words[p] := w.lexeme;
        END LOOP;
    END LOOP;
    FOR p IN COALESCE(array_lower(words, 1), 1) .. COALESCE(array_upper(words, 1), 1) - 1 LOOP
        IF words[p] IS NOT NULL AND words[p + 1] IS NOT NULL THEN
            pairs := pairs || (words[p] || ' ' || words[p + 1]);
        END IF;
    END LOOP;
    RETURN array_to_tsvector(pairs);
END $$;

-- q, and the pairs its phrases need: 'deep' <-> 'hole' needs 'deep hole'
-- (words a stop word apart, <2>, need none). Only for a query of words
-- and phrases joined by "and": under "or" or "not" a pair is not needed.
CREATE FUNCTION with_pairs(q tsquery) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN q::text ~ '^(''([^'']|'''')*''|<->|<[0-9]+>|&| )*$' THEN COALESCE(q && (
        SELECT string_agg(DISTINCT '''' || lex || ' ' || lex2 || '''', ' & ')
        FROM (SELECT m[1] AS lex, lead(m[2]) OVER w AS op, lead(m[1], 2) OVER w AS lex2
              FROM regexp_matches(q::text, '''((?:[^'']|'''')*)''|(<->|<[0-9]+>|&)', 'g') WITH ORDINALITY x (m, n)
              WINDOW w AS (ORDER BY n)) t
        WHERE op = '<->' AND lex IS NOT NULL AND lex2 IS NOT NULL)::tsquery, q) ELSE q END;

CREATE OR REPLACE FUNCTION search_vector(a text, b text) RETURNS tsvector
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    en tsvector := to_tsvector('english'::regconfig, a || ' ' || b);
    es tsvector := to_tsvector('spanish'::regconfig, a || ' ' || b);
BEGIN
    RETURN en || es || word_pairs(en) || word_pairs(es);
END $$;

CREATE OR REPLACE FUNCTION search_query(q text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN with_pairs(websearch_to_tsquery('english'::regconfig, q)) || with_pairs(websearch_to_tsquery('spanish'::regconfig, q));

-- The stored vectors, computed again.
ALTER TABLE requests DROP COLUMN search;
ALTER TABLE requests ADD COLUMN search tsvector GENERATED ALWAYS AS (search_vector(description, address)) STORED;
ALTER TABLE messages DROP COLUMN search;
ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (search_vector(subject, body)) STORED;
CREATE INDEX requests_search ON requests USING gin (search);
CREATE INDEX messages_search ON messages USING gin (search) WHERE request_id IS NOT NULL;
