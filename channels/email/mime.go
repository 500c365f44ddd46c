package email

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/encoding/charmap"
)

// Mail is read with go-message. What is left here is what it does not
// forgive in mail as it arrives; each repair is reported, never fatal.

// header is a message or part header as go-message reads it, values
// unfolded and not yet decoded.
type header = message.Header

// readHeader splits an entity into its header and body. go-message's
// textproto.ReadHeader fails on the whole header at a line that is not a
// field, and takes that line from the body: yet mail may open with an
// mbox "From " line or a stray folded line, forget the empty line before
// its body, or have no header at all. So the header's end is found here:
// the first empty line, or the first line that is not a field.
func readHeader(b []byte) (header, []byte) {
	var fields []byte
	rest := b
	for first := true; len(rest) > 0; first = false {
		line, next := cutLine(rest)
		folded := line[0] == ' ' || line[0] == '\t'
		switch {
		case len(bytes.TrimRight(line, "\r\n")) == 0:
			return readFields(fields), next
		case first && bytes.HasPrefix(line, []byte("From ")), folded && fields == nil:
			// An mbox separator line, or a continuation of nothing.
		case !folded && !isField(line):
			return readFields(fields), rest
		default:
			fields = append(fields, line...)
		}
		rest = next
	}
	return readFields(fields), nil
}

// readFields reads lines readHeader found to be fields, which
// textproto.ReadHeader cannot refuse.
func readFields(b []byte) header {
	h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(b)))
	return header{Header: h}
}

// isField is what textproto.ReadHeader takes for a field: a name of
// printable ASCII, then a colon.
func isField(line []byte) bool {
	name, _, ok := bytes.Cut(line, []byte(":"))
	name = bytes.TrimRight(name, " \t")
	return ok && len(name) > 0 && !bytes.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r > '~' })
}

// cutLine returns the first line of b, with its line ending, and the rest.
func cutLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i+1], b[i+1:]
	}
	return b, nil
}

