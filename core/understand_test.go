package core

import (
	"slices"
	"testing"
)

func oroville(t *testing.T) *City {
	t.Helper()
	c, err := ReadCity("")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClassify(t *testing.T) {
	c := oroville(t)
	cases := map[string]string{
		"big pothole at montgomery and 5th":                     "pothole",
		"There's a POT HOLE on oro dam":                         "pothole",
		"hay un bache enorme en la calle Myers":                 "pothole",
		"a dead dog on Oro Dam Boulevard near Feather River":    "animal-dead",
		"Perro muerto en la calle":                              "animal-dead",
		"streetlight out on Bird St":                            "streetlight",
		"someone dumped a couch and mattress behind the school": "illegal-dumping",
		"otro bache en la calle Myers":                          "pothole", // "other" only when nothing else matches
		"loud noise every night":                                "other",
		"tengo una pregunta":                                    "other",
		"hello":                                                 "",
		"1735 Montgomery Street":                                "",
	}
	for text, want := range cases {
		if got := c.Classify(text); got != want {
			t.Errorf("Classify(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestFindPlace(t *testing.T) {
	c := oroville(t)
	cases := []struct {
		text, want string
		clear      bool
	}{
		{"big pothole at montgomery and 5th", "Montgomery Street & 5th Avenue", true},
		{"dead dog on Oro Dam Boulevard near Feather River Boulevard", "Oro Dam Boulevard & Feather River Boulevard", true},
		{"Montgomery Street and Fifth Avenue", "Montgomery Street & 5th Avenue", true},
		{"graffiti at 1735 Montgomery St.", "1735 Montgomery Street", true},
		{"pothole in front of 2100 Fake Rd", "2100 Fake Rd", true},
		{"bache en la esquina de Myers y quinta", "Myers Street & 5th Avenue", true},
		{"pothole on Myers", "Myers Street", false},
		{"pothole near 1735 montgomery", "1735 Montgomery Street", true},
		{"pothole near 2090 montgomery", "2090 Montgomery Street", true},
		{"Myers St by 1735 Montgomery St", "1735 Montgomery Street", true},
		{"pothole at montgomery myers", "Montgomery Street & Myers Street", true},
		// The longest street name wins where names overlap.
		{"pothole on oro dam boulevard east by 5th", "Oro Dam Boulevard East & 5th Avenue", true},
		{"pothole on Oro Dam Blvd West", "Oro Dam Boulevard West", false},
		{"pothole on oro dam", "Oro Dam Boulevard", false},
		{"pothole on lincoln", "Lincoln Street", false}, // the first listed of two
		{"pothole on lincoln blvd", "Lincoln Boulevard", false},
		{"crack on the montgomery street bridge", "Montgomery Street Bridge", false},
		{"pothole 40th montgomery", "Montgomery Street", false}, // an ordinal is no house number
		// A landmark says more than the street it is on, less than an address.
		{"theres a huge pothole on montgomery by the post office", "Post Office, 1650 Montgomery Street", true},
		{"grafiti en la pared de la Biblioteca", "Library, 1820 Mitchell Avenue", true},
		{"streetlight out at 1735 Montgomery by city hall", "1735 Montgomery Street", true},
		{"the grass is high and the oak is dying", "", false},
		{"pothole", "", false},
	}
	for _, tc := range cases {
		p := c.FindPlace(tc.text)
		if p.Address != tc.want || p.Clear != tc.clear {
			t.Errorf("FindPlace(%q) = %q clear=%v, want %q clear=%v", tc.text, p.Address, p.Clear, tc.want, tc.clear)
		}
	}
	// Shared coordinates count from pole to pole and round the world.
	for _, tc := range []struct {
		text  string
		clear bool
	}{
		{"-90.000,-180.000", true}, {"90.000,180.000", true}, {"-90.001,0.000", false}, {"90.001,0.000", false},
		{"0.000,-180.001", false}, {"0.000,180.001", false},
	} {
		if p := c.FindPlace(tc.text); (p.Lat != nil) != tc.clear || p.Clear != tc.clear {
			t.Errorf("FindPlace(%q) = %+v, want coordinates %v", tc.text, p, tc.clear)
		}
	}
	// Map links and geo: URIs as phones share them.
	for _, shared := range []string{
		"here: https://maps.google.com/?q=39.51380,-121.55640",
		"https://www.google.com/maps/place/39.51380,-121.55640",
		"https://www.google.com/maps/search/?api=1&query=39.51380,-121.55640",
		"https://www.google.com/maps/@39.5138,-121.5564,17z",
		"https://maps.apple.com/?ll=39.51380,-121.55640&q=Dropped%20Pin",
		"my location geo:39.5138,-121.5564",
	} {
		p := c.FindPlace(shared)
		if p.Lat == nil || *p.Lat != 39.5138 || *p.Lng != -121.5564 || !p.Clear {
			t.Errorf("FindPlace(%q) = %+v, want 39.5138, -121.5564", shared, p)
		}
	}
	if p := c.FindPlace("the post office"); p.Lat == nil || *p.Lat != 39.5139 || *p.Lng != -121.55915 {
		t.Errorf("a landmark's position = %+v, want the city file's", p)
	}
}

// fold makes what residents type comparable with the city's words: lower
// case, without accents, punctuation as single spaces.
func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Pot-hole!!  on  MYERS":  "pot hole on myers",
		"Ñandú en la Avenida":    "nandu en la avenida",
		"ÁÉÍ":                    "aei", // accents go even from a word of nothing else
		"request #1234, please.": "request #1234 please",
	} {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// A street is known by its full name, its abbreviated suffix and its bare
// name, unless the bare name is an everyday word.
func TestStreetForms(t *testing.T) {
	for name, want := range map[string][]string{
		"Montgomery Street":  {"montgomery street", "montgomery st", "montgomery"},
		"Oak Street":         {"oak street", "oak st"},
		"Feather River Blvd": {"feather river blvd"},
		"Broadway":           {"broadway"},
		"Court":              {"court"}, // a one-word name that is a suffix word
	} {
		if got := streetForms(name); !slices.Equal(got, want) {
			t.Errorf("streetForms(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestDetectLanguage(t *testing.T) {
	cases := map[string]string{
		"hay un bache en la calle":          "es",
		"big pothole at montgomery and 5th": "en",
		"perro muerto":                      "es",
		"1234":                              "",
		"¿Qué pasó con mi reporte?":         "es",
	}
	for text, want := range cases {
		if got := DetectLanguage(text); got != want {
			t.Errorf("DetectLanguage(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestPublicText(t *testing.T) {
	cases := map[string]string{
		"call me at (530) 555-0123 or 530.555.0199": "call me at [phone removed] or [phone removed]",
		"mail zelda.q@example.net for photos":       "mail [email removed] for photos",
		"pothole at 1520 Myers Street, 3 feet wide": "pothole at 1520 Myers Street, 3 feet wide",
		"see request #12345 from 2026-11-25":        "see request #12345 from 2026-11-25",
		"my cell +1 530 555 0123":                   "my cell [phone removed]",
	}
	for in, want := range cases {
		if got := PublicText(in); got != want {
			t.Errorf("PublicText(%q) = %q, want %q", in, got, want)
		}
	}
}
