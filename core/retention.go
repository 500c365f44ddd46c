package core

// Retention: a reporter's contact details are kept while they may be
// needed (the request is open, or closed only recently), then forgotten.

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// DefaultRetention is how long after their last request closed a
// reporter's details are kept when the city file does not say.
const DefaultRetention = 730 * 24 * time.Hour

// purgeContactsArgs is the daily job that forgets old reporters' details.
type purgeContactsArgs struct{}

func (purgeContactsArgs) Kind() string { return "purge_contacts" }

type purgeContactsWorker struct {
	river.WorkerDefaults[purgeContactsArgs]
	core *Core
}

func (w *purgeContactsWorker) Work(ctx context.Context, job *river.Job[purgeContactsArgs]) error {
	_, err := w.core.PurgeContacts(ctx, time.Now())
	return err
}

// PurgeContacts forgets the name, phone, email and client account of every
// reporter whose requests all closed more than the city's retention before
// now. The requests, their public history and the count of people who
// reported each issue stay as they were; nothing more can be sent to them.
// It returns how many contacts it forgot.
func (c *Core) PurgeContacts(ctx context.Context, now time.Time) (int64, error) {
	// n is 0 on an error.
	n, err := c.q.PurgeContacts(ctx, now.Add(-c.city.Retention))
	if n > 0 { // a log line only (changed, an equivalent mutant)
		c.log.Info("reporters' details removed after the retention period", "contacts", n, "retention", c.city.Retention)
	}
	return n, dbErr(err)
}
