package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"townline/core/internal/db"
)

// ChannelState returns a value a channel remembered between runs, such as
// the last mailbox UID it read, or "" when it has none.
func (c *Core) ChannelState(ctx context.Context, key string) (string, error) {
	if err := c.checkField("key", key, noLimit); err != nil {
		return "", err
	}
	v, err := c.q.ChannelState(ctx, key)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return v, dbErr(err)
}

// SetChannelState remembers a value for a channel.
func (c *Core) SetChannelState(ctx context.Context, key, value string) error {
	if err := c.checkFields(textField{"key", key, noLimit}, textField{"value", value, noLimit}); err != nil {
		return err
	}
	return dbErr(c.q.SetChannelState(ctx, db.SetChannelStateParams{Key: key, Value: value}))
}

// ForgetChannelState removes a value a channel no longer needs, such as
// the state of a call that ended.
func (c *Core) ForgetChannelState(ctx context.Context, key string) error {
	if err := c.checkField("key", key, noLimit); err != nil {
		return err
	}
	return dbErr(c.q.DeleteChannelState(ctx, key))
}

// SweepChannelState removes the values under prefix not updated for age:
// the state of calls whose end was never reported.
func (c *Core) SweepChannelState(ctx context.Context, prefix string, age time.Duration) (int64, error) {
	n, err := c.q.SweepChannelState(ctx, db.SweepChannelStateParams{Prefix: prefix, Age: age})
	return n, dbErr(err)
}

// MarkBouncing records that mail to an address bounces: no more mail is
// sent to it until the resident writes again.
func (c *Core) MarkBouncing(ctx context.Context, email, why string) error {
	email, err := NormalizeEmail(email)
	if err != nil {
		return invalid("email", "%v", err)
	}
	// n is 0 on an error.
	n, err := c.q.MarkBouncing(ctx, email)
	if n > 0 { // only whether to log: mutants here change no outcome
		c.log.Info("address bounces; mail to it paused", "contact_email", email, "why", why)
	}
	return dbErr(err)
}

// Secret returns a random 32-byte secret kept in the database under name,
// made on first use. Every instance sharing the database gets the same one,
// and it outlives restarts: what it signed (a reply address in a mail sent
// last year) still checks.
func Secret(ctx context.Context, pool *pgxpool.Pool, name string) ([]byte, error) {
	key := "secret:" + name
	fresh := make([]byte, 32)
	rand.Read(fresh)
	q := db.New(pool)
	if err := q.AddChannelState(ctx, db.AddChannelStateParams{Key: key, Value: hex.EncodeToString(fresh)}); err != nil {
		return nil, dbErr(err)
	}
	v, err := q.ChannelState(ctx, key)
	if err != nil {
		return nil, dbErr(err)
	}
	return hex.DecodeString(v)
}
