-- name: LockRequestStatus :one
SELECT status FROM requests WHERE id = $1 FOR UPDATE;

-- name: SetRequestStatus :exec
UPDATE requests SET status = @status, close_reason = NULLIF(@close_reason::text, ''),
    updated_at = COALESCE(sqlc.narg(dated)::timestamptz, now()),
    closed_at = CASE WHEN @status = 'closed' THEN COALESCE(sqlc.narg(dated)::timestamptz, now()) END
WHERE id = @id;

-- name: LockRequestsForMerge :many
-- Both requests of a merge, locked in id order so that two staff merging
-- crosswise cannot deadlock.
SELECT id, status, duplicate_of FROM requests WHERE id = ANY(@ids::bigint[]) ORDER BY id FOR UPDATE;

-- name: MoveDuplicates :exec
-- Children of a new duplicate follow it to its parent.
UPDATE requests SET duplicate_of = @parent::bigint, updated_at = now() WHERE duplicate_of = @id::bigint;

-- name: CloseAsDuplicate :exec
UPDATE requests SET status = 'closed', close_reason = 'duplicate', duplicate_of = @parent::bigint,
    closed_at = COALESCE(sqlc.narg(dated)::timestamptz, now()), updated_at = COALESCE(sqlc.narg(dated)::timestamptz, now())
WHERE id = @id;

-- name: InsertEvent :exec
INSERT INTO request_events (request_id, at, user_id, actor, from_status, to_status, close_reason, department_code,
    from_service, to_service, note, public)
VALUES (@request_id, COALESCE(sqlc.narg(dated)::timestamptz, now()), sqlc.narg(user_id), @actor,
    NULLIF(@from_status::text, ''), NULLIF(@to_status::text, ''),
    NULLIF(@close_reason::text, ''), NULLIF(@department::text, ''), NULLIF(@from_service::text, ''),
    NULLIF(@to_service::text, ''), @note, @public);

-- name: History :many
-- A request's events, oldest first; with public_only, what the public may
-- read: status changes and public notes.
SELECT at, user_id, actor, COALESCE(from_status, '')::text AS from_status, COALESCE(to_status, '')::text AS to_status,
    COALESCE(close_reason, '')::text AS close_reason, COALESCE(department_code, '')::text AS department_code,
    COALESCE(from_service, '')::text AS from_service, COALESCE(to_service, '')::text AS to_service, note, public
FROM request_events
WHERE request_id = @request_id AND (NOT @public_only::boolean OR public OR to_status IS NOT NULL)
ORDER BY at, id;

-- name: PublicHistories :many
SELECT request_id, at, COALESCE(to_status, '')::text AS to_status, COALESCE(close_reason, '')::text AS close_reason,
    COALESCE(department_code, '')::text AS department_code, (CASE WHEN public THEN note ELSE '' END)::text AS note, public
FROM request_events
WHERE request_id = ANY(@ids::bigint[]) AND (public OR to_status IS NOT NULL)
ORDER BY request_id, at, id;

-- name: IssueReporters :many
-- One request per person among an issue's reporters: the request's own
-- and its duplicates'.
SELECT DISTINCT ON (contact_id) id, contact_id::bigint AS contact_id FROM requests
WHERE (id = @id::bigint OR duplicate_of = @id::bigint) AND contact_id IS NOT NULL
ORDER BY contact_id, id;

-- name: RequestReporter :many
SELECT id, contact_id::bigint AS contact_id FROM requests WHERE id = @id::bigint AND contact_id IS NOT NULL;
