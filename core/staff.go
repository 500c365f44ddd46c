package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

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

// Announces reports whether u speaks for the city: posts, changes and
// cancels its meetings, events and emergency notices.
func (u User) Announces() bool { return u.AllDepartments() }

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

// Sorts of the inbox: newest first (the default), oldest first, and due
// (the soonest expected date first, requests with none last).
var Sorts = []string{"newest", "oldest", "due"}

// MaxSearch is the longest search the inbox takes.
const MaxSearch = 200

// Cursor marks where an inbox page ended: the next page starts after it.
// It holds the last row's sort key: when it was requested (newest,
// oldest) or when it is due (due), and its id for ties.
type Cursor struct {
	At *time.Time // nil only in the due order: the last row has no expected date
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
	// Search finds words and "quoted phrases" (with or, and -word to
	// leave out) in descriptions, addresses and messages, in English and
	// Spanish; a number finds that request too, and "#1234" only it.
	Search string
	Sort   string // one of Sorts; "" is newest
	After  *Cursor
	Limit  int
}

// Inbox returns one page of the queue and the cursor of the next, if any.
func (c *Core) Inbox(ctx context.Context, u User, q InboxQuery) ([]Request, *Cursor, error) {
	if !slices.Contains(Queues, q.Queue) {
		return nil, nil, invalid("queue", "%q is not one of %s", q.Queue, strings.Join(Queues, ", "))
	}
	q.Sort = cmp.Or(q.Sort, "newest")
	if !slices.Contains(Sorts, q.Sort) {
		return nil, nil, invalid("sort", "%q is not one of %s", q.Sort, strings.Join(Sorts, ", "))
	}
	if q.After != nil && q.After.At == nil && q.Sort != "due" {
		return nil, nil, invalid("after", "is not a position in this order")
	}
	if err := c.checkFields(textField{"status", string(q.Status), 20}, textField{"service", q.Service, 100},
		textField{"department", q.Department, 100}, textField{"channel", string(q.Channel), 20},
		textField{"search", q.Search, MaxSearch}); err != nil {
		return nil, nil, err
	}
	// A filter that can match nothing would read the whole history to
	// say so: it is refused instead.
	if _, ok := c.city.Service(q.Service); q.Service != "" && !ok {
		return nil, nil, invalid("service", "%q is not one of the city's services", q.Service)
	}
	if _, ok := c.city.Department(q.Department); q.Department != "" && !ok {
		return nil, nil, invalid("department", "%q is not one of the city's departments", q.Department)
	}
	if q.Status != "" && !slices.Contains(Statuses, q.Status) {
		return nil, nil, invalid("status", "%q is not a status", q.Status)
	}
	if q.Channel != "" && !slices.Contains(Channels, q.Channel) {
		return nil, nil, invalid("channel", "%q is not a channel", q.Channel)
	}
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 50
	}
	p := db.InboxParams{
		AllDepartments: u.AllDepartments(), Departments: u.Departments, Queue: q.Queue, UserID: u.ID,
		Status: nonEmpty(string(q.Status)), Service: nonEmpty(q.Service), Department: nonEmpty(q.Department),
		Channel: nonEmpty(string(q.Channel)), Overdue: q.Overdue, Sort: q.Sort, MaxRows: int32(q.Limit + 1),
	}
	p.Search, p.Number = searchTerms(q.Search)
	if p.Departments == nil {
		p.Departments = []string{}
	}
	if q.After != nil {
		p.AfterAt, p.AfterID = q.After.At, &q.After.ID
	}
	rows, err := c.searchBack(ctx, q, p)
	if err != nil {
		return nil, nil, dbErr(err)
	}
	rs, err := requestsFromDB(rows)
	if err != nil || len(rs) <= q.Limit {
		return rs, nil, err
	}
	rs = rs[:q.Limit]
	last := rs[len(rs)-1]
	next := &Cursor{At: &last.RequestedAt, ID: last.ID}
	if q.Sort == "due" {
		next.At = last.ExpectedAt
	}
	return rs, next, nil
}

// searchWindows are how far back a newest-first search looks before it
// looks at everything: a common word fills its page from the last week's
// few thousand requests instead of reading its every mention in a city's
// history, and a rare one is soon looked for everywhere, where it is rare.
var searchWindows = []time.Duration{7 * 24 * time.Hour, 90 * 24 * time.Hour}

