package core

import (
	"testing"

	"github.com/paulmach/orb"
)

// Places in and around Oroville, {lng, lat}.
var (
	cityPtCityHall   = orb.Point{-121.5572, 39.5137} // 1735 Montgomery St, Historic Downtown
	cityPtSR70       = orb.Point{-121.5700, 39.5000} // on State Route 70, south of Oro Dam Blvd
	cityPtSR70North  = orb.Point{-121.5710, 39.5300} // SR-70 north of downtown
	cityPtSouthSide  = orb.Point{-121.5400, 39.4900} // south Oroville, no district
	cityPtSacramento = orb.Point{-121.4944, 38.5816}
	cityPtChico      = orb.Point{-121.8375, 39.7285}
)

func TestRouteOroville(t *testing.T) {
	c := cityOroville(t)
	pt := func(p orb.Point) *orb.Point { return &p }

	for _, s := range c.Services {
		for _, at := range []*orb.Point{nil, pt(cityPtCityHall), pt(cityPtSR70), pt(cityPtSouthSide)} {
			dept := c.Route(s.Code, at)
			if _, ok := c.Department(dept); !ok {
				t.Errorf("Route(%q, %v) = %q, not a department", s.Code, at, dept)
			}
		}
	}

	tests := []struct {
		service string
		at      *orb.Point
		want    string
	}{
		{"pothole", pt(cityPtSR70), "other"}, // Caltrans
		{"pothole", pt(cityPtSR70North), "other"},
		{"pothole", pt(cityPtCityHall), "public-works"},
		{"pothole", pt(cityPtSouthSide), "public-works"},
		{"pothole", nil, "public-works"},
		{"sign", pt(cityPtSR70), "other"},
		{"sign", pt(cityPtCityHall), "public-works"},
		{"animal-dead", pt(cityPtSR70), "other"},
		{"animal-dead", pt(cityPtCityHall), "animal-control"},
		{"streetlight", pt(cityPtSR70), "public-works"}, // no SR-70 route
		{"graffiti-private", pt(cityPtCityHall), "code-enforcement"},
		{"abandoned-vehicle", nil, "police"},
		{"homeless-camp", nil, "police"},
		{"animal-stray", nil, "animal-control"},
		{"tree", nil, "parks-trees"},
		{"park", nil, "parks-trees"},
		{"other", nil, "other"},
		{"no-such-service", pt(cityPtCityHall), ""},
		{"", nil, ""},
	}
	for _, tt := range tests {
		if got := c.Route(tt.service, tt.at); got != tt.want {
			t.Errorf("Route(%q, %v) = %q, want %q", tt.service, tt.at, got, tt.want)
		}
	}
}

func TestCityContainsAndDistricts(t *testing.T) {
	c := cityOroville(t)
	for _, p := range []orb.Point{cityPtCityHall, cityPtSR70, cityPtSR70North, cityPtSouthSide} {
		if !c.Contains(p) {
			t.Errorf("%v is outside Oroville", p)
		}
	}
	for _, p := range []orb.Point{cityPtSacramento, cityPtChico, {0, 0}, {39.5137, -121.5572}} {
		if c.Contains(p) {
			t.Errorf("%v is inside Oroville", p)
		}
	}
	// Every district lies within the city.
	for _, d := range c.Districts {
		for _, ring := range d.Area.(orb.Polygon) {
			for _, p := range ring {
				if !c.Contains(p) {
					t.Errorf("district %q: %v is outside the boundary", d.Code, p)
				}
			}
		}
	}

	districts := []struct {
		p    orb.Point
		want string
	}{
		{cityPtCityHall, "downtown"},
		{cityPtSR70, "sr70"},
		{cityPtSR70North, "sr70"},
		{cityPtSouthSide, ""},
		{cityPtSacramento, ""},
	}
	for _, tt := range districts {
		d, ok := c.DistrictAt(tt.p)
		if d.Code != tt.want || ok != (tt.want != "") {
			t.Errorf("DistrictAt(%v) = %q, %v; want %q", tt.p, d.Code, ok, tt.want)
		}
	}
}

func TestRouteMultiPolygonAndTriage(t *testing.T) {
	c, err := ReadCity("testdata/city/good_collection.json")
	if err != nil {
		t.Fatal(err)
	}
	in := []orb.Point{{0.5, 0.5}, {10.2, 1}, {0, 0}, {12, 2}}
	out := []orb.Point{{11, 1}, {5, 1}, {-0.5, 0.5}} // {11, 1} is in the hole
	for _, p := range in {
		if !c.Contains(p) {
			t.Errorf("%v is outside", p)
		}
	}
	for _, p := range out {
		if c.Contains(p) {
			t.Errorf("%v is inside", p)
		}
	}
	west := orb.Point{0.5, 0.5}
	east := orb.Point{10.2, 1}
	if got := c.Route("pothole", &west); got != "west-works" {
		t.Errorf("pothole in the west district routes to %q", got)
	}
	if got := c.Route("pothole", &east); got != "works" {
		t.Errorf("pothole in the east routes to %q", got)
	}
	if got := c.Route("triage", &west); got != "" {
		t.Errorf("a service with no department routes to %q, want triage", got)
	}
}

func TestCityWithoutBoundary(t *testing.T) {
	c := &City{
		Services:  []Service{{Code: "pothole", Department: "works", Routes: []Route{{District: "gone", Department: "x"}}}},
		Districts: []District{{Code: "empty", Area: orb.Polygon{}}, {Code: "hollow", Area: orb.MultiPolygon{{orb.Ring{}}}}},
	}
	p := orb.Point{1, 2}
	if !c.Contains(p) {
		t.Error("a city without a boundary does not contain a point")
	}
	if d, ok := c.DistrictAt(p); ok {
		t.Errorf("DistrictAt found %q in empty areas", d.Code)
	}
	if got := c.Route("pothole", &p); got != "works" {
		t.Errorf("Route = %q, want works", got)
	}
}
