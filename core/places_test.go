package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"townline/cities"
	"townline/core"
	"townline/internal/testenv"
)

// withPlaces is a core with the Oroville sample's places loaded.
func withPlaces(t *testing.T) *core.Core {
	t.Helper()
	c := testenv.Core(t)
	n, err := c.LoadPlaces(context.Background(), cities.OrovillePlacesName, cities.OrovillePlaces)
	if err != nil {
		t.Fatal(err)
	}
	if n.Addresses < 300 || n.Segments < 50 {
		t.Fatalf("loaded %+v, want the sample's hundreds of points and segments", n)
	}
	return c
}

// distance is meters between two points, roughly (enough for a few meters' check).
func distance(lat1, lng1, lat2, lng2 float64) float64 {
	dy := (lat2 - lat1) * 111_320
	dx := (lng2 - lng1) * 111_320 * math.Cos(lat1*math.Pi/180)
	return math.Hypot(dx, dy)
}

// Addresses, misspellings, interpolated numbers, intersections and
// landmarks all give a position; what the layers do not know gives none.
func TestGeocode(t *testing.T) {
	t.Parallel()
	c := withPlaces(t)
	ctx := context.Background()
	for _, tc := range []struct {
		address, want string
		lat, lng      float64
		within        float64 // meters
	}{
		{"1735 Montgomery Street", "1735 Montgomery Street", 39.5138, -121.5564, 1},
		{"1735 montgomry st, Oroville CA", "1735 Montgomery Street", 39.5138, -121.5564, 1}, // misspelled
		{"1735 Montgomery", "1735 Montgomery Street", 39.5138, -121.5564, 1},                // no suffix
		// No point for 1747: placed along the block's centerline.
		{"1747 Montgomery Street", "1747 Montgomery Street", 39.5138, -121.5564 + 12*0.00003234, 15},
		{"2000 Oro Dam Blvd", "2000 Oro Dam Boulevard", 39.49875, -121.5600, 200},
		// The last number of a block's range, with no point: the block's end.
		{"1592 Montgomery Street", "1592 Montgomery Street", 39.5138, -121.561, 1},
		// Bird Street runs north: its numbers climb in latitude.
		{"150 Bird Street", "150 Bird Street", 39.51 + 50.0/98*0.0025, -121.5625, 1},
		{"Montgomery Street & 5th Avenue", "Montgomery Street & 5th Avenue", 39.5138, -121.5564, 1},
		{"montgomery and fifth ave", "Montgomery Street & 5th Avenue", 39.5138, -121.5564, 1},
		{"Myers y Bird", "Myers Street & Bird Street", 39.5125, -121.5625, 1},
		{"by the post office", "Post Office, 1650 Montgomery Street", 39.5139, -121.55915, 0},
	} {
		loc, ok, err := c.Geocode(ctx, tc.address)
		if err != nil || !ok {
			t.Errorf("Geocode(%q) = %v, %v", tc.address, ok, err)
			continue
		}
		if loc.Address != tc.want {
			t.Errorf("Geocode(%q) names %q, want %q", tc.address, loc.Address, tc.want)
		}
		if d := distance(loc.Lat, loc.Lng, tc.lat, tc.lng); !(d <= tc.within) { // NaN is never within
			t.Errorf("Geocode(%q) = %v, %v: %.0f m from %v, %v", tc.address, loc.Lat, loc.Lng, d, tc.lat, tc.lng)
		}
	}
	for _, unknown := range []string{
		"12 Nowhere Lane",        // no such street
		"9999 Montgomery Street", // no such number
		"Montgomery & Myers",     // parallel streets never meet
		"Montgomery Street",      // a street is no place
		"",
	} {
		if loc, ok, err := c.Geocode(ctx, unknown); ok || err != nil {
			t.Errorf("Geocode(%q) = %+v, %v, %v; want unknown", unknown, loc, ok, err)
		}
	}
	// A position is named by the address nearest it, not too far.
	if near, ok, err := c.NearAddress(ctx, 39.51382, -121.55642); !ok || err != nil || near != "1735 Montgomery Street" {
		t.Errorf("NearAddress = %q, %v, %v", near, ok, err)
	}
	if near, ok, err := c.NearAddress(ctx, 39.5300, -121.5200); ok || err != nil {
		t.Errorf("NearAddress far from every address = %q, %v, %v", near, ok, err)
	}
}

