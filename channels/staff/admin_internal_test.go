package staff

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

// The request page's "canned" partial offers the request's canned
// responses, and Insert brings the page back with the response, filled in
// the resident's language, after the words already typed.
func TestCannedBox(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	h := New(c, testenv.Logger(t), Config{})
	req, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
		Description: "Hoyo", Address: "1735 Montgomery Street", Reporter: core.Reporter{Email: "ana@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pool().Exec(ctx, `UPDATE contacts SET language = 'es' WHERE id = $1`, *req.ContactID); err != nil {
		t.Fatal(err)
	}
	id, err := c.SaveCannedResponse(ctx, core.CannedResponse{Title: "Recibido <b>", English: "Got #{number}.",
		Spanish: "Recibimos el #{number}, {service}: {status}."}, core.Actor{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/staff/requests/%d?", req.ID)

	box, draft, err := h.canned(httptest.NewRequest("GET", path, nil), req)
	if err != nil || draft != "" || len(box.Replies) != 1 {
		t.Fatalf("a plain page: %+v, %q, %v", box, draft, err)
	}
	var out bytes.Buffer
	if err := h.pages["request"].ExecuteTemplate(&out, "canned", box); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{fmt.Sprintf(`<option value="%d">Recibido &lt;b&gt; (español)</option>`, id),
		`formmethod="get"`, fmt.Sprintf(`formaction="/staff/requests/%d#reply"`, req.ID), `name="canned"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the partial lacks %s:\n%s", want, out.String())
		}
	}

	q := url.Values{"canned": {fmt.Sprint(id)}, "body": {"Hola Ana."}, "seen": {"1"}}
	_, draft, err = h.canned(httptest.NewRequest("GET", path+q.Encode(), nil), req)
	if want := fmt.Sprintf("Hola Ana.\n\nRecibimos el #%d, Bache: recibido.", req.ID); err != nil || draft != want {
		t.Errorf("inserted: %q, %v; want %q", draft, err, want)
	}
	q.Set("canned", "999999")
	if _, draft, _ = h.canned(httptest.NewRequest("GET", path+q.Encode(), nil), req); draft != "" {
		t.Errorf("a response not offered on the request was inserted: %q", draft)
	}

	// Nothing offered: nothing shown.
	out.Reset()
	if err := h.pages["request"].ExecuteTemplate(&out, "canned", cannedBox{RequestID: req.ID}); err != nil || strings.TrimSpace(out.String()) != "" {
		t.Errorf("an empty box renders %q, %v", out.String(), err)
	}
}

// A queue counted past the cap says so, not a made-up number.
func TestQueueCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 9999: "9999", 10000: "10000", 10001: "10000+"} {
		if got := queueCount(n); got != want {
			t.Errorf("queueCount(%d) = %q, want %q", n, got, want)
		}
	}
}

// After signing in, staff go where they were going inside the workspace,
// never to another site however the address is disguised.
func TestLocalNext(t *testing.T) {
	for next, want := range map[string]string{
		"/staff/requests/5":              "/staff/requests/5",
		"/staff/?sort=age":               "/staff/?sort=age",
		"":                               "/staff/",
		"/":                              "/staff/",
		"/account":                       "/staff/",
		"https://evil.example/staff/":    "/staff/",
		"//evil.example/staff/":          "/staff/",
		"/staff/\\evil.example":          "/staff/",
		"/\\evil.example/staff/":         "/staff/",
		"/staff/\r\nLocation: http://x/": "/staff/",
		"/staff/\nx":                     "/staff/",
	} {
		if got := localNext(next); got != want {
			t.Errorf("localNext(%q) = %q, want %q", next, got, want)
		}
	}
}

// The numbers page's figures, as people read them: rounded to the
// nearest percent, a median in days and hours from two days on, nothing
// as a dash.
func TestFiguresForPeople(t *testing.T) {
	for _, tc := range []struct {
		part, whole int64
		want        string
	}{{0, 0, "—"}, {0, 3, "0 %"}, {1, 3, "33 %"}, {2, 3, "67 %"}, {1, 200, "1 %"}, {1, 201, "0 %"}, {3, 3, "100 %"}} {
		if got := percent(tc.part, tc.whole); got != tc.want {
			t.Errorf("percent(%d, %d) = %q, want %q", tc.part, tc.whole, got, tc.want)
		}
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{59 * time.Second, "0m"}, {59 * time.Minute, "59m"}, {time.Hour, "1h 0m"}, {3*time.Hour + 20*time.Minute, "3h 20m"},
		{47*time.Hour + 59*time.Minute, "47h 59m"}, {48 * time.Hour, "2d 0h"}, {52*time.Hour + 30*time.Minute, "2d 4h"}} {
		if got := duration(&tc.d); got != tc.want {
			t.Errorf("duration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if got := duration(nil); got != "—" {
		t.Errorf("duration(nil) = %q", got)
	}
}

// The inbox's words for time and names: a request's age in minutes,
// hours, then days from two days on; its due date, or how long it is
// overdue while open; a department or service the city file no longer
// has, by its code.
func TestInboxWords(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	f := New(c, testenv.Logger(t), Config{}).funcs()
	now := time.Now()
	for ago, want := range map[time.Duration]string{30 * time.Minute: "30m", 90 * time.Minute: "1h", 47 * time.Hour: "47h",
		49 * time.Hour: "2d", 100 * time.Hour: "4d"} {
		if got := age(now.Add(-ago)); got != want {
			t.Errorf("age %v ago = %q, want %q", ago, got, want)
		}
	}
	due := f["due"].(func(core.Request) string)
	past, future := now.AddDate(0, 0, -3), now.AddDate(0, 0, 3)
	day := func(t time.Time) string { return t.In(c.City().Location).Format("Jan 2") }
	for _, tc := range []struct {
		r    core.Request
		want string
	}{
		{core.Request{Status: core.StatusNew}, "—"},
		{core.Request{Status: core.StatusNew, ExpectedAt: &past}, "overdue since " + day(past)},
		{core.Request{Status: core.StatusClosed, ExpectedAt: &past}, day(past)},
		{core.Request{Status: core.StatusInProgress, ExpectedAt: &future}, day(future)},
	} {
		if got := due(tc.r); got != tc.want {
			t.Errorf("due %+v = %q, want %q", tc.r.ExpectedAt, got, tc.want)
		}
	}
	if got := f["deptName"].(func(string) string)("public-works"); got != "Public Works" {
		t.Errorf("deptName = %q", got)
	}
	if got := f["deptName"].(func(string) string)("gone"); got != "gone" {
		t.Errorf("a department no longer in the city file = %q", got)
	}
	if got := f["serviceName"].(func(string) string)("gone"); got != "gone" {
		t.Errorf("a service no longer in the city file = %q", got)
	}
	isAssignee, three, four := f["isAssignee"].(func(*int64, int64) bool), int64(3), int64(4)
	if isAssignee(nil, 3) || !isAssignee(&three, 3) || isAssignee(&four, 3) {
		t.Error("isAssignee names the wrong person")
	}
	if got := f["sub"].(func(int64, int64) int64)(5, 3); got != 2 {
		t.Errorf("sub(5, 3) = %d", got)
	}
}

// The timeline's words for an event: its statuses, the close's reason,
// the note, and whether the public saw it.
func TestEventText(t *testing.T) {
	for _, tc := range []struct {
		e    core.Event
		want string
	}{
		{core.Event{To: core.StatusNew, Note: "routed to public-works"}, "Filed as New: routed to public-works"},
		{core.Event{From: core.StatusNew, To: core.StatusClosed, CloseReason: core.ReasonResolved, Note: "Filled.", Public: true},
			"New → Closed (resolved): Filled. [public]"},
		{core.Event{From: core.StatusNew, To: core.StatusInProgress}, "New → In progress"},
		{core.Event{Note: "Crew scheduled."}, "Crew scheduled."},
		{core.Event{Note: "Scheduled for Tuesday.", Public: true}, "Scheduled for Tuesday. [public]"},
		{core.Event{Public: true}, ""},
	} {
		if got := eventText(tc.e); got != tc.want {
			t.Errorf("eventText(%+v) = %q, want %q", tc.e, got, tc.want)
		}
	}
}
