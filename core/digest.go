package core

// The daily digest: each department with an address in the city file gets,
// on the city file's schedule, one mail listing its overdue requests,
// those due today and those new since the day before. The same schedule
// marks the requests that became overdue.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"townline/core/internal/db"
)

// digestArgs is the periodic job that mails the digests.
type digestArgs struct{}

func (digestArgs) Kind() string { return "digest" }

type digestWorker struct {
	river.WorkerDefaults[digestArgs]
	core *Core
}

func (w *digestWorker) Work(ctx context.Context, job *river.Job[digestArgs]) error {
	if err := w.core.MarkOverdue(ctx); err != nil {
		return err
	}
	return w.core.SendDigests(ctx, time.Now())
}

// MarkOverdue notes in the history of each open request past its due
// time, once, that it is overdue: the record of a missed target stays
// when the request is closed later. The digest's schedule runs it.
func (c *Core) MarkOverdue(ctx context.Context) error {
	// n is 0 on an error.
	n, err := c.q.MarkOverdue(ctx, c.city.Location.String())
	if n > 0 { // a log line only (changed, an equivalent mutant)
		c.log.Info("requests marked overdue", "requests", n)
	}
	return dbErr(err)
}

// digestListMax is how many requests each list of a digest names; the
// rest are counted.
const digestListMax = 50

// SendDigests mails each department with an address its digest for the
// day of now, in the city's time: once a day, however often it is called
// (a retried job sends only the departments it has not sent yet).
func (c *Core) SendDigests(ctx context.Context, now time.Time) error {
	sender := c.opts.Senders[ChannelEmail]
	if sender == nil {
		return nil // the city has no outgoing mail
	}
	local := now.In(c.city.Location)
	y, m, d := local.Date()
	dayStart := time.Date(y, m, d, 0, 0, 0, 0, c.city.Location)
	dayEnd := dayStart.AddDate(0, 0, 1)
	for _, dep := range c.city.Departments {
		if dep.Email == "" {
			continue
		}
		key := fmt.Sprintf("digest:%s:%s", dep.Code, local.Format(time.DateOnly))
		if done, err := c.ChannelState(ctx, key); err != nil || done != "" {
			if err != nil {
				return err
			}
			continue
		}
		rows, err := c.q.DigestRequests(ctx, db.DigestRequestsParams{Department: dep.Code, Until: dayEnd, Since: now.Add(-24 * time.Hour)})
		if err != nil {
			return dbErr(err)
		}
		subject, body := c.digest(dep, local, now, dayEnd, rows)
		if _, err := sender.Send(ctx, Outbound{Channel: ChannelEmail, To: dep.Email, Subject: subject, Body: body, Language: "en", Auto: true}); err != nil {
			return fmt.Errorf("digest for %s: %w", dep.Code, err)
		}
		if err := c.SetChannelState(ctx, key, now.UTC().Format(time.RFC3339)); err != nil {
			return err
		}
		c.log.Info("digest sent", "department", dep.Code, "to", dep.Email, "requests", len(rows))
	}
	return nil
}

// digest writes one department's digest.
func (c *Core) digest(dep Department, local, now, dayEnd time.Time, rows []db.DigestRequestsRow) (subject, body string) {
	var overdue, today, fresh []string
	line := func(r db.DigestRequestsRow) string {
		svc := ""
		if r.ServiceCode != nil {
			svc = c.city.ServiceName(*r.ServiceCode, "", "en")
		}
		if svc == "" {
			svc = unclassified("en")
		}
		s := fmt.Sprintf("  #%d %s", r.ID, svc)
		if r.Address != "" {
			s += ", " + r.Address
		}
		if r.ExpectedAt != nil {
			s += " — due " + r.ExpectedAt.In(c.city.Location).Format("Mon Jan 2, 3:04 PM")
		}
		return s + "\n    " + c.opts.PublicURL + fmt.Sprintf("/staff/requests/%d", r.ID)
	}
	for _, r := range rows {
		switch {
		case r.ExpectedAt != nil && r.ExpectedAt.Before(now):
			overdue = append(overdue, line(r))
		case r.ExpectedAt != nil && r.ExpectedAt.Before(dayEnd):
			today = append(today, line(r))
		}
		if !r.RequestedAt.Before(now.Add(-24 * time.Hour)) {
			fresh = append(fresh, line(r))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s 311: %s's requests, %s.\n", c.city.Name, dep.Name, local.Format("Monday, January 2"))
	for _, part := range []struct {
		title string
		list  []string
	}{{"Overdue", overdue}, {"Due today", today}, {"New since yesterday", fresh}} {
		fmt.Fprintf(&b, "\n%s: %d\n", part.title, len(part.list))
		for i, l := range part.list {
			if i == digestListMax {
				fmt.Fprintf(&b, "  and %d more\n", len(part.list)-digestListMax)
				break
			}
			b.WriteString(l + "\n")
		}
	}
	fmt.Fprintf(&b, "\nThe inbox: %s/staff/?queue=departments\n", c.opts.PublicURL)
	subject = fmt.Sprintf("%s 311 digest: %d overdue, %d due today, %d new", dep.Name, len(overdue), len(today), len(fresh))
	return subject, b.String()
}
