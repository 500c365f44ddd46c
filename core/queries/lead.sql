-- name: TryLead :one
-- Take the lead of some work, on this connection, if no one holds it.
SELECT pg_try_advisory_lock(@key::bigint)::boolean;

-- name: StillLeading :exec
-- The lead's connection is alive (the lock goes with it).
SELECT 1;

-- name: GiveUpLead :exec
SELECT pg_advisory_unlock(@key::bigint);
