// Package geocoder asks an outside geocoder where an address is, for the
// addresses a city's own layers do not know: a Nominatim server (OSM's
// own, or the city's), or the US Census Geocoder.
package geocoder

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"townline/core"
)

// Geocoder asks one outside geocoder, for one city.
type Geocoder struct {
	base   *url.URL
	census bool   // the Census Geocoder's API, else Nominatim's
	where  string // ", Oroville, CA": what every address asked is in
	client *http.Client
}

// New is a geocoder at rawURL: the Census Geocoder when its path is the
// Census API's (…/geocoder/locations/onelineaddress), else a Nominatim
// server (…/search is asked). Addresses asked are taken to be in city,
// state.
func New(rawURL, city, state string, client *http.Client) (*Geocoder, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("GEOCODER_URL %q is not an http(s) URL", rawURL)
	}
	where := ", " + city
	if state != "" {
		where += ", " + state
	}
	return &Geocoder{base: u, census: strings.Contains(u.Path, "/geocoder/"), where: where, client: client}, nil
}

// Geocode asks where address is.
func (g *Geocoder) Geocode(ctx context.Context, address string) (core.Located, bool, error) {
	u := *g.base
	q := url.Values{}
	if g.census {
		q.Set("address", address+g.where)
		q.Set("benchmark", "Public_AR_Current")
		q.Set("format", "json")
	} else {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/search"
		q.Set("q", address+g.where)
		q.Set("format", "jsonv2")
		q.Set("limit", "1")
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return core.Located{}, false, err
	}
	// Nominatim's usage policy asks every client to say who it is.
	req.Header.Set("User-Agent", "townline (a city's 311)")
	resp, err := g.client.Do(req)
	if err != nil {
		return core.Located{}, false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return core.Located{}, false, err
	}
	if resp.StatusCode != http.StatusOK {
		return core.Located{}, false, fmt.Errorf("geocoder: %s answered %s", g.base.Host, resp.Status)
	}
	if g.census {
		return census(body)
	}
	return nominatim(body)
}

func nominatim(body []byte) (core.Located, bool, error) {
	var places []struct {
		Lat, Lon    string
		DisplayName string `json:"display_name"`
	}
	if err := json.Unmarshal(body, &places); err != nil {
		return core.Located{}, false, fmt.Errorf("geocoder: not a Nominatim answer: %w", err)
	}
	if len(places) == 0 {
		return core.Located{}, false, nil
	}
	lat, err1 := strconv.ParseFloat(places[0].Lat, 64)
	lng, err2 := strconv.ParseFloat(places[0].Lon, 64)
	if err1 != nil || err2 != nil {
		return core.Located{}, false, fmt.Errorf("geocoder: a Nominatim place without a position: %q, %q", places[0].Lat, places[0].Lon)
	}
	// "1735, Montgomery Street, Oroville, …" names "1735 Montgomery Street".
	parts := strings.Split(places[0].DisplayName, ", ")
	label := parts[0]
	if _, err := strconv.Atoi(label); err == nil && len(parts) > 1 {
		label += " " + parts[1]
	}
	return core.Located{Lat: lat, Lng: lng, Address: label}, true, nil
}

func census(body []byte) (core.Located, bool, error) {
	var answer struct {
		Result *struct {
			AddressMatches []struct {
				MatchedAddress string
				Coordinates    struct{ X, Y float64 }
			}
		}
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.Result == nil {
		return core.Located{}, false, fmt.Errorf("geocoder: not a Census Geocoder answer (%v)", err)
	}
	if len(answer.Result.AddressMatches) == 0 {
		return core.Located{}, false, nil
	}
	m := answer.Result.AddressMatches[0]
	// "1735 MONTGOMERY ST, OROVILLE, CA, 95965" names "1735 Montgomery St".
	street, _, _ := strings.Cut(m.MatchedAddress, ",")
	words := strings.Fields(strings.ToLower(street))
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return core.Located{Lat: m.Coordinates.Y, Lng: m.Coordinates.X, Address: strings.Join(words, " ")}, true, nil
}
