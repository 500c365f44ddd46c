package core_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strings"
	"sync"
	"testing"

	"townline/core"
	"townline/internal/testenv"
)

// Every channel files through one function: these tests file the same
// kinds of report over each and check the rules it applies, whatever the
// channel — routing (with the district override that sends a State Route
// 70 pothole to Caltrans's desk), the triage queue for what no one could
// classify, a photo's position, and the acknowledgment written in the
// very transaction that wrote the request.

// On State Route 70, south of Oro Dam Boulevard: potholes there are
// Caltrans's, routed to the "other" desk.
const sr70Lat, sr70Lng = 39.5000, -121.5700

// filingCore is a core that queues answers by text and mail but sends
// nothing: what a filing wrote stays as it was written.
func filingCore(t *testing.T) *core.Core {
	return testenv.Core(t, func(o *core.Options) {
		o.Workers = 0
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: &fakeSender{}, core.ChannelEmail: &fakeSender{}}
	})
}

// ackedInSameTransaction checks that request id has one queued
// acknowledgment over ch, written with its delivery job by the transaction
// that wrote the request.
func ackedInSameTransaction(t *testing.T, c *core.Core, id int64, ch core.Channel) {
	t.Helper()
	var n int
	var same bool
	err := c.Pool().QueryRow(context.Background(), `
		SELECT count(*), bool_and(r.xmin = m.xmin AND r.xmin = j.xmin)
		FROM requests r
		JOIN messages m ON m.request_id = r.id AND m.direction = 'out' AND m.channel = $2 AND m.state = 'queued'
		JOIN river_job j ON j.kind = 'deliver' AND (j.args->>'message_id')::bigint = m.id
		WHERE r.id = $1`, id, ch).Scan(&n, &same)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || !same {
		t.Errorf("request %d: %d acknowledgments queued over %s, same transaction %v; want 1, true", id, n, ch, same)
	}
}

func inTriage(t *testing.T, c *core.Core, id int64) bool {
	t.Helper()
	q, err := c.TriageQueue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range q {
		if r.ID == id {
			return true
		}
	}
	return false
}

func storePhoto(t *testing.T, c *core.Core, lat, lng float64) core.Upload {
	t.Helper()
	blob, err := c.Blobs().Put(bytes.NewReader(gpsPhoto(t, lat, lng)))
	if err != nil {
		t.Fatal(err)
	}
	return core.Upload{Blob: blob, Filename: "photo.jpg"}
}

