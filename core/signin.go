package core

// Residents sign in without a password: a six-digit code texted to their
// phone, or a link mailed to them, good for ten minutes and once. Their
// account gathers every request made from its verified phone and email,
// on any channel, before or after it was made.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"townline/core/internal/db"
)

// Sign-in limits: a code or link lasts signinFor; an address gets at most
// signinsPerQuarter in fifteen minutes and signinsPerHour in an hour, a
// client signinsPerClient an hour; a code may be tried signinTries times.
const (
	signinFor         = 10 * time.Minute
	signinsPerQuarter = 3
	signinsPerHour    = 6
	signinsPerClient  = 20
	signinTries       = 5
)

// ErrTooManySignins is a sign-in asked too often for one address or from
// one client.
var ErrTooManySignins = errors.New("too many sign-ins asked; try again later")

// ErrSigninRefused is a code or link that is wrong, used or expired.
var ErrSigninRefused = errors.New("the code or link is wrong or expired")

// Resident is a resident's account: the addresses it has verified, and
// how they want to hear about their requests ("" as each came, SMS,
// email, or ReplyNone).
type Resident struct {
	ID           int64
	Phone, Email string
	HearBack     Channel
	Language     string // of the messages to her, "en" or "es" (GetResident only)
}

func residentFromDB(a db.Account) Resident {
	return Resident{ID: a.ID, Phone: deref(a.Phone), Email: deref(a.Email), HearBack: Channel(deref(a.HearBack))}
}

// signinAddress reads a phone number or an email address as typed.
func (c *Core) signinAddress(raw string) (Channel, string, error) {
	if strings.Contains(raw, "@") {
		email, err := NormalizeEmail(raw)
		if err != nil {
			return "", "", invalid("address", "is not an email address or a mobile number")
		}
		return ChannelEmail, email, nil
	}
	phone, err := NormalizePhone(raw, c.city.PhoneRegion)
	if err != nil {
		return "", "", invalid("address", "is not an email address or a mobile number")
	}
	return ChannelSMS, phone, nil
}

func secretHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// SendSignin sends a sign-in to an address a resident typed, in lang: a
// code by text to a phone, a link by mail to a mailbox. With account, it
// adds the address to that signed-in account once verified. client is
// where the request came from, for the limits. It returns the channel it
// went by and the address as normalised.
func (c *Core) SendSignin(ctx context.Context, raw, lang, client string, account int64) (Channel, string, error) {
	ch, addr, err := c.signinAddress(raw)
	if err != nil {
		return "", "", err
	}
	if c.opts.Senders[ch] == nil {
		return "", "", fmt.Errorf("%w: no %s channel is connected", ErrNotConnected, ch)
	}
	if lang != "es" {
		lang = "en"
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", "", err
	}
	code, link := fmt.Sprintf("%06d", n.Int64()), rand.Text()
	err = c.tx(ctx, func(t *txn) error {
		asked, err := t.q.SigninsAsked(ctx, db.SigninsAskedParams{Address: addr, Client: client})
		if err != nil {
			return err
		}
		if asked.AddressRecent >= signinsPerQuarter || asked.AddressHour >= signinsPerHour || asked.ClientHour >= signinsPerClient {
			return ErrTooManySignins
		}
		var acct *int64
		if account != 0 {
			acct = &account
		}
		if err := t.q.InsertSignin(ctx, db.InsertSigninParams{Channel: string(ch), Address: addr, CodeHash: secretHash(code),
			LinkHash: secretHash(link), AccountID: acct, Client: client, ExpiresAt: time.Now().Add(signinFor)}); err != nil {
			return err
		}
		var row db.Contact
		if ch == ChannelSMS {
			row, err = t.q.UpsertContactByPhone(ctx, db.UpsertContactByPhoneParams{Phone: addr, Language: lang})
		} else {
			row, err = t.q.UpsertContactByEmail(ctx, db.UpsertContactByEmailParams{Email: addr, Language: lang})
		}
		if err != nil {
			return err
		}
		ct := contactFromDB(row)
		ct.Language = lang // the page's language, for this message
		_, err = c.enqueueFor(ctx, t, ct, outMsg{Origin: ch, Via: ch, Kind: "signin",
			Data: messageData{Note: code, URL: c.PublicURL("signin", "link") + "?token=" + link}})
		return err
	})
	return ch, addr, dbErr(err)
}

// SigninWithCode signs in with the code texted to a phone (or mailed),
// at most signinTries tries per code.
func (c *Core) SigninWithCode(ctx context.Context, address, code string) (Resident, error) {
	_, addr, err := c.signinAddress(address)
	if err != nil {
		return Resident{}, err
	}
	return c.signin(ctx, func(t *txn) (db.Signin, bool, error) {
		s, err := t.q.PendingSignin(ctx, addr)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return s, false, nil
		case err != nil:
			return s, false, err
		case s.Attempts >= signinTries:
			return s, false, nil
		case subtle.ConstantTimeCompare(s.CodeHash, secretHash(strings.TrimSpace(code))) != 1:
			return s, false, t.q.CountSigninAttempt(ctx, s.ID)
		}
		return s, true, nil
	})
}

