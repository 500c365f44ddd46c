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
