package core_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

// A resident signs in with the code texted to her phone; her account
// gathers the requests made from that phone, and, once she adds her
// email by its mailed link, those made from it too, before and after.
// Wrong, used and expired codes and links are refused; a code has five
// tries; an address and a client ask only so often.
func TestSignin(t *testing.T) {
	t.Parallel()
	texts, mails := &fakeSender{}, &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: texts, core.ChannelEmail: mails}
	})
	ctx := context.Background()
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sent := 0 // texts read so far
	nextText := func() core.Outbound {
		t.Helper()
		m, err := texts.Next(wait, sent)
		if err != nil {
			t.Fatal(err)
		}
		sent++
		return m
	}
	// Before any account: a text and a mail, each a request.
	texted := (&phone{t: t, c: c, number: "+15305550901"}).text("pothole at 39.5138, -121.5564").RequestID
	nextText() // its acknowledgment
	mailed, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "rosa@example.org", To: "311@oroville.test",
		Subject: "Graffiti", Text: "Graffiti at 39.5140, -121.5566", ProviderID: "signin-1@example.org"})
	if err != nil {
		t.Fatal(err)
	}

	var bad *core.ValidationError
	if _, _, err := c.SendSignin(ctx, "not a number", "en", "192.0.2.1", 0); !errors.As(err, &bad) {
		t.Errorf("a bad address: %v", err)
	}
	ch, addr, err := c.SendSignin(ctx, "(530) 555-0901", "en", "192.0.2.1", 0)
	if err != nil || ch != core.ChannelSMS || addr != "+15305550901" {
		t.Fatalf("send: %s %s %v", ch, addr, err)
	}
	m := nextText()
	code := codeRE.FindStringSubmatch(m.Body)
	if m.To != "+15305550901" || code == nil || !strings.Contains(m.Body, "your sign-in code is") {
		t.Fatalf("the code's text: %+v", m)
	}
	for range 5 {
		if _, err := c.SigninWithCode(ctx, "5305550901", "000000"); !errors.Is(err, core.ErrSigninRefused) {
			t.Fatalf("a wrong code: %v", err)
		}
	}
	if _, err := c.SigninWithCode(ctx, "5305550901", code[1]); !errors.Is(err, core.ErrSigninRefused) {
		t.Errorf("the right code after five wrong ones: %v", err)
	}
	if _, _, err := c.SendSignin(ctx, "5305550901", "en", "192.0.2.1", 0); err != nil {
		t.Fatal(err)
	}
	code = codeRE.FindStringSubmatch(nextText().Body)
	res, err := c.SigninWithCode(ctx, "+1 530 555 0901", " "+code[1]+" ")
	if err != nil || res.Phone != "+15305550901" || res.Email != "" {
		t.Fatalf("signed in: %+v %v", res, err)
	}
	if _, err := c.SigninWithCode(ctx, "5305550901", code[1]); !errors.Is(err, core.ErrSigninRefused) {
		t.Errorf("a code used twice: %v", err)
	}
	ids := func(r core.Resident) []int64 {
		t.Helper()
		reqs, err := c.ResidentRequests(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, q := range reqs {
			out = append(out, q.ID)
		}
		return out
	}
	if got := ids(res); len(got) != 1 || got[0] != texted {
		t.Errorf("by phone: %v, want [%d]", got, texted)
	}

	// Her email, signed in on its own first (another account), then added
	// to this one by its link: the other account goes.
	if _, _, err := c.SendSignin(ctx, "Rosa@Example.org", "es", "192.0.2.1", 0); err != nil {
		t.Fatal(err)
	}
	first, err := mails.Next(wait, 1) // after the acknowledgment of the mail
	if err != nil || !strings.Contains(first.Subject, "Entrar") {
		t.Fatalf("the mailed sign-in: %+v %v", first, err)
	}
	other, err := c.SigninWithLink(ctx, tokenIn(t, first.Body))
	if err != nil || other.Email != "rosa@example.org" || other.ID == res.ID {
		t.Fatalf("signed in by mail: %+v %v", other, err)
	}
	if _, _, err := c.SendSignin(ctx, "rosa@example.org", "en", "192.0.2.1", res.ID); err != nil {
		t.Fatal(err)
	}
	link, err := mails.Next(wait, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SigninWithLink(ctx, "not-the-token"); !errors.Is(err, core.ErrSigninRefused) {
		t.Errorf("a wrong link: %v", err)
	}
	both, err := c.SigninWithLink(ctx, tokenIn(t, link.Body))
	if err != nil || both.ID != res.ID || both.Phone != "+15305550901" || both.Email != "rosa@example.org" {
		t.Fatalf("the email added: %+v %v", both, err)
	}
	if _, err := c.GetResident(ctx, other.ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("the account that had the email is still there: %v", err)
	}
	later := (&phone{t: t, c: c, number: "+15305550901"}).text("graffiti at 39.5150, -121.5570").RequestID
	if got := ids(both); len(got) != 3 || got[0] != later || !has2(got, texted, mailed.RequestID) {
		t.Errorf("by phone and mail: %v, want %d, %d and %d", got, later, texted, mailed.RequestID)
	}

	// Three sign-ins for one number in fifteen minutes; an expired code
	// is refused.
	before, _ := texts.Sent()
	if _, _, err := c.SendSignin(ctx, "5305550901", "en", "192.0.2.2", 0); err != nil {
		t.Fatalf("a third sign-in for one number in fifteen minutes: %v", err)
	}
	codeAfter(t, texts, len(before)) // delivered before the next
	if _, _, err := c.SendSignin(ctx, "5305550901", "en", "192.0.2.2", 0); !errors.Is(err, core.ErrTooManySignins) {
		t.Errorf("a fourth sign-in for one number in fifteen minutes: %v", err)
	}
	if _, err := c.Pool().Exec(ctx, `UPDATE signins SET created_at = now() - interval '20 minutes'`); err != nil {
		t.Fatal(err)
	}
	sms, _ := texts.Sent()
	if _, _, err := c.SendSignin(ctx, "5305550901", "en", "192.0.2.2", 0); err != nil {
		t.Fatalf("after fifteen minutes: %v", err)
	}
	code = codeRE.FindStringSubmatch(codeAfter(t, texts, len(sms)))
	if _, err := c.Pool().Exec(ctx, `UPDATE signins SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SigninWithCode(ctx, "5305550901", code[1]); !errors.Is(err, core.ErrSigninRefused) {
		t.Errorf("an expired code: %v", err)
	}
	// Six in an hour for one number, however spread over it.
	for range 2 {
		if _, _, err := c.SendSignin(ctx, "5305550901", "en", "192.0.2.2", 0); err != nil {
			t.Fatalf("a fifth or sixth sign-in for one number in the hour: %v", err)
		}
	}
	if _, err := c.Pool().Exec(ctx, `UPDATE signins SET created_at = now() - interval '20 minutes'`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.SendSignin(ctx, "5305550901", "en", "192.0.2.2", 0); !errors.Is(err, core.ErrTooManySignins) {
		t.Errorf("a seventh sign-in for one number in the hour: %v", err)
	}
	// A client asks for twenty an hour, whatever the addresses.
	for i := range 20 {
		c.SendSignin(ctx, "5305550"+string(rune('0'+i/10))+string(rune('0'+i%10))+"0", "en", "192.0.2.9", 0)
	}
	if _, _, err := c.SendSignin(ctx, "neighbour@example.org", "en", "192.0.2.9", 0); !errors.Is(err, core.ErrTooManySignins) {
		t.Errorf("a client's twenty-first sign-in in the hour: %v", err)
	}
}

func has2(list []int64, a, b int64) bool {
	seen := 0
	for _, x := range list {
		if x == a || x == b {
			seen++
		}
	}
	return seen == 2
}

// codeAfter waits for a sign-in code texted after the first n texts and
// returns its text.
func codeAfter(t *testing.T, texts *fakeSender, n int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := n; ; i++ {
		m, err := texts.Next(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(m.Body, "sign-in code") {
			return m.Body
		}
	}
}

// A resident with an account says how she hears about her requests: by
// mail, though she texted the report; not at all; or as it came.
func TestHearBack(t *testing.T) {
	t.Parallel()
	texts, mails := &fakeSender{}, &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: texts, core.ChannelEmail: mails}
	})
	ctx := context.Background()
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	id := (&phone{t: t, c: c, number: "+15305551101"}).text("pothole at 39.5138, -121.5564").RequestID
	if _, err := texts.Next(wait, 0); err != nil { // the acknowledgment, by text
		t.Fatal(err)
	}
	if err := c.SubscribeByMail(ctx, "lena@example.org", "en", false); err != nil { // a contact for her email
		t.Fatal(err)
	}
	var acct int64
	if err := c.Pool().QueryRow(ctx, `INSERT INTO accounts (phone) VALUES ('+15305551101') RETURNING id`).Scan(&acct); err != nil {
		t.Fatal(err)
	}
	res, err := c.GetResident(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	var bad *core.ValidationError
	if _, err := c.SetHearBack(ctx, res, core.ChannelEmail); !errors.As(err, &bad) {
		t.Errorf("mail without an email address: %v", err)
	}
	if _, err := c.Pool().Exec(ctx, `UPDATE accounts SET email = 'lena@example.org' WHERE id = $1`, acct); err != nil {
		t.Fatal(err)
	}
	res, _ = c.GetResident(ctx, acct)
	if _, err := c.SetHearBack(ctx, res, "pigeon"); !errors.As(err, &bad) {
		t.Errorf("an unknown way: %v", err)
	}
	change := func(to core.Status, note string) {
		t.Helper()
		if err := c.ChangeStatus(ctx, id, core.StatusChange{To: to, Note: note, Public: true, By: core.Actor{Name: "dispatcher"}}); err != nil {
			t.Fatal(err)
		}
	}
	if res, err = c.SetHearBack(ctx, res, core.ChannelEmail); err != nil || res.HearBack != core.ChannelEmail {
		t.Fatalf("by mail: %+v %v", res, err)
	}
	change(core.StatusAcknowledged, "Seen.")
	if m, err := mails.Wait(wait, func(m core.Outbound) bool { return strings.Contains(m.Body, "Seen.") }); err != nil || m.To != "lena@example.org" {
		t.Errorf("the update by mail: %+v %v", m, err)
	}
	if _, err = c.SetHearBack(ctx, res, core.ReplyNone); err != nil {
		t.Fatal(err)
	}
	change(core.StatusInProgress, "Crew sent.")
	if res, err = c.SetHearBack(ctx, res, ""); err != nil || res.HearBack != "" {
		t.Fatalf("as it came: %+v %v", res, err)
	}
	if err := c.ChangeStatus(ctx, id, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved, Note: "Filled.",
		Public: true, By: core.Actor{Name: "dispatcher"}}); err != nil {
		t.Fatal(err)
	}
	if m, err := texts.Wait(wait, func(m core.Outbound) bool { return strings.Contains(m.Body, "Filled.") }); err != nil || m.To != "+15305551101" {
		t.Errorf("the update as it came: %+v %v", m, err)
	}
	// Nothing was said of "Crew sent.", by any way.
	sms, _ := texts.Sent()
	ms, _ := mails.Sent()
	for _, m := range append(sms, ms...) {
		if strings.Contains(m.Body, "Crew sent.") {
			t.Errorf("told while she asked for nothing: %+v", m)
		}
	}
	if len(sms) != 2 {
		t.Errorf("%d texts, want the acknowledgment and the closing", len(sms))
	}
}

// A signed-in resident follows a request at her verified mailbox with
// no link to confirm, and following a duplicate follows its issue;
// another address, or a resident without one, gets the link; a request
// that is not there cannot be followed.
func TestResidentFollow(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) {
		o.Workers = 0
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: &fakeSender{}}
	})
	ctx := context.Background()
	first, err := c.CreateRequest(ctx, newPothole(""))
	if err != nil {
		t.Fatal(err)
	}
	again := newPothole("")
	again.Lat, again.Lng = first.Lat, first.Lng
	dup, err := c.CreateRequest(ctx, again)
	if err != nil || dup.DuplicateOf == nil {
		t.Fatalf("the same pothole again: %v, duplicate of %v", err, dup.DuplicateOf)
	}
	lena := core.Resident{Email: "lena@example.org"}
	if issue, confirmed, err := c.FollowByMail(ctx, dup.ID, "Lena@Example.org", "en", lena); err != nil || issue != first.ID || !confirmed {
		t.Errorf("following the duplicate: %d confirmed %v, %v; want #%d confirmed", issue, confirmed, err, first.ID)
	}
	if got, err := c.ResidentFollows(ctx, lena); err != nil || !slices.Equal(got, []int64{first.ID}) {
		t.Errorf("she follows %v (%v), want #%d confirmed", got, err, first.ID)
	}
	for _, by := range []core.Resident{lena, {Phone: "+15305551102"}} {
		if _, confirmed, err := c.FollowByMail(ctx, first.ID, "other@example.org", "en", by); err != nil || confirmed {
			t.Errorf("another address, signed in as %+v: confirmed %v, %v; want a link to confirm", by, confirmed, err)
		}
	}
	if _, _, err := c.FollowByMail(ctx, 999999, "lena@example.org", "en", lena); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a request that is not there: %v", err)
	}
}

// Two sign-in links for one new mailbox, followed at the same moment (a
// resident who asked twice, opening both): both sign in, to one account.
func TestTwoLinksAtOnce(t *testing.T) {
	t.Parallel()
	mails := &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: mails}
	})
	ctx := context.Background()
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for i := range 5 {
		addr := fmt.Sprintf("twice%d@example.org", i)
		var tokens [2]string
		for j := range tokens {
			if _, _, err := c.SendSignin(ctx, addr, "en", "192.0.2.1", 0); err != nil {
				t.Fatal(err)
			}
			m, err := mails.Next(wait, 2*i+j)
			if err != nil {
				t.Fatal(err)
			}
			tokens[j] = tokenIn(t, m.Body)
		}
		var got [2]core.Resident
		var errs [2]error
		var wg sync.WaitGroup
		for j := range tokens {
			wg.Go(func() { got[j], errs[j] = c.SigninWithLink(ctx, tokens[j]) })
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil || got[0].ID != got[1].ID || got[0].Email != addr {
			t.Errorf("%s: signed in as %+v (%v) and %+v (%v), want one account", addr, got[0], errs[0], got[1], errs[1])
		}
	}
}
