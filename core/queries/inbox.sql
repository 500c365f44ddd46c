-- name: Inbox :many
-- One page of an inbox queue, after the cursor (keyset: no OFFSET), in
-- one of three orders: newest first, oldest first, or due (the soonest
-- expected date first, none last: as if due at infinity, which keeps the
-- keyset one comparison that the requests_due index answers). Staff see
-- their departments' requests; dispatchers and admins see all. A NULL
-- filter does not filter. A search finds the requests whose description
-- or address, or any of whose messages, match what was typed, read in
-- English or in Spanish, and the request with the number typed; since,
-- when set, keeps to the requests filed since then (a message on one of
-- them is no older than it, so its messages are looked for since then
-- too): core searches the newest first, and further back only when they
-- do not fill the page.
--
-- The queue, the sort and which filters are set are constants of each
-- execution, which the planner folds away: each CASE becomes the one
-- condition or order it names, an unused filter disappears, and the
-- search's ids, read once through the GIN indexes, look requests up by
-- id. (A generic plan, folding nothing, never costs less than these, so
-- PostgreSQL keeps planning each execution.) The page is chosen from
-- requests alone; only its rows are then read through request_details,
-- whose subqueries are not free.
SELECT d.* FROM unnest(ARRAY(
    SELECT r.id FROM requests r
    WHERE (@all_departments::boolean OR r.department_code = ANY(@departments::text[]))
        AND CASE @queue::text
            WHEN 'triage' THEN r.department_code IS NULL AND r.status <> 'closed'
            WHEN 'unassigned' THEN r.assignee_id IS NULL AND r.department_code IS NOT NULL AND r.status <> 'closed'
            WHEN 'mine' THEN r.assignee_id = @user_id::bigint AND r.status <> 'closed'
            WHEN 'departments' THEN r.department_code = ANY(@departments::text[]) AND r.status <> 'closed'
            ELSE true END
        -- Flagged senders are few: their requests are found from them, by
        -- the requests_contact index, rather than each request checked.
        AND (@queue::text <> 'flagged' OR r.contact_id = ANY(ARRAY(
            SELECT c.id FROM contacts c WHERE c.flagged_at IS NOT NULL
                AND (c.flagged_by IS NOT NULL OR c.flagged_at > now() - interval '24 hours'))))
        AND (sqlc.narg(status)::text IS NULL OR r.status = sqlc.narg(status)::text)
        AND (sqlc.narg(service)::text IS NULL OR r.service_code = sqlc.narg(service)::text)
        AND (sqlc.narg(department)::text IS NULL OR r.department_code = sqlc.narg(department)::text)
        AND (sqlc.narg(channel)::text IS NULL OR r.channel = sqlc.narg(channel)::text)
        AND (NOT @overdue::boolean OR (r.expected_at < now() AND r.status <> 'closed'))
        AND (sqlc.narg(since)::timestamptz IS NULL OR r.requested_at >= sqlc.narg(since)::timestamptz)
        AND ((sqlc.narg(search)::text IS NULL AND sqlc.narg(number)::bigint IS NULL) OR r.id = ANY(ARRAY(
            SELECT sqlc.narg(number)::bigint
            UNION
            SELECT s.id FROM requests s
            WHERE s.search @@ search_query(sqlc.narg(search)::text)
                AND (sqlc.narg(since)::timestamptz IS NULL OR s.requested_at >= sqlc.narg(since)::timestamptz)
            UNION
            SELECT m.request_id FROM messages m
            WHERE m.request_id IS NOT NULL AND m.search @@ search_query(sqlc.narg(search)::text)
                AND (sqlc.narg(since)::timestamptz IS NULL OR m.created_at >= sqlc.narg(since)::timestamptz))))
        AND (sqlc.narg(after_id)::bigint IS NULL OR CASE @sort::text
            WHEN 'oldest' THEN (r.requested_at, r.id) > (sqlc.narg(after_at)::timestamptz, sqlc.narg(after_id)::bigint)
            WHEN 'due' THEN (COALESCE(r.expected_at, 'infinity'), r.id)
                > (COALESCE(sqlc.narg(after_at)::timestamptz, 'infinity'), sqlc.narg(after_id)::bigint)
            ELSE (r.requested_at, r.id) < (sqlc.narg(after_at)::timestamptz, sqlc.narg(after_id)::bigint) END)
    ORDER BY
        CASE WHEN @sort::text = 'oldest' THEN r.requested_at END,
        CASE WHEN @sort::text = 'due' THEN COALESCE(r.expected_at, 'infinity') END,
        CASE WHEN @sort::text IN ('oldest', 'due') THEN r.id END,
        CASE WHEN @sort::text = 'newest' THEN r.requested_at END DESC,
        CASE WHEN @sort::text = 'newest' THEN r.id END DESC
    LIMIT @max_rows::int
)) WITH ORDINALITY AS page (id, n)
JOIN request_details d ON d.id = page.id
ORDER BY page.n;

