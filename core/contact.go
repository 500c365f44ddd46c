package core

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nyaruka/phonenumbers"
)

// Contact is a reporter's private details, kept apart from their requests.
type Contact struct {
	ID        int64
	Phone     string // E.164, or empty
	Email     string // lower-cased, or empty
	Name      string
	AccountID *int64
	Language  string
	OptedOut  bool // the resident texted STOP: nothing more is sent by SMS
	Bouncing  bool // mail to the address bounces
	CreatedAt time.Time
	// LanguageChosen: the resident asked for a language (ESPAÑOL), which
	// guessing from their words must not override.
	LanguageChosen bool
	// Flagged: a flood or a bot; automatic answers are paused. Staff only.
	Flagged    bool
	FlagReason string
	// TextsOK: a caller accepted updates by text (SMS reporters need not).
	TextsOK bool
}

// Reporter is who a new request comes from, as a channel heard it.
type Reporter struct {
	Name     string
	Email    string
	Phone    string
	DeviceID string
	Language string
}

func (r Reporter) empty() bool { return r.Name == "" && r.Email == "" && r.Phone == "" }

// NormalizePhone turns what a person typed or a carrier sent into E.164,
// reading national numbers in the city's region.
func NormalizePhone(raw, region string) (string, error) {
	num, err := phonenumbers.Parse(raw, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", errors.New("is not a valid phone number")
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// NormalizeEmail checks an address and lower-cases it, so that one
// resident is one contact however they capitalise their address.
func NormalizeEmail(raw string) (string, error) {
	a, err := mail.ParseAddress(strings.TrimSpace(raw))
	if err != nil || !strings.Contains(a.Address, "@") {
		return "", errors.New("is not a valid email address")
	}
	return strings.ToLower(a.Address), nil
}

// normalizeReporter validates and normalises a reporter's details.
func (c *Core) normalizeReporter(r Reporter) (Reporter, error) {
	var err error
	r.Name = strings.TrimSpace(r.Name)
	if len(r.Name) > 200 {
		return r, invalid("first_name", "is longer than 200 characters")
	}
	if len(r.DeviceID) > 200 {
		return r, invalid("device_id", "is longer than 200 characters")
	}
	if raw := r.Email; raw != "" {
		if r.Email, err = NormalizeEmail(raw); err != nil {
			return r, invalid("email", "%q %v", raw, err)
		}
	}
	if raw := r.Phone; raw != "" {
		if r.Phone, err = NormalizePhone(raw, c.city.PhoneRegion); err != nil {
			return r, invalid("phone", "%q %v", raw, err)
		}
	}
	switch r.Language {
	case "", "en", "es":
	default:
		r.Language = ""
	}
	return r, nil
}

// upsertContact finds the reporter's contact by phone, then by email, and
// fills in what it did not know yet; or creates one. It returns a zero
// Contact for an anonymous reporter. The contact row stays locked until
// the transaction ends, so one person's reports are recorded in order.
func upsertContact(ctx context.Context, tx pgx.Tx, r Reporter) (Contact, error) {
	switch {
	case r.empty():
		return Contact{}, nil
	case r.Phone == "" || r.Email == "":
		// One address: a single statement finds or creates the contact.
		key := "email"
		if r.Phone != "" {
			key = "phone"
		}
		return scanContact(tx.QueryRow(ctx, `
			INSERT INTO contacts (phone, email, name, language)
			VALUES (NULLIF($1, ''), NULLIF($2, ''), $3, COALESCE(NULLIF($4, ''), 'en'))
			ON CONFLICT (`+key+`) DO UPDATE SET name = CASE WHEN contacts.name = '' THEN EXCLUDED.name ELSE contacts.name END
			RETURNING `+contactColumns, r.Phone, r.Email, r.Name, r.Language))
	}
	var id int64
	err := tx.QueryRow(ctx, `
		SELECT id FROM contacts
		WHERE (phone = $1 AND $1 <> '') OR (email = $2 AND $2 <> '')
		ORDER BY (phone = $1 AND $1 <> '') DESC LIMIT 1
		FOR UPDATE`, r.Phone, r.Email).Scan(&id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		ct, err := scanContact(tx.QueryRow(ctx, `
			INSERT INTO contacts (phone, email, name, language)
			VALUES (NULLIF($1, ''), NULLIF($2, ''), $3, COALESCE(NULLIF($4, ''), 'en'))
			ON CONFLICT DO NOTHING
			RETURNING `+contactColumns, r.Phone, r.Email, r.Name, r.Language))
		if errors.Is(err, ErrNotFound) {
			// Another intake created the same contact a moment ago.
			return upsertContact(ctx, tx, r)
		}
		return ct, err
	case err != nil:
		return Contact{}, err
	}
	// Fill in blanks only: an address already known to belong to another
	// contact stays with it (the unique index would refuse it anyway).
	return scanContact(tx.QueryRow(ctx, `
		UPDATE contacts SET
			phone = COALESCE(phone, (SELECT NULLIF($2, '') WHERE NOT EXISTS (SELECT 1 FROM contacts WHERE phone = $2))),
			email = COALESCE(email, (SELECT NULLIF($3, '') WHERE NOT EXISTS (SELECT 1 FROM contacts WHERE email = $3))),
			name = CASE WHEN name = '' THEN $4 ELSE name END
		WHERE id = $1
		RETURNING `+contactColumns, id, r.Phone, r.Email, r.Name))
}

const contactColumns = `id, COALESCE(phone, ''), COALESCE(email, ''), name, account_id, language,
	opted_out_at IS NOT NULL, bouncing_at IS NOT NULL, created_at, language_chosen,
	COALESCE(flagged_at > now() - interval '24 hours', false), flag_reason, texts_ok`

func scanContact(row pgx.Row) (Contact, error) {
	var ct Contact
	err := row.Scan(&ct.ID, &ct.Phone, &ct.Email, &ct.Name, &ct.AccountID, &ct.Language,
		&ct.OptedOut, &ct.Bouncing, &ct.CreatedAt, &ct.LanguageChosen, &ct.Flagged, &ct.FlagReason, &ct.TextsOK)
	if errors.Is(err, pgx.ErrNoRows) {
		return ct, ErrNotFound
	}
	return ct, err
}

// Contact returns a contact by id. Staff only: never show it to the public.
func (c *Core) Contact(ctx context.Context, id int64) (Contact, error) {
	ct, err := scanContact(c.pool.QueryRow(ctx, `SELECT `+contactColumns+` FROM contacts WHERE id = $1`, id))
	return ct, dbErr(err)
}
