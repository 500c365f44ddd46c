package core

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
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
	out := Outbound{MessageID: id}
	var state string
	var optedOut, claimed bool
	err := c.pool.QueryRow(ctx, `
		WITH claim AS (
			UPDATE messages m SET
				state = CASE WHEN m.channel = 'sms' AND ct.opted_out_at IS NOT NULL THEN 'not_sent' ELSE 'sending' END,
				error = CASE WHEN m.channel = 'sms' AND ct.opted_out_at IS NOT NULL THEN 'the number opted out (STOP)' ELSE m.error END,
				attempts = m.attempts + 1
			FROM contacts ct
			WHERE m.id = $1 AND m.direction = 'out' AND m.state = 'queued' AND ct.id = m.contact_id
			RETURNING m.state, m.channel, COALESCE(m.request_id, 0), m.subject, m.body, m.language, m.auto,
				COALESCE(CASE WHEN m.channel = 'email' THEN ct.email ELSE ct.phone END, ''), ct.opted_out_at IS NOT NULL)
		SELECT *, true FROM claim
		UNION ALL
		SELECT state, channel, 0, '', '', '', false, '', false, false FROM messages
		WHERE id = $1 AND direction = 'out' AND NOT EXISTS (SELECT 1 FROM claim)`, id).
		Scan(&state, &out.Channel, &out.RequestID, &out.Subject, &out.Body, &out.Language, &out.Auto, &out.To, &optedOut, &claimed)
	if err == nil && claimed && state == "sending" && out.Channel == ChannelEmail {
		// Earlier mails of the request, so that this one threads with them.
		var rows pgx.Rows
		if rows, err = c.pool.Query(ctx, `SELECT provider_id FROM messages WHERE request_id = $1 AND channel = 'email'
			AND provider_id IS NOT NULL AND id <> $2 ORDER BY created_at, id`, out.RequestID, id); err == nil {
			out.Thread, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if err != nil {
			// Claimed but not sent: put it back rather than leave it "sending".
			c.pool.Exec(context.WithoutCancel(ctx), `UPDATE messages SET state = 'queued' WHERE id = $1`, id)
			return dbErr(err)
		}
	}
	if err == nil && claimed && optedOut {
		c.metrics.jobs.WithLabelValues("deliver", "skipped").Inc()
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		c.metrics.jobs.WithLabelValues("deliver", "missing").Inc()
		return river.JobCancel(fmt.Errorf("message %d does not exist", id))
	}
	if err != nil {
		return err // the claim did not commit: safe to retry
	}
	switch {
	case claimed:
	case state == "sending":
		_, err := c.pool.Exec(ctx, `UPDATE messages SET state = 'unknown',
			error = 'an earlier attempt stopped during the send; not resent' WHERE id = $1 AND state = 'sending'`, id)
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
		if _, err := c.pool.Exec(ctx, `UPDATE contacts SET opted_out_at = COALESCE(opted_out_at, now())
			WHERE id = (SELECT contact_id FROM messages WHERE id = $1)`, id); err != nil {
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
	var ch Channel
	var early bool // a receipt beat us here
	err := c.pool.QueryRow(ctx, `
		UPDATE messages SET state = $2, provider_id = COALESCE(NULLIF($3, ''), provider_id), error = $4,
			sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END
		WHERE id = $1
		RETURNING channel, $3 <> '' AND EXISTS (SELECT 1 FROM delivery_events WHERE channel = messages.channel AND provider_id = $3)`,
		id, state, providerID, errText).Scan(&ch, &early)
	if err == nil && early {
		err = c.tx(ctx, func(tx pgx.Tx) error { return applyDelivery(ctx, tx, ch, providerID) })
	}
	c.metrics.jobs.WithLabelValues("deliver", outcome).Inc()
	return dbErr(err)
}

// Message returns one message by id. Staff only.
func (c *Core) Message(ctx context.Context, id int64) (Message, error) {
	rows, err := c.pool.Query(ctx, `
		SELECT id, request_id, contact_id, user_id, direction, channel, COALESCE(provider_id, ''),
			subject, body, language, state, error, attempts, created_at, sent_at
		FROM messages WHERE id = $1`, id)
	if err != nil {
		return Message{}, dbErr(err)
	}
	m, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Message])
	if errors.Is(err, pgx.ErrNoRows) {
		return m, ErrNotFound
	}
	return m, dbErr(err)
}
