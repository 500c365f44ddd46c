package core_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"townline/core"
	"townline/internal/testenv"
)

// layer is a GeoJSON FeatureCollection of the features given.
func layer(features ...string) []byte {
	return []byte(`{"type":"FeatureCollection","features":[` + strings.Join(features, ",\n") + `]}`)
}

// centerline is a street centerline feature: props are its properties'
// JSON ("name":…,"from":…), coords its [lon,lat] points' JSON.
func centerline(props, coords string) string {
	return `{"type":"Feature","properties":{` + props + `},"geometry":{"type":"LineString","coordinates":[` + coords + `]}}`
}

// addressPoint is an address point feature.
func addressPoint(number, street string, lng, lat float64) string {
	return fmt.Sprintf(`{"type":"Feature","properties":{"number":%q,"street":%q},"geometry":{"type":"Point","coordinates":[%v,%v]}}`,
		number, street, lng, lat)
}

// loadedCore is a core with only data loaded as its places.
func loadedCore(t *testing.T, data []byte) *core.Core {
	t.Helper()
	c := testenv.Core(t)
	if _, err := c.LoadPlaces(context.Background(), "test.geojson", data); err != nil {
		t.Fatal(err)
	}
	return c
}

// placedAt checks that address is placed within meters of lat, lng and
// named want. (A position that is not a number is never within.)
func placedAt(t *testing.T, c *core.Core, address, want string, lat, lng, within float64) {
	t.Helper()
	loc, ok, err := c.Geocode(context.Background(), address)
	if err != nil || !ok {
		t.Errorf("Geocode(%q) = %+v, %v, %v; want %q placed", address, loc, ok, err, want)
		return
	}
	if loc.Address != want {
		t.Errorf("Geocode(%q) names %q, want %q", address, loc.Address, want)
	}
	if d := distance(loc.Lat, loc.Lng, lat, lng); !(d <= within) {
		t.Errorf("Geocode(%q) = %v, %v: %.1f m from %v, %v", address, loc.Lat, loc.Lng, d, lat, lng)
	}
}

// unplaced checks that address is not placed.
func unplaced(t *testing.T, c *core.Core, address string) {
	t.Helper()
	if loc, ok, err := c.Geocode(context.Background(), address); ok || err != nil {
		t.Errorf("Geocode(%q) = %+v, %v, %v; want unknown", address, loc, ok, err)
	}
}

// A number without a point is placed along the centerline whose range
// holds it, in proportion: its ends included, a range written against the
// line's direction, a range of one number, a line that repeats a point.
func TestPlacesInterpolation(t *testing.T) {
	t.Parallel()
	c := loadedCore(t, layer(
		// A diagonal block: latitude and longitude both change along it.
		centerline(`"name":"Birch Street","from":100,"to":200`, `[-121.54,39.52],[-121.53,39.53]`),
		// Numbered from its end back to its start.
		centerline(`"name":"Cedar Street","from":200,"to":100`, `[-121.54,39.54],[-121.53,39.54]`),
		// A lane of one number.
		centerline(`"name":"Dogwood Lane","from":7,"to":7`, `[-121.54,39.55],[-121.53,39.55]`),
		// Its first point written twice, as layers often do.
		centerline(`"name":"Elm Street","from":1,"to":99`, `[-121.54,39.56],[-121.54,39.56],[-121.53,39.56]`),
		// A bent street whose length adds up, in floating point, to a
		// hair more than its pieces' when walked to its end.
		centerline(`"name":"Fir Street","from":1,"to":99`, `[-121.54,39.58],[-121.5387,39.5839],[-121.5358,39.5863]`),
	))
	for _, tc := range []struct {
		address, want string
		lat, lng      float64
	}{
		{"150 Birch Street", "150 Birch Street", 39.525, -121.535},
		{"125 Birch Street", "125 Birch Street", 39.5225, -121.5375},
		{"100 Birch Street", "100 Birch Street", 39.52, -121.54}, // the range's ends are on it
		{"200 Birch Street", "200 Birch Street", 39.53, -121.53},
		{"175 Cedar Street", "175 Cedar Street", 39.54, -121.5375}, // a quarter of the way from 200
		{"7 Dogwood Lane", "7 Dogwood Lane", 39.55, -121.535},      // the middle
		{"1 Elm Street", "1 Elm Street", 39.56, -121.54},
		{"50 Elm Street", "50 Elm Street", 39.56, -121.535},
		{"99 Fir Street", "99 Fir Street", 39.5863, -121.5358},
	} {
		placedAt(t, c, tc.address, tc.want, tc.lat, tc.lng, 1)
	}
	unplaced(t, c, "201 Birch Street") // past the range
	unplaced(t, c, "99 Birch Street")
	unplaced(t, c, "8 Dogwood Lane")
}

