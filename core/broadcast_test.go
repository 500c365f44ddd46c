package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

// tokenIn reads the token of the link in a message.
func tokenIn(t *testing.T, body string) string {
	t.Helper()
	for _, f := range strings.Fields(body) {
		if u, err := url.Parse(f); err == nil && u.Query().Get("token") != "" {
			return u.Query().Get("token")
		}
	}
	t.Fatalf("no link with a token in %q", body)
	return ""
}

// Subscribing by mail: a confirmation link is mailed, and nothing counts
// until it is followed; the unsubscribe link ends it once; a stranger
// signing up a confirmed address changes nothing, and one who unsubscribed
// must confirm again.
func TestSubscribeByMail(t *testing.T) {
	t.Parallel()
	mail := &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: mail} })
	ctx := context.Background()
	count := func() int64 {
		t.Helper()
		n, err := c.EmergencySubscribers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	var bad *core.ValidationError
	if err := c.SubscribeByMail(ctx, "not an address", "en", false); !errors.As(err, &bad) || bad.Field != "email" {
		t.Errorf("a bad address: %v", err)
	}
	if err := c.SubscribeByMail(ctx, " Rosa@Example.org ", "es", false); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	m, err := mail.Next(wait, 0)
	if err != nil || m.To != "rosa@example.org" || m.Language != "es" || !strings.Contains(m.Subject, "Confirme") ||
		!strings.Contains(m.Body, "http://311.test/alerts/confirm?token=") || m.Unsubscribe != "" {
		t.Fatalf("the confirmation: %+v %v", m, err)
	}
	token := tokenIn(t, m.Body)
	if n := count(); n != 0 {
		t.Errorf("unconfirmed, %d subscribers", n)
	}
	for range 2 {
		if _, err := c.ConfirmSubscription(ctx, token); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(); n != 1 {
		t.Errorf("confirmed, %d subscribers", n)
	}
	// Someone else types the address: nothing changes, nothing is sent.
	if err := c.SubscribeByMail(ctx, "rosa@example.org", "en", false); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Errorf("signed up again, %d subscribers", n)
	}
	for _, bogus := range []string{"", "nope"} {
		if _, err := c.ConfirmSubscription(ctx, bogus); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("confirm %q: %v", bogus, err)
		}
		if _, err := c.Unsubscribe(ctx, bogus); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("unsubscribe %q: %v", bogus, err)
		}
	}
	if _, err := c.Unsubscribe(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Unsubscribe(ctx, token); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("unsubscribed twice: %v", err)
	}
	if _, err := c.ConfirmSubscription(ctx, token); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("an ended subscription confirmed: %v", err)
	}
	if n := count(); n != 0 {
		t.Errorf("unsubscribed, %d subscribers", n)
	}
	// Signing up again after unsubscribing needs the link again.
	if err := c.SubscribeByMail(ctx, "rosa@example.org", "en", false); err != nil {
		t.Fatal(err)
	}
	if m, err := mail.Next(wait, 1); err != nil || tokenIn(t, m.Body) != token {
		t.Errorf("the second confirmation: %+v %v", m, err)
	}
	if n := count(); n != 0 {
		t.Errorf("signed up again, unconfirmed, %d subscribers", n)
	}
	if _, calls := mail.Sent(); calls != 2 {
		t.Errorf("%d mails sent, want the two confirmations", calls)
	}
}

