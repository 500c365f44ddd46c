package core

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"townline/cities"
)

func TestCityBundledMatchesLoadCity(t *testing.T) {
	if _, err := LoadCity(cities.OrovilleName, cities.Oroville); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../cities/oroville.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != string(cities.Oroville) {
		t.Error("cities.Oroville differs from cities/oroville.json")
	}
}

func TestCityBadFiles(t *testing.T) {
	tests := []struct {
		file string
		want []string // every line of the error, without the file name
	}{
		{"bad_syntax.json", []string{
			`:4:4: invalid JSON: invalid character '"' after object key:value pair (is a comma missing before it?)`,
		}},
		{"bad_unknown_field.json", []string{
			`:10:7: unknown field "colour" in services[0]; known fields are attributes, code, department, description, emergency, es, group, keywords, name, routes, sla`,
		}},
		{"bad_unknown_department.json", []string{
			`:12: service "pothole": department "pw" is not defined`,
		}},
		{"bad_duplicate_service.json", []string{
			`:8: service code "pothole" is used twice (first at line 6)`,
		}},
		{"bad_sla.json", []string{
			`:10: service "pothole": sla "3 days" is not a duration; use hours like "36h" or days like "3d"`,
		}},
		{"bad_no_hours.json", []string{ // open as long as closed: no hours at all
			`:4: office_hours: close "08:00" must be later than open "08:00"`,
		}},
		{"bad_open_ring.json", []string{
			`:7: boundary: ring 1 is not closed: its last point [-121.6, 39.55] must repeat its first point [-121.6, 39.47]`,
		}},
		{"bad_type.json", []string{
			`:11:75: services[0].attributes[0].required: expected true or false, found a string`,
		}},
		{"bad_many.json", []string{
			`:1: "name" is required (the city's name)`,
			`:2: timezone "America/Oroville" is not a known time zone; use an IANA name such as "America/Los_Angeles"`,
			`:3: phone_region "usa" is not a two-letter ISO region code such as "US"`,
			`:4: office_hours: "funday" is not a day; use sun, mon, tue, wed, thu, fri or sat`,
			`:4: office_hours: close "08:00" must be later than open "17:00"`,
			`:5: boundary: GeoJSON type "LineString" is not a polygon; use a Polygon or MultiPolygon`,
			`:7: district "north": area: ring 1 has 3 points; a ring needs at least 4, the last repeating the first`,
			`:8: district "south": area: ring 1: point 1 [39.47, -121.6] is out of range: longitude must be within -180..180 and latitude within -90..90 (GeoJSON positions are [longitude, latitude]); so are 3 more points`,
			`:11: department "public-works": email "not an email" is not an address like name@example.org`,
			`:11: department "public-works": phone "530-538-2401" must be in E.164 form, like +15305382401`,
			`:12: department code "public-works" is used twice (first at line 11)`,
			`:13: department 3: "code" is required`,
			`:16: service code "Pot Hole" may use only a-z, 0-9, _ and -`,
			`:16: service "Pot Hole": sla "-2h" is negative`,
			`:17: service "sign": "name" is required`,
			`:18: service "sign": route 1: district "east" is not defined`,
			`:18: service "sign": route 1: department "caltrans" is not defined`,
			`:20: service "sign": attribute "kind": datatype "enum" is not one of string, number, datetime, text, singlevaluelist, multivaluelist`,
			`:21: service "sign": attribute "kind": datatype singlevaluelist needs "values" to choose from`,
			`:21: service "sign": attribute code "kind" is used twice (first at line 20)`,
			`:22: service "sign": attribute "note": an informational attribute ("variable": false) cannot be required`,
			`:23: service "sign": attribute "count": "values" are only for singlevaluelist and multivaluelist, not number`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := "testdata/city/" + tt.file
			c, err := ReadCity(path)
			if err == nil {
				t.Fatalf("loaded %s without error: %+v", path, c)
			}
			if c != nil {
				t.Error("a city came back with the error")
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, path+w)
			}
			got := strings.Split(err.Error(), "\n")
			if !slices.Equal(got, want) {
				t.Errorf("error:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
			}
			var ce *CityError
			if !errors.As(err, &ce) || ce.File != path || ce.Line == 0 {
				t.Errorf("errors.As CityError = %+v", ce)
			}
		})
	}
}

