package core

// The city file: one JSON document that describes a city's departments,
// services, keywords, boundary, districts and SLAs. LoadCity parses and
// validates it and reports every problem with its file and line, so a
// malformed file stops startup with a message a person can act on.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the city's time zone must load on machines without zoneinfo

	"github.com/paulmach/orb"
	"github.com/robfig/cron/v3"

	"townline/cities"
	"townline/internal/jsonpos"
)

// CityError is one problem in a city file. LoadCity returns them joined
// with errors.Join, one per line; errors.As finds the first.
type CityError struct {
	File         string
	Line, Column int // Column is 0 when only the line is known
	Problem      string
}

func (e *CityError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Problem)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Problem)
}

// ReadCity reads and validates the city file at path; an empty path loads
// the bundled Oroville example.
func ReadCity(path string) (*City, error) {
	if path == "" {
		return LoadCity(cities.OrovilleName, cities.Oroville)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("city file: %w", err)
	}
	return LoadCity(path, data)
}

// ---- the file as JSON ----

type cityJSON struct {
	Name            string               `json:"name"`
	State           string               `json:"state"`
	JurisdictionID  string               `json:"jurisdiction_id"`
	Timezone        string               `json:"timezone"`
	PhoneRegion     string               `json:"phone_region"`
	Contact         string               `json:"contact"`
	ReopenOnComment bool                 `json:"reopen_on_comment"`
	OfficeHours     *cityHoursJSON       `json:"office_hours"`
	Greeting        map[string]string    `json:"greeting"`
	Boundary        json.RawMessage      `json:"boundary"`
	Districts       []cityDistrictJSON   `json:"districts"`
	Departments     []cityDepartmentJSON `json:"departments"`
	Services        []cityServiceJSON    `json:"services"`
	Menu            []string             `json:"menu"`
	Streets         []string             `json:"streets"`
	Landmarks       []cityLandmarkJSON   `json:"landmarks"`
	Agencies        []cityAgencyJSON     `json:"agencies"`
	Outside         string               `json:"outside"`
	Holidays        []string             `json:"holidays"`
	Digest          string               `json:"digest"`
	Retention       string               `json:"retention"`
	ReopenWithin    string               `json:"reopen_within"`
}

type cityAgencyJSON struct {
	Code    string `json:"code"`
	Name    string `json:"name"`
	Contact string `json:"contact"`
	ES      *struct {
		Name    string `json:"name"`
		Contact string `json:"contact"`
	} `json:"es"`
	Area json.RawMessage `json:"area"`
}

type cityLandmarkJSON struct {
	Name    string   `json:"name"`
	Address string   `json:"address"`
	Words   []string `json:"words"`
	Lat     *float64 `json:"lat"`
	Lng     *float64 `json:"lng"`
}

type cityHoursJSON struct {
	Days  []string `json:"days"`
	Open  string   `json:"open"`
	Close string   `json:"close"`
}

type cityDistrictJSON struct {
	Code string          `json:"code"`
	Name string          `json:"name"`
	Area json.RawMessage `json:"area"`
}

