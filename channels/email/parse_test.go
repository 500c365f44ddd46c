package email

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"townline/core"
)

var testLimits = Limits{Part: 10 << 20, Message: 25 << 20, Files: 20}

// corpusFile is what each message under testdata/ must read as.
type corpusFile struct {
	from       string
	subject    string
	messageID  string
	refs       []string
	recipients []string // some of the recipients
	has        []string // in the text
	hasNot     []string // not in the text (markup, the other alternative)
	reply      string   // TrimReply of the text, when it matters
	files      []string // names, in order
	sniffed    []string // the blob store's content types, in order
	gps        bool     // the first JPEG carries a GPS position
	refused    int
	automatic  bool
	bounced    []string
	problems   []string // substrings of the problems reported
}

var corpus = map[string]corpusFile{
	"iphone-jpeg.eml": {
		from: "maria.lopez@icloud.com", subject: "Pothole on Myers St",
		messageID: "8C3E1F2A-5B6D-4E7F-9A0B-1C2D3E4F5A6B@icloud.com",
		has:       []string{"big pothole in front of 1520 Myers St", "Sent from my iPhone"},
		reply:     "There's a big pothole in front of 1520 Myers St, right at the crosswalk. Almost blew my tire this morning.",
		files:     []string{"IMG_2041.jpeg"}, sniffed: []string{"image/jpeg"}, gps: true,
	},
	"iphone-heic.eml": {
		from: "maria.lopez@icloud.com", subject: "Streetlight out",
		has:   []string{"corner of Bird and Myers has been out for a week. It’s really dark"},
		reply: "The streetlight on the corner of Bird and Myers has been out for a week. It’s really dark there at night.",
		files: []string{"IMG_2042.HEIC"}, sniffed: []string{"image/heic"},
	},
	"gmail-web.eml": {
		from: "jcarter1984@gmail.com", subject: "Graffiti on the restroom at Bedrock Park",
		messageID: "CAF=k9xYz8Lp3Qw2_Fm+8nTz4Hq1VbR7oJ5uE3dG0aXcW6sKt9A@mail.gmail.com",
		has:       []string{"Someone sprayed graffiti all over the restroom wall at Bedrock Park last\nnight.", "Thanks,\nJames"},
		hasNot:    []string{"<div", "dir="},
		files:     []string{"PXL_20261124_165803123.jpg"}, sniffed: []string{"image/jpeg"},
	},
	"gmail-android-reply.eml": {
		from: "jcarter1984@gmail.com", subject: "Re: We received your report: Graffiti on public property [#1042]",
		refs:       []string{"sr-1042.m-5001.q3vzk7w2m4x8p1ta@oroville.example"},
		recipients: []string{"311+sr1042-0123456789ab@oroville.example"},
		has:        []string{"It's still there this morning", "> Request number: #1042"},
		hasNot:     []string{"gmail_quote"},
		reply:      "It's still there this morning, and they added more on the back side too.",
	},
	"outlook-html.eml": {
		from: "Thanh.Nguyen@contoso-realty.com", subject: "Abandoned vehicle - Oro Dam Blvd",
		has: []string{
			"Hello,",
			"A white Honda Civic with no plates has been parked in front of 2150 Oro Dam Blvd for three weeks. It hasn’t moved and the tires are flat.",
			"The café owner", "Property Manager | Contoso Realty",
		},
		hasNot: []string{"<", "MsoNormal", "font-family", "shapedefaults", "&nbsp;"},
	},
	"apple-mail-inline.eml": {
		from: "dana.whitfield@me.com", subject: "Shopping carts in the creek",
		has:    []string{"Two shopping carts were dumped in the creek behind the Safeway on Oro Dam Blvd."},
		hasNot: []string{"cid:", "<img"},
		files:  []string{"IMG_0311.jpeg", "photo-2.jpg"}, sniffed: []string{"image/jpeg", "image/jpeg"},
	},
	"iso-8859-1.eml": {
		from: "jose.munoz@example.es", subject: "Perro muerto en la calle Montgomery",
		// format=flowed: the soft break after "Está" is joined.
		has:   []string{"cerca del número 1200. Está ahí desde ayer por la mañana.", "José"},
		reply: "Hola,\n\nHay un perro muerto en la calle Montgomery, cerca del número 1200. Está ahí desde ayer por la mañana.\n\nGracias,\nJosé",
	},
	"windows-1252.eml": {
		from: "bob.omalley@example.net", subject: "Illegal dumping – Lincoln Blvd",
		has: []string{"“free” signs", "Mitchell Ave – it’s blocking the ramp", "broken € 5 sign"},
	},
	"base64-text.eml": {
		from: "lucia.ramirez@example.com", subject: "Re: Hemos recibido su reporte [#1043]",
		refs: []string{"sr-1043.m-5010.h2k8w4p6r1z3x9c7@oroville.example", "sr-1043.m-5009.a1b2c3d4e5f6g7h8@oroville.example"},
		has:  []string{"El bache sigue ahí y ahora está más grande. ¿Cuándo lo van a arreglar?"},
		// The attribution is wrapped over two lines, as Gmail does.
		reply: "El bache sigue ahí y ahora está más grande. ¿Cuándo lo van a arreglar?",
	},
	"rfc2231-filenames.eml": {
		from: "ana.reyes@example.org", subject: "Señal dañada en Huntoon",
		has:     []string{"La señal de alto en Huntoon y Bridge está doblada. Adjunto fotos y el formulario."},
		files:   []string{"señal de alto.jpg", "formulario de reparación de señales de tráfico.pdf", "calle_huntoon_2.jpg"},
		sniffed: []string{"image/jpeg", "application/pdf", "image/jpeg"},
	},
	"no-message-id.eml": {
		from: "tenant@example.com", subject: "trash", messageID: "",
		has: []string{"overflowing trash can at the bus stop on high street"},
	},
	"winmail.eml": {
		from: "RPatel@butte-example.org", subject: "Fallen tree branch - Table Mountain Blvd",
		has:   []string{"A large branch fell across the bike lane on Table Mountain Blvd near the canal."},
		files: []string{"winmail.dat"}, sniffed: []string{"application/octet-stream"},
	},
	"out-of-office.eml": {
		from: "Thanh.Nguyen@contoso-realty.com", subject: "Automatic reply: We received your report: Abandoned vehicle [#1044]",
		refs: []string{"sr-1044.m-5020.t7y2u8i3o4p5a6s1@oroville.example"},
		has:  []string{"I am out of the office until Monday"}, automatic: true,
	},
	"out-of-office-es.eml": {
		from: "lucia.ramirez@example.com", subject: "Fuera de la oficina: Hemos recibido su reporte",
		has: []string{"Estoy de vacaciones"}, automatic: true,
	},
	"bounce.eml": {
		from: "MAILER-DAEMON@mx1.oroville.example", subject: "Undelivered Mail Returned to Sender",
		recipients: []string{"311+bounces@oroville.example"},
		refs:       []string{"sr-1041.m-5000.k4j5h6g7f8d9s0a1@oroville.example"},
		has:        []string{"could not\nbe delivered"}, automatic: true,
		bounced: []string{"maria.lopez@example.net"},
	},
	"missing-boundary.eml": {
		from: "kbrooks@example.com", subject: "Dead raccoon on Spencer Ave",
		has: []string{"There is a dead raccoon in the gutter at 400 Spencer Ave."},
		// The photo is cut short, but its EXIF block came first.
		files: []string{"raccoon.jpg"}, sniffed: []string{"image/jpeg"}, gps: true,
		problems: []string{"final boundary is missing"},
	},
	"bad-base64.eml": {
		from: "kbrooks@example.com", subject: "Broken sidewalk",
		has:   []string{"The sidewalk is broken in front of 88 Oak Street.", "The root is lifting it."},
		files: []string{"sidewalk.jpg"}, sniffed: []string{"image/jpeg"},
		problems: []string{"bad base64 in a image/jpeg part", "bad base64 in a text/plain part"},
	},
	"unknown-charset.eml": {
		from: "oldclient@example.org", subject: "Noise complaint",
		has:      []string{"Loud generator running all night", "Café next door"},
		problems: []string{`unknown charset "x-mac-klingon"`},
	},
}

