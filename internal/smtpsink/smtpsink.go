// Package smtpsink is a real SMTP server (emersion/go-smtp) on loopback
// that keeps every message it is sent, for tests to read: the city's
// outgoing mail server, as far as townline can tell.
package smtpsink

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the sink was sent.
type Message struct {
	Hello string // the name the client greeted with
	From  string
	To    []string
	Data  []byte // as sent: headers and body
}

// Sink is a running SMTP server. Its settings make it misbehave as mail
// servers do, for the sender's error handling.
type Sink struct {
	srv  *smtp.Server
	addr string

	mu             sync.Mutex
	msgs           []Message
	more           chan struct{} // closed, and replaced, when a message comes
	rcptErr        error         // refuse every RCPT with this
	dataErr        error         // refuse at the end of DATA with this
	hang           chan struct{} // when set, the end of DATA waits on it
	user, password string        // when set, AUTH PLAIN is required
}

// Start serves SMTP on a free loopback port until Close.
func Start() (*Sink, error) { return StartTLS(nil, false) }

// StartTLS is Start with TLS: offered by STARTTLS, or from the first byte
// when implicit (smtps://).
func StartTLS(cfg *tls.Config, implicit bool) (*Sink, error) {
	s := &Sink{more: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{sink: s, conn: c}, nil }))
	s.srv.Domain = "sink.test"
	s.srv.AllowInsecureAuth = true
	s.srv.TLSConfig = cfg
	s.srv.ErrorLog = quiet{} // connections a test cuts on purpose end in errors
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.addr = l.Addr().String()
	if implicit {
		l = tls.NewListener(l, cfg)
	}
	go s.srv.Serve(l)
	return s, nil
}

// URL is the sink's SMTP_URL (plain smtp://, no credentials).
func (s *Sink) URL() string { return "smtp://" + s.addr }

// Addr is the sink's host:port.
func (s *Sink) Addr() string { return s.addr }

// Close stops the server, and lets a hung message go.
func (s *Sink) Close() error {
	s.mu.Lock()
	if s.hang != nil {
		close(s.hang)
		s.hang = nil
	}
	s.mu.Unlock()
	return s.srv.Close()
}

// RefuseRcpt makes every recipient refused with err (nil: accepted).
func (s *Sink) RefuseRcpt(err error) { s.mu.Lock(); s.rcptErr = err; s.mu.Unlock() }

// RefuseData makes every message refused at its end with err (nil:
// accepted).
func (s *Sink) RefuseData(err error) { s.mu.Lock(); s.dataErr = err; s.mu.Unlock() }

// Hang makes the sink never answer the end of a message, until Close.
func (s *Sink) Hang() { s.mu.Lock(); s.hang = make(chan struct{}); s.mu.Unlock() }

// RequireAuth makes the sink ask for AUTH PLAIN with these credentials.
func (s *Sink) RequireAuth(user, password string) {
	s.mu.Lock()
	s.user, s.password = user, password
	s.mu.Unlock()
}

// Wait waits until the sink has taken a message for which match is true,
// and returns it, or ctx's error.
func (s *Sink) Wait(ctx context.Context, match func(Message) bool) (Message, error) {
	for {
		s.mu.Lock()
		more := s.more
		for _, m := range s.msgs {
			if match(m) {
				s.mu.Unlock()
				return m, nil
			}
		}
		s.mu.Unlock()
		select {
		case <-more:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}

// Messages returns every message the sink took, in order.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// To returns the messages sent to addr, in order.
func (s *Sink) To(addr string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.msgs {
		for _, r := range m.To {
			if strings.EqualFold(r, addr) {
				out = append(out, m)
			}
		}
	}
	return out
}

type session struct {
	sink   *Sink
	conn   *smtp.Conn
	authed bool
	cur    Message
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		ss.sink.mu.Lock()
		defer ss.sink.mu.Unlock()
		if username != ss.sink.user || password != ss.sink.password {
			return errors.New("invalid credentials")
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.sink.mu.Lock()
	needAuth := ss.sink.user != ""
	ss.sink.mu.Unlock()
	if needAuth && !ss.authed {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	ss.cur = Message{Hello: ss.conn.Hostname(), From: from}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.sink.mu.Lock()
	err := ss.sink.rcptErr
	ss.sink.mu.Unlock()
	if err != nil {
		return err
	}
	ss.cur.To = append(ss.cur.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.sink.mu.Lock()
	hang, dataErr := ss.sink.hang, ss.sink.dataErr
	ss.sink.mu.Unlock()
	if hang != nil {
		<-hang
		return nil
	}
	if dataErr != nil {
		return dataErr
	}
	ss.cur.Data = b
	ss.sink.mu.Lock()
	ss.sink.msgs = append(ss.sink.msgs, ss.cur)
	close(ss.sink.more)
	ss.sink.more = make(chan struct{})
	ss.sink.mu.Unlock()
	return nil
}

func (ss *session) Reset()        {}
func (ss *session) Logout() error { return nil }

type quiet struct{}

func (quiet) Printf(string, ...any) {}
func (quiet) Println(...any)        {}
