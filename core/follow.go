package core

// Anyone may follow a request they did not report: its public updates
// reach them by text (FOLLOW 1234) or by mail (confirmed by a link), each
// with a way to stop, as its reporters' do. A follow is a subscription to
// one request's updates; a duplicate's followers follow its issue.

import (
	"context"
	"crypto/rand"
	"errors"

	"github.com/jackc/pgx/v5"

	"townline/core/internal/db"
)

// issueOf is the request that carries an issue's progress: the parent of
// a duplicate, else the request itself.
func (c *Core) issueOf(ctx context.Context, q *db.Queries, id int64) (Request, error) {
	r, err := c.requestOn(ctx, q, id)
	if err != nil || r.DuplicateOf == nil {
		return r, err
	}
	return c.requestOn(ctx, q, *r.DuplicateOf)
}

// FollowByMail asks for a request's updates at an email address, in
// lang: a mail with a link to confirm goes there, and nothing else until
// it is followed. The verified address of by, a signed-in resident, is
// followed at once (confirmed). It returns the request followed (a
// duplicate's issue).
func (c *Core) FollowByMail(ctx context.Context, request int64, email, lang string, by Resident) (int64, bool, error) {
	addr, err := c.mailAddress(email)
	if err != nil {
		return 0, false, err
	}
	if by.Email != "" && addr == by.Email {
		var r Request
		err := c.tx(ctx, func(t *txn) error {
			var err error
			if r, err = c.issueOf(ctx, t.q, request); err != nil {
				return err
			}
			return c.subscribeVerified(ctx, t, ChannelEmail, addr, &r.ID, false)
		})
		return r.ID, err == nil, dbErr(err)
	}
	if ok, err := c.mayConfirm(ctx, addr); !ok {
		return request, false, err
	}
	if lang != "es" {
		lang = "en"
	}
	var issue Request
	err = c.tx(ctx, func(t *txn) error {
		if issue, err = c.issueOf(ctx, t.q, request); err != nil {
			return err
		}
		row, err := t.q.UpsertContactByEmail(ctx, db.UpsertContactByEmailParams{Email: addr, Language: lang})
		if err != nil {
			return err
		}
		sub, err := t.q.SubscribeByMail(ctx, db.SubscribeByMailParams{ContactID: row.ID, Token: rand.Text(), RequestID: &issue.ID})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // confirmed already
		}
		if err != nil {
			return err
		}
		ct := contactFromDB(row)
		data := c.requestData(issue, ct.Language)
		data.URL = c.PublicURL("alerts", "confirm") + "?token=" + sub.Token
		_, err = c.enqueueFor(ctx, t, ct, outMsg{RequestID: issue.ID, Origin: ChannelEmail, Via: ChannelEmail, Kind: "follow",
			Auto: true, Data: data})
		return err
	})
	return issue.ID, false, dbErr(err)
}

// followByText follows a request for the number a text came from, at
// once (the text is the confirmation), and says so; a number that names
// no request is told that.
func (c *Core) followByText(ctx context.Context, t *txn, conv *conversation, request int64) error {
	ct := conv.Contact
	issue, err := c.issueOf(ctx, t.q, request)
	if errors.Is(err, ErrNotFound) {
		_, err = c.enqueueFor(ctx, t, ct, outMsg{Origin: conv.Channel, Kind: "status.none", Data: messageData{ID: request}, Auto: true})
		return err
	}
	if err != nil {
		return err
	}
	if _, err := t.q.SubscribeByText(ctx, db.SubscribeByTextParams{ContactID: ct.ID, Token: rand.Text(), RequestID: &issue.ID}); err != nil {
		return err
	}
	c.log.Info("following a request by text", "contact", ct.ID, "request", issue.ID)
	_, err = c.enqueueFor(ctx, t, ct, outMsg{RequestID: issue.ID, Origin: conv.Channel, Kind: "following",
		Data: c.requestData(issue, ct.Language), Auto: true})
	return err
}

// Subscription is what a confirmation or unsubscribe link names: the
// city's emergency notices (Request 0), its weekly mail of meetings and
// events (Digest), or a request's updates.
type Subscription struct {
	Request int64
	Digest  bool
	Channel Channel
}
