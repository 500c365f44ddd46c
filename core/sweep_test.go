package core_test

import (
	"context"
	"strings"
	"testing"

	"townline/core"
	"townline/internal/testenv"
)

// The hourly sweep keeps what is still of use and removes the rest: a
// call's state for a day, failed sign-ins for their window, changes for
// KeepChanges and an hour, rate events for an hour, and files no row
// refers to.
func TestHourlySweep(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	c := testenv.CoreOn(t, pool, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"voice:call:old", "voice:call:new"} {
		if err := c.SetChannelState(ctx, k, "x"); err != nil {
			t.Fatal(err)
		}
	}
	exec(`UPDATE channel_state SET updated_at = now() - interval '25 hours' WHERE key = 'voice:call:old'`)
	exec(`UPDATE channel_state SET updated_at = now() - interval '23 hours' WHERE key = 'voice:call:new'`)
	exec(`INSERT INTO signin_failures (key, at) VALUES ('old', now() - interval '16 minutes'), ('new', now() - interval '14 minutes')`)
	exec(`INSERT INTO request_changes (request_id, at) VALUES (1, now() - interval '25 hours 10 minutes'), (2, now() - interval '24 hours 50 minutes')`)
	exec(`INSERT INTO rate_events (bucket, key, at) VALUES ('report', 'old', now() - interval '61 minutes'), ('report', 'new', now() - interval '59 minutes')`)
	orphan, err := c.Blobs().Put(strings.NewReader("refused upload"))
	if err != nil {
		t.Fatal(err)
	}
	storedFor(t, pool, "2 hours", orphan.SHA256)

	if err := c.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct{ what, sql, want string }{
		{"call states", `SELECT string_agg(key, ' ') FROM channel_state WHERE key LIKE 'voice:call:%'`, "voice:call:new"},
		{"failed sign-ins", `SELECT string_agg(key, ' ') FROM signin_failures`, "new"},
		{"changes", `SELECT string_agg(request_id::text, ' ') FROM request_changes`, "2"},
		{"rate events", `SELECT string_agg(key, ' ') FROM rate_events`, "new"},
		{"files", `SELECT coalesce(string_agg(sha256, ' '), 'none') FROM blob_content`, "none"},
	} {
		var got string
		if err := pool.QueryRow(ctx, q.sql).Scan(&got); err != nil || got != q.want {
			t.Errorf("%s kept: %q (%v), want %q", q.what, got, err, q.want)
		}
	}
}
