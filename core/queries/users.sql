-- name: InsertUser :one
INSERT INTO users (email, role, department_code, password_hash)
VALUES (@email, @role, NULLIF(@department_code::text, ''), @password_hash)
RETURNING id;

-- name: ActiveUserByEmail :one
SELECT * FROM users WHERE email = lower(@email::text) AND disabled_at IS NULL;

-- name: InsertAPIKey :exec
INSERT INTO api_keys (name, key_hash) VALUES (@name, @key_hash);

-- name: APIKeyName :one
SELECT name FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL;
