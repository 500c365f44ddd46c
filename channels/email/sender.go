package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"townline/core"
	"townline/templates"
)

// Sender delivers core's outbound mail over SMTP, threaded: each mail
// names the request in its Message-ID, answers the request's latest mail
// (In-Reply-To, References), ends its subject with [#id] and asks for
// replies at a signed plus-address.
type Sender struct {
	cfg    Config
	smtp   server
	from   *mail.Address
	host   string // the right-hand side of our Message-IDs, and our loop mark
	tokens tokens
	log    *slog.Logger
	hello  string

	// Timeouts per SMTP command and for the reply to the message itself.
	commandTimeout, dataTimeout time.Duration
	dialer                      net.Dialer
	tlsConfig                   *tls.Config // nil: the system's roots (tests set their own)
}

var _ core.Sender = (*Sender)(nil)

// NewSender checks the configuration (SMTP_URL, EMAIL_FROM, the secret).
func NewSender(cfg Config, logger *slog.Logger) (*Sender, error) {
	cfg.defaults()
	if logger == nil {
		logger = slog.Default()
	}
	from, err := cfg.address()
	if err != nil {
		return nil, err
	}
	if err := cfg.checkSecret(); err != nil {
		return nil, err
	}
	srv, err := parseServer(cfg.SMTPURL, "smtp", cfg.Insecure)
	if err != nil {
		return nil, err
	}
	_, host, _ := strings.Cut(from.Address, "@")
	hello, err := os.Hostname()
	if err != nil || hello == "" {
		hello = "localhost"
	}
	return &Sender{
		cfg: cfg, smtp: srv, from: from, host: strings.ToLower(host), tokens: newTokens(cfg.Secret),
		log: logger.With("component", "email"), hello: hello,
		commandTimeout: time.Minute, dataTimeout: 90 * time.Second,
		dialer: net.Dialer{Timeout: 30 * time.Second}, // no test waits it out: its mutants survive
	}, nil
}

// Send delivers one message and returns its Message-ID (normalised), which
// core stores so that the resident's reply finds the request.
//
// Errors follow core.Sender: a plain error means the server certainly did
// not take the message; a 5xx refusal is core.Permanent; a failure after
// the message was sent but before the server's answer wraps
// core.ErrOutcomeUnknown, so the message is never sent twice.
func (s *Sender) Send(ctx context.Context, m core.Outbound) (string, error) {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return "", core.Permanent(fmt.Errorf("email: recipient %q: %w", m.To, err))
	}
	id, raw, err := s.compose(m, to)
	if err != nil {
		return "", core.Permanent(err)
	}
	if err := s.deliver(ctx, to.Address, raw); err != nil {
		return "", err
	}
	return id, nil
}

