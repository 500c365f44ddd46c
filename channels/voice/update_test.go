package voice_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"townline/core"
	"townline/internal/faketwilio"
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
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := w.c.Message(ctx, msgID)
		if err != nil {
			t.Fatal(err)
		}
		if m.State == "delivered" && m.ProviderID == c.Sid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %+v never delivered", m)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
