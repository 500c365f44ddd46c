package email

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// Limits bound what one message may bring.
type Limits struct {
	Part    int64 // the largest file
	Message int64 // all files together
	Files   int   // how many files
}

// Message is what a mail says, read tolerantly: Parse always returns one.
type Message struct {
	From       string   // the sender's address; "" when no header holds a usable one
	Recipients []string // addresses in To, Cc, Delivered-To, X-Original-To, lower-case
	Subject    string
	MessageID  string   // without <>, case kept; "" when absent
	References []string // Message-IDs it answers: In-Reply-To, then References
	Text       string   // the body as text: text/plain preferred, else HTML converted
	Files      []File   // photos and documents, whether inline or attached
	Refused    []string // files not kept, each with why
	Automatic  string   // why the message is machine-made; "" for a person's
	Bounced    []Bounce // failed recipients, when it is a delivery report
	Problems   []string // what was repaired while reading it
}

// File is an attachment as the message carried it.
type File struct {
	Name string // decoded and made safe; invented when the message gave none
	Type string // the declared content type (the blob store sniffs its own)
	Data []byte
}

// Bounce is a recipient a delivery report says failed.
type Bounce struct {
	Address string
	Why     string
}

const (
	maxDepth = 20  // nested multiparts
	maxParts = 500 // entities in one message
	maxRefs  = 20  // References kept (the first and the latest)
)

// Parse reads a raw RFC 5322 message.
func Parse(raw []byte, lim Limits) *Message {
	p := &parser{m: &Message{}, lim: lim}
	h, body := readHeader(raw)
	p.header(h)
	p.entity(h, body, 0, 0)
	p.m.Text = p.body()
	p.m.Automatic = automatic(h, p.m, p.report)
	return p.m
}

type parser struct {
	m       *Message
	lim     Limits
	texts   []text
	nextAlt int    // numbers multipart/alternative groups
	parts   int    // entities seen
	total   int64  // bytes of files kept
	report  string // report-type of a multipart/report
}

// text is one body part; alt numbers its multipart/alternative group.
type text struct {
	s    string
	html bool
	alt  int
}

func (p *parser) problem(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	for _, q := range p.m.Problems {
		if q == s {
			return
		}
	}
	p.m.Problems = append(p.m.Problems, s)
}

func (p *parser) header(h header) {
	for _, name := range []string{"From", "Sender", "Reply-To", "Return-Path"} {
		if as := addresses(h.Get(name)); len(as) > 0 {
			p.m.From = as[0]
			if name != "From" {
				p.problem("no usable From; the sender is taken from %s", name)
			}
			break
		}
	}
	for _, name := range []string{"To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"} {
		for _, v := range h.Values(name) {
			for _, a := range addresses(v) {
				p.m.Recipients = append(p.m.Recipients, strings.ToLower(a))
			}
		}
	}
	p.m.Subject = oneLine(decodeWords(h.Get("Subject")))
	if ids := msgIDs(h.Get("Message-ID")); len(ids) > 0 {
		p.m.MessageID = ids[0]
	}
	refs := append(msgIDs(h.Get("In-Reply-To")), msgIDs(strings.Join(h.Values("References"), " "))...)
	seen := map[string]bool{}
	for _, id := range refs {
		if !seen[id] {
			seen[id] = true
			p.m.References = append(p.m.References, id)
		}
	}
	if n := len(p.m.References); n > maxRefs { // >= would do as well: twenty trimmed so are the same twenty
		// In-Reply-To and the thread's root, then the latest.
		r := p.m.References
		p.m.References = append([]string{r[0], r[1]}, r[n-(maxRefs-2):]...)
	}
}

func (p *parser) entity(h header, body []byte, depth, alt int) {
	p.parts++
	if p.parts > maxParts || depth > maxDepth {
		p.problem("too many or too deeply nested parts; the rest was skipped")
		return
	}
	typ, params := mediaType(h.Get("Content-Type"))
	if !strings.Contains(typ, "/") {
		typ = "text/plain"
	}
	if strings.HasPrefix(typ, "multipart/") {
		mr := textproto.NewMultipartReader(bytes.NewReader(body), params["boundary"])
		part, err := mr.NextPart()
		if err != nil {
			// No boundary, none found, or a first part whose header
			// go-message cannot read: the text is read rather than lost.
			p.problem("no part found in a %s part; it was read as text", typ)
			p.leaf(h, "text/plain", params, body, alt)
			return
		}
		switch typ {
		case "multipart/alternative":
			p.nextAlt++ // -- would do as well: the numbers need only differ, and not be 0
			alt = p.nextAlt
		case "multipart/report":
			p.report = strings.ToLower(params["report-type"])
		}
		for ; err == nil; part, err = mr.NextPart() {
			// Without the final boundary the last part runs to the end
			// and its read fails: what was read is kept.
			pb, _ := io.ReadAll(part)
			p.entity(header{Header: part.Header}, pb, depth+1, alt)
		}
		if err != io.EOF {
			p.problem("a part header is unreadable or the final boundary is missing; the parts read so far were kept")
		}
		return
	}
	p.leaf(h, typ, params, body, alt)
}

