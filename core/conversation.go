package core

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The rules of a conversation by text or mail: keywords, what a report
// still lacks, what to ask, numbered answers, the resident's language. They
// are pure: a dialogue holds what the database said (read under the
// conversation's lock) and the message at hand; the rules change the
// draft and list the actions to take, which intake.go applies and saves.

// draft is a report still being completed in a conversation.
type draft struct {
	Service     string   `json:"service,omitempty"`
	Description string   `json:"description,omitempty"`
	Address     string   `json:"address,omitempty"`
	PlaceClear  bool     `json:"place_clear,omitempty"`
	Lat         *float64 `json:"lat,omitempty"`
	Lng         *float64 `json:"lng,omitempty"`
	Messages    []int64  `json:"messages"`
	Awaiting    string   `json:"awaiting,omitempty"` // service, place, which, media
	Choices     []string `json:"choices,omitempty"`  // what each numbered answer stands for
	Asked       int      `json:"asked,omitempty"`    // questions asked for the current gap
}

// DraftTTL is how long a half-made report waits for its missing service
// or place before it is filed as it is.
const DraftTTL = 30 * time.Minute

// requestBrief is what the rules need to know of one of the resident's
// requests.
type requestBrief struct {
	ID          int64
	Service     string
	ServiceName string
	Open        bool
	RequestedAt time.Time
	Offered     int64 // the request its reporter was offered to follow instead, unanswered
}

// message is an inbound message as the rules see it.
type message struct {
	ID       int64
	Text     string
	Subject  string
	HasMedia bool
	Lat, Lng *float64 // a location the message shared
	Files    []Upload // files it brought, stored: a photo may place the report
	// Mail only:
	Automatic  bool
	Unreadable string
	Refused    []string
}

// dialogue is one turn of a conversation: its state, the message, and
// what the rules decided.
type dialogue struct {
	city    *City
	now     time.Time
	channel Channel
	contact Contact
	traffic traffic

	draft     *draft
	expiresAt *time.Time // when the draft is filed as it is
	last      int64      // the latest request made in this conversation, or 0
	// open are the resident's open requests, newest first (at most 5);
	// lastBrief is last's when it is one of them (only an open, recent
	// request takes more words).
	open      []requestBrief
	lastBrief *requestBrief
	// offered is the newest of them whose reporter was asked whether it
	// repeats another, and has not answered.
	offered *requestBrief
	// answering is the request staff last wrote to the resident about on
	// this channel, lately (answerWindow), or 0.
	answering int64
	// owned are the requests the message names ("#1234") that are the
	// resident's own.
	owned []int64
	// thread is the request a mail replies to, and whether it came from
	// that request's reporter.
	thread             int64
	threadFromReporter bool

	msg message

	actions []action
	touched bool // the draft took this message: its clock restarts
}

// action is one thing a turn does; intake.go applies them in order.
type action interface{ isAction() }

type (
	// optOut records STOP (true) or START (false).
	optOut struct{ out bool }
	// flagContact pauses automatic answers, after one warning.
	flagContact struct{ reason string }
	// useLanguage answers in lang from now on.
	useLanguage struct {
		lang   string
		chosen bool // asked for (ESPAÑOL), not guessed
	}
	// reply queues an automatic answer.
	reply struct {
		kind string
		data messageData
	}
	// replyStatus answers STATUS about request id, or the latest when 0.
	replyStatus struct{ id int64 }
	// answerOffer answers the offer to follow another request instead.
	answerOffer struct {
		request int64
		follow  bool
	}
	// classify gives an unclassified request the service its reporter
	// picked.
	classify struct {
		request int64
		service string
	}
	// attach joins messages (and their files) to a request.
	attach struct {
		request  int64
		messages []int64
	}
	// file files a draft as a request.
	file struct {
		draft draft
		files []Upload // the message's stored files, for a photo's position
		ack   bool
		note  string
	}
	// flagMessage marks the message for staff.
	flagMessage struct{ why string }
	// clearBounce: the resident wrote from an address mail bounced from.
	clearBounce struct{}
	// reopen: the resident says their closed request (the latest, or id)
	// is not fixed.
	reopenReq struct{ id int64 }
	// subscribe: the number asked for the city's emergency notices, or,
	// with request, to follow a request.
	subscribe struct{ request int64 }
)

