package voice_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"townline/channels/voice"
	"townline/core"
	"townline/internal/faketwilio"
)

func newCaller(t *testing.T) (*voice.Caller, *faketwilio.Server) {
	t.Helper()
	fake := faketwilio.New(accountSID, authToken)
	t.Cleanup(fake.Close)
	fake.SetCallStatuses(0) // no callbacks: nobody listens
	c, err := voice.NewCaller(voice.Config{AccountSID: accountSID, AuthToken: authToken, From: faketwilio.CityNumber,
		APIURL: fake.URL(), PublicURL: "https://311.example.gov/"})
	if err != nil {
		t.Fatal(err)
	}
	return c, fake
}

func TestCallerSends(t *testing.T) {
	t.Parallel()
	c, fake := newCaller(t)
	sid, err := c.Send(context.Background(), core.Outbound{MessageID: 42, To: "+15305550100", Language: "es",
		Body: "Le habla la Ciudad de Oroville con novedades de su reporte número 7."})
	if err != nil {
		t.Fatal(err)
	}
	calls := fake.Calls()
	if len(calls) != 1 || calls[0].Sid != sid || calls[0].StatusCallback != "https://311.example.gov/twilio/voice/status" {
		t.Fatalf("calls %+v, sid %s", calls, sid)
	}
	phone, err := fake.Answer(calls[0])
	if err != nil {
		t.Fatal(err)
	}
	heard := phone.Heard()
	if len(heard) != 2 || heard[0].Language != "es-US" || heard[0].Text != "Le habla la Ciudad de Oroville con novedades de su reporte número 7." ||
		heard[1].Text != "Para escuchar este mensaje de nuevo, oprima 1." {
		t.Errorf("heard %+v", heard)
	}
	waits(t, phone, "Gather", "numDigits", "1", "action", "https://311.example.gov/twilio/voice/replay?m=42")
	must(t, phone.Silence())
	if !phone.Ended() {
		t.Error("silence does not end an update call")
	}
}

// Errors follow core.Sender: retry when Twilio certainly has nothing,
// never when it may have placed the call, never again when it refuses.
func TestCallerErrors(t *testing.T) {
	t.Parallel()
	c, fake := newCaller(t)
	out := core.Outbound{MessageID: 1, To: "+15305550100", Language: "en", Body: "An update."}
	send := func() error {
		_, err := c.Send(context.Background(), out)
		return err
	}
	fake.FailNextCall(1, 400, 21211)
	if err := send(); !core.IsPermanent(err) {
		t.Errorf("400: %v, want permanent", err)
	}
	fake.FailNextCall(1, 429, 20429)
	if err := send(); err == nil || core.IsPermanent(err) || errors.Is(err, core.ErrOutcomeUnknown) {
		t.Errorf("429: %v, want a retry", err)
	}
	fake.FailNextCall(1, 500, 20500)
	if err := send(); !errors.Is(err, core.ErrOutcomeUnknown) {
		t.Errorf("500: %v, want outcome unknown", err)
	}
	fake.DropNextCall(1, true)
	if err := send(); !errors.Is(err, core.ErrOutcomeUnknown) {
		t.Errorf("dropped: %v, want outcome unknown", err)
	}
	if n := len(fake.Calls()); n != 1 {
		t.Errorf("%d calls placed, want the dropped one only", n)
	}
	out.To = "5305550100"
	if err := send(); !core.IsPermanent(err) {
		t.Errorf("bad number: %v, want permanent", err)
	}
	long := make([]byte, 4000)
	for i := range long {
		long[i] = 'a'
	}
	out.To, out.Body = "+15305550100", string(long)
	if err := send(); !core.IsPermanent(err) {
		t.Errorf("too long: %v, want permanent", err)
	}
	_, err := voice.NewCaller(voice.Config{AccountSID: accountSID, AuthToken: authToken, From: "MG123",
		PublicURL: "https://311.example.gov"})
	if err == nil {
		t.Error("a Messaging Service SID accepted as the caller ID")
	}
}

// An update as long as Twilio takes in one call (4000 characters of
// TwiML) is placed; one character more is refused before Twilio sees it,
// for good: it will never fit.
func TestCallerTwiMLLimit(t *testing.T) {
	t.Parallel()
	c, fake := newCaller(t)
	out := core.Outbound{MessageID: 1, To: "+15305550100", Language: "en", Body: "An update."}
	if _, err := c.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	// The TwiML grows with the body, one byte a letter.
	out.Body += strings.Repeat("a", 4000-len(fake.Calls()[0].Twiml))
	if _, err := c.Send(context.Background(), out); err != nil {
		t.Fatalf("4000 bytes of TwiML: %v", err)
	}
	if calls := fake.Calls(); len(calls) != 2 || len(calls[1].Twiml) != 4000 {
		t.Fatalf("%d calls; the last says %d bytes", len(calls), len(calls[len(calls)-1].Twiml))
	}
	out.Body += "a"
	if _, err := c.Send(context.Background(), out); !core.IsPermanent(err) {
		t.Errorf("4001 bytes of TwiML: %v, want permanent", err)
	}
	if n := len(fake.Calls()); n != 2 {
		t.Errorf("%d calls placed, want 2", n)
	}
}
