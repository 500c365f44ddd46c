package email

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding/charmap"
)

// The readers here are written for mail as it arrives, not as RFC 5322
// and 2045 describe it: a header line that is not a field is skipped, a
// bad base64 character is dropped, an unknown charset leaves the bytes as
// they are. Each repair is reported, never fatal.

// header is a message or part header: fields in order, values unfolded
// and not yet decoded.
type header []field

type field struct{ name, value string }

// get returns the first value of a field (names compare case-insensitively).
func (h header) get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

func (h header) has(name string) bool {
	for _, f := range h {
		if strings.EqualFold(f.name, name) {
			return true
		}
	}
	return false
}

func (h header) all(name string) []string {
	var vs []string
	for _, f := range h {
		if strings.EqualFold(f.name, name) {
			vs = append(vs, f.value)
		}
	}
	return vs
}

// readHeader splits an entity into its header and body. The header ends at
// the first empty line, or at the first line that is neither a field nor
// a continuation (a message that forgot the empty line, or has no header).
func readHeader(b []byte) (header, []byte) {
	var h header
	rest := b
	first := true
	for len(rest) > 0 { // >= 0 would do as well: an empty rest ends the header either way
		line, next := cutLine(rest)
		text := strings.TrimRight(string(line), "\r\n")
		switch {
		case text == "":
			return h, next
		case text[0] == ' ' || text[0] == '\t':
			if len(h) > 0 {
				h[len(h)-1].value += " " + strings.TrimSpace(text)
			}
		case first && strings.HasPrefix(text, "From "):
			// An mbox separator line.
		default:
			name, value, ok := strings.Cut(text, ":")
			if !ok || name == "" || strings.ContainsAny(name, " \t") {
				return h, rest // no header, or one without its empty line
			}
			h = append(h, field{name: name, value: strings.TrimSpace(value)})
		}
		first = false
		rest = next
	}
	return h, nil
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
func mediaType(v string) (string, map[string]string) {
	items := splitParams(v)
	typ := ""
	if len(items) > 0 { // always: splitParams returns at least one item, so >= 0 would do as well
		typ = strings.ToLower(strings.TrimSpace(items[0]))
	}
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
	if len(s) < 2 || s[0] != '"' { // <= 2 would do as well: two characters trim alike either way
		return strings.Trim(s, `"`)
	}
	s = strings.TrimSuffix(s[1:], `"`)
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
// UTF-8, or Windows-1252 when it is not valid UTF-8.
func decodeWords(s string) string {
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		s = d
	}
	t, _ := toUTF8("", []byte(s))
	return t
}

// toUTF8 converts text in charset cs to UTF-8. ok is false when the
// charset is unknown: the bytes are then kept as they are (invalid UTF-8
// replaced, as the database stores only valid text).
func toUTF8(cs string, b []byte) (s string, ok bool) {
	cs = strings.ToLower(strings.Trim(strings.TrimSpace(cs), `"`))
	switch cs {
	case "", "us-ascii", "ascii", "utf-8", "utf8":
		if utf8.Valid(b) {
			return string(b), true
		}
		if cs == "" || strings.Contains(cs, "ascii") {
			// 8-bit text under no or a 7-bit label is nearly always Windows-1252.
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

// decodeTransfer undoes a Content-Transfer-Encoding. clean is false when
// something had to be skipped.
func decodeTransfer(enc string, b []byte) (out []byte, clean bool) {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "base64":
		return decodeBase64(b)
	case "quoted-printable":
		return decodeQP(b), true
	}
	return b, true
}

// decodeBase64 decodes base64, dropping characters outside the alphabet
// (a mangled line) and stopping at a stray padding.
func decodeBase64(b []byte) ([]byte, bool) {
	// The common case, line-wrapped and clean, at the speed of the library.
	buf := make([]byte, 0, len(b))
	for rest := b; len(rest) > 0; { // >= 0 would do as well: an empty rest appends nothing
		i := bytes.IndexAny(rest, "\r\n")
		if i < 0 { // <= 0 would do as well: the decoder skips line breaks itself
			buf = append(buf, rest...)
			break
		}
		buf = append(buf, rest[:i]...)
		rest = rest[i+1:]
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(buf)))
	if n, err := base64.StdEncoding.Decode(out, buf); err == nil {
		return out[:n], true
	}
	return decodeBase64Slowly(b)
}

func decodeBase64Slowly(b []byte) ([]byte, bool) {
	clean := true
	buf := make([]byte, 0, len(b))
	padded := false
	for _, c := range b {
		switch {
		case base64Alphabet[c]:
			if padded {
				// Data after the padding: a second encoding glued on, or junk.
				clean = false
				continue
			}
			buf = append(buf, c)
		case c == '=':
			padded = true
		case c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			clean = false
		}
	}
	if len(buf)%4 == 1 { // without this, the decoder stops at the same byte and says so
		buf, clean = buf[:len(buf)-1], false
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(buf)))
	n, err := base64.RawStdEncoding.Decode(out, buf)
	if err != nil {
		clean = false
	}
	return out[:n], clean
}

var base64Alphabet = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = true
	}
	return t
}()

// decodeQP decodes quoted-printable; a malformed escape stays as it is.
func decodeQP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		rest := b[i+1:]
		// A soft line break, perhaps with trailing blanks.
		j := 0
		for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t') {
			j++
		}
		switch {
		case j < len(rest) && rest[j] == '\n':
			i += j + 1
		case j+1 < len(rest) && rest[j] == '\r' && rest[j+1] == '\n':
			i += j + 2
		case j == len(rest):
			i += j
		case len(rest) >= 2 && isHex(rest[0]) && isHex(rest[1]):
			out = append(out, unhex(rest[0])<<4|unhex(rest[1]))
			i += 2
		default:
			out = append(out, '=')
		}
	}
	return out
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// splitMultipart cuts a multipart body into its parts. closed is false
// when the final boundary never came: the last part then runs to the end.
func splitMultipart(body []byte, boundary string) (parts [][]byte, closed bool) {
	delim := []byte("--" + boundary)
	start := -1 // where the current part's content begins
	for pos := 0; pos < len(body); {
		line, _ := cutLine(body[pos:])
		next := pos + len(line)
		if bytes.HasPrefix(line, delim) {
			tail := bytes.TrimRight(line[len(delim):], " \t\r\n")
			isClose := bytes.Equal(tail, []byte("--"))
			if isClose || len(tail) == 0 {
				if start >= 0 { // > 0 would do as well: start is -1 or past a delimiter line
					parts = append(parts, trimEOL(body[start:pos]))
				}
				if isClose {
					return parts, true
				}
				start = next
			}
		}
		pos = next
	}
	if start >= 0 { // > 0 would do as well, as above
		parts = append(parts, body[start:])
	}
	return parts, false
}

// trimEOL removes the line ending that belongs to the delimiter after a part.
func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}
