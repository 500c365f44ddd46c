package core_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

var (
	dispatcher = core.User{ID: 1, Role: "dispatcher"}
	parksStaff = core.User{ID: 2, Role: "staff", Departments: []string{"parks-trees"}}
	roadsStaff = core.User{ID: 3, Role: "staff", Departments: []string{"public-works"}}
)

// file creates a request for the inbox tests.
func file(t *testing.T, c *core.Core, service, description string, reporter core.Reporter) core.Request {
	t.Helper()
	r, err := c.CreateRequest(context.Background(), core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: service,
		Description: description, Address: "1735 Montgomery Street", Reporter: reporter})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// inboxIDs returns the ids of every page of a view, following the cursors.
func inboxIDs(t *testing.T, c *core.Core, u core.User, q core.InboxQuery) []int64 {
	t.Helper()
	var ids []int64
	for range 100 {
		rs, next, err := c.Inbox(context.Background(), u, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
		if next == nil {
			return ids
		}
		q.After = next
	}
	t.Fatal("more than 100 pages")
	return nil
}

func TestInboxSearch(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) {
		o.Workers = 0 // replies wait, queued
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: &fakeSender{}}
	})
	ctx := context.Background()
	ana := core.Reporter{Name: "Ana", Email: "ana@example.com"}
	light := file(t, c, "streetlight", "Broken streetlights flickering all night", core.Reporter{})
	trees := file(t, c, "tree", "Hay árboles caídos en el parque", core.Reporter{})
	quiet := file(t, c, "pothole", "A hole", ana) // found only by its later messages
	graffiti := file(t, c, "graffiti-public", "Graffiti on the library wall", core.Reporter{})
	graffitiClosed := file(t, c, "graffiti-public", "More graffiti by the bridge", core.Reporter{})
	if err := c.ChangeStatus(ctx, graffitiClosed.ID, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved}); err != nil {
		t.Fatal(err)
	}
	// A later message from the resident in Spanish, and a reply in English.
	if _, err := c.Pool().Exec(ctx, `INSERT INTO messages (request_id, contact_id, direction, channel, body, state)
		VALUES ($1, $2, 'in', 'email', 'Los mapaches volvieron anoche', 'received')`, quiet.ID, *quiet.ContactID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Reply(ctx, quiet.ID, "", "The raccoon trappers come on Tuesday.", core.Actor{Name: "desk@oroville.test"}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		u      core.User
		q      core.InboxQuery
		want   []int64
		orNone bool
	}{
		{name: "English words, stemmed, in a description", u: dispatcher,
			q: core.InboxQuery{Queue: "all", Search: "streetlight flicker"}, want: []int64{light.ID}},
		{name: "Spanish words, stemmed, in a description", u: dispatcher,
			q: core.InboxQuery{Queue: "all", Search: "árbol caído"}, want: []int64{trees.ID}},
		{name: "Spanish words in a later message", u: dispatcher,
			q: core.InboxQuery{Queue: "all", Search: "volver"}, want: []int64{quiet.ID}},
		{name: "English words in a staff reply", u: dispatcher,
			q: core.InboxQuery{Queue: "all", Search: "trapper"}, want: []int64{quiet.ID}},
		{name: "a phrase", u: dispatcher,
			q: core.InboxQuery{Queue: "all", Search: `"library wall"`}, want: []int64{graffiti.ID}},
		{name: "words in no request", u: dispatcher,
			q: core.InboxQuery{Queue: "all", Search: "volcano"}, want: nil},
		{name: "a request number with #", u: dispatcher,
			q: core.InboxQuery{Queue: "all", Search: fmt.Sprintf("#%d", trees.ID)}, want: []int64{trees.ID}},
		{name: "a bare request number", u: dispatcher,
			q: core.InboxQuery{Queue: "all", Search: fmt.Sprint(light.ID)}, want: []int64{light.ID}},
		{name: "with a status filter", u: dispatcher,
			q: core.InboxQuery{Queue: "all", Search: "graffiti", Status: core.StatusClosed}, want: []int64{graffitiClosed.ID}},
		{name: "within a queue", u: dispatcher,
			q: core.InboxQuery{Queue: "unassigned", Search: "graffiti"}, want: []int64{graffiti.ID}},
		{name: "with a service filter", u: dispatcher,
			q: core.InboxQuery{Queue: "all", Search: "graffiti OR árbol", Service: "tree"}, want: []int64{trees.ID}},
		{name: "either word", u: dispatcher,
			q: core.InboxQuery{Queue: "all", Search: "library or árbol", Sort: "oldest"}, want: []int64{trees.ID, graffiti.ID}},
		{name: "Parks finds its own", u: parksStaff,
			q: core.InboxQuery{Queue: "all", Search: "árbol"}, want: []int64{trees.ID}},
		{name: "Parks never finds Public Works' by words", u: parksStaff,
			q: core.InboxQuery{Queue: "all", Search: "streetlight"}, want: nil},
		{name: "Parks never finds Public Works' in messages", u: parksStaff,
			q: core.InboxQuery{Queue: "all", Search: "mapache"}, want: nil},
		{name: "Parks never finds Public Works' by number", u: parksStaff,
			q: core.InboxQuery{Queue: "all", Search: fmt.Sprintf("#%d", light.ID)}, want: nil},
		{name: "Public Works finds it by number", u: roadsStaff,
			q: core.InboxQuery{Queue: "departments", Search: fmt.Sprintf("#%d", light.ID)}, want: []int64{light.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := inboxIDs(t, c, tt.u, tt.q)
			if !slices.Equal(got, tt.want) {
				t.Errorf("search %q: %v, want %v", tt.q.Search, got, tt.want)
			}
		})
	}

	if _, _, err := c.Inbox(ctx, dispatcher, core.InboxQuery{Queue: "all", Search: string(make([]byte, core.MaxSearch+1))}); err == nil {
		t.Error("a search longer than MaxSearch was taken")
	}
}

