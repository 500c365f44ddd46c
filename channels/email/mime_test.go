package email

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestMediaType(t *testing.T) {
	for _, tc := range []struct {
		in, typ, param, want string
	}{
		{`image/jpeg; name="IMG 1.jpg"`, "image/jpeg", "name", "IMG 1.jpg"},
		{`IMAGE/JPEG;NAME=a.jpg`, "image/jpeg", "name", "a.jpg"},
		{`attachment; filename="a \"quoted\" name.pdf"`, "attachment", "filename", `a "quoted" name.pdf`},
		{`attachment; filename*=UTF-8''se%C3%B1al.jpg`, "attachment", "filename", "señal.jpg"},
		{`attachment; filename*=utf-8'es'se%C3%B1al.jpg; filename="senal.jpg"`, "attachment", "filename", "señal.jpg"},
		{`attachment; filename*0*=ISO-8859-1''se%F1al; filename*1*=%20de%20tr%E1fico.pdf`, "attachment", "filename", "señal de tráfico.pdf"},
		{`attachment; filename*0="long "; filename*1="name.txt"`, "attachment", "filename", "long name.txt"},
		{`image/png; name="=?UTF-8?Q?fot=C3=B3.png?="`, "image/png", "name", "fotó.png"},
		{`multipart/mixed; boundary="a;b=c"`, "multipart/mixed", "boundary", "a;b=c"},
		{`multipart/mixed; boundary=simple; boundary=second`, "multipart/mixed", "boundary", "simple"},
		{`text/plain; charset`, "text/plain", "charset", ""},
		{`attachment; filename="C:\\"`, "attachment", "filename", `C:\`},  // a quoted backslash at the end
		{`attachment; filename="dir\"`, "attachment", "filename", `dir\`}, // a lone one: kept, not a crash
		{``, "", "x", ""},
	} {
		typ, params := mediaType(tc.in)
		if typ != tc.typ || params[tc.param] != tc.want {
			t.Errorf("mediaType(%q) = %q, %s=%q; want %q, %q", tc.in, typ, tc.param, params[tc.param], tc.typ, tc.want)
		}
	}
}

// A long name in RFC 2231 pieces is read whole, up to a hundred and one
// pieces, in the order of their numbers, not of their places.
func TestMediaTypeContinuations(t *testing.T) {
	var v strings.Builder
	var want strings.Builder
	v.WriteString("attachment")
	for i := 100; i >= 0; i-- {
		fmt.Fprintf(&v, "; filename*%d=p%d", i, i)
	}
	for i := 0; i <= 100; i++ {
		fmt.Fprintf(&want, "p%d", i)
	}
	if _, params := mediaType(v.String()); params["filename"] != want.String() {
		t.Errorf("filename %q\nwant %q", params["filename"], want.String())
	}
}

func TestReadHeader(t *testing.T) {
	raw := "From nobody Mon Jan  1 00:00:00 2026\r\n" +
		"Subject: one\r\n two\r\n" +
		"X-Empty:\r\n" +
		"to: a@example.org\r\n" +
		"\r\n" +
		"body\r\n"
	h, body := readHeader([]byte(raw))
	if got := h.Get("SUBJECT"); got != "one two" {
		t.Errorf("Subject = %q", got)
	}
	if !h.Has("x-empty") || h.Get("To") != "a@example.org" {
		t.Errorf("header = %+v", h)
	}
	if string(body) != "body\r\n" {
		t.Errorf("body = %q", body)
	}

	// A header that forgets its empty line ends at the first non-field.
	h, body = readHeader([]byte("Subject: x\nthis is the body\nmore\n"))
	if h.Get("Subject") != "x" || string(body) != "this is the body\nmore\n" {
		t.Errorf("header %+v, body %q", h, body)
	}
	// A continuation before any field has nothing to continue: skipped.
	h, body = readHeader([]byte(" folded\r\nSubject: x\r\n\r\nbody"))
	if h.Get("Subject") != "x" || h.Len() != 1 || string(body) != "body" {
		t.Errorf("header %+v, body %q", h, body)
	}
	// No body at all.
	if h, body := readHeader([]byte("Subject: only")); h.Get("Subject") != "only" || body != nil {
		t.Errorf("header %+v, body %q", h, body)
	}
}

func TestDecodeQP(t *testing.T) {
	for in, want := range map[string]string{
		"caf=C3=A9":          "café",
		"soft=\r\nbreak":     "softbreak",
		"soft= \t\r\nspaces": "softspaces",
		"soft=\nlf":          "softlf",
		"bad=ZZescape":       "bad=ZZescape",
		"trailing=":          "trailing",
		"lower=c3=a9":        "loweré",
		"smile=F0=9F=98=80":  "smile😀",
		"smile=f0=9f=98=80":  "smile😀",
	} {
		if got, _ := decodeTransfer("quoted-printable", []byte(in)); string(got) != want {
			t.Errorf("quoted-printable %q = %q, want %q", in, got, want)
		}
	}
}

func TestDecodeBase64(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  string
		clean bool
	}{
		{"aGVsbG8gd29ybGQ=", "hello world", true},
		{"aGVs\r\nbG8g\r\n d29y bGQ=", "hello world", true},
		{"aGVsbG8gd29ybGQ", "hello world", true}, // no padding
		{"aGVs*bG8gd29ybGQ=", "hello world", false},
		{"aGVsbG8=IGV4dHJh", "hello", false}, // junk after the padding
		{"aGVsbG8gd", "hello ", false},       // cut short
	} {
		got, clean := decodeTransfer("base64", []byte(tc.in))
		if string(got) != tc.want || clean != tc.clean {
			t.Errorf("base64 %q = %q, %v; want %q, %v", tc.in, got, clean, tc.want, tc.clean)
		}
	}
}

