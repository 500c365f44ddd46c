package core

import (
	"context"
	"time"
)

// Numbers for managers: how much work waits where, and how fast it moves.

// DepartmentLoad is one department's work ("" for the triage queue).
type DepartmentLoad struct {
	Department                    string
	Open, Overdue, ClosedThisWeek int64
}

// ServiceTimes is how fast one service's requests moved within a window:
// medians, nil when none got that far.
type ServiceTimes struct {
	Service       string
	Requests      int64
	ToAcknowledge *time.Duration
	ToClose       *time.Duration
}

// ChannelWeek is how many requests came by one channel in one week.
type ChannelWeek struct {
	Week     time.Time
	Channel  Channel
	Requests int64
}

// Load returns each department's open, overdue and closed-this-week
// requests; the week starts on Monday, city time.
func (c *Core) Load(ctx context.Context, now time.Time) ([]DepartmentLoad, error) {
	local := now.In(c.city.Location)
	monday := time.Date(local.Year(), local.Month(), local.Day()-(int(local.Weekday())+6)%7, 0, 0, 0, 0, c.city.Location)
	rows, err := c.q.DepartmentLoad(ctx, monday)
	if err != nil {
		return nil, dbErr(err)
	}
	out := make([]DepartmentLoad, 0, len(rows))
	for _, r := range rows {
		out = append(out, DepartmentLoad{Department: r.Department, Open: r.Open, Overdue: r.Overdue, ClosedThisWeek: r.ClosedThisWeek})
	}
	return out, nil
}

// Times returns, per service, the median time to acknowledge and to close
// requests made within the last window (duplicates left out: they close
// with their parent).
func (c *Core) Times(ctx context.Context, window time.Duration) ([]ServiceTimes, error) {
	rows, err := c.q.ServiceTimes(ctx, window)
	if err != nil {
		return nil, dbErr(err)
	}
	seconds := func(s float64) *time.Duration {
		if s < 0 { // -1: none (<= the same: a median of exactly 0 s is not met)
			return nil
		}
		d := time.Duration(s * float64(time.Second)).Round(time.Minute)
		return &d
	}
	out := make([]ServiceTimes, 0, len(rows))
	for _, r := range rows {
		out = append(out, ServiceTimes{Service: r.Service, Requests: r.Requests,
			ToAcknowledge: seconds(r.AcknowledgeSeconds), ToClose: seconds(r.CloseSeconds)})
	}
	return out, nil
}

// ChannelWeeks returns requests per channel per week (city time), the
// last twelve weeks.
func (c *Core) ChannelWeeks(ctx context.Context) ([]ChannelWeek, error) {
	rows, err := c.q.ChannelWeeks(ctx, c.city.Location.String())
	if err != nil {
		return nil, dbErr(err)
	}
	out := make([]ChannelWeek, 0, len(rows))
	for _, r := range rows {
		out = append(out, ChannelWeek{Week: r.Week, Channel: Channel(r.Channel), Requests: r.Requests})
	}
	return out, nil
}

// Classified is how well townline read one channel's reports within a
// window: of the requests it filed from residents' words, how many it
// gave a service, and how many of those staff then moved to another.
type Classified struct {
	Channel                         Channel
	Requests, Classified, Corrected int64
}

// Classification returns, per channel whose reports townline classifies
// from words (texts, mail, the web), how it did within the last window.
func (c *Core) Classification(ctx context.Context, window time.Duration) ([]Classified, error) {
	rows, err := c.q.Classification(ctx, window)
	if err != nil {
		return nil, dbErr(err)
	}
	out := make([]Classified, 0, len(rows))
	for _, r := range rows {
		out = append(out, Classified{Channel: Channel(r.Channel), Requests: r.Requests, Classified: r.Classified, Corrected: r.Corrected})
	}
	return out, nil
}
