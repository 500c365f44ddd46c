package staff_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"townline/core"
)

// A request's page offers the open requests nearby of its service or a
// related one, closest first, each with a merge; once merged, the
// duplicate's reporter hears the news by text, as they came.
func TestNearbyAndMerge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	lat, lng := *b.pothole.Lat, *b.pothole.Lng
	const north50 = 50 / 111_320.0 // fifty meters of latitude
	file := func(service string, dLat float64) core.Request {
		t.Helper()
		la := lat + dLat
		r, err := b.c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: service,
			Description: service + " here", Lat: &la, Lng: &lng})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	light := file("streetlight", -1.6*north50) // 80 m, the same group
	file("graffiti-public", 0.6*north50)       // 30 m, another group
	file("pothole", 20*north50)                // a kilometer away
	closed := file("pothole", -1.3*north50)    // 65 m, but closed
	if err := b.c.ChangeStatus(ctx, closed.ID, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved,
		By: core.Actor{Name: "test"}}); err != nil {
		t.Fatal(err)
	}
	// A resident texts the same pothole from sixty meters away (nearer
	// would have joined it without asking).
	sLat := lat + 1.2*north50
	res, err := b.c.Intake(ctx, core.Inbound{Channel: core.ChannelSMS, From: "+15305550166", To: "+15305550000",
		Text: "pothole right here", Lat: &sLat, Lng: &lng, ProviderID: "SMnear1"})
	if err != nil || res.RequestID == 0 {
		t.Fatalf("intake: %+v %v", res, err)
	}
	text := res.RequestID

	roads := b.signIn("roads@oroville.test")
	resp, err := roads.Get(b.srv.URL + fmt.Sprintf("/staff/requests/%d", b.pothole.ID))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' https://tiles.example.test;") {
		t.Errorf("the map's tiles are not allowed: %s", csp)
	}
	_, page := b.get(roads, fmt.Sprintf("/staff/requests/%d", b.pothole.ID))
	var listed []string
	for _, m := range regexp.MustCompile(`data-nearby="(\d+)"`).FindAllStringSubmatch(page, -1) {
		listed = append(listed, m[1])
	}
	if want := []string{fmt.Sprint(text), fmt.Sprint(light.ID)}; fmt.Sprint(listed) != fmt.Sprint(want) {
		t.Errorf("nearby lists %v, want %v (the text 60 m away, then the streetlight 80 m away)", listed, want)
	}
	if !strings.Contains(page, "60 m away") || !strings.Contains(page, fmt.Sprintf(`id="map" class="map" data-lat="%v" data-lng="%v" data-tiles="%s"`, lat, lng, testTiles)) {
		t.Error("the page shows no distance, or no map at the request's place")
	}

	// Merge the text into the pothole from the text's own page.
	_, textPage := b.get(roads, fmt.Sprintf("/staff/requests/%d", text))
	if !strings.Contains(textPage, fmt.Sprintf("Same issue: merge into #%d", b.pothole.ID)) {
		t.Fatal("the texted report's page does not offer the pothole")
	}
	// Not into a request that is not there, or that they may not see.
	before := b.state(text)
	for parent, problem := range map[string]string{"": "is not a request number", "0": "is not a request number",
		"-3": "is not a request number", fmt.Sprint(b.triage.ID): fmt.Sprintf("#%d is not a request you can see", b.triage.ID),
		"999999": "#999999 is not a request you can see"} {
		code, body := b.post(roads, fmt.Sprintf("/staff/requests/%d/duplicate", text), url.Values{"parent": {parent}, "seen": {b.seen(roads, text)}})
		if code != 400 || !strings.Contains(body, problem) || b.state(text) != before {
			t.Errorf("merge into %q: %d, want 400 saying %q, nothing changed", parent, code, problem)
		}
	}
	code, _ := b.post(roads, fmt.Sprintf("/staff/requests/%d/duplicate", text),
		url.Values{"parent": {fmt.Sprint(b.pothole.ID)}, "seen": {b.seen(roads, text)}})
	if code != 303 {
		t.Fatalf("merge: %d", code)
	}
	parent, _ := b.c.Request(ctx, b.pothole.ID)
	if parent.Reports != 2 {
		t.Errorf("the pothole gathers %d reports, want 2", parent.Reports)
	}
	if err := b.c.ChangeStatus(ctx, b.pothole.ID, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved,
		Note: "Patched.", Public: true, By: core.Actor{Name: "test"}}); err != nil {
		t.Fatal(err)
	}
	if !b.waitSent("+15305550166", "Patched.") {
		t.Fatal("the merged report's texter did not hear the pothole closed")
	}
}

// waitSent waits, up to 10 s, for a message holding words to go to address.
func (b *bundle) waitSent(address, words string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := b.sent.Wait(ctx, func(m core.Outbound) bool { return m.To == address && strings.Contains(m.Body, words) })
	return err == nil
}
