package core

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// SweepBlobsAt sweeps as the hourly job would at now: an object store's
// files cannot be made older, so the tests of one move the clock.
func (c *Core) SweepBlobsAt(ctx context.Context, now time.Time) error { return c.sweepBlobs(ctx, now) }

// Sweep runs the hourly sweep job's work.
func (c *Core) Sweep(ctx context.Context) error {
	return (&sweepBlobsWorker{core: c}).Work(ctx, &river.Job[sweepBlobsArgs]{})
}

// SendWeeklyDigestAt sends the weekly mail as at now.
func (c *Core) SendWeeklyDigestAt(ctx context.Context, now time.Time) (bool, error) {
	return c.sendWeeklyDigest(ctx, now)
}
