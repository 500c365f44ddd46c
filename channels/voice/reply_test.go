package voice

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"townline/core"
)

// A prompt that fails to render fails the whole answer, and the first
// failure is the one reported: a later prompt's does not hide it.
func TestReplyKeepsTheFirstFailure(t *testing.T) {
	t.Parallel()
	r := reply{lang: "en"}
	r.say("wrong", nil)
	if _, err := r.xml(); err != nil {
		t.Fatal(err)
	}
	r.say("no-such-prompt", nil)
	r.say("wrong", nil)
	r.say("nor-this-one", nil)
	if doc, err := r.xml(); err == nil || !strings.Contains(err.Error(), "no-such-prompt") || doc != nil {
		t.Errorf("xml() = %q, %v; want the first failure", doc, err)
	}
}

// A prompt that failed to render is a bug: logged, and the caller hears
// the apology in their language, a 200 like any answer, never silence or
// Twilio's "an application error has occurred".
func TestWriteFallsBackToTheApology(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := &Handler{log: slog.New(slog.NewTextHandler(&logs, nil))}
	r := reply{lang: "es"}
	r.say("no-such-prompt", nil)
	w := httptest.NewRecorder()
	h.write(w, &r, "menu")
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/xml") ||
		!strings.Contains(body, `<Say language="es-US">Lo sentimos: nuestro sistema telefónico tiene problemas.`) ||
		!strings.Contains(body, "<Hangup") {
		t.Errorf("%d %q", w.Code, body)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "no-such-prompt") {
		t.Errorf("logged %q", logs.String())
	}
}

// Speech hints within what Twilio takes: up to maxHints of them, none
// empty, none longer than 100 characters, none with the comma that
// separates them.
func TestJoinHints(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 100)
	got := joinHints([]string{"pothole", "", long, long + "b", "Bird Street, Oroville", "dead dog"})
	if want := "pothole," + long + ",dead dog"; got != want {
		t.Errorf("joinHints = %q, want %q", got, want)
	}
	var many []string
	for i := range maxHints + 20 {
		many = append(many, fmt.Sprint("street ", i))
	}
	if got := strings.Split(joinHints(many), ","); len(got) != maxHints || got[maxHints-1] != many[maxHints-1] {
		t.Errorf("%d hints, the last %q", len(got), got[len(got)-1])
	}
}

// What a caller said is kept up to core's limit in characters: Spanish
// words at the limit are neither cut short nor cut in the middle of a
// letter, which core would refuse as text that is not UTF-8.
func TestParseInputSpeechLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		said, want string
	}{
		{strings.Repeat("a", core.MaxDescription-1) + "é", strings.Repeat("a", core.MaxDescription-1) + "é"},
		{strings.Repeat("ñ", core.MaxDescription+1), strings.Repeat("ñ", core.MaxDescription)},
		{"  un bache  ", "un bache"},
	} {
		in := parseInput(url.Values{"SpeechResult": {tc.said}})
		if in.Speech != tc.want || !utf8.ValidString(in.Speech) {
			t.Errorf("%d characters kept as %d (%d bytes, valid %v), want %d",
				utf8.RuneCountInString(tc.said), utf8.RuneCountInString(in.Speech), len(in.Speech),
				utf8.ValidString(in.Speech), utf8.RuneCountInString(tc.want))
		}
	}
}
