package core_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"townline/core"
)

// The same pothole, mailed by one neighbour and texted by another 30 m
// away, is one issue: the text joins the mail's request at once, its
// sender is told so, both hear the close on their own channels, and the
// issue counts the people who reported it.
func TestSameIssueJoins(t *testing.T) {
	t.Parallel()
	c := filingCore(t)
	ctx := context.Background()
	mail := func(from, id, subject, text string) core.Request {
		t.Helper()
		res, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: from, To: "311@example.gov",
			Subject: subject, Text: text, ProviderID: id})
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Request(ctx, res.RequestID)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := mail("ana@example.com", "<same-1@example.com>", "Pothole", "A deep pothole at 39.51380, -121.55640.")
	if first.Status != core.StatusNew {
		t.Fatalf("the first report is %s, want new", first.Status)
	}

	p := &phone{t: t, c: c, number: "+15305550231"}
	res := p.text("theres a pothole at 39.51407, -121.55640") // 30 m north
	text, _ := c.Request(ctx, res.RequestID)
	if text.Status != core.StatusClosed || text.CloseReason != core.ReasonDuplicate || text.DuplicateOf == nil || *text.DuplicateOf != first.ID {
		t.Fatalf("the text 30 m away: %s (%s) of %v, want joined to #%d", text.Status, text.CloseReason, text.DuplicateOf, first.ID)
	}
	out := outbound(t, c, text.ID)
	if len(out) != 1 || out[0].Channel != core.ChannelSMS ||
		!strings.Contains(out[0].Body, fmt.Sprintf("was already reported as #%d", first.ID)) ||
		!strings.Contains(out[0].Body, "by 2 people now") {
		t.Errorf("the texter was told %+v, want that #%d was already reported, by 2 people now", out, first.ID)
	}

	// The first reporter again, 10 m off: joined, and still 2 people.
	again := mail("ana@example.com", "<same-2@example.com>", "Pothole", "Still there, pothole at 39.51389, -121.55640.")
	if again.DuplicateOf == nil || *again.DuplicateOf != first.ID {
		t.Errorf("the same person again: duplicate of %v, want #%d", again.DuplicateOf, first.ID)
	}
	// Not the same issue: another service, or beyond 50 m.
	for _, tc := range []struct{ what, subject, text string }{
		{"graffiti on the same spot", "Graffiti", "Graffiti on the wall at 39.51380, -121.55640."},
		{"a pothole 80 m away", "Pothole", "A pothole at 39.51452, -121.55640."},
	} {
		if r := mail("ben@example.com", "<"+strings.ReplaceAll(tc.what, " ", "-")+"@example.com>", tc.subject, tc.text); r.DuplicateOf != nil || r.Status != core.StatusNew {
			t.Errorf("%s: %s, duplicate of %v; want a request of its own", tc.what, r.Status, r.DuplicateOf)
		}
	}
	issue, _ := c.Request(ctx, first.ID)
	if issue.Reports != 2 {
		t.Errorf("the issue counts %d reporters, want 2 people (one reported twice)", issue.Reports)
	}

	if err := c.ChangeStatus(ctx, first.ID, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved,
		Note: "Filled this morning.", Public: true, By: core.Actor{Name: "test"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id int64
		ch core.Channel
	}{{first.ID, core.ChannelEmail}, {text.ID, core.ChannelSMS}} {
		heard := false
		for _, m := range outbound(t, c, tc.id) {
			heard = heard || m.Channel == tc.ch && strings.Contains(m.Body, "Filled this morning.")
		}
		if !heard {
			t.Errorf("request #%d's reporter did not hear the close over %s", tc.id, tc.ch)
		}
	}
}

