-- What an Open311 client that follows requests needs (mySociety's
-- servicerequestupdates): the public changes of a time window, and the
-- residents' comments it relays.

-- name: PublicUpdates :many
-- The public changes made in [start_at, end_at], oldest first: status
-- changes and public notes, each with the status the request had once it
-- was made. Filing is no change (to_status 'new'). A private note's words
-- and who acted are never read.
SELECT e.id, e.request_id, e.at, (CASE WHEN e.public THEN e.note ELSE '' END)::text AS note,
    s.to_status::text AS status, COALESCE(s.close_reason, '')::text AS close_reason
FROM request_events e
CROSS JOIN LATERAL (
    SELECT p.to_status, p.close_reason FROM request_events p
    WHERE p.request_id = e.request_id AND p.to_status IS NOT NULL AND (p.at, p.id) <= (e.at, e.id)
    ORDER BY p.at DESC, p.id DESC LIMIT 1) s
WHERE e.at >= @start_at AND e.at <= @end_at AND (e.public OR e.to_status IS NOT NULL)
    AND e.to_status IS DISTINCT FROM 'new'
ORDER BY e.at, e.id
LIMIT @max_rows;

-- name: InsertComment :one
-- A resident's comment on a request, relayed by an API client. Its
-- provider id names the client and the client's own id for the comment,
-- so the same comment sent again inserts nothing.
INSERT INTO messages (request_id, contact_id, direction, channel, provider_id, subject, body, state, flag)
VALUES (@request_id::bigint, NULLIF(@contact_id::bigint, 0), 'in', 'open311', @provider_id::text, @subject, @body,
    'received', @flag)
ON CONFLICT (channel, provider_id) WHERE direction = 'in' AND provider_id IS NOT NULL DO NOTHING
RETURNING id;
