package core

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

func cityOroville(t *testing.T) *City {
	t.Helper()
	c, err := ReadCity("")
	if err != nil {
		t.Fatalf("the bundled Oroville file does not load:\n%v", err)
	}
	return c
}

func TestCityOrovilleLoads(t *testing.T) {
	c := cityOroville(t)
	if c.Name != "Oroville" || c.State != "CA" || c.JurisdictionID != "cityoforoville.org" {
		t.Errorf("name, state, jurisdiction = %q, %q, %q", c.Name, c.State, c.JurisdictionID)
	}
	if c.Location == nil || c.Location.String() != "America/Los_Angeles" {
		t.Errorf("location = %v", c.Location)
	}
	if c.PhoneRegion != "US" {
		t.Errorf("phone region = %q", c.PhoneRegion)
	}
	// The staff digest goes at 7 am on weekdays, Oroville's time.
	friday := time.Date(2026, 12, 4, 8, 0, 0, 0, c.Location)
	if c.Digest == nil {
		t.Error("no digest schedule")
	} else if next := c.Digest.Next(friday); !next.Equal(time.Date(2026, 12, 7, 7, 0, 0, 0, c.Location)) {
		t.Errorf("the digest after Friday 8 am: %v, want Monday 7 am", next)
	}
	if !strings.Contains(c.Contact, "1735 Montgomery Street") {
		t.Errorf("contact = %q", c.Contact)
	}
	for _, lang := range []string{"en", "es"} {
		if c.Greeting[lang] == "" {
			t.Errorf("no %s greeting", lang)
		}
	}
	if !strings.HasPrefix(c.Greeting["en"], "Thank you for calling the City of Oroville 311 line") {
		t.Errorf("English greeting = %q", c.Greeting["en"])
	}
	want := OfficeHours{Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, Open: 8 * time.Hour, Close: 17 * time.Hour}
	if !slices.Equal(c.OfficeHours.Days, want.Days) || c.OfficeHours.Open != want.Open || c.OfficeHours.Close != want.Close {
		t.Errorf("office hours = %+v, want %+v", c.OfficeHours, want)
	}
	if _, ok := c.Boundary.(orb.Polygon); !ok {
		t.Errorf("boundary is %T, want orb.Polygon", c.Boundary)
	}
	if p, _ := c.Boundary.(orb.Polygon); len(p) == 0 || len(p[0]) < 13 {
		t.Errorf("boundary has too few vertices: %v", p)
	}

	var depts []string
	for _, d := range c.Departments {
		depts = append(depts, d.Code)
		if d.Name == "" || d.Email == "" || d.Phone == "" || d.ES.Name == "" {
			t.Errorf("department %q lacks a name, Spanish name, email or phone: %+v", d.Code, d)
		}
	}
	if want := []string{"public-works", "code-enforcement", "police", "animal-control", "parks-trees", "other"}; !slices.Equal(depts, want) {
		t.Errorf("departments = %v, want %v", depts, want)
	}

	wantServices := []string{"pothole", "streetlight", "sign", "storm-drain", "sewer", "graffiti-public", "graffiti-private",
		"private-property", "illegal-dumping", "shopping-cart", "abandoned-vehicle", "homeless-camp",
		"animal-stray", "animal-dead", "tree", "park", "other"}
	var services []string
	for _, s := range c.Services {
		services = append(services, s.Code)
		if s.Name == "" || s.Group == "" || s.Description == "" {
			t.Errorf("service %q lacks a name, group or description", s.Code)
		}
		if s.ES.Name == "" || s.ES.Group == "" || s.ES.Description == "" || s.ES.Name == s.Name {
			t.Errorf("service %q lacks its name, group or description in Spanish: %+v", s.Code, s.ES)
		}
		if s.SLA <= 0 {
			t.Errorf("service %q has no SLA", s.Code)
		}
		if len(s.Keywords["en"]) < 3 || len(s.Keywords["es"]) < 3 {
			t.Errorf("service %q needs several English and Spanish keywords: %v", s.Code, s.Keywords)
		}
	}
	if !slices.Equal(services, wantServices) {
		t.Errorf("services = %v, want %v", services, wantServices)
	}

	pothole, ok := c.Service("pothole")
	if !ok || pothole.SLA != 3*24*time.Hour || pothole.Department != "public-works" {
		t.Errorf("pothole = %+v, %v", pothole, ok)
	}
	if !slices.Contains(pothole.Keywords["en"], "pot hole") || !slices.Contains(pothole.Keywords["es"], "bache") || !slices.Contains(pothole.Keywords["es"], "hoyo") {
		t.Errorf("pothole keywords = %v", pothole.Keywords)
	}
	stray, _ := c.Service("animal-stray")
	if a := stray.Attributes[0]; a.Code != "condition" || !a.Required || a.Datatype != "singlevaluelist" || !a.Variable {
		t.Errorf("animal-stray's first attribute = %+v, want the required alive-or-dead list", a)
	}
	camp, _ := c.Service("homeless-camp")
	if a := camp.Attributes[0]; a.Code != "emergency" || a.Variable {
		t.Errorf("homeless-camp's first attribute = %+v, want the informational emergency note", a)
	}
	light, _ := c.Service("streetlight")
	if a := light.Attributes[0]; a.Code != "pole_number" || a.Datatype != "string" || a.Required {
		t.Errorf("streetlight's first attribute = %+v, want the optional pole number", a)
	}
	if _, ok := c.Service("nope"); ok {
		t.Error(`Service("nope") found something`)
	}
	if d, ok := c.Department("police"); !ok || d.Name == "" {
		t.Errorf(`Department("police") = %+v, %v`, d, ok)
	}
	if _, ok := c.Department("nope"); ok {
		t.Error(`Department("nope") found something`)
	}
}

