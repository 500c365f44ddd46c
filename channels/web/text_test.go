package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"townline/core"
	"townline/internal/testenv"
)

// The public pages take no text into core: a NUL byte or bytes that are
// not UTF-8 in a path or a query are a page not found (or ignored), never
// a 500, and write nothing. A phone number or an email address a reporter
// typed into the address or the description is masked on every page; a
// link to another site is not.
func TestPublicPagesBadBytesAndMasking(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t)
	ctx := context.Background()
	lat, lng := 39.5138, -121.5564
	const link = "https://fms.example/report/7000100"
	r, err := c.CreateRequest(ctx, core.NewRequest{
		Channel: core.ChannelOpen311, ServiceCode: "pothole", Lat: &lat, Lng: &lng,
		Address:     "1735 Montgomery St, text 530-555-0123 or zed@example.org",
		Description: "Deep hole, call (530) 555-0199 or ana.reyes@example.com; same as " + link,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, c)

	for _, path := range []string{"/", fmt.Sprintf("/requests/%d", r.ID)} {
		code, page := get(t, srv.URL+path)
		if code != http.StatusOK || !strings.Contains(string(page), "1735 Montgomery St, text [phone removed] or [email removed]") {
			t.Errorf("%s = %d, lacks the masked address:\n%s", path, code, page)
		}
		for _, secret := range []string{"555-0123", "555-0199", "zed@example.org", "ana.reyes@example.com"} {
			if strings.Contains(string(page), secret) {
				t.Errorf("%s shows %q", path, secret)
			}
		}
		if path != "/" && !strings.Contains(string(page), link) {
			t.Errorf("%s lacks the link %s", path, link)
		}
	}

	rows := func() int {
		var n int
		if err := c.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM requests) + (SELECT count(*) FROM contacts) +
			(SELECT count(*) FROM messages) + (SELECT count(*) FROM request_events)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := rows()
	for _, bad := range []string{"%00", "%FF"} {
		for _, tc := range []struct {
			path   string
			status int
		}{
			{"/requests/" + bad, http.StatusNotFound},
			{fmt.Sprintf("/requests/%d%s", r.ID, bad), http.StatusNotFound},
			{"/media/" + bad, http.StatusNotFound},
			{"/?lang=" + bad, http.StatusOK},
			{fmt.Sprintf("/requests/%d?lang=%s", r.ID, bad), http.StatusOK},
		} {
			if code, body := get(t, srv.URL+tc.path); code != tc.status {
				t.Errorf("%s = %d, want %d:\n%s", tc.path, code, tc.status, body)
			}
		}
	}
	if after := rows(); after != before {
		t.Errorf("%d rows written", after-before)
	}
}
