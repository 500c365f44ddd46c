package open311

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"townline/internal/testenv"
)

// BenchmarkPostRequest files Open311 requests through the HTTP handler
// against the real database: the whole intake path but the network.
func BenchmarkPostRequest(b *testing.B) {
	c := testenv.Core(b)
	mux := http.NewServeMux()
	New(c, testenv.Logger(b), 1<<20).Register(mux)
	key := testenv.APIKey(b, c)
	var n atomic.Int64
	b.ResetTimer() // the database and its template are not what is measured
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			form := url.Values{
				"api_key": {key}, "service_code": {"pothole"}, "lat": {testLat}, "long": {testLong},
				"description": {"Bench pothole"}, "email": {fmt.Sprintf("r%d@bench.example", i%1000)},
			}
			req := httptest.NewRequest("POST", "/open311/v2/requests.json", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("POST = %d %s", w.Code, w.Body)
			}
			io.Copy(io.Discard, w.Body)
		}
	})
}
