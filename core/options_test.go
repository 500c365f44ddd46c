package core

import (
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// What a deployment leaves unset gets the documented defaults; what it
// sets is kept. Jobs run at most two thirds of the rescue delay.
func TestOptionsDefaults(t *testing.T) {
	for _, o := range []Options{{}, {MaxUpload: -1, RetryBase: -1, MaxAttempts: -1, RescueAfter: -1}} {
		d := o.withDefaults()
		if d.Logger == nil || d.MaxUpload != 10<<20 || d.RetryBase != 30*time.Second || d.MaxAttempts != 12 || d.RescueAfter != 3*time.Minute {
			t.Errorf("defaults of %+v: %+v", o, d)
		}
		c := &Core{opts: d}
		if job, send := d.jobTimeout(time.Minute), c.sendTimeout(); job != time.Minute || send != 2*time.Minute {
			t.Errorf("by default a job runs %v, a delivery %v; want 1m and 2m", job, send)
		}
	}
	set := Options{MaxUpload: 1, RetryBase: time.Millisecond, MaxAttempts: 1, RescueAfter: 30 * time.Second}.withDefaults()
	if set.MaxUpload != 1 || set.RetryBase != time.Millisecond || set.MaxAttempts != 1 || set.RescueAfter != 30*time.Second {
		t.Errorf("set options changed: %+v", set)
	}
	if got := (&Core{opts: set}).sendTimeout(); got != 20*time.Second {
		t.Errorf("rescued after 30s, a delivery runs %v; want 20s", got)
	}
}

// The leader runs the city's digest only when the city file sets one.
func TestPeriodicJobs(t *testing.T) {
	city, err := ReadCity("")
	if err != nil {
		t.Fatal(err)
	}
	with := len((&Core{city: city}).periodicJobs())
	city.Digest = nil
	if without := len((&Core{city: city}).periodicJobs()); without != with-1 || without != 4 {
		t.Errorf("%d jobs with the digest, %d without; want 5 and 4", with, without)
	}
}

// A photo's download is retried after RetryBase, doubling each time, up
// to 1,024 times RetryBase.
func TestFetchMediaRetries(t *testing.T) {
	w := &fetchMediaWorker{core: &Core{opts: Options{RetryBase: time.Second}}}
	for attempt, want := range map[int]time.Duration{1: time.Second, 3: 4 * time.Second, 11: 1024 * time.Second, 20: 1024 * time.Second} {
		start := time.Now()
		next := w.NextRetry(&river.Job[fetchMediaArgs]{JobRow: &rivertype.JobRow{Attempt: attempt}})
		if d := next.Sub(start); d < want || d > want+time.Second {
			t.Errorf("attempt %d: retried in %v, want %v", attempt, d, want)
		}
	}
}
