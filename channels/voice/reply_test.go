package voice

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
