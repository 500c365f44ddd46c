package crashtest_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"townline/internal/dovecot"
	"townline/internal/faketwilio"
	"townline/internal/smtpsink"
	"townline/internal/testenv"
)

// takeover is the most the mailbox may go unwatched after its watcher's
// instance dies: the survivor asks for the lead every five seconds
// (core.LeadPoll), and the lock goes with the dead instance's connection.
const takeover = 15 * time.Second

// Two "townline serve" on one database, each on its own address, as
// behind a load balancer: a photo texted to one is served by the other;
// both watch one mailbox and each mail is taken once; the periodic jobs
// are queued by one of them; and when the watching instance is killed,
// the other takes over the mailbox within takeover.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	db := testenv.Pool(t)
	ctx := context.Background()
	mailbox, err := dovecot.Start(ctx, t.TempDir(), testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mailbox.Stop() })
	sink, err := smtpsink.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	a := newHarness(t, testenv.URL(db), db)
	b := newHarness(t, testenv.URL(db), db)
	// One Twilio account: either instance fetches the photos it holds.
	b.fake = a.fake
	for _, h := range []*harness{a, b} {
		h.env = slices.DeleteFunc(h.env, func(kv string) bool {
			return strings.HasPrefix(kv, "TWILIO_ACCOUNT_SID=") || strings.HasPrefix(kv, "TWILIO_AUTH_TOKEN=") ||
				strings.HasPrefix(kv, "TWILIO_API_URL=")
		})
		h.env = append(h.env, "TWILIO_ACCOUNT_SID="+a.fake.AccountSID, "TWILIO_AUTH_TOKEN="+a.fake.AuthToken,
			"TWILIO_API_URL="+a.fake.URL(), "IMAP_URL="+mailbox.URL("INBOX"), "SMTP_URL="+sink.URL(),
			"EMAIL_FROM=311@oroville.test")
	}
	a.start()
	b.start()
	// leads counts the times an instance took the mailbox over.
	leads := func(h *harness) int {
		return strings.Count(h.logs.all(), `msg="this instance leads" work=mailbox`)
	}
	watcher := func(h *harness) bool { return leads(h) > 0 }
	a.waitFor("one instance watching the mailbox", readyDeadline, func() bool { return watcher(a) || watcher(b) })

	// A photo texted to the first is served by the second.
	var photo bytes.Buffer
	if err := jpeg.Encode(&photo, image.NewGray(image.Rect(0, 0, 32, 32)), nil); err != nil {
		t.Fatal(err)
	}
	resp, err := a.fake.Phone("+15305550601", a.base+"/twilio/sms").Send("pothole at 39.51380, -121.55640",
		faketwilio.MediaFile{ContentType: "image/jpeg", Data: photo.Bytes()})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the text to the first instance: %v %v", resp, err)
	}
	var id int64
	a.waitFor("the photo fetched", settleDeadline, func() bool {
		id = int64(a.count(`SELECT COALESCE(max(id), 0) FROM attachments WHERE content_type = 'image/jpeg'`))
		return id > 0
	})
	resp, err = http.Get(fmt.Sprintf("%s/media/%d", b.base, id))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" || len(got) == 0 {
		t.Errorf("the second instance serves the photo texted to the first: %d %s, %d bytes",
			resp.StatusCode, resp.Header.Get("Content-Type"), len(got))
	}
	if _, err := jpeg.Decode(bytes.NewReader(got)); err != nil {
		t.Errorf("the photo served is not the JPEG texted: %v", err)
	}

	// Queued once: the jobs that run when the queue starts are queued by
	// the one instance that leads the queue, not by both.
	purges := `SELECT count(*) FROM river_job WHERE kind = 'purge_contacts'`
	a.waitFor("the start-up jobs queued", readyDeadline, func() bool { return a.count(purges) >= 1 })
	// An absence has no event to wait on: the second instance, had it led
	// the queue too, would have queued its own at its start, seconds ago.
	time.Sleep(3 * time.Second)
	if n := a.count(purges); n != 1 {
		t.Errorf("%d purges queued at start by two instances, want 1", n)
	}

	// Both watch one mailbox: each mail makes one request.
	mail := func(n int) {
		t.Helper()
		raw := fmt.Sprintf("From: resident%d@example.org\r\nTo: 311@oroville.test\r\nSubject: Graffiti %d\r\n"+
			"Message-ID: <two-instances-%d@example.org>\r\n\r\nGraffiti on the wall at 39.51380, -121.55640, number %d.\r\n", n, n, n, n)
		if _, err := mailbox.Append("INBOX", []byte(raw)); err != nil {
			t.Fatal(err)
		}
		a.waitFor(fmt.Sprintf("mail %d taken", n), settleDeadline, func() bool {
			return a.count(`SELECT count(*) FROM messages WHERE direction = 'in' AND channel = 'email' AND provider_id = $1`,
				fmt.Sprintf("two-instances-%d@example.org", n)) >= 1
		})
	}
	mail(1)

	// The watching instance dies; the other takes the mailbox over.
	if leads(a)+leads(b) != 1 {
		t.Fatalf("the mailbox was taken %d and %d times by the two instances, want once in all", leads(a), leads(b))
	}
	dead, survivor := a, b
	if watcher(b) {
		dead, survivor = b, a
	}
	dead.kill9()
	killed := time.Now()
	survivor.waitFor("the survivor watching the mailbox", takeover, func() bool { return watcher(survivor) })
	t.Logf("the mailbox watched again %v after its watcher was killed", time.Since(killed).Round(time.Millisecond))
	mail(2)
	// The dead instance takes nothing more, and the survivor's second
	// look at a mail would be its provider id again: counted once each.
	for n := 1; n <= 2; n++ {
		msgs := a.count(`SELECT count(*) FROM messages WHERE direction = 'in' AND channel = 'email' AND provider_id = $1`,
			fmt.Sprintf("two-instances-%d@example.org", n))
		reqs := a.count(`SELECT count(*) FROM requests WHERE channel = 'email' AND description LIKE $1`, fmt.Sprintf("%%number %d.%%", n))
		if msgs != 1 || reqs != 1 {
			t.Errorf("mail %d: stored %d times, %d requests; want once and one", n, msgs, reqs)
		}
	}
}
