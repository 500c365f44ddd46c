package core

// The offline geocoder. A city loads its own GIS layers (address points
// and street centerlines with house-number ranges) with `townline places
// load`; they place what residents write ("1735 montgomry st",
// "Montgomery Street & 5th Avenue") and name the address nearest a
// photo's position. Nothing leaves the city's database.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"townline/core/internal/db"
)

// PlacesLoaded counts what one file loaded, and what all files loaded.
// Unchanged says the file was loaded before as it is: nothing was done.
type PlacesLoaded struct {
	Addresses, Segments, AllAddresses, AllSegments int64
	Unchanged                                      bool
}

// LoadPlaces replaces what was loaded before from source with the places
// in data, in one transaction: nothing changes when any feature is bad,
// and the error names it. data is either
//   - a GeoJSON FeatureCollection: Point features with a house number
//     ("number", or OpenStreetMap's "addr:housenumber") and a street
//     ("street", "addr:street"), and LineString or MultiLineString
//     centerlines with a name ("name", "street", TIGER's "FULLNAME") and
//     optionally their house numbers ("from" and "to", or TIGER's
//     "LFROMADD", "LTOADD", "RFROMADD", "RTOADD"); other features are
//     left out;
//   - or a CSV of address points with a header naming number, street, lat
//     and lon (OpenAddresses' columns: LON, LAT, NUMBER, STREET, …).
func (c *Core) LoadPlaces(ctx context.Context, source string, data []byte) (PlacesLoaded, error) {
	// A file loaded again as it was changes nothing (serve loads the
	// bundled sample at every start): its digest says so.
	key, digest := "places:"+source, fmt.Sprintf("%x", sha256.Sum256(data))
	if was, err := c.q.ChannelState(ctx, key); err == nil && was == digest {
		all, err := c.q.CountPlaces(ctx)
		return PlacesLoaded{AllAddresses: all.Addresses, AllSegments: all.Segments, Unchanged: true}, dbErr(err)
	} else if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return PlacesLoaded{}, dbErr(err)
	}
	var addrs []db.InsertPlaceAddressesParams
	var segs []db.InsertPlaceSegmentsParams
	var err error
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		addrs, segs, err = placesFromGeoJSON(source, data)
	} else {
		addrs, err = placesFromCSV(source, data)
	}
	if err != nil {
		return PlacesLoaded{}, err
	}
	if len(addrs) == 0 && len(segs) == 0 {
		return PlacesLoaded{}, errors.New("places: the file holds no address point and no street centerline")
	}
	n := PlacesLoaded{Addresses: int64(len(addrs)), Segments: int64(len(segs))}
	err = c.tx(ctx, func(t *txn) error {
		if err := t.q.LockPlaces(ctx); err != nil {
			return err
		}
		if err := t.q.DeletePlaceAddresses(ctx, source); err != nil {
			return err
		}
		if err := t.q.DeletePlaceSegments(ctx, source); err != nil {
			return err
		}
		if _, err := t.q.InsertPlaceAddresses(ctx, addrs); err != nil {
			return err
		}
		if _, err := t.q.InsertPlaceSegments(ctx, segs); err != nil {
			return err
		}
		if err := t.q.ClearPlaceStreets(ctx); err != nil {
			return err
		}
		if err := t.q.FillPlaceStreets(ctx); err != nil {
			return err
		}
		all, err := t.q.CountPlaces(ctx)
		if err != nil {
			return err
		}
		n.AllAddresses, n.AllSegments = all.Addresses, all.Segments
		return t.q.SetChannelState(ctx, db.SetChannelStateParams{Key: key, Value: digest})
	})
	if err != nil {
		return PlacesLoaded{}, err
	}
	c.log.Info("places loaded", "source", source, "addresses", n.Addresses, "segments", n.Segments)
	return n, nil
}

// prop returns the first of names present in props (case aside), as text.
func prop(props map[string]any, names ...string) string {
	for k, v := range props {
		for _, n := range names {
			if strings.EqualFold(k, n) && v != nil {
				switch v := v.(type) {
				case string:
					return strings.TrimSpace(v)
				case float64:
					return strconv.FormatFloat(v, 'f', -1, 64)
				}
			}
		}
	}
	return ""
}

// houseNumber reads a house number: "1735", "1735A", "1735.0".
func houseNumber(s string) (int32, bool) {
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.ParseInt(s[:end], 10, 32)
	return int32(n), err == nil && n > 0
}

