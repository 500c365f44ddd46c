// Package faketwilio is a local stand-in for Twilio's Programmable
// Messaging: the REST API townline sends texts through (Messages.json,
// with Basic auth, recorded for tests to read), media files behind Basic
// auth that redirect to a separate "CDN" host, signed status callbacks, and
// a phone that texts a webhook exactly as Twilio would. Tests and
// `townline demo` use it; it listens on loopback only.
package faketwilio

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Message is an outbound message the fake API accepted.
type Message struct {
	Sid                 string
	AccountSid          string
	To                  string
	From                string
	MessagingServiceSid string
	Body                string
	MediaURLs           []string
	StatusCallback      string
	Status              string // the latest status: queued, sent, delivered...
	At                  time.Time
	SentAt              time.Time // zero until the message reaches "sent"
}

// Callback is one status callback the fake posted, and how it was answered.
type Callback struct {
	URL, MessageSid, Status string
	Code                    int   // the webhook's HTTP status; 0 when Err is set
	Err                     error // the request failed
}

// MediaFile is a photo or other file, as a phone sends it.
type MediaFile struct {
	ContentType string
	Data        []byte
}

// Server is a fake Twilio account: an API host and a media CDN host, each
// on its own loopback listener so that redirects between them cross hosts.
type Server struct {
	AccountSID, AuthToken string

	api, cdn *httptest.Server
	client   *http.Client // for callbacks and phone webhooks
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	messages book[Message]
	calls    book[Call]

	mu        sync.Mutex
	closed    bool
	callbacks []Callback
	media     map[string]MediaFile // by API path
	cdnFiles  map[string]MediaFile // by CDN path
	// A message creation waits taking before it is accepted, then
	// answering before it is answered (SetSendDelay).
	taking, answering time.Duration
}

// New starts a fake Twilio account with these credentials. By default each
// accepted message moves through queued, sent and delivered, 20ms apart,
// with a signed callback for each status, and each call through
// initiated, ringing, in-progress and completed.
func New(accountSID, authToken string) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		AccountSID: accountSID,
		AuthToken:  authToken,
		client:     &http.Client{Timeout: 15 * time.Second}, // Twilio gives a webhook 15s
		ctx:        ctx,
		cancel:     cancel,
		messages:   newBook[Message]("messages", "queued", "sent", "delivered"),
		calls:      newBook[Call]("calls", "initiated", "ringing", "in-progress", "completed"),
		media:      map[string]MediaFile{},
		cdnFiles:   map[string]MediaFile{},
	}
	api := http.NewServeMux()
	api.HandleFunc("POST /2010-04-01/Accounts/{account}/Messages.json", s.auth(s.createMessage))
	api.HandleFunc("GET /2010-04-01/Accounts/{account}/Messages.json", s.auth(s.listMessages))
	api.HandleFunc("GET /2010-04-01/Accounts/{account}/Messages/{msg}/Media/{media}", s.auth(s.getMedia))
	api.HandleFunc("POST /2010-04-01/Accounts/{account}/Calls.json", s.auth(s.createCall))
	api.HandleFunc("GET /2010-04-01/Accounts/{account}/Recordings/{file}", s.auth(s.getRecording))
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
	})
	s.api = httptest.NewServer(api)
	s.cdn = httptest.NewServer(http.HandlerFunc(s.serveCDN))
	return s
}

// URL is the API's base URL, the TWILIO_API_URL to point townline at.
func (s *Server) URL() string { return s.api.URL }

// Close stops both hosts and any callbacks in flight.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true // no callbacks start after this
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.api.Close()
	s.cdn.Close()
}

