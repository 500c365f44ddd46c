package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

// Managers' numbers: the week's closed requests count from Monday, city
// time; open and overdue ones per department; how fast each service moves.
func TestManagersNumbers(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	var ids []int64
	for range 3 {
		r, err := c.CreateRequest(ctx, newPothole(""))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	light := newPothole("")
	light.ServiceCode = "streetlight"
	if _, err := c.CreateRequest(ctx, light); err != nil {
		t.Fatal(err)
	}
	if err := c.ChangeStatus(ctx, ids[0], core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved}); err != nil {
		t.Fatal(err)
	}
	// Per service: the pothole closed, here two hours and a half after it
	// was made; no streetlight was acknowledged or closed.
	if _, err := c.Pool().Exec(ctx, `UPDATE request_events e SET at = r.requested_at + interval '150 minutes'
		FROM requests r WHERE r.id = $1 AND e.request_id = r.id AND e.from_status IS NOT NULL`, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pool().Exec(ctx, `UPDATE requests SET closed_at = requested_at + interval '150 minutes' WHERE id = $1`, ids[0]); err != nil {
		t.Fatal(err)
	}
	times, err := c.Times(ctx, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	const took = 150 * time.Minute
	if len(times) != 2 || times[0].Service != "pothole" || times[0].Requests != 3 || times[0].ToAcknowledge == nil ||
		*times[0].ToAcknowledge != took || times[0].ToClose == nil || *times[0].ToClose != took ||
		times[1].Service != "streetlight" || times[1].ToAcknowledge != nil || times[1].ToClose != nil {
		t.Errorf("times %+v", times)
	}
	loc := c.City().Location
	monday := time.Date(2026, 11, 23, 9, 0, 0, 0, loc) // a Monday morning
	overdue := time.Now().Add(-time.Hour)
	if _, err := c.Pool().Exec(ctx, `UPDATE requests SET closed_at = $1 WHERE id = $2`, monday, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pool().Exec(ctx, `UPDATE requests SET expected_at = $1 WHERE id = $2`, overdue, ids[1]); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		now    time.Time
		closed int64
	}{
		{time.Date(2026, 11, 23, 9, 30, 0, 0, loc), 1},      // Monday itself
		{time.Date(2026, 11, 28, 12, 0, 0, 0, loc), 1},      // Saturday
		{time.Date(2026, 11, 29, 23, 0, 0, 0, loc), 1},      // Sunday night ends the week
		{time.Date(2026, 11, 30, 0, 30, 0, 0, loc), 0},      // the next Monday
		{time.Date(2026, 11, 22, 23, 0, 0, 0, loc), 1},      // the Sunday before: that week started on the 16th
		{time.Date(2026, 11, 30, 0, 30, 0, 0, time.UTC), 1}, // still Sunday in Oroville
	} {
		load, err := c.Load(ctx, tc.now)
		if err != nil {
			t.Fatal(err)
		}
		if len(load) != 1 || load[0].Department != "public-works" || load[0].Open != 3 || load[0].Overdue != 1 ||
			load[0].ClosedThisWeek != tc.closed {
			t.Errorf("at %s: %+v, want 3 open, 1 overdue, %d closed this week", tc.now, load, tc.closed)
		}
	}
	weeks, err := c.ChannelWeeks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(weeks) != 1 || weeks[0].Channel != core.ChannelOpen311 || weeks[0].Requests != 4 || weeks[0].Week.After(time.Now()) {
		t.Errorf("weeks %+v", weeks)
	}
}

// A private note stays with staff; a public one is in the public history
// and goes to the reporter.
func TestNotes(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) {
		o.Workers = 0 // the messages wait, queued
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: &fakeSender{}}
	})
	ctx := context.Background()
	r, err := c.CreateRequest(ctx, newPothole("ana@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	queued := func() int {
		var n int
		if err := c.Pool().QueryRow(ctx, `SELECT count(*) FROM messages WHERE request_id = $1 AND direction = 'out'`, r.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := queued()
	by := core.Actor{Name: "pat@oroville.test"}
	if err := c.AddNote(ctx, r.ID, "called the contractor", false, by); err != nil {
		t.Fatal(err)
	}
	if n := queued(); n != before {
		t.Errorf("a private note sent %d messages", n-before)
	}
	if err := c.AddNote(ctx, r.ID, "crew scheduled for Tuesday", true, by); err != nil {
		t.Fatal(err)
	}
	if n := queued(); n != before+1 {
		t.Errorf("a public note sent %d messages, want 1", n-before)
	}
	var invalid *core.ValidationError
	if err := c.AddNote(ctx, r.ID, "", true, by); !errors.As(err, &invalid) {
		t.Errorf("an empty note: %v", err)
	}
	if err := c.AddNote(ctx, r.ID, "bad \x00 byte", true, by); !errors.As(err, &invalid) {
		t.Errorf("a note with a NUL: %v", err)
	}
	if err := c.AddNote(ctx, 999999, "lost", true, by); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a note on no request: %v", err)
	}
	hs, err := c.PublicHistories(ctx, []int64{r.ID})
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, e := range hs[r.ID] {
		if e.Note != "" {
			notes = append(notes, e.Note)
		}
	}
	if len(notes) != 1 || notes[0] != "crew scheduled for Tuesday" {
		t.Errorf("public notes %q", notes)
	}
	all, err := c.History(ctx, r.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if last := all[len(all)-1]; last.Note != "crew scheduled for Tuesday" || last.Actor != by.Name || !last.Public {
		t.Errorf("the staff history ends with %+v", last)
	}
	// A change nobody signed is the system's.
	if err := c.ChangeStatus(ctx, r.ID, core.StatusChange{To: core.StatusAcknowledged}); err != nil {
		t.Fatal(err)
	}
	if all, err := c.History(ctx, r.ID, false); err != nil || all[len(all)-1].Actor != "system" {
		t.Errorf("an unsigned change: %+v, %v", all, err)
	}
}

// A bounce pauses mail to the address; a channel's secret is made once
// and then the same for every instance, under each name its own.
func TestBouncingAndSecrets(t *testing.T) {
	t.Parallel()
	c, r := filedPothole(t)
	ctx := context.Background()
	var invalid *core.ValidationError
	if err := c.MarkBouncing(ctx, "not an address", "550 no such user"); !errors.As(err, &invalid) {
		t.Errorf("a bounce for no address: %v", err)
	}
	if err := c.MarkBouncing(ctx, "nobody@example.com", "550 no such user"); err != nil {
		t.Errorf("a bounce for an address the city does not know: %v", err)
	}
	if err := c.MarkBouncing(ctx, "ANA@example.com", "550 mailbox full"); err != nil {
		t.Fatal(err)
	}
	if ct, err := c.Contact(ctx, *r.ContactID); err != nil || !ct.Bouncing {
		t.Errorf("the contact after a bounce: %+v, %v", ct, err)
	}

	a, err := core.Secret(ctx, c.Pool(), "mail")
	if err != nil {
		t.Fatal(err)
	}
	again, err := core.Secret(ctx, c.Pool(), "mail")
	if err != nil {
		t.Fatal(err)
	}
	other, err := core.Secret(ctx, c.Pool(), "voice")
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 32 || !bytes.Equal(a, again) || bytes.Equal(a, other) {
		t.Errorf("secrets %x, %x, %x: want one of 32 bytes per name", a, again, other)
	}
}

// Duplicates: never of itself, of a request that is itself a duplicate,
// or once closed; a request's own duplicates follow it to its parent,
// and its history says which request it duplicates.
func TestDuplicateRules(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) {
		o.Workers = 0
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: &fakeSender{}}
	})
	ctx := context.Background()
	staff := core.Actor{Name: "dispatcher@oroville.test"}
	var ids []int64
	for i := range 5 {
		r, err := c.CreateRequest(ctx, newPothole(fmt.Sprintf("ana%d@example.com", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	a, b, p, closed, other := ids[0], ids[1], ids[2], ids[3], ids[4]
	if err := c.MarkDuplicate(ctx, a, a, staff); !errors.Is(err, core.ErrTransition) {
		t.Errorf("a duplicate of itself: %v", err)
	}
	if err := c.MarkDuplicate(ctx, a, 999999, staff); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a duplicate of no request: %v", err)
	}
	// The later request b duplicates the earlier a; then a, the earlier,
	// duplicates the later p, and b follows.
	before, err := c.Request(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MarkDuplicate(ctx, b, a, staff); err != nil {
		t.Fatal(err)
	}
	if after, err := c.Request(ctx, a); err != nil || !after.UpdatedAt.After(before.UpdatedAt) {
		t.Errorf("the parent that gained a report reads as unchanged since %s: %+v, %v", before.UpdatedAt, after, err)
	}
	// b's reporter hears that it is tracked as a, in their own thread.
	ms, err := c.Messages(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if last := ms[len(ms)-1]; last.Direction != "out" ||
		!strings.Contains(last.Body, fmt.Sprintf("Others reported the same issue as your report #%d", b)) ||
		!strings.Contains(last.Body, fmt.Sprintf("as #%d", a)) {
		t.Errorf("the duplicate's reporter was told %+v", last)
	}
	if err := c.MarkDuplicate(ctx, other, b, staff); !errors.Is(err, core.ErrTransition) {
		t.Errorf("a duplicate of a duplicate: %v", err)
	}
	if err := c.MarkDuplicate(ctx, a, p, staff); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{a, b} {
		r, err := c.Request(ctx, id)
		if err != nil || r.DuplicateOf == nil || *r.DuplicateOf != p || r.Status != core.StatusClosed {
			t.Errorf("request %d: %+v, %v; want a closed duplicate of %d", id, r, err, p)
		}
	}
	if r, err := c.Request(ctx, p); err != nil || r.Reports != 3 || r.Status == core.StatusClosed {
		t.Errorf("the parent %+v, %v; want three reports, open", r, err)
	}
	hist, err := c.History(ctx, a, true)
	if err != nil {
		t.Fatal(err)
	}
	if last := hist[len(hist)-1]; last.To != core.StatusClosed || last.CloseReason != core.ReasonDuplicate ||
		last.Note != fmt.Sprintf("Same issue as request #%d.", p) {
		t.Errorf("the duplicate's public history ends with %+v", last)
	}
	if err := c.ChangeStatus(ctx, closed, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved}); err != nil {
		t.Fatal(err)
	}
	if err := c.MarkDuplicate(ctx, closed, p, staff); !errors.Is(err, core.ErrTransition) {
		t.Errorf("a closed request as a duplicate: %v", err)
	}
}

// How well townline read residents' words: of the reports made in words,
// those it gave a service, and those staff moved to another; a request
// staff took out of triage is not counted as read wrong, nor is one filed
// by an Open311 client.
func TestClassificationFigures(t *testing.T) {
	t.Parallel()
	c := filingCore(t)
	ctx := context.Background()
	desk, err := c.AddUser(ctx, "desk@oroville.test", "dispatcher", "", "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	by := core.Actor{UserID: &desk.ID, Name: desk.Email}
	mail := func(id, subject, text string) int64 {
		t.Helper()
		res, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: id + "@example.com", To: "311@example.gov",
			Subject: subject, Text: text, ProviderID: "<" + id + "@example.com>"})
		if err != nil {
			t.Fatal(err)
		}
		return res.RequestID
	}
	wrong := mail("wrong", "Pothole", "A pothole at 1735 Montgomery Street.")
	mail("right", "Streetlight", "The streetlight is out at 1520 Myers Street.")
	triage := mail("triage", "Hello", "Something needs looking at near my house.")
	if err := c.Reclassify(ctx, wrong, "sign", "", by); err != nil {
		t.Fatal(err)
	}
	if err := c.Reclassify(ctx, triage, "pothole", "", by); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRequest(ctx, newPothole("client@example.com")); err != nil {
		t.Fatal(err)
	}
	got, err := c.Classification(ctx, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := []core.Classified{{Channel: core.ChannelEmail, Requests: 3, Classified: 2, Corrected: 1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("classification %+v, want %+v", got, want)
	}
}
