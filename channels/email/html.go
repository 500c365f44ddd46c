package email

import (
	"strings"

	"golang.org/x/net/html"
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
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken: // the end, or input the tokenizer gave up on
			return w.String()
		case html.TextToken:
			if skip == "" {
				w.text(string(z.Text()))
			}
			continue
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
		default: // comments, doctypes
			continue
		}
		b, _ := z.TagName()
		name, closing := string(b), tt == html.EndTagToken
		if skip != "" {
			if closing && name == skip {
				skip = ""
			}
			continue
		}
		switch name {
		case "script", "style", "head", "title", "xml":
			if tt == html.StartTagToken {
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
				href = append(href, hrefOf(z))
			} else if len(href) > 0 {
				h := href[len(href)-1]
				href = href[:len(href)-1]
				if (strings.HasPrefix(h, "http://") || strings.HasPrefix(h, "https://")) && !strings.Contains(w.lastLine(), h) {
					w.text(" <" + h + ">")
				}
			}
		}
	}
}

// hrefOf is the href of the tag z is at, unescaped.
func hrefOf(z *html.Tokenizer) string {
	for more := true; more; {
		var k, v []byte
		k, v, more = z.TagAttr()
		if string(k) == "href" {
			return string(v)
		}
	}
	return ""
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
			w.space = true // dropped at the start of a line, below
			continue
		}
		if w.pre && r == '\n' {
			w.newline(1)
			continue
		}
		if w.breaks > 0 {
			w.flush()
		}
		if w.line.Len() == 0 {
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
	// Breaks before any text are trimmed by String.
	w.b.WriteString(strings.TrimRight(w.line.String(), " "))
	w.b.WriteString(strings.Repeat("\n", w.breaks))
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
