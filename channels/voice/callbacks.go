package voice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/twilio/twilio-go/twiml"

	"townline/channels/twilio"
	"townline/core"
)

// status takes Twilio's call status callback. For an update call it is
// the message's delivery receipt; for a call to the menu, its end, after
// which its state can go.
func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	f, ok := h.verifier.Verify(w, r)
	if !ok {
		return
	}
	sid, status := f.Get("CallSid"), f.Get("CallStatus")
	var err error
	if f.Get("Direction") == "outbound-api" { // a call core placed
		if receipt, ok := twilio.CallReceipt(sid, status, f.Get("ErrorCode")); ok {
			err = h.core.RecordDelivery(r.Context(), core.ChannelVoice, receipt)
		} else {
			err = &core.ValidationError{Field: "CallStatus", Problem: fmt.Sprintf("%q is not a call status", status)}
		}
	} else if ended(status) && sid != "" {
		err = h.core.ForgetChannelState(r.Context(), stateKey(sid))
	}
	h.answerCallback(w, r, err, "status callback", sid)
}

func ended(status string) bool {
	switch status {
	case "completed", "busy", "no-answer", "failed", "canceled":
		return true
	}
	return false
}

// transcript takes the transcript Twilio made of a recording, some time
// after the recording itself.
func (h *Handler) transcript(w http.ResponseWriter, r *http.Request) {
	f, ok := h.verifier.Verify(w, r)
	if !ok {
		return
	}
	sid := f.Get("RecordingSid")
	if f.Get("TranscriptionStatus") != "completed" {
		h.log.Info("voice: recording not transcribed", "recording", sid, "status", f.Get("TranscriptionStatus"))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	_, err := h.core.SaveRecording(r.Context(), core.Recording{
		CallID: f.Get("CallSid"), ID: sid, From: f.Get("From"), URL: audioURL(f.Get("RecordingUrl")),
		Transcript: f.Get("TranscriptionText"), Voicemail: r.URL.Query().Get("kind") == "voicemail",
	})
	h.answerCallback(w, r, err, "transcript", sid)
}

// answerCallback answers a callback Twilio retries on failure: 503 when
// the database is away. What can never be taken (core refused it as
// invalid: a NUL byte, text that is not UTF-8, an unknown status) is
// logged and answered 204 as if taken: Twilio retries what it sees fail
// and raises a debugger alert for every error answer, and the same
// payload would be refused every time.
func (h *Handler) answerCallback(w http.ResponseWriter, r *http.Request, err error, what, sid string) {
	if err == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// Named before the switch: Go's coverage does not count a case's
	// expression, so mutation testing would call this rule untested.
	gone := r.Context().Err() != nil
	var invalid *core.ValidationError
	switch {
	case gone:
		// Twilio went away before the answer: nothing to answer, and no
		// fault of ours; it retries what it did not see taken.
		h.log.Debug("voice: "+what+" abandoned: Twilio went away", "sid", sid, "err", err)
		w.WriteHeader(statusClientClosed)
	case errors.As(err, &invalid):
		h.log.Warn("voice: "+what+" refused and dropped", "sid", sid, "err", err)
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, core.ErrUnavailable):
		h.log.Warn("voice: "+what+" not recorded: database unavailable", "sid", sid, "err", err)
		w.Header().Set("Retry-After", "5")
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	default:
		h.log.Error("voice: "+what+" failed", "sid", sid, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// replay follows "press 1 to hear it again" on an update call.
func (h *Handler) replay(w http.ResponseWriter, r *http.Request) {
	f, ok := h.verifier.Verify(w, r)
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(r.URL.Query().Get("m"), 10, 64)
	ctx, cancel := context.WithTimeout(r.Context(), stepTimeout)
	defer cancel()
	m, err := h.core.Message(ctx, id)
	if err == nil && (m.Channel != core.ChannelVoice || m.Direction != "out") {
		err = core.ErrNotFound // only an update call's own words are replayed
	}
	if err != nil {
		h.log.Warn("voice: cannot replay an update", "message", id, "err", err)
		rep := reply{lang: "en"}
		rep.say("trouble", nil)
		rep.hangup()
		h.write(w, &rep, "replay")
		return
	}
	rep := reply{lang: m.Language}
	if parseInput(f).Digits == "1" {
		updateCall(&rep, h.public, m.ID, m.Body)
	} else {
		rep.say("goodbye", words{City: h.core.City().Name})
		rep.hangup()
	}
	h.write(w, &rep, "replay")
}

// updateCall is what an update call says: the update, then the offer to
// hear it again. Silence ends the call: nothing more is needed.
func updateCall(r *reply, public string, messageID int64, body string) {
	action := public + "/twilio/voice/replay?" + url.Values{"m": {strconv.FormatInt(messageID, 10)}}.Encode()
	r.add(r.text(r.lang, body), twiml.VoiceGather{Input: "dtmf", NumDigits: "1", Timeout: "5", Method: "POST",
		Action: action, InnerElements: []twiml.Element{r.prompt(r.lang, "replay", nil)}})
}

// statusClientClosed is the status of a webhook whose caller went away
// before its answer: nginx's 499, recorded in the metrics, never read.
const statusClientClosed = 499
