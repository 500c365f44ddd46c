package sms

import (
	"strings"
	"testing"

	"townline/templates"
)

// Routine texts fit one GSM-7 segment in both languages, with a long
// address and a five-digit request number; the service menu and the
// flood notice may take more.
func TestRoutineTextsFitOneSegment(t *testing.T) {
	data := map[string]any{
		"ID": int64(12345), "Service": "Pothole", "Address": "Montgomery Street & 5th Avenue",
		"Status": "in_progress", "Note": "", "URL": "https://311.cityoforoville.org/requests/12345",
		"Expected": "Dec 12", "City": "Oroville", "Parent": int64(12001), "Choices": nil, "ReopenDays": 0,
	}
	routine := []string{"ack", "status", "added", "ask.place", "ask.new", "status.none", "lang", "duplicate", "help", "status.reply"}
	for _, lang := range templates.Languages {
		for _, kind := range routine {
			_, body, err := templates.Message(lang, kind+".sms", data)
			if err != nil {
				t.Fatalf("%s %s: %v", lang, kind, err)
			}
			n, enc := Segments(ToGSM(body))
			if n != 1 || enc != "GSM-7" {
				t.Errorf("%s %s: %d %s segments (%d chars): %q", lang, kind, n, enc, len([]rune(body)), body)
			}
		}
		// The closing text, with how to reopen it.
		closed := map[string]any{}
		for k, v := range data {
			closed[k] = v
		}
		closed["Status"], closed["ReopenDays"] = "closed", 14
		_, body, err := templates.Message(lang, "status.sms", closed)
		if n, enc := Segments(ToGSM(body)); err != nil || n != 1 || enc != "GSM-7" || !strings.Contains(body, "14") {
			t.Errorf("%s closing: %d %s segments: %q %v", lang, n, enc, body, err)
		}
	}
}

func TestToGSM(t *testing.T) {
	in := "¿Dónde está? Número “uno” – sí…"
	out := ToGSM(in)
	if n, enc := Segments(out); enc != "GSM-7" || n != 1 {
		t.Errorf("ToGSM(%q) = %q: %d %s", in, out, n, enc)
	}
	if out != "¿Donde esta? Numero \"uno\" - si..." {
		t.Errorf("ToGSM = %q", out)
	}
}
