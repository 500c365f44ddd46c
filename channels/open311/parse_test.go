package open311

// Unit tests of the parameter parsers: no database.

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"townline/core"
)

var (
	testNow = time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)
	testLoc = mustLoad("America/Los_Angeles")
)

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func ptime(t time.Time) *time.Time { return &t }

func TestParseFilter(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		query string
		want  core.Filter
	}{
		{"", core.Filter{Start: ptime(testNow.Add(-90 * day)), Limit: 1000}},
		{"start_date=2026-01-01T00:00:00Z", core.Filter{Start: &start, End: ptime(start.Add(90 * day)), Limit: 1000}},
		{"end_date=2026-01-01T00:00:00Z", core.Filter{Start: ptime(start.Add(-90 * day)), End: &start, Limit: 1000}},
		// Both given: taken as they are, even over 90 days.
		{"start_date=2025-01-01T00:00:00Z&end_date=2026-01-01T00:00:00Z",
			core.Filter{Start: ptime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)), End: &start, Limit: 1000}},
		{"service_code=pothole,+sign,&status=open",
			core.Filter{ServiceCodes: []string{"pothole", "sign"}, Open: true, Start: ptime(testNow.Add(-90 * day)), Limit: 1000}},
		{"status=open,closed", core.Filter{Open: true, Closed: true, Start: ptime(testNow.Add(-90 * day)), Limit: 1000}},
		// Ids win over every other filter.
		{"service_request_id=1001,1002&status=closed&start_date=junk", core.Filter{IDs: []int64{1001, 1002}, Limit: 1000}},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseFilter(q, testNow, testLoc)
		if err != nil {
			t.Errorf("%q: %v", tc.query, err)
			continue
		}
		if !filterEqual(got, tc.want) {
			t.Errorf("%q:\n got %s\nwant %s", tc.query, showFilter(got), showFilter(tc.want))
		}
	}
}

func filterEqual(a, b core.Filter) bool {
	timeEq := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return reflect.DeepEqual(a.IDs, b.IDs) && reflect.DeepEqual(a.ServiceCodes, b.ServiceCodes) &&
		timeEq(a.Start, b.Start) && timeEq(a.End, b.End) && a.Open == b.Open && a.Closed == b.Closed && a.Limit == b.Limit
}

