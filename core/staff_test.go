package core_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"townline/core"
	"townline/internal/testenv"
)

// Staff see and act on their departments' requests only; dispatchers and
// admins see every one, the triage queue's too.
func TestCanSee(t *testing.T) {
	t.Parallel()
	works := core.Request{Department: "public-works"}
	triage := core.Request{}
	for _, tc := range []struct {
		u              core.User
		works, triaged bool
	}{
		{core.User{Role: "staff", Departments: []string{"public-works"}}, true, false},
		{core.User{Role: "staff", Departments: []string{"parks-trees"}}, false, false},
		{core.User{Role: "staff"}, false, false},
		{core.User{Role: "dispatcher"}, true, true},
		{core.User{Role: "admin"}, true, true},
	} {
		if got := tc.u.CanSee(works); got != tc.works {
			t.Errorf("%+v sees a public works request: %v", tc.u, got)
		}
		if got := tc.u.CanSee(triage); got != tc.triaged {
			t.Errorf("%+v sees a request in triage: %v", tc.u, got)
		}
	}
}

// A request and its files are hidden, as if they did not exist, from
// staff of other departments; its public photo is anyone's to see.
func TestStaffRequestAndAttachments(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	photo, err := c.Blobs().Put(bytes.NewReader(testPNG(t)))
	if err != nil {
		t.Fatal(err)
	}
	in := newPothole("ana@example.com")
	in.Photos = []core.Upload{{Blob: photo, Filename: "hole.png"}}
	r, err := c.CreateRequest(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.CreateRequest(ctx, newPothole("ana@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	as, err := c.Attachments(ctx, r.ID)
	if err != nil || len(as) != 1 || as[0].RequestID != r.ID || as[0].SHA256 != photo.SHA256 || !as[0].Public {
		t.Fatalf("attachments %+v, %v", as, err)
	}
	if p, err := c.PublicPhoto(ctx, as[0].ID); err != nil || p.ID != as[0].ID || p.SHA256 != photo.SHA256 {
		t.Errorf("the public photo: %+v, %v", p, err)
	}
	if _, err := c.PublicPhoto(ctx, 999999); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("no photo: %v", err)
	}
	works := core.User{ID: 1, Role: "staff", Departments: []string{"public-works"}}
	parks := core.User{ID: 2, Role: "staff", Departments: []string{"parks-trees"}}
	if got, err := c.StaffRequest(ctx, works, r.ID); err != nil || got.ID != r.ID {
		t.Errorf("public works staff: %+v, %v", got, err)
	}
	if got, err := c.StaffAttachment(ctx, works, as[0].ID); err != nil || got.ID != as[0].ID || got.Filename != "hole.png" {
		t.Errorf("public works staff, the photo: %+v, %v", got, err)
	}
	if _, err := c.StaffRequest(ctx, parks, r.ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("parks staff: %v", err)
	}
	if _, err := c.StaffAttachment(ctx, parks, as[0].ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("parks staff, the photo: %v", err)
	}
	if _, err := c.StaffRequest(ctx, works, 999999); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("no request: %v", err)
	}
	if _, err := c.StaffAttachment(ctx, works, 999999); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("no attachment: %v", err)
	}

	// The reporter's requests, newest first.
	rs, err := c.ContactRequests(ctx, *r.ContactID)
	if err != nil || len(rs) != 2 || rs[0].ID != second.ID || rs[1].ID != r.ID {
		t.Errorf("the reporter's requests: %+v, %v", rs, err)
	}
}

