package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"townline/core"
	"townline/internal/dovecot"
	"townline/internal/smtpsink"
	"townline/internal/testenv"
)

const (
	cityAddr   = "311@oroville.example"
	testSecret = "a test secret of some length"
)

// newSMTPSink starts the SMTP server the sender talks to, for the test.
func newSMTPSink(t testing.TB) *smtpsink.Sink {
	t.Helper()
	s, err := smtpsink.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// log drops a test server's error log: connections we close on purpose
// end with errors, and they may come after the test has ended.
type log struct{ t testing.TB }

func (log) Printf(string, ...any) {}
func (log) Println(...any)        {}

// testConfig is a configuration for a mailbox and an SMTP sink.
func testConfig(imapURL, smtpURL string) Config {
	return Config{
		IMAPURL: imapURL, SMTPURL: smtpURL, From: cityAddr, CityName: "Oroville",
		Secret: []byte(testSecret), PollSchedule: "@every 1h", Insecure: true,
	}
}

// startDovecot runs a private Dovecot for one test.
func startDovecot(t testing.TB) *dovecot.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := dovecot.Start(ctx, t.TempDir(), testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Log(err)
		}
		if t.Failed() {
			b, _ := os.ReadFile(s.Dir() + "/dovecot.log")
			t.Logf("dovecot.log:\n%s", b)
		}
	})
	return s
}

// memServer is go-imap's in-memory server with chosen capabilities.
type memServer struct {
	addr string
	user *imapmemserver.User
	mem  *imapmemserver.Server
	caps imap.CapSet
	srv  *imapserver.Server
	// sessions counts the connections made to it.
	sessions *atomic.Int32
}

const memPassword = "secret"

func newMemServer(t testing.TB, caps imap.CapSet, mailboxes ...string) *memServer {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("townline", memPassword)
	for _, mb := range append([]string{"INBOX"}, mailboxes...) {
		if err := user.Create(mb, nil); err != nil {
			t.Fatal(err)
		}
	}
	mem.AddUser(user)
	return newMemServerOn(t, "127.0.0.1:0", &memServer{user: user, mem: mem, caps: caps, sessions: new(atomic.Int32)})
}

// newMemServerOn serves m's mail on addr: a server come back.
func newMemServerOn(t testing.TB, addr string, m *memServer) *memServer {
	t.Helper()
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			m.sessions.Add(1)
			return idleSession{m.mem.NewSession().(imapserver.SessionIMAP4rev2)}, nil, nil
		},
		Caps:         m.caps,
		InsecureAuth: true,
		Logger:       log{t},
	})
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return &memServer{addr: l.Addr().String(), user: m.user, mem: m.mem, caps: m.caps, srv: srv, sessions: m.sessions}
}

// idleSession mends a missed wakeup in the in-memory server: mail
// appended between a command's end and IDLE's start waited for the next
// news. It looks at its queue every 20 ms while idle instead; Dovecot
// sends such news at once.
type idleSession struct{ imapserver.SessionIMAP4rev2 }

func (s idleSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := s.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
	}
}

func (m *memServer) url(mailbox string) string {
	return fmt.Sprintf("imap://townline:%s@%s/%s", memPassword, m.addr, mailbox)
}

func (m *memServer) append(t testing.TB, mailbox string, raw []byte) imap.UID {
	t.Helper()
	data, err := m.user.Append(mailbox, literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return data.UID
}

type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

// count returns how many messages a mailbox holds (-1 while it does not
// exist), from a new connection.
func count(t testing.TB, dial func() (*imapclient.Client, error), mailbox string) int {
	t.Helper()
	c, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := c.Status(mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
	var imapErr *imap.Error
	if errors.As(err, &imapErr) && imapErr.Code == imap.ResponseCodeNonExistent {
		return -1
	}
	if err != nil {
		t.Fatalf("STATUS %s: %v", mailbox, err)
	}
	return int(*st.NumMessages)
}

func dialMem(m *memServer) func() (*imapclient.Client, error) {
	return func() (*imapclient.Client, error) {
		c, err := imapclient.DialInsecure(m.addr, nil)
		if err != nil {
			return nil, err
		}
		if err := c.Login("townline", memPassword).Wait(); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
}

// watch runs a watcher until the test ends or stop is called.
func watch(t testing.TB, w *Watcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("the watcher did not stop within 10 s")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// eventually polls f until it holds or the time is up.
func eventually(t testing.TB, within time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newWatcher is NewWatcher for tests: quick reconnects and watchdog.
func newWatcher(t testing.TB, c *core.Core, cfg Config) *Watcher {
	t.Helper()
	w, err := NewWatcher(c, cfg, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	w.minBackoff, w.maxBackoff = 20*time.Millisecond, 200*time.Millisecond
	w.cmdTimeout = 5 * time.Second
	return w
}

// queryInt runs a query that returns one number.
func queryInt(t testing.TB, c *core.Core, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := c.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// rawMail builds a raw message.
func rawMail(headers map[string]string, body string) []byte {
	var b bytes.Buffer
	for _, k := range []string{"From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References", "Date"} {
		if v, ok := headers[k]; ok {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	for k, v := range headers {
		switch k {
		case "From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References", "Date":
		default:
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if _, ok := headers["Date"]; !ok {
		b.WriteString("Date: " + time.Now().Format(time.RFC1123Z) + "\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return b.Bytes()
}
