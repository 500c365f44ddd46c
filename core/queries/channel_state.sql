-- name: ChannelState :one
SELECT value FROM channel_state WHERE key = $1;

-- name: SetChannelState :exec
INSERT INTO channel_state (key, value) VALUES (@key, @value)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now();

-- name: AddChannelState :exec
-- Sets a value only if none is there.
INSERT INTO channel_state (key, value) VALUES (@key, @value) ON CONFLICT DO NOTHING;

-- name: DeleteChannelState :exec
DELETE FROM channel_state WHERE key = $1;

-- name: SweepChannelState :execrows
DELETE FROM channel_state WHERE starts_with(key, @prefix::text) AND updated_at < now() - @age::interval;
