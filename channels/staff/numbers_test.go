package staff_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"townline/core"
)

func TestNumbers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	// The pothole was acknowledged and closed two hours after it came in.
	if err := b.c.ChangeStatus(ctx, b.pothole.ID, core.StatusChange{To: core.StatusAcknowledged}); err != nil {
		t.Fatal(err)
	}
	if err := b.c.ChangeStatus(ctx, b.pothole.ID, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.Pool().Exec(ctx, `UPDATE requests SET requested_at = requested_at - interval '2 hours' WHERE id = $1`, b.pothole.ID); err != nil {
		t.Fatal(err)
	}
	// A mailed report townline gave a service, which staff left as it was.
	if _, err := b.c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "ana@example.com", To: "311@oroville.test",
		Subject: "Streetlight", Text: "The streetlight is out on Myers Street.", ProviderID: "<numbers-1@example.com>"}); err != nil {
		t.Fatal(err)
	}
	// Another, ten days ago, counts among the last 30 days'.
	if _, err := b.c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "lee@example.com", To: "311@oroville.test",
		Subject: "Streetlight", Text: "The streetlight is out on Bird Street.", ProviderID: "<numbers-2@example.com>"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.Pool().Exec(ctx, `UPDATE requests SET requested_at = now() - interval '10 days'
		WHERE id = (SELECT max(id) FROM requests)`); err != nil {
		t.Fatal(err)
	}
	code, body := b.get(b.signIn("desk@oroville.test"), "/staff/numbers")
	if code != 200 {
		t.Fatalf("numbers: %d", code)
	}
	row := regexp.MustCompile(`<tr><td>Pothole</td><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>`).FindStringSubmatch(body)
	if row == nil || row[1] != "2" || row[2] != "2h 0m" || row[3] != "2h 0m" {
		t.Errorf("pothole times: %q", row)
	}
	if !strings.Contains(body, "<tr><td>Public Works</td><td>2</td><td>0</td><td>1</td></tr>") ||
		!strings.Contains(body, "<tr><td>Triage queue</td><td>1</td><td>0</td><td>0</td></tr>") {
		t.Error("the work by department is not 2 open (the streetlights) and 1 closed this week for Public Works, 1 open in triage")
	}
	if !strings.Contains(body, "<tr><td>email</td><td>2</td><td>2 (100 %)</td><td>0</td><td>100 %</td></tr>") {
		t.Error("the reading of residents' words does not show the two mailed reports, given a service and left as they were")
	}
	if !strings.Contains(body, "<th>open311</th>") {
		t.Error("no Open311 column in the requests per channel")
	}
	for _, u := range []string{"roads@oroville.test", "parks@oroville.test"} {
		if code, _ := b.get(b.signIn(u), "/staff/numbers"); code != 404 {
			t.Errorf("numbers for staff %s: %d, want 404", u, code)
		}
	}
	if code, _ := b.get(b.client(), "/staff/numbers"); code != 303 {
		t.Errorf("numbers signed out: %d, want the sign-in page", code)
	}
}

// The reply box offers the department's canned responses and inserts one,
// filled in, after what was typed.
func TestCannedReplyOnTheRequestPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id, err := b.c.SaveCannedResponse(context.Background(), core.CannedResponse{Department: "public-works", Title: "Crew scheduled",
		English: "A crew will fix the {service} at {address} (#{number})."}, core.Actor{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	roads := b.signIn("roads@oroville.test")
	_, page := b.get(roads, fmt.Sprintf("/staff/requests/%d", b.pothole.ID))
	if !strings.Contains(page, "Crew scheduled") {
		t.Error("the request page does not offer the department's canned response")
	}
	_, page = b.get(roads, fmt.Sprintf("/staff/requests/%d?canned=%d&body=Hello.", b.pothole.ID, id))
	want := fmt.Sprintf("Hello.\n\nA crew will fix the Pothole at 1735 Montgomery Street (#%d).</textarea>", b.pothole.ID)
	if !strings.Contains(page, want) {
		t.Errorf("the reply box does not hold the typed words and the filled response")
	}
}
