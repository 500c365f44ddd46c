package core_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"townline/core"
	"townline/internal/testenv"
)

// A city's history comes in as it was: each request at its own time and
// status, joined to the same issue only among the requests open at that
// time, due by the hours of its day, told to no one, and filed once
// however often it is imported.
func TestImport(t *testing.T) {
	t.Parallel()
	c := filingCore(t)
	ctx := context.Background()
	loc := c.City().Location
	day := func(d, h int) time.Time { return time.Date(2025, time.March, d, h, 0, 0, 0, loc) }
	// A spot of its own: other tests of this package file near downtown.
	lat, lng := 39.5010, -121.5620
	near := func(meters float64) (*float64, *float64) { return ptr(lat + meters/111_000), ptr(lng) }
	file := func(in core.Imported) core.Request {
		t.Helper()
		r, filed, err := c.Import(ctx, in)
		if err != nil || !filed {
			t.Fatalf("import %s: filed %v, %v", in.Source, filed, err)
		}
		if r, err = c.Request(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		return r
	}
	pothole := func(source string, at time.Time, meters float64) core.Imported {
		in := core.Imported{Source: source, At: at, NewRequest: core.NewRequest{ServiceCode: "pothole",
			Description: "Pothole", Reporter: core.Reporter{Email: strings.ReplaceAll(source, ":", "-") + "@example.com"}}}
		in.Lat, in.Lng = near(meters)
		return in
	}

	// Monday 3 March, 9 am: fixed Wednesday at 2 pm.
	first := pothole("old:1", day(3, 9), 0)
	first.Status, first.Changed, first.Notes = core.StatusClosed, day(5, 14), "Patched."
	a := file(first)
	if !a.RequestedAt.Equal(day(3, 9)) || a.ClosedAt == nil || !a.ClosedAt.Equal(day(5, 14)) ||
		a.Status != core.StatusClosed || a.CloseReason != core.ReasonResolved || a.StatusNotes != "Patched." {
		t.Errorf("the first: requested %v, %s (%s) at %v, %q; want its own times, closed resolved, with its note",
			a.RequestedAt, a.Status, a.CloseReason, a.ClosedAt, a.StatusNotes)
	}
	if want := c.City().Due(day(3, 9), mustService(t, c, "pothole")); a.ExpectedAt == nil || !a.ExpectedAt.Equal(*want) {
		t.Errorf("due %v, want %v: counted from when it was requested", a.ExpectedAt, want)
	}
	if a.Channel != core.ChannelImport || a.Department != "public-works" {
		t.Errorf("channel %s, department %q; want import, routed to public-works", a.Channel, a.Department)
	}
	hist, err := c.History(ctx, a.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || !hist[0].At.Equal(day(3, 9)) || hist[1].To != core.StatusClosed || !hist[1].At.Equal(day(5, 14)) ||
		hist[0].Actor != "import" || hist[1].Actor != "import" {
		t.Errorf("history %+v, want filed on the 3rd and closed on the 5th, by the import", hist)
	}
	// Closed, no time said: closed when it was made.
	undated := pothole("old:0", day(2, 9), 300)
	undated.Status = core.StatusClosed
	if r := file(undated); r.Status != core.StatusClosed || r.ClosedAt == nil || !r.ClosedAt.Equal(day(2, 9)) {
		t.Errorf("closed without a time: %s at %v, want closed on the 2nd", r.Status, r.ClosedAt)
	}

	// Tuesday, 20 m away: the first was open then, so this joins it.
	b := file(pothole("old:2", day(4, 10), 20))
	if b.DuplicateOf == nil || *b.DuplicateOf != a.ID || b.ClosedAt == nil || !b.ClosedAt.Equal(day(4, 10)) {
		t.Errorf("the second: duplicate of %v, closed at %v; want joined to #%d on the 4th", b.DuplicateOf, b.ClosedAt, a.ID)
	}
	if a, _ = c.Request(ctx, a.ID); a.Reports != 2 || a.UpdatedAt.After(day(5, 14)) {
		t.Errorf("the issue: %d reporters, updated %v; want 2, still last changed when it closed", a.Reports, a.UpdatedAt)
	}
	// Thursday: the first was fixed the day before, so a new issue.
	if d := file(pothole("old:3", day(6, 8), 10)); d.DuplicateOf != nil || d.Status != core.StatusNew {
		t.Errorf("after the fix: %s, duplicate of %v; want a new open request", d.Status, d.DuplicateOf)
	}
	// Nobody hears about history.
	for _, id := range []int64{a.ID, b.ID} {
		if out := outbound(t, c, id); len(out) != 0 {
			t.Errorf("#%d: %d messages queued, want none", id, len(out))
		}
	}

	// Again: nothing new.
	before := countRequests(t, c)
	if r, filed, err := c.Import(ctx, first); err != nil || filed || r.ID != a.ID {
		t.Errorf("imported again: #%d, filed %v, %v; want #%d, not filed", r.ID, filed, err, a.ID)
	}
	if after := countRequests(t, c); after != before {
		t.Errorf("importing again made %d requests", after-before)
	}

	// A service the city names otherwise is classified; one nobody can
	// tell waits for staff.
	kind := core.Imported{Source: "old:4", At: day(7, 9), ServiceName: "Pot hole repair",
		NewRequest: core.NewRequest{ServiceCode: "PTH-01"}}
	if r := file(kind); r.ServiceCode != "pothole" {
		t.Errorf("%q: service %q, want pothole", kind.ServiceName, r.ServiceCode)
	}
	if r := file(core.Imported{Source: "old:5", At: day(7, 9), ServiceName: "Misc"}); r.ServiceCode != "" || r.Department != "" {
		t.Errorf("unclassifiable: service %q, department %q; want the triage queue", r.ServiceCode, r.Department)
	}

	// What cannot be history: each refused with its field, nothing filed.
	before = countRequests(t, c)
	far := pothole("old:6", day(8, 9), 0)
	far.Lat, far.Lng = ptr(40.7), ptr(-74.0)
	backwards := pothole("old:7", day(8, 9), 0)
	backwards.Status, backwards.Changed = core.StatusClosed, day(7, 9)
	for _, tc := range []struct {
		in    core.Imported
		field string
	}{
		{pothole("", day(8, 9), 0), "id"},
		{pothole("old:8", time.Time{}, 0), "requested_datetime"},
		{pothole("old:9", time.Now().Add(time.Hour), 0), "requested_datetime"},
		{far, "lat"},
		{backwards, "updated_datetime"},
		{core.Imported{Source: "old:10", At: day(8, 9), Status: "lost"}, "status"},
	} {
		_, filed, err := c.Import(ctx, tc.in)
		var bad *core.ValidationError
		if filed || !errors.As(err, &bad) || bad.Field != tc.field {
			t.Errorf("import %+v: filed %v, %v; want refused for %s", tc.in, filed, err, tc.field)
		}
	}
	if after := countRequests(t, c); after != before {
		t.Errorf("refused rows made %d requests", after-before)
	}
}

func mustService(t *testing.T, c *core.Core, code string) core.Service {
	t.Helper()
	s, ok := c.City().Service(code)
	if !ok {
		t.Fatalf("no service %s", code)
	}
	return s
}

func countRequests(t *testing.T, c *core.Core) int {
	t.Helper()
	var n int
	if err := c.Pool().QueryRow(context.Background(), "SELECT count(*) FROM requests").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The city's history is not news: imported requests are not counted
// among the requests created (townline_requests_created_total); a new
// one is.
func TestImportIsNotCounted(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c.Metrics().Collectors()...)
	created := func() float64 {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var n float64
		for _, f := range families {
			if f.GetName() == "townline_requests_created_total" {
				for _, m := range f.GetMetric() {
					n += m.GetCounter().GetValue()
				}
			}
		}
		return n
	}
	in := core.Imported{Source: "old:1", At: time.Now().AddDate(0, -2, 0), NewRequest: newPothole("")}
	if _, _, err := c.Import(ctx, in); err != nil {
		t.Fatal(err)
	}
	if n := created(); n != 0 {
		t.Errorf("%v created after an import, want 0", n)
	}
	if _, err := c.CreateRequest(ctx, newPothole("")); err != nil {
		t.Fatal(err)
	}
	if n := created(); n != 1 {
		t.Errorf("%v created after a new request, want 1", n)
	}
}
