package server

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// behindProxies gives a request that came through one of the city's
// load balancers (trusted) the address of the client it came from: the
// last address X-Forwarded-For names that is not a trusted proxy's. A
// client may write anything into the header itself, so only what the
// trusted proxies appended counts. The per-address rules (the public
// site's limits, the staff sign-in lockout) and the logs then see the
// resident, not the balancer.
func behindProxies(next http.Handler, trusted []netip.Prefix) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if client, ok := clientBehind(r, trusted); ok {
			r = r.WithContext(r.Context()) // a copy: the server's own request stays as it came
			r.RemoteAddr = client
		}
		next.ServeHTTP(w, r)
	})
}

// clientBehind reads the client's address (with port 0) of a request
// from a trusted proxy; ok is false for one that came straight, or whose
// header is missing or garbled.
func clientBehind(r *http.Request, trusted []netip.Prefix) (string, bool) {
	isTrusted := func(a netip.Addr) bool {
		return slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Contains(a) })
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !isTrusted(peer.Addr().Unmap()) {
		return "", false
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return "", false // a hop no proxy of ours wrote: trust nothing before it
		}
		if a = a.Unmap(); !isTrusted(a) {
			return netip.AddrPortFrom(a, 0).String(), true
		}
	}
	return "", false
}
