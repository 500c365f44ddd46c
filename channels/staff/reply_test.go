package staff_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"townline/core"
)

// A text reply is measured as the resident's phone receives it, and one
// longer than three texts is sent only when staff confirm it.
func TestTextReplyLength(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	res, err := b.c.Intake(ctx, core.Inbound{Channel: core.ChannelSMS, From: "+15305550142", To: "+15305550000",
		Text: "pothole at 100 Bird Street", ProviderID: "SMlength1"})
	if err != nil || res.RequestID == 0 {
		t.Fatalf("intake: %+v %v", res, err)
	}
	desk := b.signIn("desk@oroville.test")
	page := fmt.Sprintf("/staff/requests/%d", res.RequestID)
	code, body := b.get(desk, page)
	if code != 200 || !strings.Contains(html.UnescapeString(body), "Goes by text to +15305550142.") ||
		!regexp.MustCompile(`id="length"[^>]*>\d+ characters · 1 text \(GSM-7\)<`).MatchString(body) {
		t.Fatalf("request page %d: the reply box does not measure the text", code)
	}

	measure := func(text string) (string, bool) {
		t.Helper()
		resp, err := desk.PostForm(b.srv.URL+"/staff/segments", url.Values{"text": {text}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var l struct {
			Text string
			Over bool
		}
		if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
			t.Fatal(err)
		}
		return l.Text, l.Over
	}
	for _, c := range []struct {
		text, want string
		over       bool
	}{
		{strings.Repeat("a", 160), "160 characters · 1 text (GSM-7)", false},
		{strings.Repeat("a", 161), "161 characters · 2 texts (GSM-7)", false},
		{strings.Repeat("a", 459), "459 characters · 3 texts (GSM-7)", false},
		{strings.Repeat("a", 460), "460 characters · 4 texts (GSM-7): more than 3", true},
		{strings.Repeat("[", 81), "81 characters · 2 texts (GSM-7)", false},                            // two septets each
		{"Calle cerrada, gracias " + strings.Repeat("á", 60), "83 characters · 1 text (GSM-7)", false}, // á sent as a
		{"Thanks 🙂" + strings.Repeat("b", 62), "70 characters · 2 texts (UCS-2)", false},               // 71 UTF-16 units,
	} {
		if got, over := measure(c.text); got != c.want || over != c.over {
			t.Errorf("%.20q…: %q over=%v, want %q over=%v", c.text, got, over, c.want, c.over)
		}
	}
	if code, _ := b.post(b.signIn(""), "/staff/segments", url.Values{"text": {"x"}}); code != http.StatusForbidden {
		t.Errorf("signed out, measuring: %d, want 403", code)
	}

	long := strings.Repeat("The crew comes on Tuesday. ", 20)
	before := b.changes()
	code, body = b.post(desk, page+"/reply", url.Values{"body": {long}, "seen": {b.seen(desk, res.RequestID)}})
	if code != http.StatusBadRequest || !strings.Contains(body, "Send it as 4 texts") || !strings.Contains(body, "The crew comes on Tuesday.") {
		t.Fatalf("a four-text reply: %d, want 400 with the confirmation and the words kept", code)
	}
	if b.changes() != before {
		t.Error("the refused reply changed something")
	}
	code, _ = b.post(desk, page+"/reply", url.Values{"body": {long}, "long": {"1"}, "seen": {b.seen(desk, res.RequestID)}})
	var n int
	b.c.Pool().QueryRow(ctx, `SELECT count(*) FROM messages WHERE request_id = $1 AND direction = 'out'
		AND channel = 'sms' AND user_id IS NOT NULL AND body LIKE '%Tuesday%'`, res.RequestID).Scan(&n)
	if code != http.StatusSeeOther || n != 1 {
		t.Errorf("the confirmed reply: %d, %d queued, want 303 and 1", code, n)
	}
}

// A mail reply shows its subject; a caller who takes no texts hears back by
// a daytime call.
func TestReplyBoxSaysHowItGoes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	desk := b.signIn("desk@oroville.test")
	_, body := b.get(desk, fmt.Sprintf("/staff/requests/%d", b.pothole.ID))
	want := fmt.Sprintf("Subject: Re: Pothole [#%d]", b.pothole.ID)
	if !strings.Contains(body, "Goes by mail to ana@example.com") || !strings.Contains(body, want) || strings.Contains(body, `id="length"`) {
		t.Errorf("the mail reply box does not say %q, or measures texts", want)
	}
}