func TestCityInlineErrors(t *testing.T) {
	tests := []struct{ data, want string }{
		{``, `x.json:1: the file is empty`},
		{`[]`, `x.json:1:1: the city: expected an object, found an array`},
		{`{"name": "x",}`, `x.json:1:15: invalid JSON: invalid character '}' looking for beginning of object key string (is there a comma too many before it?)`},
		{"{\"name\": \"x\",\n \"departments\": [{\"code\": \"a\", \"name\": \"b\"}", `x.json:2:44: invalid JSON: unexpected end of file (a missing } or ]?)`},
		{`{"name": "x"} {}`, `x.json:1:15: unexpected data after the city object`},
		{`{"name": "x", "timezone": "UTC", "services": {}}`, `x.json:1:34: services: expected an array, found an object`},
		{"{\"name\": \"x\", \"timezone\": \"UTC\",\n \"services\": [{\"code\": 5}],\n \"Name\": 1}",
			"x.json:2:16: services[0].code: expected a string, found a number\n" +
				`x.json:3:2: unknown field "Name" at the top level (did you mean "name"?)`},
		{`{"name": "x", "timezone": "UTC", "name": "y", "greeting": {"en": "Hi", "en": "Hello"}}`,
			"x.json:1:34: field \"name\" appears twice at the top level\n" +
				`x.json:1:72: field "en" appears twice in greeting`},
		{`{"name": "x", "timezone": "Local"}`, `x.json:1: timezone "Local" depends on the machine; name the zone, such as "America/Los_Angeles"`},
		{`{"name": "x"}`, `x.json:1: "timezone" is required: an IANA time zone such as "America/Los_Angeles"`},
		{`{"name": "x", "timezone": "UTC", "districts": [{"code": "a", "name": "A", "area": {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}}]}`,
			`x.json:1: district "a": area: GeoJSON type "Point" is not a polygon; use a Polygon or MultiPolygon`},
		{`{"name": "x", "timezone": "UTC", "districts": [{"code": "a", "name": "A"}]}`,
			`x.json:1: district "a": "area" is required (a GeoJSON Polygon or MultiPolygon)`},
		{`{"name": "x", "timezone": "UTC", "boundary": {"type": "Polygon", "coordinates": "here"}}`,
			`x.json:1: boundary: Polygon coordinates must be an array of rings of [longitude, latitude] positions`},
		{`{"name": "x", "timezone": "UTC", "boundary": {"type": "FeatureCollection", "features": []}}`,
			`x.json:1: boundary: the feature collection has no features`},
		{`{"name": "x", "timezone": "UTC", "services": [{"code": "s", "name": "S", "keywords": {"en": ["ok", " "]}}]}`,
			`x.json:1: service "s": keyword 2 in "en" is empty`},
		{`{"name": "x", "timezone": "UTC", "services": [{"code": "s", "name": "S", "attributes": [{"code": "a", "description": "A", "datatype": "singlevaluelist", "values": [{"key": "k", "name": "K"}, {"key": "k"}]}]}]}`,
			"x.json:1: service \"s\": attribute \"a\": value 2: \"name\" is required\n" +
				`x.json:1: service "s": attribute "a": value key "k" is used twice`},
		{`{"name": "x", "timezone": "UTC", "services": [{"code": "s", "name": "S", "attributes": [{"code": "a", "description": "A", "es": {"datatype_description": "pista"}, "datatype": "string"}]}]}`,
			`x.json:1: service "s": attribute "a": es: "description" is required (the question in Spanish)`},
		{`{"name": "x", "timezone": "UTC", "services": [{"code": "s", "name": "S", "es": {"description": "D"}}]}`,
			`x.json:1: service "s": es: "name" is required (the service's name in Spanish)`},
		{`{"name": "x", "timezone": "UTC", "services": [{"code": "s", "name": "S", "es": "Ese"}]}`,
			`x.json:1:74: services[0].es: expected an object, found a string`},
		{`{"name": "x", "timezone": "UTC", "services": [{"code": "s", "name": "S", "es": {"nombre": "Ese"}}]}`,
			"x.json:1:81: unknown field \"nombre\" in services[0].es; known fields are description, group, name"},
		{`{"name": "x", "timezone": "UTC", "services": [{"code": "s", "name": "S", "es": {"name": "Ese", "group": "Calles"}}]}`,
			`x.json:1: service "s": es: a Spanish "group" needs the English "group" too`},
		{"{\"name\": \"x\", \"timezone\": \"UTC\", \"services\": [\n" +
			"{\"code\": \"a\", \"name\": \"A\", \"group\": \"Streets\", \"es\": {\"name\": \"Á\", \"group\": \"Calles\"}},\n" +
			"{\"code\": \"b\", \"name\": \"B\", \"group\": \"Streets\", \"es\": {\"name\": \"Be\", \"group\": \"Vías\"}}]}",
			`x.json:3: service "b": es: group "Streets" is "Calles" in Spanish for service "a", not "Vías"`},
		{`{"name": "x", "timezone": "UTC", "departments": [{"code": "d", "name": "D", "es": {"name": " "}}]}`,
			`x.json:1: department "d": es: "name" is required (the department's name in Spanish)`},
		{`{"name": "x", "timezone": "UTC", "departments": [{"code": "d", "name": "D", "es": {"name": "De", "group": "G"}}]}`,
			"x.json:1:98: unknown field \"group\" in departments[0].es; known fields are name"},
	}
	tests = append(tests, []struct{ data, want string }{
		{`{"name": "x", "timezone": "UTC", "office_hours": {"days": ["mon"], "open": "08:60", "close": "24:30"}}`,
			"x.json:1: office_hours: open \"08:60\" is not a time of day like \"08:00\"\n" +
				`x.json:1: office_hours: close "24:30" is not a time of day like "08:00"`},
		{`{"name": "x", "timezone": "UTC", "departments": [{"code": "d", "name": "D"}], "services": [{"code": "s", "name": "S", "department": "d", "sla": "3651d"}]}`,
			`x.json:1: service "s": sla "3651d" is not a duration; use hours like "36h" or days like "3d"`},
		{`{"name": "x", "timezone": "UTC", "boundary": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}, "landmarks": [{"name": "Far", "lat": 0.5, "lng": 0.5}, {"name": "Farther", "lat": 5, "lng": 5}]}`,
			`x.json:1: landmark "Farther": 5, 5 is outside the city's boundary`},
		{`{"name": "x", "timezone": "UTC", "landmarks": [{"words": ["x"]}]}`,
			"x.json:1: a landmark: \"name\" is required\n" +
				`x.json:1: a landmark: "lat" and "lng" are required`},
		{`{"name": "x", "timezone": "UTC", "boundary": {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]], [[[2, 2], [3, 2], [3, 3]]]]}}`,
			`x.json:1: boundary: polygon 2: ring 1 has 3 points; a ring needs at least 4, the last repeating the first`},
	}...)
	for _, tt := range tests {
		c, err := LoadCity("x.json", []byte(tt.data))
		if err == nil {
			t.Errorf("%s: loaded without error: %+v", tt.data, c)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("%s:\n got: %s\nwant: %s", tt.data, err, tt.want)
		}
	}
}

