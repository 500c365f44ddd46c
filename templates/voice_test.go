package templates

import (
	"strings"
	"testing"
)

// promptSample holds every field the voice prompts read.
var promptSample = map[string]any{
	"City": "Oroville", "ID": int64(1203), "Address": "Montgomery Street & 5th Avenue", "Service": "Pothole",
	"Status": "closed", "Reason": "resolved", "Note": "Patched.", "Other": true, "Open": false,
	"Choices": []map[string]string{{"Key": "1", "Label": "Pothole"}},
	"Hours": map[string]any{"Known": true, "Days": []int{1, 3}, "Range": false, "First": 1, "Last": 3,
		"Open": map[string]int{"Hour": 8, "Hour12": 8, "Minute": 0}, "Close": map[string]int{"Hour": 17, "Hour12": 5, "Minute": 30}},
	"Contact": "(530) 538-2401", "Notices": []string{"The cooling center is open."},
	"Agency": "Caltrans District 3", "AgencyContact": "call 530-741-4233", "Meters": 120,
}

// Every prompt exists and renders in every language, as one line.
func TestEveryPromptRendersInEveryLanguage(t *testing.T) {
	for _, lang := range Languages {
		for _, tmpl := range prompts[lang].Templates() {
			name := tmpl.Name()
			if strings.HasSuffix(name, ".tmpl") || name == lang {
				continue
			}
			for _, other := range Languages {
				if prompts[other].Lookup(name) == nil {
					t.Errorf("prompt %s is missing in %s", name, other)
				}
			}
			got, err := Prompt(lang, name, promptSample)
			if err != nil && name != "weekday" && name != "weekdays" && name != "clock" && name != "days" &&
				name != "status" && name != "reason" {
				t.Errorf("%s %s: %v", lang, name, err)
			}
			if strings.ContainsAny(got, "\n\t") || strings.Contains(got, "  ") {
				t.Errorf("%s %s is not one line: %q", lang, name, got)
			}
		}
	}
}

func TestPromptWords(t *testing.T) {
	for _, c := range []struct{ lang, name, want string }{
		{"en", "filed", "Your request number is 1, 2, 0, 3. Again, your request number is 1, 2, 0, 3."},
		{"es", "filed", "Su número de reporte es 1, 2, 0, 3."},
		{"en", "lookup.found", "Request number 1, 2, 0, 3, Pothole, at Montgomery Street & 5th Avenue, is closed: it was taken care of. The latest note says: Patched."},
		{"es", "lookup.found", "está cerrado: ya se atendió. La última nota dice: Patched."},
		{"en", "info", "The cooling center is open. Our offices are open Mondays and Wednesdays, from 8 AM to 5:30 PM. We are closed now."},
		{"es", "info", "Nuestras oficinas abren los lunes y miércoles, de 8 de la mañana a 5:30 de la tarde. Ahora estamos cerrados."},
		{"en", "switch", "For English, press 9."},
		{"es", "switch", "Para español, oprima 9."},
		{"fr", "switch", "For English, press 9."}, // unknown languages fall back to English
	} {
		got, err := Prompt(c.lang, c.name, promptSample)
		if err != nil || !strings.Contains(got, c.want) {
			t.Errorf("%s %s = %q, %v; want %q in it", c.lang, c.name, got, err, c.want)
		}
	}
	if _, err := Prompt("en", "no such prompt", nil); err == nil {
		t.Error("an unknown prompt rendered")
	}
}
