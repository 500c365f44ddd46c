package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"townline/core"
	"townline/internal/testenv"
)

// fakeFetcher serves media from memory.
type fakeFetcher struct {
	mu    sync.Mutex
	files map[string][]byte
	fails int
}

func (f *fakeFetcher) Fetch(ctx context.Context, url string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return nil, errors.New("media host answered 502")
	}
	b, ok := f.files[url]
	if !ok {
		return nil, errors.New("404")
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// gpsPhoto is a JPEG with the EXIF position a phone camera writes.
func gpsPhoto(t *testing.T, lat, lng float64) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	return append(append(append([]byte{}, raw[:2]...), core.ExifWithGPS(lat, lng)...), raw[2:]...)
}

type phone struct {
	t      *testing.T
	c      *core.Core
	number string
	n      atomic.Int64
}

var sidSeq atomic.Int64

func (p *phone) text(body string, media ...core.Media) core.IntakeResult {
	p.t.Helper()
	res, err := p.c.Intake(context.Background(), core.Inbound{
		Channel: core.ChannelSMS, From: p.number, To: "+15305382401", Text: body, Media: media,
		ProviderID: fmt.Sprintf("SM%032d", sidSeq.Add(1)),
	})
	if err != nil {
		p.t.Fatalf("text %q: %v", body, err)
	}
	return res
}

// answers returns the bodies of the texts sent to this phone so far.
func (p *phone) answers(sms *fakeSender) []string {
	var out []string
	sent, _ := sms.Sent()
	for _, m := range sent {
		if m.To == p.number {
			out = append(out, m.Body)
		}
	}
	return out
}

// waitAnswer waits for the n-th answer (1-based) and returns it.
func (p *phone) waitAnswer(sms *fakeSender, n int) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.t.Context(), sendWait)
	defer cancel()
	for i, seen := 0, 0; ; i++ {
		m, err := sms.Next(ctx, i)
		if err != nil {
			p.t.Fatalf("answer %d never came; got %q", n, p.answers(sms))
		}
		if m.To == p.number {
			if seen++; seen == n {
				return m.Body
			}
		}
	}
}

func smsCore(t *testing.T) (*core.Core, *fakeSender, *fakeFetcher) {
	sms := &fakeSender{}
	media := &fakeFetcher{files: map[string][]byte{}}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: sms}
		o.Fetchers = map[core.Channel]core.MediaFetcher{core.ChannelSMS: media}
	})
	return c, sms, media
}