// What is just within the city file's bounds loads: midnight as closing
// time, ten years as a due date, the ends of the earth, an altitude.
func TestCityInlineWithinBounds(t *testing.T) {
	for _, data := range []string{
		`{"name": "x", "timezone": "UTC", "office_hours": {"days": ["mon"], "open": "00:00", "close": "24:00"}}`,
		`{"name": "x", "timezone": "UTC", "departments": [{"code": "d", "name": "D"}], "services": [{"code": "s", "name": "S", "department": "d", "sla": "3650d"}]}`,
		`{"name": "x", "timezone": "UTC", "boundary": {"type": "Polygon", "coordinates": [[[-180, -90, 0], [180, -90, 0], [180, 90, 0], [-180, 90, 0], [-180, -90, 0]]]}}`,
	} {
		if _, err := LoadCity("x.json", []byte(data)); err != nil {
			t.Errorf("%s: %v", data, err)
		}
	}
}

// A service's questions are asked in their order, and where two have the
// same, in the city file's.
func TestCityAttributesInOrder(t *testing.T) {
	c, err := LoadCity("x.json", []byte(`{"name": "x", "timezone": "UTC", "departments": [{"code": "d", "name": "D"}],
		"services": [{"code": "s", "name": "S", "department": "d", "attributes": [
			{"code": "a", "description": "A", "datatype": "string", "order": 2},
			{"code": "b", "description": "B", "datatype": "string"},
			{"code": "c", "description": "C", "datatype": "string", "order": 1}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := c.Service("s")
	var codes []string
	for _, a := range svc.Attributes {
		codes = append(codes, a.Code)
	}
	if !slices.Equal(codes, []string{"c", "a", "b"}) {
		t.Errorf("questions in the order %v, want c, a, b", codes)
	}
}

func TestCityGoodCollection(t *testing.T) {
	c, err := ReadCity("testdata/city/good_collection.json")
	if err != nil {
		t.Fatal(err)
	}
	mp, ok := c.Boundary.(orb.MultiPolygon)
	if !ok || len(mp) != 2 || len(mp[1]) != 2 {
		t.Fatalf("boundary = %#v, want a MultiPolygon of two polygons, the second with a hole", c.Boundary)
	}
	if c.PhoneRegion != "US" {
		t.Errorf("default phone region = %q", c.PhoneRegion)
	}
	if got := c.OfficeHours; !slices.Equal(got.Days, []time.Weekday{time.Monday, time.Wednesday}) || got.Open != 9*time.Hour+30*time.Minute || got.Close != 24*time.Hour {
		t.Errorf("office hours = %+v", got)
	}
	s, _ := c.Service("pothole")
	if s.SLA != 36*time.Hour {
		t.Errorf("SLA = %v, want 36h", s.SLA)
	}
	var order []string
	for _, a := range s.Attributes {
		order = append(order, a.Code)
		if !a.Variable {
			t.Errorf("attribute %q is not variable", a.Code)
		}
	}
	if !slices.Equal(order, []string{"a", "b", "c"}) || s.Attributes[2].Order != 3 {
		t.Errorf("attributes in order = %v (%+v)", order, s.Attributes)
	}
}

func TestCityReadMissingFile(t *testing.T) {
	_, err := ReadCity("testdata/city/no-such-file.json")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want a not-exist error", err)
	}
}

func TestCitySLA(t *testing.T) {
	day := 24 * time.Hour
	good := map[string]time.Duration{
		"": 0, "0": 0, "3d": 3 * day, "10d": 10 * day, "36h": 36 * time.Hour, "90m": 90 * time.Minute,
		"1d12h": day + 12*time.Hour, " 2d ": 2 * day, "0d": 0,
	}
	for in, want := range good {
		got, err := citySLA(in)
		if err != nil || got != want {
			t.Errorf("citySLA(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"3x", "3 days", "d", "1.5d", "-3d", "3d-1h", "-2h", "three", "3dd", "h"} {
		if got, err := citySLA(in); err == nil {
			t.Errorf("citySLA(%q) = %v, want an error", in, got)
		}
	}
}

// What the city file leaves out in Spanish is read in English: a service
// without "es", and a group whose Spanish name another service gives.
func TestCitySpanishFallsBack(t *testing.T) {
	c, err := LoadCity("x.json", []byte(`{"name": "x", "timezone": "UTC",
		"departments": [{"code": "pw", "name": "Public Works", "es": {"name": "Obras Públicas"}}, {"code": "pd", "name": "Police"}],
		"services": [
			{"code": "pothole", "name": "Pothole", "group": "Streets", "es": {"name": "Bache", "group": "Calles"}},
			{"code": "light", "name": "Streetlight", "group": "Streets", "es": {"name": "Luz de la calle"},
			 "attributes": [
				{"code": "pole", "description": "Pole number", "es": {"description": "Número del poste"}, "datatype": "string",
				 "datatype_description": "From the tag"},
				{"code": "what", "description": "What is wrong?", "es": {"description": "¿Qué pasa?", "datatype_description": "Elija"},
				 "datatype_description": "Pick", "datatype": "singlevaluelist",
				 "values": [{"key": "out", "name": "Out", "es": "Apagada"}, {"key": "pole", "name": "The pole"}]}]},
			{"code": "sewer", "name": "Sewer", "group": "Drains"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ code, lang, name, group string }{
		{"pothole", "es", "Bache", "Calles"}, {"pothole", "en", "Pothole", "Calles"},
		{"light", "es", "Luz de la calle", "Calles"}, {"sewer", "es", "Sewer", ""}, {"sewer", "", "Sewer", ""},
	} {
		s, _ := c.Service(tc.code)
		if got := s.NameIn(tc.lang); got != tc.name || s.ES.Group != tc.group {
			t.Errorf("%s in %q: %q in %q, want %q in %q", tc.code, tc.lang, got, s.ES.Group, tc.name, tc.group)
		}
	}
	if got := c.ServiceName("pothole", "Old name", "es"); got != "Bache" {
		t.Errorf("a service of the file is named %q, want Bache", got)
	}
	if got := c.ServiceName("weeds", "Weeds", "es"); got != "Weeds" {
		t.Errorf("a service the file no longer has is named %q, want the name it kept", got)
	}
	light, _ := c.Service("light")
	pole, what := light.Attributes[0], light.Attributes[1]
	for _, tc := range []struct{ got, want string }{
		{pole.DescriptionIn("es"), "Número del poste"}, {pole.DescriptionIn("en"), "Pole number"},
		{pole.DatatypeDescriptionIn("es"), "From the tag"}, {what.DatatypeDescriptionIn("es"), "Elija"},
		{what.DatatypeDescriptionIn("en"), "Pick"}, {what.DescriptionIn("es"), "¿Qué pasa?"},
		{what.Values[0].NameIn("es"), "Apagada"}, {what.Values[0].NameIn("en"), "Out"}, {what.Values[1].NameIn("es"), "The pole"},
	} {
		if tc.got != tc.want {
			t.Errorf("a question's words: %q, want %q", tc.got, tc.want)
		}
	}
	if pw, _ := c.Department("pw"); pw.ES.Name != "Obras Públicas" {
		t.Errorf("department pw in Spanish = %q", pw.ES.Name)
	}
	if pd, _ := c.Department("pd"); pd.ES.Name != "" {
		t.Errorf("department pd, given no Spanish, has %q", pd.ES.Name)
	}
}