type cityDepartmentJSON struct {
	Code string `json:"code"`
	Name string `json:"name"`
	ES   *struct {
		Name string `json:"name"`
	} `json:"es"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

type cityServiceJSON struct {
	Code        string              `json:"code"`
	Name        string              `json:"name"`
	Group       string              `json:"group"`
	Description string              `json:"description"`
	ES          *citySpanishJSON    `json:"es"`
	Department  string              `json:"department"`
	SLA         string              `json:"sla"`
	Emergency   bool                `json:"emergency"`
	Keywords    map[string][]string `json:"keywords"`
	Attributes  []cityAttributeJSON `json:"attributes"`
	Routes      []cityRouteJSON     `json:"routes"`
}

// citySpanishJSON is a service's "es": its name, group and description
// in Spanish.
type citySpanishJSON struct {
	Name        string `json:"name"`
	Group       string `json:"group"`
	Description string `json:"description"`
}

type cityAttributeJSON struct {
	Code                string              `json:"code"`
	Description         string              `json:"description"`
	Datatype            string              `json:"datatype"`
	DatatypeDescription string              `json:"datatype_description"`
	Required            bool                `json:"required"`
	Variable            *bool               `json:"variable"`
	Order               int                 `json:"order"`
	Values              []cityAttrValueJSON `json:"values"`
	ES                  *struct {
		Description         string `json:"description"`
		DatatypeDescription string `json:"datatype_description"`
	} `json:"es"`
}

type cityAttrValueJSON struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	ES   string `json:"es"` // the name in Spanish
}

type cityRouteJSON struct {
	District   string `json:"district"`
	Department string `json:"department"`
	Agency     string `json:"agency"`
}

var (
	cityCodeRE     = regexp.MustCompile(`^[a-z0-9_-]+$`)
	cityAttrCodeRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	cityE164RE     = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	cityRegionRE   = regexp.MustCompile(`^[A-Z]{2}$`)
	cityClockRE    = regexp.MustCompile(`^([0-9]{1,2}):([0-9]{2})$`)
)

var cityWeekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// LoadCity parses and validates a city file. name is used in errors
// ("oroville.json:42: ..."). On failure the error lists every problem
// found, one per line, each a *CityError.
func LoadCity(name string, data []byte) (*City, error) {
	ck := &cityCheck{file: name, data: data}

	var f cityJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&f)
	if err == nil {
		// One city per file: anything after it is a mistake.
		if rest := bytes.TrimSpace(data[dec.InputOffset():]); len(rest) > 0 {
			return nil, ck.problemAt(int64(len(data)-len(rest)), true, "unexpected data after the city object")
		}
	}
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &syntaxErr):
		msg := "invalid JSON: " + syntaxErr.Error()
		switch {
		case strings.Contains(msg, "after object key:value pair"), strings.Contains(msg, "after array element"):
			msg += " (is a comma missing before it?)"
		case strings.Contains(msg, "looking for beginning of object key string"),
			strings.Contains(msg, "']' looking for beginning of value"):
			msg += " (is there a comma too many before it?)"
		}
		return nil, ck.problemAt(syntaxErr.Offset, true, msg)
	case errors.Is(err, io.EOF) && len(bytes.TrimSpace(data)) == 0:
		return nil, ck.problemAt(0, false, "the file is empty")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return nil, ck.problemAt(int64(len(data)), true, "invalid JSON: unexpected end of file (a missing } or ]?)")
	}

	// The JSON is well formed: record where every element is, and report
	// every unknown field (the decoder stops at the first).
	at, lerr := jsonpos.Locate(data, reflect.TypeFor[cityJSON](), "the city")
	if lerr != nil {
		return nil, ck.problemAt(0, false, "invalid JSON: "+lerr.Error())
	}
	ck.at = at
	for _, p := range at.Problems {
		ck.addAt(p.Offset, true, p.Message)
	}
	if err != nil {
		// The locator reports every unknown field the decoder refuses, and
		// no type of the city file decodes itself: the checks of len(ck.errs)
		// below are guards no file reaches, and their mutants survive.
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) && len(ck.errs) > 0 {
			// The decoder stopped at an unknown field, which the locator
			// has reported; look for a wrong type as well.
			err = json.Unmarshal(data, new(cityJSON))
		}
		if errors.As(err, &typeErr) {
			p := at.TypeError(typeErr)
			ck.addAt(p.Offset, true, p.Message)
		} else if err != nil && len(ck.errs) == 0 {
			// An unknown field the locator did not see, or an unforeseen
			// decoder error: report it as it is.
			ck.addAt(0, false, err.Error())
		}
		return nil, ck.err()
	}
	if len(ck.errs) > 0 {
		return nil, ck.err()
	}

	c := ck.city(&f)
	if len(ck.errs) > 0 {
		return nil, ck.err()
	}
	return c, nil
}

// city validates f and converts it, recording problems in ck.
func (ck *cityCheck) city(f *cityJSON) *City {
	c := &City{
		Name:            strings.TrimSpace(f.Name),
		State:           strings.TrimSpace(f.State),
		JurisdictionID:  strings.TrimSpace(f.JurisdictionID),
		PhoneRegion:     strings.TrimSpace(f.PhoneRegion),
		Contact:         strings.TrimSpace(f.Contact),
		ReopenOnComment: f.ReopenOnComment,
		Greeting:        map[string]string{},
	}
	if c.Name == "" {
		ck.add("name", `"name" is required (the city's name)`)
	}

	switch tz := strings.TrimSpace(f.Timezone); {
	case tz == "":
		ck.add("timezone", `"timezone" is required: an IANA time zone such as "America/Los_Angeles"`)
	case tz == "Local":
		ck.add("timezone", `timezone "Local" depends on the machine; name the zone, such as "America/Los_Angeles"`)
	default:
		loc, err := time.LoadLocation(tz)
		if err != nil {
			ck.add("timezone", fmt.Sprintf(`timezone %q is not a known time zone; use an IANA name such as "America/Los_Angeles"`, tz))
		}
		c.Location = loc
	}

	if c.PhoneRegion == "" {
		c.PhoneRegion = "US"
	} else if !cityRegionRE.MatchString(c.PhoneRegion) {
		ck.add("phone_region", fmt.Sprintf(`phone_region %q is not a two-letter ISO region code such as "US"`, c.PhoneRegion))
	}

	if f.OfficeHours != nil {
		c.OfficeHours = ck.officeHours(f.OfficeHours)
	}
	if expr := strings.TrimSpace(f.Digest); expr != "" && c.Location != nil {
		sched, err := cron.ParseStandard("CRON_TZ=" + c.Location.String() + " " + expr)
		if err != nil {
			ck.add("digest", fmt.Sprintf("digest %q is not a cron schedule such as \"0 7 * * 1-5\" (7 am on weekdays): %v", expr, err))
		}
		c.Digest = sched
	}
	c.Retention = DefaultRetention
	if r := strings.TrimSpace(f.Retention); r != "" {
		d, err := citySLA(r)
		if err != nil || d < 24*time.Hour {
			ck.add("retention", fmt.Sprintf(`retention %q is not a time of a day or more, such as "730d"`, r))
		} else {
			c.Retention = d
		}
	}
	c.ReopenWithin = DefaultReopenWithin
	if r := strings.TrimSpace(f.ReopenWithin); r != "" {
		d, err := citySLA(r)
		if err != nil {
			ck.add("reopen_within", fmt.Sprintf(`reopen_within %q is not a duration such as "14d" or "0d" (never)`, r))
		} else {
			c.ReopenWithin = d
		}
	}
	c.Holidays = map[string]bool{}
	for i, d := range f.Holidays {
		if _, err := time.Parse(time.DateOnly, strings.TrimSpace(d)); err != nil {
			ck.add(fmt.Sprintf("holidays/%d", i), fmt.Sprintf("holiday %q is not a date like 2026-12-25", d))
			continue
		}
		c.Holidays[strings.TrimSpace(d)] = true
	}

	for lang, text := range f.Greeting {
		text = strings.TrimSpace(text)
		if text == "" {
			ck.add("greeting/"+lang, fmt.Sprintf("greeting %q is empty", lang))
			continue
		}
		c.Greeting[lang] = text
	}

	if !cityAbsent(f.Boundary) {
		c.Boundary = ck.geometry("boundary", f.Boundary, "boundary", true)
	}

	districts := ck.codes("districts", "district", cityCodeRE, cityCodeChars)
	for i, d := range f.Districts {
		p := fmt.Sprintf("districts/%d", i)
		code, label := districts.check(i, d.Code)
		name := strings.TrimSpace(d.Name)
		if name == "" {
			ck.missing(p, label, "name", "")
		}
		var area orb.Geometry
		if cityAbsent(d.Area) {
			ck.missing(p, label, "area", " (a GeoJSON Polygon or MultiPolygon)")
		} else {
			area = ck.geometry(p+"/area", d.Area, label+": area", true)
		}
		c.Districts = append(c.Districts, District{Code: code, Name: name, Area: area})
	}

	departments := ck.codes("departments", "department", cityCodeRE, cityCodeChars)
	for i, d := range f.Departments {
		p := fmt.Sprintf("departments/%d", i)
		code, label := departments.check(i, d.Code)
		dep := Department{Code: code, Name: strings.TrimSpace(d.Name), Email: strings.TrimSpace(d.Email), Phone: strings.TrimSpace(d.Phone)}
		if dep.Name == "" {
			ck.missing(p, label, "name", "")
		}
		if d.ES != nil {
			if dep.ES.Name = strings.TrimSpace(d.ES.Name); dep.ES.Name == "" {
				ck.missing(p+"/es", label+": es", "name", " (the department's name in Spanish)")
			}
		}
		if dep.Email != "" {
			if a, err := mail.ParseAddress(dep.Email); err != nil || a.Address != dep.Email {
				ck.add(p+"/email", fmt.Sprintf("%s: email %q is not an address like name@example.org", label, dep.Email))
			}
		}
		if dep.Phone != "" && !cityE164RE.MatchString(dep.Phone) {
			ck.add(p+"/phone", fmt.Sprintf("%s: phone %q must be in E.164 form, like +15305382401", label, dep.Phone))
		}
		c.Departments = append(c.Departments, dep)
	}

	agencies := ck.codes("agencies", "agency", cityCodeRE, cityCodeChars)
	for i, a := range f.Agencies {
		p := fmt.Sprintf("agencies/%d", i)
		code, label := agencies.check(i, a.Code)
		ag := Agency{Code: code, Name: strings.TrimSpace(a.Name), Contact: strings.TrimSpace(a.Contact)}
		if ag.Name == "" {
			ck.missing(p, label, "name", "")
		}
		if ag.Contact == "" {
			ck.missing(p, label, "contact", " (how residents reach the agency: a phone number, a web address)")
		}
		if a.ES != nil {
			ag.ES.Name, ag.ES.Contact = strings.TrimSpace(a.ES.Name), strings.TrimSpace(a.ES.Contact)
			if ag.ES.Name == "" || ag.ES.Contact == "" {
				ck.add(p+"/es", label+`: es: "name" and "contact" are both required`)
			}
		}
		if !cityAbsent(a.Area) {
			ag.Area = ck.geometry(p+"/area", a.Area, label+": area", true)
		}
		c.Agencies = append(c.Agencies, ag)
	}
	if c.Outside = strings.TrimSpace(f.Outside); c.Outside != "" && !agencies.has(c.Outside) {
		ck.add("outside", fmt.Sprintf("outside: agency %q is not defined", c.Outside))
	}

	services := ck.codes("services", "service", cityCodeRE, cityCodeChars)
	// A group's Spanish name, given on any of its services, is the
	// group's: the services that leave it out share it.
	groupsES := map[string]cityGroupES{}
	for i, s := range f.Services {
		p := fmt.Sprintf("services/%d", i)
		code, label := services.check(i, s.Code)
		svc := Service{
			Code:        code,
			Name:        strings.TrimSpace(s.Name),
			Group:       strings.TrimSpace(s.Group),
			Description: strings.TrimSpace(s.Description),
			Department:  strings.TrimSpace(s.Department),
			Keywords:    map[string][]string{},
		}
		if svc.Name == "" {
			ck.missing(p, label, "name", "")
		}
		if s.ES != nil {
			svc.ES = ck.spanish(p, label, svc.Group, s.ES, groupsES)
		}
		ck.reference(p, label, "department", svc.Department, departments, false)
		sla, err := citySLA(s.SLA)
		if err != nil {
			ck.add(p+"/sla", fmt.Sprintf("%s: sla %q %v", label, s.SLA, err))
		}
		svc.SLA, svc.Emergency = sla, s.Emergency

		for lang, words := range s.Keywords {
			lp := p + "/keywords/" + lang
			if strings.TrimSpace(lang) == "" {
				ck.add(lp, label+": keywords need a language code, such as \"en\"")
				continue
			}
			if kept := ck.nonEmpty(lp, words, func(k int) string {
				return fmt.Sprintf("%s: keyword %d in %q is empty", label, k+1, lang)
			}); kept != nil {
				svc.Keywords[lang] = kept
			}
		}

		svc.Attributes = ck.attributes(p, label, s.Attributes)

		for r, rt := range s.Routes {
			rp := fmt.Sprintf("%s/routes/%d", p, r)
			rl := fmt.Sprintf("%s: route %d", label, r+1)
			route := Route{District: strings.TrimSpace(rt.District), Department: strings.TrimSpace(rt.Department),
				Agency: strings.TrimSpace(rt.Agency)}
			ck.reference(rp, rl, "district", route.District, districts, true)
			ck.reference(rp, rl, "department", route.Department, departments, true)
			ck.reference(rp, rl, "agency", route.Agency, agencies, false)
			svc.Routes = append(svc.Routes, route)
		}
		c.Services = append(c.Services, svc)
	}

	for i := range c.Services {
		if s := &c.Services[i]; s.ES.Group == "" {
			s.ES.Group = groupsES[s.Group].name
		}
	}

	if len(f.Menu) > 9 {
		ck.add("menu", fmt.Sprintf("menu lists %d services; at most 9 fit a phone keypad", len(f.Menu)))
	}
	for i, code := range f.Menu {
		code = strings.TrimSpace(code)
		if _, ok := c.Service(code); !ok {
			ck.add(fmt.Sprintf("menu/%d", i), fmt.Sprintf("menu: service %q is not defined", code))
		}
		c.Menu = append(c.Menu, code)
	}
	c.Streets = ck.nonEmpty("streets", f.Streets, func(i int) string {
		return fmt.Sprintf("streets: name %d is empty", i+1)
	})
	for i, l := range f.Landmarks {
		c.Landmarks = append(c.Landmarks, ck.landmark(c, fmt.Sprintf("landmarks/%d", i), l))
	}
	return c
}

