package core

// A city as townline serves it: its departments, services, districts and
// hours, and the lookups the rest of core makes in them. cityfile.go reads
// one from its file.

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/robfig/cron/v3"
)

// City is a validated city file.
type City struct {
	Name, State, JurisdictionID string
	Location                    *time.Location // from timezone
	PhoneRegion                 string         // ISO region for phone parsing, default "US"
	Contact                     string
	// ReopenOnComment lets a reporter's comment relayed by an Open311
	// client (FixMyStreet's "not fixed") reopen their closed request;
	// otherwise such a comment is only flagged for staff.
	ReopenOnComment bool
	OfficeHours     OfficeHours
	// Holidays are the days ("2026-12-25", in the city's time) the
	// offices are closed though OfficeHours say open.
	Holidays map[string]bool
	// Digest is when each department is mailed its digest (a cron
	// schedule in the city's time); nil is never.
	Digest cron.Schedule
	// Retention is how long after their last request closed a reporter's
	// details are kept.
	Retention time.Duration
	// ReopenWithin is how long after a request closed its reporter may
	// reopen it (city file: reopen_within, default DefaultReopenWithin;
	// 0: never).
	ReopenWithin time.Duration
	Greeting     map[string]string // by language "en","es"
	Boundary     orb.Geometry      // orb.Polygon or orb.MultiPolygon (nil = no boundary check)
	Districts    []District
	Departments  []Department
	Services     []Service
	// Menu is the short list of services offered by number over SMS and
	// the phone menu: at most nine, in the order they are read out.
	Menu []string
	// Streets are the city's street names, e.g. "Montgomery Street", used
	// to recognise places in what residents text and say.
	Streets []string
	// Landmarks are places residents name instead of an address.
	Landmarks []Landmark
	// Agencies are those outside the city that handle some reports: a
	// route may refer to one (Caltrans for State Route 70), and Outside
	// names the one for places beyond the boundary ("" refuses them).
	Agencies []Agency
	Outside  string

	vocabOnce  sync.Once
	vocabulary *vocabulary
}

// OfficeHours are the days and wall-clock hours the city answers in person.
// The zero value is never open.
type OfficeHours struct {
	Days        []time.Weekday
	Open, Close time.Duration // since midnight, wall clock
}

// IsOpen says whether t falls within office hours in loc (t's own location
// when loc is nil): on one of Days, at or after Open and before Close.
func (h OfficeHours) IsOpen(t time.Time, loc *time.Location) bool {
	if loc != nil {
		t = t.In(loc)
	}
	if !slices.Contains(h.Days, t.Weekday()) {
		return false
	}
	// Hours open and close on the minute (the city file's HH:MM): seconds
	// read as 0 (Second()/time.Second) would change no answer.
	since := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
		time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond())
	return since >= h.Open && since < h.Close
}

// District is a named area of the city that can change where requests go.
type District struct {
	Code, Name string
	Area       orb.Geometry // orb.Polygon or orb.MultiPolygon
}

// Department receives requests.
type Department struct {
	Code, Name, Email, Phone string  // Phone in E.164 when set
	ES                       Spanish // a department has only a Spanish Name
}

// Service is one kind of request residents can make (Open311 service).
type Service struct {
	Code, Name, Group, Description, Department string
	ES                                         Spanish
	Keywords                                   map[string][]string // language -> keywords
	SLA                                        time.Duration       // 0 = none
	Emergency                                  bool                // its SLA runs round the clock
	Attributes                                 []Attribute         // sorted by Order
	Routes                                     []Route
}

// Spanish is how the city file names a service, its group or a
// department in Spanish, for residents who write or call in Spanish. The
// city file may leave any of it out; the English stands in.
type Spanish struct{ Name, Group, Description string }

// inLang is the words in lang: es when it is Spanish and the city file
// gives them, else the English.
func inLang(lang, en, es string) string {
	if lang == "es" && es != "" {
		return es
	}
	return en
}

// NameIn is the department's name in a language (English when the city
// file gives none in it).
func (d Department) NameIn(lang string) string {
	return inLang(lang, d.Name, d.ES.Name)
}

// GroupIn is the service's group in lang.
func (s Service) GroupIn(lang string) string {
	return inLang(lang, s.Group, s.ES.Group)
}

// NameIn is the service's name as a resident reads or hears it in lang
// ("en", "es"): its Spanish name when the city file gives one.
func (s Service) NameIn(lang string) string {
	return inLang(lang, s.Name, s.ES.Name)
}

// Attribute is an Open311 service attribute (a question asked with a request).
type Attribute struct {
	Code, Description, DatatypeDescription, Datatype string // string, number, datetime, text, singlevaluelist, multivaluelist
	Required                                         bool
	Variable                                         bool // Open311 "variable": true unless the file says "variable": false (informational attributes)
	Order                                            int
	Values                                           []AttributeValue
	ES                                               struct{ Description, DatatypeDescription string }
}

// DescriptionIn is the question in a language (English when the city
// file gives none in it).
func (a Attribute) DescriptionIn(lang string) string {
	return inLang(lang, a.Description, a.ES.Description)
}

// DatatypeDescriptionIn is the hint to the answer in a language.
func (a Attribute) DatatypeDescriptionIn(lang string) string {
	return inLang(lang, a.DatatypeDescription, a.ES.DatatypeDescription)
}

// AttributeValue is one choice of a list attribute; ES its name in Spanish.
type AttributeValue struct{ Key, Name, ES string }

// NameIn is the choice's name in a language.
func (v AttributeValue) NameIn(lang string) string {
	return inLang(lang, v.Name, v.ES)
}

