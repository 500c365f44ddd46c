package open311

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"townline/core"
)

// Errors map to the spec's format and the right status; internals never
// reach the client. No database: these cases never touch core.
func TestWriteError(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := &Handler{log: slog.New(slog.NewTextHandler(&logs, nil))}
	for _, tc := range []struct {
		err        error
		f          format
		status     int
		body       string
		retryAfter string
	}{
		{&core.ValidationError{Field: "lat", Problem: "is wrong"}, formatJSON, 400,
			`[{"code":400,"description":"lat: is wrong"}]`, ""},
		{fmt.Errorf("create request: %w", &core.ValidationError{Field: "lat", Problem: "is wrong"}), formatXML, 400,
			xmlHeader + `<errors><error><code>400</code><description>lat: is wrong</description></error></errors>`, ""},
		{fmt.Errorf("create request: %w: dial tcp: refused", core.ErrUnavailable), formatJSON, 503,
			`[{"code":503,"description":"the service is temporarily unavailable; try again shortly"}]`, "5"},
		{errors.New("pq: secret table exploded at /srv/db"), formatJSON, 500,
			`[{"code":500,"description":"internal error"}]`, ""},
		{notFound("x: <&> gone"), formatXML, 404,
			xmlHeader + `<errors><error><code>404</code><description>x: &lt;&amp;&gt; gone</description></error></errors>`, ""},
		{&http.MaxBytesError{Limit: 10}, formatJSON, 413,
			`[{"code":413,"description":"the request is larger than the limit of 10 bytes"}]`, ""},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/open311/v2/requests.json", nil)
		h.writeError(w, r, tc.f, tc.err)
		if w.Code != tc.status || w.Body.String() != tc.body || w.Header().Get("Retry-After") != tc.retryAfter {
			t.Errorf("%v: %d %q Retry-After %q", tc.err, w.Code, w.Body, w.Header().Get("Retry-After"))
		}
		if w.Header().Get("Content-Type") != tc.f.contentType() {
			t.Errorf("%v: Content-Type %q", tc.err, w.Header().Get("Content-Type"))
		}
	}
	if !strings.Contains(logs.String(), "secret table exploded") {
		t.Errorf("the 500's cause was not logged: %s", logs.String())
	}
}
