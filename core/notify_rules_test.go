package core_test

import (
	"context"
	"strings"
	"testing"

	"townline/core"
	"townline/internal/testenv"
)

// A flagged sender gets no automatic answers, but still hears what staff
// do: a status change, a public note, a reply.
func TestFlaggedSenderStillHearsFromStaff(t *testing.T) {
	t.Parallel()
	mail := &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) {
		o.Workers = 0
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: mail}
	})
	ctx := context.Background()
	ana := core.Reporter{Name: "Ana", Email: "ana@example.com"}
	r := file(t, c, "pothole", "Pothole, again", ana)
	by := core.Actor{Name: "desk@oroville.test"}
	if err := c.FlagSender(ctx, r.ID, "Sends the same photo every hour", by); err != nil {
		t.Fatal(err)
	}
	if err := c.ChangeStatus(ctx, r.ID, core.StatusChange{To: core.StatusInProgress}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddNote(ctx, r.ID, "A crew is on the way", true, by); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Reply(ctx, r.ID, "", "Which lane is it in?", by); err != nil {
		t.Fatal(err)
	}
	out := outbound(t, c, r.ID)
	if len(out) != 4 {
		t.Fatalf("%d messages, want the acknowledgment, the status, the note and the reply: %+v", len(out), out)
	}
	for _, m := range out[1:] {
		if m.State != "queued" || m.Channel != core.ChannelEmail {
			t.Errorf("staff's message %q to a flagged sender is %s %s (%s), want queued by email", m.Body, m.Channel, m.State, m.Error)
		}
	}

	// A new report from them files, but its acknowledgment waits for the flag.
	again := file(t, c, "streetlight", "The light is out", ana)
	out = outbound(t, c, again.ID)
	if len(out) != 1 || out[0].State != "not_sent" || !strings.Contains(out[0].Error, "paused") {
		t.Errorf("acknowledgment to a flagged sender: %+v, want one not_sent, paused", out)
	}
}

// A caller who does not take texts heard their number on the call: no
// acknowledgment follows, but the city calls back with each update.
func TestCallerWithoutTextsIsCalledWithUpdates(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) {
		o.Workers = 0
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: &fakeSender{}, core.ChannelVoice: &fakeSender{}}
	})
	ctx := context.Background()
	f, err := c.FileCallReport(ctx, callReport("CA9", 1, "+15305550109"))
	if err != nil {
		t.Fatal(err)
	}
	if f.TextsOK {
		t.Fatalf("%+v: the caller never accepted texts", f)
	}
	if out := outbound(t, c, f.Request.ID); len(out) != 0 {
		t.Errorf("after the call: %+v, want no acknowledgment", out)
	}
	if err := c.ChangeStatus(ctx, f.Request.ID, core.StatusChange{To: core.StatusInProgress}); err != nil {
		t.Fatal(err)
	}
	out := outbound(t, c, f.Request.ID)
	if len(out) != 1 || out[0].Channel != core.ChannelVoice || out[0].State != "queued" ||
		!strings.Contains(out[0].Body, "update on your report number") {
		t.Errorf("after the status change: %+v, want one call queued", out)
	}
}
