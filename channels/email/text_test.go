package email

import (
	"strings"
	"testing"
)

func TestHTMLToText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"<p>One</p><p>Two</p>", "One\n\nTwo"},
		{"a<br>b<br><br>c", "a\nb\n\nc"},
		{"<div>a</div><div>b</div>", "a\nb"},
		{"<ul><li>one</li><li>two</li></ul>", "- one\n- two"},
		{"x &amp; y &lt;z&gt; &#8217; &nbsp;end", "x & y <z> ’ end"},
		{"<style>p{color:red}</style><script>alert(1)</script>shown", "shown"},
		{"<!-- hidden --><p>shown</p><!-- unclosed", "shown"},
		{"<head><title>T</title></head><body>b</body>", "b"},
		{"<p>see <a href=\"https://maps.example/x?a=1&amp;b=2\">the map</a></p>", "see the map <https://maps.example/x?a=1&b=2>"},
		{"<a href='https://x.example'>https://x.example</a>", "https://x.example"},
		{"<p>reply</p><blockquote><p>quoted</p><blockquote>deeper</blockquote></blockquote><p>after</p>", "reply\n\n> quoted\n\n> > deeper\n\nafter"},
		{"<pre>a  b\nc</pre>", "a  b\nc"},
		{"<img src=\"x.png\" alt=\"a > b\">text", "text"},
		{"<p>broken <b", "broken"},
		{"   spaced\n\n  out   words  ", "spaced out words"},
		{"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"},
		{`<script>document.write("</p>")</script>shown`, "shown"},
		{"<h1>Pothole</h1>on Myers<header>Top</header>Bottom", "Pothole\n\non Myers\nTop\nBottom"},
		{`<a href="https://a.example/">one</a> stray</a> <a href="https://b.example/">two <a href="https://c.example/">three</a></a>`,
			"one <https://a.example/> stray two three <https://c.example/> <https://b.example/>"},
		{`<a data-href="https://wrong.example/" href="https://right.example/">map</a>`, "map <https://right.example/>"},
		{`<a href='https://x.example/'>here</a>`, "here <https://x.example/>"},
	} {
		if got := htmlToText(tc.in); got != tc.want {
			t.Errorf("htmlToText(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestTrimReply(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "Pothole on Myers.", "Pothole on Myers."},
		{"gmail", "Still there.\n\nOn Tue, Nov 24, 2026 at 9:31 AM Oroville 311 <311@oroville.example> wrote:\n> Thank you", "Still there."},
		{"gmail wrapped", "Still there.\n\nOn Tue, Nov 24, 2026 at 9:31 AM Oroville 311 <\n311@oroville.example> wrote:\n\n> Thank you", "Still there."},
		{"spanish", "Sigue ahí.\n\nEl mar, 24 nov 2026 a las 9:31, Oroville 311 escribió:\n> Gracias", "Sigue ahí."},
		{"outlook", "It is still there.\n\nFrom: Oroville 311 <311@oroville.example>\nSent: Tuesday, November 24, 2026 9:31 AM\nTo: Thanh Nguyen\nSubject: We received your report", "It is still there."},
		{"outlook separator", "Bigger now.\n________________________________\nFrom: Oroville 311\nSent: Tuesday\n", "Bigger now."},
		{"outlook spanish", "Más grande.\n\nDe: Oroville 311\nEnviado: martes\nPara: Ana\nAsunto: Reporte", "Más grande."},
		{"original message", "See below\n-----Original Message-----\nFrom: x", "See below"},
		{"signature", "Trash everywhere.\n\n-- \nAna Reyes\n555-0100", "Trash everywhere."},
		{"iphone", "Dead deer on Olive Hwy.\n\nSent from my iPhone\n\n> On Nov 24 … wrote:", "Dead deer on Olive Hwy."},
		{"android spanish", "Perro suelto.\n\nEnviado desde mi Galaxy", "Perro suelto."},
		{"bottom quote", "Thanks!\n> earlier words\n> more", "Thanks!"},
		{"interleaved kept", "> Where is it?\nAt the corner.\n", "> Where is it?\nAt the corner."},
		{"from in text kept", "From: my kitchen window I can see it.\nIt is big.", "From: my kitchen window I can see it.\nIt is big."},
		{"only quote", "On Mon, Nov 23, 2026, Oroville 311 wrote:\n> hi", ""},
	} {
		if got := TrimReply(tc.in); got != tc.want {
			t.Errorf("%s: TrimReply = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestAutomatic(t *testing.T) {
	person := "From: ana@example.org\r\nSubject: Pothole\r\n"
	for _, tc := range []struct {
		header string
		auto   bool
	}{
		{person, false},
		{person + "Auto-Submitted: no\r\n", false},
		{person + "Auto-Submitted: auto-replied (vacation)\r\n", true},
		{person + "Auto-Submitted: auto-generated\r\n", true},
		{person + "Precedence: bulk\r\n", true},
		{person + "Precedence: junk\r\n", true},
		{person + "Precedence: list\r\n", true},
		{person + "Precedence: auto_reply\r\n", true},
		{person + "Precedence: first-class\r\n", false},
		{person + "X-Autoreply: yes\r\n", true},
		{person + "X-Auto-Response-Suppress: All\r\n", true},
		{person + "List-Id: <neighbors.oroville.example>\r\n", true},
		{person + "X-Townline-Loop: oroville.example\r\n", true},
		{person + "Return-Path: <>\r\n", true},
		{"From: MAILER-DAEMON@mx.example.org\r\nSubject: x\r\n", true},
		{"From: Mail Delivery Subsystem <postmaster@example.org>\r\nSubject: x\r\n", true},
		{"From: no-reply@example.org\r\nSubject: x\r\n", true},
		{"From: do_not_reply@example.org\r\nSubject: x\r\n", true},
		{"From: ana@example.org\r\nSubject: Out of Office: Re: Pothole\r\n", true},
		{"From: ana@example.org\r\nSubject: Automatic reply: Pothole\r\n", true},
		{"From: ana@example.org\r\nSubject: =?UTF-8?Q?Respuesta_autom=C3=A1tica:_Bache?=\r\n", true},
		{"From: ana@example.org\r\nSubject: Fuera de la oficina\r\n", true},
		{"From: ana@example.org\r\nSubject: Car parked outside the office\r\n", false},
		{"From: ana@example.org\r\nContent-Type: multipart/report; report-type=disposition-notification; boundary=x\r\n\r\n--x\r\nContent-Type: message/disposition-notification\r\n\r\nFinal-Recipient: rfc822; a@b\r\n--x--\r\n", true},
	} {
		m := Parse([]byte(tc.header+"\r\nbody\r\n"), testLimits)
		if (m.Automatic != "") != tc.auto {
			t.Errorf("%q: Automatic = %q, want %v", tc.header, m.Automatic, tc.auto)
		}
	}
}

func TestTokens(t *testing.T) {
	tk := newTokens([]byte("0123456789abcdef0123"))
	addr := tk.replyAddress("311@oroville.example", 1234)
	if !strings.HasPrefix(addr, "311+sr1234-") || !strings.HasSuffix(addr, "@oroville.example") || len(addr) != len("311+sr1234-@oroville.example")+tokenLen {
		t.Fatalf("reply address %q", addr)
	}
	for _, tc := range []struct {
		addr    string
		id      int64
		bounces bool
	}{
		{addr, 1234, false},
		{strings.ToUpper(addr), 1234, false},
		{strings.Replace(addr, "sr1234", "sr1235", 1), 0, false}, // another request, same MAC
		{addr[:len(addr)-len("@oroville.example")-1] + "0@oroville.example", 0, false},
		{strings.Replace(addr, "@oroville.example", "@elsewhere.example", 1), 0, false},
		{strings.Replace(addr, "311+", "312+", 1), 0, false},
		{"311+bounces@oroville.example", 0, true},
		{"311@oroville.example", 0, false},
		{"311+sr-1@oroville.example", 0, false},
	} {
		id, bounces := tk.tag("311@oroville.example", tc.addr)
		if id != tc.id || bounces != tc.bounces {
			t.Errorf("tag(%q) = %d, %v; want %d, %v", tc.addr, id, bounces, tc.id, tc.bounces)
		}
	}
	if other := newTokens([]byte("another secret, as long")); other.mac(1234) == tk.mac(1234) {
		t.Error("two secrets sign alike")
	}
}

func TestParseServer(t *testing.T) {
	for _, tc := range []struct {
		raw, kind                string
		insecure                 bool
		addr, user, pass, path   string
		implicit, plain, invalid bool
	}{
		{raw: "imaps://u%40city:p%2Fw@mail.example/INBOX", kind: "imap", addr: "mail.example:993", user: "u@city", pass: "p/w", path: "INBOX", implicit: true},
		{raw: "imap://u:p@mail.example/Shared/311", kind: "imap", addr: "mail.example:143", user: "u", pass: "p", path: "Shared/311"},
		{raw: "imap://u:p@127.0.0.1:1143/", kind: "imap", addr: "127.0.0.1:1143", user: "u", pass: "p", plain: true},
		{raw: "imap://u:p@mail.example:1143", kind: "imap", insecure: true, addr: "mail.example:1143", user: "u", pass: "p", plain: true},
		{raw: "smtp://relay.example", kind: "smtp", addr: "relay.example:587"},
		{raw: "smtps://u:p@relay.example", kind: "smtp", addr: "relay.example:465", user: "u", pass: "p", implicit: true},
		{raw: "smtp://localhost:25", kind: "smtp", addr: "localhost:25", plain: true},
		{raw: "http://mail.example", kind: "imap", invalid: true},
		{raw: "mail.example:993", kind: "imap", invalid: true},
	} {
		s, err := parseServer(tc.raw, tc.kind, tc.insecure)
		if tc.invalid {
			if err == nil {
				t.Errorf("parseServer(%q) accepted", tc.raw)
			}
			continue
		}
		if err != nil || s.addr != tc.addr || s.user != tc.user || s.pass != tc.pass || s.path != tc.path || s.implicit != tc.implicit || s.plain != tc.plain {
			t.Errorf("parseServer(%q) = %+v, %v", tc.raw, s, err)
		}
	}
}

// FuzzParse: any input gives a Message whose text core can store.
func FuzzParse(f *testing.F) {
	for name := range corpus {
		raw, err := readTestdata(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n--a--"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := Parse(raw, testLimits)
		for _, s := range append([]string{m.Text, m.Subject, TrimReply(m.Text)}, m.Refused...) {
			if !utf8Clean(s) {
				t.Fatalf("text core would refuse: %q", s)
			}
		}
		var total int64
		for _, f := range m.Files {
			total += int64(len(f.Data))
			if f.Name == "" || strings.ContainsAny(f.Name, "/\\\x00") {
				t.Fatalf("file name %q", f.Name)
			}
		}
		if total > testLimits.Message || len(m.Files) > testLimits.Files {
			t.Fatalf("%d files, %d bytes: over the limits", len(m.Files), total)
		}
		_ = htmlToText(string(raw))
	})
}

// The edges of what TrimReply takes for a quote or a signature.
func TestTrimReplyEdges(t *testing.T) {
	long := "On Tue, Nov 24, 2026 at 9:31 AM " + strings.Repeat("x", 200) // 232 characters
	sig := func(n int) string { return "Sent from my " + strings.Repeat("p", n-len("Sent from my ")) }
	for _, tc := range []struct{ name, in, want string }{
		{"on as the last line", "Fixed.\nOn Monday the light was out", "Fixed.\nOn Monday the light was out"},
		{"wrapped attribution of 299", "Fixed.\n" + long + "\n" + strings.Repeat("y", 60) + " wrote:\n> old", "Fixed."},
		{"wrapped attribution of 300", "Fixed.\n" + long + "\n" + strings.Repeat("y", 61) + " wrote:\n> old",
			"Fixed.\n" + long + "\n" + strings.Repeat("y", 61) + " wrote:"},
		{"two Outlook fields", "Fixed.\n\nFrom: Oroville 311\nDate: Tuesday\nTo: Ana\n\nold words", "Fixed."},
		{"Outlook fields five lines down", "Fixed.\n\nFrom: Oroville 311\n\n\n\nSent: Tuesday\nTo: Ana\nold words", "Fixed."},
		{"Outlook fields six lines down", "Fixed.\n\nFrom: my window\n\n\n\n\nSent: Tuesday\nTo: Ana",
			"Fixed.\n\nFrom: my window\n\n\n\n\nSent: Tuesday\nTo: Ana"},
		{"signature of 79", "Fixed.\n" + sig(79), "Fixed."},
		{"words of 80", "Fixed.\n" + sig(80), "Fixed.\n" + sig(80)},
	} {
		if got := TrimReply(tc.in); got != tc.want {
			t.Errorf("%s: TrimReply = %q, want %q", tc.name, got, tc.want)
		}
	}
}