// Route sends a service's requests made inside District to Department.
type Route struct{ District, Department, Agency string }

// Agency is an outside agency a report may be referred to.
type Agency struct {
	Code, Name string
	Contact    string // how residents reach it: "call 530-741-4233 or report at csr.dot.ca.gov"
	ES         struct{ Name, Contact string }
	// Area is where the agency answers for places outside the city (the
	// county, say); nil is anywhere.
	Area orb.Geometry
}

// In returns the agency's name and contact in lang, English when the city
// file gives no Spanish.
func (a Agency) In(lang string) (name, contact string) {
	if lang == "es" && a.ES.Name != "" {
		return a.ES.Name, a.ES.Contact
	}
	return a.Name, a.Contact
}

// outsideAgency is the agency for a place beyond the city's boundary:
// the city's Outside agency, if p is in its area.
func (c *City) outsideAgency(p orb.Point) (Agency, bool) {
	for _, a := range c.Agencies {
		if c.Outside != "" && a.Code == c.Outside && (a.Area == nil || cityAreaContains(a.Area, p)) {
			return a, true
		}
	}
	return Agency{}, false
}

// refers says whether a place beyond the boundary has an agency to refer
// it to (else it is refused: a report from far away is a mistake).
func (c *City) refers(p orb.Point) bool {
	_, ok := c.outsideAgency(p)
	return ok
}

// Referral returns the outside agency a report of serviceCode at a place
// goes to: the city's Outside agency beyond the boundary, or the agency of
// the first route of the service whose district holds the place.
func (c *City) Referral(serviceCode string, at *orb.Point) (Agency, bool) {
	if at == nil {
		return Agency{}, false
	}
	if !c.Contains(*at) {
		return c.outsideAgency(*at)
	}
	code := ""
	if svc, ok := c.Service(serviceCode); ok {
		for _, r := range svc.Routes {
			if c.inDistrict(r.District, *at) {
				code = r.Agency
				break
			}
		}
	}
	for _, a := range c.Agencies {
		if code != "" && a.Code == code {
			return a, true
		}
	}
	return Agency{}, false
}

// Service returns the service with code.
func (c *City) Service(code string) (Service, bool) {
	for _, s := range c.Services {
		if s.Code == code {
			return s, true
		}
	}
	return Service{}, false
}

// unclassified names, in a resident's language, a request of no service.
func unclassified(lang string) string {
	if lang == "es" {
		return "Reporte"
	}
	return "Report"
}

// ServiceName is the name of the service with code in lang, or stored
// (the name a request kept when it was filed) for a service the city
// file no longer has.
func (c *City) ServiceName(code, stored, lang string) string {
	if s, ok := c.Service(code); ok {
		return s.NameIn(lang)
	}
	return stored
}

// Department returns the department with code.
func (c *City) Department(code string) (Department, bool) {
	for _, d := range c.Departments {
		if d.Code == code {
			return d, true
		}
	}
	return Department{}, false
}

// Landmark is a place residents name instead of an address: "the post
// office", "el correo".
type Landmark struct {
	Name, Address string   // "Post Office", "1701 Robinson Street" (may be empty)
	Words         []string // folded: what residents call it
	Lat, Lng      float64
}

// label is how a report placed at the landmark names its place.
func (l Landmark) label() string {
	if l.Address == "" {
		return l.Name
	}
	return l.Name + ", " + l.Address
}

// landmarkIn finds the first landmark whose words text mentions, the
// longest words first where two match ("oficina de correos" over
// "correos").
func (c *City) landmarkIn(text string) (Landmark, bool) {
	t := " " + fold(text) + " "
	var best Landmark
	longest := 0
	for _, l := range c.Landmarks {
		for _, w := range l.Words {
			if len(w) > longest && strings.Contains(t, " "+w+" ") {
				best, longest = l, len(w)
			}
		}
	}
	return best, longest > 0
}

// Due is when a request of svc made at from is due: its SLA counted in
// business time — office hours, not on holidays, in the city's time zone;
// a whole number of days is that many business days — or round the clock
// for an emergency service or a city without office hours. nil when the
// service has no SLA.
func (c *City) Due(from time.Time, svc Service) *time.Time {
	if svc.SLA <= 0 {
		return nil
	}
	h := c.OfficeHours
	day := h.Close - h.Open
	// day <= 0 cannot be read from a city file (close must be later than
	// open), so "< 0" is the same.
	if svc.Emergency || len(h.Days) == 0 || day <= 0 || c.Location == nil {
		t := from.Add(svc.SLA)
		return &t
	}
	left := svc.SLA
	if svc.SLA%(24*time.Hour) == 0 {
		left = time.Duration(svc.SLA/(24*time.Hour)) * day
	}
	wall := func(y int, m time.Month, d int, since time.Duration) time.Time {
		return time.Date(y, m, d, int(since/time.Hour), int(since%time.Hour/time.Minute), 0, 0, c.Location)
	}
	t := from.In(c.Location)
	for range 3660 { // ten years of days: past any SLA
		y, m, d := t.Date()
		open, close := wall(y, m, d, h.Open), wall(y, m, d, h.Close)
		if slices.Contains(h.Days, t.Weekday()) && !c.Holidays[t.Format(time.DateOnly)] {
			start := t
			if start.Before(open) {
				start = open
			}
			if start.Before(close) {
				if due := start.Add(left); !due.After(close) {
					return &due
				}
				left -= close.Sub(start)
			}
		}
		t = time.Date(y, m, d+1, 0, 0, 0, 0, c.Location)
	}
	return &t
}
