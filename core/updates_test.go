package core_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

// A window holding more changes than the limit says so, with the oldest
// ones; the filing is no change.
func TestUpdatesLimit(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	start := time.Now().Add(-time.Minute)
	r, err := c.CreateRequest(ctx, newPothole("ana@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	by := core.Actor{Name: "dispatcher@cityoforoville.org"}
	for _, to := range []core.Status{core.StatusAcknowledged, core.StatusInProgress} {
		if err := c.ChangeStatus(ctx, r.ID, core.StatusChange{To: to, By: by}); err != nil {
			t.Fatal(err)
		}
	}
	end := time.Now().Add(time.Minute)
	ups, complete, err := c.Updates(ctx, start, end, 1)
	if err != nil || complete || len(ups) != 1 || ups[0].Status != core.StatusAcknowledged || ups[0].RequestID != r.ID {
		t.Errorf("limit 1: %+v complete %v, %v", ups, complete, err)
	}
	ups, complete, err = c.Updates(ctx, start, end, 2)
	if err != nil || !complete || len(ups) != 2 || ups[1].Status != core.StatusInProgress || ups[0].ID >= ups[1].ID {
		t.Errorf("limit 2: %+v complete %v, %v", ups, complete, err)
	}
}

// filedPothole is a core that sends nothing, and a pothole Ana reported.
func filedPothole(t *testing.T) (*core.Core, core.Request) {
	t.Helper()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	r, err := c.CreateRequest(context.Background(), newPothole("ana@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	return c, r
}

// The same comment delivered twice at once is stored once, and both
// deliveries get its message; a comment on no request is not stored.
func TestAddCommentOnce(t *testing.T) {
	t.Parallel()
	c, r := filedPothole(t)
	ctx := context.Background()
	cm := core.Comment{RequestID: r.ID, Client: "FixMyStreet", ID: "501", Text: "Still there.", At: time.Now(),
		Author: core.Reporter{Name: "Ben Ode", Email: "ben@example.com"}, ClientStatus: "OPEN"}
	var wg sync.WaitGroup
	results := make([]core.CommentResult, 2)
	errs := make([]error, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = c.AddComment(ctx, cm)
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || results[0].MessageID != results[1].MessageID ||
		results[0].Duplicate == results[1].Duplicate {
		t.Errorf("twice at once: %+v %v", results, errs)
	}
	msgs, err := c.Messages(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if m.Channel == core.ChannelOpen311 && m.Direction == "in" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d comments stored, want 1", n)
	}

	cm.RequestID, cm.ID = r.ID+1000, "502"
	if _, err := c.AddComment(ctx, cm); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a comment on no request: %v", err)
	}
}

// Where the city file allows it, the reporter's own "not fixed" comment
// reopens their closed request, once, in public, and tells them; a
// stranger's is only flagged. Without the setting, nothing reopens.
func TestCommentReopens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, allowed := range []bool{true, false} {
		c := testenv.Core(t, func(o *core.Options) {
			o.Workers = 0
			o.City.ReopenOnComment = allowed
			o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: &fakeSender{}}
		})
		r, err := c.CreateRequest(ctx, newPothole("ana@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.ChangeStatus(ctx, r.ID, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved}); err != nil {
			t.Fatal(err)
		}
		stranger := core.Comment{RequestID: r.ID, Client: "FixMyStreet", ID: "600", Text: "Still there.", At: time.Now(),
			Author: core.Reporter{Email: "ben@example.com"}, ClientStatus: "OPEN"}
		own := stranger
		own.ID, own.Text, own.Author = "601", "Not fixed, the hole is back.", core.Reporter{Email: "ana@example.com"}
		var first core.CommentResult
		for _, cm := range []core.Comment{stranger, own} {
			if first, err = c.AddComment(ctx, cm); err != nil {
				t.Fatal(err)
			}
		}
		// Reopened by the first delivery, not by a second one.
		if got, err := c.Request(ctx, r.ID); err != nil || allowed != (got.Status == core.StatusInProgress) {
			t.Errorf("allowed %v: after the reporter's comment the request is %s, %v", allowed, got.Status, err)
		}
		again, err := c.AddComment(ctx, own)
		if err != nil || !again.Duplicate || again.MessageID != first.MessageID {
			t.Errorf("the comment again: %+v, %v; want the first's message %d, a duplicate", again, err, first.MessageID)
		}
		got, err := c.Request(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		hist, err := c.History(ctx, r.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		last := hist[len(hist)-1]
		if allowed && (got.Status != core.StatusInProgress || last.Note != "Reopened: the reporter says it is not fixed." ||
			len(hist) != 3) {
			t.Errorf("allowed: %s, public history %+v", got.Status, hist)
		}
		if !allowed && got.Status != core.StatusClosed {
			t.Errorf("not allowed, yet %s", got.Status)
		}
		msgs, err := c.Messages(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		var flags, told []string
		for _, m := range msgs {
			if m.Direction == "in" && m.Channel == core.ChannelOpen311 {
				flags = append(flags, m.Flag)
			}
			if m.Direction == "out" && strings.Contains(m.Body, "Reopened") {
				told = append(told, m.Body)
			}
		}
		wantFlags := []string{"says the issue is open (OPEN); status not changed; not from the request's reporter", ""}
		if !allowed {
			wantFlags[1] = "says the issue is open (OPEN); status not changed"
		}
		if !slices.Equal(flags, wantFlags) {
			t.Errorf("allowed %v: flags %q, want %q", allowed, flags, wantFlags)
		}
		if allowed != (len(told) == 1) {
			t.Errorf("allowed %v: the reporter was told %q", allowed, told)
		}
	}
}

// A comment needs its client's id and words or a photo; a photo alone is
// linked for staff; one saying the issue is closed, on an open request,
// is flagged and closes nothing.
func TestCommentChecks(t *testing.T) {
	t.Parallel()
	c, r := filedPothole(t)
	ctx := context.Background()
	base := core.Comment{RequestID: r.ID, Client: "FixMyStreet", ID: "700", Text: "Still there.", At: time.Now(),
		Author: core.Reporter{Email: "ana@example.com"}}
	var invalid *core.ValidationError
	for _, bad := range []func(*core.Comment){
		func(cm *core.Comment) { cm.ID = "" },
		func(cm *core.Comment) { cm.Text = "  " },
		func(cm *core.Comment) { cm.Author.Email = "not an address" },
	} {
		cm := base
		bad(&cm)
		if _, err := c.AddComment(ctx, cm); !errors.As(err, &invalid) {
			t.Errorf("comment %+v: %v, want a validation error", cm, err)
		}
	}
	photo := base
	photo.Text, photo.MediaURL = "", "https://fms.example/photo/700.jpeg"
	closed := base
	closed.ID, closed.Closed, closed.ClientStatus = "701", true, "FIXED"
	for _, cm := range []core.Comment{photo, closed} {
		if _, err := c.AddComment(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	ms, err := c.Messages(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Direction == "in" {
			got = append(got, m.Body+" | "+m.Flag)
		}
	}
	want := []string{"Photo: https://fms.example/photo/700.jpeg | ", "Still there. | says the issue is closed (FIXED); status not changed"}
	if !slices.Equal(got, want) {
		t.Errorf("comments %q, want %q", got, want)
	}
	if now, err := c.Request(ctx, r.ID); err != nil || now.Status != core.StatusNew {
		t.Errorf("after a comment saying closed: %s, %v", now.Status, err)
	}
}
