-- name: Accounts :many
-- Every staff account, active first, by name.
SELECT u.id, u.email, u.name, u.role, u.created_at, u.disabled_at,
    ARRAY(SELECT d.department_code FROM user_departments d WHERE d.user_id = u.id ORDER BY 1)::text[] AS departments
FROM users u ORDER BY u.disabled_at IS NOT NULL, COALESCE(NULLIF(u.name, ''), u.email), u.id;

-- name: Account :one
-- One account, active or disabled.
SELECT u.id, u.email, u.name, u.role, u.created_at, u.disabled_at,
    ARRAY(SELECT d.department_code FROM user_departments d WHERE d.user_id = u.id ORDER BY 1)::text[] AS departments
FROM users u WHERE u.id = $1;

-- name: LockAccount :one
SELECT id, email, name, role, disabled_at,
    ARRAY(SELECT d.department_code FROM user_departments d WHERE d.user_id = users.id ORDER BY 1)::text[] AS departments
FROM users WHERE id = $1 FOR UPDATE;

-- name: InsertAccount :one
INSERT INTO users (email, name, role, password_hash)
VALUES (@email, @name, @role, @password_hash)
RETURNING id;

-- name: UpdateAccount :exec
UPDATE users SET name = @name, role = @role WHERE id = @id;

-- name: ClearUserDepartments :exec
DELETE FROM user_departments WHERE user_id = $1;

-- name: SetAccountDisabled :exec
UPDATE users SET disabled_at = CASE WHEN @disabled::boolean THEN now() END WHERE id = @id;

-- name: SetPasswordHash :exec
UPDATE users SET password_hash = @password_hash WHERE id = @id;

-- name: InsertAdminLog :exec
INSERT INTO admin_log (actor_id, actor, action, subject, detail)
VALUES (@actor_id, @actor, @action, @subject, @detail);

-- name: AdminLog :many
-- The latest changes, newest first.
SELECT at, actor, action, subject, detail FROM admin_log ORDER BY at DESC, id DESC LIMIT @max_rows;

-- name: APIKeys :many
-- Every key, live ones first, newest first.
SELECT id, name, created_at, revoked_at FROM api_keys ORDER BY revoked_at IS NOT NULL, created_at DESC, id DESC;

-- name: RevokeAPIKey :one
-- newly is false when the key was revoked before.
UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1
RETURNING name, key_hash, (revoked_at = now())::boolean AS newly;

-- name: CannedResponses :many
-- Every canned response: those for every department first, then by
-- department and title.
SELECT * FROM canned_responses ORDER BY department_code NULLS FIRST, title, id;

-- name: CannedResponse :one
SELECT * FROM canned_responses WHERE id = $1;

-- name: CannedResponsesFor :many
-- The responses offered on a department's request: its own and those for
-- every department. A request in triage (no department) gets the latter.
SELECT * FROM canned_responses
WHERE department_code IS NULL OR department_code = sqlc.narg(department)::text
ORDER BY title, id;

-- name: InsertCannedResponse :one
INSERT INTO canned_responses (department_code, title, body_en, body_es)
VALUES (@department_code, @title, @body_en, @body_es)
RETURNING id;

-- name: UpdateCannedResponse :execrows
UPDATE canned_responses SET department_code = @department_code, title = @title, body_en = @body_en,
    body_es = @body_es, updated_at = now()
WHERE id = @id;

-- name: DeleteCannedResponse :one
DELETE FROM canned_responses WHERE id = $1 RETURNING title;
