package voice

import (
	"cmp"
	"context"
	"net/url"
	"slices"
	"strings"

	"townline/core"
)

// lowConfidence is the recognition confidence below which an answer is
// recorded for staff to hear rather than trusted.
const lowConfidence = 0.5

// Reporting goes: the kind of problem by key, the problem in the caller's
// words, where it is (skipped when the words named a clear place), the
// place read back for a yes or a retry, then the request is filed and its
// number read out twice.

func (t *turn) askKind(tries int) {
	city := t.h.core.City()
	w := t.words()
	w.Choices = menuChoices(city, t.call.Lang)
	w.Other = otherService(city) != ""
	t.ask("kind", tries, keys(1), t.r.prompt(t.call.Lang, "kind", w))
}

func (t *turn) kind(ctx context.Context) error {
	city := t.h.core.City()
	service, ok := "", false
	if d := t.in.Digits; len(d) == 1 && d >= "1" && d <= "9" && int(d[0]-'1') < len(city.Menu) {
		service = city.Menu[d[0]-'1']
		_, ok = city.Service(service)
	}
	// "Anything else" leaves the service to the caller's description.
	ok = ok || (t.in.Digits == "0" && otherService(city) != "")
	if !ok {
		t.retry(t.askKind)
		return nil
	}
	t.call.newReport()
	t.call.Service, t.changed = service, true
	t.askDescribe(0)
	return nil
}

func (t *turn) askDescribe(tries int) {
	lang := t.call.Lang
	hints := keywords(t.h.core.City(), t.call.Service, lang)
	t.ask("describe", tries, speech(lang, hints), t.r.prompt(lang, "describe", nil))
}

func (t *turn) describe(ctx context.Context) error {
	said := t.in.Speech
	if said == "" {
		t.retry(t.askDescribe)
		return nil
	}
	t.call.SaidWhat, t.changed = said, true
	if t.in.Confidence < lowConfidence {
		t.askRecording("describe")
		return nil
	}
	t.call.Description = said
	t.settleService(said)
	if p := t.h.core.City().FindPlace(said); p.Clear {
		t.call.Address = p.Address
		t.askConfirm(0)
		return nil
	}
	t.askWhere(0)
	return nil
}

// settleService decides "anything else" from the caller's words.
func (t *turn) settleService(said string) {
	if t.call.Service == "" {
		city := t.h.core.City()
		t.call.Service = cmp.Or(city.Classify(said), otherService(city))
	}
}

// askRecording records an answer speech recognition was unsure of; the
// recording and, later, its transcript reach staff, and the transcript
// joins the request. A silent recording comes back to "recorded" empty.
func (t *turn) askRecording(what string) {
	u := t.stepURL("recorded", t.tries, url.Values{"for": {what}})
	t.r.say("record", nil)
	t.r.add(t.record(u, 60, "report"))
	t.r.redirect(u)
}

func (t *turn) recorded(ctx context.Context) error {
	what := t.query.Get("for")
	ask := t.askDescribe
	if what == "where" {
		ask = t.askWhere
	}
	if t.in.RecordingURL == "" || t.in.RecordingSid == "" {
		t.retry(ask)
		return nil
	}
	if _, err := t.h.core.SaveRecording(ctx, t.recording(false)); err != nil {
		return err
	}
	if !slices.Contains(t.call.Recordings, t.in.RecordingSid) {
		t.call.Recordings = append(t.call.Recordings, t.in.RecordingSid)
	}
	t.changed = true
	t.r.say("recorded", nil)
	if what == "where" {
		return t.file(ctx)
	}
	t.settleService(t.call.SaidWhat)
	t.askWhere(0)
	return nil
}

func (t *turn) recording(voicemail bool) core.Recording {
	return core.Recording{CallID: t.sid, ID: t.in.RecordingSid, From: t.from,
		URL: t.in.RecordingURL, Voicemail: voicemail}
}

func (t *turn) askWhere(tries int) {
	lang := t.call.Lang
	t.ask("where", tries, speech(lang, t.h.core.City().Streets), t.r.prompt(lang, "where", nil))
}

func (t *turn) where(ctx context.Context) error {
	said := t.in.Speech
	if said == "" {
		t.retry(t.askWhere)
		return nil
	}
	t.call.SaidWhere, t.changed = said, true
	place := t.h.core.City().FindPlace(said).Address
	if t.in.Confidence < lowConfidence {
		t.call.Address = place // a street recognised for sure, or nothing
		t.askRecording("where")
		return nil
	}
	// Words naming no known street are read back as they are: the caller
	// says whether they are right.
	t.call.Address = core.Truncate(cmp.Or(place, said), core.MaxAddress)
	t.askConfirm(0)
	return nil
}