func (optOut) isAction()      {}
func (flagContact) isAction() {}
func (useLanguage) isAction() {}
func (reply) isAction()       {}
func (replyStatus) isAction() {}
func (answerOffer) isAction() {}
func (classify) isAction()    {}
func (attach) isAction()      {}
func (file) isAction()        {}
func (flagMessage) isAction() {}
func (clearBounce) isAction() {}
func (subscribe) isAction()   {}
func (reopenReq) isAction()   {}

func (d *dialogue) do(a ...action) { d.actions = append(d.actions, a...) }

var (
	// The carriers' opt-out and opt-in words, and their Spanish ones.
	stopWords = map[string]bool{"stop": true, "stopall": true, "unsubscribe": true, "cancel": true, "end": true, "quit": true,
		"revoke": true, "optout": true, "alto": true, "parar": true, "detener": true, "cancelar": true, "baja": true}
	startWords = map[string]bool{"start": true, "unstop": true, "yes": true, "iniciar": true}
	helpWords  = map[string]string{"help": "en", "info": "en", "ayuda": "es"}
	langWords  = map[string]string{"espanol": "es", "spanish": "es", "english": "en", "ingles": "en"}
	// alertWords ask for the city's emergency notices by text.
	alertWords = map[string]string{"alerts": "en", "alert": "en", "alertas": "es", "alerta": "es"}
	statusRE   = regexp.MustCompile(`^(?:status|estado)(?:\s+#?\s*(\d{1,12}))?$`)
	followRE   = regexp.MustCompile(`^(?:follow|seguir)\s+#?\s*(\d{1,12})$`)
	reopenRE   = regexp.MustCompile(`^(?:reopen|reabrir)(?:\s+#?\s*(\d{1,12}))?\b`)
	newWords   = map[string]bool{"new": true, "nuevo": true, "nueva": true}
	// offerAnswers answer "reply YES to follow #1230 instead, NO to keep
	// yours": whether to follow.
	offerAnswers = map[string]bool{"yes": true, "y": true, "yeah": true, "yep": true, "si": true,
		"no": false, "n": false, "nope": false}
	refRE = regexp.MustCompile(`#\s?(\d{3,12})\b`)
)

