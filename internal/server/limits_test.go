package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"townline/internal/server"
)

// routes are extra routes for a test, mounted as a channel's are.
type routes map[string]http.HandlerFunc

func (rs routes) Register(mux *http.ServeMux) {
	for pattern, h := range rs {
		mux.HandleFunc(pattern, h)
	}
}

// patience bounds every wait on the server: far above the limits the
// tests set, it only keeps a broken test from hanging.
const patience = 30 * time.Second

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// trickle writes one byte of s at a time, forever, until the connection
// fails.
func trickle(c net.Conn, b byte) {
	for {
		if _, err := c.Write([]byte{b}); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond) // the scenario: a client that sends slowly
	}
}

// waitClosed reads c to its end: the server must close it.
func waitClosed(t *testing.T, name string, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(patience))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("%s client: still connected after %s, though the limits are about a second", name, patience)
	}
}

// Slow and silent clients, and one that never reads its answer, are cut
// off by the limits, while an ordinary client is served meanwhile; the
// answer cut off is counted as the client's (499), not as a failure.
func TestHostileClientsAreCutOff(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	cut := make(chan error, 1)
	b := setup(t, func(o *server.Options) {
		o.Limits = server.Limits{ReadHeader: 500 * time.Millisecond, Read: time.Second, Write: time.Second, Idle: time.Second}
		o.Channels = []server.Channel{routes{"GET /test/big": func(w http.ResponseWriter, r *http.Request) {
			close(started)
			chunk := []byte(strings.Repeat("x", 32<<10))
			for {
				if _, err := w.Write(chunk); err != nil {
					cut <- err
					return
				}
			}
		}}}
	})
	addr := b.srv.Listener.Addr().String()

	silent := dial(t, addr) // connects and says nothing
	slowHeaders := dial(t, addr)
	fmt.Fprint(slowHeaders, "GET /healthz HTTP/1.1\r\nHost: townline\r\nX-Slow: ")
	go trickle(slowHeaders, 'a')
	slowBody := dial(t, addr)
	fmt.Fprint(slowBody, "POST /open311/v2/requests.json HTTP/1.1\r\nHost: townline\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\ndescription=")
	go trickle(slowBody, 'a')
	deaf := dial(t, addr)
	fmt.Fprint(deaf, "GET /test/big HTTP/1.1\r\nHost: townline\r\n\r\n")
	select {
	case <-started:
	case <-time.After(patience):
		t.Fatal("the large answer never started")
	}

	if code, body := get(t, b.srv.URL+"/open311/v2/services.json"); code != 200 || !strings.Contains(body, `"service_code"`) {
		t.Errorf("an ordinary client beside the hostile ones: %d %.200s", code, body)
	}

	waitClosed(t, "silent", silent)
	waitClosed(t, "slow-header", slowHeaders)
	waitClosed(t, "slow-body", slowBody)
	select {
	case err := <-cut:
		t.Logf("the answer no one read was cut off: %v", err)
	case <-time.After(patience):
		t.Fatal("the answer no one read was never cut off")
	}
	waitClosed(t, "never-reading", deaf)

	_, metrics := get(t, b.srv.URL+"/metrics")
	want := `townline_http_request_duration_seconds_count{code="499",method="GET",route="GET /test/big"} 1`
	if !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %s", want)
	}
}

// A stream (server-sent events, later) lifts its own deadlines with
// http.ResponseController, through the server's instrumentation, and
// outlives the limits.
func TestStreamLiftsItsDeadlines(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	b := setup(t, func(o *server.Options) {
		o.Limits = server.Limits{Read: 200 * time.Millisecond, Write: 200 * time.Millisecond}
		o.Channels = []server.Channel{routes{"GET /test/stream": func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			if err := errors.Join(rc.SetWriteDeadline(time.Time{}), rc.SetReadDeadline(time.Time{})); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprint(w, "first\n")
			rc.Flush()
			select {
			case <-release:
				fmt.Fprint(w, "second\n")
			case <-r.Context().Done():
			}
		}}}
	})
	resp, err := http.Get(b.srv.URL + "/test/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); line != "first\n" {
		t.Fatalf("first event: %q, %v", line, err)
	}
	time.Sleep(time.Second) // well past both limits
	close(release)
	rest, err := io.ReadAll(br)
	if string(rest) != "second\n" || err != nil {
		t.Errorf("after the limits: %q, %v; want the second event", rest, err)
	}
}

