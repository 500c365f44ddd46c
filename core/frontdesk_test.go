package core_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

// Staff file for a caller, a walk-in or themselves: the resident hears
// back the way they chose at the desk (or not at all), found again by
// their number or address, and a text from them joins their request.
func TestFrontDesk(t *testing.T) {
	t.Parallel()
	c := filingCore(t)
	ctx := context.Background()
	file := func(ch core.Channel, rep core.Reporter) (core.Request, []core.Message) {
		t.Helper()
		in := newPothole("")
		in.Channel, in.Reporter, in.Actor = ch, rep, "desk@cityoforoville.org"
		r, err := c.CreateRequest(ctx, in)
		if err != nil {
			t.Fatalf("%s for %+v: %v", ch, rep, err)
		}
		return r, outbound(t, c, r.ID)
	}

	// A caller who wants texts.
	r, out := file(core.ChannelPhone, core.Reporter{Phone: "(530) 555-0150", Name: "Rosa Diaz", ReplyBy: core.ChannelSMS})
	if len(out) != 1 || out[0].Channel != core.ChannelSMS || !strings.Contains(out[0].Body, "got it, Pothole") {
		t.Fatalf("the caller's acknowledgment: %+v", out)
	}
	if r.Channel != core.ChannelPhone {
		t.Errorf("channel %s, want phone", r.Channel)
	}
	// Their text back joins the request.
	p := &phone{t: t, c: c, number: "+15305550150"}
	if res := p.text("it is right by the bus stop"); res.RequestID != r.ID {
		t.Errorf("the caller's text went to #%d, want #%d", res.RequestID, r.ID)
	}
	// Found again by the number, however typed.
	found, err := c.FindContacts(ctx, "530.555.0150", "")
	if err != nil || len(found) != 1 || found[0].Name != "Rosa Diaz" || found[0].ReplyBy != core.ChannelSMS {
		t.Errorf("found %+v, %v; want Rosa, who hears back by text", found, err)
	}

	// A walk-in who wants mail; one who wants nothing; a crew's own report.
	if _, out := file(core.ChannelWalkIn, core.Reporter{Email: "Sam@Example.com", ReplyBy: core.ChannelEmail}); len(out) != 1 || out[0].Channel != core.ChannelEmail {
		t.Errorf("the walk-in's acknowledgment: %+v, want one mail", out)
	}
	if _, out := file(core.ChannelWalkIn, core.Reporter{Phone: "5305550151", ReplyBy: core.ReplyNone}); len(out) != 0 {
		t.Errorf("a walk-in who wants nothing was sent %+v", out)
	}
	if r, out := file(core.ChannelStaff, core.Reporter{}); len(out) != 0 || r.ContactID != nil {
		t.Errorf("a crew's report: contact %v, sent %+v; want neither", r.ContactID, out)
	}
	if found, _ := c.FindContacts(ctx, "", "sam@example.COM"); len(found) != 1 || found[0].ReplyBy != core.ChannelEmail {
		t.Errorf("the walk-in by mail: %+v", found)
	}

	// Staff say which request it repeats: it joins that one, never a
	// closed one.
	same := newPothole("")
	same.Channel, same.SameAs = core.ChannelPhone, r.ID
	if j, err := c.CreateRequest(ctx, same); err != nil || j.DuplicateOf == nil || *j.DuplicateOf != r.ID {
		t.Errorf("filed as the same as #%d: %+v, %v", r.ID, j.DuplicateOf, err)
	}
	if err := c.ChangeStatus(ctx, r.ID, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved, By: core.Actor{Name: "test"}}); err != nil {
		t.Fatal(err)
	}
	var bad *core.ValidationError
	if _, err := c.CreateRequest(ctx, same); !errors.As(err, &bad) || bad.Field != "same_as" {
		t.Errorf("the same as a closed request: %v, want refused", err)
	}

	// What cannot be: refused with its field, nothing filed.
	before := countRequests(t, c)
	for _, tc := range []struct {
		rep   core.Reporter
		field string
	}{
		{core.Reporter{ReplyBy: core.ChannelSMS}, "phone"},
		{core.Reporter{Phone: "+15305550152", ReplyBy: core.ChannelEmail}, "email"},
		{core.Reporter{Phone: "+15305550152", ReplyBy: "fax"}, "reply_by"},
		{core.Reporter{Phone: "555"}, "phone"},
	} {
		in := newPothole("")
		in.Channel, in.Reporter = core.ChannelPhone, tc.rep
		_, err := c.CreateRequest(ctx, in)
		var bad *core.ValidationError
		if !errors.As(err, &bad) || bad.Field != tc.field {
			t.Errorf("%+v: %v, want refused for %s", tc.rep, err, tc.field)
		}
	}
	if after := countRequests(t, c); after != before {
		t.Errorf("refused filings made %d requests", after-before)
	}
}

