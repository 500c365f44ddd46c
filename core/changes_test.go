package core_test

import (
	"context"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

// Staff pages hear of every change as it is committed: a notification
// that is not a change is not passed on, and a lost connection is made
// again, after which changes are heard as before.
func TestListenChanges(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	c := testenv.CoreOn(t, pool, func(o *core.Options) { o.Workers = 0 })
	ctx, cancel := context.WithCancel(t.Context())
	changes := make(chan core.Change, 16)
	listening := make(chan struct{}, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.ListenChanges(ctx, func(ch core.Change) { changes <- ch }, func() { listening <- struct{}{} })
	}()
	defer func() { cancel(); <-done }()
	next := func(what string) core.Change {
		t.Helper()
		select {
		case ch := <-changes:
			return ch
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: no change heard", what)
			return core.Change{}
		}
	}
	listens := func(what string) {
		t.Helper()
		select {
		case <-listening:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: not listening", what)
		}
	}
	hears := func(what string) {
		t.Helper()
		r := file(t, c, "pothole", "a hole "+what, core.Reporter{})
		if ch := next(what); ch.Request != r.ID || len(ch.Departments) != 1 || ch.Departments[0] != r.Department || r.Department == "" {
			t.Errorf("%s: heard %+v for request %d of %q", what, ch, r.ID, r.Department)
		}
	}
	listens("at first")
	hears("at first")

	if _, err := pool.Exec(ctx, "SELECT pg_notify('request_changes', $1)", `{"at": 1, "request": 0}`); err != nil {
		t.Fatal(err)
	}
	listens("after a notification that is not a change")
	hears("after a notification that is not a change")

	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%LISTEN request_changes%'`); err != nil {
		t.Fatal(err)
	}
	listens("after the connection was lost")
	hears("after the connection was lost")
	select {
	case ch := <-changes:
		t.Errorf("heard %+v, which is no change", ch)
	default:
	}
}
