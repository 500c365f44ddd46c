-- name: UpsertContactByPhone :one
-- Finds or creates a contact known by a phone number, filling in a blank
-- name. The row stays locked until the transaction ends.
INSERT INTO contacts (phone, name, language)
VALUES (@phone::text, @name::text, COALESCE(NULLIF(@language::text, ''), 'en'))
ON CONFLICT (phone) DO UPDATE SET name = CASE WHEN contacts.name = '' THEN EXCLUDED.name ELSE contacts.name END
RETURNING *;

-- name: UpsertContactByEmail :one
-- UpsertContactByPhone by email address; with none, a new contact known
-- only by name.
INSERT INTO contacts (email, name, language)
VALUES (NULLIF(@email::text, ''), @name::text, COALESCE(NULLIF(@language::text, ''), 'en'))
ON CONFLICT (email) DO UPDATE SET name = CASE WHEN contacts.name = '' THEN EXCLUDED.name ELSE contacts.name END
RETURNING *;

-- name: LockContactByAddress :one
-- The contact of a reporter who gave a phone and an email: by phone
-- first, then by email.
SELECT id FROM contacts
WHERE phone = @phone::text OR email = @email::text
ORDER BY (phone = @phone::text) IS TRUE DESC LIMIT 1
FOR UPDATE;

-- name: InsertContact :one
INSERT INTO contacts (phone, email, name, language)
VALUES (@phone::text, @email::text, @name::text, COALESCE(NULLIF(@language::text, ''), 'en'))
ON CONFLICT DO NOTHING
RETURNING *;

-- name: FillContact :one
-- Fills in blanks only: an address already known to belong to another
-- contact stays with it (the unique index would refuse it anyway).
UPDATE contacts SET
    phone = COALESCE(phone, (SELECT @phone::text WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.phone = @phone::text))),
    email = COALESCE(email, (SELECT @email::text WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.email = @email::text))),
    name = CASE WHEN name = '' THEN @name::text ELSE name END
WHERE contacts.id = @id
RETURNING *;

-- name: GetContact :one
SELECT * FROM contacts WHERE id = $1;

-- name: SetOptedOut :exec
UPDATE contacts SET opted_out_at = CASE WHEN @opted_out::boolean THEN COALESCE(opted_out_at, now()) END
WHERE id = @id;

-- name: SetLanguage :exec
UPDATE contacts SET language = @language, language_chosen = language_chosen OR @chosen::boolean WHERE id = @id;

-- name: ClearBouncing :exec
UPDATE contacts SET bouncing_at = NULL WHERE id = $1;

-- name: MarkBouncing :execrows
UPDATE contacts SET bouncing_at = now() WHERE email = $1::text;

-- name: FlagContact :exec
-- An automatic flag (a flood, a bot), which lapses after a day. It never
-- replaces one staff set.
UPDATE contacts SET flagged_at = now(), flag_reason = @reason WHERE id = @id AND flagged_by IS NULL;

-- name: LockContact :one
SELECT * FROM contacts WHERE id = $1 FOR UPDATE;

-- name: SetContactFlag :exec
-- A flag staff set, which stays until staff clear it.
UPDATE contacts SET flagged_at = now(), flag_reason = @reason::text, flagged_by = sqlc.narg(user_id)::bigint
WHERE id = @id;

-- name: ClearContactFlag :exec
UPDATE contacts SET flagged_at = NULL, flag_reason = '', flagged_by = NULL WHERE id = @id;

-- name: SetTextsOK :exec
UPDATE contacts SET texts_ok = @texts_ok WHERE id = @id;

-- name: UpsertTextsOK :exec
INSERT INTO contacts (phone, texts_ok) VALUES (@phone::text, @texts_ok)
ON CONFLICT (phone) DO UPDATE SET texts_ok = EXCLUDED.texts_ok;

-- name: SetClientAccount :exec
UPDATE contacts SET client_account = @account::text WHERE id = @id;

-- name: PurgeContacts :execrows
-- Forget the details of reporters whose every request was closed before
-- @closed_before (and of contacts who never filed one, made before it):
-- the contact stays, nameless and unreachable, so that the requests, their
-- history and the count of people who reported each issue stay as they were.
-- A resident subscribed to the city's notices is kept while subscribed.
UPDATE contacts c SET phone = NULL, email = NULL, name = '', client_account = '', purged_at = now()
WHERE c.purged_at IS NULL AND c.created_at < @closed_before::timestamptz
  AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.contact_id = c.id
      AND (r.status <> 'closed' OR r.closed_at >= @closed_before::timestamptz))
  AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.contact_id = c.id AND s.ended_at IS NULL);

-- name: SetReplyBy :exec
UPDATE contacts SET reply_by = NULLIF(@reply_by::text, '') WHERE id = @id;

-- name: ContactsByAddress :many
-- The contacts with a phone number or an email address: one person, or
-- two when each was given by another.
SELECT * FROM contacts
WHERE (phone = sqlc.narg(phone)::text OR email = sqlc.narg(email)::text) AND purged_at IS NULL
ORDER BY id;
