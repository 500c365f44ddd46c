package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"townline/core"
)

// The demo city's mailbox, and the resident who writes to it.
const (
	demoCityMail = "311@oroville.demo"
	demoResident = "resident@example.com"
)

// demoMailbox is the city's mail on this machine: its 311 mailbox, which
// townline watches over IMAP as it would the city's real one, and the
// outgoing mail server townline sends through, which hands every mail to
// the terminal instead of the Internet.
type demoMailbox struct {
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
func startMailbox(resident string, onMail func(cityMail)) (*demoMailbox, error) {
	m := &demoMailbox{password: strings.ToLower(rand.Text()[:16]), resident: resident, onMail: onMail}
	mem := imapmemserver.New()
	m.user = imapmemserver.NewUser(demoCityMail, m.password)
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

func (m *demoMailbox) close() {
	m.smtp.Close()
	m.imap.Close()
}

// imapURL is the mailbox townline watches: plain IMAP, allowed on loopback.
func (m *demoMailbox) imapURL() string {
	u := url.URL{Scheme: "imap", User: url.UserPassword(demoCityMail, m.password), Host: m.imapAddr, Path: "/INBOX"}
	return u.String()
}

func (m *demoMailbox) smtpURL() string { return "smtp://" + m.smtpAddr }

// deliver puts a resident's mail in the city's INBOX, as the city's mail
// server does when mail arrives.
func (m *demoMailbox) deliver(raw []byte) error {
	_, err := m.user.Append("INBOX", literal{bytes.NewReader(raw)}, &imap.AppendOptions{Time: time.Now()})
	return err
}

// lastMail is the city's latest mail to the resident.
func (m *demoMailbox) lastMail() (cityMail, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		return cityMail{}, false
	}
	return *m.last, true
}

// received takes one mail the city sent.
func (m *demoMailbox) received(to []string, raw []byte) {
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
	box *demoMailbox
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

// mailDraft is a mail the resident is writing.
type mailDraft struct {
	to      string
	subject string
	body    []string
	photo   bool
	answers *cityMail // the mail this one answers, if any
}

// compose writes the draft as the resident's mail client would send it,
// and returns it with its Message-ID.
func (d *mailDraft) compose(from string) (id string, raw []byte, err error) {
	var h gomail.Header
	h.SetDate(time.Now())
	h.SetAddressList("From", []*gomail.Address{{Name: "Demo Resident", Address: from}})
	h.SetAddressList("To", []*gomail.Address{{Address: d.to}})
	h.SetSubject(d.subject)
	_, domain, _ := strings.Cut(from, "@")
	if err := h.GenerateMessageIDWithHostname(domain); err != nil {
		return "", nil, err
	}
	id, _ = h.MessageID()
	body := strings.Join(d.body, "\n")
	if a := d.answers; a != nil {
		if a.MessageID != "" {
			h.SetMsgIDList("In-Reply-To", []string{a.MessageID})
			h.SetMsgIDList("References", append(append([]string(nil), a.References...), a.MessageID))
		}
		body += "\n\n" + quote(*a)
	}
	body = strings.ReplaceAll(body, "\n", "\r\n") + "\r\n"
	h.Set("MIME-Version", "1.0")
	h.Set("User-Agent", "townline demo")

	var text gomail.InlineHeader
	text.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	var buf bytes.Buffer
	if !d.photo {
		// A single text part, its type in the message's header.
		h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
		w, err := gomail.CreateSingleInlineWriter(&buf, h)
		if err != nil {
			return "", nil, err
		}
		if _, err := io.WriteString(w, body); err != nil {
			return "", nil, err
		}
		if err := w.Close(); err != nil {
			return "", nil, err
		}
		return id, buf.Bytes(), nil
	}
	w, err := gomail.CreateWriter(&buf, h) // multipart/mixed: the text, then the photo
	if err != nil {
		return "", nil, err
	}
	tw, err := w.CreateSingleInline(text)
	if err != nil {
		return "", nil, err
	}
	if _, err := io.WriteString(tw, body); err != nil {
		return "", nil, err
	}
	if err := tw.Close(); err != nil {
		return "", nil, err
	}
	var ah gomail.AttachmentHeader
	ah.SetContentType("image/jpeg", nil)
	ah.SetFilename("IMG_0001.jpeg")
	aw, err := w.CreateAttachment(ah)
	if err != nil {
		return "", nil, err
	}
	if _, err := aw.Write(demoPhoto()); err != nil {
		return "", nil, err
	}
	if err := aw.Close(); err != nil {
		return "", nil, err
	}
	if err := w.Close(); err != nil {
		return "", nil, err
	}
	return id, buf.Bytes(), nil
}

// quote is the answered mail below an attribution, as mail clients write it.
func quote(m cityMail) string {
	when := m.Date
	if when.IsZero() {
		when = time.Now()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "On %s, %s wrote:\n", when.Format("Mon, Jan 2, 2006 at 3:04 PM"), m.From)
	for _, l := range strings.Split(m.Text, "\n") {
		b.WriteString(strings.TrimRight("> "+l, " ") + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// mailer is the terminal's mail client.
type mailer struct {
	box     *demoMailbox
	term    *terminal
	from    string
	draft   *mailDraft
	core    *core.Core
	ctx     context.Context
	arrived chan<- struct{} // news for the screen, as an answer is
}

// compose begins a mail to the city; its body comes next, line by line.
func (c *mailer) compose(subject string, photo bool) {
	c.draft = &mailDraft{to: demoCityMail, subject: subject, photo: photo}
	c.begin()
}

func (c *mailer) begin() {
	c.term.setMode("mail")
	c.term.printf("(write your mail to %s; a line with a single . sends it, /photo attaches a photo, /cancel drops it)\n", c.draft.to)
}

// reply answers the city's latest mail: with text at once, or else with
// a body to come.
func (c *mailer) reply(text string, photo bool) (sent bool) {
	last, ok := c.box.lastMail()
	if !ok {
		c.term.printf("(no mail from the city to answer yet; /mail SUBJECT writes one)\n")
		return false
	}
	subject := last.Subject
	if !strings.HasPrefix(strings.ToLower(subject), "re:") {
		subject = "Re: " + subject
	}
	c.draft = &mailDraft{to: last.ReplyTo, subject: subject, photo: photo, answers: &last}
	if text == "" {
		c.begin()
		return false
	}
	c.draft.body = []string{text}
	return c.send()
}

// line takes one line of the draft's body. sent says the mail went.
func (c *mailer) line(l string) (sent bool) {
	switch strings.TrimSpace(l) {
	case ".":
		return c.send()
	case "/photo":
		c.draft.photo = true
		c.term.printf("(the photo is attached)\n")
		return false
	case "/cancel":
		c.draft = nil
		c.term.setMode("")
		c.term.printf("(mail dropped)\n")
		return false
	}
	c.draft.body = append(c.draft.body, l)
	return false
}

func (c *mailer) send() bool {
	d := c.draft
	c.draft = nil
	c.term.setMode("")
	id, raw, err := d.compose(c.from)
	if err == nil {
		err = c.box.deliver(raw)
	}
	if err != nil {
		c.term.printf("(the mail did not reach the city's mailbox: %v)\n", err)
		return false
	}
	with := ""
	if d.photo {
		with = " with a photo"
	}
	c.term.printf("(mail%s delivered to %s: %s)\n", with, d.to, d.subject)
	if d.answers != nil {
		if m := requestTag.FindStringSubmatch(d.answers.Subject); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			go c.filed(id, n)
		}
	}
	return true
}

// requestTag is the request number at the end of the city's subjects.
var requestTag = regexp.MustCompile(`\[#(\d+)\]\s*$`)

// filed shows the resident's answer once townline has filed it with the
// request it answers. The city does not answer such mail, so without this
// the person would not see where it went.
func (c *mailer) filed(messageID string, request int64) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-timeout:
			return // not with this request: a new one's acknowledgment shows where it went
		case <-tick.C:
		}
		msgs, err := c.core.Messages(c.ctx, request)
		if err != nil {
			continue
		}
		for _, m := range msgs {
			if m.Direction == "in" && strings.EqualFold(m.ProviderID, messageID) {
				c.term.note(fmt.Sprintf("(townline added your mail to request #%d: %s)", request, c.core.TrackingURL(request)))
				select {
				case c.arrived <- struct{}{}:
				default:
				}
				return
			}
		}
	}
}

// note prints a line of news while the person may be typing.
func (t *terminal) note(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.prompt {
		fmt.Fprint(t.out, "\r")
	}
	fmt.Fprintln(t.out, line)
	if t.prompt {
		fmt.Fprint(t.out, t.promptText())
	}
}

// mail shows a mail the city sent.
func (t *terminal) mail(m cityMail, resident string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	to := ""
	if !slices.ContainsFunc(m.To, func(r string) bool { return strings.EqualFold(r, resident) }) {
		to = "(to " + strings.Join(m.To, ", ") + ") "
	}
	if t.prompt {
		fmt.Fprint(t.out, "\r")
	}
	const indent = "             " // under "city (mail)> "
	fmt.Fprintf(t.out, "city (mail)> %sSubject: %s\n", to, m.Subject)
	lines := strings.Split(m.Text, "\n")
	for _, f := range m.Files {
		lines = append(lines, "(attached: "+f+")")
	}
	for _, l := range lines {
		if l = strings.TrimRight(l, " \t"); l != "" {
			l = indent + l
		}
		fmt.Fprintln(t.out, l)
	}
	if t.prompt {
		fmt.Fprint(t.out, t.promptText())
	}
}

// waitReady waits a little for the readiness checks (the mailbox
// watcher's connection), and says which is not ready.
func waitReady(checks []func() error, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		var err error
		for _, check := range checks {
			if err = check(); err != nil {
				break
			}
		}
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
