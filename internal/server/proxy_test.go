package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// Behind the city's load balancers, a request comes from the client the
// header names, counting back past the balancers only: what a client
// wrote into the header itself, and requests that did not come through a
// balancer, are taken as they are.
func TestBehindProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	var got string
	h := behindProxies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }), trusted)
	for _, c := range []struct{ peer, xff, want string }{
		{"203.0.113.9:5000", "198.51.100.7", "203.0.113.9:5000"},           // not through a balancer: the header is the client's own
		{"10.0.0.1:5000", "", "10.0.0.1:5000"},                             // no header
		{"10.0.0.1:5000", "198.51.100.7", "198.51.100.7:0"},                // one balancer
		{"10.0.0.1:5000", "6.6.6.6, 198.51.100.7", "198.51.100.7:0"},       // a client's forged first hop
		{"10.0.0.1:5000", "198.51.100.7, 10.0.0.2", "198.51.100.7:0"},      // two balancers
		{"10.0.0.1:5000", "10.0.0.3, 10.0.0.2", "10.0.0.1:5000"},           // only balancers
		{"10.0.0.1:5000", "198.51.100.7, not-an-address", "10.0.0.1:5000"}, // garbled
		{"[fd00::1]:443", "2001:db8::5", "[2001:db8::5]:0"},                // IPv6
		{"[::ffff:10.0.0.1]:80", "::ffff:198.51.100.7", "198.51.100.7:0"},  // IPv4 written as IPv6
		{"not-an-address", "198.51.100.7", "not-an-address"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != c.want {
			t.Errorf("from %s with %q: %s, want %s", c.peer, c.xff, got, c.want)
		}
		if r.RemoteAddr != c.peer {
			t.Errorf("the server's own request changed: %s", r.RemoteAddr)
		}
	}
	// Two header lines count as one list.
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:5000"
	r.Header.Add("X-Forwarded-For", "6.6.6.6")
	r.Header.Add("X-Forwarded-For", "198.51.100.8")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got != "198.51.100.8:0" {
		t.Errorf("two header lines: %s", got)
	}
	// Without trusted proxies, nothing changes.
	plain := behindProxies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }), nil)
	r.RemoteAddr = "10.0.0.1:5000"
	plain.ServeHTTP(httptest.NewRecorder(), r)
	if got != "10.0.0.1:5000" {
		t.Errorf("with no trusted proxy: %s", got)
	}
}