// Two streets meet where their centerlines cross, wherever along a block
// that is, and where one ends on the other; a T that stops short is placed
// between the two ends when they are close, and not at all when they are
// not.
func TestPlacesIntersections(t *testing.T) {
	t.Parallel()
	c := loadedCore(t, layer(
		// Two diagonals crossing in the middle of their blocks.
		centerline(`"name":"Grove Street"`, `[-121.54,39.52],[-121.52,39.53]`),
		centerline(`"name":"Hazel Street"`, `[-121.545,39.53],[-121.52,39.515]`),
		// Juniper stops 24 m short of Ivy, Kale 56 m.
		centerline(`"name":"Ivy Street"`, `[-121.54,39.50],[-121.535,39.50],[-121.53,39.50]`),
		centerline(`"name":"Juniper Street"`, `[-121.5349,39.51],[-121.5349,39.5002]`),
		centerline(`"name":"Kale Street"`, `[-121.5351,39.49],[-121.5351,39.4995]`),
		// Maple ends on Laurel, Nutmeg starts on it, both kilometers from
		// any point of Laurel's.
		centerline(`"name":"Laurel Street"`, `[-121.56,39.54],[-121.52,39.54]`),
		centerline(`"name":"Maple Street"`, `[-121.54,39.55],[-121.54,39.54]`),
		centerline(`"name":"Nutmeg Street"`, `[-121.53,39.54],[-121.53,39.53]`),
	))
	for _, tc := range []struct {
		address, want string
		lat, lng      float64
	}{
		{"Grove Street & Hazel Street", "Grove Street & Hazel Street", 39.52 + 0.01*3.5/11, -121.54 + 0.02*3.5/11},
		{"Hazel & Grove", "Hazel Street & Grove Street", 39.52 + 0.01*3.5/11, -121.54 + 0.02*3.5/11},
		{"Ivy Street & Juniper Street", "Ivy Street & Juniper Street", 39.5001, -121.53495},
		{"Juniper Street & Ivy Street", "Juniper Street & Ivy Street", 39.5001, -121.53495},
		{"Maple Street & Laurel Street", "Maple Street & Laurel Street", 39.54, -121.54},
		{"Laurel Street & Maple Street", "Laurel Street & Maple Street", 39.54, -121.54},
		{"Nutmeg Street & Laurel Street", "Nutmeg Street & Laurel Street", 39.54, -121.53},
		{"Laurel Street & Nutmeg Street", "Laurel Street & Nutmeg Street", 39.54, -121.53},
	} {
		placedAt(t, c, tc.address, tc.want, tc.lat, tc.lng, 1)
	}
	unplaced(t, c, "Ivy Street & Kale Street")
	unplaced(t, c, "Kale Street & Ivy Street")
	unplaced(t, c, "Maple Street & Nutmeg Street") // parallel, a kilometer apart
	unplaced(t, c, "Ivy Street & Ivy St")          // a street does not meet itself
}

