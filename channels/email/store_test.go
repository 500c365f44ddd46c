package email

import (
	"io"
	"strings"
	"testing"

	"townline/core"
	"townline/internal/testenv"
)

// A mail too large to keep whole is kept as its header, through the
// blank line that ends it, whichever line ends it uses.
func TestStoreRawKeepsTheHeader(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	cfg := testConfig("imap://127.0.0.1:1/INBOX", "smtp://127.0.0.1:1")
	cfg.MaxMessage = 1 << 10 // kept whole up to 1 MiB and a bit
	w := newWatcher(t, c, cfg)
	body := strings.Repeat("x", 2<<20)
	for _, eol := range []string{"\r\n", "\n"} {
		head := "From: ana@example.org" + eol + "Subject: Big" + eol + eol
		up, err := w.storeRaw([]byte(head + body))
		if err != nil {
			t.Fatal(err)
		}
		f, err := c.Blobs().Open(up.Blob.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		kept, _ := io.ReadAll(f)
		f.Close()
		if up.Filename != "message-header.eml" || !up.Private || string(kept) != head {
			t.Errorf("%q lines: kept %s %q (private %v), want the header %q", eol, up.Filename, kept, up.Private, head)
		}
	}
	// A message small enough is kept whole.
	up, err := w.storeRaw([]byte("Subject: Small\r\n\r\nHi"))
	if err != nil || up.Filename != "message.eml" || up.Blob.Size != 20 {
		t.Errorf("a small message kept as %+v, %v", up, err)
	}
}

// A Message-ID is the message's id up to 200 characters; a longer one,
// or none, is replaced by a hash that a redelivery makes again.
func TestProviderID(t *testing.T) {
	long := strings.Repeat("a", 190) + "@b.example" // 200 characters
	if got := providerID(long, nil); got != long {
		t.Errorf("a Message-ID of 200 characters became %q", got)
	}
	longer := "x" + long
	got := providerID(longer, nil)
	if got == longer || !strings.HasPrefix(got, "sha256:") || got != providerID(longer, []byte("other")) {
		t.Errorf("a Message-ID of 201 characters: %q", got)
	}
	raw := []byte("Subject: no id\r\n\r\nHi")
	if a, b := providerID("", raw), providerID("", raw); a != b || !strings.HasPrefix(a, "sha256:") || a == got {
		t.Errorf("a message without an id: %q and %q", a, b)
	}
}
