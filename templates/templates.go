// Package templates holds every word a resident or staff member reads:
// per-channel message templates and the HTML pages, in English and Spanish.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"slices"
	"strings"
	"text/template"
)

//go:embed messages/*.tmpl
var messageFS embed.FS

//go:embed html/*.html html/staff/*.html
var htmlFS embed.FS

// Static holds the files the staff pages load (a stylesheet): no inline
// style or script, so the pages can run under a strict Content-Security-Policy.
//
//go:embed static
var Static embed.FS

// Languages are the languages every message exists in; the first is the default.
var Languages = []string{"en", "es"}

var messages = map[string]*template.Template{}

func init() {
	for _, lang := range Languages {
		messages[lang] = template.Must(template.New(lang).Option("missingkey=error").
			ParseFS(messageFS, "messages/"+lang+".tmpl"))
	}
}

// Message renders one message: name is "KIND.CHANNEL" such as "ack.sms" or
// "status.email". Email messages also have a subject ("ack.email.subject").
// An unknown language falls back to English.
func Message(lang, name string, data any) (subject, body string, err error) {
	t, ok := messages[lang]
	if !ok {
		t = messages[Languages[0]]
	}
	if st := t.Lookup(name + ".subject"); st != nil {
		var b bytes.Buffer
		if err := st.Execute(&b, data); err != nil {
			return "", "", fmt.Errorf("template %s.subject: %w", name, err)
		}
		subject = strings.TrimSpace(b.String())
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		return "", "", fmt.Errorf("template %s: %w", name, err)
	}
	return subject, strings.TrimSpace(b.String()), nil
}

// formFuncs are the helpers of html/form.html, which every page may use.
var formFuncs = htmltemplate.FuncMap{
	// chose says whether a form's field holds a value (a list's choice).
	"chose": func(form url.Values, name, v string) bool { return slices.Contains(form[name], v) },
	// t is a page's word in its language (words.go).
	"t": Word,
}

// Page parses one HTML page (html/NAME.html) on the common base layout.
// funcs supplies the helpers pages call, such as statusWords.
func Page(name string, funcs htmltemplate.FuncMap) *htmltemplate.Template {
	return htmltemplate.Must(htmltemplate.New(name).Funcs(formFuncs).Funcs(funcs).
		ParseFS(htmlFS, "html/base.html", "html/form.html", "html/"+name+".html"))
}

// StaffPage parses one page of the staff workspace (html/staff/NAME.html)
// on the staff layout.
func StaffPage(name string, funcs htmltemplate.FuncMap) *htmltemplate.Template {
	return htmltemplate.Must(htmltemplate.New(name).Funcs(formFuncs).Funcs(funcs).
		ParseFS(htmlFS, "html/staff/base.html", "html/form.html", "html/staff/"+name+".html"))
}

var emailPage = htmltemplate.Must(htmltemplate.New("email").ParseFS(htmlFS, "html/email.html"))

// piece is a run of text, a link when URL is set.
type piece struct{ Text, URL string }

// EmailHTML renders a plain-text message as the HTML half of a
// multipart/alternative email: its paragraphs, lines and links, escaped.
func EmailHTML(lang, city, subject, text string) (string, error) {
	var paras [][][]piece
	for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		var lines [][]piece
		for _, line := range strings.Split(strings.TrimSpace(para), "\n") {
			lines = append(lines, linkify(line))
		}
		if len(lines) > 0 && !(len(lines) == 1 && len(lines[0]) == 0) {
			paras = append(paras, lines)
		}
	}
	var b bytes.Buffer
	err := emailPage.ExecuteTemplate(&b, "email", map[string]any{
		"Lang": lang, "City": city, "Subject": subject, "Paragraphs": paras,
	})
	return b.String(), err
}

// linkify splits a line into text and http(s) links.
func linkify(line string) []piece {
	var out []piece
	for line != "" {
		i := strings.Index(line, "http://")
		if j := strings.Index(line, "https://"); j >= 0 && (i < 0 || j < i) {
			i = j
		}
		if i < 0 {
			out = append(out, piece{Text: line})
			break
		}
		if i > 0 {
			out = append(out, piece{Text: line[:i]})
		}
		end := strings.IndexAny(line[i:], " \t<>\"")
		if end < 0 {
			end = len(line) - i
		}
		url := strings.TrimRight(line[i:i+end], ".,;:!?)")
		out = append(out, piece{Text: url, URL: url})
		line = line[i+len(url):]
	}
	return out
}
