package open311

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// A listing streamed request by request is byte for byte the document
// built whole, in both formats: clients parse exactly what they did.
func TestListingEncodesAsTheWholeDocument(t *testing.T) {
	t.Parallel()
	lat, long := 39.5138, -121.5564
	parent, expected := "1001", "2026-05-04T09:00:00-07:00"
	full := request{
		ID: "1002", Status: "open", StatusNotes: `"quoted" & <tagged>`, ServiceName: "Pothole",
		ServiceCode: "pothole", Description: "Señal rota — U+2028:\u2028 tab:\t ctrl:\x01 bad:\xff",
		AgencyResponsible: "Public Works", ServiceNotice: "Expected response by Monday, May 4",
		Requested: "2026-05-01T14:30:00-07:00", Updated: "2026-05-02T08:00:00-07:00", Expected: expected,
		Address: "1735 Montgomery St", Zipcode: "95965", Lat: &lat, Long: &long,
		MediaURL: "https://311.example/media/7?a=1&b=2",
		Extended: &extended{
			DetailedStatus: "IN_PROGRESS", Channel: "sms", Department: "public-works", Reports: 3,
			DuplicateOf: &parent, Expected: &expected,
			Notes: []note{{Datetime: "2026-05-02T08:00:00-07:00", Status: "ACKNOWLEDGED", Description: "On it <soon>"}},
		},
	}
	plain := request{ID: "1003", Status: "closed", ServiceCode: "graffiti", Requested: "2026-05-01T10:00:00-07:00"}
	noNotes := full
	noNotes.Extended = &extended{DetailedStatus: "NEW", Channel: "web", Notes: []note{}}
	for _, list := range [][]request{nil, {plain}, {full, plain, noNotes}} {
		for _, f := range []format{formatJSON, formatXML} {
			want, err := encode(f, requestList[request]{Requests: list})
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			l := listing{n: len(list), item: func(i int) request { return list[i] }}
			if err := l.encodeTo(&got, f); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s, %d requests:\nstreamed %s\nwhole    %s", f.ext(), len(list), got.Bytes(), want)
			}
		}
	}
}

func TestETagMatches(t *testing.T) {
	t.Parallel()
	const etag = `"abc"`
	for header, want := range map[string]bool{
		`"abc"`: true, `W/"abc"`: true, `"x", "abc"`: true, `*`: true,
		``: false, `"abcd"`: false, `abc`: false, `"x","y"`: false,
	} {
		if got := etagMatches(header, etag); got != want {
			t.Errorf("If-None-Match %s: %v, want %v", header, got, want)
		}
	}
}

// A listing carries an ETag of its body; sent back, it gets 304 until the
// listing changes, in either format.
func TestListingETag(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	b.create(t, b.validForm())
	getIf := func(path, etag string) response {
		t.Helper()
		req, err := http.NewRequest("GET", b.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		return b.do(t, req)
	}
	tags := map[string]string{}
	for _, path := range []string{"/open311/v2/requests.json", "/open311/v2/requests.xml?extensions=true"} {
		first := getIf(path, "")
		etag := first.header.Get("ETag")
		if first.status != 200 || !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
			t.Fatalf("GET %s: %d, ETag %q", path, first.status, etag)
		}
		if cl := first.header.Get("Content-Length"); cl != strconv.Itoa(len(first.body)) {
			t.Errorf("GET %s: Content-Length %s for %d bytes", path, cl, len(first.body))
		}
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag} {
			again := getIf(path, inm)
			if again.status != http.StatusNotModified || len(again.body) != 0 || again.header.Get("ETag") != etag {
				t.Errorf("GET %s If-None-Match %s: %d %q, ETag %q", path, inm, again.status, again.body, again.header.Get("ETag"))
			}
		}
		if other := getIf(path, `"stale"`); other.status != 200 || !bytes.Equal(other.body, first.body) {
			t.Errorf("GET %s with another ETag: %d, body changed", path, other.status)
		}
		tags[path] = etag
	}
	if tags["/open311/v2/requests.json"] == tags["/open311/v2/requests.xml?extensions=true"] {
		t.Error("the JSON and XML listings share an ETag")
	}

	b.create(t, b.validForm())
	for path, old := range tags {
		res := getIf(path, old)
		if res.status != 200 || res.header.Get("ETag") == old {
			t.Errorf("GET %s after a new request: %d, ETag %q (was %q)", path, res.status, res.header.Get("ETag"), old)
		}
	}
}