// SigninWithLink signs in with the link mailed to a mailbox.
func (c *Core) SigninWithLink(ctx context.Context, token string) (Resident, error) {
	return c.signin(ctx, func(t *txn) (db.Signin, bool, error) {
		s, err := t.q.SigninByLink(ctx, secretHash(token))
		if errors.Is(err, pgx.ErrNoRows) {
			return s, false, nil
		}
		return s, err == nil, err
	})
}

// signin uses the sign-in check finds good and returns the account of its
// address: the account it was sent for, or the one that has the address,
// or a new one. An address verified for one account leaves any other. A
// refused try is committed (a wrong code counts), then ErrSigninRefused.
func (c *Core) signin(ctx context.Context, check func(t *txn) (db.Signin, bool, error)) (Resident, error) {
	var acct db.Account
	refused := false
	err := c.tx(ctx, func(t *txn) error {
		s, ok, err := check(t)
		if err != nil || !ok {
			refused = !ok
			return err
		}
		if err := t.q.UseSignin(ctx, s.ID); err != nil {
			return err
		}
		// Two sign-ins of one new address at once would both make its account.
		if err := t.q.LockKey(ctx, db.LockKeyParams{Bucket: "account", Key: s.Address}); err != nil {
			return err
		}
		phone, email := &s.Address, (*string)(nil)
		if s.Channel == string(ChannelEmail) {
			phone, email = nil, &s.Address
		}
		switch existing, err := t.q.AccountByAddress(ctx, s.Address); {
		case s.AccountID != nil:
			if err := t.q.ReleaseAddress(ctx, db.ReleaseAddressParams{Address: s.Address, Keep: *s.AccountID}); err != nil {
				return err
			}
			if acct, err = t.q.SetAccountAddress(ctx, db.SetAccountAddressParams{ID: *s.AccountID, Phone: phone, Email: email}); err != nil {
				return err
			}
			// The account the address left may have no other.
			return t.q.DeleteAddresslessAccounts(ctx)
		case err == nil:
			acct = existing
			return nil
		case errors.Is(err, pgx.ErrNoRows):
			acct, err = t.q.InsertResidentAccount(ctx, db.InsertResidentAccountParams{Phone: phone, Email: email})
			return err
		default:
			return err
		}
	})
	switch {
	case err != nil:
		return Resident{}, dbErr(err)
	case refused:
		return Resident{}, ErrSigninRefused
	}
	return residentFromDB(acct), nil
}

// GetResident returns a resident's account.
func (c *Core) GetResident(ctx context.Context, id int64) (Resident, error) {
	row, err := c.q.GetResidentAccount(ctx, id)
	if err != nil {
		return Resident{}, dbErr(notFound(err))
	}
	r := residentFromDB(row.Account)
	r.Language = row.Language
	return r, nil
}

// ResidentRequests lists every request made from a resident's verified
// phone or email, on any channel, the newest first.
func (c *Core) ResidentRequests(ctx context.Context, r Resident) ([]Request, error) {
	rows, err := c.q.AccountRequests(ctx, db.AccountRequestsParams{Phone: nonEmpty(r.Phone), Email: nonEmpty(r.Email)})
	if err != nil {
		return nil, dbErr(err)
	}
	return requestsFromDB(rows)
}

// ResidentFollows lists the requests a resident follows, the newest first.
func (c *Core) ResidentFollows(ctx context.Context, r Resident) ([]int64, error) {
	ids, err := c.q.ResidentFollows(ctx, db.ResidentFollowsParams{Phone: nonEmpty(r.Phone), Email: nonEmpty(r.Email)})
	return ids, dbErr(err)
}

// ResidentUnfollow stops a request's updates to a resident, by every way
// they followed it.
func (c *Core) ResidentUnfollow(ctx context.Context, r Resident, request int64) error {
	return dbErr(c.q.ResidentUnfollow(ctx, db.ResidentUnfollowParams{Phone: nonEmpty(r.Phone), Email: nonEmpty(r.Email),
		RequestID: &request}))
}

// SetResidentLanguage is the language every message to a resident is
// written in, from now on, whichever way it goes.
func (c *Core) SetResidentLanguage(ctx context.Context, r Resident, lang string) error {
	if lang != "en" && lang != "es" {
		return invalid("language", "%q is not English (en) or Spanish (es)", lang)
	}
	return dbErr(c.q.ResidentLanguage(ctx, db.ResidentLanguageParams{Phone: nonEmpty(r.Phone), Email: nonEmpty(r.Email),
		Language: lang}))
}

