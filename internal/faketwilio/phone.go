package faketwilio

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
)

// CityNumber is the city's Twilio number phones text by default.
const CityNumber = "+15305551311"

// AddMedia stores a file as Twilio stores an MMS attachment and returns
// its URL on the API host.
func (s *Server) AddMedia(contentType string, data []byte) string {
	return s.addMedia(NewSid("MM"), contentType, data)
}

func (s *Server) addMedia(messageSid, contentType string, data []byte) string {
	path := "/2010-04-01/Accounts/" + s.AccountSID + "/Messages/" + messageSid + "/Media/" + NewSid("ME")
	s.mu.Lock()
	s.media[path] = MediaFile{ContentType: contentType, Data: bytes.Clone(data)}
	s.mu.Unlock()
	return s.api.URL + path
}

// AddRecording keeps a recording of seconds as Twilio does, and returns
// its sid and URL (RecordingUrl: its audio is the URL with ".mp3" or
// ".wav" added, behind Basic auth). RecordingAudio is what it holds.
func (s *Server) AddRecording(seconds int) (sid, url string) {
	sid = NewSid("RE")
	path := "/2010-04-01/Accounts/" + s.AccountSID + "/Recordings/" + sid
	s.mu.Lock()
	s.media[path+".mp3"] = MediaFile{ContentType: "audio/mpeg", Data: RecordingAudio(sid, seconds)}
	s.mu.Unlock()
	return sid, s.api.URL + path
}

// RecordingAudio is the MP3 a fake recording holds: an ID3 header, then
// its sid and length, which a test can recognise.
func RecordingAudio(sid string, seconds int) []byte {
	return fmt.Appendf([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), "%s %ds", sid, seconds)
}

// getRecording serves a recording's audio to the account.
func (s *Server) getRecording(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, ok := s.media[r.URL.Path]
	s.mu.Unlock()
	if !ok {
		apiError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	w.Header().Set("Content-Type", f.ContentType)
	w.Write(f.Data)
}

// getMedia answers an authenticated media request as Twilio does: with a
// redirect to a short-lived URL on the CDN host.
func (s *Server) getMedia(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, ok := s.media[r.URL.Path]
	var cdnPath string
	if ok {
		cdnPath = "/cdn/" + NewSid("")
		s.cdnFiles[cdnPath] = f
	}
	s.mu.Unlock()
	if !ok {
		apiError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	http.Redirect(w, r, s.cdn.URL+cdnPath, http.StatusTemporaryRedirect)
}

// serveCDN serves media by the URL's secret alone and, like S3 with a
// signed URL, refuses a request that also carries credentials.
func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		http.Error(w, "credentials are not accepted here", http.StatusForbidden)
		return
	}
	s.mu.Lock()
	f, ok := s.cdnFiles[r.URL.Path]
	s.mu.Unlock()
	if r.Method != http.MethodGet || !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.ContentType)
	w.Write(f.Data)
}

// Phone is a resident's phone: it texts the city's webhook as Twilio
// delivers an inbound message.
type Phone struct {
	Number     string // the resident's number, E.164
	To         string // the city's number
	WebhookURL string // townline's PublicURL + "/twilio/sms"

	s    *Server
	mu   sync.Mutex
	sent map[string]url.Values // by MessageSid, for Resend
	last string
}

// Phone returns a phone with this number that texts webhookURL.
func (s *Server) Phone(number, webhookURL string) *Phone {
	return &Phone{Number: number, To: CityNumber, WebhookURL: webhookURL, s: s, sent: map[string]url.Values{}}
}

// Send texts the city, with media stored on the fake first, and returns
// the webhook's answer with its body read.
func (p *Phone) Send(text string, media ...MediaFile) (*http.Response, error) {
	return p.SendParams(text, nil, media...)
}

// SendParams is Send with further webhook parameters, such as the
// Latitude and Longitude of a shared location.
func (p *Phone) SendParams(text string, extra url.Values, media ...MediaFile) (*http.Response, error) {
	sid := NewSid("SM")
	if len(media) > 0 {
		sid = NewSid("MM")
	}
	params := url.Values{
		"ToCountry":        {"US"},
		"ToState":          {"CA"},
		"ToCity":           {"OROVILLE"},
		"ToZip":            {"95965"},
		"FromCountry":      {"US"},
		"FromState":        {"CA"},
		"FromCity":         {"OROVILLE"},
		"FromZip":          {"95965"},
		"SmsMessageSid":    {sid},
		"SmsSid":           {sid},
		"MessageSid":       {sid},
		"SmsStatus":        {"received"},
		"AccountSid":       {p.s.AccountSID},
		"From":             {p.Number},
		"To":               {p.To},
		"Body":             {text},
		"NumMedia":         {fmt.Sprint(len(media))},
		"NumSegments":      {fmt.Sprint(max(1, (len([]rune(text))+152)/153))},
		"ReferralNumMedia": {"0"},
		"ApiVersion":       {"2010-04-01"},
	}
	for i, m := range media {
		params.Set(fmt.Sprintf("MediaUrl%d", i), p.s.addMedia(sid, m.ContentType, m.Data))
		params.Set(fmt.Sprintf("MediaContentType%d", i), m.ContentType)
	}
	for k, vs := range extra {
		params[k] = vs
	}
	p.mu.Lock()
	p.sent[sid], p.last = params, sid
	p.mu.Unlock()
	return p.s.post(context.Background(), p.WebhookURL, params)
}

// LastSid is the MessageSid of the phone's latest text.
func (p *Phone) LastSid() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// Resend delivers an earlier text again, same MessageSid and all, as
// Twilio does after a timeout or when it falls back.
func (p *Phone) Resend(sid string) (*http.Response, error) {
	p.mu.Lock()
	params, ok := p.sent[sid]
	p.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("faketwilio: phone %s never sent %s", p.Number, sid)
	}
	return p.s.post(context.Background(), p.WebhookURL, params)
}

// Received returns the messages the city sent this phone, oldest first.
func (p *Phone) Received() []Message {
	var out []Message
	for _, m := range p.s.Messages() {
		if m.To == p.Number {
			out = append(out, m)
		}
	}
	return out
}

// bufferBody reads a response's body into memory so that callers need
// not close it.
func bufferBody(resp *http.Response) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return nil
}
