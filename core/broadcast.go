package core

// Residents subscribe to the city's emergency notices: by text (ALERTS,
// or ALERTAS), or by mail, confirmed by a link mailed to them. Staff send
// an emergency notice to them all at once: one message per subscriber
// and channel, in their language, written in one transaction and
// delivered by the job queue at each channel's rate, exactly once.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"townline/core/internal/db"
	"townline/templates"
)

// ErrAlreadySent is a second sending of one emergency notice.
var ErrAlreadySent = errors.New("this notice was already sent to the subscribers")

// maxAlertText is the most of a notice's text a text message carries
// (about two segments with the rest); the page linked has it all.
const maxAlertText = 200

// mailAddress reads an address a resident asked mail at; with no mail
// channel connected, none can be sent, and they are told so rather than
// to wait for a confirmation that never comes.
func (c *Core) mailAddress(email string) (string, error) {
	addr, err := NormalizeEmail(email)
	if err != nil {
		return "", invalid("email", "%v", err)
	}
	if c.opts.Senders[ChannelEmail] == nil {
		return "", fmt.Errorf("%w: no mail is connected", ErrNotConnected)
	}
	return addr, nil
}

// confirmationsPerHour is how many confirmation mails one mailbox gets
// an hour, whoever asks for them: a form cannot be used to flood it.
const confirmationsPerHour = 3

// mayConfirm says whether one more confirmation mail may go to addr this
// hour. One that may not is not sent, and the asker is answered as if it
// were: whoever typed the address learns nothing.
func (c *Core) mayConfirm(ctx context.Context, addr string) (bool, error) {
	ok, err := c.Allow(ctx, "confirmation", addr, confirmationsPerHour)
	if err == nil && !ok { // a log line's condition: its mutants survive
		c.log.Warn("confirmation not sent again within the hour", "limit", confirmationsPerHour)
	}
	return ok, err
}

func (c *Core) unsubscribeURL(token string) string {
	return c.PublicURL("alerts", "unsubscribe") + "?token=" + token
}

// SubscribeByMail asks for the city's emergency notices (or, with
// digest, its weekly mail of coming meetings and events) at an email
// address, in lang: a mail with a link to confirm goes there, and nothing
// else until it is followed. An address already confirmed is left as it
// is.
func (c *Core) SubscribeByMail(ctx context.Context, email, lang string, digest bool) error {
	addr, err := c.mailAddress(email)
	if err != nil {
		return err
	}
	if ok, err := c.mayConfirm(ctx, addr); !ok {
		return err
	}
	if lang != "es" {
		lang = "en"
	}
	return dbErr(c.tx(ctx, func(t *txn) error {
		row, err := t.q.UpsertContactByEmail(ctx, db.UpsertContactByEmailParams{Email: addr, Language: lang})
		if err != nil {
			return err
		}
		sub, err := t.q.SubscribeByMail(ctx, db.SubscribeByMailParams{ContactID: row.ID, Token: rand.Text(), Digest: digest})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // confirmed already
		}
		if err != nil {
			return err
		}
		ct := contactFromDB(row)
		kind := "subscribe"
		if digest {
			kind = "subscribe.digest"
		}
		_, err = c.enqueueFor(ctx, t, ct, outMsg{Origin: ChannelEmail, Via: ChannelEmail, Kind: kind, Auto: true,
			Data: messageData{URL: c.PublicURL("alerts", "confirm") + "?token=" + sub.Token}})
		return err
	}))
}

// ConfirmSubscription confirms the subscription a mailed link names, and
// says what it is; following the link again changes nothing.
// ErrNotFound: no such link, or the subscription ended.
func (c *Core) ConfirmSubscription(ctx context.Context, token string) (Subscription, error) {
	s, err := c.q.ConfirmSubscription(ctx, token)
	if err != nil {
		return Subscription{}, dbErr(notFound(err))
	}
	return subscriptionFromDB(s), nil
}

// Unsubscribe ends the subscription an unsubscribe link names, and says
// what it was. ErrNotFound: no such link, or ended already.
func (c *Core) Unsubscribe(ctx context.Context, token string) (Subscription, error) {
	s, err := c.q.EndSubscription(ctx, token)
	if err != nil {
		return Subscription{}, dbErr(notFound(err))
	}
	return subscriptionFromDB(s), nil
}

