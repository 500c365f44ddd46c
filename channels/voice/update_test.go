package voice_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"townline/core"
	"townline/internal/faketwilio"
	"townline/internal/testenv"
)

// A caller who did not take texts hears an update by a daytime call: the
// job waits for calling hours, the call says the update and offers it
// again, and its status callback marks the message delivered.
func TestUpdateCall(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	call := w.call("+15305550120")
	must(t, call.Dial())
	must(t, call.Press("1"))
	must(t, call.Press("1"))
	must(t, call.Speak("a big pothole on Lincoln Street and Robinson Street", 0.9))
	must(t, call.Press("1"))
	must(t, call.Press("2")) // no texts
	must(t, call.HangUp())
	r := w.only()

	must(t, w.c.ChangeStatus(ctx, r.ID, core.StatusChange{To: core.StatusInProgress, Note: "Crews patch it on Monday.",
		Public: true, By: core.Actor{Name: "Pat"}}))
	var msgID int64
	var channel, body string
	var scheduled time.Time
	err := w.pool.QueryRow(ctx, `SELECT m.id, m.channel, m.body, j.scheduled_at FROM messages m
		JOIN river_job j ON j.kind = 'deliver' AND (j.args->>'message_id')::bigint = m.id
		WHERE m.request_id = $1 AND m.direction = 'out'`, r.ID).Scan(&msgID, &channel, &body, &scheduled)
	if err != nil {
		t.Fatal(err)
	}
	if channel != "voice" || !strings.Contains(body, "It is now in progress. Crews patch it on Monday.") {
		t.Errorf("update %s: %q", channel, body)
	}
	local := scheduled.In(w.c.City().Location)
	if h := local.Hour(); h < 9 || h >= 19 {
		t.Errorf("the call is scheduled for %v, outside calling hours", local)
	}
	if time.Until(scheduled) > 24*time.Hour {
		t.Errorf("the call waits until %v", scheduled)
	}

	// Calling hours have come.
	if _, err := w.pool.Exec(ctx, `UPDATE river_job SET scheduled_at = now(), state = 'available'
		WHERE kind = 'deliver' AND state = 'scheduled'`); err != nil {
		t.Fatal(err)
	}
	calls, err := w.fake.WaitCalls(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := calls[0]
	if c.To != "+15305550120" || c.From != faketwilio.CityNumber || c.StatusCallback != w.srv.URL+"/twilio/voice/status" {
		t.Errorf("call %+v", c)
	}
	phone, err := w.fake.Answer(c)
	must(t, err)
	hears(t, phone, "This is the City of Oroville with an update on your report number", "Crews patch it on Monday.",
		"To hear this message again, press 1.")
	must(t, phone.Press("1"))
	hears(t, phone, "Crews patch it on Monday.", "To hear this message again, press 1.")
	must(t, phone.Press("2"))
	hears(t, phone, "Goodbye.")
	if !phone.Ended() {
		t.Error("the update call goes on")
	}

	// The fake's "completed" callback is the delivery receipt.
	testenv.WaitFor(t, w.c, func() error {
		m, err := w.c.Message(ctx, msgID)
		if err != nil {
			t.Fatal(err)
		}
		if m.State != "delivered" || m.ProviderID != c.Sid {
			return fmt.Errorf("message %+v never delivered", m)
		}
		return nil
	})
}

// A caller who chose Spanish hears their update in Spanish, the service
// by its Spanish name, and again in Spanish when they press 1. The replay
// says only an update call's own words: never what a caller said, nor a
// message that does not exist.
func TestUpdateCallInSpanish(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	call := w.call("+15305550121")
	must(t, call.Dial())
	must(t, call.Press("9"))
	must(t, call.Press("1"))
	must(t, call.Press("1"))
	must(t, call.Speak("un bache grande en Lincoln Street y Robinson Street", 0.9))
	must(t, call.Press("1"))
	must(t, call.Press("2")) // no texts
	must(t, call.HangUp())
	r := w.only()

	must(t, w.c.ChangeStatus(ctx, r.ID, core.StatusChange{To: core.StatusInProgress, Note: "La cuadrilla lo arregla el lunes.",
		Public: true, By: core.Actor{Name: "Pat"}}))
	if _, err := w.pool.Exec(ctx, `UPDATE river_job SET scheduled_at = now(), state = 'available'
		WHERE kind = 'deliver' AND state = 'scheduled'`); err != nil {
		t.Fatal(err)
	}
	calls, err := w.fake.WaitCalls(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	phone, err := w.fake.Answer(calls[0])
	must(t, err)
	spanish := func() {
		t.Helper()
		hears(t, phone, ", Bache. Ahora está", "La cuadrilla lo arregla el lunes.", "Para escuchar este mensaje de nuevo, oprima 1.")
		for _, s := range phone.Heard() {
			if s.Language != "es-US" {
				t.Errorf("%q spoken in %s", s.Text, s.Language)
			}
		}
	}
	spanish()
	must(t, phone.Press("1"))
	spanish()
	must(t, phone.Press("2"))
	hears(t, phone, "Gracias por llamar a la Ciudad de Oroville. Adiós.")

	ms, err := w.c.Messages(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var said int64
	for _, m := range ms {
		if m.Direction == "in" {
			said = m.ID
		}
	}
	for _, id := range []int64{said, 999999} {
		target := w.srv.URL + "/twilio/voice/replay?m=" + strconv.FormatInt(id, 10)
		form := url.Values{"CallSid": {calls[0].Sid}, "Digits": {"1"}, "Direction": {"outbound-api"}}
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", faketwilio.Sign(authToken, target, form))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "our phone system is having trouble") ||
			strings.Contains(string(body), "bache") {
			t.Errorf("replay of message %d: %s %s", id, resp.Status, body)
		}
	}
}
