-- name: InsertSignin :exec
INSERT INTO signins (channel, address, code_hash, link_hash, account_id, client, expires_at)
VALUES (@channel, @address, @code_hash, @link_hash, sqlc.narg(account_id), @client, @expires_at);

-- name: SigninsAsked :one
-- Sign-ins asked lately for an address, and from a client.
SELECT count(*) FILTER (WHERE address = @address::text AND created_at > now() - interval '15 minutes')::int AS address_recent,
    count(*) FILTER (WHERE address = @address::text)::int AS address_hour,
    count(*) FILTER (WHERE client = @client::text)::int AS client_hour
FROM signins WHERE (address = @address::text OR client = @client::text) AND created_at > now() - interval '1 hour';

-- name: PendingSignin :one
-- The latest sign-in sent to an address, if it may still be used.
SELECT * FROM signins WHERE address = @address AND used_at IS NULL AND expires_at > now()
ORDER BY created_at DESC LIMIT 1
FOR UPDATE;

-- name: SigninByLink :one
SELECT * FROM signins WHERE link_hash = @link_hash AND used_at IS NULL AND expires_at > now()
FOR UPDATE;

-- name: CountSigninAttempt :exec
UPDATE signins SET attempts = attempts + 1 WHERE id = @id;

-- name: UseSignin :exec
UPDATE signins SET used_at = now() WHERE id = @id;

-- name: AccountByAddress :one
SELECT * FROM accounts WHERE phone = @address::text OR email = @address::text;

-- name: InsertResidentAccount :one
INSERT INTO accounts (phone, email) VALUES (sqlc.narg(phone), sqlc.narg(email)) RETURNING *;

-- name: ReleaseAddress :exec
-- An address verified for one account leaves any other that had it.
UPDATE accounts SET phone = CASE WHEN phone = @address::text THEN NULL ELSE phone END,
    email = CASE WHEN email = @address::text THEN NULL ELSE email END
WHERE (phone = @address::text OR email = @address::text) AND id <> @keep;

-- name: DeleteAddresslessAccounts :exec
DELETE FROM accounts WHERE phone IS NULL AND email IS NULL;

-- name: SetAccountAddress :one
UPDATE accounts SET phone = COALESCE(sqlc.narg(phone), phone), email = COALESCE(sqlc.narg(email), email)
WHERE id = @id RETURNING *;

-- name: GetResidentAccount :one
-- An account, and the language its messages go in (its phone's first).
SELECT sqlc.embed(a), COALESCE((SELECT c.language FROM contacts c WHERE c.phone = a.phone OR c.email = a.email
    ORDER BY c.phone = a.phone DESC NULLS LAST LIMIT 1), 'en')::text AS language
FROM accounts a WHERE a.id = @id;

-- name: AccountRequests :many
-- Every request made from an account's phone or email, on any channel,
-- the newest first.
SELECT r.* FROM request_details r JOIN contacts c ON c.id = r.contact_id
WHERE (c.phone = sqlc.narg(phone)::text OR c.email = sqlc.narg(email)::text)
ORDER BY r.requested_at DESC, r.id DESC LIMIT 500;

-- name: ResidentFollows :many
-- The requests an account's addresses follow.
SELECT DISTINCT s.request_id::bigint AS request_id FROM subscriptions s JOIN contacts c ON c.id = s.contact_id
WHERE (c.phone = sqlc.narg(phone)::text OR c.email = sqlc.narg(email)::text)
    AND s.request_id IS NOT NULL AND s.confirmed_at IS NOT NULL AND s.ended_at IS NULL
ORDER BY 1 DESC;

-- name: ResidentUnfollow :exec
UPDATE subscriptions s SET ended_at = now() FROM contacts c
WHERE c.id = s.contact_id AND (c.phone = sqlc.narg(phone)::text OR c.email = sqlc.narg(email)::text)
    AND s.request_id = @request_id AND s.ended_at IS NULL;

-- name: ResidentLanguage :exec
UPDATE contacts SET language = @language, language_chosen = true
WHERE phone = sqlc.narg(phone)::text OR email = sqlc.narg(email)::text;

-- name: ForgetResident :exec
-- A resident deletes their account: their contacts' details go (their
-- requests stay, without them, as after the retention purge), and every
-- subscription and sign-in of theirs ends.
WITH gone AS (
    UPDATE contacts SET phone = NULL, email = NULL, name = '', client_account = '', purged_at = now()
    WHERE phone = sqlc.narg(phone)::text OR email = sqlc.narg(email)::text
    RETURNING id
), ended AS (
    UPDATE subscriptions SET ended_at = now() WHERE contact_id IN (SELECT id FROM gone) AND ended_at IS NULL
)
DELETE FROM signins WHERE address IN (sqlc.narg(phone)::text, sqlc.narg(email)::text);

-- name: DeleteResidentAccount :exec
DELETE FROM accounts WHERE id = @id;

-- name: SetHearBack :one
UPDATE accounts SET hear_back = sqlc.narg(hear_back) WHERE id = @id RETURNING *;

-- name: HearBackOf :one
-- The account a contact's phone or email is verified for, if it says
-- how it wants to hear back.
SELECT a.* FROM accounts a JOIN contacts c ON c.id = @contact_id AND (c.phone = a.phone OR c.email = a.email)
WHERE a.hear_back IS NOT NULL LIMIT 1;

-- name: ContactByAddress :one
SELECT * FROM contacts WHERE (phone = @address::text OR email = @address::text) AND purged_at IS NULL LIMIT 1;
