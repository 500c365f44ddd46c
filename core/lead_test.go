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
// when the leader's connection dies, the other takes over within a few
// polls; never both at once.
func TestLeadPassesOn(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	fast := func(o *core.Options) { o.Workers, o.LeadPoll = 0, 20*time.Millisecond }
	a, b := testenv.CoreOn(t, pool, fast), testenv.CoreOn(t, pool, fast)
	var running, most atomic.Int32
	var mu sync.Mutex
	led := map[string]bool{}
	work := func(name string) func(context.Context) {
		return func(ctx context.Context) {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			mu.Lock()
			led[name] = true
			mu.Unlock()
			<-ctx.Done()
			running.Add(-1)
		}
	}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
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
	// The leader's connection dies (as when its instance does): the lock
	// goes with it, the other instance takes over, and the first, if it
	// still runs, stops working when it finds the connection gone (a
	// moment both work is possible then: what the work does must bear it,
	// as the mailbox watcher's deduplication does).
	if _, err := pool.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted`); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return led["b"] })
	waitUntil(t, func() bool { return running.Load() == 1 })
	stopA()
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
