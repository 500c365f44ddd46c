package staff

import (
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"

	"townline/channels/sms"
	"townline/core"
)

// maxSegments is the longest text reply sent without staff confirming it:
// past three segments, carriers may deliver the parts out of order, and
// each one is billed.
const maxSegments = 3

// length is a text's size as the resident's phone receives it: after the
// lookalike characters are replaced (sms.ToGSM), in GSM-7 or UCS-2.
type length struct {
	Characters, Segments int
	Encoding             string
}

func (l length) Over() bool { return l.Segments > maxSegments }

func (l length) String() string {
	s := fmt.Sprintf("%d characters · %d text", l.Characters, l.Segments)
	if l.Segments != 1 {
		s += "s"
	}
	s += " (" + l.Encoding + ")"
	if l.Over() {
		s += fmt.Sprintf(": more than %d", maxSegments)
	}
	return s
}

// textLength measures the reply words would make, when it goes by text.
func textLength(f core.ReplyFrame, words string) *length {
	if f.Channel != core.ChannelSMS {
		return nil
	}
	text := sms.ToGSM(f.Before + words + f.After)
	n, enc := sms.Segments(text)
	return &length{Characters: utf8.RuneCountInString(text), Segments: n, Encoding: enc}
}

// replyRoute says where a reply goes, for the reply box.
func replyRoute(origin core.Channel, f core.ReplyFrame, ct *core.Contact) string {
	switch {
	case ct == nil:
		return "Anonymous: a reply is kept, not sent."
	case f.Channel == core.ChannelSMS && origin == core.ChannelVoice:
		return "Goes by text to " + f.To + ": the caller accepted texts."
	case f.Channel == core.ChannelSMS:
		return "Goes by text to " + f.To + "."
	case f.Channel == core.ChannelEmail:
		return "Goes by mail to " + f.To + ", in the request's thread."
	case f.Channel == core.ChannelVoice:
		return "Goes by a phone call to " + f.To + ", read aloud, during the day (9 AM to 7 PM): they do not take texts."
	}
	return "The reporter cannot be reached the way they came: a reply is kept, not sent."
}

func (h *Handler) reply(w http.ResponseWriter, r *http.Request) {
	h.act(w, r, "body", func(req core.Request, by core.Actor) (string, error) {
		body, via := r.PostForm.Get("body"), core.Channel(r.PostForm.Get("via"))
		if req.ContactID != nil && r.PostForm.Get("long") == "" {
			ct, err := h.core.Contact(r.Context(), *req.ContactID)
			if err != nil {
				return "", err
			}
			f, err := h.core.ReplyFrame(req, ct, via)
			if err != nil {
				return "", err
			}
			if l := textLength(f, body); l != nil && l.Over() {
				return "", &core.ValidationError{Field: "body", Problem: fmt.Sprintf(
					"would reach the resident as %d texts: shorten it, or tick “Send it as %d texts”", l.Segments, l.Segments)}
			}
		}
		id, err := h.core.Reply(r.Context(), req.ID, via, body, by)
		switch {
		case err == nil && id == 0:
			return "Reply kept: the reporter cannot be reached.", nil
		case via == core.ChannelSMS:
			return "Text queued for the resident: it goes in the daytime, and their answer joins this request.", err
		}
		return "Reply queued for the resident.", err
	})
}

// segments measures a text reply as it is typed (static/staff.js): the
// request's own words around it are in the page.
func (h *Handler) segments(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	l := textLength(core.ReplyFrame{Channel: core.ChannelSMS}, r.PostForm.Get("text"))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		Text string `json:"text"`
		Over bool   `json:"over"`
	}{l.String(), l.Over()})
}
