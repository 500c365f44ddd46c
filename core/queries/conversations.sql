-- the report they are still completing.

-- name: LockConversation :one
-- The no-op update takes the row lock in the statement that creates the
-- conversation the first time.
INSERT INTO conversations (contact_id, channel) VALUES (@contact_id, @channel)
ON CONFLICT (contact_id, channel) DO UPDATE SET channel = EXCLUDED.channel
RETURNING id, draft, expires_at, request_id;

-- name: SaveConversation :exec
UPDATE conversations SET draft = @draft, expires_at = sqlc.narg(expires_at), request_id = NULLIF(@request_id::bigint, 0),
    updated_at = now()
WHERE id = @id;

-- name: NextExpiredDraft :one
-- A draft nobody completed in time, for the periodic job to file.
SELECT contact_id, channel FROM conversations
WHERE draft IS NOT NULL AND expires_at < now() ORDER BY expires_at LIMIT 1
FOR UPDATE SKIP LOCKED;
