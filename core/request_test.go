package core_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"townline/core"
	"townline/internal/testenv"
)

// fakeSender is the tests' sender: it records, fails when told, and
// lets a test wait on its sends.
type fakeSender = testenv.Sender

// sendWait bounds a test's wait on a fake sender: it only keeps a broken
// test from hanging.
const sendWait = 10 * time.Second

func ptr[T any](v T) *T { return &v }

// downtown is a point in Historic Downtown Oroville.
var downtownLat, downtownLng = 39.5138, -121.5564

// potholes counts newPothole's reports: each is placed apart from the
// last (80 to 100 m, on a downtown grid of 40 places), so that separate
// reports never join as the same issue unless a test places them so.
var potholes atomic.Int64

func newPothole(email string) core.NewRequest {
	n := potholes.Add(1) - 1
	lat := downtownLat + float64(n%8-4)*0.0008
	lng := downtownLng + float64(n/8%5-2)*0.0012
	return core.NewRequest{
		Channel:     core.ChannelOpen311,
		ServiceCode: "pothole",
		Description: "Deep pothole in the right lane",
		Lat:         ptr(lat), Lng: ptr(lng),
		Address:  "Montgomery St & Myers St",
		Reporter: core.Reporter{Name: "Ana Reyes", Email: email},
		Actor:    "test",
	}
}

// waitMessage waits until message id is in one of states.
func waitMessage(t *testing.T, c *core.Core, id int64, states ...string) core.Message {
	t.Helper()
	var m core.Message
	testenv.WaitFor(t, c, func() error {
		var err error
		if m, err = c.Message(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(states, m.State) {
			return fmt.Errorf("message %d is %s (%s), want one of %v", id, m.State, m.Error, states)
		}
		return nil
	})
	return m
}

func outbound(t *testing.T, c *core.Core, requestID int64) []core.Message {
	t.Helper()
	ms, err := c.Messages(context.Background(), requestID)
	if err != nil {
		t.Fatal(err)
	}
	var out []core.Message
	for _, m := range ms {
		if m.Direction == "out" {
			out = append(out, m)
		}
	}
	return out
}

func TestCreateRequestRoutesAndAcknowledges(t *testing.T) {
	t.Parallel()
	email := &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: email} })
	ctx := context.Background()

	r, err := c.CreateRequest(ctx, newPothole("Ana.Reyes@Example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if r.ID < 1000 || r.Status != core.StatusNew || r.Department != "public-works" || r.Reports != 1 {
		t.Fatalf("request = %+v", r)
	}
	if r.ExpectedAt == nil || r.ExpectedAt.Before(time.Now()) {
		t.Errorf("expected_at = %v, want the SLA in the future", r.ExpectedAt)
	}
	ct, err := c.Contact(ctx, *r.ContactID)
	if err != nil {
		t.Fatal(err)
	}
	if ct.Email != "ana.reyes@example.com" || ct.Name != "Ana Reyes" {
		t.Errorf("contact = %+v, want the address lower-cased", ct)
	}
	out := outbound(t, c, r.ID)
	if len(out) != 1 || out[0].Channel != core.ChannelEmail {
		t.Fatalf("outbound = %+v, want one acknowledgment email", out)
	}
	m := waitMessage(t, c, out[0].ID, "sent")
	if !strings.Contains(m.Subject, "[#") || !strings.Contains(m.Body, "http://311.test/requests/") {
		t.Errorf("acknowledgment = %q / %q", m.Subject, m.Body)
	}
	sent, _ := email.Sent()
	if len(sent) != 1 || sent[0].To != "ana.reyes@example.com" || sent[0].RequestID != r.ID {
		t.Errorf("sent = %+v", sent)
	}
	// The next mail about it threads with the first.
	if err := c.ChangeStatus(ctx, r.ID, core.StatusChange{To: core.StatusInProgress}); err != nil {
		t.Fatal(err)
	}
	out = outbound(t, c, r.ID)
	waitMessage(t, c, out[len(out)-1].ID, "sent")
	sent, _ = email.Sent()
	if len(sent) != 2 || !slices.Equal(sent[1].Thread, []string{"prov-ana.reyes@example.com"}) {
		t.Errorf("the second mail's thread: %+v", sent)
	}

	// A second report from the same person reuses the contact.
	r2, err := c.CreateRequest(ctx, newPothole("ana.reyes@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if *r2.ContactID != *r.ContactID {
		t.Errorf("contact %d, want the same contact %d", *r2.ContactID, *r.ContactID)
	}
}

func TestCreateRequestValidation(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t)
	ctx := context.Background()
	cases := []struct {
		name  string
		mod   func(*core.NewRequest)
		field string
		says  string // in the message, when set
	}{
		// The poles and the date line are real places, only not Oroville.
		{"the north pole", func(r *core.NewRequest) { r.Lat = ptr(90.0) }, "lat", "is outside Oroville"},
		{"the south pole", func(r *core.NewRequest) { r.Lat = ptr(-90.0) }, "lat", "is outside Oroville"},
		{"the date line", func(r *core.NewRequest) { r.Lng = ptr(180.0) }, "lat", "is outside Oroville"},
		{"the date line, west", func(r *core.NewRequest) { r.Lng = ptr(-180.0) }, "lat", "is outside Oroville"},
		{"past the pole", func(r *core.NewRequest) { r.Lat = ptr(90.5) }, "lat", "is not a latitude"},
		{"past the date line", func(r *core.NewRequest) { r.Lng = ptr(-180.5) }, "long", "is not a longitude"},
		{"no service", func(r *core.NewRequest) { r.ServiceCode = "" }, "service_code", ""},
		{"unknown service", func(r *core.NewRequest) { r.ServiceCode = "unicorns" }, "service_code", ""},
		{"outside the city, and the county", func(r *core.NewRequest) { r.Lat, r.Lng = ptr(40.7128), ptr(-74.0060) }, "lat", "is outside Oroville"},
		{"lat without long", func(r *core.NewRequest) { r.Lng = nil }, "lat", ""},
		{"long description", func(r *core.NewRequest) { r.Description = strings.Repeat("x", 4001) }, "description", ""},
		{"bad email", func(r *core.NewRequest) { r.Reporter.Email = "not an address" }, "email", ""},
		{"bad phone", func(r *core.NewRequest) { r.Reporter.Phone = "12" }, "phone", ""},
		{"bad utf-8", func(r *core.NewRequest) { r.Description = "\xff\xfe" }, "description", ""},
		{"not a photo", func(r *core.NewRequest) {
			r.Photos = []core.Upload{{Blob: core.Blob{SHA256: strings.Repeat("a", 64), ContentType: "application/pdf"}}}
		}, "media", ""},
	}
	for _, tc := range cases {
		req := newPothole("v@example.com")
		tc.mod(&req)
		_, err := c.CreateRequest(ctx, req)
		var ve *core.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field || !strings.Contains(ve.Error(), tc.says) {
			t.Errorf("%s: err = %v, want a validation error on %s saying %q", tc.name, err, tc.field, tc.says)
		}
	}
	var n int
	if err := c.Pool().QueryRow(ctx, "SELECT (SELECT count(*) FROM requests) + (SELECT count(*) FROM contacts) + (SELECT count(*) FROM messages)").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rows written by rejected requests, want none", n)
	}
}