// Streets are matched however their suffix is written, in a layer or by a
// resident, even before a direction; a name that is a suffix word alone
// ("Parkway", "Boulevard East") is a name, not a suffix.
func TestPlacesStreetNames(t *testing.T) {
	t.Parallel()
	c := loadedCore(t, layer(
		// The centerline and the address points write the suffix differently.
		centerline(`"name":"Quail Boulevard East","from":100,"to":200`, `[-121.54,39.57],[-121.53,39.57]`),
		addressPoint("150", "Quail Blvd East", -121.5352, 39.5703),
		addressPoint("100", "Parkway", -121.51, 39.51),
		addressPoint("100", "Boulevard East", -121.50, 39.50),
	))
	for _, tc := range []struct {
		address, want string
		lat, lng      float64
	}{
		// At the address point, not interpolated (35 m away).
		{"150 Quail Boulevard East", "150 Quail Blvd East", 39.5703, -121.5352},
		{"150 quail blvd e", "150 Quail Blvd East", 39.5703, -121.5352},
		{"120 Quail Blvd East", "120 Quail Blvd East", 39.57, -121.538},
		{"100 Parkway", "100 Parkway", 39.51, -121.51},
		{"100 Park Way", "100 Parkway", 39.51, -121.51},
		{"100 Boulevard East", "100 Boulevard East", 39.50, -121.50},
		{"100 Boulevard E", "100 Boulevard East", 39.50, -121.50},
	} {
		placedAt(t, c, tc.address, tc.want, tc.lat, tc.lng, 1)
	}
	unplaced(t, c, "- & Parkway") // no street in "-"
}

// A file is refused with the line or feature that is wrong, and nothing is
// loaded; CSV columns may come in any order, and positions run to the
// edges of the globe but not to 0, 0.
func TestPlacesLoadEdges(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t)
	ctx := context.Background()
	for _, tc := range []struct{ data, want string }{
		{"", `neither GeoJSON nor a CSV with a header`},
		{string(layer(`{"type":"Feature","properties":{"number":0,"street":"Alder Street"},"geometry":{"type":"Point","coordinates":[-121.56,39.51]}}`)),
			`feature 1: an address point needs a house number and a street (has "0", "Alder Street")`},
		{string(layer(addressPoint("12", "Alder Street", -121.56, 39.51), addressPoint("14", "Alder Street", 0, 0))),
			`feature 2: a Point's coordinates are not a longitude, latitude pair: [0,0]`},
		{string(layer(centerline(`"name":"Alder Street"`, `[-121.56,39.51],[0,0]`))),
			`feature 1: Alder Street: [0 0] is not a longitude, latitude pair`},
		{"NUMBER,STREET,LAT,LON\n0,Alder Street,39.51,-121.56\n", `line 2: needs a house number and a street (has "0", "Alder Street")`},
		{"LON,LAT,NUMBER,STREET\n-121.55,39.52,400\n", `line 2: needs a house number and a street (has "400", "")`},
		{"LON,LAT,NUMBER,STREET\n-121.55,39.52,400,Acacia Avenue\n0,0,402,Acacia Avenue\n", `line 3: "0", "0" is not a latitude and a longitude`},
	} {
		_, err := c.LoadPlaces(ctx, "bad", []byte(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadPlaces(%.60q) = %v, want %q", tc.data, err, tc.want)
		}
	}
	if unknown, ok, err := c.Geocode(ctx, "12 Alder Street"); ok || err != nil {
		t.Errorf("a refused file placed %+v, %v", unknown, err)
	}
	// Columns in any order.
	for i, csv := range []string{
		"STREET,NUMBER,LAT,LON\nAcacia Avenue,400,39.52,-121.55\n",
		"LAT,LON,NUMBER,STREET\n39.52,-121.55,400,Acacia Avenue\n",
		"NUMBER,LON,STREET,LAT\n400,-121.55,Acacia Avenue,39.52\n",
	} {
		n, err := c.LoadPlaces(ctx, fmt.Sprintf("columns-%d.csv", i), []byte(csv))
		if err != nil || n.Addresses != 1 || n.AllAddresses != int64(i+1) {
			t.Errorf("CSV %q: %+v, %v", csv, n, err)
		}
	}
	placedAt(t, c, "400 Acacia Avenue", "400 Acacia Avenue", 39.52, -121.55, 0)
	// The corners of the map are positions.
	n, err := c.LoadPlaces(ctx, "corners.geojson", layer(
		addressPoint("1", "South Pole Road", -180, -90), addressPoint("1", "North Pole Road", 180, 90)))
	if err != nil || n.Addresses != 2 {
		t.Errorf("points at -180, -90 and 180, 90: %+v, %v", n, err)
	}
}
