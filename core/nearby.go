package core

import (
	"context"
	"math"

	"townline/core/internal/db"
)

// NearbyRadius is how far apart two reports may be and still be offered
// to staff as the same issue.
const NearbyRadius = 250 // meters

// Nearby is an open request near another, and how far.
type Nearby struct {
	Request
	Meters int
}

// NearbyRequests returns the open requests u may see within NearbyRadius
// of r, of its service or another of its group, closest first: the
// reports staff may merge r with. A request without a place has none.
func (c *Core) NearbyRequests(ctx context.Context, u User, r Request) ([]Nearby, error) {
	svc, ok := c.city.Service(r.ServiceCode)
	if r.Lat == nil || r.Lng == nil || !ok {
		return nil, nil
	}
	services := []string{svc.Code}
	for _, s := range c.city.Services {
		if s.Group != "" && s.Group == svc.Group && s.Code != svc.Code {
			services = append(services, s.Code)
		}
	}
	const metersPerDegree = 111_320.0
	scale := math.Cos(*r.Lat * math.Pi / 180)
	dLat := NearbyRadius / metersPerDegree
	dLng := dLat / scale
	rows, err := c.q.NearbyOpenRequests(ctx, db.NearbyOpenRequestsParams{
		South: *r.Lat - dLat, North: *r.Lat + dLat, West: *r.Lng - dLng, East: *r.Lng + dLng,
		Services: services, ID: r.ID, Lat: *r.Lat, Lng: *r.Lng, LngScale: scale,
	})
	if err != nil {
		return nil, dbErr(err)
	}
	found, err := requestsFromDB(rows)
	if err != nil {
		return nil, err
	}
	var out []Nearby
	for _, n := range found {
		m := meters(*r.Lat, *r.Lng, *n.Lat, *n.Lng)
		if m <= NearbyRadius && u.CanSee(n) {
			out = append(out, Nearby{Request: n, Meters: int(math.Round(m))})
		}
	}
	return out, nil
}

// meters is the great-circle distance between two points.
func meters(lat1, lng1, lat2, lng2 float64) float64 {
	const earth = 6_371_000.0
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earth * math.Asin(math.Sqrt(a))
}
