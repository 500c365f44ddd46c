package email

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"
)

// retries records the waits the watcher says it will make before
// reconnecting, and logs as the test's logger does.
type retries struct {
	slog.Handler
	got chan time.Duration
}

func (r retries) Handle(ctx context.Context, rec slog.Record) error {
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "retry_in" {
			r.got <- a.Value.Duration()
		}
		return true
	})
	return r.Handler.Handle(ctx, rec)
}

func (r retries) WithAttrs(as []slog.Attr) slog.Handler {
	return retries{r.Handler.WithAttrs(as), r.got}
}
func (r retries) WithGroup(g string) slog.Handler { return retries{r.Handler.WithGroup(g), r.got} }

// A mailbox that cannot be reached is tried again after twice the wait
// each time, up to the longest; once a connection has lasted longer than
// that, a new failure starts again from the shortest.
func TestBackoff(t *testing.T) {
	c := memCore(t)
	m := newMemServer(t, rev2)
	l, err := net.Listen("tcp", "127.0.0.1:0") // an address where nothing listens, yet
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	w := newWatcher(t, c, testConfig(fmt.Sprintf("imap://townline:%s@%s/INBOX", memPassword, addr), "smtp://127.0.0.1:1"))
	got := make(chan time.Duration, 100)
	w.log = slog.New(retries{w.log.Handler(), got})
	next := func() time.Duration {
		t.Helper()
		select {
		case d := <-got:
			return d
		case <-time.After(10 * time.Second):
			t.Fatal("no reconnection planned")
			return 0
		}
	}
	watch(t, w)
	var waits []time.Duration
	for range 4 {
		waits = append(waits, next())
	}
	if want := []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond, 160 * time.Millisecond}; !slices.Equal(waits, want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	up := newMemServerOn(t, addr, m)
	eventually(t, 5*time.Second, "connected", func() bool { return w.Ready() == nil })
	time.Sleep(300 * time.Millisecond) // the scenario: a connection that lasts past the longest wait
	up.srv.Close()
	if d := next(); d != 20*time.Millisecond {
		t.Errorf("after a long connection, the wait is %v, want the shortest again", d)
	}
}

// One connection serves mail after mail: the watcher waits for news on
// it (IDLE), and does not log in again for each message.
func TestOneConnection(t *testing.T) {
	c := memCore(t)
	m := newMemServer(t, rev2)
	watch(t, newWatcher(t, c, testConfig(m.url("INBOX"), "smtp://127.0.0.1:1")))
	for i := 1; i <= 3; i++ {
		m.append(t, "INBOX", report(i))
		eventually(t, 5*time.Second, fmt.Sprintf("mail %d stored", i), func() bool {
			return queryInt(t, c, `SELECT count(*) FROM requests`) == i
		})
	}
	if n := m.sessions.Load(); n != 1 {
		t.Errorf("%d connections for three mails, want one", n)
	}
}
