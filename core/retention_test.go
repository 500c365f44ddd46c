package core_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"townline/core"
)

// Two years after their last request closed, a reporter's details are
// forgotten; the request, its public history and the count of people who
// reported the issue stay. A reporter with a request still open, or
// closed lately, keeps theirs.
func TestRetention(t *testing.T) {
	t.Parallel()
	c := filingCore(t)
	ctx := context.Background()
	file := func(email string) core.Request {
		t.Helper()
		r, err := c.CreateRequest(ctx, newPothole(email))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	closeAt := func(r core.Request, at time.Time) {
		t.Helper()
		if err := c.ChangeStatus(ctx, r.ID, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved,
			Note: "Filled.", Public: true, By: core.Actor{Name: "test"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Pool().Exec(ctx, `UPDATE requests SET closed_at = $2 WHERE id = $1`, r.ID, at); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	longAgo := now.Add(-core.DefaultRetention - 24*time.Hour)
	if _, err := c.Pool().Exec(ctx, `UPDATE contacts SET created_at = $1`, longAgo); err != nil {
		t.Fatal(err)
	}
	old := file("old@example.com")
	closeAt(old, longAgo)
	recent := file("recent@example.com")
	closeAt(recent, now.Add(-24*time.Hour))
	mixed := file("mixed@example.com")
	closeAt(mixed, longAgo)
	open := file("mixed@example.com") // the same person, still waiting
	if _, err := c.Pool().Exec(ctx, `UPDATE contacts SET created_at = $1`, longAgo); err != nil {
		t.Fatal(err)
	}

	n, err := c.PurgeContacts(ctx, now)
	if err != nil || n != 1 {
		t.Fatalf("PurgeContacts = %d, %v; want the one reporter whose requests all closed two years ago", n, err)
	}
	for _, tc := range []struct {
		r    core.Request
		kept bool
	}{{old, false}, {recent, true}, {mixed, true}, {open, true}} {
		r, err := c.Request(ctx, tc.r.ID)
		if err != nil || r.ContactID == nil {
			t.Fatalf("request #%d: %+v, %v: the request and its contact must stay", tc.r.ID, r, err)
		}
		ct, err := c.Contact(ctx, *r.ContactID)
		if err != nil {
			t.Fatal(err)
		}
		if kept := ct.Email != "" && ct.Name != ""; kept != tc.kept {
			t.Errorf("request #%d's reporter %q %q: kept %v, want %v", tc.r.ID, ct.Name, ct.Email, kept, tc.kept)
		}
		if !tc.kept && (r.Reports != 1 || r.StatusNotes != "Filled." || !strings.Contains(r.Description, "pothole")) {
			t.Errorf("the purged reporter's request changed: %d reports, note %q, %q", r.Reports, r.StatusNotes, r.Description)
		}
	}
	if n, err := c.PurgeContacts(ctx, now); err != nil || n != 0 {
		t.Errorf("again: %d, %v; want nothing more", n, err)
	}
}
