package core_test

import (
	"context"
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