// What a request is filed with is what it keeps: its attributes as
// validated, who filed it (the channel when no one is named), and text at
// every limit, which is inclusive.
func TestFiledAsGiven(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t)
	ctx := context.Background()
	in := newPothole("")
	in.Actor = ""
	in.Attributes = map[string][]string{"size": {" Larger than a tire, or deep "}, "fixmystreet_id": {"7000100"}}
	in.Description = strings.Repeat("é", core.MaxDescription)
	in.MediaURL = "https://photos.example/" + strings.Repeat("x", core.MaxMediaURL-len("https://photos.example/"))
	r, err := c.CreateRequest(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Request(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string][]string{"size": {"large"}, "fixmystreet_id": {"7000100"}}; !maps.EqualFunc(got.Attributes, want, slices.Equal) {
		t.Errorf("attributes %v, want %v", got.Attributes, want)
	}
	if got.Description != in.Description || got.MediaURL != in.MediaURL {
		t.Errorf("text at its limits not kept whole")
	}
	hist, err := c.History(ctx, r.ID, false)
	if err != nil || len(hist) == 0 || hist[0].Actor != "open311" {
		t.Errorf("filed by %+v, want the channel", hist)
	}
}

// Listing requests filters by service, state, ids, time, and a limit,
// newest first.
func TestRequestsFilter(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t)
	ctx := context.Background()
	file := func(service string) int64 {
		t.Helper()
		in := newPothole("")
		in.ServiceCode = service
		r, err := c.CreateRequest(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	hole, paint, fixed := file("pothole"), file("graffiti-public"), file("pothole")
	if err := c.ChangeStatus(ctx, fixed, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved}); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name string
		f    core.Filter
		want []int64
	}{
		{"all, newest first", core.Filter{}, []int64{fixed, paint, hole}},
		{"one service", core.Filter{ServiceCodes: []string{"graffiti-public"}}, []int64{paint}},
		{"an empty service list", core.Filter{ServiceCodes: []string{}}, []int64{fixed, paint, hole}},
		{"open", core.Filter{Open: true}, []int64{paint, hole}},
		{"closed", core.Filter{Closed: true}, []int64{fixed}},
		{"open and closed", core.Filter{Open: true, Closed: true}, []int64{fixed, paint, hole}},
		{"a limit", core.Filter{Limit: 1}, []int64{fixed}},
		{"ids", core.Filter{IDs: []int64{hole, paint}}, []int64{paint, hole}},
		{"ids of another service", core.Filter{IDs: []int64{hole}, ServiceCodes: []string{"graffiti-public"}}, nil},
		{"from later on", core.Filter{Start: &later}, nil},
	} {
		if got := listed(t, c, tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A district's requests are those placed inside its shape, not merely
// inside its box, and a limit is met however many newer requests lie in
// the box outside the shape.
func TestRequestsInADistrict(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t)
	ctx := context.Background()
	file := func(lat, lng float64) int64 {
		t.Helper()
		r, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "graffiti-public",
			Lat: &lat, Lng: &lng, Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	// Oroville's SR 70 corridor narrows to the south: its box is wider.
	in1, in2 := file(39.490, -121.570), file(39.500, -121.570)
	file(39.476, -121.5755)
	file(39.478, -121.5656)
	file(39.480, -121.5756)
	downtown := file(39.515, -121.556)
	for _, tc := range []struct {
		f    core.Filter
		want []int64
	}{
		{core.Filter{District: "sr70"}, []int64{in2, in1}},
		{core.Filter{District: "sr70", Limit: 2}, []int64{in2, in1}},
		{core.Filter{District: "sr70", Limit: 1}, []int64{in2}},
		{core.Filter{District: "sr70", Limit: 3}, []int64{in2, in1}},
		{core.Filter{District: "downtown", Limit: 5}, []int64{downtown}},
		{core.Filter{District: "sr70", IDs: []int64{in1, downtown}}, []int64{in1}},
	} {
		if got := listed(t, c, tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.f, got, tc.want)
		}
	}
	var bad *core.ValidationError
	if _, err := c.Requests(ctx, core.Filter{District: "uptown"}); !errors.As(err, &bad) || bad.Field != "district" {
		t.Errorf("an unknown district: %v", err)
	}
}

// listed is the ids c.Requests lists.
func listed(t *testing.T, c *core.Core, f core.Filter) []int64 {
	t.Helper()
	rs, err := c.Requests(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestUnroutableGoesToTriage(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t)
	ctx := context.Background()
	r, err := c.CreateRequest(ctx, newPothole(""))
	if err != nil {
		t.Fatal(err)
	}
	// A department missing from routing is simulated by clearing it, as an
	// intake that could not classify a report would leave it.
	if _, err := c.Pool().Exec(ctx, "UPDATE requests SET department_code = NULL WHERE id = $1", r.ID); err != nil {
		t.Fatal(err)
	}
	q, err := c.TriageQueue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || q[0].ID != r.ID {
		t.Fatalf("triage queue = %v, want request %d", q, r.ID)
	}
}

func TestDeliveryRetriesAndSendsOnce(t *testing.T) {
	t.Parallel()
	email := &fakeSender{Failures: 2}
	c := testenv.Core(t, func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: email} })
	r, err := c.CreateRequest(context.Background(), newPothole("retry@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	out := outbound(t, c, r.ID)
	m := waitMessage(t, c, out[0].ID, "sent", "failed")
	if m.State != "sent" || m.Attempts != 3 {
		t.Fatalf("message = %s after %d attempts, want sent after 3", m.State, m.Attempts)
	}
	// Once its job has finished, make sure nothing was sent again.
	testenv.WaitJob(t, c.Pool(), "deliver", map[string]any{"message_id": m.ID})
	sent, calls := email.Sent()
	if len(sent) != 1 || calls != 3 {
		t.Errorf("sent %d messages in %d calls, want 1 in 3", len(sent), calls)
	}
}

// Each failed send waits longer before the next: RetryBase doubled per
// attempt up to an hour, and up to a quarter more, so that the retries of
// many messages after a provider's outage do not all come at once.
func TestDeliveryBacksOff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: &fakeSender{}}
		o.Workers = 0
	})
	spent := map[int64]int{} // message -> attempts spent before
	for _, before := range []int{0, 4, 10} {
		r, err := c.CreateRequest(ctx, newPothole(fmt.Sprintf("backoff%d@example.com", before)))
		if err != nil {
			t.Fatal(err)
		}
		id := outbound(t, c, r.ID)[0].ID
		if _, err := c.Pool().Exec(ctx, `UPDATE river_job SET attempt = $2
			WHERE kind = 'deliver' AND (args->>'message_id')::bigint = $1`, id, before); err != nil {
			t.Fatal(err)
		}
		spent[id] = before
	}
	testenv.CoreOn(t, c.Pool(), func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: &fakeSender{Failures: 1000}}
		o.RetryBase = time.Minute
	})
	// Idle once every message has failed an attempt: each next one is a
	// minute or more away.
	testenv.WaitJobsIdle(t, c.Pool())
	for id, before := range spent {
		var wait time.Duration
		err := c.Pool().QueryRow(ctx, `SELECT scheduled_at - attempted_at FROM river_job
			WHERE kind = 'deliver' AND (args->>'message_id')::bigint = $1 AND state = 'retryable'`, id).Scan(&wait)
		if err != nil {
			t.Fatalf("message %d never failed an attempt: %v", id, err)
		}
		base := min(time.Minute<<before, time.Hour)
		if wait < base || wait > base*5/4+5*time.Second {
			t.Errorf("after attempt %d the next is in %s, want %s to %s", before+1, wait, base, base*5/4)
		}
	}
}

