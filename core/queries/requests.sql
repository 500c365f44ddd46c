-- name: InsertRequest :one
-- A request and its first history entry, for a known contact or none;
-- one of the city's history (an import) at its own time, with the
-- source's id for it.
WITH r AS (
    INSERT INTO requests (token, service_code, description, attributes, lat, lng,
        address, address_id, zipcode, media_url, department_code, channel,
        contact_id, device_id, expected_at, requested_at, updated_at, source)
    VALUES (@token, NULLIF(@service_code::text, ''), @description, @attributes, sqlc.narg(lat)::float8, sqlc.narg(lng)::float8,
        @address, @address_id, @zipcode, @media_url, NULLIF(@department::text, ''), @channel,
        NULLIF(@contact_id::bigint, 0), @device_id, sqlc.narg(expected_at)::timestamptz,
        COALESCE(sqlc.narg(dated)::timestamptz, now()), COALESCE(sqlc.narg(dated)::timestamptz, now()),
        NULLIF(@source::text, ''))
    RETURNING id, requested_at, contact_id),
e AS (
    INSERT INTO request_events (request_id, at, actor, to_status, department_code, note)
    SELECT r.id, r.requested_at, @actor, 'new', NULLIF(@department::text, ''), @note FROM r)
SELECT r.id, r.requested_at, COALESCE(r.contact_id, 0)::bigint AS contact_id FROM r;

-- name: InsertRequestByPhone :one
-- A request from a reporter known only by a phone number: the same
-- statement finds or creates their contact. A known contact is written to
-- only when it gains a name. One created by a transaction this snapshot
-- cannot see yet returns no row: nothing is written, and the caller runs
-- the statement again.
WITH c0 AS (
    INSERT INTO contacts (phone, name, language)
    VALUES (@phone::text, @name::text, COALESCE(NULLIF(@language::text, ''), 'en'))
    ON CONFLICT (phone) DO UPDATE SET name = EXCLUDED.name
        WHERE contacts.name = '' AND EXCLUDED.name <> ''
    RETURNING id),
c AS (
    SELECT id FROM c0
    UNION ALL
    SELECT id FROM contacts WHERE phone = @phone::text AND NOT EXISTS (SELECT 1 FROM c0)),
r AS (
    INSERT INTO requests (token, service_code, description, attributes, lat, lng,
        address, address_id, zipcode, media_url, department_code, channel,
        contact_id, device_id, expected_at)
    SELECT @token::text, NULLIF(@service_code::text, ''), @description::text, @attributes::jsonb, sqlc.narg(lat)::float8, sqlc.narg(lng)::float8,
        @address::text, @address_id::text, @zipcode::text, @media_url::text, NULLIF(@department::text, ''), @channel::text,
        (SELECT id FROM c LIMIT 1), @device_id::text, sqlc.narg(expected_at)::timestamptz
    WHERE EXISTS (SELECT 1 FROM c)
    RETURNING id, requested_at, contact_id),
e AS (
    INSERT INTO request_events (request_id, actor, to_status, department_code, note)
    SELECT r.id, @actor, 'new', NULLIF(@department::text, ''), @note FROM r)
SELECT r.id, r.requested_at, COALESCE(r.contact_id, 0)::bigint AS contact_id FROM r;

-- name: InsertRequestByEmail :one
-- InsertRequestByPhone for a reporter known only by an email address.
WITH c0 AS (
    INSERT INTO contacts (email, name, language)
    VALUES (@email::text, @name::text, COALESCE(NULLIF(@language::text, ''), 'en'))
    ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name
        WHERE contacts.name = '' AND EXCLUDED.name <> ''
    RETURNING id),
c AS (
    SELECT id FROM c0
    UNION ALL
    SELECT id FROM contacts WHERE email = @email::text AND NOT EXISTS (SELECT 1 FROM c0)),
r AS (
    INSERT INTO requests (token, service_code, description, attributes, lat, lng,
        address, address_id, zipcode, media_url, department_code, channel,
        contact_id, device_id, expected_at)
    SELECT @token::text, NULLIF(@service_code::text, ''), @description::text, @attributes::jsonb, sqlc.narg(lat)::float8, sqlc.narg(lng)::float8,
        @address::text, @address_id::text, @zipcode::text, @media_url::text, NULLIF(@department::text, ''), @channel::text,
        (SELECT id FROM c LIMIT 1), @device_id::text, sqlc.narg(expected_at)::timestamptz
    WHERE EXISTS (SELECT 1 FROM c)
    RETURNING id, requested_at, contact_id),