// landmark checks the landmark at p: a name, where it is (inside the
// city), and the words residents call it by (its name when none).
func (ck *cityCheck) landmark(c *City, p string, l cityLandmarkJSON) Landmark {
	lm := Landmark{Name: strings.TrimSpace(l.Name), Address: strings.TrimSpace(l.Address)}
	label := "landmark " + strconv.Quote(lm.Name)
	if lm.Name == "" {
		label = "a landmark"
		ck.missing(p, label, "name", "")
	}
	switch {
	case l.Lat == nil || l.Lng == nil:
		ck.add(p, label+`: "lat" and "lng" are required`)
	case !validPosition(*l.Lat, *l.Lng):
		ck.add(p, fmt.Sprintf("%s: %v, %v is not a latitude and a longitude", label, *l.Lat, *l.Lng))
	default:
		lm.Lat, lm.Lng = *l.Lat, *l.Lng
		if c.Boundary != nil && !c.Contains(orb.Point{lm.Lng, lm.Lat}) {
			ck.add(p, fmt.Sprintf("%s: %v, %v is outside the city's boundary", label, lm.Lat, lm.Lng))
		}
	}
	words := l.Words
	if len(words) == 0 {
		words = []string{lm.Name}
	}
	for _, w := range ck.nonEmpty(p+"/words", words, func(i int) string {
		return fmt.Sprintf("%s: word %d is empty", label, i+1)
	}) {
		lm.Words = append(lm.Words, fold(w))
	}
	return lm
}

