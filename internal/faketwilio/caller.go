package faketwilio

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Said is one thing a call said to the person on the phone.
type Said struct {
	Text     string
	Language string // as the TwiML gave it: "en-US", "es-US", or ""
}

// Caller is a person on a phone call with the city, and Twilio between
// them: it posts signed webhooks as Twilio does, parses the TwiML that
// comes back (as XML, never by comparing text: the SDK orders attributes
// as it likes), says each <Say> aloud into Heard, follows <Redirect> and
// <Dial action>, and stops at each <Gather> or <Record> for the test to
// answer with keys, words, a recording or silence. One goroutine uses a
// Caller at a time.
type Caller struct {
	Number string // the resident's number
	City   string // the city's number
	URL    string // the number's Voice URL: townline's PublicURL + "/twilio/voice"
	// StatusCallback, when set, is posted the call's end, as Twilio does
	// for a number configured with a status callback.
	StatusCallback string
	// DialStatus is how a <Dial> ends, posted to its action as
	// DialCallStatus: "completed" (someone answered and talked) unless set,
	// or "no-answer", "busy", "failed".
	DialStatus string

	s         *Server
	sid       string
	direction string
	heard     []Said
	mark      int    // len(heard) when the caller last answered
	doc       string // the URL of the TwiML being run
	wait      *pending
	started   bool
	ended     bool
	last      *webhook
	recs      map[string]recording
	dialed    []string
}

// pending is the verb waiting for the caller, and the verbs after it,
// which Twilio runs when the caller says nothing.
type pending struct {
	verb node
	rest []node
}

type webhook struct {
	url    string
	params url.Values
}

type recording struct{ url, callback string }

// maxHops bounds the redirects between two answers: more is a loop.
const maxHops = 20

// Call returns a phone, not yet dialled, that calls the city at voiceURL.
func (s *Server) Call(number, voiceURL string) *Caller {
	return &Caller{Number: number, City: CityNumber, URL: voiceURL, s: s, sid: NewSid("CA"),
		direction: "inbound", recs: map[string]recording{}}
}

// Answer picks up a call the city placed, such as an update call, and
// runs the TwiML it was placed with until it needs the person.
func (s *Server) Answer(c Call) (*Caller, error) {
	if c.Twiml == "" {
		return nil, errors.New("faketwilio: the call has no inline TwiML to run")
	}
	cl := &Caller{Number: c.To, City: c.From, s: s, sid: c.Sid, direction: "outbound-api",
		recs: map[string]recording{}, started: true}
	return cl, cl.runDoc([]byte(c.Twiml), 0)
}

// Sid is the call's CallSid.
func (c *Caller) Sid() string { return c.sid }

// Heard is everything the call said, in order.
func (c *Caller) Heard() []Said { return slices.Clone(c.heard) }

// Said is what the call said since the caller last answered, as one text.
func (c *Caller) Said() string {
	var parts []string
	for _, s := range c.heard[c.mark:] {
		parts = append(parts, s.Text)
	}
	return strings.Join(parts, " ")
}

// Ended says whether the call is over.
func (c *Caller) Ended() bool { return c.ended }

// Dialed lists the numbers the call was put through to.
func (c *Caller) Dialed() []string { return slices.Clone(c.dialed) }

// Waiting names the verb waiting for the caller ("Gather", "Record", or
// "" when none) and its attributes.
func (c *Caller) Waiting() (string, map[string]string) {
	if c.wait == nil {
		return "", nil
	}
	attrs := map[string]string{}
	for _, a := range c.wait.verb.Attrs {
		attrs[a.Name.Local] = a.Value
	}
	return c.wait.verb.XMLName.Local, attrs
}

// Dial calls the city and runs what it answers until it needs the caller.
func (c *Caller) Dial() error {
	if c.started {
		return errors.New("faketwilio: this call was already dialled")
	}
	c.started = true
	return c.follow(c.URL, nil, 0)
}

// Press keys in answer to a <Gather>: as Twilio does, the keys end at the
// gather's finishOnKey and are cut to its numDigits.
func (c *Caller) Press(keys string) error {
	g, err := c.gathering("dtmf")
	if err != nil {
		return err
	}
	finish, ok := g.attr("finishOnKey")
	if !ok {
		finish = "#"
	}
	if i := strings.IndexAny(keys, finish); finish != "" && i >= 0 {
		keys = keys[:i]
	}
	if n, err := strconv.Atoi(g.get("numDigits")); err == nil && n > 0 && len(keys) > n {
		keys = keys[:n]
	}
	return c.answer(g, url.Values{"Digits": {keys}})
}

// Speak answers a <Gather> in words, recognised with this confidence (0 to 1).
func (c *Caller) Speak(words string, confidence float64) error {
	g, err := c.gathering("speech")
	if err != nil {
		return err
	}
	return c.answer(g, url.Values{"SpeechResult": {words}, "Confidence": {strconv.FormatFloat(confidence, 'f', 8, 64)}})
}

