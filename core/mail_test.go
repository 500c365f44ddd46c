package core_test

import (
	"context"
	"strings"
	"testing"

	"townline/core"
)

// A reply by mail joins its request, through a verified reference or the
// message it answers; a mailbox's second copy of a message changes nothing.
func TestMailThreadsAndCopies(t *testing.T) {
	t.Parallel()
	c := filingCore(t)
	ctx := context.Background()
	send := func(in core.Inbound) core.IntakeResult {
		t.Helper()
		in.Channel, in.To = core.ChannelEmail, "311@example.gov"
		if in.From == "" {
			in.From = "ana@example.com"
		}
		res, err := c.Intake(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := send(core.Inbound{Subject: "Pothole", Text: "Deep pothole at 1735 Montgomery Street.", ProviderID: "<first@example.com>",
		DedupeKeys: []string{"imap:INBOX:1:5"}})
	if first.RequestID == 0 {
		t.Fatal("the first mail made no request")
	}
	if got := send(core.Inbound{Text: "It got deeper.", ProviderID: "<ref@example.com>", RequestRef: first.RequestID}); got.RequestID != first.RequestID {
		t.Errorf("a reply by reference went to %d, want %d", got.RequestID, first.RequestID)
	}
	if got := send(core.Inbound{Text: "And wider.", ProviderID: "<reply@example.com>", InReplyTo: []string{"<unknown@example.com>", "<first@example.com>"}}); got.RequestID != first.RequestID {
		t.Errorf("a reply to the first mail went to %d, want %d", got.RequestID, first.RequestID)
	}
	lost := send(core.Inbound{Subject: "Graffiti", Text: "Tagged wall.", ProviderID: "<lost@example.com>", RequestRef: 999999,
		InReplyTo: []string{"<unknown@example.com>"}})
	if lost.RequestID == 0 || lost.RequestID == first.RequestID {
		t.Errorf("a mail naming no known request went to %d, want a new request", lost.RequestID)
	}
	again := send(core.Inbound{Subject: "Pothole", Text: "Deep pothole at 1735 Montgomery Street.", ProviderID: "<first-copy@example.com>",
		DedupeKeys: []string{"imap:INBOX:9:1", "imap:INBOX:1:5"}})
	if !again.Duplicate {
		t.Errorf("a copy seen under another key: %+v", again)
	}
	ms, err := c.Messages(ctx, first.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	in := 0
	for _, m := range ms {
		if m.Direction == "in" {
			in++
		}
	}
	if in != 3 {
		t.Errorf("the request has %d mails, want 3: %+v", in, ms)
	}
}

// A mail townline cannot classify is filed at once, and its
// acknowledgment asks which kind of problem it is: its reporter's reply
// with a number classifies and routes it. Anyone else's reply, or a
// number about a classified request, is only added to it.
func TestMailAnswersWhichKind(t *testing.T) {
	t.Parallel()
	c := filingCore(t)
	ctx := context.Background()
	mail := func(from, id, text string, ref int64) core.IntakeResult {
		t.Helper()
		res, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: from, To: "311@example.gov",
			Subject: "Problem", Text: text, ProviderID: id, RequestRef: ref})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := mail("eve@example.com", "<kind-1@example.com>", "Something is wrong outside 1747 Montgomery Street.", 0)
	r, _ := c.Request(ctx, res.RequestID)
	if r.ServiceCode != "" || r.Department != "" {
		t.Fatalf("unclear mail: service %q, department %q; want the triage queue", r.ServiceCode, r.Department)
	}
	out := outbound(t, c, r.ID)
	if len(out) != 1 || !strings.Contains(out[0].Body, "Reply to this email with its number") ||
		!strings.Contains(out[0].Body, "  2  Streetlight\n") {
		t.Fatalf("the acknowledgment: %+v", out)
	}

	mail("frank@example.com", "<kind-2@example.com>", "2", r.ID) // not the reporter
	if r, _ = c.Request(ctx, r.ID); r.ServiceCode != "" {
		t.Errorf("a stranger's number classified it as %q", r.ServiceCode)
	}
	mail("eve@example.com", "<kind-blank@example.com>", "", r.ID) // a photo alone, no answer
	if r, _ = c.Request(ctx, r.ID); r.ServiceCode != "" {
		t.Errorf("a reply with no words classified it as %q", r.ServiceCode)
	}
	mail("eve@example.com", "<kind-3@example.com>", "2\n\nOn Monday you wrote: …", r.ID)
	r, _ = c.Request(ctx, r.ID)
	if r.ServiceCode != "streetlight" || r.Department != "public-works" || r.ExpectedAt == nil {
		t.Errorf("answered 2: service %q, department %q, due %v; want a streetlight, routed and due", r.ServiceCode, r.Department, r.ExpectedAt)
	}
	out = outbound(t, c, r.ID)
	if last := out[len(out)-1]; !strings.Contains(last.Body, "is filed as Streetlight and sent to Public Works") {
		t.Errorf("told %q", last.Body)
	}
	hist, _ := c.History(ctx, r.ID, false)
	if last := hist[len(hist)-1]; last.FromService != "" || last.ToService != "streetlight" || last.Actor != "email" {
		t.Errorf("history %+v, want the reporter's reclassification", last)
	}
	// Classified now: a number is words like any other.
	n := len(outbound(t, c, r.ID))
	mail("eve@example.com", "<kind-4@example.com>", "3", r.ID)
	if r, _ = c.Request(ctx, r.ID); r.ServiceCode != "streetlight" || len(outbound(t, c, r.ID)) != n {
		t.Errorf("a number about a classified request: service %q", r.ServiceCode)
	}
}