// placesJSON is a GeoJSON FeatureCollection, as far as places need it.
type placesJSON struct {
	Type     string `json:"type"`
	Features []struct {
		Properties map[string]any `json:"properties"`
		Geometry   *struct {
			Type        string          `json:"type"`
			Coordinates json.RawMessage `json:"coordinates"`
		} `json:"geometry"`
	} `json:"features"`
}

func placesFromGeoJSON(source string, data []byte) ([]db.InsertPlaceAddressesParams, []db.InsertPlaceSegmentsParams, error) {
	var fc placesJSON
	if err := json.Unmarshal(data, &fc); err != nil || fc.Type != "FeatureCollection" {
		return nil, nil, errors.Join(errors.New("places: not a GeoJSON FeatureCollection"), err)
	}
	var addrs []db.InsertPlaceAddressesParams
	var segs []db.InsertPlaceSegmentsParams
	for i, f := range fc.Features {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("places: feature %d: %s", i+1, fmt.Sprintf(format, args...))
		}
		if f.Geometry == nil {
			continue
		}
		var lines []orb.LineString
		switch f.Geometry.Type {
		case "Point":
			var p orb.Point
			if err := json.Unmarshal(f.Geometry.Coordinates, &p); err != nil || !validPosition(p.Lat(), p.Lon()) {
				return nil, nil, bad("a Point's coordinates are not a longitude, latitude pair: %s", f.Geometry.Coordinates)
			}
			num := prop(f.Properties, "number", "addr:housenumber", "house_number")
			street := prop(f.Properties, "street", "addr:street")
			n, ok := houseNumber(num)
			if !ok || street == "" {
				return nil, nil, bad("an address point needs a house number and a street (has %q, %q)", num, street)
			}
			addrs = append(addrs, db.InsertPlaceAddressesParams{Source: source, Number: n, Street: street,
				StreetKey: streetKey(street), Lat: p.Lat(), Lng: p.Lon()})
			continue
		case "LineString":
			var l orb.LineString
			if err := json.Unmarshal(f.Geometry.Coordinates, &l); err != nil {
				return nil, nil, bad("a LineString's coordinates are not a list of points: %v", err)
			}
			lines = []orb.LineString{l}
		case "MultiLineString":
			if err := json.Unmarshal(f.Geometry.Coordinates, &lines); err != nil {
				return nil, nil, bad("a MultiLineString's coordinates are not lists of points: %v", err)
			}
		default:
			continue // parks, boundaries: not places to geocode
		}
		name := prop(f.Properties, "name", "street", "fullname")
		if name == "" {
			return nil, nil, bad("a street centerline needs a name")
		}
		from, to := numberRange(f.Properties)
		for _, l := range lines {
			if len(l) < 2 {
				return nil, nil, bad("%s: a line needs two points", name)
			}
			for _, p := range l {
				if !validPosition(p.Lat(), p.Lon()) {
					return nil, nil, bad("%s: %v is not a longitude, latitude pair", name, [2]float64(p))
				}
			}
			raw, err := json.Marshal(l)
			if err != nil {
				return nil, nil, bad("%v", err)
			}
			segs = append(segs, db.InsertPlaceSegmentsParams{Source: source, Street: name, StreetKey: streetKey(name),
				FromNumber: from, ToNumber: to, Line: raw})
		}
	}
	return addrs, segs, nil
}

// numberRange reads a centerline's house numbers, low to high, from
// "from"/"to" or TIGER's left and right ranges; nil when it has none.
func numberRange(props map[string]any) (from, to *int32) {
	var nums []int32
	for _, name := range []string{"from", "to", "lfromadd", "ltoadd", "rfromadd", "rtoadd"} {
		if n, ok := houseNumber(prop(props, name)); ok {
			nums = append(nums, n)
		}
	}
	if len(nums) < 2 {
		return nil, nil
	}
	lo, hi := nums[0], nums[0]
	for _, n := range nums {
		lo, hi = min(lo, n), max(hi, n)
	}
	// A range that runs against the line's direction ("from" above "to")
	// is read from the line's start all the same.
	if f, _ := houseNumber(prop(props, "from", "lfromadd", "rfromadd")); f == hi && hi != lo {
		return &hi, &lo
	}
	return &lo, &hi
}

