package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"townline/core/internal/db"
)

// What the staff workspace needs from core: signing in without letting a
// guesser through, who may see which request, the inbox's queues, and the
// actions that move a request along.

// ErrLockedOut refuses a sign-in after too many failures, for the account
// or from the address, within signinWindow.
var ErrLockedOut = errors.New("too many failed sign-ins; try again later")

// Sign-in throttling: an account locks after signinAccountLimit failures
// within signinWindow, an address after signinAddressLimit (a guesser
// trying many accounts from one place).
const (
	signinWindow       = 15 * time.Minute
	signinAccountLimit = 5
	signinAddressLimit = 20
)

// SignIn checks a staff member's email and password, counting failures
// by account and by address. It returns ErrNotFound for a wrong email or
// password (never which), and ErrLockedOut while either is locked.
func (c *Core) SignIn(ctx context.Context, email, password, addr string) (User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if err := c.checkFields(textField{"email", email, 320}, textField{"address", addr, 100}); err != nil {
		return User{}, err
	}
	keys := db.RecentSigninFailuresParams{Account: "email:" + email, Address: "addr:" + addr, Within: signinWindow}
	n, err := c.q.RecentSigninFailures(ctx, keys)
	if err != nil {
		return User{}, dbErr(err)
	}
	if n.Account >= signinAccountLimit || n.Address >= signinAddressLimit {
		hashPassword(password) // as slow as a real check
		c.log.Warn("sign-in refused: locked out", "email", email, "addr", addr)
		return User{}, ErrLockedOut
	}
	u, err := c.Authenticate(ctx, email, password)
	switch {
	case errors.Is(err, ErrNotFound):
		c.log.Info("sign-in failed", "email", email, "addr", addr)
		if err := c.q.AddSigninFailure(ctx, db.AddSigninFailureParams{Account: keys.Account, Address: keys.Address}); err != nil {
			return User{}, dbErr(err)
		}
		return User{}, ErrNotFound
	case err != nil:
		return User{}, err
	}
	if err := c.q.ClearSigninFailures(ctx, keys.Account); err != nil {
		return User{}, dbErr(err)
	}
	c.log.Info("signed in", "user", u.ID, "addr", addr)
	return u, nil
}

// User returns an active staff account, or ErrNotFound once disabled.
func (c *Core) User(ctx context.Context, id int64) (User, error) {
	row, err := c.q.ActiveUser(ctx, id)
	if err != nil {
		return User{}, dbErr(notFound(err))
	}
	return User{ID: row.ID, Email: row.Email, Name: row.Name, Role: row.Role, Departments: row.Departments}, nil
}

// StaffNames lists the active users requests can be assigned to.
func (c *Core) StaffNames(ctx context.Context) ([]User, error) {
	rows, err := c.q.StaffNames(ctx)
	if err != nil {
		return nil, dbErr(err)
	}
	us := make([]User, 0, len(rows))
	for _, r := range rows {
		us = append(us, User{ID: r.ID, Email: r.Email, Name: r.Name})
	}
	return us, nil
}

// AllDepartments: dispatchers and admins work every department's requests
// and the triage queue; staff only their departments'.
func (u User) AllDepartments() bool { return u.Role == "admin" || u.Role == "dispatcher" }

// CanSee reports whether u may see and act on r.
func (u User) CanSee(r Request) bool {
	return u.AllDepartments() || (r.Department != "" && slices.Contains(u.Departments, r.Department))
}

// StaffRequest returns a request u may see; any other is ErrNotFound, as
// if it did not exist.
func (c *Core) StaffRequest(ctx context.Context, u User, id int64) (Request, error) {
	r, err := c.Request(ctx, id)
	if err != nil {
		return Request{}, err
	}
	if !u.CanSee(r) {
		return Request{}, ErrNotFound
	}
	return r, nil
}

// Queues of the inbox.
var Queues = []string{"triage", "unassigned", "mine", "departments", "flagged", "all"}

// Cursor marks where an inbox page ended: the next page starts after it.
type Cursor struct {
	At time.Time
	ID int64
}

// InboxQuery selects one page of an inbox queue. Empty fields do not
// filter.
type InboxQuery struct {
	Queue      string
	Status     Status
	Service    string
	Department string
	Channel    Channel
	Overdue    bool
	After      *Cursor
	Limit      int
}

