package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"townline/core"
	"townline/internal/dovecot"
	"townline/internal/smtpsink"
	"townline/internal/testenv"
)

// bundle is a mailbox in Dovecot, an SMTP sink and a core that sends
// mail through it.
type bundle struct {
	c    *core.Core
	dc   *dovecot.Server
	sink *smtpsink.Sink
	cfg  Config
}

func setupDovecot(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{dc: startDovecot(t), sink: newSMTPSink(t)}
	b.cfg = testConfig(b.dc.URL("INBOX"), b.sink.URL())
	sender, err := NewSender(b.cfg, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	b.c = testenv.Core(t, func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: sender} })
	return b
}

func (b *bundle) append(t *testing.T, raw []byte) {
	t.Helper()
	if _, err := b.dc.Append("INBOX", raw); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) count(t *testing.T, mailbox string) int { return count(t, b.dc.Dial, mailbox) }

// stored waits for the inbound message with a Message-ID and returns its
// request (0 for none) and flag.
func stored(t *testing.T, c *core.Core, messageID string) (requestID int64, flag string) {
	t.Helper()
	eventually(t, 5*time.Second, "message "+messageID+" stored", func() bool {
		err := c.Pool().QueryRow(context.Background(), `SELECT COALESCE(request_id, 0), flag FROM messages
			WHERE direction = 'in' AND provider_id = $1`, messageID).Scan(&requestID, &flag)
		return err == nil
	})
	return requestID, flag
}

const maria = "Maria Lopez <maria.lopez@icloud.com>"