func placesFromCSV(source string, data []byte) ([]db.InsertPlaceAddressesParams, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("places: neither GeoJSON nor a CSV with a header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	pick := func(names ...string) int {
		for _, n := range names {
			if i, ok := col[n]; ok {
				return i
			}
		}
		return -1
	}
	num, street, lat, lon := pick("number", "house_number"), pick("street"), pick("lat", "latitude", "y"), pick("lon", "lng", "long", "longitude", "x")
	if num < 0 || street < 0 || lat < 0 || lon < 0 {
		return nil, fmt.Errorf("places: the CSV header needs number, street, lat and lon columns; it has %s", strings.Join(head, ", "))
	}
	var addrs []db.InsertPlaceAddressesParams
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return addrs, nil
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("places: %w", err)
		}
		field := func(i int) string {
			if i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		n, ok := houseNumber(field(num))
		y, errLat := strconv.ParseFloat(field(lat), 64)
		x, errLon := strconv.ParseFloat(field(lon), 64)
		switch {
		case !ok || field(street) == "":
			return nil, fmt.Errorf("places: line %d: needs a house number and a street (has %q, %q)", line, field(num), field(street))
		case errLat != nil || errLon != nil || !validPosition(y, x):
			return nil, fmt.Errorf("places: line %d: %q, %q is not a latitude and a longitude", line, field(lat), field(lon))
		}
		addrs = append(addrs, db.InsertPlaceAddressesParams{Source: source, Number: n, Street: field(street),
			StreetKey: streetKey(field(street)), Lat: y, Lng: x})
	}
}

func validPosition(lat, lng float64) bool {
	return lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180 && !(lat == 0 && lng == 0)
}

// streetKey is how streets are matched: folded, ordinals as numbers, the
// suffix abbreviated ("5th Avenue", "fifth ave." → "5th ave").
func streetKey(name string) string {
	words := strings.Fields(fold(name))
	for i, w := range words {
		if o, ok := ordinals[w]; ok {
			words[i] = o
		}
	}
	if n := len(words); n > 1 {
		i := n - 1
		if directions[words[i]] && n > 2 {
			i--
		}
		if abbr, ok := streetSuffixes[words[i]]; ok {
			words[i] = abbr
		}
	}
	return strings.Join(words, " ")
}

// Located is where an address is, and the address as the city's layers
// (or its landmarks) write it.
type Located struct {
	Lat, Lng float64
	Address  string
}

var (
	numberedRE     = regexp.MustCompile(`^\s*(\d{1,6})[a-zA-Z]?\s+([^,]+)`)
	intersectionRE = regexp.MustCompile(`(?i)^\s*([^,&@/]+?)\s*(?:&|@|/|\band\b|\bat\b|\by\b|\bcon\b)\s*([^,]+)`)
)

// intersectionReach is how far apart two streets' nearest points may be
// and still be taken as their intersection.
const intersectionReach = 40 // meters

// Geocode places an address ("1735 montgomry st", "1735 Montgomery
// Street, Oroville"), an intersection ("Montgomery Street & 5th Avenue")
// or a landmark of the city file ("the post office"). ok is false when
// neither the loaded places nor the landmarks know it.
func (c *Core) Geocode(ctx context.Context, address string) (loc Located, ok bool, err error) {
	return c.geocode(ctx, c.q, address)
}

// geocode is Geocode on q (a transaction's, inside one).
func (c *Core) geocode(ctx context.Context, q *db.Queries, address string) (loc Located, ok bool, err error) {
	if lm, ok := c.city.landmarkIn(address); ok {
		return Located{Lat: lm.Lat, Lng: lm.Lng, Address: lm.label()}, true, nil
	}
	if m := numberedRE.FindStringSubmatch(address); m != nil {
		n, _ := houseNumber(m[1])
		loc, ok, err = geocodeNumber(ctx, q, n, m[2])
	} else if m := intersectionRE.FindStringSubmatch(address); m != nil {
		loc, ok, err = geocodeIntersection(ctx, q, m[1], m[2])
	} else {
		return Located{}, false, nil // a street, a word: nothing to ask anyone
	}
	if ok || err != nil || c.opts.Geocoder == nil {
		return loc, ok, err
	}
	return c.geocodeOutside(ctx, q, address)
}

// Geocoder places an address the city's own layers do not know: an outside
// service (GEOCODER_URL). ok is false when it does not know it either.
type Geocoder interface {
	Geocode(ctx context.Context, address string) (loc Located, ok bool, err error)
}

