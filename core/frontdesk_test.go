package core_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"townline/core"
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