// Silence lets the waiting <Gather> or <Record> time out: Twilio goes on
// with the verbs after it.
func (c *Caller) Silence() error {
	if c.wait == nil {
		return c.notWaiting("silence")
	}
	w := c.wait
	c.mark = len(c.heard)
	if w.verb.XMLName.Local == "Gather" && w.verb.get("actionOnEmptyResult") == "true" {
		return c.answer(w.verb, url.Values{})
	}
	return c.run(w.rest, 0)
}

// Record speaks for seconds in answer to a <Record>, ended with the
// pound key, and returns the recording's sid for Transcribe.
func (c *Caller) Record(seconds int) (string, error) {
	if c.wait == nil || c.wait.verb.XMLName.Local != "Record" {
		return "", c.notWaiting("a recording")
	}
	r := c.wait.verb
	sid, u := c.s.AddRecording(seconds)
	if r.get("transcribe") == "true" {
		cb, err := c.resolve(r.get("transcribeCallback"))
		if err != nil {
			return "", err
		}
		c.recs[sid] = recording{url: u, callback: cb}
	}
	return sid, c.answer(r, url.Values{"RecordingUrl": {u}, "RecordingSid": {sid},
		"RecordingDuration": {strconv.Itoa(seconds)}, "Digits": {"#"}})
}

// Transcribe posts a recording's transcript to its transcribeCallback,
// as Twilio does some time after the recording, whatever the call is
// doing by then.
func (c *Caller) Transcribe(recordingSid, text string) error {
	r, ok := c.recs[recordingSid]
	if !ok || r.callback == "" {
		return fmt.Errorf("faketwilio: recording %s was not to be transcribed", recordingSid)
	}
	p := c.params("completed")
	for k, v := range map[string]string{
		"RecordingSid": recordingSid, "RecordingUrl": r.url, "TranscriptionSid": NewSid("TR"),
		"TranscriptionText": text, "TranscriptionStatus": "completed", "TranscriptionType": "fast",
		"TranscriptionUrl": c.s.api.URL + "/2010-04-01/Accounts/" + c.s.AccountSID + "/Transcriptions/" + recordingSid,
		"url":              r.callback,
	} {
		p.Set(k, v)
	}
	return c.callback(r.callback, p)
}

// Redeliver posts the latest webhook again, unchanged, as Twilio does
// when an answer was lost, and runs the new answer.
func (c *Caller) Redeliver() error {
	if c.last == nil {
		return errors.New("faketwilio: nothing to redeliver")
	}
	c.mark = len(c.heard)
	return c.deliver(c.last.url, c.last.params, 0)
}

// HangUp ends the call from the caller's side.
func (c *Caller) HangUp() error {
	if c.ended {
		return nil
	}
	return c.end()
}

func (c *Caller) gathering(input string) (node, error) {
	if c.wait == nil || c.wait.verb.XMLName.Local != "Gather" {
		return node{}, c.notWaiting(input)
	}
	g := c.wait.verb
	kinds, ok := g.attr("input")
	if !ok {
		kinds = "dtmf"
	}
	if !slices.Contains(strings.Fields(kinds), input) {
		return node{}, fmt.Errorf("faketwilio: the <Gather> takes %q, not %s", kinds, input)
	}
	return g, nil
}

func (c *Caller) notWaiting(what string) error {
	switch {
	case c.ended:
		return fmt.Errorf("faketwilio: %s after the call ended", what)
	case c.wait == nil:
		return fmt.Errorf("faketwilio: %s, but nothing waits for the caller", what)
	}
	return fmt.Errorf("faketwilio: %s, but the call waits at <%s>", what, c.wait.verb.XMLName.Local)
}

// answer posts the caller's answer to the waiting verb's action, by
// default the document's own URL.
func (c *Caller) answer(v node, p url.Values) error {
	if m := v.get("method"); m != "" && m != http.MethodPost {
		return fmt.Errorf("faketwilio: the simulator posts; <%s> asks for %s", v.XMLName.Local, m)
	}
	action := v.get("action")
	if action == "" {
		action = c.doc
	}
	c.mark = len(c.heard)
	return c.follow(action, p, 0)
}

// params are what Twilio sends with every webhook of the call.
func (c *Caller) params(status string) url.Values {
	from, to := c.Number, c.City
	if c.direction != "inbound" {
		from, to = c.City, c.Number
	}
	return url.Values{
		"AccountSid": {c.s.AccountSID}, "ApiVersion": {"2010-04-01"}, "CallSid": {c.sid},
		"CallStatus": {status}, "Direction": {c.direction}, "From": {from}, "To": {to},
		"Caller": {from}, "Called": {to}, "CallerCountry": {"US"}, "CallerState": {"CA"},
		"CallerCity": {"OROVILLE"}, "CallerZip": {"95965"}, "FromCountry": {"US"}, "FromState": {"CA"},
		"FromCity": {"OROVILLE"}, "FromZip": {"95965"}, "ToCountry": {"US"}, "ToState": {"CA"},
		"ToCity": {"OROVILLE"}, "ToZip": {"95965"},
	}
}