// Asking the outside geocoder: how long a filing waits for it, and how
// long its answer (or its not knowing) is kept.
const (
	geocoderWait  = 2 * time.Second
	geocoderCache = 30 * 24 * time.Hour
)

// geocodeOutside asks the outside geocoder, once a month at most for an
// address. A geocoder that fails or is slow leaves the address unplaced,
// and is asked again next time.
func (c *Core) geocodeOutside(ctx context.Context, q *db.Queries, address string) (Located, bool, error) {
	key := fold(address)
	hit, err := q.CachedGeocode(ctx, db.CachedGeocodeParams{Query: key, Within: geocoderCache})
	if err == nil {
		return Located{Lat: hit.Lat, Lng: hit.Lng, Address: hit.Address}, hit.Found, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Located{}, false, dbErr(err)
	}
	ask, cancel := context.WithTimeout(ctx, geocoderWait)
	defer cancel()
	loc, ok, err := c.opts.Geocoder.Geocode(ask, address)
	c.metrics.geocoder.WithLabelValues(geocoderOutcome(ok, err)).Inc()
	if err != nil {
		c.log.Warn("the geocoder failed; the report is filed unplaced", "address", address, "err", err)
		return Located{}, false, nil
	}
	if err := q.CacheGeocode(ctx, db.CacheGeocodeParams{Query: key, Found: ok, Lat: loc.Lat, Lng: loc.Lng, Address: loc.Address}); err != nil {
		return Located{}, false, dbErr(err)
	}
	return loc, ok, nil
}

func geocoderOutcome(ok bool, err error) string {
	switch {
	case err != nil:
		return "failed"
	case ok:
		return "found"
	}
	return "unknown"
}

// street finds the loaded street a resident's spelling means.
func street(ctx context.Context, q *db.Queries, spelled string) (db.PlaceStreet, bool, error) {
	key := streetKey(spelled)
	if key == "" {
		return db.PlaceStreet{}, false, nil
	}
	s, err := q.PlaceStreet(ctx, key)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, false, nil
	}
	return s, err == nil, dbErr(err)
}

// geocodeNumber places a house number on a street: its address point, or
// failing that, interpolated along the centerline whose range holds it.
func geocodeNumber(ctx context.Context, q *db.Queries, n int32, spelled string) (Located, bool, error) {
	s, ok, err := street(ctx, q, spelled)
	if !ok {
		return Located{}, false, err
	}
	label := fmt.Sprintf("%d %s", n, s.Street)
	p, err := q.PlaceAddress(ctx, db.PlaceAddressParams{StreetKey: s.StreetKey, Number: n})
	if err == nil {
		return Located{Lat: p.Lat, Lng: p.Lng, Address: label}, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Located{}, false, dbErr(err)
	}
	segs, err := q.PlaceSegments(ctx, s.StreetKey)
	if err != nil {
		return Located{}, false, dbErr(err)
	}
	for _, sg := range segs {
		if sg.FromNumber == nil || sg.ToNumber == nil {
			continue
		}
		lo, hi := min(*sg.FromNumber, *sg.ToNumber), max(*sg.FromNumber, *sg.ToNumber)
		if n < lo || n > hi {
			continue
		}
		var line orb.LineString
		if err := json.Unmarshal(sg.Line, &line); err != nil {
			return Located{}, false, err
		}
		frac := 0.5
		if hi > lo {
			frac = float64(n-*sg.FromNumber) / float64(*sg.ToNumber-*sg.FromNumber)
		}
		p := along(line, frac)
		return Located{Lat: p.Lat(), Lng: p.Lon(), Address: label}, true, nil
	}
	return Located{}, false, nil
}

// along is the point a fraction of the way along a line.
func along(l orb.LineString, frac float64) orb.Point {
	total := 0.0
	for i := 1; i < len(l); i++ {
		total += meters(l[i-1].Lat(), l[i-1].Lon(), l[i].Lat(), l[i].Lon())
	}
	want := frac * total
	for i := 1; i < len(l); i++ {
		d := meters(l[i-1].Lat(), l[i-1].Lon(), l[i].Lat(), l[i].Lon())
		if want <= d && d > 0 { // < the same: want == d lands on l[i], where the next piece with a length starts (or the last point)
			f := want / d
			return orb.Point{l[i-1].Lon() + f*(l[i].Lon()-l[i-1].Lon()), l[i-1].Lat() + f*(l[i].Lat()-l[i-1].Lat())}
		}
		want -= d
	}
	return l[len(l)-1]
}

