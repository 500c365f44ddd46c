package templates

import (
	"io/fs"
	"regexp"
	"testing"
	"time"
)

// Every word a public page or the report form writes through t has its
// Spanish.
func TestEveryWordHasItsSpanish(t *testing.T) {
	used := regexp.MustCompile(`\{\{t \$?\.Lang "((?:[^"\\]|\\.)*)"\}\}`)
	n := 0
	err := fs.WalkDir(htmlFS, "html", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(htmlFS, path)
		if err != nil {
			return err
		}
		for _, m := range used.FindAllStringSubmatch(string(data), -1) {
			n++
			if _, ok := spanish[m[1]]; !ok {
				t.Errorf("%s: %q has no Spanish", path, m[1])
			}
		}
		return nil
	})
	if err != nil || n < 40 {
		t.Fatalf("found %d words in the pages (%v): the pattern no longer reads them", n, err)
	}
	for _, en := range []string{"Received", "Acknowledged", "In progress", "Closed", "resolved",
		"same issue as another report", "referred to another agency", "no action needed", "Unclassified",
		"Pick the kind of problem.", "Not found", "There is no such page or request."} {
		if Word("es", en) == en {
			t.Errorf("%q has no Spanish", en)
		}
	}
	if Word("en", "Received") != "Received" || Word("es", "a word nobody wrote") != "a word nobody wrote" {
		t.Error("English, and a word without Spanish, are not left as they are")
	}
}

func TestWhen(t *testing.T) {
	at := time.Date(2026, time.July, 4, 16, 30, 0, 0, time.UTC)
	for _, c := range []struct{ lang, form, want string }{
		{"en", "day", "Saturday, July 4"},
		{"en", "full", "Saturday, July 4, 2026 4:30 PM"},
		{"en", "short", "Jul 4, 4:30 PM"},
		{"es", "day", "sábado 4 de julio"},
		{"es", "full", "sábado 4 de julio de 2026, 16:30"},
		{"es", "short", "4 jul, 16:30"},
	} {
		if got := When(c.lang, at, c.form); got != c.want {
			t.Errorf("When(%s, %s) = %q, want %q", c.lang, c.form, got, c.want)
		}
	}
}
