-- name: UpsertDepartment :exec
INSERT INTO departments (code, name, email, phone) VALUES (@code, @name, @email, @phone)
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, phone = EXCLUDED.phone;

-- name: UpsertService :exec
INSERT INTO services (code, name, group_name, description, department_code, sla, active)
VALUES (@code, @name, @group_name, @description, NULLIF(@department_code::text, ''), sqlc.narg(sla), true)
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, group_name = EXCLUDED.group_name,
    description = EXCLUDED.description, department_code = EXCLUDED.department_code, sla = EXCLUDED.sla, active = true;

-- name: RetireServices :exec
-- Services the city no longer offers stay, inactive: requests point at them.
UPDATE services SET active = false WHERE NOT (code = ANY(@codes::text[]));