func (p *parser) leaf(h header, typ string, params map[string]string, body []byte, alt int) {
	enc := h.Get("Content-Transfer-Encoding")
	data, clean := decodeTransfer(enc, body)
	if !clean {
		p.problem("bad %s in a %s part; what could be decoded was kept", strings.ToLower(enc), typ)
	}
	disp, dparams := mediaType(h.Get("Content-Disposition"))
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	switch typ {
	case "message/delivery-status", "message/global-delivery-status":
		p.m.Bounced = append(p.m.Bounced, parseDSN(data)...)
		return
	case "message/disposition-notification":
		return // a read receipt: automatic() says so
	case "message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers":
		if p.report != "" {
			// The returned message: its Message-ID threads the report.
			rh, _ := readHeader(data)
			p.m.References = append(p.m.References, msgIDs(rh.Get("Message-ID"))...)
			return
		}
		if rh, _ := readHeader(data); name == "" && rh.Get("Subject") != "" {
			name = strings.NewReplacer("/", "-", `\`, "-").Replace(oneLine(decodeWords(rh.Get("Subject")))) + ".eml"
		}
	case "application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature":
		return // a signature over the body, of no use to staff
	case "text/plain", "text/html":
		if disp == "attachment" && name != "" {
			break // a document sent as text: a file
		}
		s, ok := toUTF8(params["charset"], data)
		if !ok {
			p.problem("unknown charset %q; the text was kept as it came", params["charset"])
		}
		if typ == "text/plain" && strings.EqualFold(params["format"], "flowed") {
			s = unflow(s, strings.EqualFold(params["delsp"], "yes"))
		}
		p.texts = append(p.texts, text{s: s, html: typ == "text/html", alt: alt})
		return
	}
	p.file(name, typ, data)
}

// file keeps an attachment within the limits, or records why not.
func (p *parser) file(name, typ string, data []byte) {
	if len(data) == 0 {
		return
	}
	name = cleanName(name)
	if name == "" {
		name = inventName(typ, len(p.m.Files)+len(p.m.Refused)+1)
	}
	size := int64(len(data))
	switch {
	case size > p.lim.Part:
		p.m.Refused = append(p.m.Refused, fmt.Sprintf("%s refused: over %s", name, megabytes(p.lim.Part)))
	case p.total+size > p.lim.Message:
		p.m.Refused = append(p.m.Refused, fmt.Sprintf("%s refused: the files of one message may weigh %s in all", name, megabytes(p.lim.Message)))
	case len(p.m.Files) >= p.lim.Files:
		p.m.Refused = append(p.m.Refused, fmt.Sprintf("%s refused: at most %d files per message", name, p.lim.Files))
	default:
		p.total += size
		p.m.Files = append(p.m.Files, File{Name: name, Type: typ, Data: data})
	}
}

// body joins the text parts, taking text/plain over HTML within each
// multipart/alternative.
func (p *parser) body() string {
	plain := map[int]bool{}
	for _, t := range p.texts {
		if t.alt != 0 && !t.html && strings.TrimSpace(t.s) != "" {
			plain[t.alt] = true
		}
	}
	var parts []string
	for _, t := range p.texts {
		if t.alt != 0 && plain[t.alt] && (t.html || strings.TrimSpace(t.s) == "") {
			continue
		}
		s := t.s
		if t.html {
			s = htmlToText(s)
		}
		if s = strings.TrimSpace(cleanText(s)); s != "" {
			parts = append(parts, s)
		}
	}
	return blankLines.ReplaceAllString(strings.Join(parts, "\n\n"), "\n\n")
}

var blankLines = regexp.MustCompile(`\n[ \t]*\n(?:[ \t]*\n)+`)

// cleanText normalises line endings and drops control characters (the
// database refuses NUL) except newlines and tabs.
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return '\n'
		case unicode.IsControl(r) || r == '\uFEFF':
			return -1
		}
		return r
	}, s)
}

// oneLine is a header value fit to show: no controls, single spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(cleanText(s)), " ")
}

// unflow joins the soft line breaks of format=flowed text (RFC 3676).
func unflow(s string, delsp bool) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var b strings.Builder
	for _, l := range lines {
		l = strings.TrimPrefix(l, " ") // space-stuffing
		if l != "-- " && strings.HasSuffix(l, " ") {
			if delsp {
				l = l[:len(l)-1]
			}
			b.WriteString(l)
			continue
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	// The last line's space or newline goes when the body is trimmed.
	return b.String()
}

var looseAddr = regexp.MustCompile(`[^\s<>"(),;:\[\]]+@[^\s<>"(),;:\[\]]+\.[^\s<>"(),;:\[\]]+`)

// addresses reads an address list, or, when go-message cannot parse it
// (it refuses the whole list for one broken address), whatever looks like
// an address in it: the city's reply address may be any of them.
func addresses(v string) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	var out []string
	if list, err := mail.ParseAddressList(v); err == nil {
		for _, a := range list {
			if strings.Contains(a.Address, "@") {
				out = append(out, a.Address)
			}
		}
		return out
	}
	return looseAddr.FindAllString(v, -1)
}

// msgIDs reads the Message-IDs in a header value, without the angle
// brackets. Their case is kept: clients compare Message-IDs as they are,
// and a reply must name the resident's message exactly to thread with it.
// go-message's MsgIDList stops at the first id it cannot read (empty,
// or without its brackets or "@"); here each id stands alone.
func msgIDs(v string) []string {
	var ids []string
	for {
		_, rest, ok := strings.Cut(v, "<")
		if !ok {
			break
		}
		id, rest, ok := strings.Cut(rest, ">")
		if !ok {
			break
		}
		if id := normID(id); id != "" {
			ids = append(ids, id)
		}
		v = rest
	}
	if len(ids) == 0 {
		// Some mailers leave out the brackets.
		if f := strings.Fields(v); len(f) == 1 && strings.Contains(f[0], "@") {
			if id := normID(f[0]); id != "" {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// normID keeps a Message-ID fit to store and compare: one that is not
// plain text (a control character, bytes that are not UTF-8) counts as
// absent, so that the message is still taken, named by its hash.
func normID(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 250 || strings.ContainsAny(s, " \t\r\n<>") || !utf8.ValidString(s) ||
		strings.ContainsFunc(s, unicode.IsControl) {
		return ""
	}
	return s
}

// parseDSN reads the failed recipients of a message/delivery-status body
// (RFC 3464): per-recipient groups of fields, separated by empty lines.
func parseDSN(b []byte) []Bounce {
	var out []Bounce
	rest := []byte(strings.ReplaceAll(string(b), "\r\n", "\n"))
	for len(rest) > 0 {
		var h header
		h, rest = readHeader(rest)
		if h.Len() == 0 {
			if len(rest) > 0 {
				_, rest = cutLine(rest)
			}
			continue
		}
		if !strings.HasPrefix(strings.ToLower(h.Get("Action")), "failed") {
			continue
		}
		addr := dsnAddress(h.Get("Original-Recipient"))
		if addr == "" {
			addr = dsnAddress(h.Get("Final-Recipient"))
		}
		if addr == "" {
			continue
		}
		why := oneLine(h.Get("Diagnostic-Code"))
		if why == "" {
			why = "status " + h.Get("Status")
		}
		out = append(out, Bounce{Address: addr, Why: why})
	}
	return out
}

// dsnAddress reads "rfc822; user@example.org".
func dsnAddress(v string) string {
	_, a, ok := strings.Cut(v, ";")
	if !ok {
		a = v
	}
	a = strings.Trim(strings.TrimSpace(a), "<>")
	if !strings.Contains(a, "@") {
		return ""
	}
	return a
}

// cleanName makes a sender's file name safe to store and show: its last
// path element, without controls, at most 150 characters.
func cleanName(name string) string {
	name = path.Base(strings.ReplaceAll(oneLine(name), `\`, "/"))
	name = strings.Trim(name, " .")
	if name == "" || name == "/" {
		return ""
	}
	if r := []rune(name); len(r) > 150 { // >= would do as well: 150 cut to 150 is the same name
		ext := path.Ext(name)
		if len(ext) > 10 {
			ext = ""
		}
		name = string(r[:150-len([]rune(ext))]) + ext
	}
	return name
}

var extensions = map[string]string{
	"image/jpeg": ".jpg", "image/jpg": ".jpg", "image/pjpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
	"image/heic": ".heic", "image/heif": ".heif", "image/webp": ".webp", "image/tiff": ".tif",
	"application/pdf": ".pdf", "application/ms-tnef": ".dat", "application/vnd.ms-tnef": ".dat",
	"text/plain": ".txt", "text/html": ".html", "text/calendar": ".ics", "text/vcard": ".vcf", "text/x-vcard": ".vcf",
	"message/rfc822": ".eml", "video/mp4": ".mp4", "video/quicktime": ".mov", "audio/mpeg": ".mp3",
	"application/msword": ".doc", "application/zip": ".zip",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}

// inventName names a file the message left unnamed: photo-1.jpg.
func inventName(typ string, n int) string {
	base := "attachment"
	if strings.HasPrefix(typ, "image/") {
		base = "photo"
	}
	ext, ok := extensions[typ]
	if !ok {
		ext = ".bin"
	}
	return fmt.Sprintf("%s-%d%s", base, n, ext)
}

func megabytes(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", max(n>>10, 1))
}
