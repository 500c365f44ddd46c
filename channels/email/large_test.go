package email

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"townline/core"
	"townline/internal/testenv"
)

// largeMail is a mail of exactly size bytes: a small photo, then a large
// document that pads it out.
func largeMail(id string, size int) []byte {
	photo := make([]byte, 8<<10)
	copy(photo, "\xff\xd8\xff\xe0")
	copy(photo[16:], id)
	var b strings.Builder
	fmt.Fprintf(&b, "From: ana@example.org\r\nTo: %s\r\nSubject: Fallen tree\r\nMessage-ID: <%s@example.org>\r\n", cityAddr, id)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n")
	b.WriteString("A tree fell across Bird Street.\r\n--b\r\nContent-Type: image/jpeg; name=tree.jpg\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	b.WriteString(base64.StdEncoding.EncodeToString(photo))
	b.WriteString("\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=scan.txt\r\n\r\n")
	const end = "\r\n--b--\r\n"
	pad := size - b.Len() - len(end)
	line := strings.Repeat("x", 74) + "\r\n"
	b.WriteString(strings.Repeat(line, pad/len(line)))
	b.WriteString(strings.Repeat("x", pad%len(line)))
	b.WriteString(end)
	return []byte(b.String())
}

// A mail is read whole up to the files allowed plus base64's third and
// 2 MB for the text; a larger one is read only in part, and its files are
// refused rather than taken from a cut message. The raw mail is kept for
// staff up to the files allowed, a third and 1 MB; past that, its header.
func TestLargeMail(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: nopSender{}} })
	m := newMemServer(t, rev2)
	cfg := testConfig(m.url("INBOX"), "smtp://127.0.0.1:1")
	cfg.MaxMessage = 30 << 10 // read whole up to 2,138,112 bytes; raw kept up to 1,089,536
	w := newWatcher(t, c, cfg)
	cases := []struct {
		size  int
		photo bool   // the photo kept
		raw   string // what is kept of the raw mail
	}{
		{1_070_000, true, "message.eml"},
		{1_200_000, true, "message-header.eml"},
		{2_120_000, true, "message-header.eml"},
		{2_138_112, true, "message-header.eml"},
		{2_138_113, false, "message.eml"}, // its first megabyte
	}
	for _, tc := range cases {
		raw := largeMail(fmt.Sprintf("large-%d", tc.size), tc.size)
		if len(raw) != tc.size {
			t.Fatalf("built %d bytes, want %d", len(raw), tc.size)
		}
		m.append(t, "INBOX", raw)
	}
	watch(t, w)
	for _, tc := range cases {
		id := fmt.Sprintf("large-%d@example.org", tc.size)
		stored(t, c, id)
		var names []string
		rows, err := c.Pool().Query(context.Background(), `SELECT a.filename FROM attachments a
			JOIN messages m ON m.id = a.message_id WHERE m.provider_id = $1 ORDER BY a.filename`, id)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		want := []string{tc.raw}
		if tc.photo {
			want = append(want, "tree.jpg")
		}
		slices.Sort(want)
		if !slices.Equal(names, want) {
			t.Errorf("a mail of %d bytes kept %q, want %q", tc.size, names, want)
		}
	}
}
