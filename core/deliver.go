package core

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"townline/core/internal/db"
)

// deliverArgs is the job that sends one outbound message.
type deliverArgs struct {
	MessageID int64 `json:"message_id"`
}

func (deliverArgs) Kind() string { return "deliver" }

// deliverWorker sends a message at most once. River runs a job at least
// once, so the message row, not the job, is the record of truth: the worker
// claims it (queued -> sending) in its own committed transaction before
// calling the provider, and a claim found still "sending" means an earlier
// attempt died mid-call; that message is marked unknown, never resent.
type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
	core *Core
}

func (w *deliverWorker) NextRetry(job *river.Job[deliverArgs]) time.Time {
	d := w.core.opts.RetryBase << min(job.Attempt-1, 20)
	d = min(d, time.Hour)
	d += rand.N(d/4 + 1) // jitter spreads retries after a provider outage
	return time.Now().Add(d)
}

func (w *deliverWorker) Timeout(*river.Job[deliverArgs]) time.Duration { return 2 * time.Minute }

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	c := w.core
	id := job.Args.MessageID
	// The claim is one statement: queued -> sending, with the address,
	// unless the number opted out since the message was queued.
	claim, err := c.q.ClaimOutbound(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		c.metrics.jobs.WithLabelValues("deliver", "missing").Inc()
		return river.JobCancel(fmt.Errorf("message %d does not exist", id))
	}
	if err != nil {
		return err // the claim did not commit: safe to retry
	}
	out := Outbound{
		MessageID: id, RequestID: claim.RequestID, Channel: Channel(claim.Channel), To: claim.Address,
		Subject: claim.Subject, Body: claim.Body, Language: claim.Language, Auto: claim.Auto,
	}
	state, claimed := claim.State, claim.Claimed
	if claimed && claim.OptedOut {
		c.metrics.jobs.WithLabelValues("deliver", "skipped").Inc()
		return nil
	}
	if claimed && out.Channel == ChannelEmail {
		// Earlier mails of the request, so that this one threads with them.
		out.Thread, err = c.q.EmailThread(ctx, db.EmailThreadParams{RequestID: out.RequestID, ExcludeID: id})
		if err != nil {
			// Claimed but not sent: put it back rather than leave it "sending".
			c.q.Unclaim(context.WithoutCancel(ctx), id)
			return dbErr(err)
		}
	}
	switch {
	case claimed:
	case state == "sending":
		err := c.q.MarkInterrupted(ctx, id)
		c.log.Warn("message outcome unknown after an interrupted send; not resending", "message", id)
		c.metrics.jobs.WithLabelValues("deliver", "unknown").Inc()
		return dbErr(err)
	default:
		c.metrics.jobs.WithLabelValues("deliver", "skipped").Inc()
		return nil // sent, failed, opted out...: nothing more to do
	}

	sender := c.opts.Senders[out.Channel]
	if sender == nil {
		return c.finish(ctx, id, "not_sent", "", fmt.Sprintf("the %s channel is not configured", out.Channel), "skipped")
	}
	providerID, sendErr := sender.Send(ctx, out)
	switch {
	case sendErr == nil:
		c.log.Info("message sent", "message", id, "request", out.RequestID, "channel", out.Channel, "provider_id", providerID)
		return c.finish(ctx, id, "sent", providerID, "", "sent")
	case errors.Is(sendErr, ErrOutcomeUnknown):
		c.log.Warn("message outcome unknown; not resending", "message", id, "err", sendErr)
		return c.finish(ctx, id, "unknown", "", sendErr.Error(), "unknown")
	case errors.Is(sendErr, ErrRecipientOptedOut):
		c.log.Info("recipient opted out at the provider; marking the contact", "message", id)
		if err := c.q.OptOutRecipient(ctx, id); err != nil {
			return dbErr(err)
		}
		if err := c.finish(ctx, id, "not_sent", "", sendErr.Error(), "failed"); err != nil {
			return err
		}
		return river.JobCancel(sendErr)
	case IsPermanent(sendErr) || job.Attempt >= job.MaxAttempts:
		c.log.Error("message failed", "message", id, "attempt", job.Attempt, "err", sendErr)
		if err := c.finish(ctx, id, "failed", "", sendErr.Error(), "failed"); err != nil {
			return err
		}
		return river.JobCancel(sendErr)
	default:
		c.log.Warn("message send failed; will retry", "message", id, "attempt", job.Attempt, "err", sendErr)
		if err := c.finish(ctx, id, "queued", "", sendErr.Error(), "retry"); err != nil {
			return err
		}
		return sendErr
	}
}

// finish records a send's outcome, and any delivery receipt that arrived
// before it. If this write fails the row stays "sending", and the next
// attempt marks it unknown rather than resend.
func (c *Core) finish(ctx context.Context, id int64, state, providerID, errText, outcome string) error {
	ctx = context.WithoutCancel(ctx)
	fin, err := c.q.FinishSend(ctx, db.FinishSendParams{ID: id, State: state, ProviderID: providerID, Error: errText})
	if err == nil && fin.Early {
		// A receipt beat us here.
		err = c.tx(ctx, func(t *txn) error { return applyDelivery(ctx, t.q, Channel(fin.Channel), providerID) })
	}
	c.metrics.jobs.WithLabelValues("deliver", outcome).Inc()
	return dbErr(err)
}
