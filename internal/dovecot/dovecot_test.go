package dovecot_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"townline/internal/dovecot"
)

func TestStartAppendStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := dovecot.Start(ctx, t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	t.Cleanup(func() { logOnFailure(t, s) })

	raw := []byte("From: a@example.org\r\nTo: 311@city.example\r\nSubject: hi\r\nMessage-ID: <1@example.org>\r\n\r\nPothole.\r\n")
	uid1, err := s.Append("INBOX", raw)
	if err != nil {
		t.Fatal(err)
	}
	uid2, err := s.Append("INBOX", raw)
	if err != nil {
		t.Fatal(err)
	}
	if uid1 == 0 || uid2 <= uid1 {
		t.Errorf("UIDs %d then %d; want increasing", uid1, uid2)
	}

	c, err := s.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, want := range []imap.Cap{imap.CapIdle, imap.CapMove, imap.CapUIDPlus} {
		if !c.Caps().Has(want) {
			t.Errorf("Dovecot lacks %s; capabilities %v", want, c.Caps())
		}
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 2 {
		t.Errorf("INBOX has %d messages, want 2", sel.NumMessages)
	}
	msgs, err := c.Fetch(imap.UIDSetNum(uid1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch: %v, %d messages", err, len(msgs))
	}
	if got := string(msgs[0].BodySection[0].Bytes); got != string(raw) {
		t.Errorf("fetched %q, want %q", got, raw)
	}

	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Dial(); err == nil {
		t.Error("Dovecot still answers after Stop")
	}
}

func TestTwoServers(t *testing.T) {
	ctx := context.Background()
	a, err := dovecot.Start(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	b, err := dovecot.Start(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	if a.Addr() == b.Addr() {
		t.Fatalf("both on %s", a.Addr())
	}
	if _, err := a.Append("INBOX", []byte("Subject: a\r\n\r\na\r\n")); err != nil {
		t.Fatal(err)
	}
	c, err := b.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 0 {
		t.Errorf("the second server sees %d messages of the first", sel.NumMessages)
	}
}

func logOnFailure(t *testing.T, s *dovecot.Server) {
	if t.Failed() {
		b, _ := os.ReadFile(s.Dir() + "/dovecot.log")
		t.Logf("dovecot.log:\n%s", b)
	}
}
