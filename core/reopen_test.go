package core_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

// A resident whose request was closed as done texts REOPEN (or mails
// it, or asks from its page, signed in): it goes back in progress, staff
// read why, every reporter hears; not another's request, not one closed
// as referred, not after the city's window.
func TestReopen(t *testing.T) {
	t.Parallel()
	texts, mails := &fakeSender{}, &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: texts, core.ChannelEmail: mails}
	})
	ctx := context.Background()
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	staff := core.Actor{Name: "dispatcher"}
	closeIt := func(id int64, reason core.CloseReason) {
		t.Helper()
		if err := c.ChangeStatus(ctx, id, core.StatusChange{To: core.StatusClosed, Reason: reason, Note: "Done.", Public: true, By: staff}); err != nil {
			t.Fatal(err)
		}
	}
	p := &phone{t: t, c: c, number: "+15305551001"}
	id := p.text("pothole at 39.5138, -121.5564").RequestID
	closeIt(id, core.ReasonResolved)
	closing, err := texts.Wait(wait, func(m core.Outbound) bool { return strings.Contains(m.Body, "now closed") })
	if err != nil || !strings.Contains(closing.Body, "Not fixed? Reply REOPEN within 14 days.") {
		t.Fatalf("the closing text: %+v %v", closing, err)
	}
	// The resident's words join the request they reopen.
	if res := p.text("REOPEN it is still there, deeper"); res.RequestID != id {
		t.Errorf("the REOPEN text joined #%d, want #%d", res.RequestID, id)
	}
	r, err := c.Request(ctx, id)
	if err != nil || r.Status != core.StatusInProgress {
		t.Fatalf("after REOPEN: %+v %v", r, err)
	}
	hist, err := c.History(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, e := range hist {
		notes = append(notes, fmt.Sprintf("%v:%s", e.Public, e.Note))
	}
	all := strings.Join(notes, "|")
	if !strings.Contains(all, "false:it is still there, deeper") || !strings.Contains(all, "true:Reopened: the person who reported it says it is not fixed.") {
		t.Errorf("the history: %s", all)
	}
	if public, _ := c.History(ctx, id, true); strings.Contains(fmt.Sprint(public), "deeper") {
		t.Errorf("the resident's words are public: %v", public)
	}
	if _, err := texts.Wait(wait, func(m core.Outbound) bool {
		return m.To == "+15305551001" && strings.Contains(m.Body, "now in progress. Reopened")
	}); err != nil {
		t.Errorf("the reporter was not told: %v", err)
	}
	// Nothing closed: said so.
	p.text("reopen")
	if _, err := texts.Wait(wait, func(m core.Outbound) bool { return strings.Contains(m.Body, "no closed report to reopen") }); err != nil {
		t.Errorf("REOPEN with nothing closed: %v", err)
	}
	// Another's request, by its number: as if there were none.
	other := (&phone{t: t, c: c, number: "+15305551002"}).text("graffiti at 39.5200, -121.5600").RequestID
	closeIt(other, core.ReasonResolved)
	p.text(fmt.Sprintf("REOPEN #%d", other))
	if _, err := texts.Wait(wait, func(m core.Outbound) bool {
		return m.To == "+15305551001" && strings.Contains(m.Body, fmt.Sprintf("we found no report #%d", other))
	}); err != nil {
		t.Errorf("REOPEN of another's request: %v", err)
	}
	if r, _ := c.Request(ctx, other); r.Status != core.StatusClosed {
		t.Errorf("another's request reopened: %s", r.Status)
	}
	// Referred elsewhere, or closed too long ago: not reopened.
	closeIt(id, core.ReasonReferred)
	p.text("REOPEN")
	if _, err := texts.Wait(wait, func(m core.Outbound) bool { return strings.Contains(m.Body, "cannot be reopened now") }); err != nil {
		t.Errorf("REOPEN of a referred request: %v", err)
	}
	if r, _ := c.Request(ctx, id); r.Status != core.StatusClosed {
		t.Errorf("a referred request reopened: %s", r.Status)
	}

	// By mail, in reply, and from the page.
	mailed, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "vecino@example.org", To: "311@oroville.test",
		Subject: "Graffiti", Text: "Graffiti at 39.5300, -121.5650", ProviderID: "reopen-1@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	closeIt(mailed.RequestID, core.ReasonResolved)
	// A later request of the same resident, closed since: the number
	// names which one.
	later, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "vecino@example.org", To: "311@oroville.test",
		Subject: "Pothole", Text: "Pothole at 39.5320, -121.5640", ProviderID: "reopen-later@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	closeIt(later.RequestID, core.ReasonResolved)
	if _, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "vecino@example.org", To: "311@oroville.test",
		Subject: "Re: Update", Text: fmt.Sprintf("REOPEN #%d the paint shows through", mailed.RequestID), ProviderID: "reopen-2@example.org"}); err != nil {
		t.Fatal(err)
	}
	if r, _ := c.Request(ctx, mailed.RequestID); r.Status != core.StatusInProgress {
		t.Errorf("REOPEN by mail: %s", r.Status)
	}
	if r, _ := c.Request(ctx, later.RequestID); r.Status != core.StatusClosed {
		t.Errorf("the later request, not named, reopened: %s", r.Status)
	}
	closeIt(mailed.RequestID, core.ReasonResolved)
	if err := c.ReopenByResident(ctx, mailed.RequestID, core.Resident{Phone: "+15305551001"}, "not mine"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("another resident reopened it: %v", err)
	}
	// Neither has a phone: no phone is not the same phone.
	if err := c.ReopenByResident(ctx, mailed.RequestID, core.Resident{Email: "other@example.org"}, "not mine"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a resident with another email, and no phone, reopened it: %v", err)
	}
	me := core.Resident{Email: "vecino@example.org"}
	if r, _ := c.Request(ctx, mailed.RequestID); !c.Reopenable(r) {
		t.Error("not offered to its reporter")
	}
	if err := c.ReopenByResident(ctx, mailed.RequestID, me, "Still there."); err != nil {
		t.Fatal(err)
	}
	closeIt(mailed.RequestID, core.ReasonResolved)
	if _, err := c.Pool().Exec(ctx, `UPDATE requests SET closed_at = now() - interval '15 days' WHERE id = $1`, mailed.RequestID); err != nil {
		t.Fatal(err)
	}
	r, _ = c.Request(ctx, mailed.RequestID)
	if c.Reopenable(r) {
		t.Error("offered fifteen days after closing")
	}
	if err := c.ReopenByResident(ctx, mailed.RequestID, me, ""); !errors.Is(err, core.ErrCannotReopen) {
		t.Errorf("reopened fifteen days after closing: %v", err)
	}
}
