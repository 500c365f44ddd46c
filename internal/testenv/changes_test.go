package testenv

import (
	"context"
	"errors"
	"testing"

	"townline/core"
)

// WaitFor wakes on a change made after it began to wait.
func TestWaitFor(t *testing.T) {
	t.Parallel()
	c := Core(t)
	lat, lng := 39.5138, -121.5564
	checks := 0
	filed := make(chan struct{})
	WaitFor(t, c, func() error {
		var n int
		if err := c.Pool().QueryRow(context.Background(), `SELECT count(*) FROM requests`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if checks++; checks == 1 {
			go func() {
				defer close(filed)
				_, err := c.CreateRequest(context.Background(), core.NewRequest{Channel: core.ChannelOpen311,
					ServiceCode: "pothole", Description: "a pothole", Lat: &lat, Lng: &lng, Actor: "test"})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		if n == 0 {
			return errors.New("no request filed")
		}
		return nil
	})
	<-filed
	if checks < 2 {
		t.Errorf("%d checks, want the first to fail and a later one to pass", checks)
	}
}
