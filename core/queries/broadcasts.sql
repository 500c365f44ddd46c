-- name: SubscribeByText :one
-- ALERTS, or FOLLOW 1234 (@request_id): the text itself confirms the number.
INSERT INTO subscriptions (contact_id, channel, token, confirmed_at, request_id)
VALUES (@contact_id, 'sms', @token, now(), sqlc.narg(request_id))
ON CONFLICT (contact_id, channel, request_id, digest) DO UPDATE SET ended_at = NULL,
    confirmed_at = COALESCE(subscriptions.confirmed_at, now())
RETURNING *;

-- name: SubscribeByMail :one
-- A new, pending or ended subscription waits for the link mailed to be
-- followed; a confirmed one is left as it is (a stranger typing the
-- address changes nothing).
INSERT INTO subscriptions (contact_id, channel, token, request_id, digest)
VALUES (@contact_id, 'email', @token, sqlc.narg(request_id), @digest)
ON CONFLICT (contact_id, channel, request_id, digest) DO UPDATE SET confirmed_at = NULL, ended_at = NULL
    WHERE subscriptions.confirmed_at IS NULL OR subscriptions.ended_at IS NOT NULL
RETURNING *;

-- name: Followers :many
-- Who follows a request: their subscription and channel.
SELECT s.id, s.contact_id, s.channel FROM subscriptions s JOIN contacts c ON c.id = s.contact_id
WHERE s.request_id = @request_id AND s.confirmed_at IS NOT NULL AND s.ended_at IS NULL AND c.purged_at IS NULL
ORDER BY s.id;

-- name: ConfirmSubscription :one
UPDATE subscriptions SET confirmed_at = COALESCE(confirmed_at, now())
WHERE token = @token AND ended_at IS NULL
RETURNING *;

-- name: EndSubscription :one
UPDATE subscriptions SET ended_at = now() WHERE token = @token AND ended_at IS NULL
RETURNING *;

-- name: EmergencySubscribers :one
SELECT count(*) FROM subscriptions s JOIN contacts c ON c.id = s.contact_id
WHERE s.request_id IS NULL AND NOT s.digest AND s.confirmed_at IS NOT NULL AND s.ended_at IS NULL AND c.purged_at IS NULL;

-- name: InsertBroadcast :one
INSERT INTO broadcasts (announcement_id, actor_id, actor) VALUES (@announcement_id, sqlc.narg(actor_id), @actor)
ON CONFLICT (announcement_id) DO NOTHING
RETURNING id;

-- name: LockBroadcast :one
SELECT * FROM broadcasts WHERE id = @id FOR UPDATE;

-- name: BroadcastOf :one
SELECT * FROM broadcasts WHERE announcement_id = @announcement_id;

-- name: BatchEnd :one
-- The last subscription of the batch after @after: @skip more on.
SELECT id FROM subscriptions WHERE id > @after ORDER BY id OFFSET @skip LIMIT 1;

-- name: FanOut :many
-- A message for each subscriber of the batch reachable now, in their
-- language; one already written is not written again.
INSERT INTO messages (contact_id, direction, channel, subject, body, language, state, broadcast_id, subscription_id)
SELECT s.contact_id, 'out', s.channel,
    CASE WHEN s.channel = 'sms' THEN '' WHEN c.language = 'es' THEN @subject_es::text ELSE @subject_en::text END,
    CASE WHEN s.channel = 'sms' THEN (CASE WHEN c.language = 'es' THEN @text_es::text ELSE @text_en::text END)
        WHEN c.language = 'es' THEN @mail_es::text ELSE @mail_en::text END,
    c.language, 'queued', @broadcast_id::bigint, s.id
FROM subscriptions s JOIN contacts c ON c.id = s.contact_id
WHERE s.id > @after AND s.id <= @upto AND s.request_id IS NULL AND s.digest = @digest
    AND s.confirmed_at IS NOT NULL AND s.ended_at IS NULL AND c.purged_at IS NULL
    AND CASE WHEN s.channel = 'sms' THEN c.phone IS NOT NULL AND c.opted_out_at IS NULL
        ELSE c.email IS NOT NULL AND c.bouncing_at IS NULL END
ORDER BY s.id
ON CONFLICT (broadcast_id, contact_id, channel) WHERE broadcast_id IS NOT NULL DO NOTHING
RETURNING id, channel;

-- name: FannedOut :exec
UPDATE broadcasts SET last_id = @last_id, texts = texts + @texts::int, mails = mails + @mails::int,
    fanned_out_at = CASE WHEN @done::boolean THEN now() END
WHERE id = @id;

-- name: BroadcastProgress :one
SELECT count(*) FILTER (WHERE state = 'sent')::int AS sent,
    count(*) FILTER (WHERE state = 'delivered')::int AS delivered,
    count(*) FILTER (WHERE state IN ('failed', 'not_sent', 'unknown'))::int AS failed,
    count(*) FILTER (WHERE state IN ('queued', 'sending'))::int AS remaining
FROM messages WHERE broadcast_id = @broadcast_id::bigint;

-- name: SubscribeVerified :one
-- A signed-in resident's own address, verified already: confirmed at once.
INSERT INTO subscriptions (contact_id, channel, token, confirmed_at, request_id, digest)
VALUES (@contact_id, @channel, @token, now(), sqlc.narg(request_id), @digest)
ON CONFLICT (contact_id, channel, request_id, digest) DO UPDATE SET ended_at = NULL,
    confirmed_at = COALESCE(subscriptions.confirmed_at, now())
RETURNING *;

-- name: ResidentNotices :many
-- The channels by which an account's addresses get the emergency notices
-- and the weekly mail (digest).
SELECT s.channel, s.digest FROM subscriptions s JOIN contacts c ON c.id = s.contact_id
WHERE (c.phone = sqlc.narg(phone)::text OR c.email = sqlc.narg(email)::text)
    AND s.request_id IS NULL AND s.confirmed_at IS NOT NULL AND s.ended_at IS NULL
ORDER BY 1;

-- name: ResidentEndAlerts :exec
UPDATE subscriptions s SET ended_at = now() FROM contacts c
WHERE c.id = s.contact_id AND (c.phone = sqlc.narg(phone)::text OR c.email = sqlc.narg(email)::text)
    AND s.request_id IS NULL AND s.digest = @digest AND s.channel = @channel AND s.ended_at IS NULL;

-- name: InsertWeeklyDigest :one
-- A week's digest, once.
INSERT INTO broadcasts (week, actor) VALUES (@week, 'weekly digest')
ON CONFLICT (week) DO NOTHING
RETURNING id;