// cityGroupES is a group's Spanish name and the service that gave it.
type cityGroupES struct{ name, by string }

// spanish checks the "es" of the service at p, called label, in group.
// groups holds the Spanish names of groups seen so far: one given twice
// must read the same.
func (ck *cityCheck) spanish(p, label, group string, es *citySpanishJSON, groups map[string]cityGroupES) Spanish {
	out := Spanish{Name: strings.TrimSpace(es.Name), Group: strings.TrimSpace(es.Group), Description: strings.TrimSpace(es.Description)}
	if out.Name == "" {
		ck.missing(p+"/es", label+": es", "name", " (the service's name in Spanish)")
	}
	switch seen, ok := groups[group]; {
	case out.Group == "":
	case group == "":
		ck.add(p+"/es/group", label+`: es: a Spanish "group" needs the English "group" too`)
	case ok && seen.name != out.Group:
		ck.add(p+"/es/group", fmt.Sprintf("%s: es: group %q is %q in Spanish for %s, not %q", label, group, seen.name, seen.by, out.Group))
	case !ok:
		groups[group] = cityGroupES{name: out.Group, by: label}
	}
	return out
}

func (ck *cityCheck) officeHours(h *cityHoursJSON) OfficeHours {
	var out OfficeHours
	if len(h.Days) == 0 {
		ck.add("office_hours", `office_hours: "days" is required, such as ["mon","tue","wed","thu","fri"]`)
	}
	for i, d := range h.Days {
		wd, ok := cityWeekdays[strings.ToLower(strings.TrimSpace(d))]
		switch {
		case !ok:
			ck.add(fmt.Sprintf("office_hours/days/%d", i), fmt.Sprintf("office_hours: %q is not a day; use sun, mon, tue, wed, thu, fri or sat", d))
		case slices.Contains(out.Days, wd):
			ck.add(fmt.Sprintf("office_hours/days/%d", i), fmt.Sprintf("office_hours: %q is listed twice", d))
		default:
			out.Days = append(out.Days, wd)
		}
	}
	clock := func(field, v string) (time.Duration, bool) {
		m := cityClockRE.FindStringSubmatch(strings.TrimSpace(v))
		if m != nil {
			hh, _ := strconv.Atoi(m[1])
			mm, _ := strconv.Atoi(m[2])
			if (hh < 24 && mm < 60) || (hh == 24 && mm == 0) {
				return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, true
			}
		}
		ck.add("office_hours/"+field, fmt.Sprintf("office_hours: %s %q is not a time of day like \"08:00\"", field, v))
		return 0, false
	}
	var okOpen, okClose bool
	out.Open, okOpen = clock("open", h.Open)
	out.Close, okClose = clock("close", h.Close)
	if okOpen && okClose && out.Close <= out.Open {
		ck.add("office_hours/close", fmt.Sprintf("office_hours: close %q must be later than open %q", h.Close, h.Open))
	}
	return out
}

