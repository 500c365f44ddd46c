package core

// Once a week, those who asked for it by mail get the city's meetings and
// events of the coming seven days, in their language; a week with none
// sends nothing. It goes out as a broadcast of the week: once, whatever
// restarts happen.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/riverqueue/river"

	"townline/core/internal/db"
	"townline/templates"
)

// weeklyDigestAt is when the weekly mail goes: Mondays at 7 am, city time.
const weeklyDigestAt = "0 7 * * 1"

// comingEvent is a meeting or event as the weekly mail lists it.
type comingEvent struct {
	Title, When, Place, URL string
}

// comingWeek lists the meetings and events of the seven days from a
// moment, cancelled ones left out.
func (c *Core) comingWeek(ctx context.Context, from time.Time) ([]Announcement, error) {
	list, err := c.Announcements(ctx, from, 200)
	if err != nil {
		return nil, err
	}
	var out []Announcement
	for _, a := range list {
		if a.Kind != KindEmergency && a.Cancelled == nil && a.Starts.Before(from.AddDate(0, 0, 7)) {
			out = append(out, a)
		}
	}
	return out, nil
}

// digestWords writes the weekly mail in each language.
func (c *Core) digestWords(coming []Announcement) (db.FanOutParams, error) {
	var p db.FanOutParams
	for _, lang := range []string{"en", "es"} {
		d := messageData{City: c.city.Name}
		for _, a := range coming {
			d.Coming = append(d.Coming, comingEvent{Title: a.TitleIn(lang), Place: a.Place,
				When: templates.When(lang, a.Starts.In(c.city.Location), "full"),
				URL:  c.PublicURL("announcements", fmt.Sprint(a.ID))})
		}
		subject, body, err := templates.Message(lang, "digest.email", d)
		if err != nil {
			return p, err
		}
		if lang == "es" {
			p.SubjectEs, p.MailEs, p.TextEs = subject, body, subject
		} else {
			p.SubjectEn, p.MailEn, p.TextEn = subject, body, subject
		}
	}
	return p, nil
}

// SendWeeklyDigest queues this week's mail of coming meetings and events
// to its subscribers, unless the week's went already or nothing is
// coming. It reports whether it queued one.
func (c *Core) SendWeeklyDigest(ctx context.Context) (bool, error) {
	return c.sendWeeklyDigest(ctx, time.Now())
}

func (c *Core) sendWeeklyDigest(ctx context.Context, now time.Time) (bool, error) {
	now = now.In(c.city.Location)
	coming, err := c.comingWeek(ctx, now)
	if err != nil || len(coming) == 0 {
		return false, err
	}
	// The week is named by its Monday.
	monday := time.Date(now.Year(), now.Month(), now.Day()-(int(now.Weekday())+6)%7, 0, 0, 0, 0, c.city.Location)
	sent := false
	err = c.tx(ctx, func(t *txn) error {
		id, err := t.q.InsertWeeklyDigest(ctx, pgtype.Date{Time: monday, Valid: true})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // this week's went already
		}
		if err != nil {
			return err
		}
		sent = true
		_, err = c.river.InsertTx(ctx, t.Tx, broadcastArgs{BroadcastID: id}, nil)
		return err
	})
	return sent, dbErr(err)
}

type weeklyDigestArgs struct{}

func (weeklyDigestArgs) Kind() string { return "weekly_digest" }

type weeklyDigestWorker struct {
	river.WorkerDefaults[weeklyDigestArgs]
	core *Core
}

func (w *weeklyDigestWorker) Work(ctx context.Context, _ *river.Job[weeklyDigestArgs]) error {
	_, err := w.core.SendWeeklyDigest(ctx)
	return err
}
