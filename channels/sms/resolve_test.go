package sms_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"townline/channels/sms"
	"townline/core"
	"townline/internal/faketwilio"
	"townline/internal/testenv"
)

// clientOn returns a client sending from from through fake, logging to logger.
func clientOn(t *testing.T, fake *faketwilio.Server, from string, logger *slog.Logger) *sms.Client {
	t.Helper()
	c, err := sms.NewClient(sms.Config{AccountSID: accountSID, AuthToken: authToken, From: from,
		APIURL: fake.URL(), PublicURL: "http://311.test/"}, logger)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A city that sends through a Messaging Service gets back the message an
// interrupted send created, and never takes for it the same words sent to
// the same resident by another sender of the account: another service, or
// a plain number.
func TestResolveWithMessagingService(t *testing.T) {
	t.Parallel()
	const (
		city  = "MG0123456789abcdef0123456789abcdef"
		other = "MGfedcba9876543210fedcba9876543210"
	)
	fake := faketwilio.New(accountSID, authToken)
	t.Cleanup(fake.Close)
	fake.SetStatuses(0)
	c := clientOn(t, fake, city, testenv.Logger(t))
	ctx := context.Background()

	// Another service and a number of the account text the resident the
	// same words; then the city's own create is lost before Twilio took it.
	for _, from := range []string{other, cityNumber} {
		if _, err := clientOn(t, fake, from, testenv.Logger(t)).Send(ctx, out("Request #1234 is logged.")); err != nil {
			t.Fatal(err)
		}
	}
	fake.DropNext(1, false)
	if sid, err := c.Send(ctx, out("Request #1234 is logged.")); !errors.Is(err, core.ErrOutcomeUnknown) {
		t.Errorf("another sender's message taken for the city's: sid %q, err %v", sid, err)
	}

	// Twilio took the city's message and the answer was lost: found.
	fake.DropNext(1, true)
	sid, err := c.Send(ctx, out("Request #1234 is logged."))
	if err != nil {
		t.Fatal(err)
	}
	ms := fake.Messages()
	if last := ms[len(ms)-1]; len(ms) != 3 || last.Sid != sid || last.MessagingServiceSid != city {
		t.Errorf("recovered %q; the fake has %+v", sid, ms)
	}
}

// The client logs where it was told to: the recovery of an interrupted
// send is worth an operator's notice.
func TestClientLogsToItsLogger(t *testing.T) {
	t.Parallel()
	fake := faketwilio.New(accountSID, authToken)
	t.Cleanup(fake.Close)
	fake.SetStatuses(0)
	logs := &logBuffer{}
	c := clientOn(t, fake, cityNumber, slog.New(slog.NewTextHandler(logs, nil)))
	fake.DropNext(1, true)
	if _, err := c.Send(context.Background(), out("hello")); err != nil {
		t.Fatal(err)
	}
	if logs.count("found the message an interrupted send created") != 1 {
		t.Errorf("the recovery was not logged to the client's logger: %q", logs.b.String())
	}

	// Without a logger it logs to the default one, and does not fail.
	c = clientOn(t, fake, cityNumber, nil)
	fake.DropNext(1, true)
	if _, err := c.Send(context.Background(), out("hello again")); err != nil {
		t.Error(err)
	}
}

// A media URL that redirects without end is given up after five
// requests; a few hops, as to Twilio's CDN, are followed.
func TestFetchRedirects(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t, cityNumber)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		if r.URL.Path == "/loop" {
			http.Redirect(w, r, fmt.Sprintf("/loop?n=%d", n), http.StatusFound)
			return
		}
		var left int
		fmt.Sscan(r.URL.Query().Get("left"), &left)
		if left > 0 {
			http.Redirect(w, r, fmt.Sprintf("/media.jpg?left=%d", left-1), http.StatusFound)
			return
		}
		w.Write([]byte("photo"))
	}))
	defer srv.Close()

	body, err := c.Fetch(context.Background(), srv.URL+"/media.jpg?left=4")
	if err != nil {
		t.Fatalf("four redirects: %v", err)
	}
	body.Close()

	hits.Store(0)
	if _, err := c.Fetch(context.Background(), srv.URL+"/loop"); err == nil {
		t.Error("a redirect loop was followed to the end")
	}
	if n := hits.Load(); n > 5 {
		t.Errorf("a redirect loop made %d requests, want at most 5", n)
	}
}

// What a media host answers says whether asking again can help: a photo
// gone, forbidden or asked for wrongly never comes; a busy or failing host
// may give it later.
func TestFetchErrorClasses(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t, cityNumber)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(r.URL.Query().Get("code"), &code)
		w.WriteHeader(code)
	}))
	defer srv.Close()
	for code, permanent := range map[int]bool{
		400: true, 401: true, 403: true, 404: true, 410: true, 499: true,
		408: false, 429: false, 500: false, 502: false, 503: false,
	} {
		_, err := c.Fetch(context.Background(), fmt.Sprintf("%s/media.jpg?code=%d", srv.URL, code))
		if err == nil || isPermanent(err) != permanent {
			t.Errorf("%d: err %v, permanent %v, want %v", code, err, isPermanent(err), permanent)
		}
	}
}

// Twilio's media URLs are https: one is fetched, never refused as
// malformed; a URL of any other scheme is refused for good.
func TestFetchSchemes(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t, cityNumber)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dialed := make(chan struct{}, 1)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case dialed <- struct{}{}:
			default:
			}
			conn.Close() // no TLS here: the fetch fails, but it was made
		}
	}()
	_, err = c.Fetch(context.Background(), "https://"+ln.Addr().String()+"/media.jpg")
	if err == nil || isPermanent(err) {
		t.Errorf("https media: err %v, want a passing failure", err)
	}
	select {
	case <-dialed:
	default:
		t.Error("an https media URL was not fetched")
	}
	for _, bad := range []string{"file:///etc/passwd", "ftp://" + ln.Addr().String() + "/m.jpg", "//example.com/m.jpg", "https:///m.jpg"} {
		if _, err := c.Fetch(context.Background(), bad); err == nil || !isPermanent(err) {
			t.Errorf("%q: err %v, want a permanent refusal", bad, err)
		}
	}
}
