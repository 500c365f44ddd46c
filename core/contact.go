package core

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nyaruka/phonenumbers"

	"townline/core/internal/db"
)

// Contact is a reporter's private details, kept apart from their requests.
type Contact struct {
	ID    int64
	Phone string // E.164, or empty
	Email string // lower-cased, or empty
	Name  string
	// ClientAccount is the reporter's account id at the Open311 client
	// that filed for them (GeoReport's account_id). Staff only.
	ClientAccount string
	Language      string
	OptedOut      bool // the resident texted STOP: nothing more is sent by SMS
	Bouncing      bool // mail to the address bounces
	CreatedAt     time.Time
	// LanguageChosen: the resident asked for a language (ESPAÑOL), which
	// guessing from their words must not override.
	LanguageChosen bool
	// Flagged: a flood or a bot; automatic answers are paused. Staff only.
	Flagged    bool
	FlagReason string
	FlaggedBy  *int64 // the staff member who flagged the sender; nil for an automatic flag
	// TextsOK: a caller accepted updates by text (SMS reporters need not).
	TextsOK bool
	// ReplyBy is how a resident who reported through the front desk
	// wants to hear back (ChannelSMS, ChannelEmail, ChannelVoice or
	// ReplyNone); "" is over the channel they came by.
	ReplyBy Channel
}

// Reporter is who a new request comes from, as a channel heard it.
type Reporter struct {
	Name     string
	Email    string
	Phone    string
	DeviceID string
	// AccountID is the reporter's account at the Open311 client, kept with
	// the contact they are (a reporter known by it alone is not one).
	AccountID string
	Language  string
	// ReplyBy is how they want to hear back, when staff file for them
	// (see Contact.ReplyBy); "" leaves what the contact said before.
	ReplyBy Channel
}

// address is where a message over ch reaches the contact: their phone
// for texts and calls, their email for mail; "" when they gave none.
func (ct Contact) address(ch Channel) string {
	switch ch {
	case ChannelSMS, ChannelVoice:
		return ct.Phone
	case ChannelEmail:
		return ct.Email
	}
	return ""
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
	if err := c.checkFields(
		textField{"name", r.Name, 200},
		textField{"device_id", r.DeviceID, 200},
		textField{"account_id", r.AccountID, 200},
		textField{"email", r.Email, 320},
		textField{"phone", r.Phone, 100},
	); err != nil {
		return r, err
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
	switch {
	case r.ReplyBy == "" || r.ReplyBy == ReplyNone:
	case (r.ReplyBy == ChannelSMS || r.ReplyBy == ChannelVoice) && r.Phone == "":
		return r, invalid("phone", "is needed to hear back by %s", map[Channel]string{ChannelSMS: "text", ChannelVoice: "a call"}[r.ReplyBy])
	case r.ReplyBy == ChannelEmail && r.Email == "":
		return r, invalid("email", "is needed to hear back by mail")
	case r.ReplyBy != ChannelSMS && r.ReplyBy != ChannelVoice && r.ReplyBy != ChannelEmail:
		return r, invalid("reply_by", "%q is not a way to hear back (sms, email, voice or none)", r.ReplyBy)
	}
	return r, nil
}

// CheckReporter says what is wrong with a reporter's details, as filing
// would: for a form to say it before asking anything else.
func (c *Core) CheckReporter(r Reporter) error {
	_, err := c.normalizeReporter(r)
	return err
}

// FindContacts returns the contacts a phone number or an email address
// (either may be empty) belongs to: for staff filing for a resident, who
// may be known already. Both given may find two contacts.
func (c *Core) FindContacts(ctx context.Context, phone, email string) ([]Contact, error) {
	r, err := c.normalizeReporter(Reporter{Phone: phone, Email: email})
	if err != nil {
		return nil, err
	}
	if r.Phone == "" && r.Email == "" {
		return nil, nil
	}
	p := db.ContactsByAddressParams{}
	if r.Phone != "" {
		p.Phone = &r.Phone
	}
	if r.Email != "" {
		p.Email = &r.Email
	}
	rows, err := c.q.ContactsByAddress(ctx, p)
	if err != nil {
		return nil, dbErr(err)
	}
	out := make([]Contact, len(rows))
	for i, ct := range rows {
		out[i] = contactFromDB(ct)
	}
	return out, nil
}

// upsertContact finds the reporter's contact by phone, then by email, and
// fills in what it did not know yet; or creates one. It returns a zero
// Contact for an anonymous reporter. The contact row stays locked until
// the transaction ends, so one person's reports are recorded in order.
func upsertContact(ctx context.Context, q *db.Queries, r Reporter) (Contact, error) {
	var ct db.Contact
	var err error
	switch {
	case r.empty():
		return Contact{}, nil
	case r.Phone != "" && r.Email == "":
		ct, err = q.UpsertContactByPhone(ctx, db.UpsertContactByPhoneParams{Phone: r.Phone, Name: r.Name, Language: r.Language})
	case r.Phone == "":
		// An email address, or only a name.
		ct, err = q.UpsertContactByEmail(ctx, db.UpsertContactByEmailParams{Email: r.Email, Name: r.Name, Language: r.Language})
	default:
		ct, err = upsertContactBoth(ctx, q, r)
	}
	if err != nil {
		return Contact{}, err
	}
	if r.ReplyBy != "" && string(r.ReplyBy) != deref(ct.ReplyBy) {
		s := string(r.ReplyBy)
		if err := q.SetReplyBy(ctx, db.SetReplyByParams{ID: ct.ID, ReplyBy: s}); err != nil {
			return Contact{}, err
		}
		ct.ReplyBy = &s
	}
	if r.AccountID == "" || r.AccountID == ct.ClientAccount {
		return contactFromDB(ct), nil
	}
	ct.ClientAccount = r.AccountID
	return contactFromDB(ct), q.SetClientAccount(ctx, db.SetClientAccountParams{ID: ct.ID, Account: r.AccountID})
}

// upsertContactBoth is upsertContact for a reporter who gave a phone
// number and an email address, which may belong to one contact or two.
func upsertContactBoth(ctx context.Context, q *db.Queries, r Reporter) (db.Contact, error) {
	id, err := q.LockContactByAddress(ctx, db.LockContactByAddressParams{Phone: r.Phone, Email: r.Email})
	if errors.Is(err, pgx.ErrNoRows) {
		ct, err := q.InsertContact(ctx, db.InsertContactParams{Phone: r.Phone, Email: r.Email, Name: r.Name, Language: r.Language})
		// Another intake created the same contact a moment ago: try again.
		// (Trying again after a success would find the contact just made.)
		if errors.Is(err, pgx.ErrNoRows) {
			return upsertContactBoth(ctx, q, r)
		}
		return ct, err
	}
	if err != nil {
		return db.Contact{}, err
	}
	return q.FillContact(ctx, db.FillContactParams{ID: id, Phone: r.Phone, Email: r.Email, Name: r.Name})
}

// Contact returns a contact by id. Staff only: never show it to the public.
func (c *Core) Contact(ctx context.Context, id int64) (Contact, error) {
	ct, err := c.q.GetContact(ctx, id)
	return contactFromDB(ct), dbErr(notFound(err))
}
