package templates

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed voice/*.tmpl
var voiceFS embed.FS

var prompts = map[string]*template.Template{}

func init() {
	funcs := template.FuncMap{"digits": digits}
	for _, lang := range Languages {
		prompts[lang] = template.Must(template.New(lang).Option("missingkey=error").Funcs(funcs).
			ParseFS(voiceFS, "voice/"+lang+".tmpl"))
	}
}

// Prompt renders one thing the phone menu says, such as "menu" or
// "filed", as one line of speech: templates may wrap freely. An unknown
// language falls back to English.
func Prompt(lang, name string, data any) (string, error) {
	t, ok := prompts[lang]
	if !ok {
		t = prompts[Languages[0]]
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("voice prompt %s.%s: %w", lang, name, err)
	}
	return strings.Join(strings.Fields(b.String()), " "), nil
}

// digits spells a number out digit by digit, "1, 2, 3, 4", so that a
// voice reads a request number as a caller types it, not as "one
// thousand two hundred...".
func digits(n any) string {
	return strings.Join(strings.Split(fmt.Sprint(n), ""), ", ")
}
