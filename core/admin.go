package core

// What admins manage: staff accounts (roles, departments, disabling,
// passwords), Open311 API keys, the canned responses staff insert into
// replies, and the job queue. Every change is written to the admin log,
// with who made it, in the change's own transaction.

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"townline/core/internal/db"
	"townline/templates"
)

// CommandLine is who the command line acts as in the admin log.
var CommandLine = Actor{Name: "command line"}

// IsAdmin says whether u manages users, API keys, canned responses and the
// job queue.
func (u User) IsAdmin() bool { return u.Role == "admin" }

// Account is a staff account as admins see it: active or disabled.
type Account struct {
	User
	CreatedAt  time.Time
	DisabledAt *time.Time // nil while the account may sign in
}

// NewAccount is a staff account to create.
type NewAccount struct {
	Email, Name, Role string
	Departments       []string
	Password          string // at least 10 characters
}

// Name and title limits, in characters.
const (
	maxUserName   = 100
	maxTitle      = 100
	minPassword   = 10
	adminLogLimit = 200
)

// AddAccount creates a staff account with an argon2id password hash.
func (c *Core) AddAccount(ctx context.Context, a NewAccount, by Actor) (User, error) {
	email, err := NormalizeEmail(a.Email)
	if err != nil {
		return User{}, invalid("email", "%v", err)
	}
	name := strings.TrimSpace(a.Name)
	if err := c.checkAccess(name, a.Role, a.Departments); err != nil {
		return User{}, err
	}
	if len(a.Password) < minPassword {
		return User{}, invalid("password", "must be at least %d characters", minPassword)
	}
	u := User{Email: email, Name: name, Role: a.Role, Departments: departmentSet(a.Departments)}
	err = c.tx(ctx, func(t *txn) error {
		var err error
		u.ID, err = t.q.InsertAccount(ctx, db.InsertAccountParams{Email: email, Name: name, Role: a.Role, PasswordHash: hashPassword(a.Password)})
		if err != nil {
			return err
		}
		if err := setDepartments(ctx, t, u.ID, u.Departments); err != nil {
			return err
		}
		return adminLog(ctx, t, by, "user.add", email, accessWords(u.Role, u.Departments))
	})
	if isUniqueViolation(err) {
		return User{}, invalid("email", "%s already has an account", email)
	}
	if err != nil {
		return User{}, dbErr(err)
	}
	c.log.Info("account added", "user", u.ID, "role", u.Role, "by", by.Name)
	return u, nil
}

// checkAccess checks a name, a role and departments an account is given.
func (c *Core) checkAccess(name, role string, departments []string) error {
	if err := c.checkField("name", name, maxUserName); err != nil {
		return err
	}
	if !slices.Contains(Roles, role) {
		return invalid("role", "%q is not one of %s", role, strings.Join(Roles, ", "))
	}
	for _, d := range departments {
		if _, ok := c.city.Department(d); !ok {
			return invalid("department", "%q is not a department of %s", d, c.city.Name)
		}
	}
	return nil
}

// departmentSet sorts departments and drops repeats, never returning nil.
func departmentSet(ds []string) []string {
	out := slices.Clone(ds)
	slices.Sort(out)
	return append([]string{}, slices.Compact(out)...)
}

func setDepartments(ctx context.Context, t *txn, userID int64, departments []string) error {
	if err := t.q.ClearUserDepartments(ctx, userID); err != nil {
		return err
	}
	for _, d := range departments {
		if err := t.q.AddUserDepartment(ctx, db.AddUserDepartmentParams{UserID: userID, DepartmentCode: d}); err != nil {
			return err
		}
	}
	return nil
}

func accessWords(role string, departments []string) string {
	if len(departments) == 0 {
		return role
	}
	return role + " of " + strings.Join(departments, ", ")
}

