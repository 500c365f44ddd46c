package testenv

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func insertJob(t *testing.T, pool *pgxpool.Pool, kind, args, state string, at time.Time) int64 {
	t.Helper()
	var id int64
	err := pool.QueryRow(context.Background(), `INSERT INTO river_job (kind, args, state, scheduled_at, finalized_at, max_attempts, priority, queue)
		VALUES ($1, $2::jsonb, $3::river_job_state, $4,
			CASE WHEN $3 IN ('completed', 'cancelled', 'discarded') THEN now() END, 5, 1, 'default') RETURNING id`,
		kind, args, state, at).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// finish plays River's worker: a moment later it marks job id completed.
// started reports whether it has begun to; done closes when it has.
func finish(t *testing.T, pool *pgxpool.Pool, id int64) (started *atomic.Bool, done <-chan struct{}) {
	started = new(atomic.Bool)
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		time.Sleep(100 * time.Millisecond) // the scenario: a job that takes a while
		started.Store(true)
		if _, err := pool.Exec(context.Background(), `UPDATE river_job SET state = 'completed', finalized_at = now() WHERE id = $1`, id); err != nil {
			t.Error(err)
		}
	}()
	return started, ch
}

func TestWaitJobsIdle(t *testing.T) {
	t.Parallel()
	pool := Pool(t)
	now := time.Now()
	insertJob(t, pool, "deliver", `{"message_id": 1}`, "completed", now)
	insertJob(t, pool, "sweep_blobs", `{}`, "scheduled", now.Add(time.Hour))            // a periodic job's next run
	insertJob(t, pool, "deliver", `{"message_id": 2}`, "retryable", now.Add(time.Hour)) // a retry much later
	insertJob(t, pool, "deliver", `{"message_id": 3}`, "pending", now)
	WaitJobsIdle(t, pool) // none of these can run soon

	for _, state := range []string{"available", "running", "retryable", "scheduled"} {
		id := insertJob(t, pool, "deliver", `{"message_id": 4}`, state, now.Add(time.Second))
		started, done := finish(t, pool, id)
		WaitJobsIdle(t, pool)
		if !started.Load() {
			t.Errorf("idle while a %s job due soon was left", state)
		}
		<-done
	}
}

func TestWaitJob(t *testing.T) {
	t.Parallel()
	pool := Pool(t)
	now := time.Now()
	insertJob(t, pool, "deliver", `{"message_id": 1}`, "cancelled", now)
	running := insertJob(t, pool, "deliver", `{"message_id": 2}`, "running", now)
	insertJob(t, pool, "fetch_media", `{"message_id": 2}`, "available", now) // another kind
	if got := WaitJob(t, pool, "deliver", map[string]any{"message_id": 1}); got != "cancelled" {
		t.Errorf("WaitJob = %s, want cancelled", got)
	}
	started, done := finish(t, pool, running)
	if got := WaitJob(t, pool, "deliver", map[string]any{"message_id": 2}); got != "completed" {
		t.Errorf("WaitJob = %s, want completed", got)
	}
	if !started.Load() {
		t.Error("WaitJob returned while the job was running")
	}
	<-done
}
