package geocoder

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// serve answers every question with the recorded answer in file, and
// records what was asked.
func serve(t *testing.T, status int, file string, asked *[]*http.Request) string {
	t.Helper()
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*asked = append(*asked, r)
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestGeocoders(t *testing.T) {
	for _, tc := range []struct {
		name, path, file string
		found            bool
		lat, lng         float64
		address          string
		query            string // what the server was asked: path and query
	}{
		{"Nominatim", "/", "testdata/nominatim.json", true, 39.5140212, -121.5561734, "1740 Montgomery Street",
			"/search?format=jsonv2&limit=1&q=1740+Montgomery+St%2C+Oroville%2C+CA"},
		{"Nominatim, unknown", "/", "testdata/nominatim-none.json", false, 0, 0, "", ""},
		{"Census", "/geocoder/locations/onelineaddress", "testdata/census.json", true, 39.51402, -121.55617, "1740 Montgomery St",
			"/geocoder/locations/onelineaddress?address=1740+Montgomery+St%2C+Oroville%2C+CA&benchmark=Public_AR_Current&format=json"},
		{"Census, unknown", "/geocoder/locations/onelineaddress", "testdata/census-none.json", false, 0, 0, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []*http.Request
			base := serve(t, 200, tc.file, &asked)
			g, err := New(base+tc.path, "Oroville", "CA", http.DefaultClient)
			if err != nil {
				t.Fatal(err)
			}
			loc, ok, err := g.Geocode(context.Background(), "1740 Montgomery St")
			if err != nil || ok != tc.found || loc.Lat != tc.lat || loc.Lng != tc.lng || loc.Address != tc.address {
				t.Errorf("Geocode = %+v, %v, %v; want %v, %v, %q found %v", loc, ok, err, tc.lat, tc.lng, tc.address, tc.found)
			}
			if len(asked) != 1 || asked[0].Header.Get("User-Agent") == "" || asked[0].Header.Get("User-Agent") == "Go-http-client/1.1" {
				t.Fatalf("asked %d times, without saying who asks", len(asked))
			}
			if tc.query != "" && asked[0].URL.Path+"?"+asked[0].URL.RawQuery != tc.query {
				t.Errorf("asked %s?%s, want %s", asked[0].URL.Path, asked[0].URL.RawQuery, tc.query)
			}
		})
	}
}

// A geocoder that fails, or answers what is not an answer, is an error:
// the report is filed unplaced and the address is asked again next time.
func TestGeocoderFailures(t *testing.T) {
	var asked []*http.Request
	for _, tc := range []struct {
		status int
		file   string
		want   string
	}{
		{500, "testdata/nominatim.json", "answered 500"},
		{200, "testdata/census.json", "not a Nominatim answer"},
	} {
		g, err := New(serve(t, tc.status, tc.file, &asked), "Oroville", "CA", http.DefaultClient)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := g.Geocode(context.Background(), "1740 Montgomery St"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d %s: %v, want an error saying %q", tc.status, tc.file, err, tc.want)
		}
	}
	if _, err := New("nominatim.example", "Oroville", "CA", http.DefaultClient); err == nil {
		t.Error("a URL without a scheme was taken")
	}
}
