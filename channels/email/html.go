package email

import (
	"html"
	"strings"
)

// htmlToText turns a mail's HTML into plain text for staff: paragraphs and
// line breaks kept, lists as "- ", quoted mail (blockquote) as "> " lines,
// links with their address, scripts, styles and comments dropped. It never
// fails: mail HTML is often broken, and a tag that never closes just ends
// at the end of the input.
func htmlToText(s string) string {
	w := &textWriter{}
	skip := "" // the element whose content is dropped (script, style, ...)
	var href []string
	// len(s) >= 0 would do as well: the break below ends an empty rest.
	for len(s) > 0 {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			lt = len(s)
		}
		if skip == "" {
			w.text(html.UnescapeString(s[:lt]))
		}
		s = s[lt:]
		if s == "" {
			break
		}
		if strings.HasPrefix(s, "<!--") {
			end := strings.Index(s, "-->")
			if end < 0 { // never 0: s begins with "<!--"
				break
			}
			s = s[end+3:]
			continue
		}
		end := tagEnd(s)
		tag := s[1:end]
		s = s[min(end+1, len(s)):]
		name, closing := tagName(tag)
		if skip != "" {
			if closing && name == skip {
				skip = ""
			}
			continue
		}
		switch name {
		case "script", "style", "head", "title", "xml":
			if !closing && !strings.HasSuffix(tag, "/") {
				skip = name
			}
		case "br":
			w.breaks = min(w.breaks+1, 2) // two in a row make a blank line
			w.space = false
		case "p", "div", "table", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "hr", "pre", "center", "section", "article", "header", "footer", "dl", "dt", "dd":
			w.newline(1)
			if name == "p" || name == "table" || strings.HasPrefix(name, "h") && len(name) == 2 {
				w.newline(2)
			}
			if name == "pre" {
				w.pre = !closing
			}
		case "li":
			w.newline(1)
			if !closing {
				w.text("- ")
			}
		case "td", "th":
			if !closing {
				w.text(" ")
			}
		case "blockquote":
			w.newline(1)
			if closing {
				w.quote = max(w.quote-1, 0)
			} else {
				w.quote++
			}
		case "a":
			if !closing {
				href = append(href, attr(tag, "href"))
			} else if len(href) > 0 {
				h := href[len(href)-1]
				href = href[:len(href)-1]
				if (strings.HasPrefix(h, "http://") || strings.HasPrefix(h, "https://")) && !strings.Contains(w.lastLine(), h) {
					w.text(" <" + h + ">")
				}
			}
		}
	}
	return w.String()
}

// tagEnd finds the '>' that closes the tag at s[0], outside quotes.
func tagEnd(s string) int {
	var quote byte
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i
		}
	}
	return len(s)
}

func tagName(tag string) (name string, closing bool) {
	tag = strings.TrimSpace(tag)
	if strings.HasPrefix(tag, "/") {
		closing, tag = true, tag[1:]
	}
	end := strings.IndexAny(tag, " \t\r\n/>")
	if end < 0 { // <= 0 would do as well: a name that begins so is no tag we know
		end = len(tag)
	}
	return strings.ToLower(tag[:end]), closing
}

// attr reads one attribute of a tag, unescaped.
func attr(tag, name string) string {
	lower := strings.ToLower(tag)
	for from := 0; ; {
		i := strings.Index(lower[from:], name)
		if i < 0 { // <= 0 would do as well: a name at from is glued to the last one, or is the tag's own
			return ""
		}
		i += from
		from = i + len(name)
		// i is never 0 (the tag begins with its own name): >= 0 would do as well.
		if i > 0 && !strings.ContainsRune(" \t\r\n", rune(lower[i-1])) {
			continue
		}
		rest := strings.TrimLeft(tag[from:], " \t\r\n")
		if !strings.HasPrefix(rest, "=") {
			continue
		}
		rest = strings.TrimLeft(rest[1:], " \t\r\n")
		if rest != "" && (rest[0] == '"' || rest[0] == '\'') {
			// > 0 would do as well: an empty value is "" either way.
			if end := strings.IndexByte(rest[1:], rest[0]); end >= 0 {
				return html.UnescapeString(rest[1 : end+1])
			}
			return ""
		}
		// Never 0, rest begins with no blank: > 0 would do as well.
		if end := strings.IndexAny(rest, " \t\r\n"); end >= 0 {
			rest = rest[:end]
		}
		return html.UnescapeString(rest)
	}
}

// textWriter collects text, collapsing white space as a browser does and
// prefixing quoted lines.
type textWriter struct {
	b      strings.Builder
	line   strings.Builder // the current line
	quote  int
	pre    bool
	breaks int // newlines owed before the next text
	space  bool
}

func (w *textWriter) text(s string) {
	for _, r := range s {
		if !w.pre && (r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0') {
			// >= 0 would do as well: a space owed at the start of a line
			// is dropped by flush, or at the start of the text by String.
			w.space = w.line.Len() > 0
			continue
		}
		if w.pre && r == '\n' {
			w.newline(1)
			continue
		}
		if w.breaks > 0 {
			w.flush()
		}
		if w.line.Len() == 0 && w.quote > 0 { // >= 0 would do as well: no quote repeats to ""
			w.line.WriteString(strings.Repeat("> ", w.quote))
			w.space = false
		}
		if w.space {
			w.line.WriteByte(' ')
			w.space = false
		}
		w.line.WriteRune(r)
	}
}

// newline asks for n line breaks before the next text (n=2: a blank line).
func (w *textWriter) newline(n int) {
	w.breaks = max(w.breaks, n)
	w.space = false
}

func (w *textWriter) flush() {
	if w.b.Len() > 0 || w.line.Len() > 0 { // >= 0 would do as well: String trims what leads
		w.b.WriteString(strings.TrimRight(w.line.String(), " "))
		w.b.WriteString(strings.Repeat("\n", w.breaks))
	}
	w.line.Reset()
	w.breaks = 0
	w.space = false
}

func (w *textWriter) lastLine() string { return w.line.String() }

func (w *textWriter) String() string {
	w.breaks = 0
	w.flush()
	return strings.TrimSpace(w.b.String())
}
