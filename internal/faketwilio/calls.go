package faketwilio

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
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

// callBook holds a Server's calls. It lives beside the Server, not in
// it, so that calls came without reworking the messaging fake.
type callBook struct {
	mu       sync.Mutex
	calls    []*Call
	changed  chan struct{}
	statuses []string
	delay    time.Duration
	faults   []fault
}

var books sync.Map // *Server -> *callBook

// registerCalls adds the Calls API to the fake's API host.
func (s *Server) registerCalls(mux *http.ServeMux) {
	books.Store(s, &callBook{
		changed:  make(chan struct{}),
		statuses: []string{"initiated", "ringing", "in-progress", "completed"},
		delay:    20 * time.Millisecond,
	})
	mux.HandleFunc("POST /2010-04-01/Accounts/{account}/Calls.json", s.auth(s.createCall))
}

func (s *Server) book() *callBook {
	b, _ := books.Load(s)
	return b.(*callBook)
}

// SetCallStatuses sets the statuses an accepted call goes through, each
// after delay. The end (completed, busy, no-answer, failed, canceled) is
// posted to the call's StatusCallback, and the others when its
// StatusCallbackEvent asks for them, as Twilio does.
func (s *Server) SetCallStatuses(delay time.Duration, statuses ...string) {
	b := s.book()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.delay, b.statuses = delay, statuses
}

// FailNextCall makes the next n call creations fail with this HTTP status
// and Twilio error code.
func (s *Server) FailNextCall(n, status, code int) {
	s.addCallFaults(n, fault{status: status, code: code})
}

// DropNextCall makes the next n call creations lose their connection
// before any answer; with accept, the call is placed first.
func (s *Server) DropNextCall(n int, accept bool) {
	s.addCallFaults(n, fault{drop: true, accept: accept})
}

func (s *Server) addCallFaults(n int, f fault) {
	b := s.book()
	b.mu.Lock()
	defer b.mu.Unlock()
	for range n {
		b.faults = append(b.faults, f)
	}
}

// Calls returns the accepted calls, oldest first.
func (s *Server) Calls() []Call {
	b := s.book()
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Call, len(b.calls))
	for i, c := range b.calls {
		out[i] = *c
	}
	return out
}

// NextCall waits for the i-th accepted call (from 0) and returns it.
func (s *Server) NextCall(ctx context.Context, i int) (Call, error) {
	b := s.book()
	for {
		b.mu.Lock()
		if i < len(b.calls) {
			c := *b.calls[i]
			b.mu.Unlock()
			return c, nil
		}
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Call{}, ctx.Err()
		}
	}
}

// WaitCalls waits until at least n calls have been accepted and returns
// them all.
func (s *Server) WaitCalls(n int, timeout time.Duration) ([]Call, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := s.NextCall(ctx, n-1); err != nil {
		return s.Calls(), fmt.Errorf("faketwilio: %d calls after %v, want %d", len(s.Calls()), timeout, n)
	}
	return s.Calls(), nil
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

	b := s.book()
	b.mu.Lock()
	var f0 *fault
	if len(b.faults) > 0 {
		f0 = &b.faults[0]
		b.faults = b.faults[1:]
	}
	accepted := f0 == nil || (f0.drop && f0.accept)
	if accepted {
		b.calls = append(b.calls, c)
		close(b.changed)
		b.changed = make(chan struct{})
	}
	body := callJSON(c)
	statuses, delay := slices.Clone(b.statuses), b.delay
	b.mu.Unlock()
	if accepted {
		s.mu.Lock()
		if !s.closed {
			s.wg.Add(1)
			go s.progressCall(c.Sid, statuses, delay)
		}
		s.mu.Unlock()
	}

	switch {
	case f0 != nil && f0.drop:
		hangUp(w)
		return
	case f0 != nil:
		apiError(w, f0.status, f0.code, fmt.Sprintf("fake failure %d", f0.code))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(body)
}

// progressCall moves a call through its statuses, posting those its
// StatusCallback wants.
func (s *Server) progressCall(sid string, statuses []string, delay time.Duration) {
	defer s.wg.Done()
	b := s.book()
	for i, status := range statuses {
		select {
		case <-time.After(delay):
		case <-s.ctx.Done():
			return
		}
		b.mu.Lock()
		i0 := slices.IndexFunc(b.calls, func(c *Call) bool { return c.Sid == sid })
		if i0 < 0 {
			b.mu.Unlock()
			return
		}
		c := b.calls[i0]
		c.Status = status
		close(b.changed)
		b.changed = make(chan struct{})
		cb := *c
		b.mu.Unlock()
		if cb.StatusCallback != "" && wantsEvent(cb.StatusCallbackEvents, status) {
			p := url.Values{
				"AccountSid": {cb.AccountSid}, "ApiVersion": {"2010-04-01"}, "CallSid": {cb.Sid},
				"CallStatus": {status}, "Direction": {"outbound-api"}, "From": {cb.From}, "To": {cb.To},
				"Called": {cb.To}, "Caller": {cb.From}, "SequenceNumber": {fmt.Sprint(i)},
				"Timestamp": {time.Now().UTC().Format(time.RFC1123Z)},
			}
			if status == "completed" {
				p.Set("CallDuration", "12")
			}
			s.post(s.ctx, cb.StatusCallback, p)
		}
	}
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
