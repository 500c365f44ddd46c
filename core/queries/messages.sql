-- name: InsertInbound :one
-- Stores an inbound message unless its provider id was seen before, locks
-- the contact's conversation on the channel (creating it the first time),
-- and counts the recent traffic the abuse caps weigh (inbound messages in
-- the flood window, this one included; automatic answers in the last hour
-- and day), in one statement. No row: a redelivery.
WITH m AS (
    INSERT INTO messages (contact_id, direction, channel, provider_id, subject, body, state)
    VALUES (@contact_id::bigint, 'in', @channel, NULLIF(@provider_id::text, ''), @subject, @body, 'received')
    ON CONFLICT (channel, provider_id) WHERE direction = 'in' AND provider_id IS NOT NULL DO NOTHING
    RETURNING id),
v AS (
    INSERT INTO conversations (contact_id, channel) SELECT @contact_id::bigint, @channel WHERE EXISTS (SELECT 1 FROM m)
    ON CONFLICT (contact_id, channel) DO UPDATE SET channel = EXCLUDED.channel
    RETURNING id, draft, expires_at, request_id)
SELECT m.id AS message_id, v.id AS conversation_id, v.draft, v.expires_at, v.request_id,
    n.inbound, n.auto_hour, n.auto_day
FROM m, v, LATERAL (
    SELECT (1 + count(*) FILTER (WHERE direction = 'in' AND created_at > now() - @flood_window::interval))::bigint AS inbound,
        count(*) FILTER (WHERE direction = 'out' AND auto AND created_at > now() - interval '1 hour') AS auto_hour,
        count(*) FILTER (WHERE direction = 'out' AND auto) AS auto_day
    FROM messages WHERE contact_id = @contact_id::bigint AND created_at > now() - interval '1 day') n;

-- name: InboundByProviderID :one
SELECT id, COALESCE(request_id, 0)::bigint AS request_id FROM messages
WHERE channel = @channel AND provider_id = @provider_id::text AND direction = 'in';

-- name: InboundByKey :one
SELECT m.id, COALESCE(m.request_id, 0)::bigint AS request_id FROM inbound_keys k
JOIN messages m ON m.id = k.message_id WHERE k.key = ANY(@keys::text[]) LIMIT 1;

-- name: InsertInboundKeys :execrows
-- Further names of an inbound message; fewer rows than keys means one was
-- seen before.
INSERT INTO inbound_keys (key, message_id) SELECT unnest(@keys::text[]), @message_id
ON CONFLICT DO NOTHING;

-- name: FlagMessage :exec
UPDATE messages SET flag = @flag WHERE id = @id;

-- name: ThreadRequest :one
-- The request of the latest earlier message a reply names.
SELECT request_id::bigint FROM messages
WHERE channel = @channel AND provider_id = ANY(@provider_ids::text[]) AND request_id IS NOT NULL
ORDER BY created_at DESC LIMIT 1;

-- name: RequestExists :one
SELECT EXISTS (SELECT 1 FROM requests WHERE id = $1);

-- name: RequestReporterIs :one
SELECT (contact_id IS NOT DISTINCT FROM @contact_id::bigint)::boolean FROM requests WHERE id = @id;

-- name: InsertOutbound :one
INSERT INTO messages (request_id, contact_id, user_id, direction, channel, subject, body, language, state, error, auto,
    subscription_id)
VALUES (NULLIF(@request_id::bigint, 0), @contact_id::bigint, sqlc.narg(user_id), 'out', @channel, @subject, @body, @language,
    @state, @error, @auto, sqlc.narg(subscription_id))
RETURNING id;

-- name: GetMessage :one
SELECT * FROM messages WHERE id = $1;

-- name: RequestMessages :many
SELECT * FROM messages WHERE request_id = $1::bigint ORDER BY created_at, id;

-- name: LockMessage :one
-- Locking an inbound message orders its late files against the
-- conversation filing it.
SELECT request_id, contact_id, channel FROM messages WHERE id = $1 FOR UPDATE;

-- name: MessageChannel :one
SELECT channel FROM messages WHERE id = $1;

-- name: InsertBlob :exec
INSERT INTO blobs (sha256, content_type, size) VALUES (@sha256, @content_type, @size)
ON CONFLICT DO NOTHING;

-- name: InsertAttachment :one
INSERT INTO attachments (message_id, request_id, blob_sha256, filename, content_type, size, public)
VALUES (NULLIF(@message_id::bigint, 0), NULLIF(@request_id::bigint, 0), @blob_sha256, @filename, @content_type, @size, @public)
RETURNING id;

-- name: PublicPhoto :one
SELECT * FROM attachments
WHERE id = $1 AND public AND request_id IS NOT NULL AND content_type IN ('image/jpeg', 'image/png');

-- name: BlobKnown :one
SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = $1);

-- name: AnsweredRequest :one
-- The request of the latest message staff wrote to a contact over a
-- channel within the window: what the contact's answer is about.
SELECT request_id::bigint FROM messages
WHERE contact_id = @contact_id AND direction = 'out' AND channel = @channel AND NOT auto
  AND request_id IS NOT NULL AND created_at > now() - @within::interval
ORDER BY created_at DESC, id DESC
LIMIT 1;