// wallClock reads "2026-12-04 16:00" in loc.
func wallClock(t *testing.T, s string, loc *time.Location) time.Time {
	t.Helper()
	tm, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestOfficeHoursIsOpen(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	h := cityOroville(t).OfficeHours
	at := func(s string) time.Time { return wallClock(t, s, la) }
	tests := []struct {
		t    time.Time
		loc  *time.Location
		open bool
	}{
		{at("2025-03-03 08:00"), la, true},  // Monday, opening minute
		{at("2025-03-03 07:59"), la, false}, // Monday, before opening
		{at("2025-03-03 12:30"), la, true},
		{at("2025-03-03 16:59"), la, true},
		{at("2025-03-03 17:00"), la, false},                        // closing time
		{at("2025-03-07 16:00"), la, true},                         // Friday
		{at("2025-03-08 10:00"), la, false},                        // Saturday
		{at("2025-03-09 10:00"), la, false},                        // Sunday (DST starts)
		{at("2025-03-10 08:30"), la, true},                         // Monday after the change: wall clock counts
		{time.Date(2025, 3, 3, 16, 30, 0, 0, time.UTC), la, true},  // 08:30 PST
		{time.Date(2025, 3, 3, 15, 30, 0, 0, time.UTC), la, false}, // 07:30 PST
		{time.Date(2025, 3, 4, 0, 30, 0, 0, time.UTC), la, true},   // Monday 16:30 PST, Tuesday in UTC
		{time.Date(2025, 3, 8, 0, 30, 0, 0, time.UTC), la, true},   // Friday 16:30 PST, Saturday in UTC
		{time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC), nil, true},   // nil loc: t's own zone
		{time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC), la, false},   // 01:00 PST
	}
	for _, tt := range tests {
		if got := h.IsOpen(tt.t, tt.loc); got != tt.open {
			t.Errorf("IsOpen(%v in %v) = %v, want %v", tt.t, tt.loc, got, tt.open)
		}
	}
	if (OfficeHours{}).IsOpen(at("2025-03-03 12:00"), la) {
		t.Error("the zero OfficeHours is open")
	}
	allDay := OfficeHours{Days: []time.Weekday{time.Sunday}, Close: 24 * time.Hour}
	if !allDay.IsOpen(at("2025-03-09 23:59"), la) || !allDay.IsOpen(at("2025-03-09 00:00"), la) {
		t.Error("00:00-24:00 is not open all day")
	}
	// Minutes, seconds and their fractions count: a desk that opens at 08:30.
	half := OfficeHours{Days: []time.Weekday{time.Monday}, Open: 8*time.Hour + 30*time.Minute, Close: 17 * time.Hour}
	for _, tc := range []struct {
		h, m, s, ns int
		open        bool
	}{{8, 29, 59, 999_999_999, false}, {8, 30, 0, 0, true}, {8, 30, 0, 500_000_000, true}, {8, 30, 30, 0, true}, {8, 45, 0, 0, true}} {
		at := time.Date(2025, 3, 3, tc.h, tc.m, tc.s, tc.ns, la)
		if got := half.IsOpen(at, la); got != tc.open {
			t.Errorf("open at 08:30: IsOpen(%s) = %v", at.Format("15:04:05.999999999"), got)
		}
	}
}

