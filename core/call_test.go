package core_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

func callCore(t *testing.T) (*core.Core, *fakeSender) {
	t.Helper()
	sms := &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: sms} })
	return c, sms
}

func callReport(sid string, seq int, phone string) core.CallReport {
	return core.CallReport{CallID: sid, Seq: seq, Said: "a dead dog\n\nOro Dam and Feather River",
		Request: core.NewRequest{ServiceCode: "animal-dead", Description: "a dead dog",
			Address: "Oro Dam Boulevard & Feather River Boulevard", Reporter: core.Reporter{Phone: phone}, Actor: "voice"}}
}

// waitSent waits for n messages through a fake sender.
func waitSent(t *testing.T, f *fakeSender, n int) []core.Outbound {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), sendWait)
	defer cancel()
	if _, err := f.Next(ctx, n-1); err != nil {
		sent, _ := f.Sent()
		t.Fatalf("%d messages sent after %v, want %d", len(sent), sendWait, n)
	}
	sent, _ := f.Sent()
	return sent
}

// Webhooks delivered at once file one request; the next report of the
// same call files another.
func TestFileCallReportOnce(t *testing.T) {
	t.Parallel()
	c, sms := callCore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	got := make([]core.CallFiled, 8)
	errs := make([]error, 8)
	for i := range got {
		wg.Go(func() { got[i], errs[i] = c.FileCallReport(ctx, callReport("CA1", 1, "(530) 555-0100")) })
	}
	wg.Wait()
	fresh := 0
	for i, f := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if f.Request.ID != got[0].Request.ID {
			t.Errorf("requests %d and %d for one report", f.Request.ID, got[0].Request.ID)
		}
		if !f.Again {
			fresh++
		}
		if !f.OfferTexts || f.TextsOK {
			t.Errorf("texts: offer %v, ok %v; want an offer to a US number", f.OfferTexts, f.TextsOK)
		}
	}
	if fresh != 1 {
		t.Errorf("%d deliveries filed the report", fresh)
	}
	r := got[0].Request
	if r.Channel != core.ChannelVoice || r.ServiceCode != "animal-dead" || r.ContactID == nil {
		t.Errorf("request %+v", r)
	}
	second, err := c.FileCallReport(ctx, callReport("CA1", 2, "+15305550100"))
	if err != nil || second.Request.ID == r.ID || second.Again {
		t.Errorf("second report: %+v, %v", second, err)
	}
	ms, err := c.Messages(ctx, r.ID)
	if err != nil || len(ms) != 1 || ms[0].ProviderID != "CA1/1" || ms[0].Body != "a dead dog\n\nOro Dam and Feather River" {
		t.Errorf("messages %+v, %v", ms, err)
	}
	testenv.WaitJobsIdle(t, c.Pool())
	if sent, _ := sms.Sent(); len(sent) != 0 {
		t.Errorf("texted a caller who did not ask: %+v", sent)
	}
	if _, err := c.FileCallReport(ctx, core.CallReport{Seq: 1, Request: callReport("", 1, "").Request}); err == nil {
		t.Error("a report without a call id was filed")
	}
}

// A caller who takes texts gets the acknowledgment by text, in the
// language they chose on the call; one who accepts on the call gets it
// then, once.
func TestCallerTexts(t *testing.T) {
	t.Parallel()
	c, sms := callCore(t)
	ctx := context.Background()
	if err := c.SetTextsOK(ctx, "+15305550101", true); err != nil {
		t.Fatal(err)
	}
	rep := callReport("CA2", 1, "+15305550101")
	rep.Request.Reporter.Language = "es"
	f, err := c.FileCallReport(ctx, rep)
	if err != nil || !f.TextsOK || f.OfferTexts {
		t.Fatalf("%+v, %v", f, err)
	}
	if sent := waitSent(t, sms, 1); sent[0].To != "+15305550101" || !strings.Contains(sent[0].Body, "recibido") {
		t.Errorf("ack %+v", sent[0])
	}

	f, err = c.FileCallReport(ctx, callReport("CA3", 1, "+15305550102"))
	if err != nil || !f.OfferTexts {
		t.Fatalf("%+v, %v", f, err)
	}
	for range 2 { // a redelivered webhook
		if err := c.AcceptTexts(ctx, "+15305550102", f.Request.ID); err != nil {
			t.Fatal(err)
		}
	}
	sent := waitSent(t, sms, 2)
	if sent[1].To != "+15305550102" || sent[1].RequestID != f.Request.ID {
		t.Errorf("ack %+v", sent[1])
	}
	// Someone else's request is not confirmed to this caller.
	if err := c.AcceptTexts(ctx, "+15305550103", f.Request.ID); err != nil {
		t.Fatal(err)
	}
	testenv.WaitJobsIdle(t, c.Pool())
	if sent, _ := sms.Sent(); len(sent) != 2 {
		t.Errorf("%d texts, want 2", len(sent))
	}
}

