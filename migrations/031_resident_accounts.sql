-- Residents' accounts: signed in without a password, by a six-digit code
-- texted to their phone or a link mailed to them. An account gathers
-- every request made from its verified phone and email, on any channel.
-- The accounts table of the first migration was never used: it is made
-- over here.
ALTER TABLE contacts DROP COLUMN account_id;
DROP TABLE accounts;
CREATE TABLE accounts (
    id         bigserial PRIMARY KEY,
    phone      text UNIQUE,   -- E.164, verified
    email      text UNIQUE,   -- lower-cased, verified
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A sign-in sent: to an address (sms: a phone, email: a mailbox), its
-- code's and link's SHA-256 (never the secrets), for ten minutes, once.
-- account_id: an address added to a signed-in account. The rows also
-- count the sign-ins asked per address and per client, for the limits,
-- on every instance.
CREATE TABLE signins (
    id          bigserial PRIMARY KEY,
    channel     text NOT NULL CHECK (channel IN ('sms', 'email')),
    address     text NOT NULL,
    code_hash   bytea NOT NULL,
    link_hash   bytea NOT NULL UNIQUE,
    account_id  bigint REFERENCES accounts (id) ON DELETE CASCADE,
    client      text NOT NULL,  -- the address the request came from
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    used_at     timestamptz
);
CREATE INDEX signins_address ON signins (address, created_at DESC);
CREATE INDEX signins_client ON signins (client, created_at DESC);
