-- name: ListenRequestChanges :exec
LISTEN request_changes;

-- name: RequestChangesSince :many
-- The latest change of each request since a time, oldest first.
SELECT request_id, max(at)::timestamptz AS at,
    (array_agg(department_code ORDER BY at DESC))[1]::text AS department_code,
    array_remove(array_agg(DISTINCT previous_department), NULL)::text[] AS previous_departments
FROM request_changes
WHERE at > @since
GROUP BY request_id
ORDER BY 2
LIMIT @max_rows;

-- name: SweepRequestChanges :exec
DELETE FROM request_changes WHERE at < now() - @age::interval;
