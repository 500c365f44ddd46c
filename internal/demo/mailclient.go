package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"townline/core"
)

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
	if _, err := aw.Write(takePhoto()); err != nil {
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
	box     *mailbox
	term    *terminal
	from    string
	draft   *mailDraft
	core    *core.Core
	ctx     context.Context
	arrived chan<- struct{} // news for the screen, as an answer is
}

// compose begins a mail to the city; its body comes next, line by line.
func (c *mailer) compose(subject string, photo bool) {
	c.draft = &mailDraft{to: CityMail, subject: subject, photo: photo}
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
				notify(c.arrived)
				return
			}
		}
	}
}