// compose writes the message: multipart/alternative, text and HTML.
func (s *Sender) compose(m core.Outbound, to *mail.Address) (id string, raw []byte, err error) {
	id = s.messageID(m)
	var h gomail.Header
	h.SetDate(time.Now())
	h.SetAddressList("From", []*gomail.Address{{Name: s.from.Name, Address: s.from.Address}})
	h.SetAddressList("To", []*gomail.Address{{Address: to.Address}})
	if m.RequestID != 0 {
		h.SetAddressList("Reply-To", []*gomail.Address{{Name: s.from.Name, Address: s.tokens.replyAddress(s.from.Address, m.RequestID)}})
	}
	subject := m.Subject
	if subject == "" {
		subject = s.cfg.CityName + " 311"
	}
	if tag := fmt.Sprintf("[#%d]", m.RequestID); m.RequestID != 0 && !strings.HasSuffix(subject, tag) {
		subject += " " + tag
	}
	h.SetSubject(subject)
	h.SetMessageID(id)
	if refs := references(m.Thread); len(refs) > 0 {
		h.SetMsgIDList("In-Reply-To", refs[len(refs)-1:])
		h.SetMsgIDList("References", refs)
	}
	if m.Auto {
		h.Set("Auto-Submitted", "auto-replied")
		// Exchange: do not answer this with an out-of-office.
		h.Set("X-Auto-Response-Suppress", "All")
	}
	body := m.Body
	if m.Unsubscribe != "" {
		// A notice to a subscriber: mail programs offer to end the
		// subscription with one click (RFC 8058), and the mail says how.
		h.Set("List-Unsubscribe", "<"+m.Unsubscribe+">")
		h.Set("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
		h.Set("Auto-Submitted", "auto-generated")
		h.Set("Precedence", "bulk")
		stop := "To stop these notices:"
		if m.Language == "es" {
			stop = "Para no recibir más avisos:"
		}
		body += "\n\n" + stop + " " + m.Unsubscribe
	}
	h.Set(LoopHeader, s.host)
	if m.Language != "" {
		h.Set("Content-Language", m.Language)
	}
	h.Set("MIME-Version", "1.0")

	page, err := templates.EmailHTML(m.Language, s.cfg.CityName, subject, body)
	if err != nil {
		return "", nil, fmt.Errorf("email: HTML body: %w", err)
	}
	var buf bytes.Buffer
	w, err := gomail.CreateInlineWriter(&buf, h)
	if err != nil {
		return "", nil, err
	}
	for _, part := range []struct{ typ, body string }{{"text/plain", body}, {"text/html", page}} {
		var ph gomail.InlineHeader
		ph.SetContentType(part.typ, map[string]string{"charset": "utf-8"})
		ph.Set("Content-Transfer-Encoding", "quoted-printable")
		pw, err := w.CreatePart(ph)
		if err != nil {
			return "", nil, err
		}
		if _, err := pw.Write([]byte(strings.ReplaceAll(part.body, "\r\n", "\n"))); err != nil {
			return "", nil, err
		}
		if err := pw.Close(); err != nil {
			return "", nil, err
		}
	}
	if err := w.Close(); err != nil {
		return "", nil, err
	}
	return id, buf.Bytes(), nil
}

// messageID names the request and the message, so that a person reading
// the headers can tell: sr-1234.m-5678.MAC@city.example. The same message
// always gets the same Message-ID: sent again after a crash, it is one
// mail to the resident's client. The MAC keeps the ids unguessable.
func (s *Sender) messageID(m core.Outbound) string {
	mac := s.tokens.messageMAC(m.MessageID)
	if m.RequestID == 0 {
		return fmt.Sprintf("m-%d.%s@%s", m.MessageID, mac, s.host)
	}
	return fmt.Sprintf("sr-%d.m-%d.%s@%s", m.RequestID, m.MessageID, mac, s.host)
}

// Resolve tells core that a mail an interrupted attempt may have sent can
// be sent again (core.Resolver): SMTP cannot be asked what it delivered,
// but the second copy carries the same Message-ID, and mail clients show
// one.
func (s *Sender) Resolve(context.Context, core.Outbound, time.Time) (string, error) { return "", nil }

// references keeps the thread's Message-IDs that are real ones (core also
// stores a hash for mail that had none), bounded as RFC 5322 suggests
// trimming: the first, and the latest nine.
func references(thread []string) []string {
	var ids []string
	for _, id := range thread {
		if normID(id) != "" && strings.Contains(id, "@") && !strings.HasPrefix(id, "sha256:") {
			ids = append(ids, id)
		}
	}
	// >= 10 would do as well: ten ids trimmed so are the same ten.
	if len(ids) > 10 {
		ids = append(ids[:1:1], ids[len(ids)-9:]...)
	}
	return ids
}

// deliver runs one SMTP transaction.
func (s *Sender) deliver(ctx context.Context, to string, raw []byte) error {
	conn, err := s.dialer.DialContext(ctx, "tcp", s.smtp.addr)
	if err != nil {
		return fmt.Errorf("email: SMTP %s: %w", s.smtp.addr, err)
	}
	defer conn.Close()
	// A cancelled ctx (shutdown, the job's timeout) breaks off the session.
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	c, err := s.session(conn)
	if err != nil {
		return fmt.Errorf("email: SMTP %s: %w", s.smtp.addr, err)
	}
	if err := c.Mail(bounceAddress(s.from.Address), nil); err != nil {
		return fmt.Errorf("email: SMTP MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to, nil); err != nil {
		return refused("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return refused("DATA", err)
	}
	if _, err := w.Write(raw); err != nil {
		// The message never ended: the server cannot have taken it.
		return fmt.Errorf("email: SMTP DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return refused("end of DATA", err)
		}
		return fmt.Errorf("email: SMTP end of DATA: %w: %w", core.ErrOutcomeUnknown, err)
	}
	if err := c.Quit(); err != nil { // a log line's condition: its mutant survives
		s.log.Debug("SMTP QUIT failed after the message was accepted", "err", err)
	}
	return nil
}

// refused classifies a server's refusal: 5xx is for good.
func refused(step string, err error) error {
	err = fmt.Errorf("email: SMTP %s: %w", step, err)
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		return core.Permanent(err)
	}
	return err
}

// session greets, secures (STARTTLS unless the connection is implicit TLS
// or plain is allowed) and authenticates.
func (s *Sender) session(conn net.Conn) (*smtp.Client, error) {
	var c *smtp.Client
	switch {
	case s.smtp.implicit:
		c = smtp.NewClient(tls.Client(conn, tlsFor(s.tlsConfig, s.smtp.host)))
	case s.smtp.plain:
		c = smtp.NewClient(conn)
	default:
		// Greets as "localhost" before TLS; we introduce ourselves after.
		var err error
		if c, err = smtp.NewClientStartTLS(conn, tlsFor(s.tlsConfig, s.smtp.host)); err != nil {
			return nil, err
		}
	}
	c.CommandTimeout, c.SubmissionTimeout = s.commandTimeout, s.dataTimeout
	if err := c.Hello(s.hello); err != nil {
		return nil, err
	}
	if s.smtp.user != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.smtp.user, s.smtp.pass)); err != nil {
			return nil, fmt.Errorf("AUTH: %w", err)
		}
	}
	return c, nil
}

// tlsFor is a TLS configuration that checks the server's name.
func tlsFor(base *tls.Config, host string) *tls.Config {
	c := &tls.Config{}
	if base != nil {
		c = base.Clone()
	}
	c.ServerName = host
	return c
}