e AS (
    INSERT INTO request_events (request_id, actor, to_status, department_code, note)
    SELECT r.id, @actor, 'new', NULLIF(@department::text, ''), @note FROM r)
SELECT r.id, r.requested_at, COALESCE(r.contact_id, 0)::bigint AS contact_id FROM r;

-- name: GetRequest :one
SELECT * FROM request_details WHERE id = $1;

-- name: GetRequestByToken :one
SELECT * FROM request_details WHERE token = $1;

-- name: ListRequests :many
-- Newest first; a NULL argument does not filter. south, west, north and
-- east bound a district's box, all set or none.
SELECT * FROM request_details
WHERE (sqlc.narg(service_codes)::text[] IS NULL OR service_code = ANY(sqlc.narg(service_codes)::text[]))
    AND (sqlc.narg(start)::timestamptz IS NULL OR requested_at >= sqlc.narg(start)::timestamptz)
    AND (sqlc.narg(end_at)::timestamptz IS NULL OR requested_at <= sqlc.narg(end_at)::timestamptz)
    AND (sqlc.narg(open)::boolean IS NULL OR (status <> 'closed') = sqlc.narg(open)::boolean)
    AND (sqlc.narg(south)::float8 IS NULL OR (lat BETWEEN sqlc.narg(south)::float8 AND sqlc.narg(north)::float8
        AND lng BETWEEN sqlc.narg(west)::float8 AND sqlc.narg(east)::float8))
ORDER BY requested_at DESC, id DESC
LIMIT sqlc.narg(max_rows)::int;

-- name: ListRequestsByID :many
-- ListRequests for the requests named by id.
SELECT * FROM request_details
WHERE id = ANY(@ids::bigint[])
    AND (sqlc.narg(service_codes)::text[] IS NULL OR service_code = ANY(sqlc.narg(service_codes)::text[]))
    AND (sqlc.narg(start)::timestamptz IS NULL OR requested_at >= sqlc.narg(start)::timestamptz)
    AND (sqlc.narg(end_at)::timestamptz IS NULL OR requested_at <= sqlc.narg(end_at)::timestamptz)
    AND (sqlc.narg(open)::boolean IS NULL OR (status <> 'closed') = sqlc.narg(open)::boolean)
    AND (sqlc.narg(south)::float8 IS NULL OR (lat BETWEEN sqlc.narg(south)::float8 AND sqlc.narg(north)::float8
        AND lng BETWEEN sqlc.narg(west)::float8 AND sqlc.narg(east)::float8))
ORDER BY requested_at DESC, id DESC
LIMIT sqlc.narg(max_rows)::int;

-- name: TriageQueue :many
-- Open requests no department has taken yet, oldest first.
SELECT * FROM request_details
WHERE department_code IS NULL AND status <> 'closed'
ORDER BY requested_at;

-- name: ContactRequests :many
-- A contact's requests among ids: the ones a message may name.
SELECT id FROM requests WHERE id = ANY(@ids::bigint[]) AND contact_id = @contact_id::bigint;

-- name: LatestRequestOf :one
SELECT id FROM requests WHERE contact_id = $1::bigint ORDER BY requested_at DESC, id DESC LIMIT 1;

-- name: OpenRequestsOf :many
-- A contact's open requests, newest first: what a message may be about;
-- with the request each was offered to follow instead, unanswered.
SELECT r.id, COALESCE(r.service_code, '')::text AS service_code, COALESCE(s.name, '')::text AS service_name, r.requested_at,
    COALESCE(o.parent_id, 0)::bigint AS offered
FROM requests r LEFT JOIN services s ON s.code = r.service_code LEFT JOIN same_offers o ON o.request_id = r.id
WHERE r.contact_id = $1::bigint AND r.status <> 'closed'
ORDER BY r.requested_at DESC, r.id DESC
LIMIT 5;

-- name: LatestOpenRequestOf :one
SELECT id FROM requests WHERE contact_id = $1::bigint AND status <> 'closed'
ORDER BY requested_at DESC, id DESC LIMIT 1;

-- name: AttachMessages :exec
-- Links inbound messages, and the files they brought, to a request.
WITH m AS (
    UPDATE messages SET request_id = @request_id, conversation_id = NULLIF(@conversation_id::bigint, 0)
    WHERE messages.id = ANY(@message_ids::bigint[])),
a AS (
    UPDATE attachments SET request_id = @request_id
    WHERE message_id = ANY(@message_ids::bigint[]) AND request_id IS NULL)
UPDATE requests SET updated_at = now() WHERE requests.id = @request_id;

