package voice_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"townline/channels/voice"
	"townline/core"
	"townline/internal/faketwilio"
	"townline/internal/testenv"
)

// Silence: the question comes back twice, then a person or a message is
// offered, then a polite goodbye. The call never just drops.
func TestSilence(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	call := w.call("+15305550102")
	must(t, call.Dial())
	for i := range 2 {
		must(t, call.Silence())
		hears(t, call, "Sorry, I did not hear anything.", "To report a problem, press 1")
		heardNot(t, call, "Thank you for calling the City of Oroville 311 line") // the greeting is said once
		if call.Ended() {
			t.Fatalf("the call ended after %d silences", i+1)
		}
	}
	must(t, call.Silence())
	hears(t, call, "Sorry, I did not hear anything.", "To speak with a person or leave a message, press 0.")
	heardNot(t, call, "To report a problem")
	must(t, call.Silence())
	hears(t, call, "Thank you for calling the City of Oroville. Goodbye.")
	if !call.Ended() {
		t.Error("the call goes on after the goodbye")
	}
}

// Wrong keys, then silence in the middle of a report: each question is
// asked again; giving up offers a person, who is away, so the caller
// leaves a message that reaches staff with its transcript.
func TestWrongDigitsAndVoicemail(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.setNow(time.Date(2026, 3, 8, 20, 0, 0, 0, mustLoad("America/Los_Angeles"))) // a Sunday evening

	// The caller has an open request: the message joins it.
	open, err := w.c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelWeb, ServiceCode: "pothole",
		Address: "1735 Montgomery Street", Reporter: core.Reporter{Phone: "+15305550103"}})
	if err != nil {
		t.Fatal(err)
	}
	call := w.call("+15305550103")
	must(t, call.Dial())
	must(t, call.Press("7"))
	hears(t, call, "Sorry, I did not get that.", "To report a problem, press 1")
	must(t, call.Press("1"))
	must(t, call.Press("#")) // nothing but the pound key: no answer
	hears(t, call, "Sorry, I did not hear anything.", "What kind of problem is it?")
	must(t, call.Press("*"))
	hears(t, call, "Sorry, I did not get that.", "What kind of problem is it?")
	must(t, call.Press("*"))
	hears(t, call, "Sorry, I did not get that.", "To speak with a person or leave a message, press 0.")
	heardNot(t, call, "What kind of problem")

	must(t, call.Press("0"))
	hears(t, call, "Our offices are closed right now.", "leave a message for our staff after the tone")
	waits(t, call, "Record", "transcribe", "true", "finishOnKey", "#")
	rec, err := call.Record(14)
	must(t, err)
	hears(t, call, "Thank you. Your message will reach our staff.", "Goodbye.")
	if !call.Ended() {
		t.Fatal("the call goes on after the message")
	}
	must(t, call.Transcribe(rec, "Please call me back about the pothole."))
	must(t, call.Transcribe(rec, "Please call me back about the pothole.")) // Twilio retries

	ms, err := w.c.Messages(ctx, open.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].ProviderID != rec || ms[0].Body != "Recording: "+w.fake.URL()+"/2010-04-01/Accounts/"+
		accountSID+"/Recordings/"+rec+".mp3\n\nPlease call me back about the pothole." {
		t.Fatalf("messages %+v", ms)
	}
	var flag string
	if err := w.pool.QueryRow(ctx, `SELECT flag FROM messages WHERE id = $1`, ms[0].ID).Scan(&flag); err != nil || flag != "voicemail" {
		t.Errorf("flag %q (%v)", flag, err)
	}
	// A voicemail is a message, not words of the report.
	if r, _ := w.c.Request(ctx, open.ID); r.Description != "" {
		t.Errorf("description %q", r.Description)
	}
}

// During office hours a person is rung; when nobody answers, the caller
// leaves a message; silence at the tone ends the call politely.
func TestOperator(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(c *voice.Config) { c.StaffNumber = staff })
	call := w.call("+15305550104")
	must(t, call.Dial())
	must(t, call.Press("0"))
	hears(t, call, "Please hold while we connect you.", "Goodbye.")
	if d := call.Dialed(); len(d) != 1 || d[0] != staff || !call.Ended() {
		t.Errorf("dialed %v, ended %v", d, call.Ended())
	}

	call = w.call("+15305550104")
	call.DialStatus = "no-answer"
	must(t, call.Dial())
	must(t, call.Press("0"))
	hears(t, call, "Please hold", "No one can take your call right now.", "after the tone")
	must(t, call.Silence())
	hears(t, call, "We did not get a message.", "Goodbye.")
	if !call.Ended() {
		t.Error("the call goes on")
	}
}

