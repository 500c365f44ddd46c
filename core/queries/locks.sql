-- name: LockKey :exec
-- One transaction at a time for a key in a bucket, until it ends: two
-- takers of a rate at once could both find room, two sign-ins of one new
-- address both make its account.
SELECT pg_advisory_xact_lock(hashtextextended(@bucket::text || ' ' || @key::text, 0));
