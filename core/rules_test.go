package core_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

// The lifecycle allows only its moves, and only a close takes a reason: a
// refused change leaves the request and its history as they were.
func TestStatusChangeRules(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	r, err := c.CreateRequest(ctx, newPothole(""))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		to     core.Status
		reason core.CloseReason
		ok     bool
	}{
		{core.StatusInProgress, core.ReasonResolved, false}, // not a close, yet a reason
		{core.StatusAcknowledged, "", true},
		{core.StatusNew, "", false}, // never back to new
		{core.StatusClosed, "", false},
		{core.StatusClosed, core.ReasonDuplicate, false}, // duplicates are marked, not closed
		{core.StatusClosed, "fixed", false},
		{core.StatusInProgress, "", true},
		{core.StatusAcknowledged, "", false}, // no going back
		{core.StatusClosed, core.ReasonReferred, true},
		{core.StatusClosed, core.ReasonResolved, false}, // closed already
		{core.StatusInProgress, "", true},               // reopened
	}
	status := core.StatusNew
	for _, s := range steps {
		before, _ := c.History(ctx, r.ID, false)
		err := c.ChangeStatus(ctx, r.ID, core.StatusChange{To: s.to, Reason: s.reason, Note: "step"})
		got, _ := c.Request(ctx, r.ID)
		after, _ := c.History(ctx, r.ID, false)
		switch {
		case s.ok && err != nil:
			t.Errorf("%s -> %s (%q) refused: %v", status, s.to, s.reason, err)
		case !s.ok && !errors.Is(err, core.ErrTransition):
			t.Errorf("%s -> %s (%q) = %v, want ErrTransition", status, s.to, s.reason, err)
		case !s.ok && (got.Status != status || len(after) != len(before)):
			t.Errorf("refused %s -> %s changed the request to %s or its history", status, s.to, got.Status)
		}
		if s.ok {
			status = s.to
			if got.Status != s.to || got.CloseReason != s.reason {
				t.Errorf("after %s (%q): request is %s (%q)", s.to, s.reason, got.Status, got.CloseReason)
			}
		}
	}
}

// A revoked API key files nothing (a fresh server; a running one forgets
// a key within its cache minute).
func TestRevokedAPIKey(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	key, err := c.AddAPIKey(ctx, "SeeClickFix")
	if err != nil {
		t.Fatal(err)
	}
	if name, err := c.CheckAPIKey(ctx, key); err != nil || name != "SeeClickFix" {
		t.Fatalf("a new key: %q, %v", name, err)
	}
	if _, err := c.Pool().Exec(ctx, `UPDATE api_keys SET revoked_at = now()`); err != nil {
		t.Fatal(err)
	}
	fresh := testenv.CoreOn(t, c.Pool(), func(o *core.Options) { o.Workers = 0 })
	if _, err := fresh.CheckAPIKey(ctx, key); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a revoked key: %v, want ErrNotFound", err)
	}
	if _, err := fresh.CheckAPIKey(ctx, key+"x"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("an unknown key: %v, want ErrNotFound", err)
	}
}

// An MMS whose photos together pass the upload limit keeps what fits and
// tells staff what was refused.
func TestMMSOverTheLimitInAll(t *testing.T) {
	t.Parallel()
	sms := &fakeSender{}
	media := &fakeFetcher{files: map[string][]byte{}}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: sms}
		o.Fetchers = map[core.Channel]core.MediaFetcher{core.ChannelSMS: media}
		o.MaxUpload = 10_000
	})
	ctx := context.Background()
	photo := func(b byte) []byte { // 6,000 bytes that sniff as a JPEG
		return append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, strings.Repeat(string(b), 5996)...)
	}
	media.files["https://media.example/1.jpg"] = photo('a')
	media.files["https://media.example/2.jpg"] = photo('b')
	p := &phone{t: t, c: c, number: "+15305550160"}
	res := p.text("pothole at 1735 Montgomery Street",
		core.Media{URL: "https://media.example/1.jpg", ContentType: "image/jpeg"},
		core.Media{URL: "https://media.example/2.jpg", ContentType: "image/jpeg"})
	testenv.WaitJob(t, c.Pool(), "fetch_media", nil)
	var files int
	if err := c.Pool().QueryRow(ctx, `SELECT count(*) FROM attachments WHERE message_id = $1`, res.MessageID).Scan(&files); err != nil {
		t.Fatal(err)
	}
	if files != 1 {
		t.Errorf("%d photos kept, want the 1 that fits", files)
	}
	events, err := c.History(ctx, res.RequestID, false)
	if err != nil {
		t.Fatal(err)
	}
	refused := false
	for _, e := range events {
		refused = refused || strings.Contains(e.Note, "file 2 refused")
	}
	if !refused {
		t.Errorf("the history does not say the second photo was refused: %+v", events)
	}
}

