package demo

import (
	"bytes"
	"crypto/rand"
	"io"
	"log"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// mailbox is the city's mail on this machine: its 311 mailbox, which
// townline watches over IMAP as it would the city's real one, and the
// outgoing mail server townline sends through, which hands every mail to
// the terminal instead of the Internet.
type mailbox struct {
	user     *imapmemserver.User
	imap     *imapserver.Server
	smtp     *smtp.Server
	imapAddr string
	smtpAddr string
	password string
	resident string
	onMail   func(cityMail)

	mu   sync.Mutex
	last *cityMail // the latest mail to the resident
}

// cityMail is one mail the city sent, as the resident's mail client shows it.
type cityMail struct {
	To         []string // the envelope's recipients
	From       string
	ReplyTo    string // where an answer goes: Reply-To, else From
	Subject    string
	MessageID  string
	References []string
	Date       time.Time
	Text       string   // the text/plain part
	Files      []string // the attachments' names
}

// startMailbox starts both servers on free loopback ports. onMail sees
// every mail the city sends, to whomever.
func startMailbox(resident string, onMail func(cityMail)) (*mailbox, error) {
	m := &mailbox{password: strings.ToLower(rand.Text()[:16]), resident: resident, onMail: onMail}
	mem := imapmemserver.New()
	m.user = imapmemserver.NewUser(CityMail, m.password)
	if err := m.user.Create("INBOX", nil); err != nil {
		return nil, err
	}
	mem.AddUser(m.user)
	quiet := log.New(io.Discard, "", 0) // connections townline closes end in errors
	m.imap = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}},
		InsecureAuth: true, // on loopback only
		Logger:       quiet,
	})
	il, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m.imapAddr = il.Addr().String()
	go m.imap.Serve(il)

	m.smtp = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{box: m}, nil }))
	m.smtp.Domain = "mail.oroville.demo"
	m.smtp.AllowInsecureAuth = true
	m.smtp.MaxMessageBytes = 32 << 20
	m.smtp.ErrorLog = quiet
	sl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		m.imap.Close()
		return nil, err
	}
	m.smtpAddr = sl.Addr().String()
	go m.smtp.Serve(sl)
	return m, nil
}

func (m *mailbox) close() {
	m.smtp.Close()
	m.imap.Close()
}

// imapURL is the mailbox townline watches: plain IMAP, allowed on loopback.
func (m *mailbox) imapURL() string {
	u := url.URL{Scheme: "imap", User: url.UserPassword(CityMail, m.password), Host: m.imapAddr, Path: "/INBOX"}
	return u.String()
}

func (m *mailbox) smtpURL() string { return "smtp://" + m.smtpAddr }

// deliver puts a resident's mail in the city's INBOX, as the city's mail
// server does when mail arrives.
func (m *mailbox) deliver(raw []byte) error {
	_, err := m.user.Append("INBOX", literal{bytes.NewReader(raw)}, &imap.AppendOptions{Time: time.Now()})
	return err
}

// lastMail is the city's latest mail to the resident.
func (m *mailbox) lastMail() (cityMail, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		return cityMail{}, false
	}
	return *m.last, true
}

// received takes one mail the city sent.
func (m *mailbox) received(to []string, raw []byte) {
	cm := readCityMail(raw)
	cm.To = to
	for _, r := range to {
		if strings.EqualFold(r, m.resident) {
			m.mu.Lock()
			m.last = &cm
			m.mu.Unlock()
		}
	}
	if m.onMail != nil {
		m.onMail(cm)
	}
}

type literal struct{ *bytes.Reader }

func (l literal) Size() int64 { return l.Reader.Size() }

// sinkSession is one SMTP session of townline's: any login, any sender,
// any recipient.
type sinkSession struct {
	box *mailbox
	to  []string
}

func (s *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(string, string, string) error { return nil }), nil
}

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { s.to = nil; return nil }

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.box.received(s.to, raw)
	return nil
}

func (s *sinkSession) Reset()        { s.to = nil }
func (s *sinkSession) Logout() error { return nil }

// readCityMail reads what a mail client shows of a mail; what it cannot
// read stays empty.
func readCityMail(raw []byte) cityMail {
	var cm cityMail
	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		cm.Text = "(unreadable mail: " + err.Error() + ")"
		return cm
	}
	defer mr.Close()
	h := mr.Header
	cm.Subject, _ = h.Subject()
	cm.MessageID, _ = h.MessageID()
	cm.References, _ = h.MsgIDList("References")
	cm.Date, _ = h.Date()
	if from, err := h.AddressList("From"); err == nil && len(from) > 0 {
		cm.From = from[0].String()
		cm.ReplyTo = from[0].Address
	}
	if rt, err := h.AddressList("Reply-To"); err == nil && len(rt) > 0 {
		cm.ReplyTo = rt[0].Address
	}
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		switch ph := p.Header.(type) {
		case *gomail.InlineHeader:
			if t, _, _ := ph.ContentType(); (t == "text/plain" || t == "") && cm.Text == "" {
				b, _ := io.ReadAll(p.Body)
				cm.Text = strings.TrimSpace(strings.ReplaceAll(string(b), "\r\n", "\n"))
			}
		case *gomail.AttachmentHeader:
			name, _ := ph.Filename()
			cm.Files = append(cm.Files, name)
		}
	}
	return cm
}