// Each order, page after page: every request once, in the order's place,
// including ties on the sort key and requests with no expected date.
func TestInboxSorts(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	type row struct {
		id                   int64
		requested            time.Time
		expected             *time.Time
		description, service string
	}
	var rows []row
	for i := range 13 {
		r := row{requested: base.Add(time.Duration(i/3) * time.Hour), description: fmt.Sprint("lamp ", i), service: "streetlight"}
		switch i % 4 {
		case 0:
			// no expected date
		case 1, 2:
			e := base.Add(time.Duration(i%5) * 24 * time.Hour) // ties
			r.expected = &e
		case 3:
			e := base.Add(-time.Duration(i) * time.Hour)
			r.expected = &e
		}
		if i%5 == 0 {
			r.service = "pothole"
		}
		rows = append(rows, r)
	}
	// Filed in an order unlike any of the sorts.
	for _, i := range []int{7, 2, 12, 0, 9, 4, 11, 1, 6, 10, 3, 8, 5} {
		rows[i].id = file(t, c, rows[i].service, rows[i].description, core.Reporter{}).ID
		if _, err := c.Pool().Exec(ctx, `UPDATE requests SET requested_at = $2, expected_at = $3 WHERE id = $1`,
			rows[i].id, rows[i].requested, rows[i].expected); err != nil {
			t.Fatal(err)
		}
	}
	byID := func(a, b row) int { return cmp.Compare(a.id, b.id) }
	sorted := func(less func(a, b row) int) []int64 {
		rs := slices.Clone(rows)
		slices.SortFunc(rs, less)
		ids := make([]int64, len(rs))
		for i, r := range rs {
			ids[i] = r.id
		}
		return ids
	}
	due := func(a, b row) int {
		switch {
		case a.expected == nil && b.expected == nil:
			return byID(a, b)
		case a.expected == nil:
			return 1
		case b.expected == nil:
			return -1
		}
		return cmp.Or(a.expected.Compare(*b.expected), byID(a, b))
	}
	want := map[string][]int64{
		"newest": sorted(func(a, b row) int { return cmp.Or(b.requested.Compare(a.requested), byID(b, a)) }),
		"oldest": sorted(func(a, b row) int { return cmp.Or(a.requested.Compare(b.requested), byID(a, b)) }),
		"due":    sorted(due),
	}
	want[""] = want["newest"]
	for sort, ids := range want {
		for _, limit := range []int{1, 3, 4, 13, 50} {
			got := inboxIDs(t, c, dispatcher, core.InboxQuery{Queue: "all", Sort: sort, Limit: limit})
			if !slices.Equal(got, ids) {
				t.Errorf("sort %q, %d a page:\n got %v\nwant %v", sort, limit, got, ids)
			}
		}
	}
	// A search pages the same way.
	var lamps []int64
	for _, id := range want["due"] {
		if i := slices.IndexFunc(rows, func(r row) bool { return r.id == id }); rows[i].service == "streetlight" {
			lamps = append(lamps, id)
		}
	}
	if got := inboxIDs(t, c, dispatcher, core.InboxQuery{Queue: "all", Sort: "due", Search: "lamp", Service: "streetlight", Limit: 2}); !slices.Equal(got, lamps) {
		t.Errorf("a search by due date, 2 a page:\n got %v\nwant %v", got, lamps)
	}

	var invalid *core.ValidationError
	if _, _, err := c.Inbox(ctx, dispatcher, core.InboxQuery{Queue: "all", Sort: "random"}); !errors.As(err, &invalid) {
		t.Errorf("an unknown sort: %v", err)
	}
	if _, _, err := c.Inbox(ctx, dispatcher, core.InboxQuery{Queue: "all", Sort: "newest", After: &core.Cursor{ID: 5}}); !errors.As(err, &invalid) {
		t.Errorf("a cursor with no date in the newest order: %v", err)
	}
}

