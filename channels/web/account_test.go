package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

// sent waits for a message to to whose body matches re, with a first
// group none of skip, and returns that group.
func sent(t *testing.T, s *testenv.Sender, to string, re *regexp.Regexp, skip ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var g []string
	if _, err := s.Wait(ctx, func(m core.Outbound) bool {
		g = re.FindStringSubmatch(m.Body)
		return m.To == to && g != nil && !slices.Contains(skip, g[1])
	}); err != nil {
		t.Fatalf("nothing matching %s sent to %s: %v", re, to, err)
	}
	return g[1]
}

// A resident who texted a report and mailed another signs in on the web
// with a code texted to her phone and sees the first; she adds her email
// by the link mailed to it and sees both; she signs out.
func TestResidentSignin(t *testing.T) {
	t.Parallel()
	texts, mails := &testenv.Sender{}, &testenv.Sender{}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: texts, core.ChannelEmail: mails}
	})
	ctx := context.Background()
	texted, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelSMS, From: "+15305550911", To: "+15305382401",
		Text: "pothole at 39.5138, -121.5564", ProviderID: "SMsignin1"})
	if err != nil {
		t.Fatal(err)
	}
	mailed, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "ana@example.org", To: "311@oroville.test",
		Subject: "Graffiti", Text: "Graffiti at 39.5140, -121.5566", ProviderID: "signin-web@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, c)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var cookies []*http.Cookie // the last answer's
	do := func(method, path string, form url.Values, origin string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
		if method == "POST" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", origin)
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		cookies = resp.Cookies()
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	link := func(id int64) string { return fmt.Sprintf(`href="/requests/%d"`, id) }

	if code, to, _ := do("GET", "/account", nil, ""); code != 303 || to != "/signin" {
		t.Errorf("the account signed out: %d %s", code, to)
	}
	if code, _, _ := do("POST", "/signin", url.Values{"address": {"5305550911"}}, "https://elsewhere.example"); code != 403 {
		t.Errorf("a sign-in asked from another site: %d", code)
	}
	if code, _, page := do("POST", "/signin", url.Values{"address": {"nobody"}}, srv.URL); code != 400 ||
		!strings.Contains(page, "Type an email address or a mobile phone number.") {
		t.Errorf("a bad address: %d\n%s", code, page)
	}
	code, _, page := do("POST", "/signin", url.Values{"address": {"530-555-0911"}}, srv.URL)
	if code != 200 || !strings.Contains(page, "We texted a code to &#43;15305550911") || !strings.Contains(page, "<h1>Sign in</h1>") {
		t.Fatalf("send: %d\n%s", code, page)
	}
	sms := sent(t, texts, "+15305550911", regexp.MustCompile(`code is (\d{6})`))
	if code, _, page := do("POST", "/signin/code", url.Values{"address": {"+15305550911"}, "code": {"000000"}}, srv.URL); code != 401 ||
		!strings.Contains(page, "wrong, used or expired") || !strings.Contains(page, `name="code"`) {
		t.Errorf("a wrong code: %d\n%s", code, page)
	}
	if code, to, _ := do("POST", "/signin/code", url.Values{"address": {"+15305550911"}, "code": {sms}}, srv.URL); code != 303 || to != "/account" {
		t.Fatalf("the code: %d %s", code, to)
	}
	// Signed in for a week unused, out of reach of scripts and of other
	// sites' forms.
	var session *http.Cookie
	for _, ck := range cookies {
		if ck.Name == "townline_resident" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode ||
		time.Until(session.Expires) < 7*24*time.Hour-time.Minute || time.Until(session.Expires) > 7*24*time.Hour+time.Minute {
		t.Errorf("the resident's session cookie: %+v", session)
	}
	code, _, page = do("GET", "/account", nil, "")
	if code != 200 || !strings.Contains(page, link(texted.RequestID)) || strings.Contains(page, link(mailed.RequestID)) ||
		!strings.Contains(page, "&#43;15305550911") {
		t.Errorf("the account by phone: %d\n%s", code, page)
	}

	// Her email, added by its link.
	if code, _, page := do("POST", "/signin", url.Values{"address": {"Ana@Example.org"}}, srv.URL); code != 200 ||
		!strings.Contains(page, "We mailed a link and a code to ana@example.org") || !strings.Contains(page, "<h1>Add a phone or an email</h1>") {
		t.Fatalf("add the email: %d\n%s", code, page)
	}
	token := sent(t, mails, "ana@example.org", regexp.MustCompile(`/signin/link\?token=(\S+)`))
	if code, _, page := do("GET", "/signin/link?token="+token, nil, ""); code != 200 || !strings.Contains(page, `action="/signin/link?token=`+token+`"`) {
		t.Errorf("the link's page: %d\n%s", code, page)
	}
	if n, _ := c.ResidentRequests(ctx, core.Resident{Email: "ana@example.org"}); len(n) != 1 {
		t.Fatalf("requests by mail: %v", n)
	}
	if code, to, _ := do("POST", "/signin/link?token="+token, nil, srv.URL); code != 303 || to != "/account" {
		t.Fatalf("the link: %d %s", code, to)
	}
	if code, _, page := do("GET", "/account", nil, ""); code != 200 || !strings.Contains(page, link(texted.RequestID)) ||
		!strings.Contains(page, link(mailed.RequestID)) || !strings.Contains(page, "ana@example.org") {
		t.Errorf("the account by phone and mail: %d\n%s", code, page)
	}
	if code, _, _ := do("POST", "/signin/link?token="+token, nil, srv.URL); code != 401 {
		t.Errorf("a link used twice: %d", code)
	}

	// What she follows, at her verified mailbox without a link to
	// confirm, and stops following.
	other, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "streetlight",
		Address: "Bird Street & Myers Street"})
	if err != nil {
		t.Fatal(err)
	}
	confirmations := func() int {
		t.Helper()
		var n int
		if err := c.Pool().QueryRow(ctx, `SELECT count(*) FROM messages WHERE direction = 'out' AND subject LIKE 'Confirm%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	follow := fmt.Sprintf("/requests/%d/follow", other.ID)
	if code, _, page := do("POST", follow, url.Values{"email": {"Ana@example.org"}}, srv.URL); code != 200 ||
		!strings.Contains(page, "Confirmed: this request&#39;s updates will reach you by mail.") || confirmations() != 0 {
		t.Errorf("following at her own address: %d, %d mails to confirm\n%s", code, confirmations(), page)
	}
	if code, _, page := do("POST", follow, url.Values{"email": {"neighbour@example.org"}}, srv.URL); code != 200 ||
		!strings.Contains(page, "Check your mail") || confirmations() != 1 {
		t.Errorf("following at another address: %d, %d mails to confirm\n%s", code, confirmations(), page)
	}
	follows := func() int {
		t.Helper()
		var n int
		if err := c.Pool().QueryRow(ctx, `SELECT count(*) FROM subscriptions WHERE request_id = $1 AND confirmed_at IS NOT NULL AND ended_at IS NULL`, other.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, _, page := do("GET", "/account", nil, ""); !strings.Contains(page, `name="request" value="`+fmt.Sprint(other.ID)+`"`) {
		t.Errorf("the account does not list what she follows:\n%s", page)
	}
	if code, to, _ := do("POST", "/account/unfollow", url.Values{"request": {fmt.Sprint(other.ID)}}, srv.URL); code != 303 || to != "/account" || follows() != 0 {
		t.Errorf("unfollow: %d %s, %d follows left", code, to, follows())
	}
	// The emergency notices, by text, then not.
	if _, _, page := do("GET", "/account", nil, ""); !strings.Contains(page, "Get them by text") || !strings.Contains(page, "Get them by mail") {
		t.Errorf("the account offers no notices:\n%s", page)
	}
	if code, _, _ := do("POST", "/account/alerts", url.Values{"channel": {"sms"}, "on": {"1"}}, srv.URL); code != 303 {
		t.Errorf("notices by text: %d", code)
	}
	if n, _ := c.EmergencySubscribers(ctx); n != 1 {
		t.Errorf("%d subscribers after asking from the account", n)
	}
	if _, _, page := do("GET", "/account", nil, ""); !strings.Contains(page, "Stop them by text") {
		t.Errorf("the account does not say she gets them by text:\n%s", page)
	}
	do("POST", "/account/alerts", url.Values{"channel": {"sms"}, "on": {"0"}}, srv.URL)
	if n, _ := c.EmergencySubscribers(ctx); n != 0 {
		t.Errorf("%d subscribers after stopping from the account", n)
	}
	if code, _, _ := do("POST", "/account/alerts", url.Values{"channel": {"fax"}, "on": {"1"}}, srv.URL); code != 400 {
		t.Errorf("notices by fax: %d", code)
	}
	// The week's meetings and events, by mail, then not.
	weekly := func() int {
		t.Helper()
		var n int
		if err := c.Pool().QueryRow(ctx, `SELECT count(*) FROM subscriptions s JOIN contacts c ON c.id = s.contact_id
			WHERE c.email = 'ana@example.org' AND s.digest AND s.confirmed_at IS NOT NULL AND s.ended_at IS NULL`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if code, _, _ := do("POST", "/account/weekly", url.Values{"on": {"1"}}, srv.URL); code != 303 || weekly() != 1 {
		t.Errorf("the weekly mail: %d, %d subscriptions", code, weekly())
	}
	if _, _, page := do("GET", "/account", nil, ""); !strings.Contains(page, "Stop the weekly mail") || !strings.Contains(page, "Get them by mail") {
		t.Errorf("the account does not say she gets the weekly mail, and not the notices:\n%s", page)
	}
	if n, _ := c.EmergencySubscribers(ctx); n != 0 {
		t.Errorf("the weekly mail made %d emergency subscribers", n)
	}
	if code, _, _ := do("POST", "/account/weekly", url.Values{"on": {"0"}}, srv.URL); code != 303 || weekly() != 0 {
		t.Errorf("no more weekly mail: %d, %d subscriptions", code, weekly())
	}
	// How she hears about her reports.
	if code, _, _ := do("POST", "/account/hear-back", url.Values{"hear_back": {"email"}}, srv.URL); code != 303 {
		t.Errorf("hear back by mail: %d", code)
	}
	if res, _ := c.ResidentRequests(ctx, core.Resident{Phone: "+15305550911"}); len(res) == 0 {
		t.Error("no requests by phone")
	}
	var how string
	c.Pool().QueryRow(ctx, `SELECT COALESCE(hear_back, '') FROM accounts WHERE phone = '+15305550911'`).Scan(&how)
	if how != "email" {
		t.Errorf("hear back: %q", how)
	}
	if _, _, page := do("GET", "/account", nil, ""); !strings.Contains(page, `value="email" checked`) {
		t.Errorf("the account does not show how she hears back:\n%s", page)
	}
	if code, _, _ := do("POST", "/account/hear-back", url.Values{"hear_back": {"pigeon"}}, srv.URL); code != 400 {
		t.Errorf("an unknown way: %d", code)
	}
	// Her language, for every message.
	if code, _, _ := do("POST", "/account/language", url.Values{"language": {"es"}}, srv.URL); code != 303 {
		t.Errorf("language: %d", code)
	}
	var spanish int
	c.Pool().QueryRow(ctx, `SELECT count(*) FROM contacts WHERE language = 'es' AND (phone = '+15305550911' OR email = 'ana@example.org')`).Scan(&spanish)
	if spanish != 2 {
		t.Errorf("%d of her two contacts in Spanish", spanish)
	}
	if _, _, page := do("GET", "/account?lang=en", nil, ""); !strings.Contains(page, `value="es" lang="es" checked`) ||
		strings.Contains(page, `value="en" checked`) {
		t.Errorf("the account read in English does not show her messages go in Spanish:\n%s", page)
	}
	if code, _, _ := do("POST", "/account/language", url.Values{"language": {"fr"}}, srv.URL); code != 400 {
		t.Errorf("an unknown language: %d", code)
	}
	// One of hers closed as done, and not: she reopens it from her account.
	if err := c.ChangeStatus(ctx, texted.RequestID, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved,
		By: core.Actor{Name: "dispatcher"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, page := do("GET", "/account", nil, ""); !strings.Contains(page, `name="request" value="`+fmt.Sprint(texted.RequestID)+`">`) ||
		!strings.Contains(page, "Reopen it") {
		t.Errorf("the account offers no reopening:\n%s", page)
	}
	if code, to, _ := do("POST", "/account/reopen", url.Values{"request": {fmt.Sprint(texted.RequestID)}, "why": {"Still there."}}, srv.URL); code != 303 ||
		to != fmt.Sprintf("/requests/%d", texted.RequestID) {
		t.Errorf("reopen: %d %s", code, to)
	}
	if r, _ := c.Request(ctx, texted.RequestID); r.Status != core.StatusInProgress {
		t.Errorf("reopened from the account: %s", r.Status)
	}
	if code, _, _ := do("POST", "/account/reopen", url.Values{"request": {fmt.Sprint(texted.RequestID)}}, srv.URL); code != 400 {
		t.Errorf("reopening an open request: %d", code)
	}
	// Signed out, and in again by phone.
	if code, to, _ := do("POST", "/signout", nil, srv.URL); code != 303 || to != "/" {
		t.Errorf("sign out: %d %s", code, to)
	}
	if code, to, _ := do("GET", "/account", nil, ""); code != 303 || to != "/signin" {
		t.Errorf("the account after signing out: %d %s", code, to)
	}
	do("POST", "/signin", url.Values{"address": {"5305550911"}}, srv.URL)
	again := sent(t, texts, "+15305550911", regexp.MustCompile(`code is (\d{6})`), sms)
	if code, to, _ := do("POST", "/signin/code", url.Values{"address": {"5305550911"}, "code": {again}}, srv.URL); code != 303 || to != "/account" {
		t.Fatalf("signed in again: %d %s", code, to)
	}
	// Deleted, once she ticks that she means it: her details go, her
	// requests stay.
	if code, to, _ := do("POST", "/account/delete", nil, srv.URL); code != 303 || to != "/account" {
		t.Errorf("delete without ticking: %d %s", code, to)
	}
	if code, to, _ := do("POST", "/account/delete", url.Values{"sure": {"yes"}}, srv.URL); code != 303 || to != "/" {
		t.Errorf("delete: %d %s", code, to)
	}
	var known, accounts int
	c.Pool().QueryRow(ctx, `SELECT count(*) FROM contacts WHERE phone = '+15305550911' OR email = 'ana@example.org'`).Scan(&known)
	c.Pool().QueryRow(ctx, `SELECT count(*) FROM accounts`).Scan(&accounts)
	if known != 0 || accounts != 0 {
		t.Errorf("after deleting: %d contacts still known, %d accounts", known, accounts)
	}
	if _, err := c.Request(ctx, texted.RequestID); err != nil {
		t.Errorf("her request went with her account: %v", err)
	}
	if code, to, _ := do("GET", "/account", nil, ""); code != 303 || to != "/signin" {
		t.Errorf("the account after deleting: %d %s", code, to)
	}
}