// An emergency notice reaches every subscriber once, in their language,
// over their channel, each mail with its unsubscribe link; not the
// numbers that texted STOP, the unconfirmed or the ended. It is sent once,
// only while in force, and its progress is counted.
func TestBroadcast(t *testing.T) {
	t.Parallel()
	texts, mails := &fakeSender{}, &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: texts, core.ChannelEmail: mails}
		o.TextRate, o.MailRate = 4, 1000
	})
	ctx := context.Background()
	for number, word := range map[string]string{"+15305550401": "ALERTS", "+15305550402": "alertas", "+15305550403": "Alerts",
		"+15305550404": "ALERTS"} {
		p := &phone{t: t, c: c, number: number}
		p.text(word)
	}
	for _, sub := range []struct{ addr, lang string }{{"ana@example.org", "en"}, {"beto@example.org", "es"}, {"pending@example.org", "en"}} {
		if err := c.SubscribeByMail(ctx, sub.addr, sub.lang, false); err != nil {
			t.Fatal(err)
		}
	}
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tokens := map[string]string{}
	for i := range 3 {
		m, err := mails.Next(wait, i)
		if err != nil {
			t.Fatal(err)
		}
		tokens[m.To] = tokenIn(t, m.Body)
	}
	for _, addr := range []string{"ana@example.org", "beto@example.org"} {
		if _, err := c.ConfirmSubscription(ctx, tokens[addr]); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := c.EmergencySubscribers(ctx); err != nil || n != 6 {
		t.Errorf("%d subscribers, want 6 (four numbers, two mailboxes): %v", n, err)
	}
	// The replies to ALERTS: four, one in Spanish; STOP is not answered.
	for i := range 4 {
		m, err := texts.Next(wait, i)
		if err != nil {
			t.Fatal(err)
		}
		want := "you will get the city's emergency alerts by text"
		if m.To == "+15305550402" {
			want = "recibirá por texto los avisos de emergencia"
		}
		if !strings.Contains(m.Body, want) {
			t.Errorf("the answer to %s: %q", m.To, m.Body)
		}
	}

	until := time.Now().Add(6 * time.Hour)
	flood, err := c.SaveAnnouncement(ctx, core.Announcement{Kind: core.KindEmergency, Severity: core.SeverityWarning,
		Title: "Flood warning", TitleES: "Advertencia de inundación", Body: "Move to higher ground.", BodyES: "Suba a un lugar alto.",
		Area: "Thermalito", Ends: &until}, core.CommandLine)
	if err != nil {
		t.Fatal(err)
	}
	meeting, err := c.SaveAnnouncement(ctx, core.Announcement{Kind: core.KindMeeting, Title: "Council", Starts: until}, core.CommandLine)
	if err != nil {
		t.Fatal(err)
	}
	var bad *core.ValidationError
	if err := c.Broadcast(ctx, meeting.ID, core.CommandLine); !errors.As(err, &bad) {
		t.Errorf("a meeting broadcast: %v", err)
	}
	if err := c.Broadcast(ctx, 999999, core.CommandLine); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a missing notice broadcast: %v", err)
	}
	if _, sent, err := c.Broadcasted(ctx, flood.ID); err != nil || sent {
		t.Errorf("before sending, sent = %v %v", sent, err)
	}
	for _, number := range []string{"+15305550403", "+15305550404"} { // after ALERTS, before the notice
		(&phone{t: t, c: c, number: number}).text("STOP")
	}
	if err := c.Broadcast(ctx, flood.ID, core.CommandLine); err != nil {
		t.Fatal(err)
	}
	if err := c.Broadcast(ctx, flood.ID, core.CommandLine); !errors.Is(err, core.ErrAlreadySent) {
		t.Errorf("sent twice: %v", err)
	}

	got := map[string]core.Outbound{}
	for i := 4; len(got) < 2; i++ {
		m, err := texts.Next(wait, i)
		if err != nil {
			t.Fatalf("texts of the notice: %v (got %v)", err, got)
		}
		got[m.To] = m
	}
	for i := 3; len(got) < 4; i++ {
		m, err := mails.Next(wait, i)
		if err != nil {
			t.Fatalf("mails of the notice: %v (got %v)", err, got)
		}
		got[m.To] = m
	}
	if m := got["+15305550401"]; !strings.HasPrefix(m.Body, "Oroville: Emergency warning, Thermalito: Flood warning. Move to higher ground. Until ") {
		t.Errorf("the English text: %q", m.Body)
	}
	if m := got["+15305550402"]; !strings.HasPrefix(m.Body, "Oroville: Advertencia de emergencia, Thermalito: Advertencia de inundación. Suba a un lugar alto. Hasta el ") {
		t.Errorf("the Spanish text: %q", m.Body)
	}
	if m := got["ana@example.org"]; m.Subject != "Oroville: Emergency warning: Flood warning" ||
		m.Unsubscribe != "http://311.test/alerts/unsubscribe?token="+tokens["ana@example.org"] || m.RequestID != 0 {
		t.Errorf("the English mail: %+v", m)
	}
	if m := got["beto@example.org"]; m.Subject != "Oroville: Advertencia de emergencia: Advertencia de inundación" || m.Language != "es" {
		t.Errorf("the Spanish mail: %+v", m)
	}

	// Nothing more: not to STOP, not to the pending address, not twice.
	testenv.WaitJobsIdle(t, c.Pool()) // written, and every delivery done
	p, sent, err := c.Broadcasted(ctx, flood.ID)
	if err != nil || !sent || !p.Written || p.Recipients != 4 || p.Sent != 4 || p.Remaining != 0 || p.Failed != 0 {
		t.Errorf("progress: %+v %v %v", p, sent, err)
	}
	if sms, _ := texts.Sent(); len(sms) != 6 {
		t.Errorf("%d texts in all, want 4 answers and 2 notices", len(sms))
	}
	if ms, _ := mails.Sent(); len(ms) != 5 {
		t.Errorf("%d mails in all, want 3 confirmations and 2 notices", len(ms))
	}

	// An ended notice is not sent.
	if err := c.CancelAnnouncement(ctx, meeting.ID, core.CommandLine); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(time.Hour)
	ended, err := c.SaveAnnouncement(ctx, core.Announcement{Kind: core.KindEmergency, Severity: core.SeverityWatch,
		Title: "Heat", Area: "Citywide", Ends: &past}, core.CommandLine)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CancelAnnouncement(ctx, ended.ID, core.CommandLine); err != nil {
		t.Fatal(err)
	}
	if err := c.Broadcast(ctx, ended.ID, core.CommandLine); !errors.As(err, &bad) || !strings.Contains(bad.Problem, "no longer in force") {
		t.Errorf("an ended notice broadcast: %v", err)
	}
	// The texts went out at the rate set, the k-th k/rate seconds after
	// the first.
	rows, err := c.Pool().Query(ctx, `SELECT extract(epoch FROM j.scheduled_at - b.created_at)::float8
		FROM river_job j JOIN messages m ON m.id = (j.args->>'message_id')::bigint JOIN broadcasts b ON b.id = m.broadcast_id
		WHERE j.kind = 'deliver' AND m.channel = 'sms' ORDER BY j.scheduled_at`)
	if err != nil {
		t.Fatal(err)
	}
	var offsets []float64
	for rows.Next() {
		var f float64
		rows.Scan(&f)
		offsets = append(offsets, f)
	}
	if len(offsets) != 2 || offsets[0] != 0 || offsets[1] < 0.249 || offsets[1] > 0.251 {
		t.Errorf("the texts' offsets from the sending: %v, want 0 and 0.25 s", offsets)
	}
	log, err := c.AdminLog(ctx, 10)
	if err != nil || !strings.Contains(fmtActions(log), "announcement.broadcast Flood warning") {
		t.Errorf("admin log: %+v %v", log, err)
	}
}