// TestCorpus reads every message under testdata/ and checks what it says.
func TestCorpus(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.eml")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, path := range paths {
		name := filepath.Base(path)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			want, ok := corpus[name]
			if !ok {
				t.Fatalf("%s has no expectations in the corpus table", name)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m := Parse(raw, testLimits)
			checkMessage(t, m, want)
		})
	}
	for name := range corpus {
		if !seen[name] {
			t.Errorf("expectations for %s, which is not in testdata/", name)
		}
	}
}

func checkMessage(t *testing.T, m *Message, want corpusFile) {
	t.Helper()
	if m.From != want.from {
		t.Errorf("From = %q, want %q", m.From, want.from)
	}
	if m.Subject != want.subject {
		t.Errorf("Subject = %q, want %q", m.Subject, want.subject)
	}
	if want.messageID != "" && m.MessageID != want.messageID {
		t.Errorf("MessageID = %q, want %q", m.MessageID, want.messageID)
	}
	for _, r := range want.refs {
		if !slices.Contains(m.References, r) {
			t.Errorf("References %q lack %q", m.References, r)
		}
	}
	for _, r := range want.recipients {
		if !slices.Contains(m.Recipients, r) {
			t.Errorf("Recipients %q lack %q", m.Recipients, r)
		}
	}
	for _, s := range want.has {
		if !strings.Contains(m.Text, s) {
			t.Errorf("text lacks %q; it is:\n%s", s, m.Text)
		}
	}
	for _, s := range want.hasNot {
		if strings.Contains(m.Text, s) {
			t.Errorf("text has %q; it is:\n%s", s, m.Text)
		}
	}
	if want.reply != "" {
		if got := TrimReply(m.Text); got != want.reply {
			t.Errorf("TrimReply = %q, want %q", got, want.reply)
		}
	}
	var names, sniffed []string
	for _, f := range m.Files {
		names = append(names, f.Name)
		sniffed = append(sniffed, sniff(f.Data))
	}
	if !slices.Equal(names, want.files) {
		t.Errorf("files %q, want %q", names, want.files)
	}
	if !slices.Equal(sniffed, want.sniffed) {
		t.Errorf("files sniffed as %q, want %q", sniffed, want.sniffed)
	}
	gps := false
	for _, f := range m.Files {
		if _, _, ok := core.PhotoGPS(f.Data); ok {
			gps = true
		}
	}
	if gps != want.gps {
		t.Errorf("GPS found = %v, want %v", gps, want.gps)
	}
	if len(m.Refused) != want.refused {
		t.Errorf("refused %q, want %d", m.Refused, want.refused)
	}
	if (m.Automatic != "") != want.automatic {
		t.Errorf("Automatic = %q, want automatic %v", m.Automatic, want.automatic)
	}
	var bounced []string
	for _, b := range m.Bounced {
		bounced = append(bounced, b.Address)
	}
	if !slices.Equal(bounced, want.bounced) {
		t.Errorf("bounced %q, want %q", bounced, want.bounced)
	}
	for _, p := range want.problems {
		if !slices.ContainsFunc(m.Problems, func(s string) bool { return strings.Contains(s, p) }) {
			t.Errorf("problems %q lack %q", m.Problems, p)
		}
	}
	if len(want.problems) == 0 && len(m.Problems) > 0 {
		t.Errorf("unexpected problems %q", m.Problems)
	}
}

// sniff is the blob store's view of a file's type.
func sniff(b []byte) string {
	if len(b) >= 12 && string(b[4:8]) == "ftyp" {
		return "image/heic"
	}
	ct, _, _ := strings.Cut(http.DetectContentType(b), ";")
	return ct
}

func readTestdata(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) }

// utf8Clean is what core's checkText asks of text: valid UTF-8, no NUL.
func utf8Clean(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