// adminLog records one change in the admin log, in the change's transaction.
func adminLog(ctx context.Context, t *txn, by Actor, action, subject, detail string) error {
	return t.q.InsertAdminLog(ctx, db.InsertAdminLogParams{ActorID: by.UserID, Actor: cmp.Or(by.Name, "unknown"),
		Action: action, Subject: subject, Detail: detail})
}

// Accounts lists every staff account, active ones first.
func (c *Core) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := c.q.Accounts(ctx)
	if err != nil {
		return nil, dbErr(err)
	}
	as := make([]Account, 0, len(rows))
	for _, r := range rows {
		as = append(as, Account{User: User{ID: r.ID, Email: r.Email, Name: r.Name, Role: r.Role, Departments: r.Departments},
			CreatedAt: r.CreatedAt, DisabledAt: r.DisabledAt})
	}
	return as, nil
}

// Account returns one staff account, active or disabled.
func (c *Core) Account(ctx context.Context, id int64) (Account, error) {
	r, err := c.q.Account(ctx, id)
	if err != nil {
		return Account{}, dbErr(notFound(err))
	}
	return Account{User: User{ID: r.ID, Email: r.Email, Name: r.Name, Role: r.Role, Departments: r.Departments},
		CreatedAt: r.CreatedAt, DisabledAt: r.DisabledAt}, nil
}

// lockAccount reads an account for a change, refusing one an admin may
// not make to their own: nobody locks themselves out.
func lockAccount(ctx context.Context, t *txn, id int64) (db.LockAccountRow, error) {
	row, err := t.q.LockAccount(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return row, ErrNotFound
	}
	return row, err
}

func isSelf(by Actor, id int64) bool { return by.UserID != nil && *by.UserID == id }

// SetAccess changes an account's name, role and departments. It takes
// effect on the account's next page: roles are read on every request.
func (c *Core) SetAccess(ctx context.Context, id int64, name, role string, departments []string, by Actor) error {
	name = strings.TrimSpace(name)
	if err := c.checkAccess(name, role, departments); err != nil {
		return err
	}
	departments = departmentSet(departments)
	err := c.tx(ctx, func(t *txn) error {
		was, err := lockAccount(ctx, t, id)
		if err != nil {
			return err
		}
		if isSelf(by, id) && was.Role == "admin" && role != "admin" {
			return invalid("role", "you cannot take away your own admin role: ask another admin")
		}
		var changes []string
		if was.Name != name {
			changes = append(changes, fmt.Sprintf("name %q → %q", was.Name, name))
		}
		if was.Role != role {
			changes = append(changes, "role "+was.Role+" → "+role)
		}
		if !slices.Equal(was.Departments, departments) {
			changes = append(changes, "departments "+cmp.Or(strings.Join(was.Departments, ", "), "none")+
				" → "+cmp.Or(strings.Join(departments, ", "), "none"))
		}
		if len(changes) == 0 {
			return nil
		}
		if err := t.q.UpdateAccount(ctx, db.UpdateAccountParams{ID: id, Name: name, Role: role}); err != nil {
			return err
		}
		if err := setDepartments(ctx, t, id, departments); err != nil {
			return err
		}
		return adminLog(ctx, t, by, "user.access", was.Email, strings.Join(changes, "; "))
	})
	if err != nil {
		return fmt.Errorf("user %d: %w", id, err)
	}
	return nil
}

// SetDisabled disables an account or enables it again. A disabled
// account's sessions stop at once: User no longer finds it.
func (c *Core) SetDisabled(ctx context.Context, id int64, disabled bool, by Actor) error {
	err := c.tx(ctx, func(t *txn) error {
		was, err := lockAccount(ctx, t, id)
		if err != nil {
			return err
		}
		if (was.DisabledAt != nil) == disabled {
			return nil
		}
		if disabled && isSelf(by, id) {
			return invalid("user", "you cannot disable your own account: ask another admin")
		}
		if err := t.q.SetAccountDisabled(ctx, db.SetAccountDisabledParams{ID: id, Disabled: disabled}); err != nil {
			return err
		}
		action := map[bool]string{true: "user.disable", false: "user.enable"}[disabled]
		return adminLog(ctx, t, by, action, was.Email, "")
	})
	if err != nil {
		return fmt.Errorf("user %d: %w", id, err)
	}
	c.log.Info("account disabled or enabled", "user", id, "disabled", disabled, "by", by.Name)
	return nil
}