// follow posts a webhook to target (relative to the current document)
// and runs the TwiML it answers.
func (c *Caller) follow(target string, extra url.Values, hops int) error {
	u, err := c.resolve(target)
	if err != nil {
		return err
	}
	status := "in-progress"
	if c.last == nil && c.direction == "inbound" {
		status = "ringing"
	}
	p := c.params(status)
	for k, v := range extra {
		p[k] = v
	}
	c.last = &webhook{url: u, params: p}
	return c.deliver(u, p, hops)
}

func (c *Caller) resolve(target string) (string, error) {
	ref, err := url.Parse(strings.TrimSpace(target))
	if err != nil || target == "" {
		return "", fmt.Errorf("faketwilio: bad URL %q in the TwiML", target)
	}
	if ref.IsAbs() {
		return ref.String(), nil
	}
	base, err := url.Parse(c.doc)
	if err != nil || !base.IsAbs() {
		return "", fmt.Errorf("faketwilio: relative URL %q with no document to resolve it against", target)
	}
	return base.ResolveReference(ref).String(), nil
}

// deliver posts a webhook and runs its answer. A status other than 200
// ends the call, as Twilio ends it with "an application error has
// occurred".
func (c *Caller) deliver(u string, p url.Values, hops int) error {
	if c.ended {
		return c.notWaiting("a webhook")
	}
	resp, err := c.s.post(context.Background(), u, p)
	if err != nil {
		c.ended = true
		return fmt.Errorf("faketwilio: webhook %s: %w", u, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.ended = true
		return fmt.Errorf("faketwilio: webhook %s answered %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/xml" && mt != "application/xml" {
		c.ended = true
		return fmt.Errorf("faketwilio: webhook %s answered %q, not TwiML", u, mt)
	}
	c.doc = u
	return c.runDoc(body, hops)
}

// node is a TwiML element, read generically.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []node     `xml:",any"`
}

func (n node) attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

func (n node) get(name string) string {
	v, _ := n.attr(name)
	return v
}

func (c *Caller) runDoc(doc []byte, hops int) error {
	var root node
	if err := xml.Unmarshal(doc, &root); err != nil {
		c.ended = true
		return fmt.Errorf("faketwilio: unreadable TwiML: %w\n%s", err, doc)
	}
	if root.XMLName.Local != "Response" {
		c.ended = true
		return fmt.Errorf("faketwilio: TwiML root is <%s>, not <Response>", root.XMLName.Local)
	}
	return c.run(root.Nodes, hops)
}

// run carries out verbs until one waits for the caller or the call ends.
func (c *Caller) run(verbs []node, hops int) error {
	c.wait = nil
	for i, v := range verbs {
		switch v.XMLName.Local {
		case "Say":
			c.say(v)
		case "Play":
			c.heard = append(c.heard, Said{Text: "[" + strings.TrimSpace(v.Text) + "]"})
		case "Pause":
		case "Gather":
			for _, in := range v.Nodes {
				switch in.XMLName.Local {
				case "Say":
					c.say(in)
				case "Play", "Pause":
				default:
					return fmt.Errorf("faketwilio: <%s> is not allowed in <Gather>", in.XMLName.Local)
				}
			}
			c.wait = &pending{verb: v, rest: verbs[i+1:]}
			return nil
		case "Record":
			c.wait = &pending{verb: v, rest: verbs[i+1:]}
			return nil
		case "Redirect":
			if hops >= maxHops {
				return fmt.Errorf("faketwilio: %d redirects without waiting for the caller: a loop", hops)
			}
			if m := v.get("method"); m != "" && m != http.MethodPost {
				return fmt.Errorf("faketwilio: the simulator posts; <Redirect> asks for %s", m)
			}
			return c.follow(v.Text, nil, hops+1)
		case "Dial":
			number := strings.TrimSpace(v.Text)
			for _, n := range v.Nodes {
				number += strings.TrimSpace(n.Text)
			}
			c.dialed = append(c.dialed, number)
			if action := v.get("action"); action != "" {
				status := c.DialStatus
				if status == "" {
					status = "completed"
				}
				return c.follow(action, url.Values{"DialCallStatus": {status}, "DialCallSid": {NewSid("CA")}}, hops+1)
			}
		case "Hangup", "Reject":
			return c.end()
		default:
			return fmt.Errorf("faketwilio: the call simulator does not know <%s>", v.XMLName.Local)
		}
	}
	return c.end() // the end of the document hangs up
}

func (c *Caller) say(v node) {
	c.heard = append(c.heard, Said{Text: strings.TrimSpace(v.Text), Language: v.get("language")})
}

// end hangs up and reports it to the number's status callback.
func (c *Caller) end() error {
	c.ended, c.wait = true, nil
	if c.StatusCallback == "" {
		return nil
	}
	p := c.params("completed")
	p.Set("CallDuration", "42")
	return c.callback(c.StatusCallback, p)
}

// callback posts a callback Twilio only needs a 2xx answer to.
func (c *Caller) callback(target string, p url.Values) error {
	resp, err := c.s.post(context.Background(), target, p)
	if err != nil {
		return fmt.Errorf("faketwilio: callback %s: %w", target, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("faketwilio: callback %s answered %s: %s", target, resp.Status, strings.TrimSpace(string(b)))
	}
	return nil
}
