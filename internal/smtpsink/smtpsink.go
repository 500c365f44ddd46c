// Package smtpsink is a real SMTP server (emersion/go-smtp) on loopback
// that keeps every message it is sent, for tests to read: the city's
// outgoing mail server, as far as townline can tell.
package smtpsink

import (
	"io"
	"net"
	"strings"
	"sync"

	"github.com/emersion/go-smtp"
)

// Message is one message the sink was sent.
type Message struct {
	From string
	To   []string
	Data []byte // as sent: headers and body
}

// Sink is a running SMTP server.
type Sink struct {
	srv  *smtp.Server
	addr string
	mu   sync.Mutex
	msgs []Message
}

// Start serves SMTP on a free loopback port until Close.
func Start() (*Sink, error) {
	s := &Sink{}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{sink: s}, nil }))
	s.srv.Domain = "sink.test"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.addr = l.Addr().String()
	go s.srv.Serve(l)
	return s, nil
}

// URL is the sink's SMTP_URL (plain smtp://, no auth).
func (s *Sink) URL() string { return "smtp://" + s.addr }

// Close stops the server.
func (s *Sink) Close() error { return s.srv.Close() }

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
	sink *Sink
	cur  Message
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.cur = Message{From: from}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.cur.To = append(ss.cur.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.cur.Data = b
	ss.sink.mu.Lock()
	ss.sink.msgs = append(ss.sink.msgs, ss.cur)
	ss.sink.mu.Unlock()
	return nil
}

func (ss *session) Reset()        { ss.cur = Message{} }
func (ss *session) Logout() error { return nil }
