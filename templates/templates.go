// Package templates holds every word a resident or staff member reads:
// per-channel message templates and the HTML pages, in English and Spanish.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"text/template"
)

//go:embed messages/*.tmpl
var messageFS embed.FS

//go:embed html/*.html
var htmlFS embed.FS

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

// Page parses one HTML page (html/NAME.html) on the common base layout.
// funcs supplies the helpers pages call, such as statusWords.
func Page(name string, funcs htmltemplate.FuncMap) *htmltemplate.Template {
	return htmltemplate.Must(htmltemplate.New(name).Funcs(funcs).
		ParseFS(htmlFS, "html/base.html", "html/"+name+".html"))
}
