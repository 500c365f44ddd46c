package email

import (
	"net/mail"
	"strings"
	"testing"

	"townline/core"
)

// A configuration that cannot work is refused when the server starts,
// with a sentence that names the setting and never shows a password.
func TestConfigRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*Config)
		says string
	}{
		{"From not an address", func(c *Config) { c.From = "Oroville 311" }, "EMAIL_FROM"},
		{"From without a domain", func(c *Config) { c.From = "Oroville 311 <311>" }, "EMAIL_FROM"},
		{"secret of 15 bytes", func(c *Config) { c.Secret = []byte("fifteen bytes!!") }, "at least 16 bytes"},
		{"no secret", func(c *Config) { c.Secret = nil }, "at least 16 bytes"},
		{"bad schedule", func(c *Config) { c.PollSchedule = "every minute" }, "poll schedule"},
		{"IMAP_URL without a host", func(c *Config) { c.IMAPURL = "imaps://311:hunter2hunter2@/INBOX" }, "IMAP_URL"},
	} {
		cfg := testConfig("imap://127.0.0.1:1/INBOX", "smtp://127.0.0.1:1")
		tc.edit(&cfg)
		_, err := NewWatcher(nil, cfg, nil)
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want an error about %q", tc.name, err, tc.says)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the password shows in %q", tc.name, err)
		}
	}
	// Exactly 16 bytes will do.
	cfg := testConfig("imap://127.0.0.1:1/INBOX", "smtp://127.0.0.1:1")
	cfg.Secret = []byte("sixteen bytes!!!")
	if _, err := NewSender(cfg, nil); err != nil {
		t.Errorf("a secret of 16 bytes: %v", err)
	}
}

// Left out, the settings take the documented defaults; set, they stay.
func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg := Config{IMAPURL: "imap://127.0.0.1:1", SMTPURL: "smtp://127.0.0.1:1", From: "311@oroville.example",
		Secret: []byte(testSecret)}
	w, err := NewWatcher(nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.cfg.PollSchedule != "@every 1m" || w.cfg.MaxAttempts != 3 || w.cfg.MaxMessage != 25<<20 || w.mailbox != "INBOX" {
		t.Errorf("defaults: schedule %q, %d attempts, %d bytes, mailbox %q", w.cfg.PollSchedule, w.cfg.MaxAttempts, w.cfg.MaxMessage, w.mailbox)
	}
	cfg.PollSchedule, cfg.MaxAttempts, cfg.MaxMessage, cfg.CityName = "@every 5m", 5, 10<<20, "Oroville"
	if w, err = NewWatcher(nil, cfg, nil); err != nil {
		t.Fatal(err)
	}
	if w.cfg.PollSchedule != "@every 5m" || w.cfg.MaxAttempts != 5 || w.cfg.MaxMessage != 10<<20 {
		t.Errorf("set: schedule %q, %d attempts, %d bytes", w.cfg.PollSchedule, w.cfg.MaxAttempts, w.cfg.MaxMessage)
	}

	// The name residents see on our mail: EMAIL_FROM's own, else the city's, else "City 311".
	to := &mail.Address{Address: "ana@example.org"}
	for from, city := range map[string]string{
		"Oroville 311 Desk <311@oroville.example>": "Oroville",
		"311@oroville.example":                     "Oroville",
		"":                                         "",
	} {
		c := Config{SMTPURL: "smtp://127.0.0.1:1", From: from, CityName: city, Secret: []byte(testSecret)}
		want := map[string]string{"Oroville 311 Desk <311@oroville.example>": `"Oroville 311 Desk" <311@oroville.example>`,
			"311@oroville.example": `"Oroville 311" <311@oroville.example>`, "": `"City 311" <311@city.example>`}[from]
		if from == "" {
			c.From = "311@city.example"
		}
		s, err := NewSender(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, raw, err := s.compose(core.Outbound{MessageID: 1, To: to.Address, Body: "hello"}, to)
		if err != nil {
			t.Fatal(err)
		}
		h, _ := readHeader(raw)
		if got := h.Get("From"); got != want {
			t.Errorf("EMAIL_FROM %q, city %q: From %q, want %q", c.From, city, got, want)
		}
	}
}
