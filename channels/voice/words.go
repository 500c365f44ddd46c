package voice

import (
	"slices"
	"time"

	"townline/core"
)

// words is what prompts may say (templates/voice).
type words struct {
	City    string
	ID      int64 // a request number, read digit by digit
	Address string
	Service string
	Status  core.Status
	Reason  core.CloseReason
	Note    string
	Choices []choice
	Other   bool // "anything else" is offered
	Open    bool // the offices are open now
	Hours   hours
	Contact string
	// Emergencies are the notices in force; Coming, the meetings and
	// events of the next days (city information).
	Emergencies, Coming []notice
	// Agency handles a referred report; AgencyContact is how to reach it.
	Agency, AgencyContact string
	Meters                int // how far a request the report may repeat is
}

// choice is one key of a spoken list: "For pothole, press 1".
type choice struct {
	Key   string
	Label string
}

// hours are the office hours as prompts say them.
type hours struct {
	Known       bool
	Days        []int // time.Weekday, Sunday first
	Range       bool  // Days run from First to Last without a gap: "Monday to Friday"
	First, Last int
	Open, Close clock
}

type clock struct{ Hour, Hour12, Minute int }

// notice is an announcement as prompts say it: an emergency notice until
// it expires, or a meeting or event when it starts.
type notice struct {
	Severity                 core.Severity
	Title, Body, Place, Area string
	Weekday, Month, Day      int // time.Weekday, time.Month
	At                       clock
}

// maxSpokenBody is the most of an emergency notice's text a caller hears:
// the page and the texts carry the rest.
const maxSpokenBody = 400

func (t *turn) notice(a core.Announcement, when time.Time) notice {
	when = when.In(t.h.core.City().Location)
	lang := t.call.Lang
	n := notice{Severity: a.Severity, Title: a.TitleIn(lang), Place: a.Place, Area: a.Area,
		Weekday: int(when.Weekday()), Month: int(when.Month()), Day: when.Day(),
		At: clockOf(time.Duration(when.Hour())*time.Hour + time.Duration(when.Minute())*time.Minute)}
	if a.Kind == core.KindEmergency {
		n.Body = core.Truncate(a.BodyIn(lang), maxSpokenBody)
	}
	return n
}

func spokenHours(h core.OfficeHours) hours {
	// Close <= Open or Close < Open alike: the city file refuses a close
	// that is not after the open (an equivalent mutant).
	if len(h.Days) == 0 || h.Open < 0 || h.Close <= h.Open || h.Close > 24*time.Hour {
		return hours{}
	}
	out := hours{Known: true, Open: clockOf(h.Open), Close: clockOf(h.Close)}
	for _, d := range h.Days {
		out.Days = append(out.Days, int(d))
	}
	slices.Sort(out.Days)
	out.Days = slices.Compact(out.Days)
	out.First, out.Last = out.Days[0], out.Days[len(out.Days)-1]
	out.Range = len(out.Days) > 2 && out.Last-out.First == len(out.Days)-1
	return out
}

// clockOf is a time of day as prompts say it. 24:00, the close of a
// city open until midnight, is midnight: 12 AM, not 12 PM.
func clockOf(d time.Duration) clock {
	h, m := int(d/time.Hour)%24, int(d%time.Hour/time.Minute)
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	return clock{Hour: h, Hour12: h12, Minute: m}
}

// menuChoices are the kinds of problem offered by key: the city's menu,
// at most nine.
func menuChoices(city *core.City, lang string) []choice {
	var out []choice
	for i, code := range city.Menu {
		svc, ok := city.Service(code)
		if !ok || i == 9 {
			continue
		}
		out = append(out, choice{Key: string(rune('1' + i)), Label: svc.NameIn(lang)})
	}
	return out
}

// otherService is the catch-all service, if the city has one: the choice
// behind "anything else".
func otherService(city *core.City) string {
	if _, ok := city.Service("other"); ok {
		return "other"
	}
	return ""
}

// keywords are the speech hints for describing a problem of service, or
// of any service on the menu when it is not known yet.
func keywords(city *core.City, service, lang string) []string {
	codes := city.Menu
	if service != "" && service != otherService(city) {
		codes = []string{service}
	}
	var out []string
	for _, code := range codes {
		if svc, ok := city.Service(code); ok {
			out = append(out, svc.Keywords[lang]...)
		}
	}
	return out
}