func fmtActions(log []core.AdminEntry) string {
	var b strings.Builder
	for _, e := range log {
		b.WriteString(e.Action + " " + e.Subject + "\n")
	}
	return b.String()
}

// Someone who did not report a request follows it, by text (FOLLOW 1234)
// or by mail (once confirmed): its public updates reach them, saying they
// follow it, each mail with its link to stop; a duplicate is followed as
// its issue; the reporter is not told twice; after the link, nothing.
func TestFollow(t *testing.T) {
	t.Parallel()
	texts, mails := &fakeSender{}, &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: texts, core.ChannelEmail: mails}
	})
	ctx := context.Background()
	lat, lng := 39.5138, -121.5564
	reporter := &phone{t: t, c: c, number: "+15305550701"}
	issue, err := c.Request(ctx, reporter.text("pothole at 1735 Montgomery Street, 39.5138, -121.5564").RequestID)
	if err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := texts.Next(wait, 0); err != nil { // its acknowledgment
		t.Fatal(err)
	}
	dup, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole", Lat: &lat, Lng: &lng,
		Address: "1735 Montgomery Street"})
	if err != nil || dup.DuplicateOf == nil || *dup.DuplicateOf != issue.ID {
		t.Fatalf("the second report is not a duplicate of the first: %+v %v", dup, err)
	}
	follower := &phone{t: t, c: c, number: "+15305550702"}
	follower.text(fmt.Sprintf("follow #%d", dup.ID)) // the duplicate's number: its issue is followed
	reporter.text(fmt.Sprintf("FOLLOW %d", issue.ID))
	(&phone{t: t, c: c, number: "+15305550703"}).text("seguir 99999")
	answers := map[string]string{}
	for i := 1; len(answers) < 3; i++ {
		m, err := texts.Next(wait, i)
		if err != nil {
			t.Fatalf("the answers: %v %v", answers, err)
		}
		answers[m.To] = m.Body
	}
	if want := fmt.Sprintf("you will get the updates of #%d (Pothole", issue.ID); !strings.Contains(answers["+15305550702"], want) {
		t.Errorf("the follower's answer: %q", answers["+15305550702"])
	}
	if !strings.Contains(answers["+15305550703"], "99999") {
		t.Errorf("following no request: %q", answers["+15305550703"])
	}
	id, _, err := c.FollowByMail(ctx, issue.ID, "Vecina@Example.org", "es", core.Resident{})
	if err != nil || id != issue.ID {
		t.Fatalf("follow by mail: %d %v", id, err)
	}
	var bad *core.ValidationError
	if _, _, err := c.FollowByMail(ctx, issue.ID, "nope", "en", core.Resident{}); !errors.As(err, &bad) {
		t.Errorf("a bad address: %v", err)
	}
	if _, _, err := c.FollowByMail(ctx, 99999, "x@example.org", "en", core.Resident{}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("following no request by mail: %v", err)
	}
	confirm, err := mails.Next(wait, 0)
	if err != nil || confirm.To != "vecina@example.org" || !strings.Contains(confirm.Subject, fmt.Sprintf("#%d", issue.ID)) {
		t.Fatalf("the confirmation: %+v %v", confirm, err)
	}
	token := tokenIn(t, confirm.Body)
	sub, err := c.ConfirmSubscription(ctx, token)
	if err != nil || sub.Request != issue.ID || sub.Channel != core.ChannelEmail {
		t.Errorf("confirmed: %+v %v", sub, err)
	}

	if err := c.ChangeStatus(ctx, issue.ID, core.StatusChange{To: core.StatusInProgress, Note: "Crew on the way.", Public: true,
		By: core.Actor{Name: "dispatcher"}}); err != nil {
		t.Fatal(err)
	}
	got := map[string]core.Outbound{}
	deadline := time.Now().Add(20 * time.Second)
	for i := 4; len(got) < 2 && time.Now().Before(deadline); i++ {
		m, err := texts.Next(wait, i)
		if err != nil {
			t.Fatal(err)
		}
		got[m.To] = m
	}
	m, err := mails.Next(wait, 1)
	if err != nil {
		t.Fatal(err)
	}
	got[m.To] = m
	if m := got["+15305550702"]; !strings.Contains(m.Body, fmt.Sprintf("#%d, which you follow: now in progress. Crew on the way.", issue.ID)) {
		t.Errorf("the follower's text: %q", m.Body)
	}
	if m := got["+15305550701"]; !strings.Contains(m.Body, "now in progress") || strings.Contains(m.Body, "which you follow") {
		t.Errorf("the reporter's text: %q", m.Body)
	}
	if m := got["vecina@example.org"]; !strings.Contains(m.Body, "que usted sigue, ahora está en proceso") ||
		m.Unsubscribe != "http://311.test/alerts/unsubscribe?token="+token {
		t.Errorf("the follower's mail: %+v", m)
	}

	// Stopped by the link, the mail follower hears no more; the reporter
	// heard each update once.
	if sub, err := c.Unsubscribe(ctx, token); err != nil || sub.Request != issue.ID {
		t.Fatalf("unsubscribe: %+v %v", sub, err)
	}
	if err := c.AddNote(ctx, issue.ID, "Filled.", true, core.Actor{Name: "dispatcher"}); err != nil {
		t.Fatal(err)
	}
	for i := 6; i < 8; i++ {
		m, err := texts.Next(wait, i)
		if err != nil {
			t.Fatal(err)
		}
		if m.To == "+15305550702" && !strings.Contains(m.Body, fmt.Sprintf("#%d, which you follow: Filled.", issue.ID)) {
			t.Errorf("the follower's text of the note: %q", m.Body)
		}
	}
	testenv.WaitJobsIdle(t, c.Pool())
	if ms, _ := mails.Sent(); len(ms) != 2 {
		t.Errorf("%d mails, want the confirmation and one update", len(ms))
	}
	sms, _ := texts.Sent()
	toReporter := 0
	for _, m := range sms {
		if m.To == "+15305550701" && !strings.Contains(m.Body, "you will get the updates") {
			toReporter++
		}
	}
	if len(sms) != 8 || toReporter != 3 {
		t.Errorf("%d texts, %d to the reporter besides the answer to FOLLOW; want 8 in all and 3 (the acknowledgment, one for each update):\n%v",
			len(sms), toReporter, sms)
	}
}

