package core_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"townline/core"
	"townline/internal/testenv"
)

// A key gets perHour events an hour: the next is refused and not
// counted; another key or bucket is counted apart; an hour after the
// first, a place frees; the hourly sweep forgets what is over an hour old.
func TestAllow(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	allow := func(bucket, key string) bool {
		t.Helper()
		ok, err := c.Allow(ctx, bucket, key, 3)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for i := range 3 {
		if !allow("report", "10.0.0.1") {
			t.Fatalf("event %d refused", i+1)
		}
	}
	if allow("report", "10.0.0.1") || allow("report", "10.0.0.1") {
		t.Error("a fourth event in the hour taken")
	}
	if !allow("report", "10.0.0.2") || !allow("signup", "10.0.0.1") {
		t.Error("another key, or another bucket, refused")
	}
	rows := func() int {
		t.Helper()
		var n int
		if err := c.Pool().QueryRow(ctx, `SELECT count(*) FROM rate_events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := rows(); n != 5 {
		t.Errorf("%d events kept, want 5: the refused are not counted", n)
	}
	// The first of the three is an hour old now.
	if _, err := c.Pool().Exec(ctx, `UPDATE rate_events SET at = now() - interval '61 minutes'
		WHERE ctid = (SELECT ctid FROM rate_events WHERE bucket = 'report' AND key = '10.0.0.1' LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	if !allow("report", "10.0.0.1") {
		t.Error("an hour after the first event, the key is still refused")
	}
	if allow("report", "10.0.0.1") {
		t.Error("the freed place was given twice")
	}
	// Many at once, as from two instances: still three.
	var wg sync.WaitGroup
	var taken atomic.Int32
	for range 12 {
		wg.Go(func() {
			if ok, err := c.Allow(ctx, "report", "10.0.0.9", 3); err != nil {
				t.Error(err)
			} else if ok {
				taken.Add(1)
			}
		})
	}
	wg.Wait()
	if n := taken.Load(); n != 3 {
		t.Errorf("12 at once: %d taken, want 3", n)
	}
	if _, err := c.Pool().Exec(ctx, `DELETE FROM rate_events WHERE key = '10.0.0.9'`); err != nil {
		t.Fatal(err)
	}
	if err := c.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 5 {
		t.Errorf("%d events kept after the sweep, want the 5 of the last hour", n)
	}
}