// rareSearch is how few matches in a window mean the words are rare. At a
// million requests, a name found once in the last week is found in 2 ms
// across everything, and in 150 ms across the last quarter.
const rareSearch = 5

// searchBack runs the inbox query; a newest-first search runs it over the
// searchWindows before the page's start, widening until the page is full.
// The newest requests come first, so a window's full page is the page.
//
// How far back it looks first changes how long it takes, never the page
// (TestInboxSearchReachesBack): mutants of the windows' start and of when
// words are rare survive.
func (c *Core) searchBack(ctx context.Context, q InboxQuery, p db.InboxParams) ([]db.RequestDetail, error) {
	if p.Search == nil || q.Sort != "newest" {
		return c.q.Inbox(ctx, p)
	}
	start := time.Now()
	if q.After != nil {
		start = *q.After.At
	}
	for _, w := range searchWindows {
		since := start.Add(-w)
		p.Since = &since
		rows, err := c.q.Inbox(ctx, p)
		if err != nil || len(rows) > q.Limit {
			return rows, err
		}
		if len(rows) < rareSearch {
			break // rare words: everywhere, through the index, costs less than a wider window
		}
	}
	p.Since = nil
	return c.q.Inbox(ctx, p)
}

// searchTerms reads a search: the words to find, and the request number
// it names. "#1234" names a request and nothing else; "1234" may also be
// part of an address or a message.
func searchTerms(s string) (words *string, number *int64) {
	s = strings.TrimSpace(s)
	digits, hash := strings.CutPrefix(s, "#")
	if n, err := strconv.ParseInt(digits, 10, 64); err == nil && n > 0 && strings.Trim(digits, "0123456789") == "" {
		number = &n
		if hash {
			return nil, number
		}
	}
	return nonEmpty(s), number
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// QueueCountCap is the most requests a queue's count counts: past it,
// the inbox says "10000+".
const QueueCountCap = 10_000

// InboxCounts says how many requests wait in each queue u sees, up to
// QueueCountCap; a count above it means "more than QueueCountCap".
func (c *Core) InboxCounts(ctx context.Context, u User) (map[string]int64, error) {
	deps := u.Departments
	if deps == nil {
		deps = []string{}
	}
	n, err := c.q.InboxCounts(ctx, db.InboxCountsParams{AllDepartments: u.AllDepartments(), Departments: deps,
		UserID: u.ID, Cap: QueueCountCap + 1}) // its mutants survive: no test files ten thousand requests
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
		return insertEventDept(ctx, t, id, by, department, note)
	})
	if err != nil {
		return fmt.Errorf("request %d: %w", id, err)
	}
	return nil
}

func equalPtr[T comparable](a, b *T) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// Reclassify changes a request's service, and with it where the request
// goes and when it is due: to department, or with "" to wherever the new
// service is routed from the request's place (the triage queue when
// nowhere). A request that changes department loses its assignee. The
// history keeps the service before and after, for figures on how often
// intake classified right. The expected date follows the new service's
// SLA, counted from when the resident reported.
func (c *Core) Reclassify(ctx context.Context, id int64, service, department string, by Actor) error {
	if err := c.checkFields(textField{"service", service, 100}, textField{"department", department, 100}); err != nil {
		return err
	}
	if _, ok := c.city.Service(service); !ok {
		return invalid("service", "%q is not a service of %s", service, c.city.Name)
	}
	if department != "" {
		if _, ok := c.city.Department(department); !ok {
			return invalid("department", "%q is not a department of %s", department, c.city.Name)
		}
	}
	if err := c.tx(ctx, func(t *txn) error { return c.reclassify(ctx, t, id, service, department, by) }); err != nil {
		return fmt.Errorf("request %d: %w", id, err)
	}
	return nil
}