func (ck *cityCheck) attributes(p, label string, in []cityAttributeJSON) []Attribute {
	var out []Attribute
	codes := ck.codes(p+"/attributes", label+": attribute", cityAttrCodeRE, cityAttrCodeChars)
	codes.missingAtElement = true
	for j, a := range in {
		ap := fmt.Sprintf("%s/attributes/%d", p, j)
		code, alabel := codes.check(j, a.Code)
		attr := Attribute{
			Code:                code,
			Description:         strings.TrimSpace(a.Description),
			DatatypeDescription: strings.TrimSpace(a.DatatypeDescription),
			Datatype:            strings.TrimSpace(a.Datatype),
			Required:            a.Required,
			Variable:            a.Variable == nil || *a.Variable,
			Order:               a.Order,
		}
		if attr.Order == 0 {
			attr.Order = j + 1
		}
		if attr.Description == "" {
			ck.missing(ap, alabel, "description", " (the question residents see)")
		}
		if a.ES != nil {
			attr.ES.Description, attr.ES.DatatypeDescription = strings.TrimSpace(a.ES.Description), strings.TrimSpace(a.ES.DatatypeDescription)
			if attr.ES.Description == "" {
				ck.missing(ap+"/es", alabel+": es", "description", " (the question in Spanish)")
			}
		}
		isList := attr.Datatype == "singlevaluelist" || attr.Datatype == "multivaluelist"
		switch {
		case attr.Datatype == "":
			ck.missing(ap, alabel, "datatype", " ("+strings.Join(attributeDatatypes, ", ")+")")
		case !slices.Contains(attributeDatatypes, attr.Datatype):
			ck.add(ap+"/datatype", fmt.Sprintf("%s: datatype %q is not one of %s", alabel, attr.Datatype, strings.Join(attributeDatatypes, ", ")))
		case isList && len(a.Values) == 0:
			ck.add(ap, fmt.Sprintf(`%s: datatype %s needs "values" to choose from`, alabel, attr.Datatype))
		case !isList && len(a.Values) > 0:
			ck.add(ap+"/values", fmt.Sprintf(`%s: "values" are only for singlevaluelist and multivaluelist, not %s`, alabel, attr.Datatype))
		}
		if attr.Required && !attr.Variable {
			ck.add(ap+"/required", alabel+`: an informational attribute ("variable": false) cannot be required`)
		}
		keys := map[string]bool{}
		for k, v := range a.Values {
			vp := fmt.Sprintf("%s/values/%d", ap, k)
			vl := fmt.Sprintf("%s: value %d", alabel, k+1)
			val := AttributeValue{Key: strings.TrimSpace(v.Key), Name: strings.TrimSpace(v.Name), ES: strings.TrimSpace(v.ES)}
			switch {
			case val.Key == "":
				ck.missing(vp, vl, "key", "")
			case keys[val.Key]:
				ck.add(vp+"/key", fmt.Sprintf("%s: value key %q is used twice", alabel, val.Key))
			}
			keys[val.Key] = true
			if val.Name == "" {
				ck.missing(vp, vl, "name", "")
			}
			attr.Values = append(attr.Values, val)
		}
		out = append(out, attr)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Order < out[j].Order })
	return out
}