// Past maxListings listings at once, a client is told to come back.
func TestListingsCapped(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	h := New(b.c, slog.New(slog.DiscardHandler), 1<<20)
	mux := http.NewServeMux()
	h.Register(mux)
	for range cap(h.listings) {
		h.listings <- struct{}{} // listings being served
	}
	for _, path := range []string{"/open311/v2/requests.json", "/open311/v2/requests.xml"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		res := response{w.Code, w.Header(), w.Body.Bytes()}
		wantError(t, res, strings.HasSuffix(path, ".xml"), http.StatusServiceUnavailable, "too many listings")
		if res.header.Get("Retry-After") == "" || res.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s when busy: headers %v", path, res.header)
		}
	}
	// Other endpoints are not held back.
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/open311/v2/services.json", nil))
	if w.Code != 200 {
		t.Errorf("services when listings are busy: %d", w.Code)
	}
	<-h.listings // one finishes
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/open311/v2/requests.json", nil))
	if w.Code != 200 {
		t.Errorf("listing with a free slot: %d %s", w.Code, w.Body)
	}
	if len(h.listings) != cap(h.listings)-1 {
		t.Errorf("the listing kept its slot: %d of %d taken", len(h.listings), cap(h.listings))
	}
}

// logBuffer is a log to read back, safe for concurrent handlers.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A client that went away is neither a 500 nor an error in the log: its
// cancelled query is recorded as 499 and logged at debug.
func TestClientGoneIsNoError(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	var logs logBuffer
	h := New(b.c, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), 1<<20)
	mux := http.NewServeMux()
	h.Register(mux)
	before := b.countRequests(t)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for _, path := range []string{"/open311/v2/requests.json", "/open311/v2/requests.xml?extensions=true", "/open311/v2/requests/1001.json"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil).WithContext(gone))
		if w.Code != statusClientClosed {
			t.Errorf("GET %s, client gone: %d %s", path, w.Code, w.Body)
		}
	}
	form := b.validForm()
	req := httptest.NewRequest("POST", "/open311/v2/requests.json", strings.NewReader(form.Encode())).WithContext(gone)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	if w.Code != statusClientClosed {
		t.Errorf("POST, client gone: %d %s", w.Code, w.Body)
	}
	out := logs.String()
	if strings.Contains(out, "level=ERROR") || strings.Contains(out, "level=WARN") || strings.Contains(out, "level=INFO") {
		t.Errorf("a client that went away was logged above debug:\n%s", out)
	}
	if !strings.Contains(out, "client went away") {
		t.Errorf("nothing logged at debug:\n%s", out)
	}
	if n := b.countRequests(t); n != before {
		t.Errorf("%d requests filed for a client gone", n-before)
	}
}

// brokenWriter is a client that stops reading after the headers: every
// write of the body fails.
type brokenWriter struct{ *httptest.ResponseRecorder }

func (brokenWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

// A listing cut short by its client is logged at debug as such; one sent
// whole is not logged at all, so the debug log tells an operator which
// clients gave up.
func TestListingCutShortIsLogged(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	h := &Handler{log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	list := []request{{ID: "1001", Status: "open", ServiceCode: "pothole"}}
	l := listing{n: len(list), item: func(i int) request { return list[i] }}
	for _, f := range []format{formatJSON, formatXML} {
		w := httptest.NewRecorder()
		h.stream(w, httptest.NewRequest("GET", "/open311/v2/requests."+f.ext(), nil), f, l)
		if w.Code != 200 || !strings.Contains(w.Body.String(), "1001") {
			t.Errorf("%s: %d %s", f.ext(), w.Code, w.Body)
		}
	}
	if out := logs.String(); out != "" {
		t.Errorf("listings sent whole were logged:\n%s", out)
	}
	h.stream(brokenWriter{httptest.NewRecorder()}, httptest.NewRequest("GET", "/open311/v2/requests.json", nil), formatJSON, l)
	if out := logs.String(); !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "listing cut short") {
		t.Errorf("a listing cut short was not logged at debug:\n%q", out)
	}
}
