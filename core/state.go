package core

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// ChannelState returns a value a channel remembered between runs, such as
// the last mailbox UID it read, or "" when it has none.
func (c *Core) ChannelState(ctx context.Context, key string) (string, error) {
	var v string
	err := c.pool.QueryRow(ctx, `SELECT value FROM channel_state WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return v, dbErr(err)
}

// SetChannelState remembers a value for a channel.
func (c *Core) SetChannelState(ctx context.Context, key, value string) error {
	_, err := c.pool.Exec(ctx, `INSERT INTO channel_state (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = $2, updated_at = now()`, key, value)
	return dbErr(err)
}

// MarkBouncing records that mail to an address bounces: no more mail is
// sent to it until the resident writes again.
func (c *Core) MarkBouncing(ctx context.Context, email, why string) error {
	email, err := NormalizeEmail(email)
	if err != nil {
		return invalid("email", "%v", err)
	}
	tag, err := c.pool.Exec(ctx, `UPDATE contacts SET bouncing_at = now() WHERE email = $1`, email)
	if err != nil {
		return dbErr(err)
	}
	if tag.RowsAffected() > 0 {
		c.log.Info("address bounces; mail to it paused", "contact_email", email, "why", why)
	}
	return nil
}