func TestDeliveryOutcomeUnknownIsNotResent(t *testing.T) {
	t.Parallel()
	email := &fakeSender{Failures: 1, Err: core.ErrOutcomeUnknown}
	c := testenv.Core(t, func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: email} })
	r, err := c.CreateRequest(context.Background(), newPothole("timeout@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	m := waitMessage(t, c, outbound(t, c, r.ID)[0].ID, "unknown", "sent")
	testenv.WaitJob(t, c.Pool(), "deliver", map[string]any{"message_id": m.ID})
	if _, calls := email.Sent(); m.State != "unknown" || calls != 1 {
		t.Errorf("state %s after %d calls, want unknown after 1", m.State, calls)
	}
}

func TestDeliveryPermanentFailure(t *testing.T) {
	t.Parallel()
	email := &fakeSender{Failures: 5, Err: core.Permanent(errors.New("mailbox does not exist"))}
	c := testenv.Core(t, func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: email} })
	r, err := c.CreateRequest(context.Background(), newPothole("gone@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	m := waitMessage(t, c, outbound(t, c, r.ID)[0].ID, "failed", "sent")
	// The job says so too, where an admin looks for failed deliveries.
	if job := testenv.WaitJob(t, c.Pool(), "deliver", map[string]any{"message_id": m.ID}); job != "cancelled" {
		t.Errorf("the failed delivery's job is %s, want cancelled", job)
	}
	if _, calls := email.Sent(); m.State != "failed" || calls != 1 || !strings.Contains(m.Error, "mailbox") {
		t.Errorf("state %s (%s) after %d calls, want failed after 1", m.State, m.Error, calls)
	}
}

// blipSender sends, and then the database drops every connection but
// the test's own (application_name "test"), as a failover does, before
// the outcome is written.
type blipSender struct {
	fakeSender
	pool *pgxpool.Pool
}

func (b *blipSender) Send(ctx context.Context, m core.Outbound) (string, error) {
	id, err := b.fakeSender.Send(ctx, m)
	if _, err := b.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name <> 'test'`); err != nil {
		return "", err
	}
	return id, err
}

// A send's outcome is written through a database blip: the message reads
// "sent", not "sending" until someone asks the provider.
func TestSendOutcomeSurvivesADatabaseBlip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	email := &blipSender{}
	c := testenv.Core(t, func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: email} })
	cfg := c.Pool().Config()
	cfg.ConnConfig.RuntimeParams["application_name"] = "test"
	var err error
	if email.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	defer email.pool.Close()
	r, err := c.CreateRequest(ctx, newPothole("blip@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := email.pool.QueryRow(ctx, `SELECT id FROM messages WHERE request_id = $1`, r.ID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	testenv.WaitJob(t, email.pool, "deliver", map[string]any{"message_id": id})
	var state string
	if err := email.pool.QueryRow(ctx, `SELECT state FROM messages WHERE id = $1`, id).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if sent, calls := email.Sent(); state != "sent" || calls != 1 || len(sent) != 1 {
		t.Errorf("message %s after %d sends, want sent once", state, calls)
	}
}

// A worker that died between claiming a message and recording the result
// leaves it "sending": the retry must not send it again.
func TestInterruptedSendIsNotRepeated(t *testing.T) {
	t.Parallel()
	email := &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: email}
		o.Workers = 0 // nothing delivers until the crash is staged
	})
	ctx := context.Background()
	r, err := c.CreateRequest(ctx, newPothole("crash@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	id := outbound(t, c, r.ID)[0].ID
	if _, err := c.Pool().Exec(ctx, "UPDATE messages SET state = 'sending', attempts = 1 WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	c2 := testenv.CoreOn(t, c.Pool(), func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: email} })
	m := waitMessage(t, c2, id, "unknown", "sent")
	if _, calls := email.Sent(); m.State != "unknown" || calls != 0 {
		t.Errorf("state %s after %d calls, want unknown and never sent", m.State, calls)
	}
}

func TestStatusChangesReachEveryReporterOfTheIssue(t *testing.T) {
	t.Parallel()
	email := &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: email} })
	ctx := context.Background()
	parent, err := c.CreateRequest(ctx, newPothole("first@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	child, err := c.CreateRequest(ctx, newPothole("second@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	staff := core.Actor{Name: "dispatcher@oroville.test"}
	if err := c.MarkDuplicate(ctx, child.ID, parent.ID, staff); err != nil {
		t.Fatal(err)
	}
	p, err := c.Request(ctx, parent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Reports != 2 {
		t.Errorf("parent reports = %d, want 2", p.Reports)
	}
	ch, _ := c.Request(ctx, child.ID)
	if ch.Status != core.StatusClosed || ch.CloseReason != core.ReasonDuplicate || ch.DuplicateOf == nil || *ch.DuplicateOf != parent.ID {
		t.Errorf("child = %s/%s dup of %v", ch.Status, ch.CloseReason, ch.DuplicateOf)
	}

	if err := c.ChangeStatus(ctx, parent.ID, core.StatusChange{To: core.StatusInProgress, Note: "Crew scheduled for Tuesday.", Public: true, By: staff}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{parent.ID, child.ID} {
		out := outbound(t, c, id)
		last := out[len(out)-1]
		if !strings.Contains(last.Body, "in progress") || !strings.Contains(last.Body, "Crew scheduled") {
			t.Errorf("request %d last update = %q", id, last.Body)
		}
	}
	p, _ = c.Request(ctx, parent.ID)
	if p.StatusNotes != "Crew scheduled for Tuesday." {
		t.Errorf("status notes = %q", p.StatusNotes)
	}

	if err := c.ChangeStatus(ctx, parent.ID, core.StatusChange{To: core.StatusClosed, By: staff}); !errors.Is(err, core.ErrTransition) {
		t.Errorf("closing without a reason: err = %v, want ErrTransition", err)
	}
	if err := c.ChangeStatus(ctx, parent.ID, core.StatusChange{To: core.StatusNew, By: staff}); !errors.Is(err, core.ErrTransition) {
		t.Errorf("back to new: err = %v, want ErrTransition", err)
	}
	if err := c.ChangeStatus(ctx, 999999, core.StatusChange{To: core.StatusInProgress, By: staff}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("unknown request: err = %v, want ErrNotFound", err)
	}
	if err := c.ChangeStatus(ctx, parent.ID, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved, Note: "Filled.", Public: true, By: staff}); err != nil {
		t.Fatal(err)
	}
	hist, err := c.History(ctx, parent.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range hist {
		if e.Actor != "" || e.UserID != nil {
			t.Errorf("public history names %q", e.Actor)
		}
	}
	if got := hist[len(hist)-1]; got.To != core.StatusClosed || got.CloseReason != core.ReasonResolved {
		t.Errorf("last event = %+v", got)
	}
}

func TestReplyGoesOverTheReportersChannel(t *testing.T) {
	t.Parallel()
	sms, email := &fakeSender{}, &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: email, core.ChannelSMS: sms}
	})
	ctx := context.Background()
	in := newPothole("")
	in.Channel = core.ChannelSMS
	in.Reporter = core.Reporter{Phone: "(530) 555-0142"}
	r, err := c.CreateRequest(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Reply(ctx, r.ID, "", "Is it on the north or south side?", core.Actor{Name: "staff@oroville.test"})
	if err != nil {
		t.Fatal(err)
	}
	waitMessage(t, c, id, "sent")
	waitMessage(t, c, outbound(t, c, r.ID)[0].ID, "sent")
	sent, _ := sms.Sent()
	if len(sent) != 2 || sent[0].To != "+15305550142" || sent[1].To != "+15305550142" ||
		!strings.Contains(sent[0].Body+sent[1].Body, "north or south") {
		t.Errorf("sms sent = %+v", sent)
	}
	if e, _ := email.Sent(); len(e) != 0 {
		t.Errorf("email sent %d, want none", len(e))
	}
}

func TestOptedOutNumberGetsNothing(t *testing.T) {
	t.Parallel()
	sms := &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: sms} })
	ctx := context.Background()
	in := newPothole("")
	in.Channel = core.ChannelSMS
	in.Reporter = core.Reporter{Phone: "+15305550199"}
	r, err := c.CreateRequest(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	waitMessage(t, c, outbound(t, c, r.ID)[0].ID, "sent")
	if _, err := c.Pool().Exec(ctx, "UPDATE contacts SET opted_out_at = now() WHERE phone = '+15305550199'"); err != nil {
		t.Fatal(err)
	}
	if err := c.ChangeStatus(ctx, r.ID, core.StatusChange{To: core.StatusInProgress}); err != nil {
		t.Fatal(err)
	}
	out := outbound(t, c, r.ID)
	if last := out[len(out)-1]; last.State != "not_sent" {
		t.Errorf("update to an opted-out number is %s, want not_sent", last.State)
	}
	testenv.WaitJobsIdle(t, c.Pool())
	if sent, _ := sms.Sent(); len(sent) != 1 {
		t.Errorf("sent %d texts, want only the acknowledgment", len(sent))
	}
}

func TestWebReporterWithoutEmailGetsNothing(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t)
	in := newPothole("")
	in.Reporter = core.Reporter{Name: "Sam", Phone: "+15305550111"}
	r, err := c.CreateRequest(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if out := outbound(t, c, r.ID); len(out) != 0 {
		t.Errorf("outbound = %+v, want none", out)
	}
}

func TestAPIKeysAndUsers(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t)
	ctx := context.Background()
	key, err := c.AddAPIKey(ctx, "SeeClickFix")
	if err != nil {
		t.Fatal(err)
	}
	if name, err := c.CheckAPIKey(ctx, key); err != nil || name != "SeeClickFix" {
		t.Errorf("CheckAPIKey = %q, %v", name, err)
	}
	if _, err := c.CheckAPIKey(ctx, key+"x"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("wrong key: err = %v", err)
	}
	if _, err := c.AddUser(ctx, "Lee@Oroville.test", "dispatcher", "", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddUser(ctx, "lee@oroville.test", "staff", "", "another password"); err == nil {
		t.Error("a second account with the same email was created")
	}
	if _, err := c.AddUser(ctx, "x@oroville.test", "mayor", "", "correct horse battery"); err == nil {
		t.Error("unknown role accepted")
	}
	if _, err := c.AddUser(ctx, "y@oroville.test", "staff", "nope", "correct horse battery"); err == nil {
		t.Error("unknown department accepted")
	}
	u, err := c.Authenticate(ctx, "lee@oroville.test", "correct horse battery")
	if err != nil || u.Role != "dispatcher" {
		t.Errorf("Authenticate = %+v, %v", u, err)
	}
	if _, err := c.Authenticate(ctx, "lee@oroville.test", "wrong"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("wrong password: err = %v", err)
	}
}

// Without a channel to answer on, a report is one statement; it still
// finds the reporter's contact, and fills in a name it did not know.
func TestOneStatementReportReusesTheContact(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t)
	ctx := context.Background()
	first := newPothole("Same.Person@example.com")
	first.Reporter.Name = ""
	a, err := c.CreateRequest(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreateRequest(ctx, newPothole("same.person@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if a.ContactID == nil || b.ContactID == nil || *a.ContactID != *b.ContactID {
		t.Fatalf("contacts %v and %v, want one", a.ContactID, b.ContactID)
	}
	ct, err := c.Contact(ctx, *a.ContactID)
	if err != nil || ct.Name != "Ana Reyes" {
		t.Errorf("contact = %+v, %v; want the name from the second report", ct, err)
	}
	var n int
	c.Pool().QueryRow(ctx, `SELECT count(*) FROM contacts`).Scan(&n)
	if n != 1 {
		t.Errorf("%d contacts, want 1", n)
	}
}

// askingSender is a fakeSender whose provider can be asked about an
// interrupted send: it knows the messages in found.
type askingSender struct {
	fakeSender
	mu    sync.Mutex
	found map[int64]string // message id -> provider id
	fails int              // the provider cannot be asked this many times
	asked int
}

func (a *askingSender) Resolve(ctx context.Context, m core.Outbound, since time.Time) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked++
	if a.fails > 0 {
		a.fails--
		return "", errors.New("the provider's list answered 503")
	}
	return a.found[m.MessageID], nil
}

// stageCrash leaves request r's acknowledgment as a crashed worker
// would: claimed ("sending") and never recorded.
func stageCrash(t *testing.T, c *core.Core, r core.Request) int64 {
	t.Helper()
	id := outbound(t, c, r.ID)[0].ID
	if _, err := c.Pool().Exec(context.Background(),
		"UPDATE messages SET state = 'sending', attempts = 1, claimed_at = now() WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestInterruptedSendIsResolvedWithTheProvider(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	staged := func(t *testing.T, email string) (*core.Core, int64) {
		c := testenv.Core(t, func(o *core.Options) {
			o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: &fakeSender{}}
			o.Workers = 0 // nothing delivers until the crash is staged
		})
		r, err := c.CreateRequest(ctx, newPothole(email))
		if err != nil {
			t.Fatal(err)
		}
		return c, stageCrash(t, c, r)
	}

	t.Run("it had arrived: recorded, not resent", func(t *testing.T) {
		t.Parallel()
		c, id := staged(t, "arrived@example.com")
		provider := &askingSender{found: map[int64]string{id: "prov-arrived"}}
		c2 := testenv.CoreOn(t, c.Pool(), func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: provider} })
		m := waitMessage(t, c2, id, "sent", "unknown", "failed")
		testenv.WaitJobsIdle(t, c.Pool())
		if _, calls := provider.Sent(); m.State != "sent" || m.ProviderID != "prov-arrived" || calls != 0 {
			t.Errorf("message %s as %q after %d sends, want sent as prov-arrived and no send", m.State, m.ProviderID, calls)
		}
	})
	t.Run("it never arrived: sent once", func(t *testing.T) {
		t.Parallel()
		c, id := staged(t, "lost@example.com")
		provider := &askingSender{fails: 2} // and the provider cannot be asked at first
		c2 := testenv.CoreOn(t, c.Pool(), func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: provider} })
		m := waitMessage(t, c2, id, "sent", "unknown", "failed")
		testenv.WaitJobsIdle(t, c.Pool())
		sent, calls := provider.Sent()
		if m.State != "sent" || calls != 1 || len(sent) != 1 || sent[0].MessageID != id {
			t.Errorf("message %s after %d sends, want sent once", m.State, calls)
		}
		provider.mu.Lock()
		asked := provider.asked
		provider.mu.Unlock()
		if asked != 3 {
			t.Errorf("the provider was asked %d times, want 3 (two failures, then the answer)", asked)
		}
	})
	t.Run("the last attempt: unknown, without asking", func(t *testing.T) {
		t.Parallel()
		c, id := staged(t, "late@example.com")
		// Every attempt but the last was spent asking a provider that could
		// not answer: a send now could not be retried if it were cut off.
		if _, err := c.Pool().Exec(ctx, `UPDATE river_job SET attempt = max_attempts - 1
			WHERE kind = 'deliver' AND (args->>'message_id')::bigint = $1`, id); err != nil {
			t.Fatal(err)
		}
		provider := &askingSender{}
		c2 := testenv.CoreOn(t, c.Pool(), func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: provider} })
		m := waitMessage(t, c2, id, "sent", "unknown", "failed")
		testenv.WaitJobsIdle(t, c.Pool())
		provider.mu.Lock()
		asked := provider.asked
		provider.mu.Unlock()
		if _, calls := provider.Sent(); m.State != "unknown" || asked != 0 || calls != 0 {
			t.Errorf("message %s after %d questions and %d sends, want unknown and neither", m.State, asked, calls)
		}
	})
}

// Opting out of texts stops texts, not mail: a resident who texted STOP
// and reports over Open311 with their phone and email hears back by mail.
func TestOptOutOfTextsStillGetsMail(t *testing.T) {
	t.Parallel()
	sms, email := &fakeSender{}, &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: sms, core.ChannelEmail: email}
	})
	ctx := context.Background()
	p := &phone{t: t, c: c, number: "+15305550150"}
	p.text("STOP")
	in := newPothole("optout@example.com")
	in.Reporter.Phone = p.number
	r, err := c.CreateRequest(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	m := waitMessage(t, c, outbound(t, c, r.ID)[0].ID, "sent", "not_sent", "failed", "unknown")
	if m.State != "sent" || m.Channel != core.ChannelEmail {
		t.Errorf("the acknowledgment is %s over %s (%s), want sent by mail", m.State, m.Channel, m.Error)
	}
	if sent, _ := email.Sent(); len(sent) != 1 || sent[0].To != "optout@example.com" {
		t.Errorf("mail sent: %+v", sent)
	}
}

// A text queued before the resident texted STOP is not sent after it: it
// is marked not sent, with the reason.
func TestTextQueuedBeforeStopIsNotSent(t *testing.T) {
	t.Parallel()
	sms := &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: sms}
		o.Workers = 0 // the acknowledgment waits in the queue
	})
	p := &phone{t: t, c: c, number: "+15305550151"}
	res := p.text("graffiti at 200 Myers Street")
	p.text("STOP")
	ack := outbound(t, c, res.RequestID)[0]
	if ack.State != "queued" {
		t.Fatalf("the acknowledgment is %s before any worker ran, want queued", ack.State)
	}
	testenv.CoreOn(t, c.Pool(), func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: sms} })
	m := waitMessage(t, c, ack.ID, "not_sent", "sent", "sending")
	testenv.WaitJobsIdle(t, c.Pool())
	if _, calls := sms.Sent(); m.State != "not_sent" || calls != 0 || !strings.Contains(m.Error, "STOP") {
		t.Errorf("message %s (%q) after %d sends, want not_sent for STOP and no send", m.State, m.Error, calls)
	}
}

// Every word carriers treat as an opt-out silences the number, in English
// and Spanish; START brings it back.
func TestEveryOptOutWord(t *testing.T) {
	t.Parallel()
	c, sms, _ := smsCore(t)
	ctx := context.Background()
	for i, word := range []string{"STOP", "stopall", "Unsubscribe", "CANCEL", "end", "Quit", "revoke", "optout",
		"ALTO", "Parar", "detener", "Cancelar", "baja"} {
		p := &phone{t: t, c: c, number: fmt.Sprintf("+153055502%02d", i)}
		p.text(word)
		var out bool
		if err := c.Pool().QueryRow(ctx, `SELECT opted_out_at IS NOT NULL FROM contacts WHERE phone = $1`, p.number).Scan(&out); err != nil {
			t.Fatal(err)
		}
		if !out {
			t.Errorf("%q did not opt %s out", word, p.number)
		}
		p.text("help")
		testenv.WaitJobsIdle(t, c.Pool())
		if a := p.answers(sms); len(a) != 0 {
			t.Errorf("after %q the number got %q", word, a)
		}
	}
}

// A resident who writes in Spanish reads the service's Spanish name in
// every mail: the acknowledgment and each later update.
func TestSpanishMailNamesTheServiceInSpanish(t *testing.T) {
	t.Parallel()
	c := filingCore(t)
	ctx := context.Background()
	nr := newPothole("ana@example.com")
	nr.Reporter.Language = "es"
	r, err := c.CreateRequest(ctx, nr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ChangeStatus(ctx, r.ID, core.StatusChange{To: core.StatusInProgress, Note: "Lo tapamos el lunes.", Public: true}); err != nil {
		t.Fatal(err)
	}
	out := outbound(t, c, r.ID)
	if len(out) != 2 {
		t.Fatalf("outbound = %+v, want the acknowledgment and the update", out)
	}
	for i, want := range []string{"Recibimos su reporte: Bache [#", "Novedades de su reporte: Bache [#"} {
		if !strings.HasPrefix(out[i].Subject, want) || !strings.Contains(out[i].Body, "Bache") || strings.Contains(out[i].Body, "Pothole") {
			t.Errorf("mail %d = %q / %q, want %q and the Spanish name", i+1, out[i].Subject, out[i].Body, want)
		}
	}
}