func showFilter(f core.Filter) string {
	show := func(t *time.Time) string {
		if t == nil {
			return "nil"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("ids=%v codes=%v start=%s end=%s open=%v closed=%v limit=%d",
		f.IDs, f.ServiceCodes, show(f.Start), show(f.End), f.Open, f.Closed, f.Limit)
}

func TestParseFilterDates(t *testing.T) {
	t.Parallel()
	// A bare date is a day in the city's zone; as end_date, its end.
	q := url.Values{"start_date": {"2026-03-01"}, "end_date": {"2026-03-01"}}
	f, err := parseFilter(q, testNow, testLoc)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 1, 0, 0, 0, 0, testLoc); !f.Start.Equal(want) {
		t.Errorf("start %v, want %v", f.Start, want)
	}
	if want := time.Date(2026, 3, 1, 23, 59, 59, 999999000, testLoc); !f.End.Equal(want) {
		t.Errorf("end %v, want %v", f.End, want)
	}
	// RFC 3339 without seconds and with fractions.
	for _, v := range []string{"2026-03-01T10:00-08:00", "2026-03-01T10:00:00.5Z"} {
		if _, err := parseFilter(url.Values{"start_date": {v}}, testNow, testLoc); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
}

func TestParseFilterErrors(t *testing.T) {
	t.Parallel()
	for query, want := range map[string]string{
		"start_date=yesterday": `start_date: "yesterday" is not a date and time`,
		"end_date=2026-13-01":  `end_date: "2026-13-01" is not a date and time`,
		"start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z": "end_date: 2026-01-01T00:00:00Z is before start_date 2026-02-01T00:00:00Z",
		"status=pending":         `status: "pending" is not open or closed`,
		"service_request_id=12a": `service_request_id: "12a" is not a request id`,
		"service_request_id=-5":  `service_request_id: "-5" is not a request id`,
		"service_request_id=0":   `service_request_id: "0" is not a request id`,
	} {
		q, _ := url.ParseQuery(query)
		_, err := parseFilter(q, testNow, testLoc)
		he, ok := err.(*httpError)
		if !ok || he.status != 400 || !strings.Contains(he.description, want) {
			t.Errorf("%s: got %v, want 400 %q", query, err, want)
		}
	}
}

// The spec's cap on a listing reaches the query.
func TestParseFilterLimit(t *testing.T) {
	t.Parallel()
	for _, q := range []url.Values{{}, {"service_request_id": {"1,2,3"}}, {"status": {"open"}}} {
		f, err := parseFilter(q, testNow, testLoc)
		if err != nil || f.Limit != 1000 {
			t.Errorf("%v: limit %d, err %v; want 1000", q, f.Limit, err)
		}
	}
}

func TestSplitFile(t *testing.T) {
	t.Parallel()
	for file, want := range map[string]struct {
		name string
		f    format
		ok   bool
	}{
		"pothole.json": {"pothole", formatJSON, true},
		"pothole.xml":  {"pothole", formatXML, true},
		"a.b.xml":      {"a.b", formatXML, true},
		"pothole":      {"", formatJSON, false},
		"pothole.html": {"", formatJSON, false},
		".json":        {"", formatJSON, false},
		"pothole.JSON": {"", formatJSON, false},
	} {
		name, f, ok := splitFile(file)
		if name != want.name || f != want.f || ok != want.ok {
			t.Errorf("%q: got %q %v %v, want %+v", file, name, f, ok, want)
		}
	}
}

func TestParseID(t *testing.T) {
	t.Parallel()
	// Up to 18 digits: any id the database will hand out for centuries.
	for s, want := range map[string]int64{"1": 1, "1001": 1001, "007": 7, "123456789012345678": 123456789012345678} {
		if got, ok := parseID(s); !ok || got != want {
			t.Errorf("%q: %d %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "0", "-1", "+1", " 1", "1e3", "0x10", "9999999999999999999", "١٢"} {
		if got, ok := parseID(s); ok {
			t.Errorf("%q: accepted as %d", s, got)
		}
	}
}

func TestParseAttributes(t *testing.T) {
	t.Parallel()
	got, err := parseAttributes(url.Values{
		"attribute[size]":       {"large"},
		"attribute[problems][]": {"weeds", "junk"},
		"attribute[problems]":   {"other"},
		"description":           {"x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !reflect.DeepEqual(got["size"], []string{"large"}) || len(got["problems"]) != 3 {
		t.Errorf("got %v", got)
	}
	for _, key := range []string{"attribute[]", "attribute[size", "attribute[size]x", "attribute[a][b]"} {
		if _, err := parseAttributes(url.Values{key: {"v"}}); err == nil {
			t.Errorf("%q accepted", key)
		}
	}
}

func TestParseNumber(t *testing.T) {
	t.Parallel()
	if f, err := parseNumber("lat", " 39.5 "); err != nil || *f != 39.5 {
		t.Errorf("39.5: %v %v", f, err)
	}
	if f, err := parseNumber("lat", ""); err != nil || f != nil {
		t.Errorf("empty: %v %v", f, err)
	}
	for _, v := range []string{"abc", "NaN", "Inf", "-Infinity", "39,5", "0x1p-2 ", "1e400"} {
		_, err := parseNumber("lat", v)
		if err == nil {
			t.Errorf("%q accepted", v)
		}
	}
	_, err := parseNumber("lat", "abc")
	if err == nil || err.Error() != `lat: "abc" is not a number` {
		t.Errorf("message %v", err)
	}
}

func TestKeywords(t *testing.T) {
	t.Parallel()
	got := keywords(map[string][]string{
		"es": {"bache", "hoyo"},
		"en": {"pothole", "hole, road", "pothole"},
		"fr": {"nid-de-poule"},
		"de": {"Schlagloch"},
		"zh": {"坑洞"},
	})
	// English and Spanish first, whatever their names sort as; the rest
	// by language code.
	if want := "pothole, hole  road, bache, hoyo, Schlagloch, nid-de-poule, 坑洞"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Each status in the extensions' words and in mySociety's updates'.
func TestDetailedStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s             core.Status
		reason        core.CloseReason
		want, wantUpd string
	}{
		{core.StatusNew, "", "NEW", "open"},
		{core.StatusAcknowledged, "", "ACKNOWLEDGED", "investigating"},
		{core.StatusInProgress, "", "IN_PROGRESS", "in_progress"},
		{core.StatusClosed, core.ReasonResolved, "CLOSED_RESOLVED", "fixed"},
		{core.StatusClosed, core.ReasonDuplicate, "CLOSED_DUPLICATE", "duplicate"},
		{core.StatusClosed, core.ReasonReferred, "CLOSED_REFERRED", "not_councils_responsibility"},
		{core.StatusClosed, core.ReasonNoAction, "CLOSED_NO_ACTION", "no_further_action"},
		{core.StatusClosed, "", "CLOSED", "closed"},
	} {
		if got := detailedStatus(tc.s, tc.reason); got != tc.want {
			t.Errorf("%s/%s: %q, want %q", tc.s, tc.reason, got, tc.want)
		}
		if got := updateStatus(tc.s, tc.reason); got != tc.wantUpd {
			t.Errorf("%s/%s: update status %q, want %q", tc.s, tc.reason, got, tc.wantUpd)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "service_request_id=1,2", "start_date=2026-01-01&end_date=2026-02-01T00:00Z",
		"status=open,closed&service_code=a,,b", "end_date=2026-01-01T00:00:00.123456789+14:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		got, err := parseFilter(q, testNow, testLoc)
		if err != nil {
			if _, ok := err.(*httpError); !ok {
				t.Fatalf("error %v is not an httpError", err)
			}
			return
		}
		if got.Limit != maxResults {
			t.Fatalf("limit %d", got.Limit)
		}
		if len(got.IDs) == 0 && (got.Start == nil || got.End != nil && got.End.Before(*got.Start)) {
			t.Fatalf("bad window %v..%v", got.Start, got.End)
		}
	})
}

func FuzzPostParams(f *testing.F) {
	f.Add("attribute[a][]=1&attribute[b]=2&lat=1.5&long=-2")
	f.Add("attribute[=x&lat=NaN")
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		attrs, err := parseAttributes(q)
		if err == nil {
			for code := range attrs {
				if code == "" || strings.Contains(code, "]") {
					t.Fatalf("code %q", code)
				}
			}
		}
		for _, name := range []string{"lat", "long"} {
			if v, err := parseNumber(name, q.Get(name)); err == nil && v != nil && (*v != *v) {
				t.Fatalf("%s NaN accepted", name)
			}
		}
	})
}

// Staff read the name of the file a client sent, never a path, and never
// one longer than 200 bytes.
func TestCleanFilename(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 196) + ".jpg"
	for in, want := range map[string]string{
		"IMG_0001.jpg":                       "IMG_0001.jpg",
		`C:\Users\ana\Pictures\IMG_0001.jpg`: "IMG_0001.jpg",
		"../../etc/IMG_0001.jpg":             "IMG_0001.jpg",
		"photos/":                            "photos",
		"":                                   "",
		".":                                  "",
		"/":                                  "",
		`\`:                                  "",
		long:                                 long,
		long + "x":                           long,
		strings.Repeat("a", 199) + "é.jpg":   strings.Repeat("a", 199), // é cut in two: dropped
	} {
		if got := core.CleanFilename(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