func TestFilingOpen311(t *testing.T) {
	t.Parallel()
	c := filingCore(t)
	ctx := context.Background()

	t.Run("routing and acknowledgment", func(t *testing.T) {
		in := newPothole("open311-route@example.com")
		in.Lat, in.Lng = ptr(sr70Lat), ptr(sr70Lng)
		r, err := c.CreateRequest(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if r.Department != "other" {
			t.Errorf("a pothole on SR 70 went to %q, want the other desk", r.Department)
		}
		ackedInSameTransaction(t, c, r.ID, core.ChannelEmail)
	})
	t.Run("a photo places a report given only an address", func(t *testing.T) {
		in := newPothole("open311-photo@example.com")
		in.Lat, in.Lng = nil, nil
		in.Photos = []core.Upload{storePhoto(t, c, sr70Lat, sr70Lng)}
		r, err := c.CreateRequest(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := c.Request(ctx, r.ID)
		if got.Lat == nil || *got.Lat != sr70Lat || got.Department != "other" {
			t.Errorf("request = %v,%v in %q; want the photo's position on SR 70, routed there", got.Lat, got.Lng, got.Department)
		}
		if got.Address != in.Address {
			t.Errorf("address = %q, want the reporter's %q kept", got.Address, in.Address)
		}
	})
}

func TestFilingText(t *testing.T) {
	t.Parallel()
	c := filingCore(t)
	ctx := context.Background()

	t.Run("routing and acknowledgment", func(t *testing.T) {
		p := &phone{t: t, c: c, number: "+15305550201"}
		res := p.text(fmt.Sprintf("pothole at %.4f, %.4f", sr70Lat, sr70Lng))
		r, err := c.Request(ctx, res.RequestID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Department != "other" || r.Channel != core.ChannelSMS {
			t.Errorf("a texted SR 70 pothole went to %q over %s, want other over sms", r.Department, r.Channel)
		}
		ackedInSameTransaction(t, c, r.ID, core.ChannelSMS)
	})
	t.Run("unclassified goes to triage", func(t *testing.T) {
		p := &phone{t: t, c: c, number: "+15305550202"}
		p.text("something is wrong at 1735 Montgomery Street")
		p.text("dunno")
		res := p.text("no idea")
		if res.RequestID == 0 {
			t.Fatal("two unanswered questions filed nothing")
		}
		r, _ := c.Request(ctx, res.RequestID)
		if r.ServiceCode != "" || r.Department != "" || !inTriage(t, c, r.ID) {
			t.Errorf("request = %q in %q, want no service, in the triage queue", r.ServiceCode, r.Department)
		}
		ackedInSameTransaction(t, c, r.ID, core.ChannelSMS)
	})
}

func TestFilingTextPhoto(t *testing.T) {
	t.Parallel()
	c, sms, media := smsCore(t)
	ctx := context.Background()
	media.files["https://media.example/sr70.jpg"] = gpsPhoto(t, sr70Lat, sr70Lng)
	p := &phone{t: t, c: c, number: "+15305550203"}
	p.text("pothole", core.Media{URL: "https://media.example/sr70.jpg", ContentType: "image/jpeg"})
	p.waitAnswer(sms, 1)
	var id int64
	if err := c.Pool().QueryRow(ctx, `SELECT id FROM requests WHERE contact_id = (SELECT id FROM contacts WHERE phone = $1)`,
		p.number).Scan(&id); err != nil {
		t.Fatal(err)
	}
	r, _ := c.Request(ctx, id)
	if r.Lat == nil || *r.Lat != sr70Lat || r.Department != "other" {
		t.Errorf("request = %v in %q, want the photo's position on SR 70, routed there", r.Lat, r.Department)
	}
}

func TestFilingMail(t *testing.T) {
	t.Parallel()
	c := filingCore(t)
	ctx := context.Background()
	mail := func(from, subject, body string, files ...core.Upload) core.Request {
		t.Helper()
		res, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: from, To: "311@example.gov",
			Subject: subject, Text: body, Uploads: files, ProviderID: fmt.Sprintf("<%s-%d@example.com>", from, sidSeq.Add(1))})
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Request(ctx, res.RequestID)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	t.Run("routing and acknowledgment", func(t *testing.T) {
		r := mail("route@example.com", "Pothole", fmt.Sprintf("A deep pothole at %.4f, %.4f.", sr70Lat, sr70Lng))
		if r.Department != "other" {
			t.Errorf("a mailed SR 70 pothole went to %q, want other", r.Department)
		}
		ackedInSameTransaction(t, c, r.ID, core.ChannelEmail)
	})
	t.Run("unclassified goes to triage", func(t *testing.T) {
		r := mail("triage@example.com", "Hello", "Something needs looking at near my house.")
		if r.ServiceCode != "" || r.Department != "" || !inTriage(t, c, r.ID) {
			t.Errorf("request = %q in %q, want no service, in the triage queue", r.ServiceCode, r.Department)
		}
		ackedInSameTransaction(t, c, r.ID, core.ChannelEmail)
	})
	t.Run("a photo's position places it", func(t *testing.T) {
		r := mail("photo@example.com", "Pothole", "See the photo.", storePhoto(t, c, sr70Lat, sr70Lng))
		if r.Lat == nil || *r.Lat != sr70Lat || r.Department != "other" {
			t.Errorf("request = %v in %q, want the photo's position on SR 70, routed there", r.Lat, r.Department)
		}
	})
	t.Run("a photo outside the city places nothing", func(t *testing.T) {
		r := mail("chico@example.com", "Pothole", "See the photo.", storePhoto(t, c, 39.7285, -121.8375))
		if r.Lat != nil {
			t.Errorf("a photo taken in Chico placed the report at %v,%v", *r.Lat, *r.Lng)
		}
	})
}

func TestFilingCall(t *testing.T) {
	t.Parallel()
	c := filingCore(t)
	ctx := context.Background()
	// A caller who took texts hears back by text, from the filing itself.
	if err := c.SetTextsOK(ctx, "+15305550204", true); err != nil {
		t.Fatal(err)
	}
	f, err := c.FileCallReport(ctx, callReport("CAfiling", 1, "+15305550204"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Request.Department != "animal-control" || f.Request.Channel != core.ChannelVoice {
		t.Errorf("a phoned-in dead animal went to %q over %s", f.Request.Department, f.Request.Channel)
	}
	ackedInSameTransaction(t, c, f.Request.ID, core.ChannelSMS)
}

// The reporter's account at the Open311 client stays with their contact,
// for staff: a later report without one keeps it, one with another
// replaces it.
func TestClientAccountKeptWithContact(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	for _, step := range []struct{ sent, want string }{{"fms-42", "fms-42"}, {"", "fms-42"}, {"fms-43", "fms-43"}} {
		r := file(t, c, "pothole", "Pothole on Myers", core.Reporter{Email: "ana@example.com", AccountID: step.sent})
		ct, err := c.Contact(ctx, *r.ContactID)
		if err != nil || ct.ClientAccount != step.want {
			t.Errorf("after a report with account %q: contact's account %q, %v; want %q", step.sent, ct.ClientAccount, err, step.want)
		}
	}
}

// A new reporter who gives a phone and an email is one contact with both.
func TestNewReporterWithPhoneAndEmail(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	r := file(t, c, "pothole", "Pothole on Myers", core.Reporter{Phone: "530-555-0177", Email: "Bo@Example.com"})
	ct, err := c.Contact(context.Background(), *r.ContactID)
	if err != nil || ct.Phone != "+15305550177" || ct.Email != "bo@example.com" {
		t.Errorf("contact %+v, %v", ct, err)
	}
}

// A request's photo, the one shown to the public, is its first public
// JPEG or PNG: not a private file (a raw mail, a document), not another
// kind of image.
func TestThePublicPhoto(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	put := func(enc func(io.Writer, image.Image) error) core.Blob {
		t.Helper()
		var b bytes.Buffer
		if err := enc(&b, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
			t.Fatal(err)
		}
		blob, err := c.Blobs().Put(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		return blob
	}
	pngs := func(w io.Writer, m image.Image) error { return png.Encode(w, m) }
	gifs := func(w io.Writer, m image.Image) error { return gif.Encode(w, m, nil) }
	jpegs := func(w io.Writer, m image.Image) error { return jpeg.Encode(w, m, nil) }
	for _, tc := range []struct {
		name   string
		photos []core.Upload
		want   string // the photo's file name, or "" for none
	}{
		{"private first", []core.Upload{{Blob: put(pngs), Filename: "scan.png", Private: true}, {Blob: put(jpegs), Filename: "hole.jpg"}}, "hole.jpg"},
		{"a GIF first", []core.Upload{{Blob: put(gifs), Filename: "anim.gif"}, {Blob: put(pngs), Filename: "hole.png"}}, "hole.png"},
		{"two photos", []core.Upload{{Blob: put(jpegs), Filename: "first.jpg"}, {Blob: put(pngs), Filename: "second.png"}}, "first.jpg"},
		{"only private", []core.Upload{{Blob: put(jpegs), Filename: "id.jpg", Private: true}}, ""},
	} {
		in := newPothole("")
		in.Photos = tc.photos
		r, err := c.CreateRequest(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		files, err := c.Attachments(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, f := range files {
			if f.ID == r.PhotoID {
				got = f.Filename
			}
		}
		if got != tc.want {
			t.Errorf("%s: the photo is %q (id %d), want %q", tc.name, got, r.PhotoID, tc.want)
		}
	}
}

// Residents new to the city, each reporting several things at the same
// moment (an app that retries, a form sent twice): every report is
// filed, by one contact each, whichever filing created it.
func TestFirstReportsAtOnce(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 }) // no messages: one statement a report
	ctx := context.Background()
	var reporters []core.Reporter
	for i := range 5 {
		reporters = append(reporters, core.Reporter{Phone: fmt.Sprintf("53055501%d0", i)}, core.Reporter{Email: fmt.Sprintf("first%d@example.com", i)})
	}
	for i, rep := range reporters {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				in := newPothole("")
				in.Reporter = rep
				_, err := c.CreateRequest(ctx, in)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("reporter %d: %v", i, err)
			}
		}
	}
	var contacts, requests int
	if err := c.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM requests WHERE contact_id IS NOT NULL)`).Scan(&contacts, &requests); err != nil {
		t.Fatal(err)
	}
	if contacts != 10 || requests != 80 {
		t.Errorf("%d contacts for %d requests, want 10 for 80", contacts, requests)
	}
}

// A request's history begins with where it went: its department, or the
// triage queue when none takes it.
func TestHistoryBeginsWithTheRoute(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	routed, err := c.CreateRequest(ctx, newPothole(""))
	if err != nil {
		t.Fatal(err)
	}
	unclear, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "eve@example.com", To: "311@example.gov",
		Subject: "Problem", Text: "Something is wrong outside 1747 Montgomery Street.", ProviderID: "<route-1@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	for id, note := range map[int64]string{routed.ID: "routed to public-works", unclear.RequestID: "no department: waiting in the triage queue"} {
		if h, err := c.History(ctx, id, false); err != nil || len(h) == 0 || !strings.HasPrefix(h[0].Note, note) {
			t.Errorf("#%d: history %+v, %v; want it to begin %q", id, h, err, note)
		}
	}
}
