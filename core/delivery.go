package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/robfig/cron/v3"

	"townline/core/internal/db"
)

// ErrRecipientOptedOut is what a Sender wraps (with Permanent) when the
// provider refuses a message because the recipient unsubscribed: the
// contact is then marked opted out for good.
var ErrRecipientOptedOut = errors.New("the recipient has opted out")

// DeliveryState is how far a provider got with an outbound message, in
// core's words: adapters map their provider's receipts onto it.
type DeliveryState string

const (
	DeliveryQueued    DeliveryState = "queued"
	DeliverySending   DeliveryState = "sending"
	DeliverySent      DeliveryState = "sent"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryRead      DeliveryState = "read"
	DeliveryFailed    DeliveryState = "failed"
)

// deliveryRank orders receipts, which arrive in any order: a late "sent"
// must not undo "delivered".
var deliveryRank = map[DeliveryState]int{
	DeliveryQueued: 1, DeliverySending: 2, DeliverySent: 3, DeliveryDelivered: 4, DeliveryFailed: 4, DeliveryRead: 5,
}

// messageState is the message state a receipt brings a message to.
func (s DeliveryState) messageState() string {
	switch s {
	case DeliveryDelivered, DeliveryRead:
		return "delivered"
	case DeliveryFailed:
		return "failed"
	}
	return "sent"
}

// Receipt is a provider's word on an outbound message.
type Receipt struct {
	ProviderID string // the id the provider gave the message when it took it
	State      DeliveryState
	ErrorCode  string // the provider's own, for staff
	OptedOut   bool   // the recipient has unsubscribed: send them nothing more
}

// RecordDelivery records a delivery receipt for an outbound message. The
// same receipt twice changes nothing; receipts out of order never move a
// message backwards; a receipt that beats the send's own bookkeeping waits
// and is applied when the message id is known.
func (c *Core) RecordDelivery(ctx context.Context, ch Channel, r Receipt) error {
	if r.ProviderID == "" {
		return invalid("provider_id", "is missing")
	}
	if err := c.checkFields(textField{"provider_id", r.ProviderID, 200}, textField{"error_code", r.ErrorCode, 20}); err != nil {
		return err
	}
	if _, ok := deliveryRank[r.State]; !ok {
		return invalid("status", "%q is not a delivery state", r.State)
	}
	err := c.tx(ctx, func(t *txn) error {
		n, err := t.q.InsertDeliveryEvent(ctx, db.InsertDeliveryEventParams{
			Channel: string(ch), ProviderID: r.ProviderID, Status: string(r.State), ErrorCode: r.ErrorCode, OptedOut: r.OptedOut,
		})
		if err != nil || n == 0 {
			return err
		}
		return applyDelivery(ctx, t.q, ch, r.ProviderID)
	})
	if err != nil {
		return fmt.Errorf("delivery receipt %s: %w", r.ProviderID, err)
	}
	return nil
}

// applyDelivery brings a message to the furthest state its receipts show.
// A receipt calls it after writing itself down, under the provider id's
// lock: a send recorded meanwhile either committed before (and is seen
// here) or waits for the lock and then sees the receipt.
func applyDelivery(ctx context.Context, q *db.Queries, ch Channel, providerID string) error {
	if err := q.LockProviderID(ctx, providerID); err != nil {
		return err
	}
	msg, err := q.LockOutboundByProviderID(ctx, db.LockOutboundByProviderIDParams{Channel: string(ch), ProviderID: providerID})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // the send has not recorded its id yet; it applies this then
	}
	if err != nil {
		return err
	}
	events, err := q.DeliveryEvents(ctx, db.DeliveryEventsParams{Channel: string(ch), ProviderID: providerID})
	if err != nil {
		return err
	}
	var best DeliveryState
	bestCode, optedOut := "", false
	// Of two receipts of one rank (delivered and failed: a message never
	// gets both) the first stays; ">=" here, a mutant, survives for that.
	for _, e := range events {
		if s := DeliveryState(e.Status); deliveryRank[s] > deliveryRank[best] {
			best, bestCode = s, e.ErrorCode
		}
		optedOut = optedOut || e.OptedOut
	}
	if optedOut && msg.ContactID != 0 {
		if err := q.SetOptedOut(ctx, db.SetOptedOutParams{ID: msg.ContactID, OptedOut: true}); err != nil {
			return err
		}
	}
	stateRank := map[string]int{"sending": 1, "sent": 2, "delivered": 3, "failed": 3}
	next := best.messageState()
	// "<" here (a surviving mutant) differs only on that same tie.
	if best == "" || stateRank[next] <= stateRank[msg.State] {
		return nil
	}
	errText := ""
	if bestCode != "" {
		errText = "provider error " + bestCode
	}
	return q.SetDeliveryState(ctx, db.SetDeliveryStateParams{ID: msg.ID, State: next, Error: errText})
}