// requestRefs are the request numbers a message names ("#1234").
func requestRefs(text string) []int64 {
	var ids []int64
	for _, m := range refRE.FindAllStringSubmatch(text, -1) {
		if id, err := strconv.ParseInt(m[1], 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// expired reports whether the draft waited too long.
func (d *dialogue) expired() bool {
	return d.draft != nil && d.expiresAt != nil && !d.now.Before(*d.expiresAt)
}

// text handles a text message (or any channel that converses).
func (d *dialogue) text() {
	words := fold(d.msg.Text)

	// Opt-out and opt-in keywords are obeyed before anything else, and not
	// answered: the carrier sends the confirmation itself.
	if stopWords[words] {
		d.do(optOut{true})
		return
	}
	// YES also opts in again; to someone not opted out and asked a
	// question, it is the answer.
	if startWords[words] && (d.contact.OptedOut || d.offered == nil) {
		d.do(optOut{false})
		return
	}
	if d.flagged() {
		// Kept for staff; no automatic work for a flood.
		if d.last != 0 {
			d.do(attach{d.last, []int64{d.msg.ID}})
		}
		return
	}
	d.followLanguage()
	if lang, ok := helpWords[words]; ok {
		if !d.contact.LanguageChosen && lang != d.contact.Language {
			d.setLanguage(lang, false)
		}
		d.do(reply{kind: "help"})
		return
	}
	if lang, ok := langWords[words]; ok {
		d.setLanguage(lang, true)
		d.do(reply{kind: "lang"})
		return
	}
	if lang, ok := alertWords[words]; ok && d.channel == ChannelSMS {
		if !d.contact.LanguageChosen && lang != d.contact.Language {
			d.setLanguage(lang, false)
		}
		d.do(subscribe{}, reply{kind: "alerts"})
		return
	}
	if follow, ok := offerAnswers[words]; ok && d.offered != nil {
		d.answerOffer(follow)
		return
	}
	if m := reopenRE.FindStringSubmatch(words); m != nil {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		d.do(reopenReq{id})
		return
	}
	if m := followRE.FindStringSubmatch(words); m != nil && d.channel == ChannelSMS {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		d.do(subscribe{request: id})
		return
	}
	if m := statusRE.FindStringSubmatch(words); m != nil {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		d.do(replyStatus{id})
		return
	}
	if newWords[words] {
		d.draft = nil
		d.do(reply{kind: "ask.new"})
		return
	}
	// A message that names one of the resident's requests joins it.
	if d.draft == nil {
		for _, id := range requestRefs(d.msg.Text) {
			if slices.Contains(d.owned, id) {
				d.addTo(id)
				return
			}
		}
	}
	if d.draft != nil {
		d.continueDraft()
		return
	}
	d.startReport()
}

// flagged checks the abuse caps: a contact that floods the city or keeps
// drawing automatic answers is flagged, warned once, then left alone.
func (d *dialogue) flagged() bool {
	if d.contact.Flagged {
		return true
	}
	reason := abuse(d.channel, d.traffic)
	if reason == "" {
		return false
	}
	d.do(flagContact{reason})
	d.contact.Flagged, d.contact.FlagReason = true, reason
	return true
}

// followLanguage follows the language the resident writes in, unless they
// chose one.
func (d *dialogue) followLanguage() {
	if d.contact.LanguageChosen {
		return
	}
	if lang := DetectLanguage(d.msg.Text); lang != "" && lang != d.contact.Language {
		d.setLanguage(lang, false)
	}
}

func (d *dialogue) setLanguage(lang string, chosen bool) {
	d.contact.Language = lang
	d.contact.LanguageChosen = d.contact.LanguageChosen || chosen
	d.do(useLanguage{lang, chosen})
}

// addTo adds the message to a request and says so.
func (d *dialogue) addTo(id int64) {
	d.do(attach{id, []int64{d.msg.ID}}, reply{kind: "added", data: messageData{ID: id}})
	d.last = id
}

// answerOffer takes the message as the answer to the offer to follow
// another request instead.
func (d *dialogue) answerOffer(follow bool) {
	id := d.offered.ID
	d.do(attach{id, []int64{d.msg.ID}}, answerOffer{id, follow})
	d.last, d.offered = id, nil
}

// startReport handles a message outside any draft.
func (d *dialogue) startReport() {
	text := d.msg.Text
	svc := d.city.Classify(text)
	place := d.place(text)

	if svc == "" && place.Address == "" {
		// An answer to what staff wrote about an open request joins it,
		// whether or not the resident started it by this channel.
		if slices.ContainsFunc(d.open, func(r requestBrief) bool { return r.ID == d.answering }) {
			d.addTo(d.answering)
			return
		}
		switch open := d.open; {
		case len(open) == 1 || (len(open) > 1 && d.recent(open[0])):
			// More words or photos about the report just made.
			d.addTo(open[0].ID)
			return
		case len(open) > 1:
			d.draft = &draft{Messages: []int64{d.msg.ID}, Awaiting: "which", Description: text}
			d.touched = true
			d.askWhich(open)
			return
		}
		if text == "" && !d.msg.HasMedia {
			return
		}
	}
	if svc != "" && d.last != 0 && place.Address == "" {
		// "It's really deep" after a pothole report is about that pothole.
		if b := d.lastBrief; b != nil && b.Service == svc && b.Open && d.recent(*b) {
			d.addTo(d.last)
			return
		}
	}
	d.draft = &draft{Service: svc, Description: text, Messages: []int64{d.msg.ID}}
	d.draft.setPlace(place)
	d.touched = true
	d.advance(d.msg.HasMedia)
}

// recent reports whether a request was made within the draft window: a
// message soon after a report is about it.
func (d *dialogue) recent(r requestBrief) bool {
	return r.RequestedAt.After(d.now.Add(-DraftTTL))
}

// place reads the place from text. A location the message shared adds its
// coordinates, and names the place when the words do not.
func (d *dialogue) place(text string) Place {
	p := d.city.FindPlace(text)
	if d.msg.Lat == nil || d.msg.Lng == nil || p.Lat != nil {
		return p
	}
	lat, lng := *d.msg.Lat, *d.msg.Lng
	if !p.Clear {
		return Place{Address: fmt.Sprintf("%.5f, %.5f", lat, lng), Lat: &lat, Lng: &lng, Clear: true}
	}
	p.Lat, p.Lng = &lat, &lng
	return p
}

func (dr *draft) setPlace(p Place) {
	switch {
	case p.Address == "":
	case !p.Clear && dr.Address != "" && !dr.PlaceClear && p.Address != dr.Address:
		// "Myers" now and "5th" in the answer make a corner.
		dr.Address, dr.PlaceClear = dr.Address+" & "+p.Address, true
	case p.Clear || dr.Address == "":
		dr.Address, dr.PlaceClear = p.Address, p.Clear
	}
	if p.Lat != nil {
		dr.Lat, dr.Lng = p.Lat, p.Lng
	}
}

// continueDraft takes a message as the answer to the draft's question.
func (d *dialogue) continueDraft() {
	dr := d.draft
	dr.Messages = append(dr.Messages, d.msg.ID)
	d.touched = true
	text := d.msg.Text
	switch dr.Awaiting {
	case "which":
		if n, ok := pick(text, len(dr.Choices)); ok {
			id, _ := strconv.ParseInt(dr.Choices[n], 10, 64)
			d.draft, d.last = nil, id
			d.do(attach{id, dr.Messages}, reply{kind: "added", data: messageData{ID: id}})
			return
		}
		// Not a choice: the words start a new report, with what came before.
		dr.Awaiting, dr.Choices, dr.Asked = "", nil, 0
		dr.Description = strings.TrimSpace(dr.Description + "\n" + text)
		dr.Service = d.city.Classify(dr.Description)
		dr.setPlace(d.city.FindPlace(dr.Description))
	case "service":
		if n, ok := pick(text, len(dr.Choices)); ok {
			dr.Service = dr.Choices[n]
		} else {
			dr.Service = d.city.Classify(text)
			dr.Description = strings.TrimSpace(dr.Description + "\n" + text)
			dr.setPlace(d.place(text))
		}
		if dr.Service == "" {
			dr.Asked++
		}
	case "place":
		dr.setPlace(d.place(text))
		if !dr.PlaceClear && text != "" {
			// The resident answered our question in their own words
			// ("the Safeway lot on Oro Dam"): that is the place.
			dr.Address, dr.PlaceClear = Truncate(text, MaxAddress), true
		}
		if !dr.PlaceClear {
			dr.Asked++
		}
	default: // waiting for photos: take what the text adds
		dr.Description = strings.TrimSpace(dr.Description + "\n" + text)
		if dr.Service == "" {
			dr.Service = d.city.Classify(dr.Description)
		}
		dr.setPlace(d.place(text))
	}
	d.advance(d.msg.HasMedia)
}

// advance files the draft when it is complete, or asks for what it lacks.
// After two unanswered questions it files what it has: staff will sort it
// out, and the resident is not left in a loop.
func (d *dialogue) advance(hasMedia bool) {
	dr := d.draft
	switch {
	case dr.Service == "" && dr.Asked < 2:
		dr.Awaiting = "service"
		var opts []choice
		dr.Choices, opts = d.city.menu(d.contact.Language)
		d.do(reply{kind: "ask.service", data: messageData{Choices: opts}})
	case !dr.PlaceClear && hasMedia && dr.Awaiting != "media":
		// A photo may carry its GPS position: the photos, once downloaded,
		// decide whether the question is needed (resume).
		dr.Awaiting = "media"
	case !dr.PlaceClear && dr.Asked < 2 && dr.Awaiting != "media":
		if dr.Awaiting != "place" {
			dr.Asked = 0
		}
		dr.Awaiting = "place"
		d.do(reply{kind: "ask.place"})
	case !dr.PlaceClear && dr.Awaiting == "media":
	default:
		d.fileDraft(true, "")
	}
}

// menu is the list of services a resident picks from by number: the
// city file's menu, "other" last (as 0), and how each is offered.
func (c *City) menu(lang string) ([]string, []choice) {
	codes := c.Menu
	if !slices.Contains(codes, "other") {
		codes = append(slices.Clone(codes), "other")
	}
	var opts []choice
	for i, code := range codes {
		key := strconv.Itoa(i + 1)
		if code == "other" {
			key = "0"
		}
		svc, _ := c.Service(code)
		opts = append(opts, choice{Key: key, Label: svc.NameIn(lang)})
	}
	return codes, opts
}

// fileDraft files the draft as it is.
func (d *dialogue) fileDraft(ack bool, note string) {
	d.do(file{draft: *d.draft, files: d.msg.Files, ack: ack, note: note})
	d.draft = nil
}

func (d *dialogue) askWhich(open []requestBrief) {
	var opts []choice
	for i, r := range open {
		d.draft.Choices = append(d.draft.Choices, strconv.FormatInt(r.ID, 10))
		opts = append(opts, choice{Key: strconv.Itoa(i + 1), Label: fmt.Sprintf("%d %s", r.ID, cmp.Or(d.city.ServiceName(r.Service, r.ServiceName, d.contact.Language), unclassified(d.contact.Language)))})
	}
	d.do(reply{kind: "ask.which", data: messageData{Choices: opts}})
}

// pick reads a numbered answer: "2", "2.", "#2", or "0" for the last
// choice ("other"). It returns the index.
func pick(text string, n int) (int, bool) {
	s := strings.Trim(strings.TrimSpace(text), "#.)")
	k, err := strconv.Atoi(s)
	switch {
	case err != nil || n == 0:
		return 0, false
	case k == 0:
		return n - 1, true
	case k >= 1 && k <= n:
		return k - 1, true
	}
	return 0, false
}

// resume carries on a draft that waited for its message's photos, now
// that they are in: pos is the position one of them gave, if any.
func (d *dialogue) resume(pos *Place) {
	dr := d.draft
	if pos != nil && !dr.PlaceClear {
		dr.setPlace(*pos)
	}
	if dr.Awaiting != "media" {
		return
	}
	dr.Awaiting = ""
	d.advance(false)
}

// expire ends a draft whose time ran out: a report without a service goes
// to triage rather than nowhere; an unanswered "which report?" joins the
// latest one.
func (d *dialogue) expire() {
	dr := d.draft
	if dr.Awaiting == "which" && len(dr.Choices) > 0 {
		id, _ := strconv.ParseInt(dr.Choices[0], 10, 64)
		d.do(attach{id, dr.Messages})
		d.draft = nil
		return
	}
	d.fileDraft(true, "")
}

// mail handles a message on a channel that does not converse: mail is
// filed at once, with or without its service and place (staff complete it
// from the triage queue), because a question by mail waits hours.
func (d *dialogue) mail() {
	m := d.msg
	if d.contact.Bouncing && !m.Automatic {
		// They wrote from the address: it works again.
		d.contact.Bouncing = false
		d.do(clearBounce{})
	}
	if m.Unreadable != "" {
		d.do(flagMessage{"unreadable: " + m.Unreadable})
		d.draft = &draft{Description: "Unreadable message from " + d.contact.Email + ": " + m.Unreadable, Messages: []int64{m.ID}}
		d.fileDraft(false, "")
		return
	}
	// A reply in a thread joins its request, if it came from the reporter.
	if m.Automatic {
		d.do(flagMessage{"automatic reply"})
		if d.thread != 0 {
			d.do(attach{d.thread, []int64{m.ID}})
		}
		return
	}
	// REOPEN, replying to the closing mail or naming the request: its
	// reporter says it is not fixed.
	if w := reopenRE.FindStringSubmatch(fold(m.Text)); w != nil && (d.thread == 0 || d.threadFromReporter) {
		id, _ := strconv.ParseInt(w[1], 10, 64)
		if d.thread != 0 {
			id = d.thread
		}
		d.do(reopenReq{id})
		return
	}
	if d.thread != 0 {
		// "Yes" to the acknowledgment's offer to follow another request.
		if w := strings.Fields(fold(m.Text)); d.threadFromReporter && d.offered != nil && d.offered.ID == d.thread &&
			len(w) > 0 && len(w) <= 8 {
			if follow, ok := offerAnswers[w[0]]; ok {
				d.answerOffer(follow)
				return
			}
		}
		// A number, the answer to the acknowledgment's question which
		// kind of problem an unclassified report is.
		if i := slices.IndexFunc(d.open, func(r requestBrief) bool { return r.ID == d.thread }); i >= 0 &&
			d.threadFromReporter && d.open[i].Service == "" {
			codes, _ := d.city.menu(d.contact.Language)
			if w := strings.Fields(m.Text); len(w) > 0 {
				if n, ok := pick(w[0], len(codes)); ok {
					d.do(attach{d.thread, []int64{m.ID}}, classify{d.thread, codes[n]})
					return
				}
			}
		}
		if !d.threadFromReporter {
			// Someone else wrote into the thread (a forward, a neighbour):
			// staff decide; it is not the reporter's word.
			d.do(flagMessage{"not from the request's reporter"})
		}
		d.do(attach{d.thread, []int64{m.ID}})
		return
	}
	if d.flagged() {
		return
	}
	d.followLanguage()
	text := strings.TrimSpace(m.Subject + "\n" + m.Text)
	d.draft = &draft{Service: d.city.Classify(text), Description: text, Messages: []int64{m.ID}}
	d.draft.setPlace(d.place(m.Text))
	if !d.draft.PlaceClear {
		d.draft.setPlace(d.place(m.Subject))
	}
	d.fileDraft(true, strings.Join(m.Refused, "\n"))
}
