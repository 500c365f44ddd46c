package core

// A city as townline serves it: its departments, services, districts and
// hours, and the lookups the rest of core makes in them. cityfile.go reads
// one from its file.

import (
	"slices"
	"sync"
	"time"

	"github.com/paulmach/orb"
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
	Greeting        map[string]string // by language "en","es"
	Boundary        orb.Geometry      // orb.Polygon or orb.MultiPolygon (nil = no boundary check)
	Districts       []District
	Departments     []Department
	Services        []Service
	// Menu is the short list of services offered by number over SMS and
	// the phone menu: at most nine, in the order they are read out.
	Menu []string
	// Streets are the city's street names, e.g. "Montgomery Street", used
	// to recognise places in what residents text and say.
	Streets []string

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
	Attributes                                 []Attribute         // sorted by Order
	Routes                                     []Route
}

// Spanish is how the city file names a service, its group or a
// department in Spanish, for residents who write or call in Spanish. The
// city file may leave any of it out; the English stands in.
type Spanish struct{ Name, Group, Description string }

// NameIn is the service's name as a resident reads or hears it in lang
// ("en", "es"): its Spanish name when the city file gives one.
func (s Service) NameIn(lang string) string {
	if lang == "es" && s.ES.Name != "" {
		return s.ES.Name
	}
	return s.Name
}

// Attribute is an Open311 service attribute (a question asked with a request).
type Attribute struct {
	Code, Description, DatatypeDescription, Datatype string // string, number, datetime, text, singlevaluelist, multivaluelist
	Required                                         bool
	Variable                                         bool // Open311 "variable": true unless the file says "variable": false (informational attributes)
	Order                                            int
	Values                                           []AttributeValue
}

// AttributeValue is one choice of a list attribute.
type AttributeValue struct{ Key, Name string }

// Route sends a service's requests made inside District to Department.
type Route struct{ District, Department string }

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
