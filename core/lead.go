package core

import (
	"cmp"
	"context"
	"hash/fnv"
	"time"

	"townline/core/internal/db"
)

// LeadPoll is how often, by default (Options.LeadPoll), an instance that
// does not lead asks to, and the leader checks that it still holds the
// lead: how soon the work moves when the leader's instance dies (its
// connection, and with it the lock, goes when its process does).
const LeadPoll = 5 * time.Second

// Lead runs work on one instance of all those sharing the database, for
// as long as that instance holds the lead (a PostgreSQL advisory lock on
// a connection of its own): the mailbox watcher, which must not run
// twice. The others wait, asking every LeadPoll; when the leader stops or
// dies, one of them takes over. leading is told each change. Lead returns
// when ctx ends, work stopped and the lead given up.
func (c *Core) Lead(ctx context.Context, name string, leading func(bool), work func(context.Context)) {
	h := fnv.New64a()
	h.Write([]byte("townline lead: " + name))
	key := int64(h.Sum64())
	tick := time.NewTicker(cmp.Or(c.opts.LeadPoll, LeadPoll))
	defer tick.Stop()
	for {
		c.leadOnce(ctx, name, key, tick.C, leading, work)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// leadOnce takes the lead if it is free, and works until ctx ends or the
// lock's connection fails.
func (c *Core) leadOnce(ctx context.Context, name string, key int64, tick <-chan time.Time, leading func(bool), work func(context.Context)) {
	conn, err := c.pool.Acquire(ctx)
	if err != nil {
		return
	}
	q := db.New(conn) // the lock is this connection's
	if got, err := q.TryLead(ctx, key); err != nil || !got {
		conn.Release()
		return
	}
	c.log.Info("this instance leads", "work", name)
	leading(true)
	workCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); work(workCtx) }()
	for held := true; held; {
		select {
		case <-ctx.Done():
			held = false
		case <-done:
			held = false
		case <-tick:
			// Still holding it: the connection is alive.
			if err := q.StillLeading(ctx); err != nil {
				c.log.Warn("lost the lead: its connection failed", "err", err)
				held = false
			}
		}
	}
	stop()
	<-done
	leading(false)
	release, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	// Closing a connection whose lock was given up only costs the pool a
	// connection: the negated condition (a mutant) survives.
	if err := q.GiveUpLead(release, key); err != nil {
		conn.Conn().Close(release) // the lock goes with the connection
	}
	conn.Release()
}