func TestToUTF8(t *testing.T) {
	for _, tc := range []struct {
		cs   string
		in   []byte
		want string
		ok   bool
	}{
		{"utf-8", []byte("café"), "café", true},
		{"ISO-8859-1", []byte("caf\xe9"), "café", true},
		{"windows-1252", []byte("\x93hi\x94"), "“hi”", true},
		{"us-ascii", []byte("caf\xe9"), "café", true}, // mislabelled 8-bit
		{"", []byte("caf\xe9"), "café", true},
		{"koi8-r", []byte("\xf0\xd2\xc9\xd7\xc5\xd4"), "Привет", true},
		{"x-unknown", []byte("plain café"), "plain café", false},
		{"x-unknown", []byte("bad \xff byte"), "bad \uFFFD byte", false},
		{"utf-8", []byte("bad \xff byte"), "bad \uFFFD byte", true},
	} {
		got, ok := toUTF8(tc.cs, tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("toUTF8(%q, %q) = %q, %v; want %q, %v", tc.cs, tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// Parts are split at whole boundary lines, padded or not; a part cut
// short by a missing final boundary is kept, and the repair says so.
func TestMultipart(t *testing.T) {
	head := "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	body := "preamble\r\n--b\r\n\r\nA\r\n--bb\r\nstill A\r\n--b  \r\n\r\nB\r\n\r\n--b--\r\nepilogue\r\n"
	if m := Parse([]byte(head+body), testLimits); m.Text != "A\n--bb\nstill A\n\nB" || len(m.Problems) != 0 {
		t.Errorf("text %q, problems %q", m.Text, m.Problems)
	}
	m := Parse([]byte(head+"--b\n\nA\n--b\n\nB cut"), testLimits)
	if m.Text != "A\n\nB cut" || len(m.Problems) != 1 || !strings.Contains(m.Problems[0], "final boundary is missing") {
		t.Errorf("text %q, problems %q", m.Text, m.Problems)
	}
}

func TestAddressesAndIDs(t *testing.T) {
	for in, want := range map[string]string{
		`"Smith, John" <John@Example.org>`:         "John@Example.org",
		`=?UTF-8?Q?Jos=C3=A9?= <jose@example.es>`:  "jose@example.es",
		`john@example.org (John)`:                  "john@example.org",
		`John Smith <john@example.org`:             "john@example.org", // broken: found anyway
		`undisclosed-recipients:;`:                 "",
		`"a" <a@example.org>, "b" <b@example.org>`: "a@example.org",
	} {
		got := ""
		if as := addresses(in); len(as) > 0 {
			got = as[0]
		}
		if got != want {
			t.Errorf("addresses(%q) = %q, want %q", in, got, want)
		}
	}
	// A broken list still gives every address in it: the city's reply
	// address may be any of them.
	if got := addresses(`Ana <ana@example.org>, 311+sr1042-0123456789ab@oroville.example <broken`); strings.Join(got, ",") !=
		"ana@example.org,311+sr1042-0123456789ab@oroville.example" {
		t.Errorf("addresses of a broken list = %q", got)
	}
	if got := msgIDs(" <A@B> (comment)\r\n <c@d>"); strings.Join(got, ",") != "A@B,c@d" {
		t.Errorf("msgIDs = %q", got)
	}
	if got := msgIDs("bare@id.example"); strings.Join(got, ",") != "bare@id.example" {
		t.Errorf("msgIDs = %q", got)
	}
}

func TestParseLimits(t *testing.T) {
	photo := bytes.Repeat([]byte{0xff, 0xd8, 0xff}, 400) // 1200 bytes
	var raw bytes.Buffer
	raw.WriteString("From: a@example.org\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n")
	for _, name := range []string{"big.jpg", "a.jpg", "b.jpg", "c.jpg", "d.jpg"} {
		data := photo
		if name == "big.jpg" {
			data = bytes.Repeat(photo, 2)
		}
		raw.WriteString("--x\r\nContent-Type: image/jpeg; name=" + name + "\r\n\r\n")
		raw.Write(data)
		raw.WriteString("\r\n")
	}
	raw.WriteString("--x--\r\n")
	m := Parse(raw.Bytes(), Limits{Part: 2000, Message: 3000, Files: 2})
	var names []string
	for _, f := range m.Files {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "a.jpg,b.jpg" {
		t.Errorf("kept %q", names)
	}
	want := []string{
		"big.jpg refused: over 1 KB",
		"c.jpg refused: the files of one message may weigh 2 KB in all",
		"d.jpg refused: the files of one message may weigh 2 KB in all",
	}
	if strings.Join(m.Refused, "|") != strings.Join(want, "|") {
		t.Errorf("refused %q, want %q", m.Refused, want)
	}
}

func TestParseBodyChoice(t *testing.T) {
	// An empty text/plain alternative gives way to the HTML one.
	raw := "From: a@example.org\r\nContent-Type: multipart/alternative; boundary=x\r\n\r\n" +
		"--x\r\nContent-Type: text/plain\r\n\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<p>From <b>HTML</b></p>\r\n--x--\r\n"
	if m := Parse([]byte(raw), testLimits); m.Text != "From HTML" {
		t.Errorf("text %q", m.Text)
	}
	// A text attachment with a name is a file, not body.
	raw = "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" +
		"--x\r\nContent-Type: text/plain\r\n\r\nBody\r\n--x\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=notes.txt\r\n\r\nNotes\r\n--x--\r\n"
	if m := Parse([]byte(raw), testLimits); m.Text != "Body" || len(m.Files) != 1 || m.Files[0].Name != "notes.txt" {
		t.Errorf("text %q, files %+v", m.Text, m.Files)
	}
	// Not MIME at all, not even a header.
	if m := Parse([]byte("just words"), testLimits); m.Text != "just words" || m.From != "" {
		t.Errorf("text %q from %q", m.Text, m.From)
	}
	// A multipart without its boundary is read as text rather than lost.
	m := Parse([]byte("Content-Type: multipart/mixed\r\n\r\nwords\r\n"), testLimits)
	if m.Text != "words" || len(m.Problems) != 1 {
		t.Errorf("text %q problems %q", m.Text, m.Problems)
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		`C:\Users\ana\Desktop\foto.jpg`:    "foto.jpg",
		"../../etc/passwd":                 "passwd",
		" spaced .jpg ":                    "spaced .jpg",
		"..":                               "",
		"a\x00b\x1f.png":                   "ab.png",
		strings.Repeat("x", 300) + ".jpeg": strings.Repeat("x", 145) + ".jpeg",
	} {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

// A mail nested twenty deep, or of five hundred parts, is read whole;
// past that the rest is skipped, and the repair says so.
func TestParseBounds(t *testing.T) {
	nested := func(levels int) []byte {
		var head, tail strings.Builder
		head.WriteString("From: a@example.org\r\n")
		for i := range levels {
			fmt.Fprintf(&head, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
			tail.WriteString(fmt.Sprintf("\r\n--b%d--\r\n", levels-1-i))
		}
		return []byte(head.String() + "Content-Type: text/plain\r\n\r\ndeep words" + tail.String())
	}
	if m := Parse(nested(20), testLimits); m.Text != "deep words" || len(m.Problems) != 0 {
		t.Errorf("20 deep: text %q, problems %q", m.Text, m.Problems)
	}
	if m := Parse(nested(21), testLimits); m.Text != "" || len(m.Problems) != 1 {
		t.Errorf("21 deep: text %q, problems %q", m.Text, m.Problems)
	}
	parts := func(n int) []byte {
		var b strings.Builder
		b.WriteString("From: a@example.org\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n")
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "--x\r\nContent-Type: text/plain\r\n\r\np%d\r\n", i)
		}
		b.WriteString("--x--\r\n")
		return []byte(b.String())
	}
	if m := Parse(parts(499), testLimits); !strings.HasSuffix(m.Text, "p498\n\np499") || len(m.Problems) != 0 {
		t.Errorf("499 parts: text ends %q, problems %q", m.Text[len(m.Text)-20:], m.Problems)
	}
	if m := Parse(parts(500), testLimits); !strings.HasSuffix(m.Text, "p498\n\np499") || len(m.Problems) != 1 {
		t.Errorf("500 parts: text ends %q, problems %q", m.Text[len(m.Text)-20:], m.Problems)
	}
}

// Within an alternative the plain text is the body, not both; parts side
// by side in a mixed mail are all kept.
func TestParseAlternatives(t *testing.T) {
	raw := "From: a@example.org\r\nContent-Type: multipart/alternative; boundary=x\r\n\r\n" +
		"--x\r\nContent-Type: text/plain\r\n\r\nPlain words\r\n--x\r\nContent-Type: text/html\r\n\r\n<p>HTML words</p>\r\n--x--\r\n"
	if m := Parse([]byte(raw), testLimits); m.Text != "Plain words" {
		t.Errorf("alternative: text %q", m.Text)
	}
	raw = strings.ReplaceAll(raw, "multipart/alternative", "multipart/mixed")
	if m := Parse([]byte(raw), testLimits); m.Text != "Plain words\n\nHTML words" {
		t.Errorf("mixed: text %q", m.Text)
	}
}

// Unnamed files are numbered in the order they came, kept or refused, so
// that no two share a name.
func TestInventedNames(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@example.org\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n")
	for range 3 {
		b.WriteString("--x\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xe0 photo\r\n")
	}
	b.WriteString("--x--\r\n")
	m := Parse([]byte(b.String()), Limits{Part: 1 << 20, Message: 1 << 20, Files: 1})
	if len(m.Files) != 1 || m.Files[0].Name != "photo-1.jpg" || len(m.Refused) != 2 ||
		!strings.HasPrefix(m.Refused[0], "photo-2.jpg refused") || !strings.HasPrefix(m.Refused[1], "photo-3.jpg refused") {
		t.Errorf("files %+v, refused %q", m.Files, m.Refused)
	}
}

// The edges of what is kept of a sender's names and ids.
func TestNameAndIDEdges(t *testing.T) {
	if got := msgIDs("<> <real@id.example>"); strings.Join(got, ",") != "real@id.example" {
		t.Errorf("msgIDs after empty brackets = %q", got)
	}
	id := strings.Repeat("i", 240) + "@x.example" // 250 characters: kept
	if got := msgIDs("<" + id + ">"); len(got) != 1 || got[0] != id {
		t.Errorf("a Message-ID of 250 characters: %q", got)
	}
	if got := msgIDs("<" + id + "x>"); len(got) != 0 {
		t.Errorf("a Message-ID of 251 characters: %q", got)
	}
	long := strings.Repeat("y", 200)
	if got := cleanName(long + ".abcdefghi"); got != strings.Repeat("y", 140)+".abcdefghi" {
		t.Errorf("a long name keeps an extension of 10: %q", got)
	}
	if got := cleanName(long + ".abcdefghij"); got != strings.Repeat("y", 150) {
		t.Errorf("a long name drops an extension of 11: %q", got)
	}
	big := bytes.Repeat([]byte("x"), 1<<20+1)
	raw := "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: application/pdf; name=scan.pdf\r\n\r\n" +
		string(big) + "\r\n--x--\r\n"
	if m := Parse([]byte(raw), Limits{Part: 1 << 20, Message: 4 << 20, Files: 5}); strings.Join(m.Refused, "|") != "scan.pdf refused: over 1 MB" {
		t.Errorf("refused %q", m.Refused)
	}
}

// A delivery report names the address we sent to (Original-Recipient)
// over the one it was forwarded to, and says why, or at least its status.
func TestParseDSN(t *testing.T) {
	dsn := "Reporting-MTA: dns; mx.example\r\n\r\n" +
		"Original-Recipient: rfc822; ana@example.org\r\nFinal-Recipient: rfc822; ana.forwarded@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
		"Diagnostic-Code: smtp; 550 no such user\r\n\r\n" +
		"Final-Recipient: rfc822; <bob@example.org>\r\nAction: failed\r\nStatus: 5.2.2\r\n\r\n" +
		"Final-Recipient: rfc822; carl@example.org\r\nAction: delayed\r\nStatus: 4.4.1\r\n"
	got := parseDSN([]byte(dsn))
	want := []Bounce{{"ana@example.org", "smtp; 550 no such user"}, {"bob@example.org", "status 5.2.2"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("bounces %q, want %q", got, want)
	}
}

// What counts as a header field: a name of printable ASCII without
// spaces, then a colon.
func TestIsField(t *testing.T) {
	for line, want := range map[string]bool{"Subject: hi": true, "X-Spam~Level: 3": true, "Subject : hi": true,
		": no name": false, "Sub ject: hi": false, "Sub\tject: hi": false, "Subjéct: hi": false, "no colon": false, "": false} {
		if got := isField([]byte(line)); got != want {
			t.Errorf("isField(%q) = %v, want %v", line, got, want)
		}
	}
}

// Broken base64 is mended: bytes outside the alphabet dropped, a lone
// last character (half a byte) dropped, the padding put back; and said
// to be unclean.
func TestCleanBase64(t *testing.T) {
	for in, want := range map[string]struct {
		out   string
		clean bool
	}{
		"QUJD":       {"QUJD", true},
		"QUJDRA==":   {"QUJDRA==", true},
		"QUJDRA":     {"QUJDRA==", true},
		"QUJ\r\nDRA": {"QUJDRA==", true},
		"QUJDR":      {"QUJD", false},
		"QU*JD":      {"QUJD", false},
		"QUJD=x":     {"QUJD", false},
	} {
		out, clean := cleanBase64([]byte(in))
		if string(out) != want.out || clean != want.clean {
			t.Errorf("cleanBase64(%q) = %q, %v; want %q, %v", in, out, clean, want.out, want.clean)
		}
	}
}
