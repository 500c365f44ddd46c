package voice

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/twilio/twilio-go/twiml"

	"townline/core"
)

// maxTries is how many times a question is asked again after no answer
// or a wrong one, before the caller is offered a person instead.
const maxTries = 2

// ask puts a question whose answer Twilio posts to step. A Redirect to
// the same step follows it, so that silence comes back as an empty
// answer instead of ending the call; the step's URL carries how many
// times the question went unanswered.
func (t *turn) ask(step string, tries int, g twiml.VoiceGather, prompts ...twiml.Element) {
	u := t.stepURL(step, tries, nil)
	g.Action, g.InnerElements = u, prompts
	t.r.add(g)
	t.r.redirect(u)
}

func (t *turn) stepURL(step string, tries int, q url.Values) string {
	// > 0 and not >= 0 only keeps "t=0" out of the URL: begin reads a
	// missing t and t=0 alike (an equivalent mutant).
	if tries > 0 {
		if q == nil {
			q = url.Values{}
		}
		q.Set("t", strconv.Itoa(tries))
	}
	return t.h.url(step, q)
}

// retry asks a question again after no answer or a wrong one, saying why
// (why, or else that nothing was heard or understood); after maxTries it
// offers a person or a message instead.
func (t *turn) retry(ask func(tries int), why ...twiml.Element) {
	if len(why) == 0 {
		if t.in.empty() {
			why = append(why, t.r.prompt(t.call.Lang, "silence", nil))
		} else {
			why = append(why, t.r.prompt(t.call.Lang, "wrong", nil))
		}
	}
	t.r.add(why...)
	if t.tries >= maxTries {
		t.ask("lost", 0, keys(1), t.r.prompt(t.call.Lang, "lost", nil))
		return
	}
	ask(t.tries + 1)
}

// words starts the data of a prompt.
func (t *turn) words() words { return words{City: t.h.core.City().Name} }

// start answers a new call: the city's greeting, the offer of Spanish,
// and the main menu.
func (t *turn) start(ctx context.Context) error {
	t.call, t.changed = callState{Lang: "en"}, true
	t.r.lang = "en"
	t.askMenu(0, true)
	return nil
}

// restart takes a caller whose step is unknown back to the main menu.
func (t *turn) restart(ctx context.Context) error {
	t.askMenu(0, false)
	return nil
}

func (t *turn) askMenu(tries int, greet bool) {
	lang := t.call.Lang
	var ps []twiml.Element
	if g := t.h.core.City().Greeting[lang]; greet && g != "" {
		ps = append(ps, t.r.text(lang, g))
	}
	ps = append(ps, t.r.prompt(other(lang), "switch", nil), t.r.prompt(lang, "menu", nil))
	t.ask("menu", tries, keys(1), ps...)
}

func (t *turn) menu(ctx context.Context) error {
	switch t.in.Digits {
	case "1":
		t.askKind(0)
	case "2":
		t.askLookup(0)
	case "3":
		return t.info(ctx)
	case "0":
		t.operator()
	case "9":
		t.call.Lang, t.call.Chosen, t.changed = other(t.call.Lang), true, true
		t.r.lang = t.call.Lang
		t.askMenu(0, false)
	default:
		t.retry(func(n int) { t.askMenu(n, false) })
	}
	return nil
}

// info says the emergency notices in force, the meetings and events of
// the next two weeks, the office hours and how to reach the city.
func (t *turn) info(ctx context.Context) error {
	city := t.h.core.City()
	w := t.words()
	var err error
	if w.Emergencies, w.Coming, err = t.notices(ctx); err != nil {
		// The hours are still worth hearing.
		t.h.log.Warn("voice: announcements unavailable", "err", err)
	}
	w.Hours = spokenHours(city.OfficeHours)
	w.Open = city.OfficeHours.IsOpen(t.h.cfg.Now(), city.Location)
	w.Contact = city.Contact
	t.r.say("info", w)
	t.askNext()
	return nil
}

// Of the meetings and events, city information says those of the next
// two weeks, at most three: a caller listens to them all before the hours.
const (
	comingWithin = 14 * 24 * time.Hour
	comingSaid   = 3
)

