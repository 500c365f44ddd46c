package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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

// Secret returns a random 32-byte secret kept in the database under name,
// made on first use. Every instance sharing the database gets the same one,
// and it outlives restarts: what it signed (a reply address in a mail sent
// last year) still checks.
func Secret(ctx context.Context, pool *pgxpool.Pool, name string) ([]byte, error) {
	key := "secret:" + name
	fresh := make([]byte, 32)
	rand.Read(fresh)
	if _, err := pool.Exec(ctx, `INSERT INTO channel_state (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		key, hex.EncodeToString(fresh)); err != nil {
		return nil, dbErr(err)
	}
	var v string
	if err := pool.QueryRow(ctx, `SELECT value FROM channel_state WHERE key = $1`, key).Scan(&v); err != nil {
		return nil, dbErr(err)
	}
	return hex.DecodeString(v)
}
