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
	"sync"
	"time"
	_ "time/tzdata" // the city's time zone must load on machines without zoneinfo

	"github.com/paulmach/orb"

	"townline/cities"
)

// City is a validated city file.
type City struct {
	Name, State, JurisdictionID string
	Location                    *time.Location // from timezone
	PhoneRegion                 string         // ISO region for phone parsing, default "US"
	Contact                     string
	OfficeHours                 OfficeHours
	Greeting                    map[string]string // by language "en","es"
	Boundary                    orb.Geometry      // orb.Polygon or orb.MultiPolygon (nil = no boundary check)
	Districts                   []District
	Departments                 []Department
	Services                    []Service
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
	Code, Name, Email, Phone string // Phone in E.164 when set
}

// Service is one kind of request residents can make (Open311 service).
type Service struct {
	Code, Name, Group, Description, Department string
	Keywords                                   map[string][]string // language -> keywords
	SLA                                        time.Duration       // 0 = none
	Attributes                                 []Attribute         // sorted by Order
	Routes                                     []Route
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

// Service returns the service with code.
func (c *City) Service(code string) (Service, bool) {
	for _, s := range c.Services {
		if s.Code == code {
			return s, true
		}
	}
	return Service{}, false
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

// ---- the file as JSON ----

type cityJSON struct {
	Name           string               `json:"name"`
	State          string               `json:"state"`
	JurisdictionID string               `json:"jurisdiction_id"`
	Timezone       string               `json:"timezone"`
	PhoneRegion    string               `json:"phone_region"`
	Contact        string               `json:"contact"`
	OfficeHours    *cityHoursJSON       `json:"office_hours"`
	Greeting       map[string]string    `json:"greeting"`
	Boundary       json.RawMessage      `json:"boundary"`
	Districts      []cityDistrictJSON   `json:"districts"`
	Departments    []cityDepartmentJSON `json:"departments"`
	Services       []cityServiceJSON    `json:"services"`
	Menu           []string             `json:"menu"`
	Streets        []string             `json:"streets"`
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
	Code  string `json:"code"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

type cityServiceJSON struct {
	Code        string              `json:"code"`
	Name        string              `json:"name"`
	Group       string              `json:"group"`
	Description string              `json:"description"`
	Department  string              `json:"department"`
	SLA         string              `json:"sla"`
	Keywords    map[string][]string `json:"keywords"`
	Attributes  []cityAttributeJSON `json:"attributes"`
	Routes      []cityRouteJSON     `json:"routes"`
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
}

type cityAttrValueJSON struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

type cityRouteJSON struct {
	District   string `json:"district"`
	Department string `json:"department"`
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
	ck := &cityCheck{file: name, data: data, pos: map[string]int64{}}

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
	if lerr := ck.locate(reflect.TypeFor[cityJSON]()); lerr != nil {
		return nil, ck.problemAt(0, false, "invalid JSON: "+lerr.Error())
	}
	if err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) && len(ck.errs) > 0 {
			// The decoder stopped at an unknown field, which the locator
			// has reported; look for a wrong type as well.
			err = json.Unmarshal(data, new(cityJSON))
		}
		if errors.As(err, &typeErr) {
			field := cityFieldName(typeErr.Field)
			off := typeErr.Offset
			if path, at, ok := ck.elementBefore(typeErr.Offset); ok {
				field, off = cityFieldName(path), at
			}
			ck.addAt(off, true, fmt.Sprintf("%s: expected %s, found %s",
				field, cityTypeName(typeErr.Type), cityJSONValueName(typeErr.Value)))
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
		Name:           strings.TrimSpace(f.Name),
		State:          strings.TrimSpace(f.State),
		JurisdictionID: strings.TrimSpace(f.JurisdictionID),
		PhoneRegion:    strings.TrimSpace(f.PhoneRegion),
		Contact:        strings.TrimSpace(f.Contact),
		Greeting:       map[string]string{},
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

	for lang, text := range f.Greeting {
		text = strings.TrimSpace(text)
		if text == "" {
			ck.add("greeting/"+lang, fmt.Sprintf("greeting %q is empty", lang))
			continue
		}
		c.Greeting[lang] = text
	}

	if len(bytes.TrimSpace(f.Boundary)) > 0 && !bytes.Equal(bytes.TrimSpace(f.Boundary), []byte("null")) {
		c.Boundary = ck.geometry("boundary", f.Boundary, "boundary", true)
	}

	// Districts.
	districtAt := map[string]int{}
	for i, d := range f.Districts {
		p := fmt.Sprintf("districts/%d", i)
		code := strings.TrimSpace(d.Code)
		label := fmt.Sprintf("district %q", code)
		switch {
		case code == "":
			ck.add(p+"/code", fmt.Sprintf(`district %d: "code" is required`, i+1))
			label = fmt.Sprintf("district %d", i+1)
		case !cityCodeRE.MatchString(code):
			ck.add(p+"/code", fmt.Sprintf("district code %q may use only a-z, 0-9, _ and -", code))
		default:
			if first, dup := districtAt[code]; dup {
				ck.add(p+"/code", fmt.Sprintf("district code %q is used twice (first at line %d)", code, ck.line(fmt.Sprintf("districts/%d", first))))
			} else {
				districtAt[code] = i
			}
		}
		if strings.TrimSpace(d.Name) == "" {
			ck.add(p, label+`: "name" is required`)
		}
		var area orb.Geometry
		if len(bytes.TrimSpace(d.Area)) == 0 || bytes.Equal(bytes.TrimSpace(d.Area), []byte("null")) {
			ck.add(p, label+`: "area" is required (a GeoJSON Polygon or MultiPolygon)`)
		} else {
			area = ck.geometry(p+"/area", d.Area, label+": area", true)
		}
		c.Districts = append(c.Districts, District{Code: code, Name: strings.TrimSpace(d.Name), Area: area})
	}

	// Departments.
	deptAt := map[string]int{}
	for i, d := range f.Departments {
		p := fmt.Sprintf("departments/%d", i)
		code := strings.TrimSpace(d.Code)
		label := fmt.Sprintf("department %q", code)
		switch {
		case code == "":
			ck.add(p+"/code", fmt.Sprintf(`department %d: "code" is required`, i+1))
			label = fmt.Sprintf("department %d", i+1)
		case !cityCodeRE.MatchString(code):
			ck.add(p+"/code", fmt.Sprintf("department code %q may use only a-z, 0-9, _ and -", code))
		default:
			if first, dup := deptAt[code]; dup {
				ck.add(p+"/code", fmt.Sprintf("department code %q is used twice (first at line %d)", code, ck.line(fmt.Sprintf("departments/%d", first))))
			} else {
				deptAt[code] = i
			}
		}
		dep := Department{Code: code, Name: strings.TrimSpace(d.Name), Email: strings.TrimSpace(d.Email), Phone: strings.TrimSpace(d.Phone)}
		if dep.Name == "" {
			ck.add(p, label+`: "name" is required`)
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

	// Services.
	serviceAt := map[string]int{}
	for i, s := range f.Services {
		p := fmt.Sprintf("services/%d", i)
		code := strings.TrimSpace(s.Code)
		label := fmt.Sprintf("service %q", code)
		switch {
		case code == "":
			ck.add(p+"/code", fmt.Sprintf(`service %d: "code" is required`, i+1))
			label = fmt.Sprintf("service %d", i+1)
		case !cityCodeRE.MatchString(code):
			ck.add(p+"/code", fmt.Sprintf("service code %q may use only a-z, 0-9, _ and -", code))
		default:
			if first, dup := serviceAt[code]; dup {
				ck.add(p+"/code", fmt.Sprintf("service code %q is used twice (first at line %d)", code, ck.line(fmt.Sprintf("services/%d", first))))
			} else {
				serviceAt[code] = i
			}
		}
		svc := Service{
			Code:        code,
			Name:        strings.TrimSpace(s.Name),
			Group:       strings.TrimSpace(s.Group),
			Description: strings.TrimSpace(s.Description),
			Department:  strings.TrimSpace(s.Department),
			Keywords:    map[string][]string{},
		}
		if svc.Name == "" {
			ck.add(p, label+`: "name" is required`)
		}
		if svc.Department != "" {
			if _, ok := deptAt[svc.Department]; !ok {
				ck.add(p+"/department", fmt.Sprintf("%s: department %q is not defined", label, svc.Department))
			}
		}
		sla, err := citySLA(s.SLA)
		if err != nil {
			ck.add(p+"/sla", fmt.Sprintf("%s: sla %q %v", label, s.SLA, err))
		}
		svc.SLA = sla

		for lang, words := range s.Keywords {
			lp := p + "/keywords/" + lang
			if strings.TrimSpace(lang) == "" {
				ck.add(lp, label+": keywords need a language code, such as \"en\"")
				continue
			}
			for k, w := range words {
				w = strings.TrimSpace(w)
				if w == "" {
					ck.add(fmt.Sprintf("%s/%d", lp, k), fmt.Sprintf("%s: keyword %d in %q is empty", label, k+1, lang))
					continue
				}
				svc.Keywords[lang] = append(svc.Keywords[lang], w)
			}
		}

		svc.Attributes = ck.attributes(p, label, s.Attributes)

		for r, rt := range s.Routes {
			rp := fmt.Sprintf("%s/routes/%d", p, r)
			route := Route{District: strings.TrimSpace(rt.District), Department: strings.TrimSpace(rt.Department)}
			if route.District == "" {
				ck.add(rp, fmt.Sprintf(`%s: route %d: "district" is required`, label, r+1))
			} else if _, ok := districtAt[route.District]; !ok {
				ck.add(rp+"/district", fmt.Sprintf("%s: route %d: district %q is not defined", label, r+1, route.District))
			}
			if route.Department == "" {
				ck.add(rp, fmt.Sprintf(`%s: route %d: "department" is required`, label, r+1))
			} else if _, ok := deptAt[route.Department]; !ok {
				ck.add(rp+"/department", fmt.Sprintf("%s: route %d: department %q is not defined", label, r+1, route.Department))
			}
			svc.Routes = append(svc.Routes, route)
		}
		c.Services = append(c.Services, svc)
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
	for i, st := range f.Streets {
		if st = strings.TrimSpace(st); st == "" {
			ck.add(fmt.Sprintf("streets/%d", i), fmt.Sprintf("streets: name %d is empty", i+1))
			continue
		}
		c.Streets = append(c.Streets, st)
	}
	return c
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
	seen := map[string]int{}
	for j, a := range in {
		ap := fmt.Sprintf("%s/attributes/%d", p, j)
		code := strings.TrimSpace(a.Code)
		alabel := fmt.Sprintf("%s: attribute %q", label, code)
		switch {
		case code == "":
			ck.add(ap, fmt.Sprintf(`%s: attribute %d: "code" is required`, label, j+1))
			alabel = fmt.Sprintf("%s: attribute %d", label, j+1)
		case !cityAttrCodeRE.MatchString(code):
			ck.add(ap+"/code", fmt.Sprintf("%s: attribute code %q may use only letters, digits, _, . and -", label, code))
		default:
			if first, dup := seen[code]; dup {
				ck.add(ap+"/code", fmt.Sprintf("%s: attribute code %q is used twice (first at line %d)", label, code, ck.line(fmt.Sprintf("%s/attributes/%d", p, first))))
			} else {
				seen[code] = j
			}
		}
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
			ck.add(ap, alabel+`: "description" is required (the question residents see)`)
		}
		isList := attr.Datatype == "singlevaluelist" || attr.Datatype == "multivaluelist"
		switch {
		case attr.Datatype == "":
			ck.add(ap, alabel+`: "datatype" is required (`+strings.Join(attributeDatatypes, ", ")+`)`)
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
			val := AttributeValue{Key: strings.TrimSpace(v.Key), Name: strings.TrimSpace(v.Name)}
			switch {
			case val.Key == "":
				ck.add(vp, fmt.Sprintf(`%s: value %d: "key" is required`, alabel, k+1))
			case keys[val.Key]:
				ck.add(vp+"/key", fmt.Sprintf("%s: value key %q is used twice", alabel, val.Key))
			}
			keys[val.Key] = true
			if val.Name == "" {
				ck.add(vp, fmt.Sprintf(`%s: value %d: "name" is required`, alabel, k+1))
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
		if len(g.Geometry) == 0 || string(g.Geometry) == "null" {
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

// ---- problems with their lines ----

type cityCheck struct {
	file string
	data []byte
	pos  map[string]int64 // element path ("services/3/department") -> offset of its key or value
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
	ck.addAt(ck.offset(path), false, msg)
}

func (ck *cityCheck) addAt(off int64, withCol bool, msg string) {
	ck.errs = append(ck.errs, cityProblem{off: off, withCol: withCol, msg: msg})
}

func (ck *cityCheck) offset(path string) int64 {
	for {
		if off, ok := ck.pos[path]; ok {
			return off
		}
		i := strings.LastIndexByte(path, '/')
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
}

// elementBefore finds the element that starts last at or before off: the
// innermost one a decoder error at off is about.
func (ck *cityCheck) elementBefore(off int64) (path string, at int64, ok bool) {
	at = -1
	for p, o := range ck.pos {
		if o <= off && (o > at || (o == at && len(p) > len(path))) {
			path, at, ok = p, o, true
		}
	}
	return path, at, ok
}

func (ck *cityCheck) line(path string) int {
	l, _ := ck.lineCol(ck.offset(path))
	return l
}

func (ck *cityCheck) lineCol(off int64) (line, col int) {
	if off > int64(len(ck.data)) {
		off = int64(len(ck.data))
	}
	if off < 0 {
		off = 0
	}
	before := ck.data[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

func (ck *cityCheck) cityError(p cityProblem) *CityError {
	line, col := ck.lineCol(p.off)
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

// locate walks the (well-formed) JSON, recording the offset of every
// object member and array element, and reports members that typ, the Go
// type the file decodes into, does not have.
func (ck *cityCheck) locate(typ reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(ck.data))
	return ck.locateValue(dec, "", typ)
}

var cityRawMessage = reflect.TypeFor[json.RawMessage]()

func (ck *cityCheck) start(dec *json.Decoder) int64 {
	off := dec.InputOffset()
	for off < int64(len(ck.data)) {
		switch ck.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func (ck *cityCheck) locateValue(dec *json.Decoder, path string, typ reflect.Type) error {
	for typ != nil && typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ == cityRawMessage {
		typ = nil // free-form: GeoJSON
	}
	off := ck.start(dec)
	if _, ok := ck.pos[path]; !ok {
		ck.pos[path] = off
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch delim {
	case '{':
		var fields map[string]reflect.Type
		var elem reflect.Type
		if typ != nil {
			switch typ.Kind() {
			case reflect.Struct:
				fields = cityJSONFields(typ)
			case reflect.Map:
				elem = typ.Elem()
			}
		}
		for dec.More() {
			koff := ck.start(dec)
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := tok.(string)
			child := path + "/" + key
			if path == "" {
				child = key
			}
			if _, seen := ck.pos[child]; seen {
				where := "at the top level"
				if path != "" {
					where = "in " + cityFieldName(path)
				}
				ck.addAt(koff, true, fmt.Sprintf("field %q appears twice %s", key, where))
			} else {
				ck.pos[child] = koff
			}
			ctyp := elem
			if fields != nil {
				ft, known := fields[key]
				if !known {
					ck.addAt(koff, true, ck.unknownField(path, key, fields))
				}
				ctyp = ft
			}
			if err := ck.locateValue(dec, child, ctyp); err != nil {
				return err
			}
		}
	case '[':
		var elem reflect.Type
		if typ != nil && (typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array) {
			elem = typ.Elem()
		}
		for i := 0; dec.More(); i++ {
			child := fmt.Sprintf("%s/%d", path, i)
			if path == "" {
				child = strconv.Itoa(i)
			}
			if err := ck.locateValue(dec, child, elem); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

func (ck *cityCheck) unknownField(path, key string, fields map[string]reflect.Type) string {
	where := "at the top level"
	if path != "" {
		where = "in " + cityFieldName(path)
	}
	known := make([]string, 0, len(fields))
	for k := range fields {
		if strings.EqualFold(k, key) {
			return fmt.Sprintf("unknown field %q %s (did you mean %q?)", key, where, k)
		}
		known = append(known, k)
	}
	sort.Strings(known)
	return fmt.Sprintf("unknown field %q %s; known fields are %s", key, where, strings.Join(known, ", "))
}

func cityJSONFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	return m
}

// cityFieldName turns an element path ("services/3/attributes/0") or a
// decoder field path ("services.sla") into a name for messages
// ("services[3].attributes[0]").
func cityFieldName(path string) string {
	var b strings.Builder
	for i, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '.' }) {
		if _, err := strconv.Atoi(part); err == nil {
			b.WriteString("[" + part + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(part)
	}
	if b.Len() == 0 {
		return "the city"
	}
	return b.String()
}

func cityTypeName(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "an object"
	}
	return t.String()
}

func cityJSONValueName(v string) string {
	switch v {
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "bool":
		return "true or false"
	case "array":
		return "an array"
	case "object":
		return "an object"
	}
	if strings.HasPrefix(v, "number") {
		return "the " + v
	}
	return v
}