// Inbox returns one page of the queue and the cursor of the next, if any.
func (c *Core) Inbox(ctx context.Context, u User, q InboxQuery) ([]Request, *Cursor, error) {
	if !slices.Contains(Queues, q.Queue) {
		return nil, nil, invalid("queue", "%q is not one of %s", q.Queue, strings.Join(Queues, ", "))
	}
	if err := c.checkFields(textField{"status", string(q.Status), 20}, textField{"service", q.Service, 100},
		textField{"department", q.Department, 100}, textField{"channel", string(q.Channel), 20}); err != nil {
		return nil, nil, err
	}
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 50
	}
	p := db.InboxParams{
		AllDepartments: u.AllDepartments(), Departments: u.Departments, Queue: q.Queue, UserID: u.ID,
		Status: nonEmpty(string(q.Status)), Service: nonEmpty(q.Service), Department: nonEmpty(q.Department),
		Channel: nonEmpty(string(q.Channel)), Overdue: q.Overdue, MaxRows: int32(q.Limit + 1),
	}
	if p.Departments == nil {
		p.Departments = []string{}
	}
	if q.After != nil {
		p.BeforeAt, p.BeforeID = &q.After.At, &q.After.ID
	}
	rows, err := c.q.Inbox(ctx, p)
	if err != nil {
		return nil, nil, dbErr(err)
	}
	rs, err := requestsFromDB(rows)
	if err != nil || len(rs) <= q.Limit {
		return rs, nil, err
	}
	rs = rs[:q.Limit]
	last := rs[len(rs)-1]
	return rs, &Cursor{At: last.RequestedAt, ID: last.ID}, nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// InboxCounts says how many requests wait in each queue u sees.
func (c *Core) InboxCounts(ctx context.Context, u User) (map[string]int64, error) {
	deps := u.Departments
	if deps == nil {
		deps = []string{}
	}
	n, err := c.q.InboxCounts(ctx, db.InboxCountsParams{AllDepartments: u.AllDepartments(), Departments: deps, UserID: u.ID})
	if err != nil {
		return nil, dbErr(err)
	}
	return map[string]int64{"triage": n.Triage, "unassigned": n.Unassigned, "mine": n.Mine,
		"departments": n.Departments, "flagged": n.Flagged, "all": n.AllRequests}, nil
}

// Attachments returns a request's files, for staff.
func (c *Core) Attachments(ctx context.Context, requestID int64) ([]Attachment, error) {
	rows, err := c.q.RequestAttachments(ctx, &requestID)
	if err != nil {
		return nil, dbErr(err)
	}
	as := make([]Attachment, 0, len(rows))
	for _, a := range rows {
		as = append(as, attachmentFromDB(a))
	}
	return as, nil
}

// StaffAttachment returns a file of a request u may see; any other is
// ErrNotFound.
func (c *Core) StaffAttachment(ctx context.Context, u User, id int64) (Attachment, error) {
	row, err := c.q.GetAttachment(ctx, id)
	if err != nil {
		return Attachment{}, dbErr(notFound(err))
	}
	a := attachmentFromDB(row)
	if a.RequestID == 0 {
		return Attachment{}, ErrNotFound
	}
	if _, err := c.StaffRequest(ctx, u, a.RequestID); err != nil {
		return Attachment{}, err
	}
	return a, nil
}

func attachmentFromDB(a db.Attachment) Attachment {
	return Attachment{ID: a.ID, RequestID: deref(a.RequestID), SHA256: a.BlobSha256, Filename: a.Filename,
		ContentType: a.ContentType, Size: a.Size, Public: a.Public}
}

// ContactRequests lists a reporter's requests, newest first. Staff only.
func (c *Core) ContactRequests(ctx context.Context, contactID int64) ([]Request, error) {
	rows, err := c.q.ContactRequestList(ctx, contactID)
	if err != nil {
		return nil, dbErr(err)
	}
	return requestsFromDB(rows)
}

// Assign gives a request to a department (or back to the triage queue,
// with "") and a staff member (or none), with the change in its history.
func (c *Core) Assign(ctx context.Context, id int64, department string, assignee *int64, by Actor) error {
	if department != "" {
		if _, ok := c.city.Department(department); !ok {
			return invalid("department", "%q is not a department of %s", department, c.city.Name)
		}
	}
	var name string
	if assignee != nil {
		u, err := c.User(ctx, *assignee)
		if errors.Is(err, ErrNotFound) {
			return invalid("assignee", "no active user %d", *assignee)
		}
		if err != nil {
			return err
		}
		name = cmp.Or(u.Name, u.Email)
	}
	err := c.tx(ctx, func(t *txn) error {
		was, err := t.q.LockRequestAssignment(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if was.Department == department && equalPtr(was.AssigneeID, assignee) {
			return nil
		}
		if err := t.q.AssignRequest(ctx, db.AssignRequestParams{ID: id, Department: department, AssigneeID: assignee}); err != nil {
			return err
		}
		note := "assigned to " + cmp.Or(department, "the triage queue")
		if name != "" {
			note += ", " + name
		}
		return insertEventDept(ctx, t.q, id, by, department, note)
	})
	if err != nil {
		return fmt.Errorf("request %d: %w", id, err)
	}
	return nil
}

func equalPtr[T comparable](a, b *T) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}
