-- Admin: canned responses staff insert into replies, by department and in
-- each language, and the log of who changed which account, API key or
-- canned response.

-- A canned response with placeholders ({number}, {service}, {address},
-- {status}, {expected}) filled from the request when it is inserted.
-- department_code NULL offers it on every department's requests (and on
-- those still in triage). Codes are checked against the city file in
-- core, as user_departments' are: a department dropped from the file
-- leaves its responses unused, not the catalog sync failing.
CREATE TABLE canned_responses (
    id              bigserial PRIMARY KEY,
    department_code text,
    title           text NOT NULL,
    body_en         text NOT NULL,
    body_es         text NOT NULL DEFAULT '',  -- empty: Spanish speakers get the English
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX canned_responses_department ON canned_responses (department_code, title);

-- One row per change an admin made, written in the change's transaction.
CREATE TABLE admin_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor_id bigint REFERENCES users (id),  -- NULL for the command line
    actor    text NOT NULL,                 -- the admin's email, or "command line"
    action   text NOT NULL,                 -- user.add, user.disable, apikey.revoke, canned.save …
    subject  text NOT NULL,                 -- the account's email, the key's or the response's name
    detail   text NOT NULL DEFAULT ''
);
CREATE INDEX admin_log_at ON admin_log (at DESC, id DESC);
