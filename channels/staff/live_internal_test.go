package staff

import (
	"context"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

// The database is listened to while any page listens: one page closing
// leaves the others hearing, and the last one closing stops it.
func TestHubListensWhileAnyPageDoes(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	hb := newHub(c)
	dispatcher := core.User{ID: 1, Role: "dispatcher"}
	first, ready := hb.subscribe(dispatcher)
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("not listening")
	}
	other, _ := hb.subscribe(dispatcher)
	hb.unsubscribe(first)
	r, err := c.CreateRequest(context.Background(), core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
		Description: "Pothole", Address: "1735 Montgomery Street", Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ch := <-other.changes:
		if ch.Request != r.ID {
			t.Errorf("the page left heard %+v, want #%d", ch, r.ID)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("one page closing stopped the others hearing")
	}
	hb.unsubscribe(other)
	hb.mu.Lock()
	running := hb.stop != nil
	hb.mu.Unlock()
	if running {
		t.Error("the database is still listened to with no page open")
	}
}
