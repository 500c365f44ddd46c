package twilio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"townline/core"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "0123456789abcdef0123456789abcdef"
)

// send creates a message through a RestClient on apiURL and returns the
// fate of the failure.
func send(t *testing.T, apiURL string) (Fate, error) {
	t.Helper()
	rc, err := NewRestClient(accountSID, authToken, apiURL, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	api, call := rc.Service(context.Background())
	p := &openapi.CreateMessageParams{}
	p.SetTo("+15305550100").SetFrom("+15305551311").SetBody("hello")
	_, err = api.CreateMessage(p)
	call.Done()
	if err == nil {
		t.Fatal("no error")
	}
	return call.Fate(err), err
}

func TestFate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status, code int
		want         Fate
	}{
		{429, 20429, Busy},
		{503, 20003, Busy},
		{400, 20429, Busy},
		{500, 20500, Failed},
		{400, 21211, Refused},
		{401, 20003, Refused},
	} {
		t.Run(fmt.Sprint(tc.status, "/", tc.code), func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// The SDK's URL, rewritten onto this host, with the account's credentials.
				if user, pass, _ := r.BasicAuth(); r.URL.Path != "/2010-04-01/Accounts/"+accountSID+"/Messages.json" ||
					user != accountSID || pass != authToken {
					t.Errorf("%s %s as %s", r.Method, r.URL.Path, user)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				fmt.Fprintf(w, `{"code": %d, "message": "no", "status": %d}`, tc.code, tc.status)
			}))
			defer srv.Close()
			if got, err := send(t, srv.URL); got != tc.want {
				t.Errorf("fate %d, want %d (%v)", got, tc.want, err)
			}
		})
	}
	t.Run("lost", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}))
		defer srv.Close()
		if got, err := send(t, srv.URL); got != Lost {
			t.Errorf("fate %d, want Lost (%v)", got, err)
		}
	})
	t.Run("unreached", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if got, err := send(t, "http://"+addr); got != Unreached {
			t.Errorf("fate %d, want Unreached (%v)", got, err)
		}
	})
	t.Run("unsent", func(t *testing.T) {
		t.Parallel()
		if got := new(Call).Fate(&client.TwilioRestError{Code: 20003}); got != Unsent {
			t.Errorf("fate %d, want Unsent", got)
		}
	})
}

func TestSendError(t *testing.T) {
	t.Parallel()
	cause := errors.New("cause")
	for _, tc := range []struct {
		fate               Fate
		permanent, unknown bool
	}{
		{Busy, false, false},
		{Failed, false, true},
		{Refused, true, false},
		{Unsent, true, false},
		{Unreached, false, false},
		{Lost, false, true},
	} {
		err := SendError(tc.fate, cause, "the message")
		if !errors.Is(err, cause) || core.IsPermanent(err) != tc.permanent || errors.Is(err, core.ErrOutcomeUnknown) != tc.unknown {
			t.Errorf("fate %d: %v: permanent %v, unknown %v", tc.fate, err, core.IsPermanent(err), errors.Is(err, core.ErrOutcomeUnknown))
		}
	}
}

func TestNewRestClient(t *testing.T) {
	t.Parallel()
	rc, err := NewRestClient(accountSID, authToken, "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !rc.IsAPI(&url.URL{Scheme: "https", Host: "API.twilio.com"}) || rc.IsAPI(&url.URL{Scheme: "https", Host: "api.twilio.com:8443"}) ||
		rc.IsAPI(&url.URL{Scheme: "http", Host: "api.twilio.com"}) {
		t.Error("IsAPI")
	}
	for _, bad := range []string{"ftp://api.twilio.com", "api.twilio.com", "http://"} {
		if _, err := NewRestClient(accountSID, authToken, bad, time.Second); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