// ResetPassword gives an account a new generated password and returns it:
// it is stored only as a hash, so it cannot be shown again. The old one
// stops working, and failed sign-ins that locked the account are forgotten.
func (c *Core) ResetPassword(ctx context.Context, id int64, by Actor) (string, error) {
	password := GeneratePassword()
	err := c.tx(ctx, func(t *txn) error {
		was, err := lockAccount(ctx, t, id)
		if err != nil {
			return err
		}
		if err := t.q.SetPasswordHash(ctx, db.SetPasswordHashParams{ID: id, PasswordHash: hashPassword(password)}); err != nil {
			return err
		}
		if err := t.q.ClearSigninFailures(ctx, "email:"+was.Email); err != nil {
			return err
		}
		return adminLog(ctx, t, by, "user.password", was.Email, "reset")
	})
	if err != nil {
		return "", fmt.Errorf("user %d: %w", id, err)
	}
	return password, nil
}

// AdminEntry is one change in the admin log.
type AdminEntry struct {
	At                             time.Time
	Actor, Action, Subject, Detail string
}

// AdminLog returns the latest changes admins made, newest first.
func (c *Core) AdminLog(ctx context.Context, limit int) ([]AdminEntry, error) {
	if limit <= 0 || limit > adminLogLimit { // ">=" the same: 200 stays 200
		limit = adminLogLimit
	}
	rows, err := c.q.AdminLog(ctx, int32(limit))
	if err != nil {
		return nil, dbErr(err)
	}
	es := make([]AdminEntry, 0, len(rows))
	for _, r := range rows {
		es = append(es, AdminEntry{At: r.At, Actor: r.Actor, Action: r.Action, Subject: r.Subject, Detail: r.Detail})
	}
	return es, nil
}

// APIKey is an Open311 client's key as admins see it: never the key.
type APIKey struct {
	ID        int64
	Name      string
	CreatedAt time.Time
	RevokedAt *time.Time
}

// APIKeys lists every key, live ones first.
func (c *Core) APIKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := c.q.APIKeys(ctx)
	if err != nil {
		return nil, dbErr(err)
	}
	ks := make([]APIKey, 0, len(rows))
	for _, r := range rows {
		ks = append(ks, APIKey{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt, RevokedAt: r.RevokedAt})
	}
	return ks, nil
}

// CreateAPIKey creates an Open311 API key for a client and returns the
// key, which is stored only as a hash: it cannot be shown again.
func (c *Core) CreateAPIKey(ctx context.Context, name string, by Actor) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", invalid("name", "must be 1 to %d characters", maxTitle)
	}
	if err := c.checkField("name", name, maxTitle); err != nil {
		return "", err
	}
	key := "tl_" + strings.ToLower(rand.Text())
	sum := sha256.Sum256([]byte(key))
	err := c.tx(ctx, func(t *txn) error {
		if err := t.q.InsertAPIKey(ctx, db.InsertAPIKeyParams{Name: name, KeyHash: sum[:]}); err != nil {
			return err
		}
		return adminLog(ctx, t, by, "apikey.add", name, "")
	})
	if err != nil {
		return "", err
	}
	return key, nil
}