// citySLA parses an SLA: a Go duration ("36h", "90m"), a number of days
// ("3d"), or days then a duration ("1d12h"). Empty or "0" means none.
func citySLA(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	bad := errors.New(`is not a duration; use hours like "36h" or days like "3d"`)
	var d time.Duration
	rest := s
	// A leading "d" is refused either way, so "i > 0" (a mutant) is the same.
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 || n > 3650 {
			return 0, bad
		}
		d = time.Duration(n) * 24 * time.Hour
		rest = s[i+1:]
	}
	if rest != "" {
		x, err := time.ParseDuration(rest)
		if err != nil || (rest != s && strings.HasPrefix(rest, "-")) {
			return 0, bad
		}
		d += x
	}
	if d < 0 {
		return 0, errors.New("is negative")
	}
	return d, nil
}

// ---- geometry ----

type cityGeoJSON struct {
	Type        string            `json:"type"`
	Coordinates json.RawMessage   `json:"coordinates"`
	Geometry    json.RawMessage   `json:"geometry"`
	Features    []json.RawMessage `json:"features"`
}

// geometry decodes a GeoJSON Polygon or MultiPolygon (or a Feature or
// FeatureCollection holding them) at path, checking every ring.
func (ck *cityCheck) geometry(path string, raw json.RawMessage, label string, features bool) orb.Geometry {
	var g cityGeoJSON
	if err := json.Unmarshal(raw, &g); err != nil {
		ck.add(path, label+": expected a GeoJSON object with a \"type\"")
		return nil
	}
	switch g.Type {
	case "Feature":
		if !features {
			break
		}
		if cityAbsent(g.Geometry) {
			ck.add(path, label+": the feature has no geometry")
			return nil
		}
		return ck.geometry(path+"/geometry", g.Geometry, label, false)
	case "FeatureCollection":
		if !features {
			break
		}
		var mp orb.MultiPolygon
		for i, f := range g.Features {
			switch x := ck.geometry(fmt.Sprintf("%s/features/%d", path, i), f, label, true).(type) {
			case orb.Polygon:
				mp = append(mp, x)
			case orb.MultiPolygon:
				mp = append(mp, x...)
			}
		}
		if len(g.Features) == 0 {
			ck.add(path, label+": the feature collection has no features")
			return nil
		}
		if len(mp) == 1 {
			return mp[0]
		}
		return mp
	case "Polygon":
		var rings [][][]float64
		if err := json.Unmarshal(g.Coordinates, &rings); err != nil || g.Coordinates == nil {
			ck.add(path+"/coordinates", label+": Polygon coordinates must be an array of rings of [longitude, latitude] positions")
			return nil
		}
		return ck.polygon(path+"/coordinates", label, rings)
	case "MultiPolygon":
		var polys [][][][]float64
		if err := json.Unmarshal(g.Coordinates, &polys); err != nil || g.Coordinates == nil {
			ck.add(path+"/coordinates", label+": MultiPolygon coordinates must be an array of polygons, each an array of rings of [longitude, latitude] positions")
			return nil
		}
		if len(polys) == 0 {
			ck.add(path+"/coordinates", label+": the MultiPolygon has no polygons")
			return nil
		}
		var mp orb.MultiPolygon
		for i, rings := range polys {
			mp = append(mp, ck.polygon(fmt.Sprintf("%s/coordinates/%d", path, i), fmt.Sprintf("%s: polygon %d", label, i+1), rings))
		}
		return mp
	case "":
		ck.add(path, label+`: the GeoJSON object has no "type"`)
		return nil
	}
	ck.add(path+"/type", fmt.Sprintf("%s: GeoJSON type %q is not a polygon; use a Polygon or MultiPolygon", label, g.Type))
	return nil
}

