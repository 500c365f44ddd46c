package staff_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"townline/core"
)

// event is one server-sent event.
type event struct{ id, name, data string }

// listen opens the live stream as cl, sending lastID when set, and
// returns its events as they come; the channel closes with the stream.
func (b *bundle) listen(cl *http.Client, lastID string) (int, <-chan event) {
	b.t.Helper()
	return b.listenAt(cl, "/staff/events", lastID)
}

// listenAt is listen at path, with a query.
func (b *bundle) listenAt(cl *http.Client, path, lastID string) (int, <-chan event) {
	b.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", b.srv.URL+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := cl.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	events := make(chan event, 100)
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		close(events)
		return resp.StatusCode, events
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		b.t.Errorf("Content-Type %q", ct)
	}
	go func() {
		defer close(events)
		defer resp.Body.Close()
		var e event
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ": ")
			switch k {
			case "id":
				e.id = v
			case "event":
				e.name = v
			case "data":
				e.data = v
			case "":
				if e.name != "" {
					events <- e
				}
				e = event{}
			}
		}
	}()
	return resp.StatusCode, events
}

// next waits for the next event of the stream.
func (b *bundle) next(events <-chan event) event {
	b.t.Helper()
	select {
	case e, ok := <-events:
		if !ok {
			b.t.Fatal("the stream ended")
		}
		return e
	case <-time.After(10 * time.Second):
		b.t.Fatal("no event within 10 s")
	}
	return event{}
}

func changeOf(id int64) string { return `{"request":` + strconv.FormatInt(id, 10) + `}` }

// Staff hear of their departments' requests as they change, whoever
// changes them; a reconnecting page hears what it missed.
func TestLiveChanges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	roads, parks, desk := b.signIn("roads@oroville.test"), b.signIn("parks@oroville.test"), b.signIn("desk@oroville.test")
	_, roadsEvents := b.listen(roads, "")
	_, parksEvents := b.listen(parks, "")
	_, deskEvents := b.listen(desk, "")
	// The stream answers once the listener listens: a change made at once
	// is heard.
	if err := b.c.AddNote(ctx, b.pothole.ID, "Crew scheduled.", false, core.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	first := b.next(roadsEvents)
	if first.name != "change" || first.data != changeOf(b.pothole.ID) || first.id == "" {
		t.Fatalf("roads heard %+v, want a change of #%d with an id", first, b.pothole.ID)
	}
	// A triage request moved to Parks: the dispatcher and Parks hear of it;
	// Parks heard nothing of the pothole before it.
	if err := b.c.Assign(ctx, b.triage.ID, "parks-trees", nil, core.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	if e := b.next(parksEvents); e.data != changeOf(b.triage.ID) {
		t.Errorf("parks heard %+v first, want only the change of #%d", e, b.triage.ID)
	}
	for e := b.next(deskEvents); e.data != changeOf(b.triage.ID); e = b.next(deskEvents) {
		if e.data != changeOf(b.pothole.ID) {
			t.Fatalf("the dispatcher heard %+v", e)
		}
	}
	// A reply's message is a change of its request too: roads hears it, and
	// a stream that reconnects with the last id it had hears it again.
	if _, err := b.c.Reply(ctx, b.pothole.ID, "", "On our list.", core.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	for e := b.next(roadsEvents); e.data != changeOf(b.pothole.ID) || e.id == first.id; e = b.next(roadsEvents) {
	}
	// (The replay reaches a little further back than the id: the triage
	// request, which left Public Works as the test began, may come too.)
	_, again := b.listen(roads, first.id)
	for e := b.next(again); e.data != changeOf(b.pothole.ID); e = b.next(again) {
		if e.data != changeOf(b.triage.ID) {
			t.Fatalf("after reconnecting, roads heard %+v", e)
		}
	}
	// Parks, reconnecting, hears the triage request it now sees, not the pothole.
	_, parksAgain := b.listen(parks, first.id)
	if e := b.next(parksAgain); e.data != changeOf(b.triage.ID) {
		t.Errorf("after reconnecting, parks heard %+v", e)
	}
	// A page gone longer than changes are kept reloads what it shows.
	old := strconv.FormatInt(time.Now().Add(-core.KeepChanges-time.Hour).UnixMicro(), 10)
	_, stale := b.listen(roads, old)
	if e := b.next(stale); e.name != "reload" {
		t.Errorf("a page gone for a day heard %+v, want reload", e)
	}
}

// A page's first stream hears what changed between the page's making and
// the stream's opening.
func TestLiveSincePageMade(t *testing.T) {
	t.Parallel()
	b := setup(t)
	roads := b.signIn("roads@oroville.test")
	made := strconv.FormatInt(time.Now().UnixMicro(), 10)
	if err := b.c.AddNote(context.Background(), b.pothole.ID, "Crew scheduled.", false, core.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	_, events := b.listenAt(roads, "/staff/events?since="+made, "")
	// (The replay reaches a little further back: the setup's requests may come too.)
	for e := b.next(events); e.data != changeOf(b.pothole.ID); e = b.next(events) {
		if e.name != "change" {
			t.Fatalf("heard %+v, want the change made after the page", e)
		}
	}
	// The replay was whole: no reload is asked for before the next change.
	next, err := b.c.CreateRequest(context.Background(), core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
		Description: "Another pothole", Address: "1735 Montgomery Street", Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for e := b.next(events); e.data != changeOf(next.ID); e = b.next(events) {
		if e.name != "change" {
			t.Fatalf("after a whole replay, heard %+v; want changes only", e)
		}
	}
	// The pages ask for it with the time they were made.
	_, page := b.get(roads, "/staff/")
	if !strings.Contains(page, `data-since="`) {
		t.Errorf("the inbox does not say when it was made")
	}
}

func TestLiveStreamRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if code, _ := b.listen(b.signIn(""), ""); code != http.StatusForbidden {
		t.Errorf("signed out: %d, want 403", code)
	}
	roads := b.signIn("roads@oroville.test")
	_, events := b.listen(roads, "")
	// Shutting down ends the streams and refuses new ones, so pages
	// reconnect to another instance.
	b.staff.Drain()
	select {
	case _, ok := <-events:
		for ok {
			_, ok = <-events
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream outlived the drain")
	}
	if code, _ := b.listen(roads, ""); code != http.StatusServiceUnavailable {
		t.Errorf("while draining: %d, want 503", code)
	}
}

// The message an action leaves for the next page (a flash) waits for the
// page the user goes to: the live script's fetch of the page behind it,
// which may come first, leaves it there.
func TestFlashOutlivesLiveFetch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	roads := b.signIn("roads@oroville.test")
	page := fmt.Sprintf("/staff/requests/%d", b.pothole.ID)
	if code, _ := b.post(roads, page+"/note", url.Values{"note": {"Crew scheduled."}, "seen": {b.seen(roads, b.pothole.ID)}}); code != 303 {
		t.Fatalf("note: %d", code)
	}
	req, _ := http.NewRequest("GET", b.srv.URL+page, nil)
	req.Header.Set("X-Townline-Live", "1")
	resp, err := roads.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, shown := b.get(roads, page); !strings.Contains(shown, `class="flash"`) {
		t.Error("the page the user went to shows no flash")
	}
}
