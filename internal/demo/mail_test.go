package demo

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"townline/internal/testenv"
)

// A resident mails the city from the demo's terminal, gets the
// acknowledgment with the request number in its subject, and answers it
// with a photo: the answer and the photo join the same request.
func TestDemoMail(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	script := "/mail Pothole on Myers\nbig pothole at 1520 Myers Street\n.\n/photo\n/reply it is getting bigger\n/quit\n"
	out, err := run(t, testenv.URL(pool), script)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	ack := regexp.MustCompile(`(?m)^city \(mail\)> Subject: .*\[#(\d+)\]$`)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^You mail the city at 311@oroville\.demo from resident@example\.com\.$`),
		regexp.MustCompile(`(?m)^you> /mail Pothole on Myers\n\(write your mail to 311@oroville\.demo.*\)\n` +
			`you \(mail\)> big pothole at 1520 Myers Street\nyou \(mail\)> \.\n` +
			`\(mail delivered to 311@oroville\.demo: Pothole on Myers\)\n` +
			`city \(mail\)> Subject: .*\[#\d+\]\n {13}\S`),
		regexp.MustCompile(`(?m)^you> /reply it is getting bigger\n\(mail with a photo delivered to 311\+sr\d+-[0-9a-f]+@oroville\.demo: Re: .*\[#\d+\]\)\n` +
			`\(townline added your mail to request #\d+: http://127\.0\.0\.1:\d+/requests/\d+\)$`),
		regexp.MustCompile(`(?m)^bye$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("screen lacks %s:\n%s", want, out)
		}
	}
	// Every request number the city mentions is the first one's.
	acks := ack.FindAllStringSubmatch(out, -1)
	if len(acks) == 0 {
		t.Fatalf("no acknowledgment:\n%s", out)
	}
	for _, a := range acks[1:] {
		if a[1] != acks[0][1] {
			t.Errorf("the city answered about #%s and #%s:\n%s", acks[0][1], a[1], out)
		}
	}

	ctx := context.Background()
	var requests, inbound, joined int
	var photos int
	err = pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM requests),
		(SELECT count(*) FROM messages WHERE direction = 'in' AND channel = 'email'),
		(SELECT count(*) FROM messages WHERE direction = 'in' AND channel = 'email' AND request_id::text = $1),
		(SELECT count(*) FROM attachments WHERE request_id::text = $1 AND content_type = 'image/jpeg')`,
		acks[0][1]).Scan(&requests, &inbound, &joined, &photos)
	if err != nil {
		t.Fatal(err)
	}
	if requests != 1 || inbound != 2 || joined != 2 || photos != 1 {
		t.Errorf("%d requests, %d mails in, %d of them with request #%s, %d photos with it; want 1, 2, 2, 1",
			requests, inbound, joined, acks[0][1], photos)
	}
}

// The mail the demo's terminal writes is one a mail client would send,
// and the city's mail reads back as a mail client shows it.
func TestDemoMailCompose(t *testing.T) {
	city := cityMail{
		From: `"Oroville 311" <311@oroville.demo>`, ReplyTo: "311+sr7-0123456789ab@oroville.demo",
		Subject: "Oroville 311: Pothole [#7]", MessageID: "sr-7.m-2.abc@oroville.demo",
		References: []string{"first@example.com"}, Text: "We got it.\nThank you.",
	}
	d := &mailDraft{to: city.ReplyTo, subject: "Re: " + city.Subject, body: []string{"it is getting bigger"}, photo: true, answers: &city}
	id, raw, err := d.compose(ResidentMail)
	if err != nil {
		t.Fatal(err)
	}
	got := readCityMail(raw)
	if got.Subject != "Re: Oroville 311: Pothole [#7]" || got.ReplyTo != ResidentMail ||
		got.MessageID != id || !strings.HasSuffix(id, "@example.com") || len(got.Files) != 1 {
		t.Errorf("read back %+v", got)
	}
	if !strings.HasPrefix(got.Text, "it is getting bigger\n\nOn ") || !strings.HasSuffix(got.Text, "wrote:\n> We got it.\n> Thank you.") {
		t.Errorf("text %q", got.Text)
	}
	for _, h := range []string{
		"In-Reply-To: <sr-7.m-2.abc@oroville.demo>\r\n",
		"References: <first@example.com> <sr-7.m-2.abc@oroville.demo>\r\n",
		"To: <311+sr7-0123456789ab@oroville.demo>\r\n",
		"Content-Type: multipart/mixed",
		"Content-Type: image/jpeg",
		"Date: ",
	} {
		if !strings.Contains(string(raw), h) {
			t.Errorf("the mail lacks %q:\n%.1500s", h, raw)
		}
	}
}
