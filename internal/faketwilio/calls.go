package faketwilio

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Call is an outbound call the fake API accepted.
type Call struct {
	Sid                  string
	AccountSid           string
	To, From             string
	Twiml                string // what the call says, when given inline
	URL                  string // where Twilio would fetch it, otherwise
	StatusCallback       string
	StatusCallbackEvents []string
	Status               string // queued, initiated, ringing, in-progress, completed, busy...
	At                   time.Time
}

// SetCallStatuses sets the statuses an accepted call goes through, each
// after delay. The end (completed, busy, no-answer, failed, canceled) is
// posted to the call's StatusCallback, and the others when its
// StatusCallbackEvent asks for them, as Twilio does.
func (s *Server) SetCallStatuses(delay time.Duration, statuses ...string) {
	s.calls.setStatuses(delay, statuses)
}

// FailNextCall makes the next n call creations fail with this HTTP status
// and Twilio error code.
func (s *Server) FailNextCall(n, status, code int) {
	s.calls.addFaults(n, fault{status: status, code: code})
}

// DropNextCall makes the next n call creations lose their connection
// before any answer; with accept, the call is placed first.
func (s *Server) DropNextCall(n int, accept bool) {
	s.calls.addFaults(n, fault{drop: true, accept: accept})
}

// Calls returns the accepted calls, oldest first.
func (s *Server) Calls() []Call { return s.calls.all() }

// NextCall waits for the i-th accepted call (from 0) and returns it.
func (s *Server) NextCall(ctx context.Context, i int) (Call, error) {
	return s.calls.next(ctx, i)
}

// WaitCalls waits until at least n calls have been accepted and returns
// them all.
func (s *Server) WaitCalls(n int, timeout time.Duration) ([]Call, error) {
	return s.calls.wait(n, timeout)
}

func (s *Server) createCall(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		apiError(w, http.StatusBadRequest, 20001, "Could not parse the request")
		return
	}
	f := r.PostForm
	c := &Call{
		Sid: NewSid("CA"), AccountSid: s.AccountSID, To: f.Get("To"), From: f.Get("From"),
		Twiml: f.Get("Twiml"), URL: f.Get("Url"), StatusCallback: f.Get("StatusCallback"),
		StatusCallbackEvents: f["StatusCallbackEvent"], Status: "queued", At: time.Now().UTC(),
	}
	switch {
	case c.To == "":
		apiError(w, http.StatusBadRequest, 21201, "No 'To' number is specified")
		return
	case !isE164(c.To):
		apiError(w, http.StatusBadRequest, 21211, fmt.Sprintf("Invalid 'To' Phone Number: %s", c.To))
		return
	case c.From == "":
		apiError(w, http.StatusBadRequest, 21213, "No 'From' number is specified")
		return
	case !isE164(c.From):
		apiError(w, http.StatusBadRequest, 21212, fmt.Sprintf("Invalid 'From' Phone Number: %s", c.From))
		return
	case c.Twiml == "" && c.URL == "" && f.Get("ApplicationSid") == "":
		apiError(w, http.StatusBadRequest, 21205, "Url parameter is required.")
		return
	case len(c.Twiml) > 4000:
		apiError(w, http.StatusBadRequest, 21232, "Twiml parameter exceeds 4000 characters")
		return
	case c.Twiml != "" && xml.Unmarshal([]byte(c.Twiml), new(struct{})) != nil:
		apiError(w, http.StatusBadRequest, 12100, "Document parse failure")
		return
	}

	f0, progress := s.calls.add(c)
	body := callJSON(c) // before progress changes c
	if progress != nil {
		set := func(c *Call, status string) { c.Status = status }
		s.background(func() { progress(s.ctx, set, s.postCallStatus) })
	}
	answer(w, f0, body)
}

// postCallStatus posts a call's status, the seq-th, to its
// StatusCallback if that wants it.
func (s *Server) postCallStatus(c Call, seq int) {
	if c.StatusCallback == "" || !wantsEvent(c.StatusCallbackEvents, c.Status) {
		return
	}
	p := url.Values{
		"AccountSid": {c.AccountSid}, "ApiVersion": {"2010-04-01"}, "CallSid": {c.Sid},
		"CallStatus": {c.Status}, "Direction": {"outbound-api"}, "From": {c.From}, "To": {c.To},
		"Called": {c.To}, "Caller": {c.From}, "SequenceNumber": {fmt.Sprint(seq)},
		"Timestamp": {time.Now().UTC().Format(time.RFC1123Z)},
	}
	if c.Status == "completed" {
		p.Set("CallDuration", "12")
	}
	s.post(s.ctx, c.StatusCallback, p)
}

// wantsEvent says whether Twilio posts status to a callback that asked
// for events: the end always, the rest on request.
func wantsEvent(events []string, status string) bool {
	switch status {
	case "completed", "busy", "no-answer", "failed", "canceled":
		return true
	case "in-progress":
		status = "answered"
	}
	for _, e := range events {
		for _, x := range strings.Fields(e) { // Twilio also takes them space-separated
			if x == status {
				return true
			}
		}
	}
	return false
}

// callJSON is a Call resource as Twilio's API returns it.
func callJSON(c *Call) []byte {
	base := "/2010-04-01/Accounts/" + c.AccountSid + "/Calls/" + c.Sid
	b, _ := json.Marshal(map[string]any{
		"sid": c.Sid, "account_sid": c.AccountSid, "api_version": "2010-04-01",
		"to": c.To, "to_formatted": c.To, "from": c.From, "from_formatted": c.From,
		"status": c.Status, "direction": "outbound-api", "answered_by": nil,
		"date_created": c.At.Format(time.RFC1123Z), "date_updated": c.At.Format(time.RFC1123Z),
		"start_time": nil, "end_time": nil, "duration": nil, "price": nil, "price_unit": "USD",
		"parent_call_sid": nil, "phone_number_sid": NewSid("PN"), "caller_name": nil,
		"uri": base + ".json",
		"subresource_uris": map[string]string{
			"recordings":    base + "/Recordings.json",
			"notifications": base + "/Notifications.json",
		},
	})
	return b
}
