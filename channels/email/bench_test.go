package email

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

// photoMail is a report with a photo of size bytes (a JPEG by its first
// bytes, unique by n), as a phone sends it.
func photoMail(n int, photo []byte) []byte {
	photo = slices.Clone(photo)
	copy(photo[16:], fmt.Sprintf("%08d", n)) // each its own blob
	var b strings.Builder
	fmt.Fprintf(&b, "From: resident%d@example.org\r\nTo: %s\r\nSubject: Pothole\r\nMessage-ID: <bench-%d@example.org>\r\n", n, cityAddr, n)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n")
	fmt.Fprintf(&b, "Pothole at %d Myers Street.\r\n--b\r\nContent-Type: image/jpeg; name=IMG_%04d.jpg\r\nContent-Transfer-Encoding: base64\r\n\r\n", 1000+n%500, n)
	enc := base64.StdEncoding.EncodeToString(photo)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--b--\r\n")
	return []byte(b.String())
}

func benchPhoto(b *testing.B, size int) []byte {
	photo := make([]byte, size)
	rand.Read(photo)
	copy(photo, "\xff\xd8\xff\xe0\x00\x10JFIF\x00")
	return photo
}

func benchSetup(b *testing.B) (*core.Core, *bundle) {
	bd := &bundle{dc: startDovecot(b)}
	bd.cfg = testConfig(bd.dc.URL("INBOX"), "smtp://127.0.0.1:1")
	c := testenv.Core(b, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: nopSender{}}
	})
	bd.c = c
	return c, bd
}

// BenchmarkBacklog measures how fast a backlog of b.N reports, each with
// a 1 MB photo, is read from Dovecot into requests. Run it with
// -benchtime=1000x for the 1,000-message backlog.
func BenchmarkBacklog(b *testing.B) {
	c, bd := benchSetup(b)
	photo := benchPhoto(b, 1<<20)
	for i := range b.N {
		if _, err := bd.dc.Append("INBOX", photoMail(i, photo)); err != nil {
			b.Fatal(err)
		}
	}
	w, err := NewWatcher(c, bd.cfg, testenv.Logger(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	watch(b, w)
	// A backlog takes longer than one wait: each waits for progress.
	for n := 0; n < b.N; {
		before := n
		testenv.WaitFor(b, c, func() error {
			if n = queryInt(b, c, `SELECT count(*) FROM requests`); n == before {
				return fmt.Errorf("%d of %d reports stored, none since", n, b.N)
			}
			return nil
		})
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkIdleDelay measures the time from APPEND to a stored request
// while the watcher waits in IDLE: p50 and p99.
func BenchmarkIdleDelay(b *testing.B) {
	c, bd := benchSetup(b)
	w, err := NewWatcher(c, bd.cfg, testenv.Logger(b))
	if err != nil {
		b.Fatal(err)
	}
	watch(b, w)
	eventually(b, 10*time.Second, "watcher ready", func() bool { return w.Ready() == nil })
	photo := benchPhoto(b, 100<<10)
	var delays []time.Duration
	b.ResetTimer()
	for i := range b.N {
		raw := photoMail(i, photo)
		start := time.Now()
		if _, err := bd.dc.Append("INBOX", raw); err != nil {
			b.Fatal(err)
		}
		id := fmt.Sprintf("bench-%d@example.org", i)
		testenv.WaitFor(b, c, func() error {
			if queryInt(b, c, `SELECT count(*) FROM messages WHERE provider_id = $1 AND request_id IS NOT NULL`, id) != 1 {
				return fmt.Errorf("report %s not stored", id)
			}
			return nil
		})
		delays = append(delays, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(delays)
	b.ReportMetric(float64(delays[len(delays)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(delays[(len(delays)*99)/100].Milliseconds()), "p99-ms")
}

// BenchmarkParse reads a phone's report with a 1 MB photo.
func BenchmarkParse(b *testing.B) {
	raw := photoMail(1, benchPhoto(b, 1<<20))
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		Parse(raw, testLimits)
	}
}
