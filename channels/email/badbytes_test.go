package email

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// Mail is read tolerantly: NUL bytes and bytes that are not UTF-8 in its
// headers and body are cleaned, and a Message-ID that is not text counts
// as absent, so the report is still taken. A sender address that is not
// text, which core refuses, files the message for staff as unreadable, as
// does a failure whose reason holds such bytes. No message is left behind
// to fail again on every round.
func TestBadBytesInMail(t *testing.T) {
	c := memCore(t)
	m := newMemServer(t, rev2)
	cfg := testConfig(m.url("INBOX"), "smtp://127.0.0.1:1")
	cfg.MaxAttempts = 1
	w := newWatcher(t, c, cfg)
	w.parse = func(raw []byte, lim Limits) *Message {
		if bytes.Contains(raw, []byte("POISON")) {
			panic("bad \x00 \xff bytes") // why it failed holds them too
		}
		return Parse(raw, lim)
	}
	watch(t, w)
	m.append(t, "INBOX", rawMail(map[string]string{"From": "poison@example.org", "To": cityAddr, "Subject": "x"}, "POISON"))
	for _, bad := range []string{"\x00", "\xff"} {
		m.append(t, "INBOX", rawMail(map[string]string{
			"From":       `"Ana ` + bad + `" <ana@example.org>`,
			"To":         cityAddr,
			"Subject":    "Pothole " + bad + " on Myers",
			"Message-ID": "<bad" + bad + "id@example.org>",
			"References": "<ref" + bad + "@example.org>",
		}, "Pothole at 1000 Myers Street."+bad))
		m.append(t, "INBOX", rawMail(map[string]string{
			"From": "zed" + bad + "@example.org", "To": cityAddr, "Subject": "Graffiti",
			"Message-ID": "<zed-" + strings.Trim(strings.ReplaceAll(bad, "\x00", "nul"), "\xff") + "@example.org>",
		}, "Graffiti on the wall at 1000 Myers Street."))
	}
	eventually(t, 10*time.Second, "every message read", func() bool { return count(t, dialMem(m), "INBOX") == 0 })

	if n := queryInt(t, c, `SELECT count(*) FROM messages m JOIN contacts ct ON ct.id = m.contact_id
		WHERE m.direction = 'in' AND ct.email = 'ana@example.org' AND m.provider_id LIKE 'sha256:%'
			AND m.flag = '' AND m.subject LIKE 'Pothole%on Myers' AND m.body LIKE 'Pothole at 1000 Myers Street.%'`); n != 2 {
		t.Errorf("%d reports taken from ana, want 2 named by their hash", n)
	}
	if n := queryInt(t, c, `SELECT count(*) FROM messages m JOIN contacts ct ON ct.id = m.contact_id
		WHERE m.direction = 'in' AND ct.email = 'unknown-sender@invalid' AND m.flag LIKE 'unreadable: email: %'`); n != 2 {
		t.Errorf("%d messages from a sender that is not text filed as unreadable, want 2", n)
	}
	if n := queryInt(t, c, `SELECT count(*) FROM messages m JOIN contacts ct ON ct.id = m.contact_id
		WHERE m.direction = 'in' AND ct.email = 'poison@example.org' AND m.flag LIKE 'unreadable: reading the message failed: bad %bytes'`); n != 1 {
		t.Errorf("%d messages that failed with bad bytes in the reason filed as unreadable, want 1", n)
	}
	if n := count(t, dialMem(m), FailedFolder); n != 3 {
		t.Errorf("%d messages in %s, want the 3 unreadable ones", n, FailedFolder)
	}
	if n := queryInt(t, c, `SELECT count(*) FROM messages WHERE direction = 'in'`); n != 5 {
		t.Errorf("%d inbound messages, want 5", n)
	}
	if n := queryInt(t, c, `SELECT count(*) FROM inbound_keys`); n != 5 {
		t.Errorf("%d mailbox keys, want one per message", n)
	}
}