func subscriptionFromDB(s db.Subscription) Subscription {
	return Subscription{Request: deref(s.RequestID), Digest: s.Digest, Channel: Channel(s.Channel)}
}

// EmergencySubscribers counts who would hear an emergency notice.
func (c *Core) EmergencySubscribers(ctx context.Context) (int64, error) {
	n, err := c.q.EmergencySubscribers(ctx)
	return n, dbErr(err)
}

// Broadcast sends an emergency notice in force to every subscriber,
// once: a second call is ErrAlreadySent.
func (c *Core) Broadcast(ctx context.Context, announcement int64, by Actor) error {
	a, err := c.GetAnnouncement(ctx, announcement)
	if err != nil {
		return err
	}
	switch {
	case a.Kind != KindEmergency:
		return invalid("announcement", "only emergency notices are sent to the subscribers")
	case a.Cancelled != nil || !a.Ends.After(time.Now()):
		return invalid("announcement", "it is no longer in force")
	}
	return dbErr(c.tx(ctx, func(t *txn) error {
		id, err := t.q.InsertBroadcast(ctx, db.InsertBroadcastParams{AnnouncementID: &a.ID, ActorID: by.UserID, Actor: by.Name})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrAlreadySent
		}
		if err != nil {
			return err
		}
		if _, err := c.river.InsertTx(ctx, t.Tx, broadcastArgs{BroadcastID: id}, nil); err != nil {
			return fmt.Errorf("queue the broadcast: %w", err)
		}
		return adminLog(ctx, t, by, "announcement.broadcast", a.Title, "emergency")
	}))
}

// BroadcastProgress is how far an emergency notice's sending has come.
type BroadcastProgress struct {
	Sent, Delivered, Failed, Remaining int
	Recipients                         int
	Started                            time.Time
	Written                            bool // every message is written (the rest is delivery)
}

// Broadcasted returns the progress of an announcement's broadcast; ok is
// false when it was not sent.
func (c *Core) Broadcasted(ctx context.Context, announcement int64) (p BroadcastProgress, ok bool, err error) {
	b, err := c.q.BroadcastOf(ctx, &announcement)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, dbErr(err)
	}
	counts, err := c.q.BroadcastProgress(ctx, b.ID)
	if err != nil {
		return p, false, dbErr(err)
	}
	return BroadcastProgress{Sent: int(counts.Sent), Delivered: int(counts.Delivered), Failed: int(counts.Failed),
		Remaining: int(counts.Remaining), Recipients: int(b.Texts + b.Mails), Started: b.CreatedAt,
		Written: b.FannedOutAt != nil}, true, nil
}

type broadcastArgs struct {
	BroadcastID int64 `json:"broadcast_id"`
}

func (broadcastArgs) Kind() string { return "broadcast" }

// broadcastWorker writes a broadcast's messages and queues their
// delivery, spread at each channel's rate, a batch of subscribers at a
// time: each batch and its progress in one transaction, so that a crash
// loses at most the batch it was writing, which the job's next run writes
// again, and a list of any length never holds a transaction long.
type broadcastWorker struct {
	river.WorkerDefaults[broadcastArgs]
	core *Core
}

// broadcastBatch is how many subscriptions a transaction writes.
const broadcastBatch = 2000

func (w *broadcastWorker) Work(ctx context.Context, job *river.Job[broadcastArgs]) error {
	// A run writes batches for at most half of its time, then makes way
	// for the next run (a snooze, not a failure): the rescue of a run a
	// crash cut short waits for a job's timeout, so that stays short.
	stop := time.Now().Add(time.Minute)
	if deadline, ok := ctx.Deadline(); ok {
		// How much of its time a run takes only decides when it snoozes,
		// never what it writes ("* 2" survives mutation testing).
		stop = time.Now().Add(time.Until(deadline) / 2)
	}
	for {
		done, err := w.core.fanOut(ctx, job.Args.BroadcastID)
		switch {
		case err != nil || done:
			return err
		case time.Now().After(stop):
			return river.JobSnooze(0)
		}
	}
}

