package email

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"townline/core"
	"townline/internal/testenv"
)

// These tests use go-imap's in-memory server where Dovecot cannot play
// the part: servers without MOVE or UIDPLUS, a mailbox renumbered, a
// server that goes away or hangs.

var (
	rev1        = imap.CapSet{imap.CapIMAP4rev1: {}}
	rev1UIDPlus = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}
	rev2        = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}
)

func memCore(t *testing.T) *core.Core {
	return testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: nopSender{}}
	})
}

type nopSender struct{}

func (nopSender) Send(context.Context, core.Outbound) (string, error) { return "", nil }

func report(n int) []byte {
	return rawMail(map[string]string{
		"From": fmt.Sprintf("resident%d@example.org", n), "To": cityAddr, "Subject": "Pothole",
		"Message-ID": fmt.Sprintf("<report-%d@example.org>", n),
	}, fmt.Sprintf("Pothole at %d Myers Street.", 1000+n))
}

// lastUID sets the watcher's last UID for a mailbox, as if it had read
// that far.
func lastUID(t *testing.T, c *core.Core, m *memServer, mailbox string, uid imap.UID) {
	t.Helper()
	cl, err := dialMem(m)()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	st, err := cl.Status(mailbox, &imap.StatusOptions{UIDValidity: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("email:last-uid:%s:%d", mailbox, st.UIDValidity)
	if err := c.SetChannelState(context.Background(), key, fmt.Sprint(uid)); err != nil {
		t.Fatal(err)
	}
}

// Without MOVE but with UIDPLUS: COPY, flag and UID EXPUNGE of that one
// message; another message flagged for deletion by staff stays.
func TestWithoutMove(t *testing.T) {
	c := memCore(t)
	m := newMemServer(t, rev1UIDPlus)
	staff, err := m.user.Append("INBOX", literal{bytes.NewReader(report(0)), int64(len(report(0)))}, &imap.AppendOptions{Flags: []imap.Flag{imap.FlagDeleted}})
	if err != nil {
		t.Fatal(err)
	}
	lastUID(t, c, m, "INBOX", staff.UID) // read before; a member of staff flagged it since
	w := newWatcher(t, c, testConfig(m.url("INBOX"), "smtp://127.0.0.1:1"))
	watch(t, w)
	m.append(t, "INBOX", report(1))
	// COPY lands before the UID EXPUNGE: wait for the INBOX to change too.
	eventually(t, 5*time.Second, "filed", func() bool {
		return count(t, dialMem(m), ProcessedFolder) == 1 && count(t, dialMem(m), "INBOX") != 2
	})
	if n := count(t, dialMem(m), "INBOX"); n != 1 {
		t.Errorf("INBOX has %d messages; the one staff flagged must stay", n)
	}
	if n := queryInt(t, c, `SELECT count(*) FROM requests`); n != 1 {
		t.Errorf("%d requests", n)
	}
}

// Without MOVE or UIDPLUS the message stays; a restart reads it not again.
func TestWithoutMoveOrUIDPlus(t *testing.T) {
	c := memCore(t)
	m := newMemServer(t, rev1)
	cfg := testConfig(m.url("INBOX"), "smtp://127.0.0.1:1")
	stop := watch(t, newWatcher(t, c, cfg))
	m.append(t, "INBOX", report(1))
	eventually(t, 5*time.Second, "stored and done", func() bool {
		return queryInt(t, c, `SELECT count(*) FROM channel_state WHERE key LIKE 'email:last-uid:INBOX:%' AND value = '1'`) == 1
	})
	stop()
	if n := count(t, dialMem(m), "INBOX"); n != 1 {
		t.Errorf("INBOX has %d messages, want it left there", n)
	}
	w := newWatcher(t, c, cfg)
	var handled atomic.Value // []imap.UID, in order
	handled.Store([]imap.UID{})
	w.afterIntake = func(uid imap.UID) error {
		handled.Store(append(slices.Clone(handled.Load().([]imap.UID)), uid))
		return nil
	}
	watch(t, w)
	m.append(t, "INBOX", report(2))
	// Handled after its request commits: wait for the new one's handling.
	eventually(t, 5*time.Second, "the second handled", func() bool { return slices.Contains(handled.Load().([]imap.UID), 2) })
	if got := handled.Load().([]imap.UID); !slices.Equal(got, []imap.UID{2}) {
		t.Errorf("the restarted watcher handled UIDs %v, want only the new one", got)
	}
}

// A renumbered mailbox (new UIDVALIDITY) is read again, and core's dedupe
// recognises what it already stored.
func TestUIDValidityChange(t *testing.T) {
	c := memCore(t)
	m := newMemServer(t, rev1, "311")
	cfg := testConfig(m.url("311"), "smtp://127.0.0.1:1")
	stop := watch(t, newWatcher(t, c, cfg))
	m.append(t, "311", report(1))
	eventually(t, 5*time.Second, "stored", func() bool { return queryInt(t, c, `SELECT count(*) FROM requests`) == 1 })
	stop()

	if err := m.user.Delete("311"); err != nil {
		t.Fatal(err)
	}
	if err := m.user.Create("311", nil); err != nil {
		t.Fatal(err)
	}
	m.append(t, "311", report(1))
	m.append(t, "311", report(2))
	w := newWatcher(t, c, cfg)
	handled := make(chan imap.UID, 10)
	w.afterIntake = func(uid imap.UID) error { handled <- uid; return nil }
	watch(t, w)
	for range 2 {
		select {
		case <-handled:
		case <-time.After(5 * time.Second):
			t.Fatal("the renumbered mailbox was not read again")
		}
	}
	if n := queryInt(t, c, `SELECT count(*) FROM requests`); n != 2 {
		t.Errorf("%d requests, want 2 (one report seen before)", n)
	}
	if n := queryInt(t, c, `SELECT count(*) FROM messages WHERE direction = 'in'`); n != 2 {
		t.Errorf("%d inbound messages, want 2", n)
	}
}

// A message that cannot be read goes to Failed after MaxAttempts, and to
// staff with its raw form; the messages after it are not held up.
func TestUnreadable(t *testing.T) {
	c := memCore(t)
	m := newMemServer(t, rev2)
	cfg := testConfig(m.url("INBOX"), "smtp://127.0.0.1:1")
	cfg.MaxAttempts, cfg.PollSchedule = 2, "@every 1s"
	w := newWatcher(t, c, cfg)
	w.parse = func(raw []byte, lim Limits) *Message {
		if bytes.Contains(raw, []byte("POISON")) {
			panic("boom")
		}
		return Parse(raw, lim)
	}
	watch(t, w)
	m.append(t, "INBOX", rawMail(map[string]string{"From": "poison@example.org", "To": cityAddr, "Subject": "x", "Message-ID": "<poison@example.org>"}, "POISON"))
	m.append(t, "INBOX", report(1))
	m.append(t, "INBOX", rawMail(map[string]string{"To": cityAddr, "Subject": "who am I"}, "no sender at all"))

	eventually(t, 5*time.Second, "the good one stored while the bad one waits", func() bool {
		return queryInt(t, c, `SELECT count(*) FROM messages WHERE provider_id = 'report-1@example.org'`) == 1
	})
	eventually(t, 10*time.Second, "two in Failed", func() bool { return count(t, dialMem(m), FailedFolder) == 2 })
	if n := count(t, dialMem(m), "INBOX"); n != 0 {
		t.Errorf("INBOX has %d", n)
	}
	rows, err := c.Pool().Query(context.Background(), `SELECT r.description, m.flag, ct.email,
			(SELECT count(*) FROM attachments a WHERE a.message_id = m.id AND a.filename = 'message.eml')
		FROM messages m JOIN requests r ON r.id = m.request_id JOIN contacts ct ON ct.id = m.contact_id
		WHERE m.flag LIKE 'unreadable:%' ORDER BY ct.email`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var desc, flag, email string
		var raws int
		if err := rows.Scan(&desc, &flag, &email, &raws); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s|%d|%s", email, raws, flag))
	}
	want := []string{
		"poison@example.org|1|unreadable: reading the message failed: boom",
		"unknown-sender@invalid|1|unreadable: email: the message names no sender",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("unreadable messages:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	triage, err := c.TriageQueue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(triage) < 2 {
		t.Errorf("triage queue has %d requests, want the 2 unreadable ones", len(triage))
	}
}

// A server that goes away: /readyz says so, and the watcher comes back
// with it.
func TestReconnect(t *testing.T) {
	c := memCore(t)
	m := newMemServer(t, rev2)
	w := newWatcher(t, c, testConfig(m.url("INBOX"), "smtp://127.0.0.1:1"))
	if w.Ready() == nil {
		t.Error("ready before connecting")
	}
	watch(t, w)
	eventually(t, 5*time.Second, "ready", func() bool { return w.Ready() == nil })

	m.srv.Close()
	eventually(t, 5*time.Second, "not ready without the server", func() bool { return w.Ready() != nil })
	if err := w.Ready(); !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("Ready = %v", err)
	}

	m2 := newMemServerOn(t, m.addr, m)
	eventually(t, 5*time.Second, "ready again", func() bool { return w.Ready() == nil })
	m2.append(t, "INBOX", report(1))
	eventually(t, 5*time.Second, "stored after the reconnection", func() bool {
		return queryInt(t, c, `SELECT count(*) FROM requests`) == 1
	})
}

// A server that stops answering is cut off by the watchdog rather than
// left to hang the watcher.
func TestWatchdog(t *testing.T) {
	for _, tc := range []struct {
		name  string
		greet bool
		want  string
	}{
		{"no greeting", false, "no greeting"},
		{"hangs after login", true, "no answer within"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go hangingServer(l, tc.greet)
			c := memCore(t)
			w := newWatcher(t, c, testConfig("imap://u:p@"+l.Addr().String()+"/INBOX", "smtp://127.0.0.1:1"))
			w.cmdTimeout = 200 * time.Millisecond
			watch(t, w)
			eventually(t, 5*time.Second, "the watchdog fired", func() bool {
				err := w.Ready()
				return err != nil && strings.Contains(err.Error(), tc.want)
			})
		})
	}
}

// hangingServer greets (or not), accepts LOGIN, and then never answers.
func hangingServer(l net.Listener, greet bool) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			if !greet {
				io.Copy(io.Discard, conn) // silent until the watchdog hangs up
				return
			}
			fmt.Fprint(conn, "* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n")
			r := bufio.NewReader(conn)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				tag, rest, _ := strings.Cut(line, " ")
				if strings.HasPrefix(strings.ToUpper(rest), "LOGIN") {
					fmt.Fprintf(conn, "%s OK logged in\r\n", tag)
				}
			}
		}()
	}
}