// A service's target counts in business time: Oroville's office hours
// (Monday to Friday, 8 to 5, Pacific time), skipping its holidays, a day
// being a business day; an emergency service's round the clock.
func TestDue(t *testing.T) {
	c, err := ReadCity("")
	if err != nil {
		t.Fatal(err)
	}
	la := c.Location
	at := func(s string) time.Time { return wallClock(t, s, la) }
	for _, tc := range []struct {
		what, from string
		sla        time.Duration
		emergency  bool
		want       string
	}{
		{"a day from Friday afternoon: an hour on Friday, eight on Monday", "2026-12-04 16:00", 24 * time.Hour, false, "2026-12-07 16:00"},
		{"36 hours from Saturday: four business days from Monday's opening", "2026-12-05 10:00", 36 * time.Hour, false, "2026-12-10 17:00"},
		{"over Thanksgiving and the day after", "2026-11-25 12:00", 24 * time.Hour, false, "2026-11-30 12:00"},
		{"three days from before opening", "2026-12-01 06:30", 72 * time.Hour, false, "2026-12-03 17:00"},
		{"across the end of daylight saving time, by the wall clock", "2026-10-30 16:00", 24 * time.Hour, false, "2026-11-02 16:00"},
		{"an emergency, round the clock", "2026-12-05 10:00", 24 * time.Hour, true, "2026-12-06 10:00"},
	} {
		due := c.Due(at(tc.from), Service{SLA: tc.sla, Emergency: tc.emergency})
		if due == nil || !due.Equal(at(tc.want)) {
			t.Errorf("%s: due %v, want %s", tc.what, due, tc.want)
		}
	}
	// Office hours from half past the hour count from the half hour.
	c.OfficeHours.Open = 8*time.Hour + 30*time.Minute
	if due := c.Due(at("2026-12-07 06:00"), Service{SLA: 4 * time.Hour}); due == nil || !due.Equal(at("2026-12-07 12:30")) {
		t.Errorf("four hours from before an opening at 8:30: due %v, want 12:30", due)
	}
	if due := c.Due(at("2026-12-04 16:00"), Service{}); due != nil {
		t.Errorf("a service without a target is due %v, want never", due)
	}
	if svc, _ := c.Service("sewer"); !svc.Emergency {
		t.Error("Oroville's sewer service is not an emergency")
	}
}

// Where a text names two landmarks, the longer name wins, and of two as
// long the first in the city file.
func TestLandmarkIn(t *testing.T) {
	c := &City{Landmarks: []Landmark{
		{Name: "Library", Words: []string{"library"}},
		{Name: "Stadium", Words: []string{"stadium"}},
		{Name: "Post Office", Words: []string{"correos", "post office"}},
	}}
	for text, want := range map[string]string{
		"by the stadium near the library":   "Library",
		"by the library near the stadium":   "Library",
		"at the post office by the library": "Post Office",
		"at correos":                        "Post Office",
		"at the stadium":                    "Stadium",
		"nowhere anyone named":              "",
	} {
		l, ok := c.landmarkIn(text)
		if l.Name != want || ok != (want != "") {
			t.Errorf("%q: %q (%v), want %q", text, l.Name, ok, want)
		}
	}
}
