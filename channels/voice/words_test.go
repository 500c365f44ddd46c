package voice

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"townline/core"
	"townline/templates"
)

// officeHours are hours from seconds since midnight, up to 24:00.
func officeHours(open, close int64, days uint8) core.OfficeHours {
	h := core.OfficeHours{Open: time.Duration(open%86401) * time.Second, Close: time.Duration(close%86401) * time.Second}
	for d := range 7 {
		if days&(1<<d) != 0 {
			h.Days = append(h.Days, time.Weekday(d))
		}
	}
	return h
}

func TestSpokenHours(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		open, close int64
		days        uint8
		en, es      string
	}{
		{8 * 3600, 17 * 3600, 0b0111110, "Monday to Friday, from 8 AM to 5 PM", "de lunes a viernes, de 8 de la mañana a 5 de la tarde"},
		{7*3600 + 30*60, 12 * 3600, 0b0101010, "Mondays, Wednesdays and Fridays, from 7:30 AM to 12 PM", "los lunes, miércoles y viernes, de 7:30 de la mañana a 12 de la tarde"},
		{9 * 3600, 21 * 3600, 0b1000001, "Sundays and Saturdays, from 9 AM to 9 PM", "los domingos y sábados, de 9 de la mañana a 9 de la noche"},
		// Two days in a row are two days, not a range.
		{9 * 3600, 17 * 3600, 0b0000110, "Mondays and Tuesdays, from 9 AM to 5 PM", "los lunes y martes, de 9 de la mañana a 5 de la tarde"},
		{9 * 3600, 17 * 3600, 0b0001110, "Monday to Wednesday, from 9 AM to 5 PM", "de lunes a miércoles, de 9 de la mañana a 5 de la tarde"},
		// Open from midnight, open until midnight (the city file's "24:00").
		{0, 6 * 3600, 0b0111110, "Monday to Friday, from 12 AM to 6 AM", "de lunes a viernes, de 12 de la noche a 6 de la mañana"},
		{8 * 3600, 24 * 3600, 0b0111110, "Monday to Friday, from 8 AM to 12 AM", "de lunes a viernes, de 8 de la mañana a 12 de la noche"},
		{12*3600 + 15*60, 23*3600 + 59*60, 0b0111110, "from 12:15 PM to 11:59 PM", "de 12:15 de la tarde a 11:59 de la noche"},
	} {
		w := words{Hours: spokenHours(officeHours(c.open, c.close, c.days)), Open: true}
		for lang, want := range map[string]string{"en": c.en, "es": c.es} {
			got, err := templates.Prompt(lang, "info", w)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got, want) {
				t.Errorf("%s: %q lacks %q", lang, got, want)
			}
		}
	}
	if w := spokenHours(core.OfficeHours{}); w.Known {
		t.Errorf("no hours spoken as %+v", w)
	}
	// Hours no city file gives are not spoken: a close past midnight.
	weekdays := []time.Weekday{time.Monday, time.Tuesday}
	if w := spokenHours(core.OfficeHours{Days: weekdays, Open: 8 * time.Hour, Close: 24*time.Hour + time.Minute}); w.Known {
		t.Errorf("a close after midnight spoken as %+v", w)
	}
}

// The menu names each service in the caller's language, as the city
// file names it.
func TestMenuChoices(t *testing.T) {
	t.Parallel()
	city, err := core.ReadCity("")
	if err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[string][]string{
		"en": {"Pothole", "Streetlight", "Graffiti on public property"},
		"es": {"Bache", "Luz de la calle", "Grafiti en propiedad pública"},
	} {
		got := menuChoices(city, lang)
		for i, w := range want {
			if got[i].Key != strconv.Itoa(i+1) || got[i].Label != w {
				t.Errorf("%s choice %d = %+v, want %q", lang, i+1, got[i], w)
			}
		}
	}
}

// The speech hints for describing a problem are the chosen service's own
// words; for "anything else", chosen or not yet known, every service's
// on the menu.
func TestKeywords(t *testing.T) {
	t.Parallel()
	city, err := core.ReadCity("")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		service, lang string
		has, hasNot   []string
	}{
		{"animal-dead", "en", []string{"dead dog"}, []string{"pothole", "other"}},
		{"animal-dead", "es", []string{"perro muerto"}, []string{"bache", "dead dog"}},
		{"", "en", []string{"dead dog", "pothole", "graffiti"}, []string{"bache"}},
		{"other", "en", []string{"dead dog", "pothole", "graffiti"}, nil},
	} {
		got := keywords(city, tc.service, tc.lang)
		for _, w := range tc.has {
			if !slices.Contains(got, w) {
				t.Errorf("%q in %s: hints %q lack %q", tc.service, tc.lang, got, w)
			}
		}
		for _, w := range tc.hasNot {
			if slices.Contains(got, w) {
				t.Errorf("%q in %s: hints %q have %q", tc.service, tc.lang, got, w)
			}
		}
	}
}
