package core

import (
	"math"
	"slices"
	"testing"
)

// meters is the great-circle distance: checked against the spherical law
// of cosines, another formula for the same sphere.
func TestMeters(t *testing.T) {
	const earth = 6_371_000.0
	cosines := func(lat1, lng1, lat2, lng2 float64) float64 {
		r := math.Pi / 180
		return earth * math.Acos(math.Sin(lat1*r)*math.Sin(lat2*r)+math.Cos(lat1*r)*math.Cos(lat2*r)*math.Cos((lng2-lng1)*r))
	}
	for _, p := range [][4]float64{
		{0, 0, 1, 0},                       // a degree north on the equator
		{0, 0, 0, 1},                       // a degree east on it
		{60, 10, 60, 11},                   // a degree east, farther north: half as far
		{39.5138, -121.5564, 39.6, -121.7}, // across Oroville, north-west
		{39.6, -121.7, 39.5138, -121.5564}, // and back
		{-33.9, 18.4, -34.0, 18.6},         // the southern hemisphere
	} {
		got, want := meters(p[0], p[1], p[2], p[3]), cosines(p[0], p[1], p[2], p[3])
		if math.Abs(got-want) > 0.01 {
			t.Errorf("meters%v = %.3f, want %.3f", p, got, want)
		}
	}
	if d := meters(39.5138, -121.5564, 39.5138, -121.5564); d != 0 {
		t.Errorf("a point to itself: %v m", d)
	}
}

// boxAround holds every point within the distance: its half-height is
// the distance in degrees of latitude, its half-width that much longitude
// at the point's latitude.
func TestBoxAround(t *testing.T) {
	lat, lng := 39.5138, -121.5564
	b := boxAround(lat, lng, 150)
	dLat := 150 / 111_320.0
	scale := math.Cos(lat * math.Pi / 180)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"south", b.south, lat - dLat}, {"north", b.north, lat + dLat},
		{"west", b.west, lng - dLat/scale}, {"east", b.east, lng + dLat/scale},
		{"scale", b.lngScale, scale},
	} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s: %.9f, want %.9f", c.name, c.got, c.want)
		}
	}
	// 149 m in each direction is inside.
	for _, p := range [][2]float64{
		{lat + 149/111_320.0, lng}, {lat - 149/111_320.0, lng},
		{lat, lng + 149/111_320.0/scale}, {lat, lng - 149/111_320.0/scale},
	} {
		if p[0] < b.south || p[0] > b.north || p[1] < b.west || p[1] > b.east {
			t.Errorf("%v, %.0f m away, is outside the box", p, meters(lat, lng, p[0], p[1]))
		}
	}
}

// A service's relatives are itself, then the other services of its
// group; a service of no group has none.
func TestRelated(t *testing.T) {
	c, err := ReadCity("")
	if err != nil {
		t.Fatal(err)
	}
	pothole, _ := c.Service("pothole")
	got := c.related("pothole")
	if got[0] != "pothole" || len(got) < 2 {
		t.Fatalf("related(pothole) = %v, want it and the rest of its group", got)
	}
	for _, s := range c.Services {
		in := slices.Contains(got, s.Code)
		if want := s.Group == pothole.Group; in != want {
			t.Errorf("related(pothole) has %s (group %q): %v, want %v", s.Code, s.Group, in, want)
		}
	}
	if n := len(got) - len(slices.Compact(slices.Clone(got))); n != 0 {
		t.Errorf("related(pothole) = %v: the same service twice", got)
	}
	alone := &City{Services: []Service{{Code: "a"}, {Code: "b"}, {Code: "c", Group: "G"}}}
	if got := alone.related("a"); !slices.Equal(got, []string{"a"}) {
		t.Errorf("related of a service of no group = %v, want itself alone", got)
	}
}