// A report 100 m from an open one of its kind may be the same: too far
// to join at once, so its reporter is asked, and their answer decides.
// By text: YES follows the other request, NO keeps theirs. By mail: a
// reply starting "Yes" follows it. An Open311 client, which cannot
// answer, is not asked.
func TestSameOffer(t *testing.T) {
	t.Parallel()
	c := filingCore(t)
	ctx := context.Background()
	lat, lng := 39.5060, -121.5600 // a spot of its own
	first, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
		Description: "Pothole", Lat: &lat, Lng: &lng, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	at := func(meters float64) string { return fmt.Sprintf("%.5f, %.5f", lat+meters/111_000, lng) }
	offered := func(id int64) int64 {
		t.Helper()
		parent, meters, err := c.SameOffer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if parent != 0 && (meters < 90 || meters > 110) {
			t.Errorf("#%d: offered #%d %d m away, want about 100 m", id, parent, meters)
		}
		return parent
	}

	for _, tc := range []struct {
		number, answer string
		follows        bool
		told           string
	}{
		{"+15305550241", "YES", true, fmt.Sprintf("we are tracking it as #%d", first.ID)},
		{"+15305550242", "no", false, "it stays a report of its own"},
	} {
		p := &phone{t: t, c: c, number: tc.number}
		res := p.text("pothole at " + at(100))
		r, _ := c.Request(ctx, res.RequestID)
		if r.Status != core.StatusNew || offered(r.ID) != first.ID {
			t.Fatalf("a pothole 100 m away: %s, offered #%d; want filed new, and #%d offered", r.Status, offered(r.ID), first.ID)
		}
		out := outbound(t, c, r.ID)
		if len(out) != 1 || !strings.Contains(out[0].Body, fmt.Sprintf("#%d (Pothole, 100 m away) may be the same: reply YES to follow #%d instead", first.ID, first.ID)) {
			t.Fatalf("the acknowledgment: %+v", out)
		}
		p.text(tc.answer)
		r, _ = c.Request(ctx, r.ID)
		if follows := r.DuplicateOf != nil && *r.DuplicateOf == first.ID; follows != tc.follows || offered(r.ID) != 0 {
			t.Errorf("answered %s: duplicate of %v, offer %d; want following #%d %v, and the offer gone", tc.answer, r.DuplicateOf, offered(r.ID), first.ID, tc.follows)
		}
		out = outbound(t, c, r.ID)
		if last := out[len(out)-1]; len(out) != 2 || !strings.Contains(last.Body, tc.told) {
			t.Errorf("answered %s, then told %+v; want %q", tc.answer, out, tc.told)
		}
		// Answered once: the same word again is not an answer any more.
		p.text(tc.answer)
		n := 0
		for _, m := range outbound(t, c, r.ID) {
			if strings.Contains(m.Body, tc.told) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("a second %s: told %q %d times, want once", tc.answer, tc.told, n)
		}
	}

	// By mail: the acknowledgment asks, a reply saying yes follows (eight
	// words, the most an answer has).
	res, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "dora@example.com", To: "311@example.gov",
		Subject: "Pothole", Text: "Big pothole at " + at(-100) + ".", ProviderID: "<offer-1@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	if offered(res.RequestID) != first.ID {
		t.Fatalf("a mailed pothole 100 m away: not offered #%d", first.ID)
	}
	if out := outbound(t, c, res.RequestID); len(out) != 1 || !strings.Contains(out[0].Body, "reply YES to this email") {
		t.Fatalf("the mailed acknowledgment: %+v", out)
	}
	// A reply with no words (a photo alone) answers nothing.
	if _, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "dora@example.com", To: "311@example.gov",
		Subject: "Re: Pothole", ProviderID: "<offer-blank@example.com>", RequestRef: res.RequestID}); err != nil {
		t.Fatal(err)
	}
	if offered(res.RequestID) != first.ID {
		t.Errorf("a reply with no words: the offer of #%d is gone", first.ID)
	}
	if _, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "dora@example.com", To: "311@example.gov",
		Subject: "Re: Pothole", Text: "Yes, that is the one I saw today.", ProviderID: "<offer-2@example.com>", RequestRef: res.RequestID}); err != nil {
		t.Fatal(err)
	}
	if r, _ := c.Request(ctx, res.RequestID); r.DuplicateOf == nil || *r.DuplicateOf != first.ID {
		t.Errorf("the mail's reporter said yes: duplicate of %v, want #%d", r.DuplicateOf, first.ID)
	}

	// Open311 clients are not asked.
	lat2 := lat + 100.0/111_000
	r, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
		Description: "Pothole", Lat: &lat2, Lng: &lng, Reporter: core.Reporter{Email: "app@example.com"}, Actor: "test"})
	if err != nil || offered(r.ID) != 0 {
		t.Errorf("an Open311 report: offered %d, %v; want nothing offered", offered(r.ID), err)
	}
}