// The watcher speaks STARTTLS and implicit TLS, checking the certificate.
func TestIMAPTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	c := memCore(t)
	for _, implicit := range []bool{false, true} {
		t.Run(fmt.Sprint("implicit=", implicit), func(t *testing.T) {
			m := newMemServer(t, rev2)
			m.srv.Close()
			tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}}
			srv := imapserver.New(&imapserver.Options{
				NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
					return m.mem.NewSession(), nil, nil
				},
				Caps: rev2, TLSConfig: tlsConfig, Logger: log{t},
			})
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			scheme := "imap"
			if implicit {
				l, scheme = tls.NewListener(l, tlsConfig), "imaps"
			}
			go srv.Serve(l)
			defer srv.Close()
			cfg := testConfig(fmt.Sprintf("%s://townline:%s@%s/INBOX", scheme, memPassword, l.Addr()), "smtp://127.0.0.1:1")
			cfg.Insecure = false
			w := newWatcher(t, c, cfg)
			w.imap.host = "localhost" // as for a remote server: the certificate's name, and TLS required
			w.imap.plain = false
			w.tlsConfig = &tls.Config{RootCAs: pool}
			watch(t, w)
			eventually(t, 5*time.Second, "ready over TLS", func() bool { return w.Ready() == nil })
		})
	}
	// An untrusted certificate is refused.
	m := newMemServer(t, rev2)
	m.srv.Close()
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return m.mem.NewSession(), nil, nil
		},
		Caps: rev2, Logger: log{t},
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}}))
	defer srv.Close()
	w := newWatcher(t, c, testConfig(fmt.Sprintf("imaps://townline:%s@%s/INBOX", memPassword, l.Addr()), "smtp://127.0.0.1:1"))
	watch(t, w)
	eventually(t, 5*time.Second, "refused", func() bool {
		err := w.Ready()
		return err != nil && strings.Contains(err.Error(), "certificate")
	})
}

