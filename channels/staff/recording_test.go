package staff_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"townline/core"
	"townline/internal/faketwilio"
)

// Staff play a caller's voicemail through townline, which fetches it from
// Twilio with the account's credentials; only staff who may see the
// request hear it.
func TestVoicemailPlays(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	// A caller with an open pothole request leaves a voicemail: it joins it.
	const caller = "+15305550177"
	lat, lng := spot(1)
	req, err := b.c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
		Description: "Hole", Lat: &lat, Lng: &lng, Reporter: core.Reporter{Phone: caller}})
	if err != nil {
		t.Fatal(err)
	}
	sid, url := b.twilio.AddRecording(12)
	msg, err := b.c.SaveRecording(ctx, core.Recording{CallID: "CA1", ID: sid, From: caller, URL: url + ".mp3", // as the phone menu asks
		Transcript: "the hole got bigger", Voicemail: true})
	if err != nil {
		t.Fatal(err)
	}
	roads := b.signIn("roads@oroville.test")
	_, page := b.get(roads, fmt.Sprintf("/staff/requests/%d", req.ID))
	src := fmt.Sprintf(`<audio controls preload="none" src="/staff/recordings/%d">`, msg)
	if !strings.Contains(page, src) || !strings.Contains(page, "the hole got bigger") || strings.Contains(page, sid) {
		t.Errorf("the request page does not play the voicemail with its transcript, or shows Twilio's URL")
	}
	resp, err := roads.Get(b.srv.URL + fmt.Sprintf("/staff/recordings/%d", msg))
	if err != nil {
		t.Fatal(err)
	}
	audio, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/mpeg" ||
		resp.Header.Get("Content-Disposition") != fmt.Sprintf(`inline; filename="recording-%d.mp3"`, msg) ||
		!bytes.Equal(audio, faketwilio.RecordingAudio(sid, 12)) {
		t.Errorf("playing: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), audio)
	}
	// Parks does not hear Public Works' voicemail; no other message plays.
	if code, _ := b.get(b.signIn("parks@oroville.test"), fmt.Sprintf("/staff/recordings/%d", msg)); code != 404 {
		t.Errorf("parks played Public Works' voicemail: %d", code)
	}
	var other int64 // the pothole's acknowledgment, a message roads may read
	if err := b.c.Pool().QueryRow(ctx, `SELECT min(id) FROM messages WHERE request_id = $1`, b.pothole.ID).Scan(&other); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{fmt.Sprint(other), "999999", "x"} {
		if code, _ := b.get(roads, "/staff/recordings/"+id); code != 404 {
			t.Errorf("recording %s: %d, want 404", id, code)
		}
	}
	// A voicemail on no request is for dispatchers.
	sid2, url2 := b.twilio.AddRecording(5)
	lone, err := b.c.SaveRecording(ctx, core.Recording{CallID: "CA2", ID: sid2, From: "+15305550178", URL: url2 + ".mp3", Voicemail: true})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := b.get(roads, fmt.Sprintf("/staff/recordings/%d", lone)); code != 404 {
		t.Errorf("staff played a voicemail on no request: %d", code)
	}
	if code, body := b.get(b.signIn("desk@oroville.test"), fmt.Sprintf("/staff/recordings/%d", lone)); code != 200 ||
		body != string(faketwilio.RecordingAudio(sid2, 5)) {
		t.Errorf("the dispatcher cannot play a voicemail on no request: %d", code)
	}
}