// reclassify is Reclassify, its service and department checked, in the
// caller's transaction.
func (c *Core) reclassify(ctx context.Context, t *txn, id int64, service, department string, by Actor) error {
	svc, _ := c.city.Service(service)
	was, err := t.q.LockRequestClass(ctx, id)
	if err != nil {
		return notFound(err)
	}
	if was.ServiceCode == service {
		return invalid("service", "the request is already %s", svc.Name)
	}
	if department == "" {
		var at *orb.Point
		if was.Lat != nil && was.Lng != nil {
			at = &orb.Point{*was.Lng, *was.Lat}
		}
		department = c.city.Route(service, at)
	}
	p := db.ReclassifyRequestParams{ID: id, Service: service, Department: department}
	if department == was.Department {
		p.AssigneeID = was.AssigneeID
	}
	p.ExpectedAt = c.city.Due(was.RequestedAt, svc)
	if err := t.q.ReclassifyRequest(ctx, p); err != nil {
		return err
	}
	from := "unclassified"
	if old, ok := c.city.Service(was.ServiceCode); ok {
		from = old.Name
	} else if was.ServiceCode != "" {
		from = was.ServiceCode
	}
	note := fmt.Sprintf("reclassified from %s to %s", from, svc.Name)
	switch {
	case department == "":
		note += "; waiting in the triage queue"
	case department != was.Department:
		note += "; routed to " + c.departmentName(department)
	}
	if was.AssigneeID != nil && p.AssigneeID == nil {
		note += "; no longer assigned"
	}
	if by.Name == "" {
		by.Name = "system"
	}
	return t.q.InsertEvent(ctx, db.InsertEventParams{RequestID: id, UserID: by.UserID, Actor: by.Name,
		Department: department, FromService: was.ServiceCode, ToService: service, Note: note})
}

func (c *Core) departmentName(code string) string {
	if d, ok := c.city.Department(code); ok {
		return d.Name
	}
	return code
}

// MaxFlagReason is the longest reason a flag or its clearing may give.
const MaxFlagReason = 500

// FlagSender flags the reporter of a request, saying why: their automatic
// answers pause, and what they send is kept on their latest request for
// staff rather than filed anew (as for a flood), until staff clear the
// flag. Who flagged and why go into the request's history.
func (c *Core) FlagSender(ctx context.Context, requestID int64, reason string, by Actor) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return invalid("reason", "say why the sender is flagged")
	}
	if err := c.checkFields(textField{"reason", reason, MaxFlagReason}); err != nil {
		return err
	}
	return c.senderFlag(ctx, requestID, by, func(t *txn, ct Contact) (string, error) {
		err := t.q.SetContactFlag(ctx, db.SetContactFlagParams{ID: ct.ID, Reason: reason, UserID: by.UserID})
		return "flagged the sender: " + reason, err
	})
}

// UnflagSender clears the flag on a request's reporter, staff's or an
// automatic one, with why (which may be empty) in the request's history.
func (c *Core) UnflagSender(ctx context.Context, requestID int64, why string, by Actor) error {
	why = strings.TrimSpace(why)
	if err := c.checkFields(textField{"reason", why, MaxFlagReason}); err != nil {
		return err
	}
	return c.senderFlag(ctx, requestID, by, func(t *txn, ct Contact) (string, error) {
		if !ct.Flagged {
			return "", invalid("flag", "the sender is not flagged")
		}
		note := "cleared the sender's flag (" + ct.FlagReason + ")"
		if why != "" {
			note += ": " + why
		}
		return note, t.q.ClearContactFlag(ctx, ct.ID)
	})
}

// senderFlag changes the flag of a request's reporter, locked, and
// records the change in the request's history.
func (c *Core) senderFlag(ctx context.Context, requestID int64, by Actor, change func(*txn, Contact) (string, error)) error {
	err := c.tx(ctx, func(t *txn) error {
		contactID, err := t.q.LockRequestContact(ctx, requestID)
		if err != nil {
			return notFound(err)
		}
		if contactID == nil {
			return invalid("flag", "the request has no sender to flag: it was reported anonymously")
		}
		row, err := t.q.LockContact(ctx, *contactID)
		if err != nil {
			return err
		}
		note, err := change(t, contactFromDB(row))
		if err != nil {
			return err
		}
		if _, err := t.q.TouchRequest(ctx, db.TouchRequestParams{ID: requestID, Dated: t.at}); err != nil {
			return err
		}
		return insertEvent(ctx, t, requestID, by, "", "", "", note, false)
	})
	if err != nil {
		return fmt.Errorf("request %d: %w", requestID, err)
	}
	return nil
}
