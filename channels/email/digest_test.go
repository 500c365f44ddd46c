package email

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"townline/core"
	"townline/internal/smtpsink"
	"townline/internal/testenv"
)

// An overdue request is in its department's next digest, at the SMTP
// server, sent as an automatic mail no out-of-office answers.
func TestDigestReachesTheSMTPServer(t *testing.T) {
	t.Parallel()
	sink := newSMTPSink(t)
	c := testenv.Core(t, func(o *core.Options) {
		o.Workers = 0
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: newSender(t, sink.URL())}
	})
	ctx := context.Background()
	lat, lng := 39.5138, -121.5564
	r, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
		Description: "Deep pothole", Lat: &lat, Lng: &lng, Address: "1735 Montgomery Street"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pool().Exec(ctx, `UPDATE requests SET expected_at = now() - interval '1 day' WHERE id = $1`, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.SendDigests(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	m, err := sink.Wait(wait, func(m smtpsink.Message) bool { return slices.Contains(m.To, "publicworks@cityoforoville.org") })
	if err != nil {
		t.Fatal("no digest reached the SMTP server for Public Works")
	}
	h, _ := readHeader(m.Data)
	body := string(m.Data)
	if !strings.Contains(decodeWords(h.Get("Subject")), "1 overdue") || !strings.Contains(body, fmt.Sprintf("#%d Pothole, 1735 Montgomery Street", r.ID)) ||
		h.Get("Auto-Submitted") == "" {
		t.Errorf("the digest:\n%s", m.Data)
	}
}