// Photos that fill the limit exactly are kept; one more is refused as
// over the limit in all.
func TestMMSFilledToTheLimit(t *testing.T) {
	t.Parallel()
	media := &fakeFetcher{files: map[string][]byte{}}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: &fakeSender{}}
		o.Fetchers = map[core.Channel]core.MediaFetcher{core.ChannelSMS: media}
		o.MaxUpload = 10_000
	})
	ctx := context.Background()
	var urls []core.Media
	for i := range 3 {
		url := fmt.Sprintf("https://media.example/%d.jpg", i+1)
		media.files[url] = append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, strings.Repeat(string(rune('a'+i)), 4996)...) // 5,000 bytes
		urls = append(urls, core.Media{URL: url, ContentType: "image/jpeg"})
	}
	res := (&phone{t: t, c: c, number: "+15305550163"}).text("pothole at 1735 Montgomery Street", urls...)
	testenv.WaitJob(t, c.Pool(), "fetch_media", nil)
	var files int
	if err := c.Pool().QueryRow(ctx, `SELECT count(*) FROM attachments WHERE message_id = $1`, res.MessageID).Scan(&files); err != nil {
		t.Fatal(err)
	}
	events, err := c.History(ctx, res.RequestID, false)
	if err != nil {
		t.Fatal(err)
	}
	if files != 2 || !slices.ContainsFunc(events, func(e core.Event) bool {
		return strings.Contains(e.Note, "file 3 refused: the message's files are over")
	}) {
		t.Errorf("%d photos kept, history %+v; want 2, and the third refused as over the limit in all", files, events)
	}
}

// A text whose address the city cannot place is filed as written; a
// photo beside it then places it, its other files are refused by number,
// one line each, and the photo kept is named by its own.
func TestMMSPlacesItsRequest(t *testing.T) {
	t.Parallel()
	c, _, media := smsCore(t)
	ctx := context.Background()
	media.files["m1"] = gpsPhoto(t, 39.51380, -121.55640)
	media.files["m2"] = []byte("MZ\x90\x00 an executable")
	media.files["m3"] = []byte("MZ\x90\x00 another")
	p := &phone{t: t, c: c, number: "+15305550164"}
	res := p.text("pothole at 2100 Fake Rd",
		core.Media{URL: "m1", ContentType: "image/jpeg"}, core.Media{URL: "m2", ContentType: "image/jpeg"}, core.Media{URL: "m3", ContentType: "image/jpeg"})
	if res.RequestID == 0 {
		t.Fatal("not filed at once")
	}
	testenv.WaitJob(t, c.Pool(), "fetch_media", nil)
	r, err := c.Request(ctx, res.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Lat == nil || *r.Lat < 39.5137 || *r.Lat > 39.5139 || r.Address != "2100 Fake Rd" {
		t.Errorf("request at %v %q, want the photo's position and the address as written", r.Lat, r.Address)
	}
	var names []string
	rows, _ := c.Pool().Query(ctx, `SELECT filename FROM attachments WHERE request_id = $1`, r.ID)
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	if rows.Err() != nil || !slices.Equal(names, []string{"media-1.jpg"}) {
		t.Errorf("attachments %v, %v; want media-1.jpg alone", names, rows.Err())
	}
	events, err := c.History(ctx, r.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	want := "file 2 refused: application/octet-stream is not a photo\nfile 3 refused: application/octet-stream is not a photo"
	if !slices.ContainsFunc(events, func(e core.Event) bool { return e.Note == want }) {
		t.Errorf("history %+v, want the note %q", events, want)
	}
}

// Photos that are all kept add nothing to the history: every entry says
// something.
func TestMMSAllKept(t *testing.T) {
	t.Parallel()
	c, _, media := smsCore(t)
	media.files["m1"] = gpsPhoto(t, 39.51380, -121.55640)
	res := (&phone{t: t, c: c, number: "+15305550165"}).text("pothole at 1735 Montgomery Street", core.Media{URL: "m1", ContentType: "image/jpeg"})
	testenv.WaitJob(t, c.Pool(), "fetch_media", nil)
	events, err := c.History(context.Background(), res.RequestID, false)
	if err != nil || len(events) == 0 || slices.ContainsFunc(events, func(e core.Event) bool { return e.Note == "" && e.To == "" && e.Department == "" }) {
		t.Errorf("history %+v, %v; want no entry that says nothing", events, err)
	}
}

// An update carries its own public note or none: a later change without
// one does not repeat an earlier note, nor show a private one, to the
// reporter or to a follower.
func TestUpdateCarriesItsOwnNote(t *testing.T) {
	t.Parallel()
	c, sms, _ := smsCore(t)
	ctx := context.Background()
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	reporter := &phone{t: t, c: c, number: "+15305550166"}
	id := reporter.text("pothole at 1735 Montgomery Street").RequestID
	follower := &phone{t: t, c: c, number: "+15305550167"}
	follower.text(fmt.Sprintf("follow %d", id))
	next := func(i int) string {
		m, err := sms.Next(wait, i)
		if err != nil {
			t.Fatal(err)
		}
		return m.Body
	}
	next(1) // the acknowledgment and the answer to FOLLOW
	if err := c.ChangeStatus(ctx, id, core.StatusChange{To: core.StatusInProgress, Note: "Crew on the way.", Public: true, By: core.Actor{Name: "dispatcher"}}); err != nil {
		t.Fatal(err)
	}
	for i := 2; i < 4; i++ {
		if body := next(i); !strings.Contains(body, "now in progress. Crew on the way.") {
			t.Errorf("update %q, want its note", body)
		}
	}
	if err := c.ChangeStatus(ctx, id, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved, Note: "crew 3, 2 bags of asphalt",
		By: core.Actor{Name: "dispatcher"}}); err != nil {
		t.Fatal(err)
	}
	for i := 4; i < 6; i++ {
		if body := next(i); !strings.Contains(body, "now closed.") || strings.Contains(body, "Crew") || strings.Contains(body, "asphalt") {
			t.Errorf("update %q, want it closed without a note", body)
		}
	}
}

// At night, a resident who texted the city is answered at once, while a
// first text to one who reported another way waits for the morning. The
// city's clock is set to two in the night, whatever the hour the test runs.
func TestFirstTextWaitsForMorning(t *testing.T) {
	t.Parallel()
	sms := &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: sms}
		off := (2-time.Now().UTC().Hour()+36)%24 - 12 // hours east of UTC, -12 to 11
		zone := "Etc/GMT"                             // whose names count west
		if off != 0 {
			zone += fmt.Sprintf("%+d", -off)
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		o.City.Location = loc
	})
	ctx := context.Background()
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	(&phone{t: t, c: c, number: "+15305550168"}).text("pothole at 1735 Montgomery Street")
	if m, err := sms.Next(wait, 0); err != nil || m.To != "+15305550168" {
		t.Fatalf("the texter's acknowledgment: %+v, %v; want it sent at night", m, err)
	}
	in := newPothole("")
	in.Reporter = core.Reporter{Phone: "+15305550169"}
	r, err := c.CreateRequest(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Reply(ctx, r.ID, core.ChannelSMS, "Which lane is the pothole in?", core.Actor{Name: "desk@cityoforoville.org"})
	if err != nil {
		t.Fatal(err)
	}
	at := deliverAt(t, c, id)
	if local := at.In(c.City().Location); local.Hour() != 9 || at.Before(time.Now().Add(6*time.Hour)) {
		t.Errorf("the first text to an Open311 reporter goes at %v, want 9 in the morning", local)
	}
}