// expireDraftsArgs is the periodic job that files drafts nobody completed.
type expireDraftsArgs struct{}

func (expireDraftsArgs) Kind() string { return "expire_drafts" }

type expireDraftsWorker struct {
	river.WorkerDefaults[expireDraftsArgs]
	core *Core
}

func (w *expireDraftsWorker) Work(ctx context.Context, job *river.Job[expireDraftsArgs]) error {
	c := w.core
	for {
		done := false
		err := c.tx(ctx, func(t *txn) error {
			next, err := t.q.NextExpiredDraft(ctx)
			if errors.Is(err, pgx.ErrNoRows) {
				done = true
				return nil
			}
			if err != nil {
				return err
			}
			conv, err := c.lockConversation(ctx, t, next.ContactID, Channel(next.Channel))
			if err != nil {
				return err
			}
			d, err := c.dialogue(ctx, t, conv)
			if err != nil || d.draft == nil {
				return err
			}
			d.expire()
			_, err = c.apply(ctx, t, conv, d)
			return err
		})
		if err != nil || done {
			return err
		}
	}
}

// sweepBlobsArgs is the hourly clean-up: stored files no row refers to
// (uploads whose request was refused after the file was written, downloads
// whose job gave up; an hour's grace covers work in flight), the state of
// calls abandoned a day ago, and failed sign-ins past their window.
type sweepBlobsArgs struct{}

func (sweepBlobsArgs) Kind() string { return "sweep_blobs" }

type sweepBlobsWorker struct {
	river.WorkerDefaults[sweepBlobsArgs]
	core *Core
}

func (w *sweepBlobsWorker) Work(ctx context.Context, job *river.Job[sweepBlobsArgs]) error {
	// Calls whose end the provider never reported leave their state behind too.
	if n, err := w.core.SweepChannelState(ctx, "voice:call:", 24*time.Hour); err != nil {
		return err
	} else if n > 0 { // a log line's condition: its mutants survive
		w.core.log.Info("removed the state of abandoned calls", "count", n)
	}
	if err := w.core.q.SweepSigninFailures(ctx, signinWindow); err != nil {
		return dbErr(err)
	}
	if err := w.core.q.SweepRequestChanges(ctx, KeepChanges+time.Hour); err != nil {
		return dbErr(err)
	}
	if err := w.core.q.SweepRates(ctx); err != nil {
		return dbErr(err)
	}
	return w.core.SweepBlobs(ctx)
}

// SweepBlobs removes stored files older than an hour that no row refers to.
func (c *Core) SweepBlobs(ctx context.Context) error { return c.sweepBlobs(ctx, time.Now()) }

// periodicJobs are the jobs the elected leader runs on a schedule: one
// instance of many runs each.
func (c *Core) periodicJobs() []*river.PeriodicJob {
	jobs := []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(time.Minute),
			func() (river.JobArgs, *river.InsertOpts) { return expireDraftsArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return sweepBlobsArgs{}, nil }, nil),
		river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return purgeContactsArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
	}
	// Mondays at 7 in the city: the week's meetings and events. A
	// constant schedule in a zone the city file loaded: it parses.
	weekly, _ := cron.ParseStandard("CRON_TZ=" + c.city.Location.String() + " " + weeklyDigestAt)
	jobs = append(jobs, river.NewPeriodicJob(weekly,
		func() (river.JobArgs, *river.InsertOpts) { return weeklyDigestArgs{}, nil }, nil))
	if c.city.Digest != nil {
		jobs = append(jobs, river.NewPeriodicJob(c.city.Digest,
			func() (river.JobArgs, *river.InsertOpts) { return digestArgs{}, nil }, nil))
	}
	return jobs
}