// Once a week, those who asked get the coming seven days' meetings and
// events by mail, in their language, with a link to stop; the emergency
// notices' subscribers do not; a week is sent once; a week with nothing
// coming sends nothing.
func TestWeeklyDigest(t *testing.T) {
	t.Parallel()
	mails := &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: mails} })
	ctx := context.Background()
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if sent, err := c.SendWeeklyDigest(ctx); err != nil || sent {
		t.Errorf("a week with nothing coming: %v %v", sent, err)
	}
	for i, sub := range []struct {
		addr, lang string
		digest     bool
	}{{"week@example.org", "en", true}, {"semana@example.org", "es", true}, {"alerts@example.org", "en", false}} {
		if err := c.SubscribeByMail(ctx, sub.addr, sub.lang, sub.digest); err != nil {
			t.Fatal(err)
		}
		m, err := mails.Next(wait, i)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := c.ConfirmSubscription(ctx, tokenIn(t, m.Body)); err != nil || s.Digest != sub.digest {
			t.Fatalf("confirm %s: %+v %v", sub.addr, s, err)
		}
	}
	now := time.Now()
	post := func(a core.Announcement) core.Announcement {
		t.Helper()
		saved, err := c.SaveAnnouncement(ctx, a, core.CommandLine)
		if err != nil {
			t.Fatal(err)
		}
		return saved
	}
	post(core.Announcement{Kind: core.KindMeeting, Title: "City Council", TitleES: "Concejo Municipal", Place: "Chambers", Starts: now.Add(48 * time.Hour)})
	post(core.Announcement{Kind: core.KindEvent, Title: "Cleanup day", Starts: now.Add(72 * time.Hour)})
	called := post(core.Announcement{Kind: core.KindEvent, Title: "Parade", Starts: now.Add(96 * time.Hour)})
	if err := c.CancelAnnouncement(ctx, called.ID, core.CommandLine); err != nil {
		t.Fatal(err)
	}
	post(core.Announcement{Kind: core.KindEvent, Title: "Spring fair", Starts: now.AddDate(0, 0, 10)})
	if sent, err := c.SendWeeklyDigest(ctx); err != nil || !sent {
		t.Fatalf("the week's digest: %v %v", sent, err)
	}
	if sent, err := c.SendWeeklyDigest(ctx); err != nil || sent {
		t.Errorf("the week's digest twice: %v %v", sent, err)
	}
	got := map[string]core.Outbound{}
	for i := 3; len(got) < 2; i++ {
		m, err := mails.Next(wait, i)
		if err != nil {
			t.Fatalf("the digests: %v %v", got, err)
		}
		got[m.To] = m
	}
	en, es := got["week@example.org"], got["semana@example.org"]
	if en.Subject != "Oroville: meetings and events this week" || !strings.Contains(en.Body, "City Council") ||
		!strings.Contains(en.Body, "Cleanup day") || strings.Contains(en.Body, "Parade") || strings.Contains(en.Body, "Spring fair") ||
		!strings.HasPrefix(en.Unsubscribe, "http://311.test/alerts/unsubscribe?token=") {
		t.Errorf("the English digest: %+v", en)
	}
	if !strings.Contains(es.Body, "Concejo Municipal") || !strings.Contains(es.Subject, "reuniones y eventos") {
		t.Errorf("the Spanish digest: %+v", es)
	}
	testenv.WaitJobsIdle(t, c.Pool())
	if ms, _ := mails.Sent(); len(ms) != 5 {
		t.Errorf("%d mails, want three confirmations and two digests (none to the emergency subscriber)", len(ms))
	}
	// At the default rate, ten mails a second.
	var first, second float64
	if err := c.Pool().QueryRow(ctx, `SELECT min(o), max(o) FROM (SELECT extract(epoch FROM j.scheduled_at - b.created_at)::float8 AS o
		FROM river_job j JOIN messages m ON m.id = (j.args->>'message_id')::bigint JOIN broadcasts b ON b.id = m.broadcast_id
		WHERE j.kind = 'deliver') s`).Scan(&first, &second); err != nil || first != 0 || second < 0.099 || second > 0.101 {
		t.Errorf("the digests' offsets from the sending: %v and %v, want 0 and 0.1 s: %v", first, second, err)
	}
}