// DeleteResident deletes a resident's account and forgets their phone,
// email and name: their requests stay, without them; their
// subscriptions and follows end.
func (c *Core) DeleteResident(ctx context.Context, r Resident) error {
	return dbErr(c.tx(ctx, func(t *txn) error {
		if err := t.q.ForgetResident(ctx, db.ForgetResidentParams{Phone: nonEmpty(r.Phone), Email: nonEmpty(r.Email)}); err != nil {
			return err
		}
		c.log.Info("resident account deleted, contact details forgotten", "account", r.ID)
		return t.q.DeleteResidentAccount(ctx, r.ID)
	}))
}

// SetHearBack is how a resident hears about every request of theirs from
// now on: "" as each came, by text (to the account's phone), by mail (to
// its address), or not at all (ReplyNone). Their answers to a text or a
// mail still come back the way they wrote.
func (c *Core) SetHearBack(ctx context.Context, r Resident, how Channel) (Resident, error) {
	switch {
	case how == ChannelSMS && r.Phone == "":
		return r, invalid("hear_back", "add a mobile phone first")
	case how == ChannelEmail && r.Email == "":
		return r, invalid("hear_back", "add an email address first")
	case how != "" && how != ChannelSMS && how != ChannelEmail && how != ReplyNone:
		return r, invalid("hear_back", "%q is not text, mail or none", how)
	}
	a, err := c.q.SetHearBack(ctx, db.SetHearBackParams{ID: r.ID, HearBack: nonEmpty(string(how))})
	if err != nil {
		return r, dbErr(notFound(err))
	}
	return residentFromDB(a), nil
}

// Notices is how a resident gets the city's notices: the channels of the
// emergency notices, and whether the weekly mail.
type Notices struct {
	Alerts []Channel
	Weekly bool
}

// ResidentNotices reads how a resident gets the city's notices.
func (c *Core) ResidentNotices(ctx context.Context, r Resident) (Notices, error) {
	rows, err := c.q.ResidentNotices(ctx, db.ResidentNoticesParams{Phone: nonEmpty(r.Phone), Email: nonEmpty(r.Email)})
	var n Notices
	for _, row := range rows {
		if row.Digest {
			n.Weekly = true
		} else {
			n.Alerts = append(n.Alerts, Channel(row.Channel))
		}
	}
	return n, dbErr(err)
}

// SetResidentAlerts starts (on) or stops the emergency notices to a
// resident's verified phone (ChannelSMS) or mailbox (ChannelEmail): no
// confirmation is asked, the address is verified already.
func (c *Core) SetResidentAlerts(ctx context.Context, r Resident, ch Channel, on bool) error {
	return c.setResidentNotices(ctx, r, ch, false, on)
}

// SetResidentWeekly starts (on) or stops the weekly mail of meetings and
// events to a resident's verified mailbox.
func (c *Core) SetResidentWeekly(ctx context.Context, r Resident, on bool) error {
	return c.setResidentNotices(ctx, r, ChannelEmail, true, on)
}

func (c *Core) setResidentNotices(ctx context.Context, r Resident, ch Channel, digest, on bool) error {
	addr := map[Channel]string{ChannelSMS: r.Phone, ChannelEmail: r.Email}[ch]
	if addr == "" {
		return invalid("channel", "the account has no verified %s", map[Channel]string{ChannelSMS: "phone", ChannelEmail: "email"}[ch])
	}
	if !on {
		return dbErr(c.q.ResidentEndAlerts(ctx, db.ResidentEndAlertsParams{Phone: nonEmpty(r.Phone), Email: nonEmpty(r.Email),
			Channel: string(ch), Digest: digest}))
	}
	return dbErr(c.tx(ctx, func(t *txn) error { return c.subscribeVerified(ctx, t, ch, addr, nil, digest) }))
}

// subscribeVerified subscribes a resident's verified address to the
// emergency notices (request nil), the weekly mail (digest) or a
// request's updates, confirmed.
func (c *Core) subscribeVerified(ctx context.Context, t *txn, ch Channel, addr string, request *int64, digest bool) error {
	var row db.Contact
	var err error
	if ch == ChannelSMS {
		row, err = t.q.UpsertContactByPhone(ctx, db.UpsertContactByPhoneParams{Phone: addr})
	} else {
		row, err = t.q.UpsertContactByEmail(ctx, db.UpsertContactByEmailParams{Email: addr})
	}
	if err != nil {
		return err
	}
	_, err = t.q.SubscribeVerified(ctx, db.SubscribeVerifiedParams{ContactID: row.ID, Channel: string(ch), Token: rand.Text(),
		RequestID: request, Digest: digest})
	return err
}