func TestTextWithServiceAndPlaceBecomesARequest(t *testing.T) {
	t.Parallel()
	c, sms, _ := smsCore(t)
	p := &phone{t: t, c: c, number: "+15305550101"}
	res := p.text("big pothole at montgomery and 5th")
	if res.RequestID == 0 {
		t.Fatal("no request created")
	}
	r, err := c.Request(context.Background(), res.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	if r.ServiceCode != "pothole" || r.Address != "Montgomery Street & 5th Avenue" || r.Channel != core.ChannelSMS || r.Department != "public-works" {
		t.Errorf("request = %+v", r)
	}
	ack := p.waitAnswer(sms, 1)
	for _, want := range []string{fmt.Sprintf("#%d", r.ID), "Pothole", "Montgomery Street & 5th Avenue", "Expected by", "/requests/"} {
		if !strings.Contains(ack, want) {
			t.Errorf("confirmation %q lacks %q", ack, want)
		}
	}

	// STATUS answers with the latest request's status.
	p.text("STATUS")
	if got := p.waitAnswer(sms, 2); !strings.Contains(got, fmt.Sprintf("#%d", r.ID)) || !strings.Contains(got, "received") {
		t.Errorf("status answer = %q", got)
	}
	if err := c.ChangeStatus(context.Background(), r.ID, core.StatusChange{To: core.StatusInProgress, Note: "Crew Tuesday.", Public: true}); err != nil {
		t.Fatal(err)
	}
	if got := p.waitAnswer(sms, 3); !strings.Contains(got, "in progress") {
		t.Errorf("update = %q", got)
	}
	p.text(fmt.Sprintf("status %d", r.ID))
	if got := p.waitAnswer(sms, 4); !strings.Contains(got, "in progress") || !strings.Contains(got, "Crew Tuesday.") {
		t.Errorf("status answer = %q", got)
	}
}

func TestMissingPlaceIsAskedAndTheAnswerCompletesTheReport(t *testing.T) {
	t.Parallel()
	c, sms, _ := smsCore(t)
	p := &phone{t: t, c: c, number: "+15305550102"}
	if res := p.text("There's a dead cat in the road"); res.RequestID != 0 {
		t.Fatalf("request %d filed without a place", res.RequestID)
	}
	if q := p.waitAnswer(sms, 1); !strings.Contains(q, "where is it?") {
		t.Fatalf("question = %q", q)
	}
	res := p.text("Bird St and Myers")
	if res.RequestID == 0 {
		t.Fatal("the answer did not complete the report")
	}
	r, _ := c.Request(context.Background(), res.RequestID)
	if r.ServiceCode != "animal-dead" || r.Address != "Bird Street & Myers Street" || !strings.Contains(r.Description, "dead cat") {
		t.Errorf("request = %s at %q: %q", r.ServiceCode, r.Address, r.Description)
	}
	if ack := p.waitAnswer(sms, 2); !strings.Contains(ack, fmt.Sprintf("#%d", r.ID)) {
		t.Errorf("confirmation = %q", ack)
	}
	// A follow-up soon after adds to the same request.
	res = p.text("it's been there since yesterday")
	if res.RequestID != r.ID {
		t.Errorf("follow-up joined %d, want %d", res.RequestID, r.ID)
	}
}

func TestMissingServiceIsAskedByNumber(t *testing.T) {
	t.Parallel()
	c, sms, _ := smsCore(t)
	p := &phone{t: t, c: c, number: "+15305550103"}
	p.text("something weird at 1735 Montgomery St")
	q := p.waitAnswer(sms, 1)
	if !strings.Contains(q, "1 Pothole") || !strings.Contains(q, "0 Something else") {
		t.Fatalf("question = %q", q)
	}
	res := p.text("2")
	r, err := c.Request(context.Background(), res.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	if r.ServiceCode != "streetlight" || r.Address != "1735 Montgomery Street" {
		t.Errorf("request = %s at %q", r.ServiceCode, r.Address)
	}
}

func TestSpanishTextGetsSpanishAnswers(t *testing.T) {
	t.Parallel()
	c, sms, _ := smsCore(t)
	p := &phone{t: t, c: c, number: "+15305550104"}
	p.text("hay un bache enorme en la calle Myers y quinta")
	if ack := p.waitAnswer(sms, 1); !strings.Contains(ack, "recibido, Bache en ") {
		t.Errorf("confirmation = %q, want Spanish, the service named in Spanish", ack)
	}
	p.text("ENGLISH")
	if got := p.waitAnswer(sms, 2); !strings.Contains(got, "English") {
		t.Errorf("language answer = %q", got)
	}
	p.text("hay otro bache en la calle Bird y Oak Street")
	if ack := p.waitAnswer(sms, 3); !strings.Contains(ack, "got it") || !strings.Contains(ack, "Pothole") {
		t.Errorf("after ENGLISH the answer is %q, want English", ack)
	}
	p.text("AYUDA")
	if got := p.waitAnswer(sms, 4); !strings.Contains(got, "911") {
		t.Errorf("help = %q", got)
	}
}

func TestStopSilencesEveryLaterText(t *testing.T) {
	t.Parallel()
	c, sms, _ := smsCore(t)
	p := &phone{t: t, c: c, number: "+15305550105"}
	res := p.text("graffiti at 200 Myers Street")
	p.waitAnswer(sms, 1)
	p.text("STOP")
	if err := c.ChangeStatus(context.Background(), res.RequestID, core.StatusChange{To: core.StatusInProgress}); err != nil {
		t.Fatal(err)
	}
	p.text("HELP")
	testenv.WaitJobsIdle(t, c.Pool())
	if a := p.answers(sms); len(a) != 1 {
		t.Errorf("after STOP the number got %q", a[1:])
	}
	p.text("START")
	p.text("status")
	if got := p.waitAnswer(sms, 2); !strings.Contains(got, "in progress") {
		t.Errorf("after START: %q", got)
	}
}

func TestRedeliveredMessageChangesNothing(t *testing.T) {
	t.Parallel()
	c, sms, _ := smsCore(t)
	in := core.Inbound{Channel: core.ChannelSMS, From: "+15305550106", Text: "pothole at 100 Bird Street", ProviderID: "SMdup00000000000000000000000000001"}
	ctx := context.Background()
	first, err := c.Intake(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		c.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM requests) + `+testenv.CountJobs).Scan(&n)
		return n
	}
	before := count()
	again, err := c.Intake(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.MessageID != first.MessageID || again.RequestID != first.RequestID {
		t.Errorf("redelivery = %+v, first %+v", again, first)
	}
	if after := count(); after != before {
		t.Errorf("redelivery wrote %d rows", after-before)
	}
	testenv.WaitJobsIdle(t, c.Pool())
	if sent, _ := sms.Sent(); len(sent) != 1 {
		t.Errorf("sent %d texts, want one confirmation", len(sent))
	}
}

func TestPhotoGPSCompletesTheReport(t *testing.T) {
	t.Parallel()
	c, sms, media := smsCore(t)
	media.files["https://api.twilio.test/media/1"] = gpsPhoto(t, 39.51380, -121.55640)
	media.fails = 1 // the first download fails and is retried
	p := &phone{t: t, c: c, number: "+15305550107"}
	res := p.text("pothole!", core.Media{URL: "https://api.twilio.test/media/1", ContentType: "image/jpeg"})
	if res.RequestID != 0 {
		t.Fatal("filed before the photo was read")
	}
	ack := p.waitAnswer(sms, 1)
	if !strings.Contains(ack, "39.51380, -121.55640") {
		t.Fatalf("confirmation = %q, want the photo's position", ack)
	}
	rs, err := c.Requests(context.Background(), core.Filter{})
	if err != nil || len(rs) != 1 {
		t.Fatalf("requests = %v, %v", rs, err)
	}
	r := rs[0]
	if r.Lat == nil || *r.Lat < 39.5137 || *r.Lat > 39.5139 || r.PhotoID == 0 {
		t.Errorf("request = %+v, want the photo's position and the photo", r)
	}
}

func TestPhotoWithoutGPSLeadsToTheQuestion(t *testing.T) {
	t.Parallel()
	c, sms, media := smsCore(t)
	var b bytes.Buffer
	jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil)
	media.files["m1"] = b.Bytes()
	media.files["m2"] = []byte("%PDF-1.4 not a photo but a document")
	media.files["m3"] = []byte("MZ\x90\x00 an executable")
	p := &phone{t: t, c: c, number: "+15305550108"}
	p.text("shopping cart dumped here", core.Media{URL: "m1", ContentType: "image/jpeg"}, core.Media{URL: "m3", ContentType: "image/jpeg"})
	if q := p.waitAnswer(sms, 1); !strings.Contains(q, "where is it?") {
		t.Fatalf("answer = %q", q)
	}
	res := p.text("Safeway parking lot on Oro Dam")
	r, err := c.Request(context.Background(), res.RequestID)
	if err != nil {
		t.Fatal(err)
	}
	if r.ServiceCode != "shopping-cart" || r.PhotoID == 0 {
		t.Errorf("request = %s photo %d", r.ServiceCode, r.PhotoID)
	}
	var files int
	c.Pool().QueryRow(context.Background(), `SELECT count(*) FROM attachments WHERE request_id = $1`, r.ID).Scan(&files)
	if files != 1 {
		t.Errorf("%d attachments, want the photo only (the executable refused)", files)
	}
}

func TestSeveralOpenRequestsAskWhich(t *testing.T) {
	t.Parallel()
	c, sms, _ := smsCore(t)
	ctx := context.Background()
	p := &phone{t: t, c: c, number: "+15305550109"}
	a := p.text("pothole at 100 Bird Street").RequestID
	b := p.text("graffiti at 300 Myers Street").RequestID
	// Make both old enough that a new text is not taken as a follow-up.
	c.Pool().Exec(ctx, `UPDATE requests SET requested_at = now() - interval '2 hours'`)
	p.waitAnswer(sms, 2)
	p.text("any news?")
	q := p.waitAnswer(sms, 3)
	if !strings.Contains(q, fmt.Sprintf("#%d", a)) || !strings.Contains(q, fmt.Sprintf("#%d", b)) {
		t.Fatalf("question = %q", q)
	}
	res := p.text("2")
	if res.RequestID != a {
		t.Errorf("answer 2 joined %d, want %d (the older one, listed second)", res.RequestID, a)
	}
	// A text naming a request number goes to it directly.
	res = p.text(fmt.Sprintf("more paint on the wall for #%d", b))
	if res.RequestID != b {
		t.Errorf("#ref joined %d, want %d", res.RequestID, b)
	}
}

// An MMS carries at most MaxMedia files (Twilio's ten): more is refused
// whole, nothing stored.
func TestMediaCountLimit(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	photos := func(n int) []core.Media {
		var ms []core.Media
		for i := range n {
			ms = append(ms, core.Media{URL: fmt.Sprintf("https://api.twilio.example/Media/ME%d", i), ContentType: "image/jpeg"})
		}
		return ms
	}
	if _, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelSMS, From: "+15305550130", Text: "pothole at 100 Bird St",
		Media: photos(core.MaxMedia), ProviderID: "SMten"}); err != nil {
		t.Errorf("%d files: %v", core.MaxMedia, err)
	}
	before := rowCount(t, c)
	_, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelSMS, From: "+15305550130", Text: "pothole at 100 Bird St",
		Media: photos(core.MaxMedia + 1), ProviderID: "SMeleven"})
	var ve *core.ValidationError
	if !errors.As(err, &ve) || ve.Field != "media" {
		t.Errorf("%d files: %v, want refused on media", core.MaxMedia+1, err)
	}
	if after := rowCount(t, c); after != before {
		t.Errorf("the refused MMS wrote %d rows", after-before)
	}
}

func TestUnansweredDraftIsFiledToTriage(t *testing.T) {
	t.Parallel()
	c, sms, _ := smsCore(t)
	ctx := context.Background()
	expireDrafts := func() {
		t.Helper()
		if _, err := c.Pool().Exec(ctx, `UPDATE conversations SET expires_at = now() - interval '1 minute'`); err != nil {
			t.Fatal(err)
		}
	}
	triage := func(want int) []core.Request {
		t.Helper()
		q, err := c.TriageQueue(ctx)
		if err != nil || len(q) != want {
			t.Fatalf("triage queue = %+v, %v; want %d", q, err, want)
		}
		return q
	}
	// The periodic job that files expired drafts has had its first run,
	// and its next is a minute away: the text below finds the draft.
	testenv.WaitJob(t, c.Pool(), "expire_drafts", nil)
	p := &phone{t: t, c: c, number: "+15305550110"}
	p.text("hello there is a problem")
	p.waitAnswer(sms, 1)
	// A keyword leaves the draft and its clock alone.
	expiry := func() (at time.Time) {
		t.Helper()
		if err := c.Pool().QueryRow(ctx, `SELECT c.expires_at FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
			WHERE ct.phone = $1`, p.number).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	before := expiry()
	p.text("STATUS")
	if after := expiry(); !after.Equal(before) {
		t.Errorf("STATUS moved the draft's expiry from %s to %s", before, after)
	}
	expireDrafts()
	// The next text finds it expired and files it as it is (its number
	// is sent), then is answered as a new conversation.
	p.text("hello?")
	if q := triage(1); !strings.Contains(q[0].Description, "there is a problem") {
		t.Errorf("filed %q", q[0].Description)
	}
	p.waitAnswer(sms, 4) // STATUS's answer, the number, the new question

	// Drafts nobody comes back to are filed by the periodic job: all of them.
	for i, number := range []string{"+15305550120", "+15305550121"} {
		p := &phone{t: t, c: c, number: number}
		p.text(fmt.Sprintf("problem number %d", i))
		p.waitAnswer(sms, 1)
	}
	expireDrafts()
	if _, err := c.Pool().Exec(ctx, `INSERT INTO river_job (kind, args, queue, state, max_attempts, priority)
		VALUES ('expire_drafts', '{}', 'default', 'available', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	if state := testenv.WaitJob(t, c.Pool(), "expire_drafts", nil); state != "completed" {
		t.Fatalf("the job %s", state)
	}
	triage(3)
}

func TestFloodGetsOneWarningThenSilence(t *testing.T) {
	t.Parallel()
	c, sms, _ := smsCore(t)
	p := &phone{t: t, c: c, number: "+15305550111"}
	for i := range 30 {
		p.text(fmt.Sprintf("auto-reply %d: I am away from my desk", i))
	}
	ctx, cancel := context.WithTimeout(t.Context(), sendWait)
	defer cancel()
	if _, err := sms.Wait(ctx, func(m core.Outbound) bool { return m.To == p.number && strings.Contains(m.Body, "paused") }); err != nil {
		t.Fatalf("no warning that replies are paused after %v: %q", sendWait, p.answers(sms))
	}
	testenv.WaitJobsIdle(t, c.Pool())
	answers := p.answers(sms)
	warnings := 0
	for _, a := range answers {
		if strings.Contains(a, "automatic replies are paused") {
			warnings++
		}
	}
	if warnings != 1 || len(answers) > 12 {
		t.Errorf("%d answers with %d warnings, want at most a few and exactly one warning: %q", len(answers), warnings, answers)
	}
	var flagged bool
	c.Pool().QueryRow(context.Background(), `SELECT flagged_at IS NOT NULL FROM contacts WHERE phone = $1`, p.number).Scan(&flagged)
	if !flagged {
		t.Error("the contact is not flagged for staff")
	}
}

func TestDeliveryReceipts(t *testing.T) {
	t.Parallel()
	c, sms, _ := smsCore(t)
	ctx := context.Background()
	p := &phone{t: t, c: c, number: "+15305550112"}
	res := p.text("pothole at 100 Bird Street")
	p.waitAnswer(sms, 1)
	ack := waitMessage(t, c, outbound(t, c, res.RequestID)[0].ID, "sent")
	id, sid := ack.ID, ack.ProviderID
	for _, s := range []core.DeliveryState{core.DeliveryDelivered, core.DeliverySent, core.DeliveryDelivered, core.DeliveryQueued} { // out of order, repeated
		if err := c.RecordDelivery(ctx, core.ChannelSMS, core.Receipt{ProviderID: sid, State: s}); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := c.Message(ctx, id)
	if m.State != "delivered" {
		t.Errorf("state = %s, want delivered", m.State)
	}
	if err := c.RecordDelivery(ctx, core.ChannelSMS, core.Receipt{ProviderID: sid, State: "bogus"}); err == nil {
		t.Error("a bogus status was accepted")
	}
	// A receipt for a message whose send is not yet recorded waits for it.
	if err := c.RecordDelivery(ctx, core.ChannelSMS, core.Receipt{ProviderID: "SMnotyet", State: core.DeliveryFailed, ErrorCode: "30003"}); err != nil {
		t.Fatal(err)
	}

	// A text the carrier refused because the resident unsubscribed there:
	// failed, with the carrier's code for staff, and the number opted out.
	gone := &phone{t: t, c: c, number: "+15305550113"}
	res = gone.text("graffiti at 200 Bird Street")
	gone.waitAnswer(sms, 1)
	ack = waitMessage(t, c, outbound(t, c, res.RequestID)[0].ID, "sent")
	id, sid = ack.ID, ack.ProviderID
	if err := c.RecordDelivery(ctx, core.ChannelSMS, core.Receipt{ProviderID: sid, State: core.DeliveryFailed,
		ErrorCode: "21610", OptedOut: true}); err != nil {
		t.Fatal(err)
	}
	m, _ = c.Message(ctx, id)
	var optedOut bool
	c.Pool().QueryRow(ctx, `SELECT opted_out_at IS NOT NULL FROM contacts WHERE phone = $1`, gone.number).Scan(&optedOut)
	if m.State != "failed" || m.Error != "provider error 21610" || !optedOut {
		t.Errorf("after the carrier's refusal: %s %q, opted out %v", m.State, m.Error, optedOut)
	}
}

// "It's really deep" right after a report is about that report only when
// it is the same kind: after a pothole and then graffiti, more about the
// pothole does not join the graffiti.
func TestMoreWordsJoinTheLatestOnlyWhenAlike(t *testing.T) {
	t.Parallel()
	c, sms, _ := smsCore(t)
	p := &phone{t: t, c: c, number: "+15305550131"}
	hole := p.text("pothole at 100 Bird Street").RequestID
	p.waitAnswer(sms, 1)
	paint := p.text("graffiti at 200 Bird Street").RequestID
	p.waitAnswer(sms, 2)
	if hole == 0 || paint == 0 || hole == paint {
		t.Fatalf("two reports filed as %d and %d", hole, paint)
	}
	if res := p.text("the pothole is really deep"); res.RequestID == paint {
		t.Errorf("more about the pothole joined the graffiti report #%d", paint)
	}
}

// A request of no service is a "Reporte" to a Spanish speaker.
func TestSpanishUnclassifiedIsAReporte(t *testing.T) {
	t.Parallel()
	c, sms, _ := smsCore(t)
	testenv.WaitJob(t, c.Pool(), "expire_drafts", nil) // the next run is a minute away
	p := &phone{t: t, c: c, number: "+15305550132"}
	p.text("hola, hay un problema en la calle Myers")
	p.waitAnswer(sms, 1)
	if _, err := c.Pool().Exec(context.Background(), `UPDATE conversations SET expires_at = now() - interval '1 minute'`); err != nil {
		t.Fatal(err)
	}
	p.text("hola?") // finds the draft expired, files it, and joins it
	p.waitAnswer(sms, 3)
	if !slices.ContainsFunc(p.answers(sms), func(a string) bool { return strings.Contains(a, "recibido, Reporte en") }) {
		t.Errorf("no acknowledgment names a Reporte: %q", p.answers(sms))
	}
}

// A text asking about a request number that names none is kept and
// answered so, not refused (the webhook would fail and the text be lost).
func TestStatusOfNoSuchRequest(t *testing.T) {
	t.Parallel()
	texts := &fakeSender{}
	c := testenv.Core(t, func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: texts} })
	(&phone{t: t, c: c, number: "+15305550801"}).text("STATUS 99999")
	wait, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if m, err := texts.Next(wait, 0); err != nil || !strings.Contains(m.Body, "we found no report #99999") || m.RequestID != 0 {
		t.Errorf("the answer: %+v %v", m, err)
	}
}
