package core

// Where a request is and which department gets it.

import (
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// Contains says whether p ({lng, lat}) is inside the city's boundary; true
// when the city has no boundary.
func (c *City) Contains(p orb.Point) bool {
	if c.Boundary == nil {
		return true
	}
	return cityAreaContains(c.Boundary, p)
}

// DistrictAt returns the first district, in file order, whose area
// contains p.
func (c *City) DistrictAt(p orb.Point) (District, bool) {
	for _, d := range c.Districts {
		if cityAreaContains(d.Area, p) {
			return d, true
		}
	}
	return District{}, false
}

// District finds a district by its code.
func (c *City) District(code string) (District, bool) {
	for _, d := range c.Districts {
		if d.Code == code {
			return d, true
		}
	}
	return District{}, false
}

// Route returns the department for a new request: the service's
// department, overridden by the first of its routes whose district contains
// at; "" when it cannot be routed (unknown service, empty department) so
// the request goes to triage.
func (c *City) Route(serviceCode string, at *orb.Point) string {
	svc, ok := c.Service(serviceCode)
	if !ok {
		return ""
	}
	dept := svc.Department
	if at != nil {
		for _, r := range svc.Routes {
			if c.inDistrict(r.District, *at) {
				dept = r.Department
				break
			}
		}
	}
	return dept
}

func (c *City) inDistrict(code string, p orb.Point) bool {
	for _, d := range c.Districts {
		if d.Code == code {
			return cityAreaContains(d.Area, p)
		}
	}
	return false
}

// cityAreaContains reports whether the polygon or multipolygon g contains
// p (points on an edge count as inside); false for any other geometry (a
// city file yields no other).
func cityAreaContains(g orb.Geometry, p orb.Point) bool {
	switch g := g.(type) {
	case orb.Polygon:
		return cityPolygonSound(g) && planar.PolygonContains(g, p)
	case orb.MultiPolygon:
		for _, poly := range g {
			if cityPolygonSound(poly) && planar.PolygonContains(poly, p) {
				return true
			}
		}
		return false
	}
	return false
}

// cityPolygonSound guards planar, which indexes rings without checking:
// LoadCity never makes empty rings, but a City can be built by hand.
func cityPolygonSound(p orb.Polygon) bool {
	if len(p) == 0 {
		return false
	}
	for _, r := range p {
		if len(r) == 0 {
			return false
		}
	}
	return true
}
