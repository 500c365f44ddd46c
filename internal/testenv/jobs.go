package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// How long the job helpers wait before failing the test, and how far
// ahead a retry or a scheduled job still counts as work to wait for. The
// horizon covers the retries tests cause: Core's RetryBase of 10ms doubles
// to about 10s only at the eleventh attempt, and River's default policy
// (periodic jobs) retries first after a second. Jobs due later (calls
// held until morning, the next run of a periodic job, later default
// retries) do not keep the queue busy. River sets a job whose retry is due
// within its scheduler interval (5s) straight back to "available".
const (
	jobsDeadline = 20 * time.Second
	jobsHorizon  = 10 * time.Second
	jobsPoll     = 10 * time.Millisecond
)

// A job row as the helpers report it when they give up.
type jobRow struct {
	ID          int64
	Kind        string
	State       string
	Attempt     int
	ScheduledAt time.Time
	Args        []byte
	LastError   string
}

func (j jobRow) String() string {
	s := fmt.Sprintf("job %d %s %s, attempt %d, scheduled %s, args %s",
		j.ID, j.Kind, j.State, j.Attempt, j.ScheduledAt.Format(time.RFC3339Nano), j.Args)
	if j.LastError != "" {
		s += ", last error " + j.LastError
	}
	return s
}

const jobColumns = `id, kind, state::text, attempt, scheduled_at, args, COALESCE(errors[cardinality(errors)]::text, '')`

func queryJobs(ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) ([]jobRow, error) {
	rows, err := pool.Query(ctx, `SELECT `+jobColumns+` FROM river_job WHERE `+sql+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (j jobRow, err error) {
		err = r.Scan(&j.ID, &j.Kind, &j.State, &j.Attempt, &j.ScheduledAt, &j.Args, &j.LastError)
		return j, err
	})
}

// WaitJobsIdle returns once no River job on pool can still run soon: none
// is available or running, and none is retryable or scheduled within the
// next 10 seconds. A job that is running is not idle until River has
// recorded its outcome, so whatever it sent, and any job it queued, is
// seen. Use it before asserting that nothing more was sent. It needs a
// core with workers on pool (testenv.Core's default), else available jobs
// never run; it fails the test, listing the busy jobs, after 20 seconds.
func WaitJobsIdle(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), jobsDeadline)
	defer cancel()
	var last []jobRow
	for {
		// States as in rivertype.JobState. A "pending" job never runs
		// until someone moves it out of that state; townline has none.
		busy, err := queryJobs(ctx, pool, `state IN ('available', 'running')
			OR (state IN ('retryable', 'scheduled') AND scheduled_at < $1)`, time.Now().Add(jobsHorizon))
		switch {
		case err == nil && len(busy) == 0:
			return
		case err == nil:
			last = busy
		case ctx.Err() == nil:
			t.Fatalf("WaitJobsIdle: %v", err)
		}
		if !sleep(ctx) {
			t.Fatalf("job queue not idle after %v:%s", jobsDeadline, listJobs(last))
		}
	}
}

// WaitJob waits until at least one job of kind whose args contain args
// exists and every such job has finished: completed, cancelled or
// discarded, so none of them can run again. args is anything that
// marshals to a JSON object, matched with jsonb containment (e.g.
// map[string]any{"message_id": id}); nil matches every job of kind. It
// returns the final state of the newest matching job, and fails the test
// after 20 seconds.
func WaitJob(t testing.TB, pool *pgxpool.Pool, kind string, args any) string {
	t.Helper()
	match := []byte("{}")
	if args != nil {
		var err error
		if match, err = json.Marshal(args); err != nil {
			t.Fatalf("WaitJob %s: args: %v", kind, err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), jobsDeadline)
	defer cancel()
	var last []jobRow
	for {
		jobs, err := queryJobs(ctx, pool, `kind = $1 AND args @> $2::jsonb`, kind, match)
		switch {
		case err == nil && len(jobs) > 0 && allFinal(jobs):
			return jobs[len(jobs)-1].State
		case err == nil:
			last = jobs
		case ctx.Err() == nil:
			t.Fatalf("WaitJob %s: %v", kind, err)
		}
		if !sleep(ctx) {
			if len(last) == 0 {
				t.Fatalf("no %s job with args %s after %v", kind, match, jobsDeadline)
			}
			t.Fatalf("%s job with args %s not finished after %v:%s", kind, match, jobsDeadline, listJobs(last))
		}
	}
}

func allFinal(jobs []jobRow) bool {
	for _, j := range jobs {
		switch j.State {
		case "completed", "cancelled", "discarded":
		default:
			return false
		}
	}
	return true
}

// sleep waits for the next poll; false when the deadline has passed.
func sleep(ctx context.Context) bool {
	select {
	case <-time.After(jobsPoll):
		return true
	case <-ctx.Done():
		return false
	}
}

func listJobs(jobs []jobRow) string {
	var b strings.Builder
	for _, j := range jobs {
		b.WriteString("\n\t" + j.String())
	}
	return b.String()
}

// CountJobs is SQL counting the jobs that work queued (deliveries, media
// fetches): not the periodic ones, which the leader queues on its own
// schedule, the first as soon as it is elected (late, on a busy machine).
const CountJobs = `(SELECT count(*) FROM river_job WHERE kind NOT IN ('expire_drafts', 'sweep_blobs', 'purge_contacts', 'digest'))`