// Staff reach out to a resident who gave a number but has not texted: the
// text waits for the daytime, never goes to a number that texted STOP,
// and the resident's answer joins the request as if they had started it.
func TestReachOut(t *testing.T) {
	t.Parallel()
	c := filingCore(t)
	ctx := context.Background()
	in := newPothole("")
	in.Reporter = core.Reporter{Phone: "+15305550170"}
	r, err := c.CreateRequest(ctx, in) // by Open311: answered by mail, and they gave none
	if err != nil {
		t.Fatal(err)
	}
	by := core.Actor{Name: "desk@cityoforoville.org"}
	if _, err := c.Reply(ctx, r.ID, core.ChannelEmail, "Which lane?", by); err == nil || !strings.Contains(err.Error(), "no email address") {
		t.Errorf("reaching out by mail without an address: %v", err)
	}
	id, err := c.Reply(ctx, r.ID, core.ChannelSMS, "Which lane is the pothole in?", by)
	if err != nil || id == 0 {
		t.Fatalf("reach out by text: %d, %v", id, err)
	}
	m, _ := c.Message(ctx, id)
	if m.Channel != core.ChannelSMS || !strings.Contains(m.Body, "Which lane is the pothole in?") {
		t.Errorf("the text: %+v", m)
	}
	at := deliverAt(t, c, id)
	local := at.In(c.City().Location)
	if h := local.Hour(); h < 9 || h >= 19 || at.After(time.Now().Add(15*time.Hour)) {
		t.Errorf("the first text goes at %v, want the next daytime hour (9 AM to 7 PM)", local)
	}
	// Their answer, with no words of a report of its own, joins it, though
	// they have another request open, newer.
	other := newPothole("")
	other.Channel, other.Reporter = core.ChannelSMS, in.Reporter
	if _, err := c.CreateRequest(ctx, other); err != nil {
		t.Fatal(err)
	}
	p := &phone{t: t, c: c, number: "+15305550170"}
	if res := p.text("the left one, near the curb"); res.RequestID != r.ID {
		t.Errorf("the answer went to #%d, want #%d", res.RequestID, r.ID)
	}
	// STOP: a text staff write afterwards is kept, marked not sent.
	p.text("STOP")
	id, err = c.Reply(ctx, r.ID, core.ChannelSMS, "Thanks, we will look.", by)
	if m, _ := c.Message(ctx, id); err != nil || m.State != "not_sent" || !strings.Contains(m.Error, "STOP") {
		t.Errorf("a text to a number that opted out: %+v, %v", m, err)
	}
}

// What a resident at the desk asked for is kept even where the city
// sends no messages yet: it holds when it does.
func TestFrontDeskKeepsTheChoiceWithoutSenders(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	in := newPothole("")
	in.Channel, in.Reporter, in.Actor = core.ChannelWalkIn, core.Reporter{Phone: "5305550161", ReplyBy: core.ReplyNone}, "desk@cityoforoville.org"
	if _, err := c.CreateRequest(ctx, in); err != nil {
		t.Fatal(err)
	}
	if found, err := c.FindContacts(ctx, "5305550161", ""); err != nil || len(found) != 1 || found[0].ReplyBy != core.ReplyNone {
		t.Errorf("found %+v, %v; want the walk-in, who wants to hear nothing", found, err)
	}
}

// deliverAt is when message id's delivery is scheduled.
func deliverAt(t *testing.T, c *core.Core, id int64) time.Time {
	t.Helper()
	var at time.Time
	if err := c.Pool().QueryRow(context.Background(), `SELECT scheduled_at FROM river_job
		WHERE kind = 'deliver' AND (args->>'message_id')::bigint = $1`, id).Scan(&at); err != nil {
		t.Fatal(err)
	}
	return at
}