// RevokeAPIKey stops a key. This instance forgets it at once; others
// that checked it within the last minute trust it until that minute ends
// (apiKeyTTL). Revoking a revoked key does nothing.
func (c *Core) RevokeAPIKey(ctx context.Context, id int64, by Actor) error {
	var hash [sha256.Size]byte
	err := c.tx(ctx, func(t *txn) error {
		row, err := t.q.RevokeAPIKey(ctx, id)
		if err != nil {
			return notFound(err)
		}
		copy(hash[:], row.KeyHash)
		if !row.Newly {
			return nil
		}
		return adminLog(ctx, t, by, "apikey.revoke", row.Name, "")
	})
	if err != nil {
		return fmt.Errorf("API key %d: %w", id, err)
	}
	c.apiKeys.Delete(hash)
	return nil
}

// Placeholders are the words in braces a canned response may hold, filled
// from the request when a staff member inserts it.
var Placeholders = []string{"number", "service", "address", "status", "expected"}

var placeholderRE = regexp.MustCompile(`\{([A-Za-z_]+)\}`)

// CannedResponse is a reply staff insert and adapt, in English and
// Spanish, offered on one department's requests or on every one's.
type CannedResponse struct {
	ID         int64
	Department string // "" for every department
	Title      string // what staff pick it by
	English    string
	Spanish    string // "" sends the English to Spanish speakers too
	UpdatedAt  time.Time
}

func cannedFromDB(r db.CannedResponse) CannedResponse {
	return CannedResponse{ID: r.ID, Department: deref(r.DepartmentCode), Title: r.Title, English: r.BodyEn,
		Spanish: r.BodyEs, UpdatedAt: r.UpdatedAt}
}

// CannedResponses lists every canned response, for admins.
func (c *Core) CannedResponses(ctx context.Context) ([]CannedResponse, error) {
	rows, err := c.q.CannedResponses(ctx)
	if err != nil {
		return nil, dbErr(err)
	}
	out := make([]CannedResponse, 0, len(rows))
	for _, r := range rows {
		out = append(out, cannedFromDB(r))
	}
	return out, nil
}

// GetCannedResponse returns one canned response.
func (c *Core) GetCannedResponse(ctx context.Context, id int64) (CannedResponse, error) {
	r, err := c.q.CannedResponse(ctx, id)
	if err != nil {
		return CannedResponse{}, dbErr(notFound(err))
	}
	return cannedFromDB(r), nil
}

// checkCanned checks a canned response before it is saved: a known
// department, a title, an English text, and only known placeholders.
func (c *Core) checkCanned(cr CannedResponse) error {
	if cr.Department != "" {
		if _, ok := c.city.Department(cr.Department); !ok {
			return invalid("department", "%q is not a department of %s", cr.Department, c.city.Name)
		}
	}
	if cr.Title == "" {
		return invalid("title", "is empty")
	}
	if cr.English == "" {
		return invalid("english", "is empty: every response needs its English text")
	}
	if err := c.checkFields(textField{"title", cr.Title, maxTitle}, textField{"english", cr.English, MaxDescription},
		textField{"spanish", cr.Spanish, MaxDescription}); err != nil {
		return err
	}
	for field, text := range map[string]string{"english": cr.English, "spanish": cr.Spanish} {
		for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
			if !slices.Contains(Placeholders, m[1]) {
				return invalid(field, "{%s} is not a placeholder; use {%s}", m[1], strings.Join(Placeholders, "}, {"))
			}
		}
	}
	return nil
}

// SaveCannedResponse creates a canned response (ID 0) or changes one, and
// returns its id.
func (c *Core) SaveCannedResponse(ctx context.Context, cr CannedResponse, by Actor) (int64, error) {
	cr.Title, cr.English, cr.Spanish = strings.TrimSpace(cr.Title), strings.TrimSpace(cr.English), strings.TrimSpace(cr.Spanish)
	if err := c.checkCanned(cr); err != nil {
		return 0, err
	}
	dept := nonEmpty(cr.Department)
	detail := "for " + cmp.Or(cr.Department, "every department")
	err := c.tx(ctx, func(t *txn) error {
		if cr.ID == 0 {
			var err error
			cr.ID, err = t.q.InsertCannedResponse(ctx, db.InsertCannedResponseParams{DepartmentCode: dept, Title: cr.Title,
				BodyEn: cr.English, BodyEs: cr.Spanish})
			if err != nil {
				return err
			}
			return adminLog(ctx, t, by, "canned.add", cr.Title, detail)
		}
		n, err := t.q.UpdateCannedResponse(ctx, db.UpdateCannedResponseParams{ID: cr.ID, DepartmentCode: dept,
			Title: cr.Title, BodyEn: cr.English, BodyEs: cr.Spanish})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return adminLog(ctx, t, by, "canned.change", cr.Title, detail)
	})
	if err != nil {
		return 0, fmt.Errorf("canned response: %w", err)
	}
	return cr.ID, nil
}

