-- name: Inbox :many
-- One page of an inbox queue, newest first, after the cursor (keyset:
-- no OFFSET). Staff see their departments' requests; dispatchers and
-- admins see all. A NULL filter does not filter.
SELECT r.* FROM request_details r
WHERE (@all_departments::boolean OR r.department_code = ANY(@departments::text[]))
    AND CASE @queue::text
        WHEN 'triage' THEN r.department_code IS NULL AND r.status <> 'closed'
        WHEN 'unassigned' THEN r.assignee_id IS NULL AND r.department_code IS NOT NULL AND r.status <> 'closed'
        WHEN 'mine' THEN r.assignee_id = @user_id::bigint AND r.status <> 'closed'
        WHEN 'departments' THEN r.department_code = ANY(@departments::text[]) AND r.status <> 'closed'
        WHEN 'flagged' THEN EXISTS (SELECT 1 FROM contacts c WHERE c.id = r.contact_id AND c.flagged_at > now() - interval '24 hours')
        ELSE true END
    AND (sqlc.narg(status)::text IS NULL OR r.status = sqlc.narg(status)::text)
    AND (sqlc.narg(service)::text IS NULL OR r.service_code = sqlc.narg(service)::text)
    AND (sqlc.narg(department)::text IS NULL OR r.department_code = sqlc.narg(department)::text)
    AND (sqlc.narg(channel)::text IS NULL OR r.channel = sqlc.narg(channel)::text)
    AND (NOT @overdue::boolean OR (r.expected_at < now() AND r.status <> 'closed'))
    AND (sqlc.narg(before_at)::timestamptz IS NULL
        OR (r.requested_at, r.id) < (sqlc.narg(before_at)::timestamptz, sqlc.narg(before_id)::bigint))
ORDER BY r.requested_at DESC, r.id DESC
LIMIT @max_rows::int;

-- name: InboxCounts :one
-- How many requests wait in each queue a user sees.
SELECT
    count(*) FILTER (WHERE department_code IS NULL AND status <> 'closed') AS triage,
    count(*) FILTER (WHERE assignee_id IS NULL AND department_code IS NOT NULL AND status <> 'closed') AS unassigned,
    count(*) FILTER (WHERE assignee_id = @user_id::bigint AND status <> 'closed') AS mine,
    count(*) FILTER (WHERE department_code = ANY(@departments::text[]) AND status <> 'closed') AS departments,
    count(*) FILTER (WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.id = r.contact_id AND c.flagged_at > now() - interval '24 hours')) AS flagged,
    count(*) AS all_requests
FROM requests r
WHERE @all_departments::boolean OR department_code = ANY(@departments::text[]);

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