func (ck *cityCheck) polygon(path, label string, rings [][][]float64) orb.Polygon {
	if len(rings) == 0 {
		ck.add(path, label+": the polygon has no rings")
		return nil
	}
	poly := make(orb.Polygon, 0, len(rings))
	for r, ring := range rings {
		rp := fmt.Sprintf("%s/%d", path, r)
		rl := fmt.Sprintf("%s: ring %d", label, r+1)
		ok := true
		out := make(orb.Ring, 0, len(ring))
		// Report the first bad point of a ring, and how many more there are:
		// one mistake (such as [lat, lng] order) usually spoils them all.
		badAt, badMsg, bad := "", "", 0
		for k, pos := range ring {
			var msg string
			if len(pos) < 2 || len(pos) > 3 {
				msg = fmt.Sprintf("%s: point %d must be [longitude, latitude]", rl, k+1)
			} else if lng, lat := pos[0], pos[1]; lng < -180 || lng > 180 || lat < -90 || lat > 90 {
				msg = fmt.Sprintf("%s: point %d [%g, %g] is out of range: longitude must be within -180..180 and latitude within -90..90 (GeoJSON positions are [longitude, latitude])", rl, k+1, lng, lat)
			} else {
				out = append(out, orb.Point{lng, lat})
				continue
			}
			if bad == 0 {
				badAt, badMsg = fmt.Sprintf("%s/%d", rp, k), msg
			}
			bad++
			ok = false
		}
		switch {
		case bad == 2:
			badMsg += "; so is 1 more point"
		case bad > 2:
			badMsg += fmt.Sprintf("; so are %d more points", bad-1)
		}
		if bad > 0 {
			ck.add(badAt, badMsg)
		}
		if len(ring) < 4 {
			ck.add(rp, fmt.Sprintf("%s has %d points; a ring needs at least 4, the last repeating the first", rl, len(ring)))
			ok = false
		} else if ok && !out.Closed() {
			ck.add(rp, fmt.Sprintf("%s is not closed: its last point [%g, %g] must repeat its first point [%g, %g]",
				rl, out[len(out)-1][0], out[len(out)-1][1], out[0][0], out[0][1]))
		}
		poly = append(poly, out)
	}
	return poly
}

// ---- checks made of many elements ----

// cityCodes checks the codes of one list in the file: the districts, the
// departments, the services, or one service's attributes. Each code is
// required, well formed, and used once in its list.
type cityCodes struct {
	ck    *cityCheck
	list  string         // the list's element path, "services"
	kind  string         // what an element is called, "service"
	valid *regexp.Regexp // a well-formed code
	chars string         // what valid allows, in words
	// missingAtElement puts the message about a missing code at the
	// element rather than at its "code" member, where attributes have
	// always had it.
	missingAtElement bool
	first            map[string]int // code -> index of the element it first names
}