// notices reads the emergency notices in force and the coming meetings
// and events, as the caller's language says them.
func (t *turn) notices(ctx context.Context) (emergencies, coming []notice, err error) {
	now := time.Now() // cfg.Now is the office hours' clock only
	list, err := t.h.core.Emergencies(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, a := range list {
		emergencies = append(emergencies, t.notice(a, *a.Ends))
	}
	list, err = t.h.core.Announcements(ctx, now, 50)
	if err != nil {
		return emergencies, nil, err
	}
	for _, a := range list {
		if a.Kind != core.KindEmergency && a.Cancelled == nil && a.Starts.Before(now.Add(comingWithin)) && len(coming) < comingSaid {
			coming = append(coming, t.notice(a, a.Starts))
		}
	}
	return emergencies, coming, nil
}

// askNext offers the main menu again; silence ends the call politely.
func (t *turn) askNext() {
	u := t.stepURL("next", 0, nil)
	g := keys(1)
	g.Action, g.InnerElements = u, []twiml.Element{t.r.prompt(t.call.Lang, "next", nil)}
	t.r.add(g)
	t.r.redirect(t.stepURL("goodbye", 0, nil))
}

func (t *turn) next(ctx context.Context) error {
	if t.in.Digits == "1" {
		t.askMenu(0, false)
		return nil
	}
	return t.goodbye(ctx)
}

func (t *turn) goodbye(ctx context.Context) error {
	t.r.say("goodbye", t.words())
	t.r.hangup()
	t.forget = true
	return nil
}

// lost follows the offer made after too many unanswered questions.
func (t *turn) lost(ctx context.Context) error {
	if t.in.Digits == "0" {
		t.operator()
		return nil
	}
	return t.goodbye(ctx)
}

// operator rings staff during office hours when the city gave a number;
// otherwise the caller leaves a message.
func (t *turn) operator() {
	city := t.h.core.City()
	open := city.OfficeHours.IsOpen(t.h.cfg.Now(), city.Location)
	if !open || t.h.cfg.StaffNumber == "" {
		t.askVoicemail(open)
		return
	}
	t.r.say("connect", nil)
	t.r.add(twiml.VoiceDial{Number: t.h.cfg.StaffNumber, Action: t.stepURL("dialed", 0, nil), Method: "POST",
		Timeout: "25", AnswerOnBridge: "true"})
}

// dialed follows a call to staff: after a conversation the call ends;
// when nobody answered, the caller leaves a message.
func (t *turn) dialed(ctx context.Context) error {
	switch t.in.DialStatus {
	case "completed", "answered":
		return t.goodbye(ctx)
	}
	t.askVoicemail(true)
	return nil
}

// askVoicemail records a message for staff. Twilio goes on to the verbs
// after <Record> only when nothing was recorded.
func (t *turn) askVoicemail(open bool) {
	w := t.words()
	w.Open = open
	t.r.say("voicemail", w)
	t.r.add(t.record(t.stepURL("voicemail", 0, nil), 120, "voicemail"))
	t.r.say("voicemail.none", nil)
	t.r.say("goodbye", t.words())
	t.r.hangup()
}

// record is a <Record> posting to action; kind tells the transcript
// callback what the recording is. Twilio transcribes English only: a
// Spanish recording reaches staff as a recording.
func (t *turn) record(action string, maxSeconds int, kind string) twiml.VoiceRecord {
	rec := twiml.VoiceRecord{Action: action, Method: "POST", MaxLength: strconv.Itoa(maxSeconds),
		Timeout: "5", FinishOnKey: "#", PlayBeep: "true"}
	if t.call.Lang == "en" {
		rec.Transcribe = "true"
		rec.TranscribeCallback = t.h.url("transcript", url.Values{"kind": {kind}})
	}
	return rec
}

func (t *turn) voicemail(ctx context.Context) error {
	if t.in.RecordingURL == "" || t.in.RecordingSid == "" {
		t.r.say("voicemail.none", nil)
		return t.goodbye(ctx)
	}
	if _, err := t.h.core.SaveRecording(ctx, t.recording(true)); err != nil {
		return err
	}
	t.r.say("voicemail.thanks", nil)
	return t.goodbye(ctx)
}