// Made-up methods share one label value: they cannot add series.
func TestMethodLabelsBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, method := range []string{"BREW", "XYZZY1", "XYZZY2", "GET"} {
		req, err := http.NewRequest(method, b.srv.URL+"/healthz", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	_, metrics := get(t, b.srv.URL+"/metrics")
	for _, made := range []string{"BREW", "XYZZY"} {
		if strings.Contains(metrics, made) {
			t.Errorf("/metrics has a series for the method %s", made)
		}
	}
	for _, want := range []string{`method="other"`, `code="200",method="GET",route="GET /healthz"`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// A request whose client went away is counted as 499, even when the
// handler then answers 500.
func TestClientGoneIs499(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	b := setup(t, func(o *server.Options) {
		o.Channels = []server.Channel{routes{"GET /test/wait": func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-r.Context().Done()
			// As a handler would that took the cancelled query for a failure.
			http.Error(w, "internal error", http.StatusInternalServerError)
		}}}
	})
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", b.srv.URL+"/test/wait", nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the client's request ended with %v, want it cancelled", err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), patience)
	defer cancel()
	if err := b.answered.wait(ctx, "/test/wait"); err != nil {
		t.Fatalf("the server was not done with the request after %v", patience)
	}
	want := `townline_http_request_duration_seconds_count{code="499",method="GET",route="GET /test/wait"} 1`
	_, metrics := get(t, b.srv.URL+"/metrics")
	if !strings.Contains(metrics, want) {
		t.Fatalf("/metrics does not show %s:\n%s", want, metrics)
	}
	if strings.Contains(metrics, `code="500",method="GET",route="GET /test/wait"`) {
		t.Error("the request of a client that went away was counted as a 500")
	}
}

// /readyz says what failed in a few words and never the error behind it;
// once draining it fails while everything else is still served.
func TestReadyzSaysOnlyWhatFailed(t *testing.T) {
	t.Parallel()
	var mailboxDown atomic.Bool
	secret := errors.New("email: mailbox INBOX on imap.example.net:993 unreachable: login 311@example.net: wrong password")
	b := setup(t, func(o *server.Options) {
		o.Checks = []server.Check{{Failing: "mailbox unreachable", Ready: func() error {
			if mailboxDown.Load() {
				return secret
			}
			return nil
		}}}
	})
	readyz := func(want int, wantBody string) {
		t.Helper()
		if code, body := get(t, b.srv.URL+"/readyz"); code != want || body != wantBody {
			t.Errorf("/readyz = %d %q, want %d %q", code, body, want, wantBody)
		}
	}
	readyz(200, "ready\n")
	mailboxDown.Store(true)
	readyz(503, "mailbox unreachable\n")
	mailboxDown.Store(false)

	ctx := context.Background()
	var version int
	var name string
	if err := b.core.Pool().QueryRow(ctx, "DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations) RETURNING version, name").Scan(&version, &name); err != nil {
		t.Fatal(err)
	}
	readyz(503, "database schema is behind\n")
	if _, err := b.core.Pool().Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name); err != nil {
		t.Fatal(err)
	}
	readyz(200, "ready\n")

	b.server.Drain()
	readyz(503, "shutting down\n")
	for _, path := range []string{"/healthz", "/open311/v2/requests.json", "/"} {
		if code, body := get(t, b.srv.URL+path); code != 200 {
			t.Errorf("%s while draining = %d %.200s, want it still served", path, code, body)
		}
	}
}

// With MetricsApart, /metrics is served only by Metrics, which counts the
// main handler's requests.
func TestMetricsApart(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *server.Options) { o.MetricsApart = true })
	if code, _ := get(t, b.srv.URL+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	if code, body := get(t, b.srv.URL+"/metrics"); code != 404 || strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics on the main listener = %d %.100s, want 404", code, body)
	}
	m := httptest.NewServer(b.server.Metrics())
	defer m.Close()
	code, metrics := get(t, m.URL+"/metrics")
	if want := `code="200",method="GET",route="GET /healthz"`; code != 200 || !strings.Contains(metrics, want) {
		t.Errorf("/metrics apart = %d, lacks %s", code, want)
	}
	if code, _ := get(t, m.URL+"/healthz"); code != 404 {
		t.Errorf("the metrics listener serves /healthz: %d", code)
	}
}