// Transcripts join a report's description whether they come before or
// after it is filed; a voicemail's joins its message only.
func TestRecordings(t *testing.T) {
	t.Parallel()
	c, _ := callCore(t)
	ctx := context.Background()
	rec := func(sid, transcript string, voicemail bool) {
		t.Helper()
		if _, err := c.SaveRecording(ctx, core.Recording{CallID: "CA4", ID: sid, From: "+15305550104",
			URL: "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/" + sid, Transcript: transcript, Voicemail: voicemail}); err != nil {
			t.Fatal(err)
		}
	}
	rec("RE1", "A dead dog in the gutter.", false) // the transcript first
	rec("RE1", "", false)                          // then the recording
	rec("RE2", "", false)
	rep := callReport("CA4", 1, "+15305550104")
	rep.Request.Description, rep.Recordings = "", []string{"RE1", "RE2"}
	f, err := c.FileCallReport(ctx, rep)
	if err != nil {
		t.Fatal(err)
	}
	if f.Request.Description != "A dead dog in the gutter." {
		t.Errorf("description %q", f.Request.Description)
	}
	rec("RE2", "By the bridge.", false)
	rec("RE2", "By the bridge, again.", false) // a second transcript changes nothing
	r, err := c.Request(ctx, f.Request.ID)
	if err != nil || r.Description != "A dead dog in the gutter.\n\nBy the bridge." {
		t.Errorf("description %q, %v", r.Description, err)
	}

	rec("RE3", "", true)
	rec("RE3", "Call me back please.", true)
	ms, err := c.Messages(ctx, r.ID)
	if err != nil || len(ms) != 4 {
		t.Fatalf("%d messages, %v", len(ms), err)
	}
	if last := ms[3]; last.ProviderID != "RE3" || !strings.HasSuffix(last.Body, "/Recordings/RE3\n\nCall me back please.") {
		t.Errorf("voicemail %+v", last)
	}
	if r, _ := c.Request(ctx, r.ID); strings.Contains(r.Description, "Call me") || strings.Contains(r.Description, "http") {
		t.Errorf("description %q", r.Description)
	}
	// A withheld number leaves an anonymous message.
	if _, err := c.SaveRecording(ctx, core.Recording{ID: "RE4", From: "+266696687", URL: "https://x/RE4", Voicemail: true}); err != nil {
		t.Error(err)
	}
	if _, err := c.SaveRecording(ctx, core.Recording{ID: "RE5", URL: "ftp://x"}); err == nil {
		t.Error("an ftp recording URL accepted")
	}
}

func TestMaybeMobile(t *testing.T) {
	t.Parallel()
	for phone, want := range map[string]bool{
		"+15305550100":  true,  // North America: could be either
		"+18005551212":  false, // toll free
		"+442079460000": false, // a London fixed line
		"+447911123456": true,  // a UK mobile
		"anonymous":     false,
	} {
		if got := core.MaybeMobile(phone, "US"); got != want {
			t.Errorf("%s: %v", phone, got)
		}
	}
}

func TestSweepChannelState(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	for _, k := range []string{"voice:call:CA1", "voice:call:CA2", "imap:uid"} {
		if err := c.SetChannelState(ctx, k, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Pool().Exec(ctx, `UPDATE channel_state SET updated_at = now() - interval '2 days' WHERE key <> 'voice:call:CA2'`); err != nil {
		t.Fatal(err)
	}
	n, err := c.SweepChannelState(ctx, "voice:call:", 24*time.Hour)
	if err != nil || n != 1 {
		t.Errorf("swept %d, %v", n, err)
	}
	if err := c.ForgetChannelState(ctx, "voice:call:CA2"); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"voice:call:CA1": "", "voice:call:CA2": "", "imap:uid": "x"} {
		if v, _ := c.ChannelState(ctx, k); v != want {
			t.Errorf("%s = %q", k, v)
		}
	}
}

// A caller who pressed the key for Spanish is written to in Spanish from
// then on, as if they had asked by text; a call's id is at most 100
// characters.
func TestCallerChoosesTheLanguage(t *testing.T) {
	t.Parallel()
	c, _ := callCore(t)
	ctx := context.Background()
	in := callReport("CAes", 1, "+15305550177")
	in.Request.Reporter.Language = "es"
	f, err := c.FileCallReport(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := c.Contact(ctx, *f.Request.ContactID)
	if err != nil || ct.Language != "es" || !ct.LanguageChosen {
		t.Errorf("the caller's contact: %q, chosen %v (%v); want Spanish, chosen", ct.Language, ct.LanguageChosen, err)
	}
	// Calling again, the same caller presses the key for English.
	again := callReport("CAen", 1, "+15305550177")
	again.Request.Reporter.Language = "en"
	if _, err := c.FileCallReport(ctx, again); err != nil {
		t.Fatal(err)
	}
	if ct, err := c.Contact(ctx, *f.Request.ContactID); err != nil || ct.Language != "en" || !ct.LanguageChosen {
		t.Errorf("after choosing English: %q, chosen %v (%v)", ct.Language, ct.LanguageChosen, err)
	}
	if _, err := c.FileCallReport(ctx, callReport(strings.Repeat("C", 100), 1, "+15305550178")); err != nil {
		t.Errorf("a call id of 100 characters: %v", err)
	}
	var bad *core.ValidationError
	if _, err := c.FileCallReport(ctx, callReport(strings.Repeat("C", 101), 1, "+15305550179")); !errors.As(err, &bad) {
		t.Errorf("a call id of 101 characters: %v", err)
	}
}
