package core_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

func TestFillPlaceholders(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	due := time.Date(2026, 3, 9, 17, 0, 0, 0, c.City().Location)
	r := core.Request{ID: 1234, ServiceName: "Graffiti", Address: "Oak & 5th", Status: core.StatusClosed, ExpectedAt: &due}
	for _, tc := range []struct{ lang, text, want string }{
		{"en", "#{number} {service} at {address}: {status}, by {expected}.", "#1234 Graffiti at Oak & 5th: closed, by March 9."},
		{"es", "#{number} {service} en {address}: {status}, para el {expected}.", "#1234 Graffiti en Oak & 5th: cerrado, para el 9 de marzo."},
		{"en", "{unknown} {number}{number} {", "{unknown} 12341234 {"},
	} {
		if got := c.FillPlaceholders(tc.text, r, tc.lang); got != tc.want {
			t.Errorf("%s %q: %q, want %q", tc.lang, tc.text, got, tc.want)
		}
	}
	r.ExpectedAt, r.Address = nil, ""
	if got := c.FillPlaceholders("[{address}] [{expected}]", r, "en"); got != "[] []" {
		t.Errorf("without values: %q", got)
	}
}

// Admin changes are checked and logged; the rules that keep an admin
// from locking themselves out hold in core, whatever the caller.
func TestAccounts(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	boss, err := c.AddAccount(ctx, core.NewAccount{Email: "boss@oroville.test", Role: "admin", Password: "correct horse battery"}, core.CommandLine)
	if err != nil {
		t.Fatal(err)
	}
	by := core.Actor{UserID: &boss.ID, Name: boss.Email}
	u, err := c.AddAccount(ctx, core.NewAccount{Email: "Pat@Oroville.test", Name: " Pat ", Role: "staff",
		Departments: []string{"parks-trees", "public-works", "parks-trees"}, Password: "correct horse battery"}, by)
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "pat@oroville.test" || u.Name != "Pat" || len(u.Departments) != 2 || u.Departments[0] != "parks-trees" {
		t.Errorf("added %+v", u)
	}
	for _, bad := range []core.NewAccount{
		{Email: "x@oroville.test", Role: "mayor", Password: "correct horse battery"},
		{Email: "x@oroville.test", Role: "staff", Departments: []string{"nope"}, Password: "correct horse battery"},
		{Email: "x@oroville.test", Role: "staff", Password: "short"},
		{Email: "not an email", Role: "staff", Password: "correct horse battery"},
	} {
		var invalid *core.ValidationError
		if _, err := c.AddAccount(ctx, bad, by); !errors.As(err, &invalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if err := c.SetDisabled(ctx, u.ID, true, by); err != nil {
		t.Fatal(err)
	}
	if _, err := c.User(ctx, u.ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a disabled user: %v", err)
	}
	if a, err := c.Account(ctx, u.ID); err != nil || a.DisabledAt == nil {
		t.Errorf("the disabled account: %+v, %v", a, err)
	}
	if err := c.SetDisabled(ctx, u.ID, true, by); err != nil {
		t.Errorf("disabling twice: %v", err)
	}
	var invalid *core.ValidationError
	if err := c.SetDisabled(ctx, boss.ID, true, by); !errors.As(err, &invalid) {
		t.Errorf("an admin disabling themselves: %v", err)
	}
	if err := c.SetAccess(ctx, boss.ID, "", "dispatcher", nil, by); !errors.As(err, &invalid) {
		t.Errorf("an admin dropping their own role: %v", err)
	}
	if err := c.SetAccess(ctx, 999999, "", "staff", nil, by); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("no such user: %v", err)
	}
	log, err := c.AdminLog(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	// Newest first: one disable (the second changed nothing), two adds.
	if len(log) != 3 || log[0].Action != "user.disable" || log[0].Actor != boss.Email || log[2].Actor != "command line" {
		t.Errorf("log %+v", log)
	}
}

// Every change an admin makes to an account takes effect and says what
// changed in the admin log; a change that changes nothing is not logged.
func TestAccountChangesAreLogged(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	boss, err := c.AddAccount(ctx, core.NewAccount{Email: "boss@oroville.test", Role: "admin", Password: "correct horse battery"}, core.CommandLine)
	if err != nil {
		t.Fatal(err)
	}
	if !boss.IsAdmin() {
		t.Errorf("an admin account is not an admin: %+v", boss)
	}
	by := core.Actor{UserID: &boss.ID, Name: boss.Email}
	u, err := c.AddAccount(ctx, core.NewAccount{Email: "pat@oroville.test", Name: "Pat", Role: "staff",
		Departments: []string{"public-works"}, Password: "correct horse battery"}, by)
	if err != nil {
		t.Fatal(err)
	}
	if u.IsAdmin() {
		t.Errorf("a staff account is an admin: %+v", u)
	}
	// Passwords of ten characters and more; one account per address.
	if _, err := c.AddAccount(ctx, core.NewAccount{Email: "lee@oroville.test", Role: "staff", Password: "123456789"}, by); err == nil {
		t.Error("a nine-character password was taken")
	}
	var invalid *core.ValidationError
	if _, err := c.AddAccount(ctx, core.NewAccount{Email: "Pat@oroville.test", Role: "staff", Password: "1234567890"}, by); !errors.As(err, &invalid) || invalid.Field != "email" {
		t.Errorf("a second account for one address: %v", err)
	}
	lee, err := c.AddAccount(ctx, core.NewAccount{Email: "lee@oroville.test", Role: "dispatcher", Password: "1234567890"}, by)
	if err != nil {
		t.Fatalf("a ten-character password: %v", err)
	}
	adds, err := c.AdminLog(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, e := range adds {
		details = append(details, e.Action+" "+e.Subject+": "+e.Detail)
	}
	if want := []string{"user.add lee@oroville.test: dispatcher", "user.add pat@oroville.test: staff of public-works",
		"user.add boss@oroville.test: admin"}; !slices.Equal(details, want) {
		t.Errorf("log %q, want %q", details, want)
	}
	if got, err := c.SignIn(ctx, "lee@oroville.test", "1234567890", "192.0.2.9"); err != nil || got.ID != lee.ID {
		t.Errorf("the new account signs in: %+v, %v", got, err)
	}
	latest := func() core.AdminEntry {
		t.Helper()
		log, err := c.AdminLog(ctx, 1)
		if err != nil || len(log) != 1 {
			t.Fatalf("admin log: %+v, %v", log, err)
		}
		return log[0]
	}
	steps := []struct {
		name, role string
		deps       []string
		detail     string // "" when nothing changed
	}{
		{"Pat Lee", "staff", []string{"public-works"}, `name "Pat" → "Pat Lee"`},
		{"Pat Lee", "dispatcher", []string{"public-works"}, "role staff → dispatcher"},
		{"Pat Lee", "dispatcher", []string{"parks-trees", "public-works", "parks-trees"}, "departments public-works → parks-trees, public-works"},
		{"Pat Lee", "dispatcher", nil, "departments parks-trees, public-works → none"},
		{"Pat", "staff", []string{"public-works"}, `name "Pat Lee" → "Pat"; role dispatcher → staff; departments none → public-works`},
		{" Pat ", "staff", []string{"public-works"}, ""},
	}
	for _, s := range steps {
		before := latest()
		if err := c.SetAccess(ctx, u.ID, s.name, s.role, s.deps, by); err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		e := latest()
		if s.detail == "" {
			if e != before {
				t.Errorf("a change that changes nothing was logged: %+v", e)
			}
			continue
		}
		if e.Action != "user.access" || e.Subject != "pat@oroville.test" || e.Detail != s.detail || e.Actor != boss.Email {
			t.Errorf("%+v logged %+v, want detail %q", s, e, s.detail)
		}
		a, err := c.Account(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := core.NewAccount{Name: strings.TrimSpace(s.name), Role: s.role}
		if a.Name != want.Name || a.Role != want.Role || len(a.Departments) != len(slices.Compact(slices.Sorted(slices.Values(s.deps)))) {
			t.Errorf("after %+v the account is %+v", s, a.User)
		}
	}
	if err := c.SetAccess(ctx, u.ID, "Pat", "mayor", nil, by); err == nil {
		t.Error("an unknown role was given")
	}

	// Disabled, then enabled again: the account signs in once more.
	if err := c.SetDisabled(ctx, u.ID, true, by); err != nil {
		t.Fatal(err)
	}
	if err := c.SetDisabled(ctx, u.ID, false, by); err != nil {
		t.Fatal(err)
	}
	if e := latest(); e.Action != "user.enable" || e.Subject != "pat@oroville.test" {
		t.Errorf("enabling logged %+v", e)
	}
	if got, err := c.User(ctx, u.ID); err != nil || got.Email != u.Email {
		t.Errorf("the enabled account: %+v, %v", got, err)
	}
	if err := c.SetDisabled(ctx, 999999, true, by); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("disabling no account: %v", err)
	}

	// The admin log returns at most what is asked, newest first, and
	// never more than its limit.
	all, err := c.AdminLog(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 10 || all[0].Action != "user.enable" || all[9].Action != "user.add" || all[9].Subject != "boss@oroville.test" {
		t.Errorf("the whole log: %d entries %+v", len(all), all)
	}
	if two, err := c.AdminLog(ctx, 2); err != nil || len(two) != 2 || two[1].Action != "user.disable" {
		t.Errorf("two entries: %+v, %v", two, err)
	}
	if many, err := c.AdminLog(ctx, 1000); err != nil || len(many) != 10 {
		t.Errorf("a limit above the most: %d, %v", len(many), err)
	}
}

// Sign-in counts failures: five for an account, or twenty from one
// address, lock it out for a while, even with the right password. A
// success forgets the account's failures, and so does a password reset.
func TestSignInLocksOutGuessers(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	const pw = "correct horse battery"
	u, err := c.AddAccount(ctx, core.NewAccount{Email: "pat@oroville.test", Role: "staff", Password: pw}, core.CommandLine)
	if err != nil {
		t.Fatal(err)
	}
	fail := func(n int, email, addr string) {
		t.Helper()
		for range n {
			if _, err := c.SignIn(ctx, email, "wrong password", addr); !errors.Is(err, core.ErrNotFound) {
				t.Fatalf("a wrong password: %v", err)
			}
		}
	}
	fail(4, "pat@oroville.test", "192.0.2.1")
	if got, err := c.SignIn(ctx, " Pat@Oroville.test ", pw, "192.0.2.1"); err != nil || got.ID != u.ID {
		t.Fatalf("the right password after four failures: %+v, %v", got, err)
	}
	// The success forgot those four: one more does not lock the account.
	fail(1, "pat@oroville.test", "192.0.2.2")
	if _, err := c.SignIn(ctx, "pat@oroville.test", pw, "192.0.2.3"); err != nil {
		t.Fatalf("a failure after a success: %v", err)
	}
	fail(5, "pat@oroville.test", "192.0.2.4")
	if _, err := c.SignIn(ctx, "pat@oroville.test", pw, "192.0.2.5"); !errors.Is(err, core.ErrLockedOut) {
		t.Fatalf("the right password after five failures: %v", err)
	}
	password, err := c.ResetPassword(ctx, u.ID, core.CommandLine)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SignIn(ctx, "pat@oroville.test", pw, "192.0.2.5"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("the old password after a reset: %v", err)
	}
	if got, err := c.SignIn(ctx, "pat@oroville.test", password, "192.0.2.5"); err != nil || got.ID != u.ID {
		t.Errorf("the new password: %+v, %v", got, err)
	}
	if log, err := c.AdminLog(ctx, 1); err != nil || len(log) != 1 || log[0].Action != "user.password" ||
		log[0].Subject != "pat@oroville.test" || log[0].Detail != "reset" {
		t.Errorf("the reset is logged: %+v, %v", log, err)
	}
	if _, err := c.ResetPassword(ctx, 999999, core.CommandLine); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("resetting no account: %v", err)
	}

	// A guesser tried many accounts from one address (recorded here as
	// sign-in would, one failure each, without twenty password hashes).
	for i := range 20 {
		if _, err := c.Pool().Exec(ctx, `INSERT INTO signin_failures (key) VALUES ($1), ('addr:198.51.100.7')`,
			fmt.Sprintf("email:guess%d@oroville.test", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.SignIn(ctx, "pat@oroville.test", password, "198.51.100.7"); !errors.Is(err, core.ErrLockedOut) {
		t.Errorf("from an address with twenty failures: %v", err)
	}
	if _, err := c.SignIn(ctx, "pat@oroville.test", password, "198.51.100.8"); err != nil {
		t.Errorf("the same account from elsewhere: %v", err)
	}
}

// An Open311 key works from its creation until an admin revokes it; the
// list shows every key without the key itself, and the log says who did it.
func TestAPIKeyLifecycle(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	by := core.Actor{Name: "boss@oroville.test"}
	for _, bad := range []string{"", "   ", strings.Repeat("x", 101)} {
		var invalid *core.ValidationError
		if _, err := c.CreateAPIKey(ctx, bad, by); !errors.As(err, &invalid) {
			t.Errorf("a key named %q: %v", bad, err)
		}
	}
	key, err := c.CreateAPIKey(ctx, " SeeClickFix ", by)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, "tl_") {
		t.Errorf("key %q", key)
	}
	if name, err := c.CheckAPIKey(ctx, key); err != nil || name != "SeeClickFix" {
		t.Errorf("the new key: %q, %v", name, err)
	}
	keys, err := c.APIKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].Name != "SeeClickFix" || keys[0].RevokedAt != nil {
		t.Fatalf("keys %+v, %v", keys, err)
	}
	if err := c.RevokeAPIKey(ctx, keys[0].ID, by); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CheckAPIKey(ctx, key); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("the revoked key: %v", err)
	}
	if err := c.RevokeAPIKey(ctx, keys[0].ID, by); err != nil {
		t.Errorf("revoking twice: %v", err)
	}
	if err := c.RevokeAPIKey(ctx, 999999, by); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("revoking no key: %v", err)
	}
	if keys, err := c.APIKeys(ctx); err != nil || len(keys) != 1 || keys[0].RevokedAt == nil {
		t.Errorf("keys after revoking %+v, %v", keys, err)
	}
	log, err := c.AdminLog(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Newest first; revoking twice is logged once.
	if len(log) != 2 || log[0].Action != "apikey.revoke" || log[1].Action != "apikey.add" ||
		log[0].Subject != "SeeClickFix" || log[0].Actor != by.Name {
		t.Errorf("log %+v", log)
	}
}

// Canned responses are checked before they are saved, offered on their
// department's requests and on every department's, and filled in the
// reporter's language where they have a text in it.
func TestCannedResponses(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	by := core.Actor{Name: "boss@oroville.test"}
	for _, bad := range []core.CannedResponse{
		{Department: "nope", Title: "Fixed", English: "Fixed."},
		{Title: " ", English: "Fixed."},
		{Title: "Fixed", English: " "},
		{Title: strings.Repeat("x", 101), English: "Fixed."},
		{Title: "Fixed", English: "Fixed {when}."},
		{Title: "Fixed", English: "#{number} fixed {when}."}, // every placeholder is checked
		{Title: "Fixed", English: "Fixed.", Spanish: "Arreglado {cuando}."},
		{Title: "Fixed", English: "Fixed.", Spanish: strings.Repeat("x", core.MaxDescription+1)},
	} {
		var invalid *core.ValidationError
		if _, err := c.SaveCannedResponse(ctx, bad, by); !errors.As(err, &invalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	works, err := c.SaveCannedResponse(ctx, core.CannedResponse{Department: "public-works", Title: " Patched ",
		English: "#{number} is patched.", Spanish: "#{number} está reparado."}, by)
	if err != nil {
		t.Fatal(err)
	}
	every, err := c.SaveCannedResponse(ctx, core.CannedResponse{Title: "Thanks", English: "Thanks for {service}."}, by)
	if err != nil {
		t.Fatal(err)
	}
	parks, err := c.SaveCannedResponse(ctx, core.CannedResponse{Department: "parks-trees", Title: "Trimmed", English: "Trimmed."}, by)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetCannedResponse(ctx, works); err != nil || got.Title != "Patched" || got.Department != "public-works" ||
		got.Spanish != "#{number} está reparado." {
		t.Errorf("saved %+v, %v", got, err)
	}
	if _, err := c.SaveCannedResponse(ctx, core.CannedResponse{ID: 999999, Title: "Gone", English: "Gone."}, by); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("changing no response: %v", err)
	}
	if _, err := c.SaveCannedResponse(ctx, core.CannedResponse{ID: every, Title: "Thank you", English: "Thank you for {service}."}, by); err != nil {
		t.Fatal(err)
	}
	if all, err := c.CannedResponses(ctx); err != nil || len(all) != 3 {
		t.Errorf("all responses: %+v, %v", all, err)
	}

	reporter := newPothole("ana@example.com")
	reporter.Reporter.Language = "es"
	r, err := c.CreateRequest(ctx, reporter)
	if err != nil {
		t.Fatal(err)
	}
	if r.Department != "public-works" {
		t.Fatalf("the pothole went to %q", r.Department)
	}
	replies := func(r core.Request) map[string]core.CannedReply {
		t.Helper()
		rs, err := c.CannedReplies(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]core.CannedReply{}
		for _, cr := range rs {
			out[cr.Title] = cr
		}
		return out
	}
	got := replies(r)
	if len(got) != 2 || got["Patched"].Language != "es" || got["Patched"].Text != fmt.Sprintf("#%d está reparado.", r.ID) ||
		got["Thank you"].Language != "en" || got["Thank you"].Text != "Thank you for Pothole." {
		t.Errorf("replies for a Spanish speaker: %+v", got)
	}
	r.ContactID = nil // an anonymous report is answered in English
	if got := replies(r); got["Patched"].Language != "en" || got["Patched"].Text != fmt.Sprintf("#%d is patched.", r.ID) {
		t.Errorf("replies for an anonymous report: %+v", got)
	}

	if err := c.DeleteCannedResponse(ctx, parks, by); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetCannedResponse(ctx, parks); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a deleted response: %v", err)
	}
	if err := c.DeleteCannedResponse(ctx, parks, by); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
	log, err := c.AdminLog(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action+" "+e.Subject+" "+e.Detail)
	}
	want := []string{"canned.delete Trimmed ", "canned.change Thank you for every department", "canned.add Trimmed for parks-trees",
		"canned.add Thanks for every department", "canned.add Patched for public-works"}
	if !slices.Equal(actions, want) {
		t.Errorf("log %q\nwant %q", actions, want)
	}
}