// geocodeIntersection places where two streets meet: the nearest pair of
// their centerlines' points, when they come within intersectionReach.
func geocodeIntersection(ctx context.Context, q *db.Queries, a, b string) (Located, bool, error) {
	var streets [2]db.PlaceStreet
	var lines [2][]orb.LineString
	for i, spelled := range []string{a, b} {
		s, ok, err := street(ctx, q, spelled)
		if !ok {
			return Located{}, false, err
		}
		segs, err := q.PlaceSegments(ctx, s.StreetKey)
		if err != nil {
			return Located{}, false, dbErr(err)
		}
		for _, sg := range segs {
			var l orb.LineString
			if err := json.Unmarshal(sg.Line, &l); err != nil {
				return Located{}, false, err
			}
			lines[i] = append(lines[i], l)
		}
		streets[i] = s
	}
	if streets[0].StreetKey == streets[1].StreetKey {
		return Located{}, false, nil
	}
	// Where their centerlines cross; failing that (a T that stops short),
	// their nearest points.
	for _, la := range lines[0] {
		for _, lb := range lines[1] {
			if p, ok := crossing(la, lb); ok {
				return Located{Lat: p.Lat(), Lng: p.Lon(), Address: streets[0].Street + " & " + streets[1].Street}, true, nil
			}
		}
	}
	best, at := math.Inf(1), orb.Point{}
	for _, la := range lines[0] {
		for _, pa := range la {
			for _, lb := range lines[1] {
				for _, pb := range lb {
					if d := meters(pa.Lat(), pa.Lon(), pb.Lat(), pb.Lon()); d < best { // <= differs only on an exact tie, taking a pair just as near
						best, at = d, orb.Point{(pa.Lon() + pb.Lon()) / 2, (pa.Lat() + pb.Lat()) / 2}
					}
				}
			}
		}
	}
	if best > intersectionReach { // >= differs only at 40 m to the last bit of a float64, which no layer can aim at
		return Located{}, false, nil
	}
	return Located{Lat: at.Lat(), Lng: at.Lon(), Address: streets[0].Street + " & " + streets[1].Street}, true, nil
}

// crossing is where two lines cross, if they do. (Crossing is kept by
// affine maps, so longitude and latitude serve as they are.)
func crossing(a, b orb.LineString) (orb.Point, bool) {
	for i := 1; i < len(a); i++ {
		p, r := a[i-1], orb.Point{a[i][0] - a[i-1][0], a[i][1] - a[i-1][1]}
		for j := 1; j < len(b); j++ {
			q, s := b[j-1], orb.Point{b[j][0] - b[j-1][0], b[j][1] - b[j-1][1]}
			den := r[0]*s[1] - r[1]*s[0]
			if den == 0 {
				continue // parallel
			}
			qp := orb.Point{q[0] - p[0], q[1] - p[1]}
			t := (qp[0]*s[1] - qp[1]*s[0]) / den
			u := (qp[0]*r[1] - qp[1]*r[0]) / den
			if t >= 0 && t <= 1 && u >= 0 && u <= 1 {
				return orb.Point{p[0] + t*r[0], p[1] + t*r[1]}, true
			}
		}
	}
	return orb.Point{}, false
}

// nearReach is how far the nearest address may be from a position and
// still name it.
const nearReach = 150 // meters

// NearAddress names the loaded address nearest a position ("1735
// Montgomery Street"), when one is within nearReach: what a report placed
// by a photo's GPS alone shows instead of its coordinates.
func (c *Core) NearAddress(ctx context.Context, lat, lng float64) (string, bool, error) {
	return nearAddress(ctx, c.q, lat, lng)
}

func nearAddress(ctx context.Context, q *db.Queries, lat, lng float64) (string, bool, error) {
	p, err := q.NearestPlaceAddress(ctx, db.NearestPlaceAddressParams{Lat: lat, Lng: lng})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, dbErr(err)
	}
	if meters(lat, lng, p.Lat, p.Lng) > nearReach { // >= differs only at 150 m to the last bit of a float64
		return "", false, nil
	}
	return fmt.Sprintf("%d %s", p.Number, p.Street), true, nil
}
