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
	"Contact": "(530) 538-2401",
	"Emergencies": []map[string]any{{"Severity": "warning", "Title": "Heat warning", "Body": "The cooling center is open.",
		"Place": "", "Area": "Citywide", "Weekday": 2, "Month": 7, "Day": 14, "At": map[string]int{"Hour": 20, "Hour12": 8, "Minute": 0}}},
	"Coming": []map[string]any{{"Severity": "", "Title": "City Council", "Body": "", "Place": "Council Chambers", "Area": "",
		"Weekday": 3, "Month": 7, "Day": 15, "At": map[string]int{"Hour": 13, "Hour12": 1, "Minute": 30}}},
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
				name != "status" && name != "reason" && name != "moment" && name != "month" && name != "severity" {
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
		{"en", "info", "Emergency warning for Citywide: Heat warning. The cooling center is open. Until Tuesday, July 14, at 8 PM. Coming up: City Council, Wednesday, July 15, at 1:30 PM, at Council Chambers. Our offices are open Mondays and Wednesdays, from 8 AM to 5:30 PM. We are closed now."},
		{"es", "info", "Advertencia de emergencia para Citywide: Heat warning. The cooling center is open. Hasta el martes 14 de julio, a las 8 de la noche. Próximamente: City Council, el miércoles 15 de julio, a la 1:30 de la tarde, en Council Chambers. Nuestras oficinas abren los lunes y miércoles, de 8 de la mañana a 5:30 de la tarde. Ahora estamos cerrados."},
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