-- name: LinkMessages :exec
-- AttachMessages for a request just filed.
WITH m AS (
    UPDATE messages SET request_id = @request_id::bigint, conversation_id = NULLIF(@conversation_id::bigint, 0)
    WHERE messages.id = ANY(@message_ids::bigint[]))
UPDATE attachments SET request_id = @request_id::bigint
WHERE message_id = ANY(@message_ids::bigint[]) AND request_id IS NULL;

-- name: TouchRequest :execrows
-- A request changed: now, or at a time of the city's history (never
-- earlier than it already was).
UPDATE requests SET updated_at = GREATEST(updated_at, COALESCE(sqlc.narg(dated)::timestamptz, now())) WHERE id = @id;

-- name: PlaceRequest :exec
-- A position found later (a photo's) places a request that had none.
UPDATE requests SET lat = @lat::float8, lng = @lng::float8,
    address = CASE WHEN address = '' THEN @address ELSE address END, updated_at = now()
WHERE requests.id = @id AND lat IS NULL;

-- name: LockRequestDescription :one
SELECT description FROM requests WHERE id = $1 FOR UPDATE;

-- name: SetRequestDescription :exec
UPDATE requests SET description = $2, updated_at = now() WHERE id = $1;

-- name: SameIssue :one
-- The open request of a service nearest a point, within a box around it
-- (the caller checks the distance): the issue a new report joins. Not a
-- duplicate itself, and reported within the window.
SELECT id, lat::float8 AS lat, lng::float8 AS lng FROM requests
WHERE status <> 'closed' AND lat IS NOT NULL
  AND point(lng, lat) <@ box(point(@west::float8, @south::float8), point(@east::float8, @north::float8))
  AND service_code = @service::text AND duplicate_of IS NULL
  AND requested_at > now() - @within::interval
ORDER BY point(lng, lat) <-> point(@lng::float8, @lat::float8)
LIMIT 1;

-- name: SameIssueAsOf :one
-- SameIssue at a time of the city's history (an import): open then,
-- reported within the window before it.
SELECT id, lat::float8 AS lat, lng::float8 AS lng FROM requests
WHERE lat IS NOT NULL AND service_code = @service::text AND duplicate_of IS NULL
  AND requested_at BETWEEN @since::timestamptz AND @until::timestamptz
  AND (closed_at IS NULL OR closed_at > @until::timestamptz)
  AND point(lng, lat) <@ box(point(@west::float8, @south::float8), point(@east::float8, @north::float8))
ORDER BY point(lng, lat) <-> point(@lng::float8, @lat::float8)
LIMIT 1;

-- name: RequestBySource :one
-- The request an import filed for a source's id.
SELECT id FROM requests WHERE source = @source::text;

-- name: DigestRequests :many
-- A department's open requests that are overdue or due by @until, and
-- those it received since @since: its daily digest.
SELECT id, service_code, address, requested_at, expected_at FROM requests
WHERE department_code = @department::text AND status <> 'closed'
  AND (expected_at < @until::timestamptz OR requested_at >= @since::timestamptz)
ORDER BY expected_at NULLS LAST, id
LIMIT 1000;

-- name: MarkOverdue :execrows
-- Open requests past their due time, not marked yet: marked, each with a
-- note in its history (for staff), the due time written in @zone.
WITH due AS (
    UPDATE requests SET overdue_at = now()
    WHERE status <> 'closed' AND expected_at < now() AND overdue_at IS NULL
    RETURNING id, expected_at)
INSERT INTO request_events (request_id, actor, note)
SELECT id, 'system', 'Overdue: it was due ' || to_char(expected_at AT TIME ZONE @zone::text, 'Dy Mon FMDD, FMHH12:MI AM') || '.'
FROM due;

-- name: InsertSameOffer :exec
INSERT INTO same_offers (request_id, parent_id, meters) VALUES (@request_id, @parent_id, @meters);

-- name: SameOffer :one
-- The open request a report's reporter was offered to follow instead,
-- and how far it is.
SELECT o.parent_id, o.meters FROM same_offers o JOIN requests p ON p.id = o.parent_id
WHERE o.request_id = $1 AND p.status <> 'closed';

-- name: TakeSameOffer :one
-- The offer answered: gone, whatever the answer.
DELETE FROM same_offers WHERE request_id = $1 RETURNING parent_id;

-- name: LatestClosedRequestOf :one
-- The request a contact's REOPEN means: the last of theirs to close.
SELECT id FROM requests WHERE contact_id = $1::bigint AND status = 'closed' ORDER BY closed_at DESC, id DESC LIMIT 1;
