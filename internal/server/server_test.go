package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"townline/core"
	"townline/internal/server"
	"townline/internal/testenv"
)

// proxy forwards TCP to the database and can cut it, to play an outage.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.setDown(true) })
	go p.serve()
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { io.Copy(up, c); up.Close() }()
		go func() { io.Copy(c, up); c.Close() }()
	}
}

func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

type bundle struct {
	core     *core.Core
	server   *server.Server
	srv      *httptest.Server
	proxy    *proxy
	answered *answered
}

// answered records the paths of the requests the server is done with,
// metrics recorded and all, for tests to wait on.
type answered struct {
	mu    sync.Mutex
	paths []string
	more  chan struct{} // closed, and replaced, when a request is done
}

func (a *answered) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		a.mu.Lock()
		defer a.mu.Unlock()
		a.paths = append(a.paths, r.URL.Path)
		close(a.more)
		a.more = make(chan struct{})
	})
}

// wait waits until the server is done with a request for path, or ctx
// ends.
func (a *answered) wait(ctx context.Context, path string) error {
	for {
		a.mu.Lock()
		done, more := slices.Contains(a.paths, path), a.more
		a.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-more:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// setup serves townline as serve does, limits included, on a database
// behind a proxy that can cut it; mods change the options.
func setup(t *testing.T, mods ...func(*server.Options)) bundle {
	t.Helper()
	direct := testenv.Pool(t)
	u, err := url.Parse(testenv.URL(direct))
	if err != nil {
		t.Fatal(err)
	}
	px := newProxy(t, u.Host)
	u.Host = px.ln.Addr().String()
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.ConnectTimeout = time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	c := testenv.CoreOn(t, pool, func(o *core.Options) { o.Workers = 0 })
	opts := server.Options{Logger: testenv.Logger(t), MaxBody: 1 << 20}
	for _, mod := range mods {
		mod(&opts)
	}
	s := server.New(c, opts)
	done := &answered{more: make(chan struct{})}
	srv := httptest.NewUnstartedServer(s)
	srv.Config = s.HTTPServer(done.wrap(s))
	srv.Start()
	t.Cleanup(srv.Close)
	return bundle{core: c, server: s, srv: srv, proxy: px, answered: done}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if code, body := get(t, b.srv.URL+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, b.srv.URL+"/readyz"); code != 200 {
		t.Errorf("/readyz = %d %q", code, body)
	}
	key := testenv.APIKey(t, b.core)
	resp, err := http.PostForm(b.srv.URL+"/open311/v2/requests.json", url.Values{
		"api_key": {key}, "service_code": {"graffiti-public"}, "lat": {"39.5138"}, "long": {"-121.5564"},
		"attribute[offensive]": {"no"},
	})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST = %d %s", resp.StatusCode, body)
	}
	_, metrics := get(t, b.srv.URL+"/metrics")
	for _, want := range []string{
		`townline_requests_created_total{channel="open311",service="graffiti-public"} 1`,
		`townline_http_request_duration_seconds_count{code="200",method="POST",route="POST /open311/v2/requests.json"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// A database outage answers 503 and recovers without a restart.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	list := b.srv.URL + "/open311/v2/requests.json"
	if code, body := get(t, list); code != 200 {
		t.Fatalf("before the outage: %d %s", code, body)
	}

	b.proxy.setDown(true)
	code, body := get(t, list)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("during the outage: %d %s, want 503", code, body)
	}
	var errs []struct {
		Code        int    `json:"code"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal([]byte(body), &errs); err != nil || len(errs) != 1 || errs[0].Code != 503 {
		t.Errorf("outage body = %s, want the spec's error array", body)
	}
	if code, body := get(t, b.srv.URL+"/readyz"); code != http.StatusServiceUnavailable || body != "database unreachable\n" {
		t.Errorf("/readyz during the outage = %d %q, want 503 saying only what failed", code, body)
	}
	if code, _ := get(t, b.srv.URL+"/requests/1001"); code != http.StatusServiceUnavailable {
		t.Errorf("tracking page during the outage = %d, want 503", code)
	}
	if code, _ := get(t, b.srv.URL+"/healthz"); code != 200 {
		t.Errorf("/healthz during the outage = %d: the process is alive", code)
	}

	b.proxy.setDown(false)
	// Each request after the outage finds a dead connection at most and
	// drops it: the pool recovers within as many as it holds, not a time.
	for tries := 1; ; tries++ {
		code, body := get(t, list)
		if code == 200 {
			break
		}
		if tries > int(b.core.Pool().Config().MaxConns) {
			t.Fatalf("after the outage: still %d %s after %d requests", code, body, tries)
		}
	}
	if code, _ := get(t, b.srv.URL+"/readyz"); code != 200 {
		t.Errorf("/readyz after the outage = %d", code)
	}
}

// Open311 clients join the endpoint and a file name in different ways;
// every joining is served where it points, never redirected (a client
// may follow a redirected POST with a GET and lose the report).
func TestJoinedPathsServedInPlace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, p := range []string{"/open311/v2/services.xml", "/open311/v2//services.xml", "/open311//v2/services.xml",
		"/open311/v2/./services.xml", "/open311/v1/../v2/services.xml"} {
		req, _ := http.NewRequest("GET", b.srv.URL+p, nil)
		resp, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<services>") {
			t.Errorf("GET %s: %d %.80q", p, resp.StatusCode, body)
		}
	}
	req, err := http.NewRequest("POST", b.srv.URL+"/open311/v2//requests.json",
		strings.NewReader("service_code=pothole&lat=39.5138&long=-121.5564&description=Deep+hole"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// Taken by the POST handler (it wants an api_key), not redirected.
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "api_key") {
		t.Errorf("POST with a doubled slash: %d %s", resp.StatusCode, body)
	}
}