// mediaType parses a Content-Type or Content-Disposition value: the
// lower-case type and its parameters, with RFC 2231 continuations and
// charsets and (against the rules, yet common) RFC 2047 words decoded.
// go-message's ContentType and ContentDisposition use mime.ParseMediaType,
// which returns no parameters at all for a value with a repeated or bare
// parameter or an unclosed quote (a lost boundary loses the whole mail),
// and drops or garbles RFC 2231 names in charsets other than UTF-8.
func mediaType(v string) (string, map[string]string) {
	items := splitParams(v) // never empty
	typ := strings.ToLower(strings.TrimSpace(items[0]))
	params := map[string]string{}
	type piece struct {
		value   string
		encoded bool
	}
	cont := map[string]map[int]piece{} // RFC 2231 name*0, name*1*
	for _, it := range items[min(1, len(items)):] {
		k, val, ok := strings.Cut(it, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = unquote(strings.TrimSpace(val))
		name, idx, hasIdx := strings.Cut(k, "*")
		if !hasIdx {
			if _, dup := params[k]; !dup {
				params[k] = val
			}
			continue
		}
		encoded := strings.HasSuffix(idx, "*") || idx == ""
		idx = strings.TrimSuffix(idx, "*")
		n := 0
		for _, c := range idx {
			if c < '0' || c > '9' {
				n = -1
				break
			}
			n = n*10 + int(c-'0')
		}
		if n < 0 || n > 100 {
			continue
		}
		if cont[name] == nil {
			cont[name] = map[int]piece{}
		}
		cont[name][n] = piece{val, encoded}
	}
	for name, pieces := range cont {
		var raw []byte
		cs := ""
		for i := 0; ; i++ {
			p, ok := pieces[i]
			if !ok {
				break
			}
			val := p.value
			if p.encoded {
				if i == 0 {
					// charset'language'value
					if parts := strings.SplitN(val, "'", 3); len(parts) == 3 {
						cs, val = parts[0], parts[2]
					}
				}
				if dec, err := url.PathUnescape(val); err == nil {
					val = dec
				}
			}
			raw = append(raw, val...)
		}
		if raw != nil {
			params[name], _ = toUTF8(cs, raw) // an extended value wins over a plain one
		}
	}
	for k, val := range params {
		if strings.Contains(val, "=?") {
			params[k] = decodeWords(val)
		}
	}
	return typ, params
}

// splitParams splits at semicolons outside quotes.
func splitParams(v string) []string {
	var out []string
	var cur strings.Builder
	quoted, escaped := false, false
	for _, c := range v {
		switch {
		case escaped:
			escaped = false
		case c == '\\' && quoted:
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ';' && !quoted:
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteRune(c)
	}
	return append(out, cur.String())
}

func unquote(s string) string {
	s, quoted := strings.CutPrefix(s, `"`)
	if !quoted {
		return strings.Trim(s, `"`)
	}
	s = strings.TrimSuffix(s, `"`)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

var wordDecoder = mime.WordDecoder{CharsetReader: charset.Reader}

// decodeWords decodes RFC 2047 encoded words; raw 8-bit text is taken as
// UTF-8, or Windows-1252 when it is not valid UTF-8 (see toUTF8).
func decodeWords(s string) string {
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		s = d
	}
	t, _ := toUTF8("", []byte(s))
	return t
}

// toUTF8 converts text in charset cs to UTF-8 with go-message's charset
// package. ok is false when the charset is unknown: the bytes are then
// kept as they are (invalid UTF-8 replaced, as the database stores only
// valid text). go-message passes text under no label, or a UTF-8 or ASCII
// one, through as it is; 8-bit text there that is not UTF-8 is nearly
// always Windows-1252, and is read so here.
func toUTF8(cs string, b []byte) (s string, ok bool) {
	cs = strings.ToLower(strings.Trim(strings.TrimSpace(cs), `"`))
	switch cs {
	case "", "us-ascii", "ascii", "utf-8", "utf8":
		if utf8.Valid(b) {
			return string(b), true
		}
		if cs == "" || strings.Contains(cs, "ascii") {
			d, _ := charmap.Windows1252.NewDecoder().Bytes(b)
			return string(d), true
		}
		return strings.ToValidUTF8(string(b), "\uFFFD"), true
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD"), false
	}
	d, err := io.ReadAll(r)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD"), false
	}
	return strings.ToValidUTF8(string(d), "\uFFFD"), true
}

// decodeTransfer undoes a Content-Transfer-Encoding with go-message; an
// unknown encoding leaves the bytes as they are. clean is false when
// something had to be skipped.
func decodeTransfer(enc string, b []byte) (out []byte, clean bool) {
	out, err := decode(enc, b)
	if err != nil && strings.EqualFold(strings.TrimSpace(enc), "base64") {
		// go-message's decoder stops for good at a byte outside the
		// alphabet, losing the rest of the part, and at a last group
		// without its padding. A line mangled on the way, junk after the
		// padding or a cut should not cost the rest of a photo.
		b, clean = cleanBase64(b)
		out, _ = decode(enc, b)
		return out, clean
	}
	return out, err == nil
}

// decode has go-message undo a transfer encoding. It is told only the
// encoding: it would take a charset from its own strict reading of
// Content-Type, and toUTF8 applies the one mediaType read.
func decode(enc string, b []byte) ([]byte, error) {
	var h message.Header
	h.Set("Content-Transfer-Encoding", enc)
	e, _ := message.New(h, bytes.NewReader(b)) // its only error: an unknown encoding
	var buf bytes.Buffer
	buf.Grow(len(b) + bytes.MinRead) // decoding never makes more; ReadFrom wants MinRead spare
	_, err := buf.ReadFrom(e.Body)
	return buf.Bytes(), err
}

// cleanBase64 drops the bytes outside the alphabet, ends the data at the
// padding, and pads it again.
func cleanBase64(b []byte) ([]byte, bool) {
	out := make([]byte, 0, len(b)+3) // a capacity: its mutants change no result
	clean := true
	for i, c := range b {
		if c == '=' {
			clean = clean && len(bytes.Trim(b[i:], "= \t\r\n")) == 0
			break
		}
		if base64Alphabet[c] {
			out = append(out, c)
		} else if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			clean = false
		}
	}
	if len(out)%4 == 1 { // a lone last character holds no whole byte
		out, clean = out[:len(out)-1], false
	}
	for len(out)%4 != 0 {
		out = append(out, '=')
	}
	return out, clean
}

var base64Alphabet = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = true
	}
	return t
}()
