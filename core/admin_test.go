package core_test

import (
	"context"
	"errors"
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
