-- name: ClaimOutbound :one
-- queued -> sending in one statement, with the address; not_sent when the
-- number opted out of texts since a text was queued (opting out of texts
-- stops texts, not mail). A message that was not
-- queued comes back unclaimed, with its state and, when an earlier
-- attempt claimed it, what it is and when that attempt began.
WITH claim AS (
    UPDATE messages m SET
        state = CASE WHEN m.channel = 'sms' AND ct.opted_out_at IS NOT NULL THEN 'not_sent' ELSE 'sending' END,
        error = CASE WHEN m.channel = 'sms' AND ct.opted_out_at IS NOT NULL THEN 'the number opted out (STOP)' ELSE m.error END,
        attempts = m.attempts + 1,
        claimed_at = now()
    FROM contacts ct
    WHERE m.id = @id AND m.direction = 'out' AND m.state = 'queued' AND ct.id = m.contact_id
    RETURNING m.state, m.channel, COALESCE(m.request_id, 0)::bigint AS request_id, m.subject, m.body, m.language, m.auto,
        COALESCE(CASE WHEN m.channel = 'email' THEN ct.email ELSE ct.phone END, '')::text AS address,
        (m.channel = 'sms' AND ct.opted_out_at IS NOT NULL)::boolean AS opted_out, m.claimed_at, m.subscription_id)
SELECT claim.state, claim.channel, claim.request_id, claim.subject, claim.body, claim.language, claim.auto,
    claim.address, claim.opted_out, true AS claimed, claim.claimed_at,
    -- A subscriber can end their subscription from what it sends them.
    COALESCE((SELECT s.token FROM subscriptions s WHERE s.id = claim.subscription_id), '')::text AS list_token FROM claim
UNION ALL
SELECT m.state, m.channel, COALESCE(m.request_id, 0)::bigint, m.subject, m.body, m.language, m.auto,
    COALESCE(CASE WHEN m.channel = 'email' THEN ct.email ELSE ct.phone END, '')::text,
    (m.channel = 'sms' AND ct.opted_out_at IS NOT NULL)::boolean, false, m.claimed_at,
    COALESCE((SELECT s.token FROM subscriptions s WHERE s.id = m.subscription_id), '')::text
FROM messages m LEFT JOIN contacts ct ON ct.id = m.contact_id
WHERE m.id = @id AND m.direction = 'out' AND NOT EXISTS (SELECT 1 FROM claim);

-- name: Reclaim :execrows
-- Takes over a message an interrupted attempt claimed, unless another
-- attempt took it over first.
UPDATE messages SET claimed_at = now(), attempts = attempts + 1
WHERE id = @id AND state = 'sending' AND claimed_at IS NOT DISTINCT FROM sqlc.narg(claimed_at)::timestamptz;

-- name: EmailThread :many
-- A request's earlier mails, so that a new one threads with them.
SELECT provider_id::text FROM messages
WHERE request_id = @request_id::bigint AND channel = 'email' AND provider_id IS NOT NULL AND messages.id <> @exclude_id
ORDER BY created_at, id;

-- name: Unclaim :exec
UPDATE messages SET state = 'queued' WHERE id = $1;

-- name: MarkInterrupted :exec
UPDATE messages SET state = 'unknown', error = @error
WHERE id = @id AND state = 'sending';

-- name: OptOutRecipient :exec
-- The provider refused a message because its recipient unsubscribed.
UPDATE contacts SET opted_out_at = COALESCE(opted_out_at, now())
WHERE contacts.id = (SELECT m.contact_id FROM messages m WHERE m.id = $1);

-- name: FinishSend :one
-- Records a send's outcome, and says whether a receipt beat it here.
UPDATE messages SET state = @state, provider_id = COALESCE(NULLIF(@provider_id::text, ''), provider_id), error = @error,
    sent_at = CASE WHEN @state = 'sent' THEN now() ELSE sent_at END
WHERE id = @id
RETURNING channel, (@provider_id::text <> '' AND EXISTS (
    SELECT 1 FROM delivery_events d WHERE d.channel = messages.channel AND d.provider_id = @provider_id::text))::boolean AS early;

-- name: LockProviderID :exec
-- Orders a send's record and a receipt for the same provider id: each
-- takes this lock after its own write, so whichever comes second sees the
-- other's (core/delivery.go applyDelivery).
SELECT pg_advisory_xact_lock(hashtextextended(@provider_id::text, 7311));

-- name: InsertDeliveryEvent :execrows
INSERT INTO delivery_events (channel, provider_id, status, error_code, opted_out)
VALUES (@channel, @provider_id, @status, @error_code, @opted_out)
ON CONFLICT DO NOTHING;

-- name: LockOutboundByProviderID :one
SELECT id, COALESCE(contact_id, 0)::bigint AS contact_id, state FROM messages
WHERE channel = @channel AND provider_id = @provider_id::text AND direction = 'out'
FOR UPDATE;

-- name: DeliveryEvents :many
SELECT status, error_code, opted_out FROM delivery_events WHERE channel = @channel AND provider_id = @provider_id;

-- name: SetDeliveryState :exec
UPDATE messages SET state = @state, error = CASE WHEN @error::text = '' THEN error ELSE @error::text END
WHERE id = @id;
