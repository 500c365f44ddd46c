package templates

import (
	"strings"
	"testing"
)

// sample holds every field the message templates read.
var sample = map[string]any{
	"ID": int64(1234), "Service": "Pothole", "Address": "Montgomery Street & 5th Avenue",
	"Status": "in_progress", "Note": "Crew scheduled.", "URL": "https://311.cityoforoville.org/requests/1234",
	"Expected": "Dec 1", "City": "Oroville", "Parent": int64(1200),
	"Choices": []map[string]string{{"Key": "1", "Label": "Pothole"}},
	"Agency":  "Caltrans District 3", "AgencyContact": "call 530-741-4233", "Reports": 3, "Meters": 120, "ParentService": "Pothole", "Department": "Public Works",
	"Title": "Boil water", "Area": "Thermalito", "Until": "Tuesday, December 1, 2026 5:00 PM", "Severity": "warning",
	"ReopenDays": 14,
	"Coming":     []map[string]string{{"Title": "City Council", "When": "Tuesday, December 1, 2026 6:00 PM", "Place": "Chambers", "URL": "https://311.example/announcements/1"}},
}

// Every kind renders in every language, for each channel it exists on.
func TestEveryMessageRendersInEveryLanguage(t *testing.T) {
	for _, lang := range Languages {
		for _, tmpl := range messages[lang].Templates() {
			name := tmpl.Name()
			if !strings.Contains(name, ".") || strings.HasSuffix(name, ".subject") || strings.HasSuffix(name, ".tmpl") {
				continue
			}
			if _, body, err := Message(lang, name, sample); err != nil || body == "" {
				t.Errorf("%s %s: %q, %v", lang, name, body, err)
			}
			if messages[Languages[0]].Lookup(name) == nil {
				t.Errorf("%s exists in %s but not in English", name, lang)
			}
			for _, other := range Languages {
				if messages[other].Lookup(name) == nil {
					t.Errorf("%s is missing in %s", name, other)
				}
			}
		}
	}
}

// An emergency notice says how grave, where, what and until when, in
// each language; the text says how to stop texts.
func TestAlertWords(t *testing.T) {
	for _, c := range []struct{ lang, name, want string }{
		{"en", "alert.sms", "Oroville: Emergency warning, Thermalito: Boil water. Crew scheduled. Until Tuesday, December 1, 2026 5:00 PM. https://311.cityoforoville.org/requests/1234 Reply STOP to end texts."},
		{"es", "alert.sms", "Oroville: Advertencia de emergencia, Thermalito: Boil water. Crew scheduled. Hasta el Tuesday"},
		{"en", "alert.email", "Emergency warning for Thermalito: Boil water\n\nCrew scheduled.\n\nIn force until Tuesday"},
		{"es", "alert.email", "Advertencia de emergencia para Thermalito: Boil water"},
	} {
		if _, body, err := Message(c.lang, c.name, sample); err != nil || !strings.Contains(body, c.want) {
			t.Errorf("%s %s = %q, %v; want %q in it", c.lang, c.name, body, err, c.want)
		}
	}
	for sev, want := range map[string]string{"advisory": "Emergency advisory", "watch": "Emergency watch", "warning": "Emergency warning"} {
		data := map[string]any{}
		for k, v := range sample {
			data[k] = v
		}
		data["Severity"] = sev
		if subject, _, err := Message("en", "alert.email", data); err != nil || subject != "Oroville: "+want+": Boil water" {
			t.Errorf("%s: subject %q, %v", sev, subject, err)
		}
	}
}

func TestEmailHTMLEscapesAndLinks(t *testing.T) {
	html, err := EmailHTML("en", "Oroville", "Subject", "Hello <b>there</b>\nline two\n\nTrack it at https://311.example.gov/requests/1234.")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"&lt;b&gt;there&lt;/b&gt;", "<br>line two", `<a href="https://311.example.gov/requests/1234">`, "</a>."} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q:\n%s", want, html)
		}
	}
}

// The kinds core can send on each channel all exist, with a subject for mail.
func TestEveryChannelHasItsKinds(t *testing.T) {
	kinds := map[string][]string{
		"sms":   {"ack", "referred", "joined", "status", "note", "duplicate", "reply", "flood", "added", "help", "lang", "status.reply", "status.none", "ask.service", "ask.place", "ask.which", "ask.new"},
		"email": {"ack", "referred", "joined", "status", "note", "duplicate", "reply", "flood"},
		"voice": {"status", "note", "duplicate", "reply"},
	}
	for _, lang := range Languages {
		for ch, list := range kinds {
			for _, k := range list {
				name := k + "." + ch
				if messages[lang].Lookup(name) == nil {
					t.Errorf("%s: %s is missing", lang, name)
				}
				if ch == "email" && messages[lang].Lookup(name+".subject") == nil {
					t.Errorf("%s: %s.subject is missing", lang, name)
				}
			}
		}
	}
}