// A photo over the limit is refused, and the acknowledgment says so.
func TestRefusedFile(t *testing.T) {
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: nopSender{}}
		o.MaxUpload = 4 << 10
	})
	m := newMemServer(t, rev2)
	watch(t, newWatcher(t, c, testConfig(m.url("INBOX"), "smtp://127.0.0.1:1")))
	photo := make([]byte, 8<<10)
	copy(photo, "\xff\xd8\xff\xe0")
	m.append(t, "INBOX", photoMail(7, photo))
	var body string
	eventually(t, 5*time.Second, "acknowledged", func() bool {
		return c.Pool().QueryRow(context.Background(), `SELECT body FROM messages WHERE direction = 'out'`).Scan(&body) == nil
	})
	if !strings.Contains(body, "IMG_0007.jpg refused: over 4 KB") {
		t.Errorf("the acknowledgment does not mention the refused photo:\n%s", body)
	}
	if n := queryInt(t, c, `SELECT count(*) FROM attachments WHERE public`); n != 0 {
		t.Errorf("%d photos kept", n)
	}
	// The raw message is kept whole for staff: its limit is the message's, not a photo's.
	if n := queryInt(t, c, `SELECT count(*) FROM attachments WHERE filename = 'message.eml' AND NOT public`); n != 1 {
		t.Errorf("%d raw messages kept", n)
	}
}

// A Processed folder someone removed while the watcher runs is made
// again when the server says to (TRYCREATE), and mail still moves there.
func TestProcessedFolderRemoved(t *testing.T) {
	c := memCore(t)
	m := newMemServer(t, rev2)
	watch(t, newWatcher(t, c, testConfig(m.url("INBOX"), "smtp://127.0.0.1:1")))
	m.append(t, "INBOX", report(1))
	eventually(t, 5*time.Second, "the first moved", func() bool { return count(t, dialMem(m), ProcessedFolder) == 1 })
	if err := m.user.Delete(ProcessedFolder); err != nil {
		t.Fatal(err)
	}
	m.append(t, "INBOX", report(2))
	eventually(t, 5*time.Second, "the second moved to the folder made again", func() bool {
		return count(t, dialMem(m), ProcessedFolder) == 1 && count(t, dialMem(m), "INBOX") == 0
	})
	if n := queryInt(t, c, `SELECT count(*) FROM requests`); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}