const (
	cityCodeChars     = "a-z, 0-9, _ and -"
	cityAttrCodeChars = "letters, digits, _, . and -"
)

func (ck *cityCheck) codes(list, kind string, valid *regexp.Regexp, chars string) *cityCodes {
	return &cityCodes{ck: ck, list: list, kind: kind, valid: valid, chars: chars, first: map[string]int{}}
}

// check checks the code of element i and returns it trimmed, with the
// label messages about the element use: `service "pothole"`, or
// `service 3` when it has no code.
func (cs *cityCodes) check(i int, raw string) (code, label string) {
	p := fmt.Sprintf("%s/%d", cs.list, i)
	code = strings.TrimSpace(raw)
	label = fmt.Sprintf("%s %q", cs.kind, code)
	switch {
	case code == "":
		label = fmt.Sprintf("%s %d", cs.kind, i+1)
		at := p + "/code"
		if cs.missingAtElement {
			at = p
		}
		cs.ck.missing(at, label, "code", "")
	case !cs.valid.MatchString(code):
		cs.ck.add(p+"/code", fmt.Sprintf("%s code %q may use only %s", cs.kind, code, cs.chars))
	default:
		if first, dup := cs.first[code]; dup {
			cs.ck.add(p+"/code", fmt.Sprintf("%s code %q is used twice (first at line %d)", cs.kind, code, cs.ck.line(fmt.Sprintf("%s/%d", cs.list, first))))
		} else {
			cs.first[code] = i
		}
	}
	return code, label
}

// has says whether an element of the list has code (well formed).
func (cs *cityCodes) has(code string) bool {
	_, ok := cs.first[code]
	return ok
}

// reference checks that field of the element at path, when set, names an
// element of defined; required says it must be set.
func (ck *cityCheck) reference(path, label, field, code string, defined *cityCodes, required bool) {
	switch {
	case code == "":
		if required {
			ck.missing(path, label, field, "")
		}
	case !defined.has(code):
		ck.add(path+"/"+field, fmt.Sprintf("%s: %s %q is not defined", label, field, code))
	}
}

// missing reports that the element at path, called label, lacks field;
// more, when given, follows: what the field should hold.
func (ck *cityCheck) missing(path, label, field, more string) {
	ck.add(path, fmt.Sprintf("%s: %q is required%s", label, field, more))
}

// nonEmpty trims each entry of the list at path and returns those left
// with text, reporting each empty one with empty(its index).
func (ck *cityCheck) nonEmpty(path string, list []string, empty func(i int) string) []string {
	var out []string
	for i, s := range list {
		if s = strings.TrimSpace(s); s == "" {
			ck.add(fmt.Sprintf("%s/%d", path, i), empty(i))
			continue
		}
		out = append(out, s)
	}
	return out
}

// cityAbsent says whether a free-form member is missing or null.
func cityAbsent(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}

// ---- problems with their lines ----

type cityCheck struct {
	file string
	data []byte
	at   *jsonpos.Index // where the file's elements are, once it is known to be JSON
	errs []cityProblem
}

type cityProblem struct {
	off     int64
	withCol bool
	msg     string
}

// add records a problem at the element path, or the nearest enclosing
// element the file has.
func (ck *cityCheck) add(path, msg string) {
	ck.addAt(ck.at.Offset(path), false, msg)
}

func (ck *cityCheck) addAt(off int64, withCol bool, msg string) {
	ck.errs = append(ck.errs, cityProblem{off: off, withCol: withCol, msg: msg})
}

// line is the line the element at path begins on.
func (ck *cityCheck) line(path string) int {
	l, _ := jsonpos.LineCol(ck.data, ck.at.Offset(path))
	return l
}

func (ck *cityCheck) cityError(p cityProblem) *CityError {
	line, col := jsonpos.LineCol(ck.data, p.off)
	if !p.withCol {
		col = 0
	}
	return &CityError{File: ck.file, Line: line, Column: col, Problem: p.msg}
}

func (ck *cityCheck) problemAt(off int64, withCol bool, msg string) error {
	return ck.cityError(cityProblem{off: off, withCol: withCol, msg: msg})
}

// err joins every problem, in file order.
func (ck *cityCheck) err() error {
	sort.SliceStable(ck.errs, func(i, j int) bool { return ck.errs[i].off < ck.errs[j].off })
	errs := make([]error, len(ck.errs))
	for i, p := range ck.errs {
		errs[i] = ck.cityError(p)
	}
	return errors.Join(errs...)
}
