package staff_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"townline/core"
)

// The request page shows the service's questions with the answers' names,
// then any question of the client's own, marked so; and the reporter's
// account at the client.
func TestRequestPageShowsAnswers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lat, lng := spot(1)
	r, err := b.c.CreateRequest(context.Background(), core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
		Description: "Deep one", Lat: &lat, Lng: &lng,
		Attributes: map[string][]string{"in_lane": {"yes"}, "size": {"large"}, "fixmystreet_id": {"7000100"}},
		Reporter:   core.Reporter{Email: "ana@example.com", AccountID: "fms-42"}})
	if err != nil {
		t.Fatal(err)
	}
	_, page := b.get(b.signIn("roads@oroville.test"), fmt.Sprintf("/staff/requests/%d", r.ID))
	want := `<dl class="answers"><dt>How big is it?</dt><dd>Larger than a tire, or deep</dd>` +
		`<dt>Is it in a traffic lane?</dt><dd>Yes, where cars drive</dd>` +
		`<dt>fixmystreet_id <span class="muted">(the client's own question)</span></dt><dd>7000100</dd></dl>`
	if !strings.Contains(page, "Account at the Open311 client: fms-42") {
		t.Error("the reporter's account at the client is not shown")
	}
	if !strings.Contains(page, want) {
		_, got, _ := strings.Cut(page, `<dl`)
		got, _, _ = strings.Cut(got, `</dl>`)
		t.Errorf("the answers are not shown as\n%s\ngot <dl%s</dl>", want, got)
	}
	// A question left unanswered is not shown.
	lat, lng = spot(2)
	r, err = b.c.CreateRequest(context.Background(), core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
		Description: "Small one", Lat: &lat, Lng: &lng, Attributes: map[string][]string{"size": {"large"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, page = b.get(b.signIn("roads@oroville.test"), fmt.Sprintf("/staff/requests/%d", r.ID))
	if !strings.Contains(page, `<dl class="answers"><dt>How big is it?</dt><dd>Larger than a tire, or deep</dd></dl>`) {
		t.Error("the answers of a request with a question unanswered are not the one answer")
	}
}

// The reporter's other requests are listed for staff who may open them.
func TestOtherRequestsOfTheReporter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	lat, lng := spot(3)
	tree, err := b.c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "tree",
		Description: "Branch down", Lat: &lat, Lng: &lng, Reporter: core.Reporter{Email: "ana@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	others := func(email string, id int64) string {
		_, page := b.get(b.signIn(email), fmt.Sprintf("/staff/requests/%d", id))
		_, list, _ := strings.Cut(page, "Their other requests: ")
		list, _, _ = strings.Cut(list, "</p>")
		return list
	}
	if got := others("desk@oroville.test", tree.ID); !strings.Contains(got, fmt.Sprintf("#%d<", b.pothole.ID)) {
		t.Errorf("the dispatcher does not see the reporter's pothole beside her tree: %q", got)
	}
	if got := others("parks@oroville.test", tree.ID); got != "" {
		t.Errorf("Parks is shown the reporter's Public Works request: %q", got)
	}
}
