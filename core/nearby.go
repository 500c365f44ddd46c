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
	found, err := nearbyOpen(ctx, c.q, c.city.related(svc.Code), r.ID, *r.Lat, *r.Lng, NearbyRadius)
	if err != nil {
		return nil, err
	}
	var out []Nearby
	for _, n := range found {
		if u.CanSee(n.Request) {
			out = append(out, n)
		}
	}
	return out, nil
}

// nearbyOpen returns the open requests of services within radius meters
// of a place, closest first, that are not duplicates, but for request
// except (0: none).
func nearbyOpen(ctx context.Context, q *db.Queries, services []string, except int64, lat, lng, radius float64) ([]Nearby, error) {
	b := boxAround(lat, lng, radius)
	rows, err := q.NearbyOpenRequests(ctx, db.NearbyOpenRequestsParams{
		South: b.south, North: b.north, West: b.west, East: b.east,
		Services: services, ID: except, Lat: lat, Lng: lng, LngScale: b.lngScale,
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
		// "<" for "<=" survives: no two places are exactly the radius apart.
		if m := meters(lat, lng, *n.Lat, *n.Lng); m <= radius {
			out = append(out, Nearby{Request: n, Meters: int(math.Round(m))})
		}
	}
	return out, nil
}

// related are a service and the others of its group: what a report of
// it may repeat.
func (c *City) related(code string) []string {
	svc, _ := c.Service(code)
	services := []string{code}
	for _, s := range c.Services {
		if s.Group != "" && s.Group == svc.Group && s.Code != code {
			services = append(services, s.Code)
		}
	}
	return services
}

// box is the box around a point that holds every point within some
// meters of it.
type box struct {
	south, north, west, east float64
	lngScale                 float64 // a degree of longitude in degrees of latitude, there
}

func boxAround(lat, lng, m float64) box {
	const metersPerDegree = 111_320.0
	scale := math.Cos(lat * math.Pi / 180)
	dLat := m / metersPerDegree
	dLng := dLat / scale
	return box{south: lat - dLat, north: lat + dLat, west: lng - dLng, east: lng + dLng, lngScale: scale}
}

// meters is the great-circle distance between two points.
func meters(lat1, lng1, lat2, lng2 float64) float64 {
	const earth = 6_371_000.0
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earth * math.Asin(math.Sqrt(a))
}