// A layer loaded again as it was changes nothing; changed, it replaces
// itself; a bad file changes nothing and
// says what is wrong where; OpenAddresses' CSV loads too.
func TestLoadPlaces(t *testing.T) {
	t.Parallel()
	c := withPlaces(t)
	ctx := context.Background()
	again, err := c.LoadPlaces(ctx, cities.OrovillePlacesName, cities.OrovillePlaces)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Unchanged || again.Addresses != 0 || again.AllAddresses < 300 {
		t.Errorf("loaded again as it was: %+v, want nothing done and the places there", again)
	}
	// Changed (one address point fewer), it replaces what it loaded.
	lastPoint := bytes.LastIndex(cities.OrovillePlaces, []byte(`{"type":"Feature","properties":{"number"`))
	end := lastPoint + bytes.Index(cities.OrovillePlaces[lastPoint:], []byte("\n"))
	fewer := slices.Concat(cities.OrovillePlaces[:lastPoint], cities.OrovillePlaces[end+1:])
	changed, err := c.LoadPlaces(ctx, cities.OrovillePlacesName, fewer)
	if err != nil || changed.Unchanged || changed.AllAddresses != again.AllAddresses-1 || changed.AllAddresses != changed.Addresses {
		t.Fatalf("loaded changed: %+v, %v; want one address point fewer in all", changed, err)
	}
	again = changed
	for _, tc := range []struct{ data, want string }{
		{`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"street":"Myers Street"},"geometry":{"type":"Point","coordinates":[-121.56,39.51]}}]}`,
			`feature 1: an address point needs a house number and a street (has "", "Myers Street")`},
		{`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"number":1,"street":"A St"},"geometry":{"type":"Point","coordinates":[-121.56,139.51]}}]}`,
			`feature 1: a Point's coordinates are not a longitude, latitude pair`},
		{`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[-121.56,39.51],[-121.55,39.51]]}}]}`,
			`feature 1: a street centerline needs a name`},
		{`{"type":"Feature"}`, `not a GeoJSON FeatureCollection`},
		{"NUMBER,STREET,LAT,LON\n1,A Street,39.51,-121.56\nx,B Street,39.51,-121.56\n", `line 3: needs a house number and a street`},
		{"NUMBER,STREET,LAT,LON\n1,A Street,39.51,west\n", `line 2: "39.51", "west" is not a latitude and a longitude`},
		{"name,lat\nx,1\n", `the CSV header needs number, street, lat and lon columns`},
		{`{"type":"FeatureCollection","features":[]}`, `holds no address point and no street centerline`},
	} {
		_, err := c.LoadPlaces(ctx, "oroville-places.geojson", []byte(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadPlaces(%.60q) = %v, want %q", tc.data, err, tc.want)
		}
	}
	// The bad files replaced nothing: the sample still places City Hall.
	if loc, ok, err := c.Geocode(ctx, "1735 Montgomery Street"); !ok || err != nil || loc.Lat != 39.5138 {
		t.Errorf("after the bad files: %+v, %v, %v", loc, ok, err)
	}
	csv := "LON,LAT,NUMBER,STREET,UNIT,CITY\n-121.5500,39.5200,400,Acacia Avenue,,Oroville\n"
	n, err := c.LoadPlaces(ctx, "openaddresses.csv", []byte(csv))
	if err != nil || n.Addresses != 1 || n.AllAddresses != again.AllAddresses+1 {
		t.Fatalf("OpenAddresses CSV: %+v, %v", n, err)
	}
	if loc, ok, _ := c.Geocode(ctx, "400 acacia ave"); !ok || loc.Lat != 39.52 || loc.Address != "400 Acacia Avenue" {
		t.Errorf("the CSV's address: %+v, %v", loc, ok)
	}
	// Both layers place: loading one source left the other's rows.
	if _, ok, _ := c.Geocode(ctx, "1735 Montgomery Street"); !ok {
		t.Error("loading the CSV removed the GeoJSON's places")
	}
}

// Every channel's words are placed through the one filing path: the
// position then routes the report by district.
func TestFilingPlacedByAddress(t *testing.T) {
	t.Parallel()
	c := filingCore(t)
	ctx := context.Background()
	if _, err := c.LoadPlaces(ctx, cities.OrovillePlacesName, cities.OrovillePlaces); err != nil {
		t.Fatal(err)
	}
	placed := func(what string, r core.Request, address string, lat, lng float64, department string) {
		t.Helper()
		if r.Lat == nil || distance(*r.Lat, *r.Lng, lat, lng) > 15 || r.Address != address || r.Department != department {
			t.Errorf("%s: filed at %v,%v %q in %q; want near %v,%v %q in %q",
				what, r.Lat, r.Lng, r.Address, r.Department, lat, lng, address, department)
		}
	}

	// A text naming an intersection on State Route 70: Caltrans's desk.
	p := &phone{t: t, c: c, number: "+15305550211"}
	res := p.text("theres a huge pothole on oro dam blvd at highway 70")
	r, err := c.Request(ctx, res.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	placed("text", r, "Oro Dam Boulevard & Highway 70", 39.49867, -121.5700, "other")

	// A mail with a misspelled address.
	res, err = c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "placed@example.com", To: "311@example.gov",
		Subject: "Pothole", Text: "A deep pothole in front of 1747 Montgomry St.", ProviderID: "<placed-1@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	r, _ = c.Request(ctx, res.RequestID)
	placed("mail", r, "1747 Montgomery Street", 39.5138, -121.5564+12*0.00003234, "public-works")

	// Open311 with an address alone.
	in := newPothole("placed-open311@example.com")
	in.Lat, in.Lng, in.Address = nil, nil, "Montgomery Street & 5th Avenue"
	if r, err = c.CreateRequest(ctx, in); err != nil {
		t.Fatal(err)
	}
	placed("Open311", r, "Montgomery Street & 5th Avenue", 39.5138, -121.5564, "public-works")

	// A photo's GPS alone: named by the nearest address, not coordinates.
	res, err = c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "photo-only@example.com", To: "311@example.gov",
		Subject: "Pothole", Text: "See the photo.", Uploads: []core.Upload{storePhoto(t, c, 39.51382, -121.55642)},
		ProviderID: "<placed-2@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	r, _ = c.Request(ctx, res.RequestID)
	placed("photo", r, "near 1735 Montgomery Street", 39.51382, -121.55642, "public-works")

	// An address the city's layers do not know is kept as written, unplaced.
	in = newPothole("unplaced@example.com")
	in.Lat, in.Lng, in.Address = nil, nil, "2100 Fake Rd"
	if r, err = c.CreateRequest(ctx, in); err != nil {
		t.Fatal(err)
	}
	if r.Lat != nil || r.Address != "2100 Fake Rd" {
		t.Errorf("an unknown address: %v %q, want kept as written, unplaced", r.Lat, r.Address)
	}
}

// fakeGeocoder answers from its table and counts what it is asked.
type fakeGeocoder struct {
	mu    sync.Mutex
	known map[string]core.Located
	fail  bool
	asked []string
}

func (g *fakeGeocoder) Geocode(ctx context.Context, address string) (core.Located, bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.asked = append(g.asked, address)
	if g.fail {
		return core.Located{}, false, errors.New("503 from the geocoder")
	}
	loc, ok := g.known[address]
	return loc, ok, nil
}

// What the city's layers do not know is asked of the outside geocoder,
// once: its answer, and its not knowing, are kept; a failure is not, and
// leaves the report unplaced. What the layers know is never asked.
func TestOutsideGeocoder(t *testing.T) {
	t.Parallel()
	geo := &fakeGeocoder{known: map[string]core.Located{
		"1740 Acacia Ave": {Lat: 39.5200, Lng: -121.5450, Address: "1740 Acacia Avenue"},
	}}
	c := testenv.Core(t, func(o *core.Options) { o.Geocoder = geo; o.Workers = 0 })
	ctx := context.Background()
	if _, err := c.LoadPlaces(ctx, cities.OrovillePlacesName, cities.OrovillePlaces); err != nil {
		t.Fatal(err)
	}
	file := func(address string) core.Request {
		t.Helper()
		in := newPothole("")
		in.Lat, in.Lng, in.Address = nil, nil, address
		r, err := c.CreateRequest(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for range 2 {
		if r := file("1740 Acacia Ave"); r.Lat == nil || *r.Lat != 39.52 || r.Address != "1740 Acacia Avenue" {
			t.Errorf("placed by the geocoder: %v %q", r.Lat, r.Address)
		}
		if r := file("12 Nowhere Lane"); r.Lat != nil {
			t.Errorf("an address no one knows was placed at %v", *r.Lat)
		}
	}
	file("1735 Montgomery Street") // the city's own layers know it
	if want := []string{"1740 Acacia Ave", "12 Nowhere Lane"}; fmt.Sprint(geo.asked) != fmt.Sprint(want) {
		t.Errorf("the geocoder was asked %q, want %q once each", geo.asked, want)
	}
	geo.fail = true
	if r := file("99 Elsewhere Road"); r.Lat != nil {
		t.Error("placed by a failing geocoder")
	}
	geo.fail = false
	file("99 Elsewhere Road")
	if n := len(geo.asked); n != 4 {
		t.Errorf("after a failure the address was not asked again: %q", geo.asked)
	}
}
