package staff_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"townline/core"
)

// A resident's comment relayed by an API client is in the request's
// timeline, with why staff should look at it.
func TestCommentInTimeline(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.c.AddComment(context.Background(), core.Comment{RequestID: b.pothole.ID, Client: "FixMyStreet",
		ID: "4242", Text: "Someone coned it off.", At: time.Now(), Closed: true, ClientStatus: "FIXED",
		Author: core.Reporter{Name: "Ben Ode", Email: "ben@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	_, page := b.get(b.signIn("roads@oroville.test"), fmt.Sprintf("/staff/requests/%d", b.pothole.ID))
	for _, want := range []string{"from the resident by open311", "Comment via FixMyStreet (its update 4242",
		"Someone coned it off.", "says the issue is closed (FIXED); status not changed; not from the request&#39;s reporter"} {
		if !strings.Contains(page, want) {
			t.Errorf("the request page lacks %q", want)
		}
	}
}
