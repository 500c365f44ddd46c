// Package email is the mail channel: it watches the city's 311 mailbox
// over IMAP and turns each message into a core.Inbound (Watcher), and it
// sends core's outbound messages over SMTP in the resident's thread
// (Sender). It holds no business rules: threading decisions, caps and
// filing are core's.
package email

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"

	"github.com/robfig/cron/v3"
)

// Config is the channel's configuration, from IMAP_URL, SMTP_URL and
// EMAIL_FROM.
type Config struct {
	IMAPURL  string // imaps://user:pass@host:993/INBOX, or imap:// with STARTTLS
	SMTPURL  string // smtp://user:pass@host:587 (STARTTLS) or smtps://…:465
	From     string // the city's address, "311@city.example" or "Oroville 311 <311@…>"
	CityName string // the display name when From has none, and the HTML footer

	// Secret signs the reply address of every outbound mail
	// (311+sr1234-TOKEN@city), so that a reply is joined to its request
	// only when we made the address. At least 16 bytes; keep it stable.
	Secret []byte

	PollSchedule string // robfig/cron spec for the re-check beside IDLE; default "@every 1m"
	MaxAttempts  int    // failures to read a message before it goes to Failed; default 3
	MaxMessage   int64  // the most a message's files may weigh in all; default 25 MB

	// Insecure allows plain imap:// and smtp:// without TLS to a host that
	// is not loopback (loopback is always allowed). For tests only.
	Insecure bool
}

const (
	defaultPoll       = "@every 1m"
	defaultAttempts   = 3
	defaultMaxMessage = 25 << 20
)

func (cfg *Config) defaults() {
	if cfg.PollSchedule == "" {
		cfg.PollSchedule = defaultPoll
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = defaultAttempts
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = defaultMaxMessage
	}
	if cfg.CityName == "" {
		cfg.CityName = "City"
	}
}

// address is the parsed From: the city's address and the display name.
func (cfg *Config) address() (*mail.Address, error) {
	a, err := mail.ParseAddress(cfg.From)
	if err != nil || !strings.Contains(a.Address, "@") {
		return nil, fmt.Errorf("EMAIL_FROM %q is not an address like 311@city.example", cfg.From)
	}
	if a.Name == "" {
		a.Name = cfg.CityName + " 311"
	}
	return a, nil
}

func (cfg *Config) checkSecret() error {
	if len(cfg.Secret) < 16 {
		return errors.New("email: the secret that signs reply addresses must be at least 16 bytes")
	}
	return nil
}

func (cfg *Config) checkSchedule() error {
	if _, err := cron.ParseStandard(cfg.PollSchedule); err != nil {
		return fmt.Errorf("email: poll schedule %q: %w", cfg.PollSchedule, err)
	}
	return nil
}

// server is a parsed IMAP_URL or SMTP_URL.
type server struct {
	addr       string // host:port
	host       string
	user, pass string
	implicit   bool   // TLS from the first byte (imaps, smtps)
	plain      bool   // no TLS at all (loopback, or Insecure)
	path       string // the IMAP mailbox
}

func parseServer(raw, kind string, insecure bool) (server, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return server{}, fmt.Errorf("%s_URL %q is not a URL like %s://user:pass@host", strings.ToUpper(kind), redact(raw), kind)
	}
	var s server
	var port int
	switch u.Scheme {
	case kind:
		port = map[string]int{"imap": 143, "smtp": 587}[kind]
	case kind + "s":
		port, s.implicit = map[string]int{"imap": 993, "smtp": 465}[kind], true
	default:
		return server{}, fmt.Errorf("%s_URL: scheme %q is neither %s nor %ss", strings.ToUpper(kind), u.Scheme, kind, kind)
	}
	s.host = u.Hostname()
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return server{}, fmt.Errorf("%s_URL: bad port %q", strings.ToUpper(kind), p)
		}
	}
	s.addr = net.JoinHostPort(s.host, strconv.Itoa(port))
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	s.path = strings.Trim(u.Path, "/")
	// Without TLS the password crosses the network in the clear: only to
	// this machine, or when a test says so.
	s.plain = !s.implicit && (insecure || isLoopback(s.host))
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		u.User = url.User(u.User.Username())
		return u.String()
	}
	return raw
}

// tokens signs and checks the request number in a reply address.
type tokens struct{ key []byte }

func newTokens(secret []byte) tokens {
	// A key of its own, so that the secret may serve other purposes too.
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("townline email reply address"))
	return tokens{key: m.Sum(nil)}
}

// tokenLen is the hex digits of the MAC in an address: 48 bits, too many
// to guess, few enough to keep the address short.
const tokenLen = 12

func (t tokens) mac(id int64) string {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("sr" + strconv.FormatInt(id, 10)))
	return hex.EncodeToString(m.Sum(nil))[:tokenLen]
}

// messageMAC is the part of a message's Message-ID that only we can make.
func (t tokens) messageMAC(id int64) string {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("m" + strconv.FormatInt(id, 10)))
	return hex.EncodeToString(m.Sum(nil))[:16]
}

// replyAddress is the plus-address for replies about request id:
// 311+sr1234-0123456789ab@city.example.
func (t tokens) replyAddress(from string, id int64) string {
	local, domain, _ := strings.Cut(from, "@")
	return fmt.Sprintf("%s+sr%d-%s@%s", local, id, t.mac(id), domain)
}

// bounceAddress is the envelope sender: reports of failed deliveries come
// back to it.
func bounceAddress(from string) string {
	local, domain, _ := strings.Cut(from, "@")
	return local + "+bounces@" + domain
}

// tag reads a plus-address of ours: the request a signed one names, or
// bounces=true for the bounce address. Anything else gives zero values.
func (t tokens) tag(from, addr string) (id int64, bounces bool) {
	local, domain, _ := strings.Cut(from, "@")
	al, ad, ok := strings.Cut(strings.ToLower(addr), "@")
	if !ok || !strings.EqualFold(ad, domain) {
		return 0, false
	}
	base, ext, ok := strings.Cut(al, "+")
	if !ok || !strings.EqualFold(base, local) {
		return 0, false
	}
	if ext == "bounces" {
		return 0, true
	}
	num, mac, ok := strings.Cut(strings.TrimPrefix(ext, "sr"), "-")
	if !ok || !strings.HasPrefix(ext, "sr") {
		return 0, false
	}
	id, err := strconv.ParseInt(num, 10, 64)
	// id < 0 would do as well: a signed 0 returns the 0 a refusal does.
	if err != nil || id <= 0 || !hmac.Equal([]byte(mac), []byte(t.mac(id))) {
		return 0, false
	}
	return id, false
}