// DeleteCannedResponse removes a canned response.
func (c *Core) DeleteCannedResponse(ctx context.Context, id int64, by Actor) error {
	err := c.tx(ctx, func(t *txn) error {
		title, err := t.q.DeleteCannedResponse(ctx, id)
		if err != nil {
			return notFound(err)
		}
		return adminLog(ctx, t, by, "canned.delete", title, "")
	})
	if err != nil {
		return fmt.Errorf("canned response %d: %w", id, err)
	}
	return nil
}

// CannedReply is a canned response ready to go into a reply on one
// request: its placeholders filled, in the resident's language.
type CannedReply struct {
	ID       int64
	Title    string
	Language string // the language Text is in: "en" or "es"
	Text     string
}

// CannedReplies returns the canned responses offered on r — its
// department's and those for every department — filled for r in its
// reporter's language (English for an anonymous report, and where a
// response has no Spanish text).
func (c *Core) CannedReplies(ctx context.Context, r Request) ([]CannedReply, error) {
	lang := "en"
	if r.ContactID != nil {
		ct, err := c.Contact(ctx, *r.ContactID)
		if err != nil {
			return nil, err
		}
		lang = ct.Language
	}
	rows, err := c.q.CannedResponsesFor(ctx, nonEmpty(r.Department))
	if err != nil {
		return nil, dbErr(err)
	}
	out := make([]CannedReply, 0, len(rows))
	for _, row := range rows {
		cr := cannedFromDB(row)
		text, l := cr.English, "en"
		if lang == "es" && cr.Spanish != "" {
			text, l = cr.Spanish, "es"
		}
		out = append(out, CannedReply{ID: cr.ID, Title: cr.Title, Language: l, Text: c.FillPlaceholders(text, r, l)})
	}
	return out, nil
}

// spanishMonths name the months as a Spanish date says them: "2 de enero".
var spanishMonths = [...]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
	"septiembre", "octubre", "noviembre", "diciembre"}

// FillPlaceholders replaces a canned response's placeholders with r's
// details, in lang: its number, service, address, status (as residents'
// messages say it) and expected date. One without a value (no address,
// no expected date) becomes empty; anything else in braces stays as it is.
func (c *Core) FillPlaceholders(text string, r Request, lang string) string {
	d := c.requestData(r, lang)
	status := string(r.Status)
	if _, s, err := templates.Message(lang, "status", r.Status); err == nil {
		status = s
	}
	var expected string
	if r.ExpectedAt != nil {
		t := r.ExpectedAt.In(c.city.Location)
		expected = t.Format("January 2")
		if lang == "es" {
			expected = fmt.Sprintf("%d de %s", t.Day(), spanishMonths[t.Month()-1])
		}
	}
	values := map[string]string{"number": fmt.Sprint(d.ID), "service": d.Service, "address": d.Address,
		"status": status, "expected": expected}
	return placeholderRE.ReplaceAllStringFunc(text, func(m string) string {
		if v, ok := values[m[1:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// JobClient is the job queue's client, for the admins' dashboard (River
// UI), which lists jobs and retries or cancels them. Core's own jobs are
// queued in the transactions that need them, never through it.
func (c *Core) JobClient() *river.Client[pgx.Tx] { return c.river }
