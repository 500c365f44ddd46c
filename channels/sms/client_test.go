package sms_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"townline/channels/sms"
	"townline/core"
	"townline/internal/faketwilio"
	"townline/internal/testenv"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "0123456789abcdef0123456789abcdef"
	cityNumber = faketwilio.CityNumber
	resident   = "+15305550100"
)

// newClient returns a client on a fresh fake Twilio that sends no status
// callbacks (nothing listens at the public URL here).
func newClient(t *testing.T, from string) (*sms.Client, *faketwilio.Server) {
	t.Helper()
	fake := faketwilio.New(accountSID, authToken)
	t.Cleanup(fake.Close)
	fake.SetStatuses(0)
	c, err := sms.NewClient(sms.Config{
		AccountSID: accountSID, AuthToken: authToken, From: from,
		APIURL: fake.URL(), PublicURL: "http://311.test/",
	}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	return c, fake
}

func out(body string) core.Outbound {
	return core.Outbound{MessageID: 7, RequestID: 1234, Channel: core.ChannelSMS, To: resident, Body: body, Language: "en"}
}

var isPermanent = core.IsPermanent

func TestSend(t *testing.T) {
	t.Parallel()
	c, fake := newClient(t, cityNumber)
	sid, err := c.Send(context.Background(), out("Request #1234 is logged."))
	if err != nil {
		t.Fatal(err)
	}
	ms := fake.Messages()
	if len(ms) != 1 {
		t.Fatalf("%d messages at the fake, want 1", len(ms))
	}
	m := ms[0]
	if m.Sid != sid || m.To != resident || m.From != cityNumber || m.MessagingServiceSid != "" ||
		m.Body != "Request #1234 is logged." || m.StatusCallback != "http://311.test/twilio/sms/status" {
		t.Errorf("sent %+v (sid %s)", m, sid)
	}
}

func TestSendWithMessagingService(t *testing.T) {
	t.Parallel()
	const service = "MG0123456789abcdef0123456789abcdef"
	c, fake := newClient(t, service)
	if _, err := c.Send(context.Background(), out("hello")); err != nil {
		t.Fatal(err)
	}
	if m := fake.Messages()[0]; m.MessagingServiceSid != service || m.From != "" {
		t.Errorf("sent %+v", m)
	}
}

func TestSendErrorClasses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status, code int
		permanent    bool
		optedOut     bool
	}{
		{500, 20500, false, false},
		{503, 20003, false, false},
		{429, 20429, false, false},
		{400, 21610, true, true},
		{400, 21211, true, false},
		{400, 21614, true, false},
		{401, 20003, true, false},
	} {
		t.Run(fmt.Sprint(tc.status, "/", tc.code), func(t *testing.T) {
			t.Parallel()
			c, fake := newClient(t, cityNumber)
			fake.FailNext(1, tc.status, tc.code)
			_, err := c.Send(context.Background(), out("hello"))
			if err == nil {
				t.Fatal("no error")
			}
			if isPermanent(err) != tc.permanent || errors.Is(err, core.ErrRecipientOptedOut) != tc.optedOut ||
				errors.Is(err, core.ErrOutcomeUnknown) {
				t.Errorf("err %v: permanent %v, opted out %v, unknown %v", err, isPermanent(err),
					errors.Is(err, core.ErrRecipientOptedOut), errors.Is(err, core.ErrOutcomeUnknown))
			}
			if len(fake.Messages()) != 0 {
				t.Error("a failed create was recorded")
			}
			if _, err := c.Send(context.Background(), out("hello")); err != nil {
				t.Errorf("the next send: %v", err)
			}
		})
	}
}

func TestSendRecoversAnInterruptedCreate(t *testing.T) {
	t.Parallel()
	c, fake := newClient(t, cityNumber)
	c.Send(context.Background(), out("an earlier text"))
	fake.DropNext(1, true) // Twilio took it, the answer was lost
	sid, err := c.Send(context.Background(), out("hello"))
	if err != nil {
		t.Fatal(err)
	}
	ms := fake.Messages()
	if len(ms) != 2 || ms[1].Sid != sid {
		t.Errorf("recovered %s; the fake has %+v", sid, ms)
	}
}

func TestSendUnknownOutcome(t *testing.T) {
	t.Parallel()
	c, fake := newClient(t, cityNumber)
	fake.DropNext(1, false) // lost before Twilio took it, but the sender cannot know
	_, err := c.Send(context.Background(), out("hello"))
	if !errors.Is(err, core.ErrOutcomeUnknown) {
		t.Errorf("err %v, want ErrOutcomeUnknown", err)
	}
}

func TestSendNotReached(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	c, err := sms.NewClient(sms.Config{AccountSID: accountSID, AuthToken: authToken, From: cityNumber,
		APIURL: "http://" + addr, PublicURL: "http://311.test"}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Send(context.Background(), out("hello"))
	if err == nil || errors.Is(err, core.ErrOutcomeUnknown) || isPermanent(err) {
		t.Errorf("err %v, want a plain error", err)
	}
}

func TestSendCanceled(t *testing.T) {
	t.Parallel()
	c, fake := newClient(t, cityNumber)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Send(ctx, out("hello"))
	if err == nil || errors.Is(err, core.ErrOutcomeUnknown) || isPermanent(err) || len(fake.Messages()) != 0 {
		t.Errorf("err %v, want a plain error and nothing sent", err)
	}
}

func TestFetch(t *testing.T) {
	t.Parallel()
	c, fake := newClient(t, cityNumber)
	// The fake's API answers 401 without the credentials and its CDN, on
	// another port of 127.0.0.1 (a host net/http would pass them on to),
	// 403 with them: the photo arrives only if both are right.
	u := fake.AddMedia("image/jpeg", []byte("\xff\xd8\xff photo"))
	body, err := c.Fetch(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(body)
	body.Close()
	if string(b) != "\xff\xd8\xff photo" {
		t.Errorf("fetched %q", b)
	}

	_, err = c.Fetch(context.Background(), fake.URL()+"/2010-04-01/Accounts/"+accountSID+"/Messages/MM1/Media/ME1")
	if err == nil || !isPermanent(err) {
		t.Errorf("missing media: err %v, want a permanent error", err)
	}
}

func TestFetchSendsNoCredentialsElsewhere(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t, cityNumber)
	var auth []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		w.Write([]byte("x"))
	}))
	defer other.Close()
	body, err := c.Fetch(context.Background(), other.URL+"/media.jpg")
	if err != nil {
		t.Fatal(err)
	}
	body.Close()
	if len(auth) != 1 || auth[0] != "" {
		t.Errorf("another host got Authorization %q", auth)
	}
	if _, err := c.Fetch(context.Background(), "file:///etc/passwd"); err == nil {
		t.Error("a file URL was fetched")
	}
}

func TestNewClientChecksConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []sms.Config{
		{AuthToken: authToken, From: cityNumber, PublicURL: "http://x"},
		{AccountSID: accountSID, AuthToken: authToken, From: cityNumber, APIURL: "ftp://x", PublicURL: "http://x"},
		{AccountSID: accountSID, AuthToken: authToken, From: cityNumber, PublicURL: "x"},
	} {
		if _, err := sms.NewClient(cfg, nil); err == nil || !strings.HasPrefix(err.Error(), "sms:") {
			t.Errorf("%+v: err %v", cfg, err)
		}
	}
}
