package sms

import (
	"math"
	"net/url"
	"testing"
	"unicode/utf8"
)

func FuzzInbound(f *testing.F) {
	f.Add("From=%2B15305550100&To=%2B15305551311&Body=pothole&MessageSid=SM1&NumMedia=1&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm&MediaContentType0=image%2Fjpeg")
	f.Add("SmsSid=SM2&NumMedia=99&MediaUrl3=x&Latitude=39.5&Longitude=-121.5")
	f.Add("NumMedia=-1&Latitude=NaN&Longitude=Inf&Body=%FF")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		in := parseInbound(form)
		if len(in.Media) > maxMedia {
			t.Errorf("%d media", len(in.Media))
		}
		for _, m := range in.Media {
			if m.URL == "" {
				t.Error("media without a URL")
			}
		}
		if (in.Lat == nil) != (in.Lng == nil) {
			t.Error("half a location")
		}
		if in.Lat != nil && (math.IsNaN(*in.Lat) || math.Abs(*in.Lat) > 90 || math.IsNaN(*in.Lng) || math.Abs(*in.Lng) > 180) {
			t.Errorf("location %v, %v", *in.Lat, *in.Lng)
		}
	})
}

func FuzzSegments(f *testing.F) {
	f.Add("Request #1234: pothole at Montgomery St & 5th Ave")
	f.Add("¿Dónde está? 🕳 €[]")
	f.Fuzz(func(t *testing.T, body string) {
		n, enc := Segments(body)
		switch {
		case body == "":
			if n != 0 {
				t.Errorf("empty: %d segments", n)
			}
			return
		case enc != "GSM-7" && enc != "UCS-2":
			t.Errorf("encoding %q", enc)
		case n < 1:
			t.Errorf("%d segments", n)
		}
		// No segment holds less than one character.
		if max := utf8.RuneCountInString(body); n > max {
			t.Errorf("%d segments for %d characters", n, max)
		}
	})
}
