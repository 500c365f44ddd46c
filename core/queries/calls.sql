-- whose transcripts come later.

-- name: InsertCallMessage :one
-- What the caller said for one report; its provider id names the call and
-- the report, so a redelivered webhook inserts nothing.
INSERT INTO messages (contact_id, direction, channel, provider_id, body, state)
VALUES (NULLIF(@contact_id::bigint, 0), 'in', 'voice', @provider_id::text, @body, 'received')
ON CONFLICT (channel, provider_id) WHERE direction = 'in' AND provider_id IS NOT NULL DO NOTHING
RETURNING id;

-- name: LockRecordings :many
-- The recordings of a report, in order, locked against their transcripts
-- arriving at the same time.
SELECT id, body FROM messages
WHERE channel = 'voice' AND direction = 'in' AND provider_id = ANY(@provider_ids::text[])
ORDER BY id FOR UPDATE;

-- name: InsertRecording :one
INSERT INTO messages (request_id, contact_id, direction, channel, provider_id, body, state, flag)
VALUES (NULLIF(@request_id::bigint, 0), NULLIF(@contact_id::bigint, 0), 'in', 'voice', @provider_id::text, @body, 'received', @flag)
ON CONFLICT (channel, provider_id) WHERE direction = 'in' AND provider_id IS NOT NULL DO NOTHING
RETURNING id;

-- name: LockRecording :one
SELECT id, body, flag, request_id FROM messages
WHERE channel = 'voice' AND direction = 'in' AND provider_id = $1::text
FOR UPDATE;

-- name: SetMessageBody :exec
UPDATE messages SET body = $2 WHERE id = $1;
