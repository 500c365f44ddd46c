package faketwilio_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/twilio/twilio-go/client"
	"github.com/twilio/twilio-go/twiml"

	"townline/internal/faketwilio"
)

// ivr is a small phone menu written with the SDK, recording the webhooks
// it gets; it checks each one's signature as townline does.
type ivr struct {
	t    *testing.T
	srv  *httptest.Server
	mu   sync.Mutex
	hits []url.Values // with "path" added
}

func newIVR(t *testing.T) *ivr {
	t.Helper()
	v := &ivr{t: t}
	val := client.NewRequestValidator(token)
	pages := map[string][]twiml.Element{
		"/voice": {
			twiml.VoiceSay{Message: "Hello.", Language: "en-US"},
			twiml.VoiceGather{NumDigits: "1", InnerElements: []twiml.Element{twiml.VoiceSay{Message: "Press a key."}}},
			twiml.VoiceRedirect{Url: "quiet"}, // relative to the document
		},
		"/quiet": {twiml.VoiceSay{Message: "Nothing?"},
			twiml.VoiceGather{Input: "speech", Action: "/spoken", Language: "es-US"}, twiml.VoiceRedirect{Url: "/loop"}},
		"/spoken": {twiml.VoiceRecord{Action: "/recorded", Transcribe: "true", TranscribeCallback: "/transcript"},
			twiml.VoiceSay{Message: "No recording."}},
		"/recorded": {twiml.VoiceDial{Number: "+15305382401", Action: "/dialed"}},
		"/dialed":   {twiml.VoiceGather{FinishOnKey: "#", Action: "/number"}, twiml.VoiceHangup{}},
		"/number":   {twiml.VoiceSay{Message: "Bye."}},
		"/loop":     {twiml.VoiceRedirect{Url: "/loop"}},
	}
	v.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		params := map[string]string{}
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
		if !val.Validate(v.srv.URL+r.URL.RequestURI(), params, r.Header.Get("X-Twilio-Signature")) {
			t.Errorf("%s: bad signature", r.URL.Path)
		}
		hit := url.Values{}
		for k, vs := range r.PostForm {
			hit[k] = vs
		}
		hit.Set("path", r.URL.Path)
		v.mu.Lock()
		v.hits = append(v.hits, hit)
		v.mu.Unlock()
		switch r.URL.Path {
		case "/transcript", "/status":
			w.WriteHeader(http.StatusNoContent)
			return
		case "/broken":
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		verbs, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		doc, err := twiml.Voice(verbs)
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprint(w, doc)
	}))
	t.Cleanup(v.srv.Close)
	return v
}

func (v *ivr) last() url.Values { return v.back(1) }

// back is the n-th webhook from the end.
func (v *ivr) back(n int) url.Values {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.hits[len(v.hits)-n]
}

func TestCallerWalksTheTwiML(t *testing.T) {
	t.Parallel()
	s := faketwilio.New(sid, token)
	defer s.Close()
	v := newIVR(t)
	c := s.Call("+15305550100", v.srv.URL+"/voice")
	c.StatusCallback = v.srv.URL + "/status"
	c.DialStatus = "no-answer"

	if err := c.Dial(); err != nil {
		t.Fatal(err)
	}
	if got := c.Said(); got != "Hello. Press a key." {
		t.Errorf("said %q", got)
	}
	if h := v.last(); h.Get("CallStatus") != "ringing" || h.Get("From") != "+15305550100" || h.Get("To") != faketwilio.CityNumber {
		t.Errorf("first webhook %v", h)
	}
	if err := c.Speak("hola", 0.9); err == nil {
		t.Error("speech accepted by a keys-only gather")
	}
	if err := c.Silence(); err != nil { // the Redirect runs
		t.Fatal(err)
	}
	if got := c.Said(); got != "Nothing?" {
		t.Errorf("after silence: %q", got)
	}
	if err := c.Speak("hola", 0.42); err != nil {
		t.Fatal(err)
	}
	if h := v.last(); h.Get("path") != "/spoken" || h.Get("SpeechResult") != "hola" || h.Get("Confidence") != "0.42000000" {
		t.Errorf("speech webhook %v", h)
	}
	rec, err := c.Record(3)
	if err != nil {
		t.Fatal(err)
	}
	// The recording's action dials; nobody answers; the dial action gathers.
	if d := c.Dialed(); len(d) != 1 || d[0] != "+15305382401" || v.last().Get("DialCallStatus") != "no-answer" {
		t.Errorf("dialed %v, %v", d, v.last())
	}
	if err := c.Press("12345#9"); err != nil {
		t.Fatal(err)
	}
	if h := v.back(2); h.Get("path") != "/number" || h.Get("Digits") != "12345" {
		t.Errorf("keys webhook %v", h)
	}
	if !c.Ended() || c.Said() != "Bye." {
		t.Errorf("ended %v, said %q", c.Ended(), c.Said())
	}
	if h := v.last(); h.Get("path") != "/status" || h.Get("CallStatus") != "completed" {
		t.Errorf("no status callback at the end: %v", h)
	}
	if err := c.Transcribe(rec, "hola"); err != nil {
		t.Fatal(err)
	}
	if h := v.last(); h.Get("path") != "/transcript" || h.Get("RecordingSid") != rec || h.Get("TranscriptionText") != "hola" {
		t.Errorf("transcript %v", h)
	}
	if err := c.Press("1"); err == nil {
		t.Error("keys pressed after the call ended")
	}
}

func TestCallerCatchesMistakes(t *testing.T) {
	t.Parallel()
	s := faketwilio.New(sid, token)
	defer s.Close()
	v := newIVR(t)
	c := s.Call("+15305550100", v.srv.URL+"/loop")
	if err := c.Dial(); err == nil || !strings.Contains(err.Error(), "loop") {
		t.Errorf("redirect loop: %v", err)
	}
	c = s.Call("+15305550100", v.srv.URL+"/broken")
	if err := c.Dial(); err == nil || !c.Ended() {
		t.Errorf("a 500 answer: %v, ended %v", err, c.Ended())
	}
	c = s.Call("+15305550100", v.srv.URL+"/voice")
	if err := c.Dial(); err != nil {
		t.Fatal(err)
	}
	if err := c.Redeliver(); err != nil {
		t.Fatal(err)
	}
	first, again := v.back(2), v.back(1)
	if first.Encode() != again.Encode() {
		t.Errorf("redelivered\n%v\nnot\n%v", again, first)
	}
}
