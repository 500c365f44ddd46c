package core_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

// Each department with an address gets one digest a day: its overdue
// requests, those due today and those new since yesterday.
func TestDigest(t *testing.T) {
	t.Parallel()
	mail := &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) {
		o.Workers = 0
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: mail}
	})
	ctx := context.Background()
	la := c.City().Location
	y, m, d := time.Now().In(la).Date()
	now := time.Date(y, m, d, 9, 0, 0, 0, la)
	file := func(expected, requested time.Time) int64 {
		t.Helper()
		r, err := c.CreateRequest(ctx, newPothole(""))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Pool().Exec(ctx, `UPDATE requests SET expected_at = $2, requested_at = $3 WHERE id = $1`,
			r.ID, expected, requested); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	old := now.AddDate(0, 0, -3)
	overdue := file(now.Add(-time.Hour), old)
	today := file(now.Add(6*time.Hour), old)
	fresh := file(now.AddDate(0, 0, 3), now.Add(-time.Hour))
	file(now.AddDate(0, 0, 3), old) // neither: not listed

	if err := c.SendDigests(ctx, now); err != nil {
		t.Fatal(err)
	}
	sent, _ := mail.Sent()
	var pw *core.Outbound
	for i := range sent {
		if sent[i].To == "publicworks@cityoforoville.org" {
			pw = &sent[i]
		}
	}
	departments := 0
	for _, dep := range c.City().Departments {
		if dep.Email != "" {
			departments++
		}
	}
	if pw == nil || len(sent) != departments {
		t.Fatalf("sent %d digests, want one to each of the %d departments with an address, Public Works' among them", len(sent), departments)
	}
	if pw.Subject != "Public Works 311 digest: 1 overdue, 1 due today, 1 new" {
		t.Errorf("subject %q", pw.Subject)
	}
	sections := map[string]int64{"Overdue: 1": overdue, "Due today: 1": today, "New since yesterday: 1": fresh}
	for head, id := range sections {
		i := strings.Index(pw.Body, head)
		if i < 0 || !strings.HasPrefix(strings.TrimSpace(pw.Body[i+len(head):]), fmt.Sprintf("#%d Pothole", id)) {
			t.Errorf("the digest does not list #%d under %q:\n%s", id, head, pw.Body)
		}
	}
	// Each line: the number, the service, where, when due, the staff page.
	line := fmt.Sprintf("  #%d Pothole, Montgomery St & Myers St — due %s\n    http://311.test/staff/requests/%d\n",
		overdue, now.Add(-time.Hour).Format("Mon Jan 2, 3:04 PM"), overdue)
	if !strings.Contains(pw.Body, line) {
		t.Errorf("the digest has no line %q:\n%s", line, pw.Body)
	}
	if strings.Contains(pw.Body, "Ana Reyes") || strings.Contains(pw.Body, "@example") {
		t.Errorf("the digest names a reporter:\n%s", pw.Body)
	}

	// Once a day, however often the job runs; the next day, again.
	if err := c.SendDigests(ctx, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if again, _ := mail.Sent(); len(again) != departments {
		t.Errorf("a second run the same day sent %d more", len(again)-departments)
	}
	if err := c.SendDigests(ctx, now.AddDate(0, 0, 1)); err != nil {
		t.Fatal(err)
	}
	if next, _ := mail.Sent(); len(next) != 2*departments {
		t.Errorf("the next day sent %d, want %d", len(next)-departments, departments)
	}
	// A job retried after sending some departments' digests sends the
	// others' (here Public Works' went out before).
	third := now.AddDate(0, 0, 2)
	if err := c.SetChannelState(ctx, "digest:public-works:"+third.Format(time.DateOnly), "sent"); err != nil {
		t.Fatal(err)
	}
	if err := c.SendDigests(ctx, third); err != nil {
		t.Fatal(err)
	}
	if all, _ := mail.Sent(); len(all) != 3*departments-1 {
		t.Errorf("the retried job sent %d, want the %d departments but Public Works", len(all)-2*departments, departments-1)
	}
}

// The schedule marks each request that went past its due time, once,
// with a note in its history; a new service's due time clears the mark.
func TestMarkOverdue(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	la := c.City().Location
	file := func(expected time.Time) int64 {
		t.Helper()
		r, err := c.CreateRequest(ctx, newPothole(""))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Pool().Exec(ctx, `UPDATE requests SET expected_at = $2 WHERE id = $1`, r.ID, expected); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	due := time.Date(2026, time.March, 2, 17, 0, 0, 0, la) // a Monday, 5 pm in Oroville
	late, onTime := file(due), file(time.Now().Add(time.Hour))
	closed := file(due)
	if err := c.ChangeStatus(ctx, closed, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved, By: core.Actor{Name: "test"}}); err != nil {
		t.Fatal(err)
	}
	marks := func(id int64) (n int) {
		t.Helper()
		hist, err := c.History(ctx, id, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range hist {
			if strings.HasPrefix(e.Note, "Overdue") {
				if e.Note != "Overdue: it was due Mon Mar 2, 5:00 PM." || e.Public {
					t.Errorf("#%d: %q (public %v), want the due time in the city's time, for staff", id, e.Note, e.Public)
				}
				n++
			}
		}
		return n
	}
	for range 2 {
		if err := c.MarkOverdue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if marks(late) != 1 || marks(onTime) != 0 || marks(closed) != 0 {
		t.Errorf("marks: late %d, on time %d, closed %d; want 1, 0, 0", marks(late), marks(onTime), marks(closed))
	}
	// Another service, another due time: overdue again only when it passes.
	if err := c.Reclassify(ctx, late, "sign", "", core.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pool().Exec(ctx, `UPDATE requests SET expected_at = $2 WHERE id = $1`, late, due); err != nil {
		t.Fatal(err)
	}
	if err := c.MarkOverdue(ctx); err != nil {
		t.Fatal(err)
	}
	if n := marks(late); n != 2 {
		t.Errorf("after a new due time passed: %d marks, want 2", n)
	}
}