// background runs f, which Close waits for, unless Close has begun.
func (s *Server) background(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// SetStatuses sets the statuses an accepted message goes through, each
// after delay and each posted to its StatusCallback. None: it stays queued
// and no callback is sent.
func (s *Server) SetStatuses(delay time.Duration, statuses ...string) {
	s.messages.setStatuses(delay, statuses)
}

// FailNext makes the next n message creations fail with this HTTP status
// and Twilio error code, as Twilio reports errors.
func (s *Server) FailNext(n, status, code int) {
	s.messages.addFaults(n, fault{status: status, code: code})
}

// DropNext makes the next n message creations lose their connection
// before any answer. With accept, the message is recorded first: Twilio
// took it, but the sender cannot know.
func (s *Server) DropNext(n int, accept bool) {
	s.messages.addFaults(n, fault{drop: true, accept: accept})
}

// SetSendDelay makes every message creation slow, as Twilio can be: it
// waits taking, then accepts the message unless the sender has hung up
// meanwhile (Twilio never had it), then waits answering before it
// answers (a sender that hangs up now has sent it all the same). Zero
// for both, the default, accepts and answers at once.
func (s *Server) SetSendDelay(taking, answering time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.taking, s.answering = taking, answering
}

// wait sleeps for d, or until the fake closes or ctx ends; false if ctx
// ended first.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	select {
	case <-time.After(d):
		return true
	case <-s.ctx.Done():
		return true
	case <-ctx.Done():
		return false
	}
}

// Messages returns the accepted messages, oldest first.
func (s *Server) Messages() []Message { return s.messages.all() }

// WaitMessages waits until at least n messages have been accepted and
// returns them all.
func (s *Server) WaitMessages(n int, timeout time.Duration) ([]Message, error) {
	return s.messages.wait(n, timeout)
}

// Next waits for the i-th accepted message (from 0) and returns it: a
// reader keeps its own index and never misses one.
func (s *Server) Next(ctx context.Context, i int) (Message, error) {
	return s.messages.next(ctx, i)
}

// Callbacks returns the status callbacks posted so far.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.callbacks)
}

// auth checks Basic auth and the account in the path as Twilio does.
func (s *Server) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || !hmac.Equal([]byte(user), []byte(s.AccountSID)) || !hmac.Equal([]byte(pass), []byte(s.AuthToken)) {
			w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
			apiError(w, http.StatusUnauthorized, 20003, "Authenticate")
			return
		}
		if r.PathValue("account") != s.AccountSID {
			apiError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
			return
		}
		next(w, r)
	}
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		apiError(w, http.StatusBadRequest, 20001, "Could not parse the request")
		return
	}
	f := r.PostForm
	m := &Message{
		Sid:                 NewSid("SM"),
		AccountSid:          s.AccountSID,
		To:                  f.Get("To"),
		From:                f.Get("From"),
		MessagingServiceSid: f.Get("MessagingServiceSid"),
		Body:                f.Get("Body"),
		MediaURLs:           f["MediaUrl"],
		StatusCallback:      f.Get("StatusCallback"),
		Status:              "queued",
		At:                  time.Now().UTC(),
	}
	switch {
	case m.To == "":
		apiError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case !isE164(m.To):
		apiError(w, http.StatusBadRequest, 21211, fmt.Sprintf("Invalid 'To' Phone Number: %s", m.To))
		return
	case m.From == "" && m.MessagingServiceSid == "":
		apiError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case m.Body == "" && len(m.MediaURLs) == 0:
		apiError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	case len([]rune(m.Body)) > 1600:
		apiError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	}
	if m.From == "" {
		m.Status = "accepted" // a Messaging Service picks the sender later
	}

	s.mu.Lock()
	taking, answering := s.taking, s.answering
	s.mu.Unlock()
	if !s.wait(r.Context(), taking) {
		return // the sender hung up before Twilio took the message
	}
	f0, progress := s.messages.add(m)
	body := messageJSON(m) // before progress changes m
	if progress != nil {
		s.background(func() { progress(s.ctx, setMessageStatus, s.postMessageStatus) })
	}
	s.wait(context.Background(), answering)
	answer(w, f0, body)
}

// setMessageStatus records a message's status and when it was sent.
func setMessageStatus(m *Message, status string) {
	m.Status = status
	if status == "sent" {
		m.SentAt = time.Now().UTC()
	}
}

