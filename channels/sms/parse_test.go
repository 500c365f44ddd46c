package sms

import (
	"fmt"
	"net/url"
	"testing"
)

// Every point on Earth is a location, the poles and the antimeridian
// included; nothing else is.
func TestLocation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lat, lng string
		ok       bool
	}{
		{"39.5138", "-121.5564", true},
		{"90", "180", true},
		{"-90", "-180", true},
		{"90.000001", "0", false},
		{"-90.000001", "0", false},
		{"0", "180.000001", false},
		{"0", "-180.000001", false},
		{"NaN", "0", false},
		{"0", "NaN", false},
		{"", "0", false},
		{"0", "", false},
		{"Inf", "0", false},
	} {
		y, x := location(tc.lat, tc.lng)
		if (y != nil) != tc.ok || (x != nil) != tc.ok {
			t.Errorf("location(%q, %q) = %v, %v; want a location %v", tc.lat, tc.lng, y, x, tc.ok)
			continue
		}
		if tc.ok && (fmt.Sprint(*y) != tc.lat || fmt.Sprint(*x) != tc.lng) {
			t.Errorf("location(%q, %q) = %v, %v", tc.lat, tc.lng, *y, *x)
		}
	}
}

// Twilio's parameters of an MMS: at most ten photos, each with its type,
// and the older SmsSid when MessageSid is missing.
func TestParseInbound(t *testing.T) {
	t.Parallel()
	f := url.Values{"SmsSid": {"SM1"}, "From": {"+15305550100"}, "To": {"+15305551311"}, "Body": {"pothole"}, "NumMedia": {"12"}}
	for i := range 12 {
		if i != 3 {
			f.Set(fmt.Sprintf("MediaUrl%d", i), fmt.Sprintf("https://api.twilio.com/m%d", i))
			f.Set(fmt.Sprintf("MediaContentType%d", i), "image/jpeg")
		}
	}
	in := parseInbound(f)
	if in.ProviderID != "SM1" || in.From != "+15305550100" || in.To != "+15305551311" || in.Text != "pothole" || in.Lat != nil {
		t.Errorf("parsed %+v", in)
	}
	if len(in.Media) != maxMedia-1 || in.Media[3].URL != "https://api.twilio.com/m4" || in.Media[8].URL != "https://api.twilio.com/m9" ||
		in.Media[0].ContentType != "image/jpeg" {
		t.Errorf("media %+v", in.Media)
	}
}
