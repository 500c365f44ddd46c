-- The staff workspace: sign-in sessions (the table scs's store expects),
-- the departments each user works for (several), and failed sign-ins,
-- which slow down guessing.

CREATE TABLE sessions (
    token  text PRIMARY KEY,
    data   bytea NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

CREATE TABLE user_departments (
    user_id         bigint NOT NULL REFERENCES users (id),
    department_code text NOT NULL,
    PRIMARY KEY (user_id, department_code)
);
INSERT INTO user_departments (user_id, department_code)
SELECT id, department_code FROM users WHERE department_code IS NOT NULL;
ALTER TABLE users DROP COLUMN department_code;

-- One row per failed sign-in, by account ("email:…") and by address
-- ("addr:…"); rows older than the lock-out window are swept.
CREATE TABLE signin_failures (
    key text NOT NULL,
    at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signin_failures_key ON signin_failures (key, at);

-- The inbox's queues.
CREATE INDEX requests_department ON requests (department_code, requested_at DESC);
CREATE INDEX requests_assignee ON requests (assignee_id, requested_at DESC) WHERE assignee_id IS NOT NULL;