// postMessageStatus posts a message's status to its StatusCallback, if
// any, and records the answer in Callbacks.
func (s *Server) postMessageStatus(m Message, _ int) {
	if m.StatusCallback == "" {
		return
	}
	p := url.Values{
		"AccountSid":    {m.AccountSid},
		"ApiVersion":    {"2010-04-01"},
		"From":          {m.From},
		"To":            {m.To},
		"MessageSid":    {m.Sid},
		"SmsSid":        {m.Sid},
		"MessageStatus": {m.Status},
		"SmsStatus":     {m.Status},
	}
	if m.MessagingServiceSid != "" {
		p.Set("MessagingServiceSid", m.MessagingServiceSid)
	}
	if m.Status == "failed" || m.Status == "undelivered" {
		p.Set("ErrorCode", "30003")
	}
	cb := Callback{URL: m.StatusCallback, MessageSid: m.Sid, Status: m.Status}
	resp, err := s.post(s.ctx, m.StatusCallback, p)
	if err != nil {
		cb.Err = err
	} else {
		cb.Code = resp.StatusCode
	}
	s.mu.Lock()
	s.callbacks = append(s.callbacks, cb)
	s.mu.Unlock()
}

// post sends a signed webhook as Twilio does.
func (s *Server) post(ctx context.Context, target string, p url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(p.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", Sign(s.AuthToken, target, p))
	req.Header.Set("I-Twilio-Idempotency-Token", NewSid(""))
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := bufferBody(resp); err != nil {
		return nil, err
	}
	return resp, nil
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, okA := parseDate(q.Get("DateSent>"))
	before, okB := parseDate(q.Get("DateSent<"))
	on, okOn := parseDate(q.Get("DateSent"))
	if !okA || !okB || !okOn {
		apiError(w, http.StatusBadRequest, 20001, "Invalid DateSent")
		return
	}
	size := 50
	if n, err := fmt.Sscan(q.Get("PageSize"), &size); n != 1 || err != nil || size < 1 || size > 1000 {
		size = 50
	}
	all := s.messages.all()
	list := []json.RawMessage{}
	for i := len(all) - 1; i >= 0 && len(list) < size; i-- { // newest first
		m := &all[i]
		switch {
		case q.Has("To") && q.Get("To") != m.To,
			q.Has("From") && q.Get("From") != m.From,
			(!after.IsZero() || !before.IsZero() || !on.IsZero()) && m.SentAt.IsZero(),
			!after.IsZero() && m.SentAt.Before(after),
			!before.IsZero() && !m.SentAt.Before(before),
			!on.IsZero() && (m.SentAt.Before(on) || !m.SentAt.Before(on.AddDate(0, 0, 1))):
			continue
		}
		list = append(list, messageJSON(m))
	}
	uri := r.URL.RequestURI()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"messages": list, "page": 0, "page_size": size, "start": 0, "end": max(len(list)-1, 0),
		"uri": uri, "first_page_uri": uri, "next_page_uri": nil, "previous_page_uri": nil,
	})
}

// parseDate reads a DateSent filter: a day or an RFC 3339 time.
func parseDate(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, true
	}
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// messageJSON is a Message resource as Twilio's API returns it.
func messageJSON(m *Message) []byte {
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	date := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.Format(time.RFC1123Z)
	}
	base := "/2010-04-01/Accounts/" + m.AccountSid + "/Messages/" + m.Sid
	b, _ := json.Marshal(map[string]any{
		"account_sid":           m.AccountSid,
		"api_version":           "2010-04-01",
		"body":                  m.Body,
		"date_created":          date(m.At),
		"date_updated":          date(m.At),
		"date_sent":             date(m.SentAt),
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  null(m.From),
		"messaging_service_sid": null(m.MessagingServiceSid),
		"num_media":             fmt.Sprint(len(m.MediaURLs)),
		"num_segments":          "1",
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   m.Sid,
		"status":                m.Status,
		"subresource_uris":      map[string]string{"media": base + "/Media.json"},
		"to":                    m.To,
		"uri":                   base + ".json",
	})
	return b
}

// apiError answers as Twilio reports an error.
func apiError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"code":      code,
		"message":   message,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
		"status":    status,
	})
}

// Sign computes X-Twilio-Signature for a webhook to url with these form
// parameters: base64(HMAC-SHA1(authToken, url + each key and value, keys
// sorted)). Written here from Twilio's documentation, apart from the
// SDK's validator, so that each checks the other.
func Sign(authToken, url string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(url))
	for _, k := range keys {
		vs := slices.Clone(params[k])
		sort.Strings(vs)
		for _, v := range vs {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// NewSid returns a Twilio-style id: a two-letter prefix and 32 hex digits.
func NewSid(prefix string) string {
	b := make([]byte, 16)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
