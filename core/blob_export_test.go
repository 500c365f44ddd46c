package core

import (
	"context"
	"time"
)

// SweepBlobsAt sweeps as the hourly job would at now: an object store's
// files cannot be made older, so the tests of one move the clock.
func (c *Core) SweepBlobsAt(ctx context.Context, now time.Time) error { return c.sweepBlobs(ctx, now) }
