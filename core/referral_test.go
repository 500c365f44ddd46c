package core_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"townline/core"
	"townline/internal/testenv"
)

// A report that is an outside agency's — a State Route 70 pothole is
// Caltrans's, a place beyond the city limits Butte County's — is kept,
// closed as referred with a public note, and its reporter told whom to
// contact, in their language, over the channel they used.
func TestReferral(t *testing.T) {
	t.Parallel()
	c := filingCore(t)
	ctx := context.Background()
	referred := func(what string, id int64, channel core.Channel, words ...string) {
		t.Helper()
		r, err := c.Request(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != core.StatusClosed || r.CloseReason != core.ReasonReferred || !strings.HasPrefix(r.StatusNotes, "Referred to ") {
			t.Errorf("%s: %s (%s) %q, want closed as referred with a public note", what, r.Status, r.CloseReason, r.StatusNotes)
		}
		out := outbound(t, c, id)
		if len(out) != 1 || out[0].Channel != channel {
			t.Fatalf("%s: %d messages out, want one referral over %s", what, len(out), channel)
		}
		for _, w := range words {
			if !strings.Contains(out[0].Body, w) {
				t.Errorf("%s: the reporter was told %q, without %q", what, out[0].Body, w)
			}
		}
	}

	// By text, on SR 70, in English and in Spanish.
	res := (&phone{t: t, c: c, number: "+15305550221"}).text(fmt.Sprintf("pothole at %.4f, %.4f", sr70Lat, sr70Lng))
	referred("text", res.RequestID, core.ChannelSMS, "is for Caltrans District 3, not the city", "530-741-4233")
	res = (&phone{t: t, c: c, number: "+15305550222"}).text(fmt.Sprintf("hay un bache en %.4f, %.4f", sr70Lat, sr70Lng))
	referred("Spanish text", res.RequestID, core.ChannelSMS, "le corresponde a Caltrans Distrito 3", "llame al 530-741-4233")

	// Over Open311, just outside the city limits but in the county.
	in := newPothole("county@example.com")
	in.Lat, in.Lng = ptr(39.4300), ptr(-121.5300)
	r, err := c.CreateRequest(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	referred("Open311", r.ID, core.ChannelEmail, "Butte County Public Works looks after it", "530-552-3700")

	// By mail, an address the county's layer places outside the city.
	if _, err := c.LoadPlaces(ctx, "county.csv", []byte("number,street,lat,lon\n2000,Palermo Road,39.4300,-121.5300\n")); err != nil {
		t.Fatal(err)
	}
	got, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "palermo@example.com", To: "311@example.gov",
		Subject: "Pothole", Text: "A pothole in front of 2000 Palermo Rd.", ProviderID: "<palermo-1@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	referred("mail", got.RequestID, core.ChannelEmail, "Butte County Public Works")

	// A route refers only the services it belongs to: graffiti on SR 70
	// is the city's.
	in = newPothole("graffiti@example.com")
	in.ServiceCode, in.Lat, in.Lng = "graffiti-public", ptr(sr70Lat), ptr(sr70Lng)
	if r, err = c.CreateRequest(ctx, in); err != nil {
		t.Fatal(err)
	}
	if r.Status != core.StatusNew {
		t.Errorf("graffiti on SR 70: %s (%s), want new: no route refers it", r.Status, r.CloseReason)
	}
	// Far beyond the county there is no one to refer to: refused, as before.
	in = newPothole("far@example.com")
	in.Lat, in.Lng = ptr(37.7749), ptr(-122.4194)
	if _, err := c.CreateRequest(ctx, in); err == nil || !strings.Contains(err.Error(), "outside Oroville") {
		t.Errorf("a report from San Francisco: %v, want refused as outside Oroville", err)
	}
}

// With no one to tell (no reporter, and a city that sends no messages),
// a report is still referred, or joins the open request of the same
// issue, and counts as one more report of it.
func TestAnonymousReportReferredOrJoined(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	file := func(lat, lng float64) core.Request {
		t.Helper()
		r, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
			Description: "Pothole", Lat: &lat, Lng: &lng, Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		r, _ = c.Request(ctx, r.ID)
		return r
	}
	if r := file(sr70Lat, sr70Lng); r.Status != core.StatusClosed || r.CloseReason != core.ReasonReferred {
		t.Errorf("an anonymous pothole on SR 70: %s (%s), want closed as referred", r.Status, r.CloseReason)
	}
	first := file(39.5090, -121.5620)
	again := file(39.5090, -121.5620)
	if again.Status != core.StatusClosed || again.CloseReason != core.ReasonDuplicate || again.DuplicateOf == nil || *again.DuplicateOf != first.ID {
		t.Errorf("an anonymous pothole where one is open: %s (%s) of %v, want joined to #%d", again.Status, again.CloseReason, again.DuplicateOf, first.ID)
	}
	if issue, _ := c.Request(ctx, first.ID); issue.Reports != 2 {
		t.Errorf("the issue counts %d reports, want 2", issue.Reports)
	}
}