// TestEndToEnd follows a resident's mail through Dovecot, core and SMTP:
// a report with a photo, the acknowledgment, replies, an out-of-office,
// a bounce and a restart.
func TestEndToEnd(t *testing.T) {
	b := setupDovecot(t)
	ctx := context.Background()
	w := newWatcher(t, b.c, b.cfg) // re-checks hourly: news must come by IDLE
	stop := watch(t, w)
	eventually(t, 10*time.Second, "watcher ready", func() bool { return w.Ready() == nil })

	// A report with a photo becomes a request with the photo, within two seconds.
	report, err := readTestdata("iphone-jpeg.eml")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	b.append(t, report)
	var reqID int64
	eventually(t, 2*time.Second, "a request with its photo", func() bool {
		return b.c.Pool().QueryRow(ctx, `SELECT r.id FROM requests r JOIN attachments a ON a.request_id = r.id
			WHERE a.content_type = 'image/jpeg' AND a.filename = 'IMG_2041.jpeg'`).Scan(&reqID) == nil
	})
	t.Logf("APPEND to stored request: %v", time.Since(start))
	r, err := b.c.Request(ctx, reqID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Channel != core.ChannelEmail || r.ServiceCode != "pothole" || r.Lat == nil || *r.Lat < 39.51 || *r.Lat > 39.52 {
		t.Errorf("request %+v", r)
	}
	if !strings.Contains(r.Description, "big pothole in front of 1520 Myers St") || strings.Contains(r.Description, "Sent from my iPhone") {
		t.Errorf("description %q", r.Description)
	}
	if n := queryInt(t, b.c, `SELECT count(*) FROM attachments WHERE request_id = $1 AND filename = 'message.eml' AND NOT public`, reqID); n != 1 {
		t.Errorf("%d raw messages kept", n)
	}
	eventually(t, 5*time.Second, "the message moved to Processed", func() bool {
		return b.count(t, "INBOX") == 0 && b.count(t, ProcessedFolder) == 1
	})

	// The acknowledgment, threaded.
	eventually(t, 5*time.Second, "the acknowledgment sent", func() bool { return len(b.sink.To("maria.lopez@icloud.com")) == 1 })
	h, _ := readHeader(b.sink.To("maria.lopez@icloud.com")[0].Data)
	ackID := msgIDs(h.Get("Message-Id"))[0]
	if !strings.HasPrefix(ackID, fmt.Sprintf("sr-%d.m-", reqID)) || !strings.HasSuffix(ackID, "@oroville.example") {
		t.Errorf("Message-ID %q", ackID)
	}
	if got := h.Get("In-Reply-To"); got != "<8C3E1F2A-5B6D-4E7F-9A0B-1C2D3E4F5A6B@icloud.com>" {
		t.Errorf("In-Reply-To %q: not the resident's message", got)
	}
	if got := h.Get("References"); got != "<8C3E1F2A-5B6D-4E7F-9A0B-1C2D3E4F5A6B@icloud.com>" {
		t.Errorf("References %q", got)
	}
	subject := decodeWords(h.Get("Subject"))
	if !strings.HasSuffix(subject, fmt.Sprintf("[#%d]", reqID)) || h.Get("Auto-Submitted") != "auto-replied" || h.Get(LoopHeader) == "" {
		t.Errorf("subject %q, Auto-Submitted %q", subject, h.Get("Auto-Submitted"))
	}
	replyTo := addresses(h.Get("Reply-To"))[0]
	if id, _ := newTokens([]byte(testSecret)).tag(cityAddr, replyTo); id != reqID {
		t.Errorf("Reply-To %q names request %d, want %d", replyTo, id, reqID)
	}
	// The server has it before the job records it as sent.
	testenv.WaitFor(t, b.c, func() error {
		if got := queryInt(t, b.c, `SELECT count(*) FROM messages WHERE direction = 'out' AND provider_id = $1 AND state = 'sent'`, ackID); got != 1 {
			return fmt.Errorf("the acknowledgment's Message-ID %s is not stored as sent", ackID)
		}
		return nil
	})

	// The resident's reply joins the request; its quote is trimmed.
	b.append(t, rawMail(map[string]string{
		"From": maria, "To": "Oroville 311 <" + replyTo + ">", "Subject": "Re: " + subject,
		"Message-ID": "<Reply-1@icloud.com>", "In-Reply-To": "<" + ackID + ">",
		"References": "<8C3E1F2A-5B6D-4E7F-9A0B-1C2D3E4F5A6B@icloud.com> <" + ackID + ">",
	}, "It got bigger today.\n\nSent from my iPhone\n\n> On Nov 24, 2026, at 8:13 AM, Oroville 311 wrote:\n> Thank you"))
	if id, flag := stored(t, b.c, "Reply-1@icloud.com"); id != reqID || flag != "" {
		t.Errorf("reply: request %d flag %q, want %d and no flag", id, flag, reqID)
	}
	if body := queryString(t, b.c, `SELECT body FROM messages WHERE provider_id = 'Reply-1@icloud.com'`); body != "It got bigger today." {
		t.Errorf("reply stored as %q", body)
	}

	// Someone else in the thread: kept on the request, flagged for staff.
	b.append(t, rawMail(map[string]string{
		"From": "neighbor@example.org", "To": cityAddr, "Subject": "Fwd: " + subject,
		"Message-ID": "<other-1@example.org>", "References": "<" + ackID + ">",
	}, "The hole is at 1530, not 1520."))
	if id, flag := stored(t, b.c, "other-1@example.org"); id != reqID || flag != "not from the request's reporter" {
		t.Errorf("another's mail: request %d flag %q", id, flag)
	}

	// The signed reply address alone joins; the subject's [#id] alone does not.
	b.append(t, rawMail(map[string]string{
		"From": maria, "To": replyTo, "Subject": "one more thing", "Message-ID": "<token-1@icloud.com>",
	}, "It is right at the crosswalk."))
	if id, _ := stored(t, b.c, "token-1@icloud.com"); id != reqID {
		t.Errorf("by reply address: request %d, want %d", id, reqID)
	}
	b.append(t, rawMail(map[string]string{
		"From": maria, "To": cityAddr, "Subject": fmt.Sprintf("Re: [#%d]", reqID), "Message-ID": "<subject-1@icloud.com>",
	}, "Also graffiti on the wall at 200 Bird Street."))
	if id, _ := stored(t, b.c, "subject-1@icloud.com"); id == reqID || id == 0 {
		t.Errorf("by subject: request %d, want a new one", id)
	}
	requests := queryInt(t, b.c, `SELECT count(*) FROM requests`)
	outbound := queryInt(t, b.c, `SELECT count(*) FROM messages WHERE direction = 'out'`)

	// An out-of-office answer changes nothing: no request, no answer.
	b.append(t, rawMail(map[string]string{
		"From": maria, "To": replyTo, "Subject": "Automatic reply: " + subject, "Message-ID": "<ooo-1@icloud.com>",
		"In-Reply-To": "<" + ackID + ">", "Auto-Submitted": "auto-replied",
	}, "I am away until Monday."))
	if id, flag := stored(t, b.c, "ooo-1@icloud.com"); id != reqID || flag != "automatic reply" {
		t.Errorf("out-of-office: request %d flag %q", id, flag)
	}
	if got := queryInt(t, b.c, `SELECT count(*) FROM requests`); got != requests {
		t.Errorf("the out-of-office made a request: %d, was %d", got, requests)
	}
	if got := queryInt(t, b.c, `SELECT count(*) FROM messages WHERE direction = 'out'`); got != outbound {
		t.Errorf("the out-of-office was answered: %d outbound, was %d", got, outbound)
	}

	// A stranger writing to the signed reply address: kept on the
	// request for staff, flagged, not taken as the reporter's word.
	b.append(t, rawMail(map[string]string{
		"From": "stranger@example.org", "To": replyTo, "Subject": "hello", "Message-ID": "<stranger-1@example.org>",
	}, "I saw it too, it is huge."))
	if id, flag := stored(t, b.c, "stranger-1@example.org"); id != reqID || flag != "not from the request's reporter" {
		t.Errorf("a stranger at the reply address: request %d flag %q", id, flag)
	}

	// Automatic mail outside any thread, a list post and an out-of-office
	// that names no message: kept, flagged, neither a request nor answered.
	b.append(t, rawMail(map[string]string{
		"From": "news@example.org", "To": cityAddr, "Subject": "Pothole season: our weekly news",
		"Message-ID": "<list-1@example.org>", "List-Id": "<weekly.example.org>", "Precedence": "list",
	}, "A pothole at 1735 Montgomery Street was in the news."))
	b.append(t, rawMail(map[string]string{
		"From": "clerk@example.org", "To": cityAddr, "Subject": "Out of office", "Message-ID": "<ooo-2@example.org>",
		"Auto-Submitted": "auto-replied",
	}, "I am away until Monday. For potholes call 311."))
	for _, id := range []string{"list-1@example.org", "ooo-2@example.org"} {
		if rid, flag := stored(t, b.c, id); rid != 0 || flag != "automatic reply" {
			t.Errorf("%s: request %d flag %q, want no request and the automatic flag", id, rid, flag)
		}
	}
	if got := queryInt(t, b.c, `SELECT count(*) FROM requests`); got != requests {
		t.Errorf("automatic mail made a request: %d, was %d", got, requests)
	}
	if got := queryInt(t, b.c, `SELECT count(*) FROM messages WHERE direction = 'out'`); got != outbound {
		t.Errorf("automatic mail was answered: %d outbound, was %d", got, outbound)
	}

	// A bounce of our mail to her marks her address; nothing more is sent to it.
	bounce, err := readTestdata("bounce.eml")
	if err != nil {
		t.Fatal(err)
	}
	bounce = bytes.ReplaceAll(bounce, []byte("maria.lopez@example.net"), []byte("maria.lopez@icloud.com"))
	bounce = bytes.ReplaceAll(bounce, []byte("sr-1041.m-5000.k4j5h6g7f8d9s0a1@oroville.example"), []byte(ackID))
	b.append(t, bounce)
	eventually(t, 5*time.Second, "the address marked bouncing", func() bool {
		return queryInt(t, b.c, `SELECT count(*) FROM contacts WHERE email = 'maria.lopez@icloud.com' AND bouncing_at IS NOT NULL`) == 1
	})
	if id, flag := stored(t, b.c, "20261124161407.2A7F822A0132@mx1.oroville.example"); id != reqID || flag != "automatic reply" {
		t.Errorf("bounce: request %d flag %q", id, flag)
	}
	msgID, err := b.c.Reply(ctx, reqID, "", "We filled the pothole.", core.Actor{Name: "staff@oroville.example"})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := b.c.Message(ctx, msgID); m.State != "not_sent" {
		t.Errorf("a reply to a bouncing address is %q", m.State)
	}
	if got := queryInt(t, b.c, `SELECT count(*) FROM requests`); got != requests {
		t.Errorf("the bounce made a request")
	}
	eventually(t, 5*time.Second, "everything filed", func() bool { return b.count(t, "INBOX") == 0 })

	// A restart reads nothing twice, and a redelivered message is no new report.
	stop()
	processed := b.count(t, ProcessedFolder)
	w2 := newWatcher(t, b.c, b.cfg)
	watch(t, w2)
	b.append(t, report)
	eventually(t, 5*time.Second, "the redelivery filed", func() bool { return b.count(t, ProcessedFolder) == processed+1 })
	if got := queryInt(t, b.c, `SELECT count(*) FROM requests`); got != requests {
		t.Errorf("the redelivered report made a request")
	}
	if got := queryInt(t, b.c, `SELECT count(*) FROM messages WHERE direction = 'in' AND provider_id = '8C3E1F2A-5B6D-4E7F-9A0B-1C2D3E4F5A6B@icloud.com'`); got != 1 {
		t.Errorf("the report is stored %d times", got)
	}
}

func queryString(t testing.TB, c *core.Core, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := c.Pool().QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// TestCrashBetweenCommitAndMove stops the watcher after core committed a
// message and before it was moved: the next watcher neither loses nor
// doubles it.
func TestCrashBetweenCommitAndMove(t *testing.T) {
	b := setupDovecot(t)
	w := newWatcher(t, b.c, b.cfg)
	crashed := make(chan struct{})
	var once sync.Once
	w.afterIntake = func(imap.UID) error {
		once.Do(func() { close(crashed) })
		return errors.New("crash")
	}
	stop := watch(t, w)
	raw := rawMail(map[string]string{"From": "crash@example.org", "To": cityAddr, "Subject": "Pothole", "Message-ID": "<crash-1@example.org>"},
		"Pothole at 1200 Montgomery Street.")
	b.append(t, raw)
	select {
	case <-crashed:
	case <-time.After(10 * time.Second):
		t.Fatal("the message was never stored")
	}
	stop()
	if got := queryInt(t, b.c, `SELECT count(*) FROM requests`); got != 1 {
		t.Fatalf("%d requests after the crash", got)
	}
	if b.count(t, "INBOX") != 1 {
		t.Fatal("the message left the mailbox before it was filed")
	}

	watch(t, newWatcher(t, b.c, b.cfg))
	eventually(t, 10*time.Second, "filed after the restart", func() bool {
		return b.count(t, "INBOX") == 0 && b.count(t, ProcessedFolder) == 1
	})
	if got := queryInt(t, b.c, `SELECT count(*) FROM requests`); got != 1 {
		t.Errorf("%d requests after the restart", got)
	}
	if got := queryInt(t, b.c, `SELECT count(*) FROM messages WHERE direction = 'in'`); got != 1 {
		t.Errorf("%d inbound messages after the restart", got)
	}
	if got := queryInt(t, b.c, `SELECT count(*) FROM messages WHERE direction = 'out'`); got != 1 {
		t.Errorf("%d acknowledgments", got)
	}
}