// A city with no mail connected refuses a sign-up by mail, rather than
// ask the resident to wait for a confirmation that never comes.
func TestNoMailNoSignUp(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	if err := c.SubscribeByMail(context.Background(), "ana@example.org", "en", false); !errors.Is(err, core.ErrNotConnected) {
		t.Errorf("subscribe: %v", err)
	}
	if _, _, err := c.FollowByMail(context.Background(), 1, "ana@example.org", "en", core.Resident{}); !errors.Is(err, core.ErrNotConnected) {
		t.Errorf("follow: %v", err)
	}
	var bad *core.ValidationError
	if err := c.SubscribeByMail(context.Background(), "ana at example", "en", false); !errors.As(err, &bad) || bad.Field != "email" {
		t.Errorf("subscribe with a wrong address: %v", err)
	}
	if _, _, err := c.SendSignin(context.Background(), "ana@example.org", "en", "10.0.0.1", 0); !errors.Is(err, core.ErrNotConnected) {
		t.Errorf("a sign-in by mail: %v", err)
	}
}

// The weekly mail goes once a week, the week named by its Monday in the
// city: sent on a Wednesday, not again that Sunday night, again the
// next Monday morning.
func TestWeeklyDigestOncePerWeek(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	city := c.City().Location
	wed := time.Now().In(city).AddDate(0, 0, 7)
	for wed.Weekday() != time.Wednesday {
		wed = wed.AddDate(0, 0, 1)
	}
	at := func(days, hour int) time.Time {
		return time.Date(wed.Year(), wed.Month(), wed.Day()+days, hour, 0, 0, 0, city)
	}
	if _, err := c.SaveAnnouncement(ctx, core.Announcement{Kind: core.KindMeeting, Title: "City Council", Place: "Chambers",
		Starts: at(6, 18)}, core.CommandLine); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name   string
		now    time.Time
		sent   bool
		monday time.Time
	}{
		{"Wednesday", at(0, 10), true, at(-2, 0)},
		{"that Sunday night", at(4, 23), false, at(-2, 0)},
		{"the next Monday", at(5, 7), true, at(5, 0)},
	} {
		sent, err := c.SendWeeklyDigestAt(ctx, step.now)
		if err != nil || sent != step.sent {
			t.Errorf("%s: sent %v (%v), want %v", step.name, sent, err, step.sent)
		}
		var week time.Time
		if err := c.Pool().QueryRow(ctx, `SELECT max(week) FROM broadcasts`).Scan(&week); err != nil ||
			week.Format(time.DateOnly) != step.monday.Format(time.DateOnly) {
			t.Errorf("%s: the last week sent is %v (%v), want the week of %s", step.name, week, err, step.monday.Format(time.DateOnly))
		}
	}
}