// withRoadsStaff is a core whose messages wait, queued, and a staff
// member of public works.
func withRoadsStaff(t *testing.T) (*core.Core, core.User) {
	t.Helper()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	roads, err := c.AddUser(context.Background(), "roads@oroville.test", "staff", "public-works", "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	return c, roads
}

func TestReclassify(t *testing.T) {
	t.Parallel()
	c, roads := withRoadsStaff(t)
	ctx := context.Background()
	by := core.Actor{UserID: &roads.ID, Name: roads.Email}
	r := file(t, c, "pothole", "A tree is down across the road", core.Reporter{})
	if err := c.Assign(ctx, r.ID, "public-works", &roads.ID, by); err != nil {
		t.Fatal(err)
	}

	// Within the department: the assignee stays; the due date follows the SLA.
	if err := c.Reclassify(ctx, r.ID, "sign", "", by); err != nil {
		t.Fatal(err)
	}
	got, err := c.Request(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ServiceCode != "sign" || got.Department != "public-works" || got.AssigneeID == nil || *got.AssigneeID != roads.ID {
		t.Errorf("after a reclassification within the department: %s, %s, assignee %v", got.ServiceCode, got.Department, got.AssigneeID)
	}
	sign, _ := c.City().Service("sign")
	if due := c.City().Due(got.RequestedAt, sign); got.ExpectedAt == nil || !got.ExpectedAt.Equal(*due) {
		t.Errorf("expected %v, want two business days (a sign's SLA) after %v: %v", got.ExpectedAt, got.RequestedAt, due)
	}

	// To another department's service: routed there, unassigned.
	if err := c.Reclassify(ctx, r.ID, "tree", "", by); err != nil {
		t.Fatal(err)
	}
	if got, _ = c.Request(ctx, r.ID); got.ServiceCode != "tree" || got.Department != "parks-trees" || got.AssigneeID != nil {
		t.Errorf("after a reclassification to a tree: %s, %s, assignee %v", got.ServiceCode, got.Department, got.AssigneeID)
	}
	// To a department staff chose.
	if err := c.Reclassify(ctx, r.ID, "park", "public-works", by); err != nil {
		t.Fatal(err)
	}
	if got, _ = c.Request(ctx, r.ID); got.ServiceCode != "park" || got.Department != "public-works" {
		t.Errorf("after a reclassification to a chosen department: %s, %s", got.ServiceCode, got.Department)
	}

	// The history keeps each change, with who.
	evs, err := c.History(ctx, r.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	var changes [][2]string
	var notes []string
	for _, e := range evs {
		if e.ToService != "" {
			changes = append(changes, [2]string{e.FromService, e.ToService})
			notes = append(notes, e.Note)
			if e.UserID == nil || *e.UserID != roads.ID || e.Actor != roads.Email {
				t.Errorf("a reclassification recorded as %+v", e)
			}
		}
	}
	if want := [][2]string{{"pothole", "sign"}, {"sign", "tree"}, {"tree", "park"}}; !slices.Equal(changes, want) {
		t.Errorf("reclassifications in the history: %v, want %v", changes, want)
	}
	name := func(code string) string { s, _ := c.City().Service(code); return s.Name }
	dept := func(code string) string { d, _ := c.City().Department(code); return d.Name }
	if want := []string{
		"reclassified from " + name("pothole") + " to " + name("sign"),
		"reclassified from " + name("sign") + " to " + name("tree") + "; routed to " + dept("parks-trees") + "; no longer assigned",
		"reclassified from " + name("tree") + " to " + name("park") + "; routed to " + dept("public-works"),
	}; !slices.Equal(notes, want) {
		t.Errorf("the notes: %q, want %q", notes, want)
	}
	public, err := c.History(ctx, r.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range public {
		if e.ToService != "" && e.Note != "" {
			t.Errorf("the public history shows a reclassification's note: %+v", e)
		}
	}

	// A place in a district with its own route is routed by it.
	placed, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "streetlight",
		Description: "Sign knocked down on the highway", Lat: ptr(sr70Lat), Lng: ptr(sr70Lng)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Reclassify(ctx, placed.ID, "sign", "", by); err != nil {
		t.Fatal(err)
	}
	if got, _ = c.Request(ctx, placed.ID); got.Department != "other" {
		t.Errorf("a sign on SR 70 went to %q, want other (Caltrans' referrals)", got.Department)
	}

	// A request no service was found for was "unclassified".
	p := &phone{t: t, c: c, number: "+15305550209"}
	p.text("something is wrong at 1735 Montgomery Street")
	p.text("dunno")
	unknown := p.text("no idea").RequestID
	if err := c.Reclassify(ctx, unknown, "pothole", "", by); err != nil {
		t.Fatal(err)
	}
	if evs, err := c.History(ctx, unknown, false); err != nil || evs[len(evs)-1].Note != "reclassified from unclassified to "+name("pothole")+"; routed to "+dept("public-works") {
		t.Errorf("an unclassified request's reclassification: %+v, %v", evs, err)
	}

	// Refusals change nothing.
	before, _ := c.Request(ctx, r.ID)
	var invalid *core.ValidationError
	for _, bad := range []struct{ service, department string }{{"park", ""}, {"volcano", ""}, {"tree", "nowhere"}} {
		if err := c.Reclassify(ctx, r.ID, bad.service, bad.department, by); !errors.As(err, &invalid) {
			t.Errorf("reclassify to %q/%q: %v", bad.service, bad.department, err)
		}
	}
	if err := c.Reclassify(ctx, 999999, "tree", "", by); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("reclassify a request that does not exist: %v", err)
	}
	if after, _ := c.Request(ctx, r.ID); after.ServiceCode != before.ServiceCode || after.Department != before.Department ||
		!after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Error("a refused reclassification changed the request")
	}
}

func TestFlagSender(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	desk, err := c.AddUser(ctx, "desk@oroville.test", "dispatcher", "", "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	by := core.Actor{UserID: &desk.ID, Name: desk.Email}
	r := file(t, c, "pothole", "Pothole, again", core.Reporter{Name: "Ana", Email: "ana@example.com"})
	other := file(t, c, "pothole", "Another one", core.Reporter{Name: "Bo", Email: "bo@example.com"})
	anon := file(t, c, "pothole", "Anonymous", core.Reporter{})
	flagged := func() []int64 { return inboxIDs(t, c, dispatcher, core.InboxQuery{Queue: "flagged"}) }
	contact := func() core.Contact {
		ct, err := c.Contact(ctx, *r.ContactID)
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}

	var invalid *core.ValidationError
	if err := c.UnflagSender(ctx, r.ID, "", by); !errors.As(err, &invalid) {
		t.Errorf("clearing a flag that is not there: %v", err)
	}
	if err := c.FlagSender(ctx, r.ID, "  ", by); !errors.As(err, &invalid) {
		t.Errorf("a flag without a reason: %v", err)
	}
	if err := c.FlagSender(ctx, anon.ID, "spam", by); !errors.As(err, &invalid) {
		t.Errorf("flagging an anonymous request's sender: %v", err)
	}
	if got := flagged(); len(got) != 0 || contact().Flagged {
		t.Fatalf("flagged before any flag: %v", got)
	}

	if err := c.FlagSender(ctx, r.ID, "Sends the same photo every hour", by); err != nil {
		t.Fatal(err)
	}
	ct := contact()
	if !ct.Flagged || ct.FlagReason != "Sends the same photo every hour" || ct.FlaggedBy == nil || *ct.FlaggedBy != desk.ID {
		t.Errorf("after flagging: %+v", ct)
	}
	if got := flagged(); !slices.Equal(got, []int64{r.ID}) {
		t.Errorf("Flagged senders holds %v, want [%d]", got, r.ID)
	}
	// A flag staff set does not lapse like an automatic one.
	if _, err := c.Pool().Exec(ctx, `UPDATE contacts SET flagged_at = now() - interval '3 days' WHERE id = $1`, ct.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pool().Exec(ctx, `UPDATE contacts SET flagged_at = now() - interval '3 days', flag_reason = 'flood'
		WHERE id = $1`, *other.ContactID); err != nil {
		t.Fatal(err)
	}
	if got, ct := flagged(), contact(); !slices.Equal(got, []int64{r.ID}) || !ct.Flagged {
		t.Errorf("three days on, Flagged senders holds %v and the sender is flagged: %v; want only the staff flag's [%d], flagged",
			got, ct.Flagged, r.ID)
	}
	if n, err := c.InboxCounts(ctx, dispatcher); err != nil || n["flagged"] != 1 {
		t.Errorf("the flagged count: %v, %v", n["flagged"], err)
	}

	if err := c.UnflagSender(ctx, r.ID, "They were sending updates", by); err != nil {
		t.Fatal(err)
	}
	if ct := contact(); ct.Flagged || ct.FlagReason != "" || ct.FlaggedBy != nil {
		t.Errorf("after clearing: %+v", ct)
	}
	if got := flagged(); len(got) != 0 {
		t.Errorf("Flagged senders after clearing: %v", got)
	}

	evs, err := c.History(ctx, r.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, e := range evs {
		if e.Actor == desk.Email {
			notes = append(notes, e.Note)
			if e.Public || e.UserID == nil || *e.UserID != desk.ID {
				t.Errorf("a flag event recorded as %+v", e)
			}
		}
	}
	want := []string{"flagged the sender: Sends the same photo every hour",
		"cleared the sender's flag (Sends the same photo every hour): They were sending updates"}
	if !slices.Equal(notes, want) {
		t.Errorf("the history has %q, want %q", notes, want)
	}
}

// A filter naming what does not exist is refused, not run over the whole
// history to find nothing.
func TestInboxRefusesUnknownFilters(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	desk := core.User{ID: 1, Role: "dispatcher"}
	for _, q := range []core.InboxQuery{
		{Queue: "all", Service: "graffiti"},
		{Queue: "all", Department: "roads"},
		{Queue: "all", Status: "open"},
		{Queue: "all", Channel: "fax"},
	} {
		var invalid *core.ValidationError
		if _, _, err := c.Inbox(context.Background(), desk, q); !errors.As(err, &invalid) {
			t.Errorf("%+v: %v, want a validation error", q, err)
		}
	}
	if _, _, err := c.Inbox(context.Background(), desk, core.InboxQuery{Queue: "all", Service: "graffiti-public",
		Department: "public-works", Status: core.StatusNew, Channel: core.ChannelSMS}); err != nil {
		t.Errorf("known filters: %v", err)
	}
}

// A newest-first search looks at the last week first, and further back
// only as it must: the pages it gives are the pages a search of the whole
// history gives, common words and rare ones alike.
func TestInboxSearchReachesBack(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	desk := core.User{ID: 1, Role: "dispatcher"}
	file := func(desc string, age time.Duration) int64 {
		t.Helper()
		r, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
			Description: desc, Lat: ptr(downtownLat), Lng: ptr(downtownLng)})
		if err != nil {
			t.Fatal(err)
		}
		for _, stmt := range []string{`UPDATE requests SET requested_at = now() - $2::interval WHERE id = $1`,
			`UPDATE messages SET created_at = now() - $2::interval WHERE request_id = $1`} {
			if _, err := c.Pool().Exec(ctx, stmt, r.ID, age); err != nil {
				t.Fatal(err)
			}
		}
		return r.ID
	}
	day := 24 * time.Hour
	// A rare word: once this week, once this quarter, once last year.
	rare := []int64{file("lamppost leaning", day), file("lamppost down", 30*day), file("lamppost gone", 300*day)}
	// A common word: a page's worth this week, then more, back to last year.
	var common []int64
	for i := range 60 {
		common = append(common, file(fmt.Sprintf("pothole %d", i), time.Duration(60-i)*time.Hour))
	}
	common = append(common, file("pothole by the river", 45*day), file("pothole at the school", 200*day))
	// A page's worth exactly this week, and one more last quarter.
	var graffiti []int64
	for i := range 5 {
		graffiti = append(graffiti, file("graffiti on the wall", time.Duration(i+1)*day))
	}
	graffiti = append(graffiti, file("graffiti again", 45*day))
	read := func(words string, limit int) []int64 {
		var got []int64
		q := core.InboxQuery{Queue: "all", Search: words, Limit: limit}
		for range 10 {
			page, next, err := c.Inbox(ctx, desk, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page {
				got = append(got, r.ID)
			}
			if next == nil {
				return got
			}
			q.After = next
		}
		t.Fatalf("%q: more pages than requests", words)
		return nil
	}
	newestFirst := func(ids []int64) []int64 {
		out := slices.Clone(ids)
		slices.SortFunc(out, func(a, b int64) int {
			ra, _ := c.Request(ctx, a)
			rb, _ := c.Request(ctx, b)
			return rb.RequestedAt.Compare(ra.RequestedAt)
		})
		return out
	}
	if got, want := read("lamppost", 25), newestFirst(rare); !slices.Equal(got, want) {
		t.Errorf("lamppost: %v, want %v", got, want)
	}
	if got, want := read("pothole", 25), newestFirst(common); !slices.Equal(got, want) {
		t.Errorf("pothole: %d requests %v, want %d %v", len(got), got, len(want), want)
	}
	if got := read("graffiti", 5); !slices.Equal(got, graffiti) {
		t.Errorf("graffiti: %v, want %v", got, graffiti)
	}
	// A page holding all there is has no next page.
	if page, next, err := c.Inbox(ctx, desk, core.InboxQuery{Queue: "all", Search: "graffiti", Limit: 6}); err != nil || len(page) != 6 || next != nil {
		t.Errorf("a page of all six: %d, next %v, %v", len(page), next, err)
	}

	// A page holds what staff ask, up to 200; else 50.
	all := len(rare) + len(common) + len(graffiti)
	for _, tc := range []struct{ limit, want int }{{200, all}, {201, 50}, {0, 50}, {-1, 50}, {3, 3}} {
		page, next, err := c.Inbox(ctx, desk, core.InboxQuery{Queue: "all", Limit: tc.limit})
		if err != nil || len(page) != tc.want || (next == nil) != (tc.want == all) {
			t.Errorf("a page of %d: %d requests, next %v, %v; want %d", tc.limit, len(page), next, err, tc.want)
		}
	}
}

// Staff of a department count their department's queues; nothing of
// another's, and no triage, which is the dispatchers'.
func TestInboxCountsOfADepartment(t *testing.T) {
	t.Parallel()
	c, roads := withRoadsStaff(t)
	ctx := context.Background()
	mine := file(t, c, "pothole", "A deep one", core.Reporter{})
	file(t, c, "pothole", "Another", core.Reporter{})
	file(t, c, "tree", "A branch down", core.Reporter{})
	if err := c.Assign(ctx, mine.ID, "public-works", &roads.ID, core.Actor{UserID: &roads.ID, Name: roads.Email}); err != nil {
		t.Fatal(err)
	}
	n, err := c.InboxCounts(ctx, roads)
	want := map[string]int64{"triage": 0, "unassigned": 1, "mine": 1, "departments": 2, "flagged": 0, "all": 2}
	if err != nil || !maps.Equal(n, want) {
		t.Errorf("counts %v, %v; want %v", n, err, want)
	}
}
