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

// deliverWorker sends a message exactly once. River runs a job at least
// once, so the message row, not the job, is the record of truth: the worker
// claims it (queued -> sending) in its own committed transaction before
// calling the provider. A claim found still "sending" means an earlier
// attempt stopped between claiming and recording (a crash, a cut-off
// send, a database that went away): the provider is asked whether the
// message arrived, and it is sent only if not. A provider that cannot be
// asked leaves it "unknown", never sent twice.
type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
	core *Core
}

func (w *deliverWorker) NextRetry(job *river.Job[deliverArgs]) time.Time {
	d := w.core.opts.RetryBase << min(job.Attempt-1, 20)
	d = min(d, time.Hour)
	// Jitter spreads retries after a provider outage. The +1 only keeps
	// rand.N's argument above zero (a mutant making it -1 survives: the
	// delays are never under 8 ns).
	d += rand.N(d/4 + 1)
	return time.Now().Add(d)
}

func (w *deliverWorker) Timeout(*river.Job[deliverArgs]) time.Duration { return w.core.sendTimeout() }

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
	if claim.ListToken != "" {
		out.Unsubscribe = c.unsubscribeURL(claim.ListToken)
	}
	sender := c.opts.Senders[out.Channel]
	switch {
	case claim.Claimed && claim.OptedOut:
		c.metrics.jobs.WithLabelValues("deliver", "skipped").Inc()
		return nil
	case claim.Claimed:
	case claim.State == "sending":
		resolver, ok := sender.(Resolver)
		if !ok || job.Attempt >= job.MaxAttempts {
			c.log.Warn("message outcome unknown after an interrupted send; not resending", "message", id)
			c.metrics.jobs.WithLabelValues("deliver", "unknown").Inc()
			return dbErr(c.q.MarkInterrupted(ctx, db.MarkInterruptedParams{
				ID: id, Error: "an earlier attempt stopped during the send and the provider cannot say whether it arrived; not resent",
			}))
		}
		since := deref(claim.ClaimedAt)
		providerID, err := resolver.Resolve(ctx, out, since)
		if err != nil {
			c.log.Warn("could not ask the provider about an interrupted send; will ask again", "message", id, "err", err)
			return err
		}
		if providerID != "" {
			c.log.Info("an interrupted send had reached the provider", "message", id, "provider_id", providerID)
			return c.finish(ctx, id, "sent", providerID, "", "recovered")
		}
		// It never arrived: send it, unless another attempt took it over.
		n, err := c.q.Reclaim(ctx, db.ReclaimParams{ID: id, ClaimedAt: claim.ClaimedAt})
		if err != nil || n == 0 {
			c.metrics.jobs.WithLabelValues("deliver", "skipped").Inc()
			return dbErr(err)
		}
		c.log.Info("an interrupted send never reached the provider; sending it", "message", id)
	default:
		c.metrics.jobs.WithLabelValues("deliver", "skipped").Inc()
		return nil // sent, failed, opted out...: nothing more to do
	}
	if out.Channel == ChannelEmail {
		// Earlier mails of the request, so that this one threads with them.
		out.Thread, err = c.q.EmailThread(ctx, db.EmailThreadParams{RequestID: out.RequestID, ExcludeID: id})
		if err != nil {
			// Claimed but not sent: put it back rather than leave it "sending".
			c.q.Unclaim(context.WithoutCancel(ctx), id)
			return dbErr(err)
		}
	}

	if sender == nil {
		return c.finish(ctx, id, "not_sent", "", fmt.Sprintf("the %s channel is not configured", out.Channel), "skipped")
	}
	providerID, sendErr := sender.Send(ctx, out)
	_, canAsk := sender.(Resolver)
	switch {
	case sendErr == nil:
		c.log.Info("message sent", "message", id, "request", out.RequestID, "channel", out.Channel, "provider_id", providerID)
		return c.finish(ctx, id, "sent", providerID, "", "sent")
	case errors.Is(sendErr, ErrOutcomeUnknown) && canAsk && job.Attempt < job.MaxAttempts:
		// Left "sending": the next attempt asks the provider first.
		c.log.Warn("message outcome unknown; will ask the provider before any resend", "message", id, "err", sendErr)
		c.metrics.jobs.WithLabelValues("deliver", "unknown").Inc()
		return sendErr
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
// before it, retrying through a short database outage. If it cannot, the
// row stays "sending" and the next attempt asks the provider.
func (c *Core) finish(ctx context.Context, id int64, state, providerID, errText, outcome string) error {
	ctx = context.WithoutCancel(ctx)
	var err error
	// 0.1 s doubling to 12.8 s: about 25 s in all. Only an outage longer
	// than that tells a slower or endless schedule apart (mutants of the
	// doubling and of the bound, which never equals 10 s, survive).
	for wait := 100 * time.Millisecond; ; wait *= 2 {
		err = c.record(ctx, id, state, providerID, errText)
		if !errors.Is(err, ErrUnavailable) || wait > 10*time.Second {
			break
		}
		c.log.Warn("could not record a send's outcome; retrying", "message", id, "err", err)
		time.Sleep(wait)
	}
	c.metrics.jobs.WithLabelValues("deliver", outcome).Inc()
	return err
}

func (c *Core) record(ctx context.Context, id int64, state, providerID, errText string) error {
	err := c.tx(ctx, func(t *txn) error {
		if providerID != "" {
			// Taken before the write here (a receipt takes it after
			// its own): whichever comes second sees the other.
			if err := t.q.LockProviderID(ctx, providerID); err != nil {
				return err
			}
		}
		fin, err := t.q.FinishSend(ctx, db.FinishSendParams{ID: id, State: state, ProviderID: providerID, Error: errText})
		if err != nil || !fin.Early {
			return err
		}
		return applyDelivery(ctx, t.q, Channel(fin.Channel), providerID) // a receipt beat us here
	})
	return dbErr(err)
}
