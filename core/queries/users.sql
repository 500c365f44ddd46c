-- name: AddUserDepartment :exec
INSERT INTO user_departments (user_id, department_code) VALUES (@user_id, @department_code)
ON CONFLICT DO NOTHING;

-- name: ActiveUserByEmail :one
SELECT u.*, ARRAY(SELECT d.department_code FROM user_departments d WHERE d.user_id = u.id ORDER BY 1)::text[] AS departments
FROM users u WHERE u.email = lower(@email::text) AND u.disabled_at IS NULL;

-- name: ActiveUser :one
SELECT u.*, ARRAY(SELECT d.department_code FROM user_departments d WHERE d.user_id = u.id ORDER BY 1)::text[] AS departments
FROM users u WHERE u.id = $1 AND u.disabled_at IS NULL;

-- name: StaffNames :many
-- Who can be assigned requests: every active user, by name.
SELECT id, email, name FROM users WHERE disabled_at IS NULL ORDER BY COALESCE(NULLIF(name, ''), email);

-- name: RecentSigninFailures :one
-- Failed sign-ins within the window, for an account and for an address.
SELECT count(*) FILTER (WHERE key = @account::text) AS account, count(*) FILTER (WHERE key = @address::text) AS address
FROM signin_failures WHERE key IN (@account::text, @address::text) AND at > now() - @within::interval;

-- name: AddSigninFailure :exec
INSERT INTO signin_failures (key) VALUES (@account::text), (@address::text);

-- name: ClearSigninFailures :exec
DELETE FROM signin_failures WHERE key = @account::text;

-- name: SweepSigninFailures :exec
DELETE FROM signin_failures WHERE at < now() - @within::interval;

-- name: InsertAPIKey :exec
INSERT INTO api_keys (name, key_hash) VALUES (@name, @key_hash);

-- name: APIKeyName :one
SELECT name FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL;
