package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"townline/core/internal/db"
)

// A Change says that a request changed: it was filed or acted on, or a
// message on it came in, went out or was delivered. The database notes
// every change, whoever makes it on whichever instance (migration 010).
type Change struct {
	At      time.Time
	Request int64
	// Departments are where the request is now and, when the change moved
	// it, where it was; "" is the triage queue.
	Departments []string
}

// Hears reports whether u may hear of c: staff hear of the requests of
// their departments, including one that just left them.
func (u User) Hears(c Change) bool {
	return slices.ContainsFunc(c.Departments, func(d string) bool { return u.CanSee(Request{Department: d}) })
}

// KeepChanges is how long changes are kept for pages that lost their
// connection to ask for what they missed.
const KeepChanges = 24 * time.Hour

// ChangesSince returns the latest change of each request made after
// since, oldest first, at most limit of them. complete is false when it
// cannot tell: since is older than the changes kept, or more than limit
// requests changed.
func (c *Core) ChangesSince(ctx context.Context, since time.Time, limit int) (changes []Change, complete bool, err error) {
	if time.Since(since) > KeepChanges {
		return nil, false, nil
	}
	rows, err := c.q.RequestChangesSince(ctx, db.RequestChangesSinceParams{Since: since, MaxRows: int32(limit + 1)})
	if err != nil {
		return nil, false, dbErr(err)
	}
	for _, r := range rows[:min(len(rows), limit)] {
		changes = append(changes, Change{At: r.At, Request: r.RequestID,
			Departments: append([]string{r.DepartmentCode}, r.PreviousDepartments...)})
	}
	return changes, len(rows) <= limit, nil
}

// ListenChanges calls changed for every change committed from now on, on
// any instance, until ctx ends. It holds a connection of its own (not one
// of the pool's), and connects again when it is lost. It calls listening
// each time it starts to listen, the first time too: changes committed
// before that were not heard (ChangesSince has them).
func (c *Core) ListenChanges(ctx context.Context, changed func(Change), listening func()) {
	const maxWait = 30 * time.Second // a time no test waits out: its mutants survive
	wait := time.Second
	for {
		err := c.listen(ctx, changed, func() { wait = time.Second; listening() })
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("live updates: lost the database; trying again", "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, maxWait)
	}
}

// listen runs one connection's LISTEN until it fails or ctx ends;
// listening is called once it listens.
func (c *Core) listen(ctx context.Context, changed func(Change), listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, c.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := db.New(conn).ListenRequestChanges(ctx); err != nil {
		return err
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		ch, err := parseChange(n.Payload)
		if err != nil {
			return err
		}
		changed(ch)
	}
}

// parseChange reads the payload note_request_change sends.
func parseChange(payload string) (Change, error) {
	var p struct {
		At         int64   `json:"at"`
		Request    int64   `json:"request"`
		Department string  `json:"department"`
		Previous   *string `json:"previous"`
	}
	if err := json.Unmarshal([]byte(payload), &p); err != nil || p.Request == 0 {
		return Change{}, errors.Join(fmt.Errorf("live updates: a notification that is not a change: %q", payload), err)
	}
	ch := Change{At: time.UnixMicro(p.At), Request: p.Request, Departments: []string{p.Department}}
	if p.Previous != nil {
		ch.Departments = append(ch.Departments, *p.Previous)
	}
	return ch, nil
}