// The lifecycle's moves, each with the reasons it takes.
func TestCheckTransition(t *testing.T) {
	t.Parallel()
	const (
		n, a, p, c = core.StatusNew, core.StatusAcknowledged, core.StatusInProgress, core.StatusClosed
	)
	for _, tc := range []struct {
		from, to core.Status
		reason   core.CloseReason
		ok       bool
	}{
		{n, a, "", true}, {n, p, "", true}, {n, c, core.ReasonResolved, true}, {n, n, "", false},
		{a, p, "", true}, {a, c, core.ReasonNoAction, true}, {a, n, "", false}, {a, a, "", false},
		{p, c, core.ReasonReferred, true}, {p, a, "", false}, {p, n, "", false}, {p, p, "", false},
		{c, p, "", true}, {c, c, core.ReasonResolved, false}, {c, a, "", false},
		{n, c, "", false}, {n, c, core.ReasonDuplicate, false}, {n, c, "fixed", false}, {n, a, core.ReasonResolved, false},
	} {
		err := core.CheckTransition(tc.from, tc.to, tc.reason)
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, core.ErrTransition) {
			t.Errorf("%s -> %s (%q): %v, want allowed %v", tc.from, tc.to, tc.reason, err, tc.ok)
		}
	}
}

// Assigning says in the history where the request went and to whom; an
// assignment that changes nothing adds nothing.
func TestAssign(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	pat, err := c.AddAccount(ctx, core.NewAccount{Email: "pat@oroville.test", Name: "Pat", Role: "staff",
		Departments: []string{"public-works"}, Password: "correct horse battery"}, core.CommandLine)
	if err != nil {
		t.Fatal(err)
	}
	lee, err := c.AddAccount(ctx, core.NewAccount{Email: "lee@oroville.test", Role: "staff",
		Departments: []string{"public-works"}, Password: "correct horse battery"}, core.CommandLine)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.CreateRequest(ctx, newPothole(""))
	if err != nil {
		t.Fatal(err)
	}
	by := core.Actor{Name: "dispatcher@oroville.test"}
	notes := func() []string {
		t.Helper()
		hs, err := c.History(ctx, r.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range hs {
			if strings.HasPrefix(e.Note, "assigned") {
				out = append(out, e.Actor+" "+e.Department+": "+e.Note)
			}
		}
		return out
	}
	steps := []struct {
		department string
		assignee   *int64
	}{
		{"public-works", &pat.ID},
		{"public-works", &pat.ID}, // again: nothing changes
		{"public-works", &lee.ID},
		{"public-works", nil},
		{"", nil},
		{"", nil},
	}
	for _, s := range steps {
		if err := c.Assign(ctx, r.ID, s.department, s.assignee, by); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Assign(ctx, r.ID, "public-works", nil, core.Actor{}); err != nil { // routing, say
		t.Fatal(err)
	}
	const d = "dispatcher@oroville.test "
	want := []string{d + "public-works: assigned to public-works, Pat", d + "public-works: assigned to public-works, lee@oroville.test",
		d + "public-works: assigned to public-works", d + ": assigned to the triage queue", "system public-works: assigned to public-works"}
	if got := notes(); !slices.Equal(got, want) {
		t.Errorf("history %q\nwant %q", got, want)
	}
	if got, err := c.Request(ctx, r.ID); err != nil || got.Department != "public-works" || got.AssigneeID != nil {
		t.Errorf("back to Public Works from triage: %+v, %v", got, err)
	}
	var invalid *core.ValidationError
	if err := c.Assign(ctx, r.ID, "nope", nil, by); !errors.As(err, &invalid) {
		t.Errorf("an unknown department: %v", err)
	}
	if err := c.SetDisabled(ctx, lee.ID, true, core.CommandLine); err != nil {
		t.Fatal(err)
	}
	if err := c.Assign(ctx, r.ID, "public-works", &lee.ID, by); !errors.As(err, &invalid) {
		t.Errorf("a disabled assignee: %v", err)
	}
	if err := c.Assign(ctx, 999999, "public-works", nil, by); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("no request: %v", err)
	}
	if got := notes(); len(got) != len(want) {
		t.Errorf("refused assignments changed the history: %q", got)
	}
}

// Open311 counts every status but closed as open.
func TestStatusOpen(t *testing.T) {
	t.Parallel()
	for s, open := range map[core.Status]bool{core.StatusNew: true, core.StatusAcknowledged: true,
		core.StatusInProgress: true, core.StatusClosed: false} {
		if s.Open() != open {
			t.Errorf("%s open: %v", s, s.Open())
		}
	}
}
