-- The core schema: the city's catalog (synced from the city file), reporters
-- kept apart from their requests, requests with their history, and the
-- messages that carry them in and out.

CREATE TABLE departments (
    code  text PRIMARY KEY,
    name  text NOT NULL,
    email text NOT NULL DEFAULT '',
    phone text NOT NULL DEFAULT ''
);

CREATE TABLE services (
    code            text PRIMARY KEY,
    name            text NOT NULL,
    group_name      text NOT NULL DEFAULT '',
    description     text NOT NULL DEFAULT '',
    department_code text REFERENCES departments (code),
    sla             interval,
    active          boolean NOT NULL DEFAULT true
);

-- Residents may sign in; most stay guests and exist only as contacts.
CREATE TABLE accounts (
    id         bigserial PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    name       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Contact details are stored once, here, and referenced by id everywhere
-- else, so a retention purge blanks them without breaking any request.
CREATE TABLE contacts (
    id           bigserial PRIMARY KEY,
    phone        text UNIQUE,           -- E.164
    email        text UNIQUE,           -- lower-cased
    name         text NOT NULL DEFAULT '',
    account_id   bigint REFERENCES accounts (id),
    language     text NOT NULL DEFAULT 'en',
    opted_out_at timestamptz,
    bouncing_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    purged_at    timestamptz,
    CHECK (phone IS NOT NULL OR email IS NOT NULL OR purged_at IS NOT NULL OR name <> '')
);

CREATE TABLE users (
    id              bigserial PRIMARY KEY,
    email           text NOT NULL UNIQUE,
    name            text NOT NULL DEFAULT '',
    role            text NOT NULL CHECK (role IN ('admin', 'dispatcher', 'staff')),
    department_code text REFERENCES departments (code),
    password_hash   text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz
);

CREATE TABLE api_keys (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL,
    key_hash   bytea NOT NULL UNIQUE,   -- sha256 of the key; the key itself is shown once
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- Request ids are short decimal numbers a resident can say on the phone.
CREATE SEQUENCE request_id_seq START 1001;

CREATE TABLE requests (
    id              bigint PRIMARY KEY DEFAULT nextval('request_id_seq'),
    token           text NOT NULL UNIQUE,
    -- service_code and department_code name rows of the catalog, which is
    -- synced from the city file and never deleted (retired services are
    -- marked inactive). No foreign keys: every intake would lock the same
    -- few catalog rows (FOR KEY SHARE), and under load those shared locks
    -- become multixacts that cost more than the insert itself.
    service_code    text,
    description     text NOT NULL DEFAULT '',
    attributes      jsonb NOT NULL DEFAULT '{}',
    lat             double precision,
    lng             double precision,
    address         text NOT NULL DEFAULT '',
    address_id      text NOT NULL DEFAULT '',
    zipcode         text NOT NULL DEFAULT '',
    media_url       text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'new'
                    CHECK (status IN ('new', 'acknowledged', 'in_progress', 'closed')),
    close_reason    text CHECK (close_reason IN ('resolved', 'duplicate', 'referred', 'no_action')),
    department_code text,  -- NULL: the triage queue
    assignee_id     bigint REFERENCES users (id),
    duplicate_of    bigint REFERENCES requests (id),
    channel         text NOT NULL,
    contact_id      bigint REFERENCES contacts (id),
    device_id       text NOT NULL DEFAULT '',
    requested_at    timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    expected_at     timestamptz,
    closed_at       timestamptz,
    CHECK ((status = 'closed') = (close_reason IS NOT NULL)),
    CHECK ((close_reason = 'duplicate') = (duplicate_of IS NOT NULL)),
    CHECK (lat IS NULL OR (lat BETWEEN -90 AND 90 AND lng BETWEEN -180 AND 180))
);
CREATE INDEX requests_requested_at ON requests (requested_at DESC);
CREATE INDEX requests_duplicate_of ON requests (duplicate_of) WHERE duplicate_of IS NOT NULL;
CREATE INDEX requests_triage ON requests (requested_at) WHERE department_code IS NULL AND status <> 'closed';
CREATE INDEX requests_contact ON requests (contact_id);

-- Who changed what and when; public notes are what the public may read.
CREATE TABLE request_events (
    id           bigserial PRIMARY KEY,
    request_id   bigint NOT NULL REFERENCES requests (id),
    at           timestamptz NOT NULL DEFAULT now(),
    user_id      bigint REFERENCES users (id),
    actor        text NOT NULL,          -- "system", "open311:NAME", a user's email
    from_status  text,
    to_status    text,
    close_reason text,
    department_code text,
    note         text NOT NULL DEFAULT '',
    public       boolean NOT NULL DEFAULT false
);
CREATE INDEX request_events_request ON request_events (request_id, at);

-- A conversation is one contact talking to the city over one channel.
CREATE TABLE conversations (
    id         bigserial PRIMARY KEY,
    contact_id bigint NOT NULL REFERENCES contacts (id),
    channel    text NOT NULL,
    request_id bigint REFERENCES requests (id),
    draft      jsonb,                    -- a half-made report waiting for an answer
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_contact ON conversations (contact_id, channel, updated_at DESC);

CREATE TABLE messages (
    id              bigserial PRIMARY KEY,
    conversation_id bigint REFERENCES conversations (id),
    request_id      bigint REFERENCES requests (id),
    contact_id      bigint REFERENCES contacts (id),
    user_id         bigint REFERENCES users (id),   -- the staff member who wrote it
    direction       text NOT NULL CHECK (direction IN ('in', 'out')),
    channel         text NOT NULL,
    provider_id     text,
    subject         text NOT NULL DEFAULT '',
    body            text NOT NULL DEFAULT '',
    language        text NOT NULL DEFAULT 'en',
    -- in: received. out: queued -> sending -> sent -> delivered, or failed,
    -- unknown (the provider may or may not have it: never resent), not_sent.
    state           text NOT NULL CHECK (state IN ('received', 'queued', 'sending', 'sent',
                        'delivered', 'failed', 'unknown', 'not_sent')),
    error           text NOT NULL DEFAULT '',
    attempts        int NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE UNIQUE INDEX messages_inbound_provider ON messages (channel, provider_id)
    WHERE direction = 'in' AND provider_id IS NOT NULL;
CREATE INDEX messages_request ON messages (request_id, created_at);

-- Blobs are content-addressed files under $TOWNLINE_DATA/blobs.
CREATE TABLE blobs (
    sha256       text PRIMARY KEY,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE attachments (
    id           bigserial PRIMARY KEY,
    message_id   bigint REFERENCES messages (id),
    request_id   bigint REFERENCES requests (id),
    blob_sha256  text NOT NULL REFERENCES blobs (sha256),
    filename     text NOT NULL DEFAULT '',
    content_type text NOT NULL,
    size         bigint NOT NULL,
    public       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_request ON attachments (request_id);
