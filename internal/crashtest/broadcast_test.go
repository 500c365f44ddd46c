package crashtest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"

	"townline/core"
	"townline/internal/smtpsink"
	"townline/internal/testenv"
)

// Who subscribed to the city's emergency notices: texters (one in forty
// of whom later texted STOP) and mailboxes, one in three Spanish.
const (
	textSubscribers = 14_000
	mailSubscribers = 6_000
	stopEvery       = 40
	// killAfter is how many of the notice's messages have gone out when
	// the server is killed.
	killAfter = 3_000
)

// An emergency notice to 20,000 subscribers, the server killed with
// SIGKILL while it goes out and started again: every subscriber gets it
// exactly once, in their language (a mail sent again after the kill
// carries the same Message-ID, which mail programs show once), and the
// numbers that texted STOP get nothing.
func TestBroadcastSurvivesKill(t *testing.T) {
	t.Parallel()
	db := testenv.Pool(t)
	h := newHarness(t, testenv.URL(db), db)
	sink, err := smtpsink.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	h.env = append(h.env, "SMTP_URL="+sink.URL(), "EMAIL_FROM=311@oroville.test",
		"TOWNLINE_TEXT_RATE=400", "TOWNLINE_MAIL_RATE=400") // a kill finds it going out
	ctx := context.Background()
	for _, seed := range []string{
		`INSERT INTO contacts (phone, language, opted_out_at)
		SELECT '+1530' || lpad(g::text, 7, '0'), CASE WHEN g % 3 = 0 THEN 'es' ELSE 'en' END,
			CASE WHEN g % ` + strconv.Itoa(stopEvery) + ` = 0 THEN now() END
		FROM generate_series(1, ` + strconv.Itoa(textSubscribers) + `) g`,
		`INSERT INTO contacts (email, language)
		SELECT 'resident' || g || '@example.org', CASE WHEN g % 3 = 0 THEN 'es' ELSE 'en' END
		FROM generate_series(1, ` + strconv.Itoa(mailSubscribers) + `) g`,
		`INSERT INTO subscriptions (contact_id, channel, token, confirmed_at)
		SELECT id, CASE WHEN phone IS NOT NULL THEN 'sms' ELSE 'email' END, md5(id::text), now() FROM contacts`,
	} {
		if _, err := db.Exec(ctx, seed); err != nil {
			t.Fatal(err)
		}
	}
	// Staff post the notice and send it, from another instance that runs
	// no jobs: the server does the sending.
	c := testenv.CoreOn(t, db, func(o *core.Options) { o.Workers = 0 })
	until := time.Now().Add(6 * time.Hour)
	flood, err := c.SaveAnnouncement(ctx, core.Announcement{Kind: core.KindEmergency, Severity: core.SeverityWarning,
		Title: "Flood warning", TitleES: "Advertencia de inundación", Area: "Thermalito", Ends: &until}, core.CommandLine)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Broadcast(ctx, flood.ID, core.CommandLine); err != nil {
		t.Fatal(err)
	}
	// Killed first while the messages are being written, a batch of
	// subscribers at a time.
	h.start()
	h.waitFor("the notice's first batch written", settleDeadline, func() bool {
		return h.count(`SELECT count(*) FROM broadcasts WHERE last_id > 0`) == 1
	})
	h.kill9()
	t.Logf("killed with %d of the notice's messages written, all: %v", h.count(`SELECT texts + mails FROM broadcasts`),
		h.count(`SELECT count(*) FROM broadcasts WHERE fanned_out_at IS NOT NULL`) == 1)
	h.start()
	h.waitFor("the notice's messages written", settleDeadline, func() bool {
		h.passTime(ctx) // the killed run is rescued
		return h.count(`SELECT count(*) FROM broadcasts WHERE fanned_out_at IS NOT NULL`) == 1
	})
	t.Logf("%d messages written and queued %v after the notice was sent", h.count(`SELECT texts + mails FROM broadcasts`),
		time.Since(start).Round(time.Millisecond))
	// Then while they go out.
	h.waitFor("some of the notice sent", settleDeadline, func() bool {
		return h.count(`SELECT count(*) FROM messages WHERE broadcast_id IS NOT NULL AND state IN ('sent', 'delivered')`) >= killAfter
	})
	h.kill9()
	t.Logf("killed with %d of the notice's messages sent, %d being sent",
		h.count(`SELECT count(*) FROM messages WHERE broadcast_id IS NOT NULL AND state IN ('sent', 'delivered')`), h.sending())
	h.start()
	h.settle()
	t.Logf("all sent %v after the notice was sent", time.Since(start).Round(time.Millisecond))

	stopped := textSubscribers / stopEvery
	if n := h.count(`SELECT texts + mails FROM broadcasts`); n != textSubscribers+mailSubscribers-stopped {
		t.Errorf("%d recipients, want every subscriber but the %d who texted STOP", n, stopped)
	}
	texts := map[string]int{}
	for _, m := range h.fake.Messages() {
		if strings.Contains(m.Body, "Thermalito") {
			texts[m.To]++
			if spanish := strings.Contains(m.Body, "Hasta el"); spanish != (phoneIndex(m.To)%3 == 0) {
				t.Errorf("%s got the notice in the wrong language: %q", m.To, m.Body)
			}
		}
	}
	for i := 1; i <= textSubscribers; i++ {
		number := fmt.Sprintf("+1530%07d", i)
		want := 1
		if i%stopEvery == 0 {
			want = 0
		}
		if texts[number] != want {
			t.Errorf("%s got the notice %d times by text, want %d", number, texts[number], want)
		}
	}
	ids := map[string]map[string]bool{} // recipient -> Message-IDs
	resent := 0
	for _, m := range sink.Messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil || !strings.Contains(msg.Header.Get("Subject"), "Flood") && !strings.Contains(msg.Header.Get("Subject"), "inundaci") {
			continue
		}
		if msg.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Errorf("a notice to %v without one-click unsubscribe", m.To)
		}
		for _, to := range m.To {
			if ids[to] == nil {
				ids[to] = map[string]bool{}
			}
			if ids[to][msg.Header.Get("Message-Id")] {
				resent++
			}
			ids[to][msg.Header.Get("Message-Id")] = true
		}
	}
	for i := 1; i <= mailSubscribers; i++ {
		addr := fmt.Sprintf("resident%d@example.org", i)
		if len(ids[addr]) != 1 {
			t.Errorf("%s got %d different mails of the notice, want 1", addr, len(ids[addr]))
		}
	}
	t.Logf("%d mails sent again after the kill under the same Message-ID", resent)
	if n := h.count(`SELECT count(*) FROM messages WHERE broadcast_id IS NOT NULL AND state NOT IN ('sent', 'delivered')`); n != 0 {
		t.Errorf("%d of the notice's messages not sent", n)
	}
}

// phoneIndex reads back the g of '+1530' || lpad(g, 7, '0').
func phoneIndex(number string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(number, "+1530"))
	return n
}