func (t *turn) askConfirm(tries int) {
	w := t.words()
	w.Address = t.call.Address
	t.ask("confirm", tries, keys(1), t.r.prompt(t.call.Lang, "confirm", w))
}

func (t *turn) confirm(ctx context.Context) error {
	switch t.in.Digits {
	case "1":
		return t.file(ctx)
	case "2":
		t.askWhere(0)
	default:
		t.retry(t.askConfirm)
	}
	return nil
}

// file files the report, once however often Twilio delivers this
// webhook, reads its number out twice, then offers texts to a caller who
// can take them.
func (t *turn) file(ctx context.Context) error {
	c := &t.call
	if c.Seq == 0 || c.Service == "" {
		t.askKind(0) // the call's state was lost: start the report again
		return nil
	}
	rep := t.reporter()
	said := strings.TrimSpace(c.SaidWhat + "\n\n" + c.SaidWhere)
	f, err := t.h.core.FileCallReport(ctx, core.CallReport{
		CallID: t.sid, Seq: c.Seq, Said: core.Truncate(said, core.MaxDescription), Recordings: c.Recordings,
		Request: core.NewRequest{
			Channel: core.ChannelVoice, ServiceCode: c.Service, Description: c.Description,
			Address: c.Address, Reporter: rep, Actor: "voice",
		},
	})
	if err != nil {
		return err
	}
	c.Request, t.changed = f.Request.ID, true
	w := t.words()
	w.ID = f.Request.ID
	t.r.say("filed", w)
	if a, ok := t.h.core.ReferredTo(f.Request); ok {
		w.Agency, w.AgencyContact = a.In(c.Lang)
		t.r.say("referred", w)
	}
	if p := f.Request.DuplicateOf; p != nil {
		t.r.say("joined", words{ID: *p})
	}
	c.OfferTexts, c.TextsOK = f.OfferTexts, f.TextsOK
	parent, meters, err := t.h.core.SameOffer(ctx, f.Request.ID)
	if err != nil {
		return err
	}
	if parent != 0 {
		p, err := t.h.core.Request(ctx, parent)
		if err != nil {
			return err
		}
		w := t.words()
		w.ID, w.Meters = parent, meters
		w.Service = t.h.core.City().ServiceName(p.ServiceCode, p.ServiceName, c.Lang)
		t.ask("same", 0, keys(1), t.r.prompt(c.Lang, "maybe", w))
		return nil
	}
	t.afterReport()
	return nil
}

// same follows the offer to follow another request instead: 1 follows
// it; 2, another key or silence keeps the report as it is.
func (t *turn) same(ctx context.Context) error {
	if t.call.Request == 0 {
		t.askNext()
		return nil
	}
	follow := t.in.Digits == "1"
	answered, err := t.h.core.AnswerSameOffer(ctx, t.call.Request, follow, core.Actor{Name: "voice"})
	if err != nil {
		return err
	}
	if parent, _ := t.h.core.Request(ctx, t.call.Request); answered && follow && parent.DuplicateOf != nil {
		t.r.say("joined", words{ID: *parent.DuplicateOf})
	} else if answered {
		t.r.say("kept", nil)
	}
	t.afterReport()
	return nil
}

// afterReport offers texts to a caller who can take them, or says how
// they will hear back, then offers the menu again.
func (t *turn) afterReport() {
	if t.call.OfferTexts {
		t.ask("texts", 0, keys(1), t.r.prompt(t.call.Lang, "texts.offer", nil))
		return
	}
	if t.call.TextsOK {
		t.r.say("texts.yes", nil)
	} else if t.reporter().Phone != "" { // not a switch: see serveStep
		t.r.say("calls", nil)
	}
	t.askNext()
}

// reporter is the caller as core knows them: a withheld or foreign-looking
// number reports anonymously. The language counts only when chosen.
func (t *turn) reporter() core.Reporter {
	phone, err := core.NormalizePhone(t.from, t.h.core.City().PhoneRegion)
	if err != nil {
		return core.Reporter{}
	}
	r := core.Reporter{Phone: phone}
	if t.call.Chosen {
		r.Language = t.call.Lang
	}
	return r
}

// texts follows the offer of texts; silence counts as no.
func (t *turn) texts(ctx context.Context) error {
	if t.in.Digits == "1" && t.call.Request != 0 {
		if err := t.h.core.AcceptTexts(ctx, t.from, t.call.Request); err != nil {
			return err
		}
		t.r.say("texts.yes", nil)
	} else {
		t.r.say("calls", nil)
	}
	t.askNext()
	return nil
}
