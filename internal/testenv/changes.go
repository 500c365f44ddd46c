package testenv

import (
	"context"
	"testing"

	"townline/core"
)

// WaitFor returns once check returns nil; until then check says how
// things stand. It checks now, then each time the database announces a
// change (core.ListenChanges: a request filed or acted on, a message on
// one queued, sent, refused or delivered), made by any instance on c's
// database: a test waits on what it waits for, never on a clock. check
// runs on the test's goroutine. What is not announced (a message on no
// request, a contact's row alone) never wakes it: like a check that never
// passes, it fails the test with check's last answer after 20 seconds.
func WaitFor(t testing.TB, c *core.Core, check func() error) {
	t.Helper()
	err := check()
	if err == nil {
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), jobsDeadline)
	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Once listening, check again: a change may have come before.
		c.ListenChanges(ctx, func(core.Change) { poke() }, poke)
	}()
	defer func() { cancel(); <-done }() // the listener logs nothing after the wait
	for {
		select {
		case <-wake:
			if err = check(); err == nil {
				return
			}
		case <-ctx.Done():
			t.Fatalf("after %v: %v", jobsDeadline, err)
		}
	}
}
