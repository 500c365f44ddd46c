package sms_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"townline/core"
)

// A location shared with a text places the request there, even when the
// words name no place; one that is no place on Earth is ignored, and the
// text still makes its request from the words.
func TestSharedLocation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()

	p := w.phone("+15305550127")
	if _, err := p.SendParams("pothole right here", url.Values{"Latitude": {"39.51380"}, "Longitude": {"-121.55640"}}); err != nil {
		t.Fatal(err)
	}
	r, err := w.c.Request(ctx, requestNumber(t, w.answer(p, 1).Body))
	if err != nil {
		t.Fatal(err)
	}
	if r.Lat == nil || r.Lng == nil || *r.Lat != 39.5138 || *r.Lng != -121.5564 || r.ServiceCode != "pothole" {
		t.Errorf("request at %v, %v (%s), want 39.5138, -121.5564", r.Lat, r.Lng, r.ServiceCode)
	}

	// Words naming no place with such a location: the resident is asked where.
	for i, loc := range []url.Values{
		{"Latitude": {"91"}, "Longitude": {"-121.5564"}},
		{"Latitude": {"39.5138"}, "Longitude": {"-181"}},
		{"Latitude": {"-91"}, "Longitude": {"181"}},
		{"Latitude": {"NaN"}, "Longitude": {"-121.5564"}},
		{"Latitude": {"39.5138"}, "Longitude": {"west"}},
		{"Latitude": {"north"}, "Longitude": {"-121.5564"}},
	} {
		p := w.phone("+1530555014" + string(rune('0'+i)))
		if _, err := p.SendParams("pothole right here", loc); err != nil {
			t.Fatal(err)
		}
		if q := w.answer(p, 1); !strings.Contains(strings.ToLower(q.Body), "where is it?") {
			t.Errorf("%v: answered %q, want the question where", loc, q.Body)
		}
	}
	if rs, err := w.c.Requests(ctx, core.Filter{}); err != nil || len(rs) != 1 {
		t.Errorf("%d requests (%v), want only the one well placed", len(rs), err)
	}
}