-- name: InboxCounts :one
-- How many requests wait in each queue a user sees, each counted up to
-- @cap rows and no further: a queue of a million reads "10000+" at the
-- cost of ten thousand index entries.
SELECT
    (SELECT count(*) FROM (SELECT FROM requests
        WHERE @all_departments::boolean AND department_code IS NULL AND status <> 'closed' LIMIT @cap::int) t) AS triage,
    (SELECT count(*) FROM (SELECT FROM requests
        WHERE assignee_id IS NULL AND department_code IS NOT NULL AND status <> 'closed'
        AND (@all_departments::boolean OR department_code = ANY(@departments::text[])) LIMIT @cap::int) t) AS unassigned,
    (SELECT count(*) FROM (SELECT FROM requests
        WHERE assignee_id = @user_id::bigint AND status <> 'closed'
        AND (@all_departments::boolean OR department_code = ANY(@departments::text[])) LIMIT @cap::int) t) AS mine,
    (SELECT count(*) FROM (SELECT FROM requests
        WHERE department_code = ANY(@departments::text[]) AND status <> 'closed' LIMIT @cap::int) t) AS departments,
    (SELECT count(*) FROM (SELECT FROM contacts c JOIN requests r ON r.contact_id = c.id
        WHERE c.flagged_at IS NOT NULL AND (c.flagged_by IS NOT NULL OR c.flagged_at > now() - interval '24 hours')
        AND (@all_departments::boolean OR r.department_code = ANY(@departments::text[])) LIMIT @cap::int) t) AS flagged,
    (SELECT count(*) FROM (SELECT FROM requests
        WHERE @all_departments::boolean OR department_code = ANY(@departments::text[]) LIMIT @cap::int) t) AS all_requests;

-- name: RequestAttachments :many
-- A request's files and its messages', for staff.
SELECT * FROM attachments WHERE request_id = $1 ORDER BY id;

-- name: GetAttachment :one
SELECT * FROM attachments WHERE id = $1;

-- name: ContactRequestList :many
-- A reporter's requests, newest first, for staff.
SELECT * FROM request_details WHERE contact_id = $1::bigint ORDER BY requested_at DESC, id DESC LIMIT 20;

-- name: AssignRequest :exec
UPDATE requests SET department_code = NULLIF(@department::text, ''), assignee_id = sqlc.narg(assignee_id)::bigint,
    updated_at = now()
WHERE id = @id;

-- name: LockRequestAssignment :one
SELECT COALESCE(department_code, '')::text AS department, assignee_id FROM requests WHERE id = $1 FOR UPDATE;

-- name: LockRequestClass :one
-- What a reclassification changes, and what it routes by.
SELECT COALESCE(service_code, '')::text AS service_code, COALESCE(department_code, '')::text AS department,
    assignee_id, lat, lng, requested_at
FROM requests WHERE id = $1 FOR UPDATE;

-- name: ReclassifyRequest :exec
UPDATE requests SET service_code = @service::text, department_code = NULLIF(@department::text, ''),
    assignee_id = sqlc.narg(assignee_id)::bigint, expected_at = sqlc.narg(expected_at)::timestamptz,
    overdue_at = NULL, updated_at = now()
WHERE id = @id;

-- name: LockRequestContact :one
SELECT contact_id FROM requests WHERE id = $1 FOR UPDATE;

-- name: NearbyOpenRequests :many
-- Open requests in a box around a point, of the services named, that are
-- not themselves duplicates, closest first (a degree of longitude is
-- lng_scale of one of latitude there): what the request at the point may
-- repeat.
SELECT d.* FROM requests r JOIN request_details d ON d.id = r.id
WHERE r.status <> 'closed' AND r.lat IS NOT NULL
    AND r.lat BETWEEN @south::float8 AND @north::float8 AND r.lng BETWEEN @west::float8 AND @east::float8
    AND r.service_code = ANY(@services::text[]) AND r.duplicate_of IS NULL AND r.id <> @id::bigint
ORDER BY power(r.lat - @lat::float8, 2) + power((r.lng - @lng::float8) * @lng_scale::float8, 2)
LIMIT 20;