// fanOut writes the next batch of a broadcast; done when none is left.
func (c *Core) fanOut(ctx context.Context, id int64) (done bool, err error) {
	err = c.tx(ctx, func(t *txn) error {
		b, err := t.q.LockBroadcast(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return river.JobCancel(fmt.Errorf("broadcast %d does not exist", id))
		}
		if err != nil || b.FannedOutAt != nil {
			done = true
			return err
		}
		// A batch one larger or smaller writes the same messages (an
		// equivalent mutant of "- 1").
		upto, err := t.q.BatchEnd(ctx, db.BatchEndParams{After: b.LastID, Skip: broadcastBatch - 1})
		if errors.Is(err, pgx.ErrNoRows) {
			upto, done = math.MaxInt64, true // the last batch
		} else if err != nil {
			return err
		}
		var params db.FanOutParams
		if b.AnnouncementID != nil {
			row, err := t.q.GetAnnouncement(ctx, *b.AnnouncementID)
			if err != nil {
				return err
			}
			params, err = c.alertWords(announcementFromDB(row))
			if err != nil {
				return err
			}
		} else {
			coming, err := c.comingWeek(ctx, b.CreatedAt)
			if err != nil {
				return err
			}
			if params, err = c.digestWords(coming); err != nil {
				return err
			}
			params.Digest = true
		}
		params.BroadcastID, params.After, params.Upto = b.ID, b.LastID, upto
		msgs, err := t.q.FanOut(ctx, params)
		if err != nil {
			return err
		}
		jobs := make([]river.InsertManyParams, 0, len(msgs))
		texts, mails := 0, 0
		for _, m := range msgs {
			// The k-th message of a channel goes k/rate seconds after the
			// broadcast began (at once, when that is past).
			n, before, rate := &mails, b.Mails, c.mailRate()
			if m.Channel == string(ChannelSMS) {
				n, before, rate = &texts, b.Texts, c.textRate()
			}
			at := b.CreatedAt.Add(time.Duration(float64(int(before)+*n) / rate * float64(time.Second)))
			*n++
			jobs = append(jobs, river.InsertManyParams{Args: deliverArgs{MessageID: m.ID}, InsertOpts: &river.InsertOpts{ScheduledAt: at}})
		}
		if len(jobs) > 0 { // ">= 0" is the same: an empty insert inserts nothing
			if _, err := c.river.InsertManyFastTx(ctx, t.Tx, jobs); err != nil {
				return fmt.Errorf("queue the broadcast's deliveries: %w", err)
			}
		}
		if done { // a log line: mutants of its counts survive
			c.log.Info("broadcast queued for its subscribers", "broadcast", b.ID, "week", b.Week,
				"texts", int(b.Texts)+texts, "mails", int(b.Mails)+mails)
		}
		return t.q.FannedOut(ctx, db.FannedOutParams{ID: b.ID, LastID: upto, Texts: int32(texts), Mails: int32(mails), Done: done})
	})
	return done, dbErr(err)
}

func (c *Core) textRate() float64 { return rateOr(c.opts.TextRate, 1) }
func (c *Core) mailRate() float64 { return rateOr(c.opts.MailRate, 10) }

func rateOr(rate, def float64) float64 {
	if rate > 0 {
		return rate
	}
	return def
}

// alertWords writes a notice as each language and channel carries it.
func (c *Core) alertWords(a Announcement) (db.FanOutParams, error) {
	var p db.FanOutParams
	for _, lang := range []string{"en", "es"} {
		d := messageData{City: c.city.Name, Title: a.TitleIn(lang), Note: a.BodyIn(lang), Area: a.Area,
			Severity: string(a.Severity), URL: c.PublicURL("announcements", fmt.Sprint(a.ID)),
			Until: templates.When(lang, a.Ends.In(c.city.Location), "full")}
		subject, mail, err := templates.Message(lang, "alert.email", d)
		if err != nil {
			return p, err
		}
		d.Note = Truncate(d.Note, maxAlertText)
		_, text, err := templates.Message(lang, "alert.sms", d)
		if err != nil {
			return p, err
		}
		if lang == "es" {
			p.SubjectEs, p.MailEs, p.TextEs = subject, mail, text
		} else {
			p.SubjectEn, p.MailEn, p.TextEn = subject, mail, text
		}
	}
	return p, nil
}