// A photo whose host stays down is given up on after the last attempt,
// and the request's history says so: the report itself stands.
func TestPhotoHostDown(t *testing.T) {
	t.Parallel()
	media := &fakeFetcher{files: map[string][]byte{}, fails: 100}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: &fakeSender{}}
		o.Fetchers = map[core.Channel]core.MediaFetcher{core.ChannelSMS: media}
		o.MaxAttempts, o.RetryBase = 2, time.Millisecond
	})
	ctx := context.Background()
	p := &phone{t: t, c: c, number: "+15305550162"}
	res := p.text("pothole at 1735 Montgomery Street", core.Media{URL: "https://media.example/down.jpg", ContentType: "image/jpeg"})
	if state := testenv.WaitJob(t, c.Pool(), "fetch_media", nil); state != "completed" {
		t.Errorf("the download job ended %s, want completed with the file given up", state)
	}
	events, err := c.History(ctx, res.RequestID, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(events, func(e core.Event) bool {
		return strings.Contains(e.Note, "file 1 could not be downloaded: media host answered 502")
	}) {
		t.Errorf("the history does not say the photo could not be downloaded: %+v", events)
	}
}

// racingSender answers every send with a provider id and, at the same
// moment, has the provider's "delivered" receipt arrive, as a fast
// network does: the receipt's transaction overlaps the send's record.
type racingSender struct {
	c  *core.Core
	n  atomic.Int64
	wg sync.WaitGroup
}

func (s *racingSender) Send(ctx context.Context, m core.Outbound) (string, error) {
	id := fmt.Sprintf("race-%d", s.n.Add(1))
	s.wg.Go(func() {
		time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond)
		s.c.RecordDelivery(context.Background(), core.ChannelEmail, core.Receipt{ProviderID: id, State: core.DeliveryDelivered})
	})
	return id, nil
}

// A receipt that arrives while its send is being recorded is never lost:
// every message ends delivered, whichever transaction commits first.
func TestReceiptsRacingTheirSend(t *testing.T) {
	t.Parallel()
	s := &racingSender{}
	c := testenv.Core(t, func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: s} })
	s.c = c
	ctx := context.Background()
	const n = 60
	for i := range n {
		if _, err := c.CreateRequest(ctx, newPothole(fmt.Sprintf("racer%d@example.com", i))); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitJobsIdle(t, c.Pool())
	s.wg.Wait()
	var delivered, all int
	c.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'delivered'), count(*) FROM messages
		WHERE direction = 'out'`).Scan(&delivered, &all)
	if all != n || delivered != n {
		t.Errorf("%d of %d acknowledgments delivered, want all %d", delivered, all, n)
	}
}
