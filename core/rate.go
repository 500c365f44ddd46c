package core

import (
	"context"
	"math"

	"townline/core/internal/db"
)

// Allow counts one more event for key (a client's address, a mailbox) in
// bucket ("report", "signup") and reports whether fewer than perHour
// came in the last hour, counting it only then. Every instance counts in
// the one database, so a flood spread across instances is still one.
func (c *Core) Allow(ctx context.Context, bucket, key string, perHour int) (bool, error) {
	var ok bool
	err := c.tx(ctx, func(t *txn) error {
		if err := t.q.LockKey(ctx, db.LockKeyParams{Bucket: bucket, Key: key}); err != nil {
			return err
		}
		var err error
		ok, err = t.q.TakeRate(ctx, db.TakeRateParams{Bucket: bucket, Key: key, PerHour: int32(min(perHour, math.MaxInt32))})
		return err
	})
	return ok, dbErr(err)
}
