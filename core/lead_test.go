package core_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

// Two instances on one database: one leads the work, the other waits;
// when the leader's connection dies, the work starts again; when the
// leader's instance stops, the other takes over within a few polls.
func TestLeadPassesOn(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	fast := func(o *core.Options) { o.Workers, o.LeadPoll = 0, 20*time.Millisecond }
	a, b := testenv.CoreOn(t, pool, fast), testenv.CoreOn(t, pool, fast)
	var running, most atomic.Int32
	var mu sync.Mutex
	led, starts := map[string]bool{}, 0
	work := func(name string) func(context.Context) {
		return func(ctx context.Context) {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			mu.Lock()
			led[name] = true
			starts++
			mu.Unlock()
			<-ctx.Done()
			running.Add(-1)
		}
	}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopA() // a failed test still stops both, and frees their connections
	defer stopB()
	var wg sync.WaitGroup
	wg.Go(func() { a.Lead(ctxA, "watcher", func(bool) {}, work("a")) })
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return led["a"] })
	wg.Go(func() { b.Lead(ctxB, "watcher", func(bool) {}, work("b")) })
	time.Sleep(100 * time.Millisecond) // five of b's polls: it must not lead meanwhile
	mu.Lock()
	if led["b"] {
		t.Error("both instances lead")
	}
	mu.Unlock()
	if m := most.Load(); m != 1 {
		t.Errorf("%d instances worked at once", m)
	}
	// The leader's connection dies: the lock goes with it, and the first
	// instance, still running, stops working when it finds the connection
	// gone; then one of the two leads again (a moment both work is
	// possible then: what the work does must bear it, as the mailbox
	// watcher's deduplication does).
	started := func() int { mu.Lock(); defer mu.Unlock(); return starts }
	before := started()
	if _, err := pool.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return started() > before && running.Load() == 1 })
	// Its instance stops (or dies): the other takes over.
	stopA()
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return led["b"] })
	stopB()
	wg.Wait()
}

func waitUntil(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("not within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