// Unsure speech is recorded: a transcript that comes before the report is
// filed is in it from the start, one that comes after joins it then. The
// recordings reach staff; their links never reach the public description.
func TestLowConfidence(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	call := w.call("+15305550105")
	must(t, call.Dial())
	must(t, call.Press("1"))
	must(t, call.Press("0")) // anything else
	must(t, call.Speak("a ded dug in the cuter", 0.31))
	hears(t, call, "Sorry, I am not sure I understood. Please say it again after the tone")
	waits(t, call, "Record", "transcribe", "true")
	what, err := call.Record(6)
	must(t, err)
	hears(t, call, "Our staff will listen to your recording.", "Where is it?")
	must(t, call.Transcribe(what, "A dead dog in the gutter."))

	must(t, call.Speak("by the Montgomery bride", 0.2))
	hears(t, call, "not sure I understood")
	where, err := call.Record(4)
	must(t, err)
	hears(t, call, "Our staff will listen to your recording.", "Your request number is")

	r := w.only()
	// "Anything else" said unclearly stays "other", for staff to sort.
	if r.ServiceCode != "other" || r.Description != "A dead dog in the gutter." || r.Address != "Montgomery Street" {
		t.Errorf("request %q %q %q", r.ServiceCode, r.Description, r.Address)
	}
	must(t, call.Transcribe(where, "By the Montgomery Street bridge."))
	r, err = w.c.Request(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Description != "A dead dog in the gutter.\n\nBy the Montgomery Street bridge." {
		t.Errorf("description after the late transcript: %q", r.Description)
	}
	ms, err := w.c.Messages(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var recordings int
	for _, m := range ms {
		if strings.HasPrefix(m.Body, "Recording: http") {
			recordings++
		}
	}
	if recordings != 2 || len(ms) != 3 {
		t.Errorf("%d messages, %d recordings: %+v", len(ms), recordings, ms)
	}
}

// A deploy between two webhooks: another instance takes the call on.
func TestRestartBetweenSteps(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	call := w.call("+15305550106")
	must(t, call.Dial())
	must(t, call.Press("9"))
	must(t, call.Press("1"))
	must(t, call.Press("8"))
	w.restart()
	must(t, call.Speak("un perro muerto en Montgomery y la quinta", 0.9))
	hears(t, call, "Escuché: Montgomery Street & 5th Avenue.")
	w.restart()
	must(t, call.Press("1"))
	if r := w.only(); r.ServiceCode != "animal-dead" || r.Address != "Montgomery Street & 5th Avenue" {
		t.Errorf("request %+v", r)
	}
	hears(t, call, "Su número de reporte es")
}

// Twilio delivers the webhook that files the report again: the caller
// hears the same number and there is still one request.
func TestRedeliveredWebhook(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	call := w.call("+15305550107")
	must(t, call.Dial())
	must(t, call.Press("1"))
	must(t, call.Press("1"))
	must(t, call.Speak("a pothole at Bird Street and Myers Street", 0.9))
	must(t, call.Press("1"))
	first := call.Said()
	must(t, call.Redeliver())
	if again := call.Said(); again != first {
		t.Errorf("the redelivery said\n%s\nnot\n%s", again, first)
	}
	r := w.only()
	must(t, call.Press("1")) // texts
	must(t, call.Redeliver())
	if _, err := w.fake.WaitMessages(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	testenv.WaitJobsIdle(t, w.pool) // a second text would have been sent by now
	if n := len(w.fake.Messages()); n != 1 {
		t.Errorf("%d texts for one acceptance", n)
	}
	var inbound int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE direction = 'in' AND request_id = $1`, r.ID).
		Scan(&inbound); err != nil || inbound != 1 {
		t.Errorf("%d inbound messages (%v)", inbound, err)
	}
}

// A caller who hangs up mid-menu leaves nothing behind once Twilio
// reports the end; a step this version does not know starts over.
func TestHangUpAndUnknownStep(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	call := w.call("+15305550108")
	must(t, call.Dial())
	must(t, call.Press("1"))
	if v, _ := w.c.ChannelState(ctx, "voice:call:"+call.Sid()); v == "" {
		t.Fatal("no state during the call")
	}
	must(t, call.HangUp())
	if v, err := w.c.ChannelState(ctx, "voice:call:"+call.Sid()); v != "" || err != nil {
		t.Errorf("state after the call: %q, %v", v, err)
	}

	form := url.Values{"CallSid": {"CA42"}, "From": {"+15305550108"}, "To": {faketwilio.CityNumber}}
	target := w.srv.URL + "/twilio/voice/renamed-step"
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", faketwilio.Sign(authToken, target, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "To report a problem, press 1") {
		t.Errorf("%s: %s", resp.Status, body)
	}
}

// Speech recognised with confidence 0.5 is trusted, whatever the
// question; below it, the answer is recorded. Silence at the tone asks
// the same question again, the one whose answer was unsure.
func TestUnsureAnswers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	call := w.call("+15305550109")
	must(t, call.Dial())
	must(t, call.Press("1"))
	must(t, call.Press("1"))
	must(t, call.Speak("a big pothole", 0.5))
	heardNot(t, call, "not sure I understood")
	hears(t, call, "Where is it?")
	must(t, call.Speak("Bird Street and Myers Street", 0.5))
	heardNot(t, call, "not sure I understood")
	hears(t, call, "I heard: Bird Street & Myers Street.")
	must(t, call.HangUp())

	call = w.call("+15305550109")
	must(t, call.Dial())
	must(t, call.Press("1"))
	must(t, call.Press("1"))
	must(t, call.Speak("a bug pot hole", 0.49))
	hears(t, call, "not sure I understood")
	waits(t, call, "Record")
	must(t, call.Silence())
	hears(t, call, "Sorry, I did not hear anything.", "tell us what the problem is")
	heardNot(t, call, "Where is it?")
	must(t, call.Speak("a big pothole", 0.9))
	hears(t, call, "Where is it?")
	must(t, call.Speak("bird and meyers", 0.49))
	hears(t, call, "not sure I understood")
	waits(t, call, "Record")
	must(t, call.Silence())
	hears(t, call, "Sorry, I did not hear anything.", "Where is it?")
	heardNot(t, call, "tell us what the problem is")
}
