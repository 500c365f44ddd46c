package voice

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"strconv"
	"strings"

	"townline/core"
)

// callState is what a call has gathered so far, kept between webhooks.
type callState struct {
	Lang   string `json:"lang"`
	Chosen bool   `json:"chosen,omitempty"` // the caller picked the language with a key
	// Seq counts the reports begun on this call: with the CallSid it names
	// a report, so filing it twice gives back the same request.
	Seq     int    `json:"seq,omitempty"`
	Service string `json:"service,omitempty"` // "" until known: "anything else" waits for the description
	// Description and Address are what the report will say: recognised
	// with confidence, or found in the city's streets.
	Description string `json:"description,omitempty"`
	Address     string `json:"address,omitempty"`
	// SaidWhat and SaidWhere are the caller's words as recognised, however
	// unsure, for staff.
	SaidWhat   string   `json:"said_what,omitempty"`
	SaidWhere  string   `json:"said_where,omitempty"`
	Recordings []string `json:"recordings,omitempty"` // RecordingSids of this report's recorded answers
	Request    int64    `json:"request,omitempty"`    // the request filed last
	// How the caller of the request filed last hears back: by text
	// (TextsOK), or they may be offered texts.
	TextsOK    bool `json:"texts_ok,omitempty"`
	OfferTexts bool `json:"offer_texts,omitempty"`
}

// newReport forgets the last report's answers and starts another.
func (c *callState) newReport() {
	*c = callState{Lang: c.Lang, Chosen: c.Chosen, Seq: c.Seq + 1, Request: c.Request}
}

func stateKey(callSid string) string { return "voice:call:" + callSid }

// input is what the caller answered: keys, speech or a recording. Twilio
// posts nothing of the kind when a question times out.
type input struct {
	Digits       string
	Speech       string
	Confidence   float64 // of Speech, from 0 to 1
	RecordingURL string
	RecordingSid string
	DialStatus   string // how a call to staff ended
}

// maxDigits bounds what a caller can key in: a request number is short.
const maxDigits = 20

func parseInput(f url.Values) input {
	in := input{
		Speech:       strings.TrimSpace(f.Get("SpeechResult")),
		RecordingURL: audioURL(f.Get("RecordingUrl")),
		RecordingSid: f.Get("RecordingSid"),
		DialStatus:   f.Get("DialCallStatus"),
	}
	for _, r := range f.Get("Digits") {
		if len(in.Digits) == maxDigits {
			break
		}
		if (r >= '0' && r <= '9') || r == '*' || r == '#' {
			in.Digits += string(r)
		}
	}
	// Recognition never says this much; cut in characters, as core
	// counts them, never in the middle of one.
	in.Speech = core.Truncate(in.Speech, core.MaxDescription)
	c, err := strconv.ParseFloat(f.Get("Confidence"), 64)
	if err == nil && !math.IsNaN(c) {
		in.Confidence = min(max(c, 0), 1)
	}
	return in
}

// audioURL is where a recording's audio is fetched: Twilio's recording
// URL names it without a format, and ".mp3" asks for MP3, a tenth the
// size of the default WAV.
func audioURL(recording string) string {
	if recording == "" {
		return ""
	}
	return recording + ".mp3"
}

// empty says the caller answered nothing.
func (in input) empty() bool { return in.Digits == "" && in.Speech == "" && in.RecordingURL == "" }

// turn is one webhook of a call being answered.
type turn struct {
	h       *Handler
	sid     string // CallSid
	from    string // the caller's number as Twilio gives it
	call    callState
	in      input
	tries   int        // how many times this question went unanswered before
	query   url.Values // the step URL's own parameters
	r       reply      // the TwiML being built
	changed bool       // call must be saved
	forget  bool       // the call ends: its state can go
}

// begin reads the webhook and the call's state. A call whose state is
// missing (never started here, or forgotten) goes on in English.
func (h *Handler) begin(ctx context.Context, step string, f, q url.Values) (*turn, error) {
	t := &turn{h: h, sid: f.Get("CallSid"), from: f.Get("From"), in: parseInput(f), query: q,
		call: callState{Lang: "en"}}
	t.r.lang = "en"
	// n > 0 rather than n >= 0 changes nothing: t=0 is no tries either
	// (an equivalent mutant).
	if n, err := strconv.Atoi(q.Get("t")); err == nil && n > 0 && n <= maxTries {
		t.tries = n
	}
	if t.sid == "" || len(t.sid) > 100 {
		return t, errors.New("webhook without a usable CallSid")
	}
	if step == "" {
		return t, nil // a new call
	}
	v, err := h.core.ChannelState(ctx, stateKey(t.sid))
	if err != nil {
		return t, err
	}
	if v != "" {
		if err := json.Unmarshal([]byte(v), &t.call); err != nil || (t.call.Lang != "en" && t.call.Lang != "es") {
			h.log.Warn("voice: unreadable call state; going on without it", "call", t.sid, "err", err)
			t.call = callState{Lang: "en"}
		}
	}
	t.r.lang = t.call.Lang
	return t, nil
}

// save keeps the call's state for its next webhook, or forgets it when
// the call is over.
func (h *Handler) save(ctx context.Context, t *turn) error {
	if t.forget {
		return h.core.ForgetChannelState(ctx, stateKey(t.sid))
	}
	b, err := json.Marshal(t.call)
	if err != nil {
		return err
	}
	return h.core.SetChannelState(ctx, stateKey(t.sid), string(b))
}
