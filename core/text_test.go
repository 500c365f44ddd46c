package core_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"townline/core"
	"townline/internal/testenv"
)

// logBuffer is a slog handler's output kept for a test to read.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rowCount adds up the rows of every table input can reach. The jobs
// River's leader schedules by the clock are not input's doing: it may
// add one at any moment.
func rowCount(t *testing.T, c *core.Core) int {
	t.Helper()
	var n int
	err := c.Pool().QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM requests) + (SELECT count(*) FROM request_events) +
		(SELECT count(*) FROM contacts) + (SELECT count(*) FROM messages) +
		(SELECT count(*) FROM attachments) + (SELECT count(*) FROM delivery_events) +
		(SELECT count(*) FROM inbound_keys) + (SELECT count(*) FROM channel_state) +
		`+testenv.CountJobs).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A NUL byte or bytes that are not UTF-8 in any text that enters core, by
// any exported function, are refused with a ValidationError naming the
// field, before anything is written, and the refusal is logged.
func TestBadBytesRefused(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: &fakeSender{}, core.ChannelEmail: &fakeSender{}}
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	ctx := context.Background()
	photo := storePhoto(t, c, downtownLat, downtownLng)

	type call func(bad string) error
	create := func(mod func(*core.NewRequest, string)) call {
		return func(bad string) error {
			in := newPothole("ana@example.com")
			in.Attributes = map[string][]string{"size": {"large"}, "in_lane": {"yes"}}
			mod(&in, bad)
			_, err := c.CreateRequest(ctx, in)
			return err
		}
	}
	text := func(mod func(*core.Inbound, string)) call {
		return func(bad string) error {
			in := core.Inbound{Channel: core.ChannelSMS, From: "+15305550150", Text: "pothole at 100 Bird Street", ProviderID: "SM1"}
			mod(&in, bad)
			_, err := c.Intake(ctx, in)
			return err
		}
	}
	mail := func(mod func(*core.Inbound, string)) call {
		return func(bad string) error {
			in := core.Inbound{Channel: core.ChannelEmail, From: "ana@example.com", Subject: "Pothole",
				Text: "pothole at 100 Bird Street", ProviderID: "m1@example.com", DedupeKeys: []string{"imap:INBOX:1:1"}}
			mod(&in, bad)
			_, err := c.Intake(ctx, in)
			return err
		}
	}
	fileCall := func(mod func(*core.CallReport, string)) call {
		return func(bad string) error {
			r := callReport("CA1", 1, "+15305550151")
			mod(&r, bad)
			_, err := c.FileCallReport(ctx, r)
			return err
		}
	}
	recording := func(mod func(*core.Recording, string)) call {
		return func(bad string) error {
			r := core.Recording{CallID: "CA1", ID: "RE1", From: "+15305550151", URL: "https://api.twilio.example/RE1", Transcript: "a dead dog"}
			mod(&r, bad)
			_, err := c.SaveRecording(ctx, r)
			return err
		}
	}
	receipt := func(mod func(*core.Receipt, string)) call {
		return func(bad string) error {
			r := core.Receipt{ProviderID: "SM1", State: core.DeliveryFailed, ErrorCode: "30003"}
			mod(&r, bad)
			return c.RecordDelivery(ctx, core.ChannelSMS, r)
		}
	}
	cases := []struct {
		name, field string
		call        call
	}{
		{"description", "description", create(func(r *core.NewRequest, b string) { r.Description += b })},
		{"address", "address_string", create(func(r *core.NewRequest, b string) { r.Address += b })},
		{"address id", "address_id", create(func(r *core.NewRequest, b string) { r.AddressID = "A" + b })},
		{"zipcode", "zipcode", create(func(r *core.NewRequest, b string) { r.Zipcode = "95965" + b })},
		{"media url", "media_url", create(func(r *core.NewRequest, b string) { r.MediaURL = "https://photos.example/" + b })},
		{"name", "name", create(func(r *core.NewRequest, b string) { r.Reporter.Name += b })},
		{"name alone", "name", create(func(r *core.NewRequest, b string) { r.Reporter = core.Reporter{Name: "Ana" + b} })},
		{"device id", "device_id", create(func(r *core.NewRequest, b string) { r.Reporter.DeviceID = "dev" + b })},
		{"account id", "account_id", create(func(r *core.NewRequest, b string) { r.Reporter.AccountID = "acct" + b })},
		{"email", "email", create(func(r *core.NewRequest, b string) { r.Reporter.Email = "ana" + b + "@example.com" })},
		{"phone", "phone", create(func(r *core.NewRequest, b string) { r.Reporter.Phone = b + "+15305550152" })},
		{"attribute value", "attribute[size]", create(func(r *core.NewRequest, b string) { r.Attributes["size"] = []string{"large" + b} })},
		{"attribute code", "attribute", create(func(r *core.NewRequest, b string) { r.Attributes["size"+b] = []string{"large"} })},
		{"photo name", "filename", create(func(r *core.NewRequest, b string) {
			p := photo
			p.Filename = "IMG" + b + ".jpg"
			r.Photos = []core.Upload{p}
		})},

		{"text body", "body", text(func(in *core.Inbound, b string) { in.Text += b })},
		{"text from", "phone", text(func(in *core.Inbound, b string) { in.From = b + in.From })},
		{"text sid", "provider_id", text(func(in *core.Inbound, b string) { in.ProviderID += b })},
		{"text media url", "media_url", text(func(in *core.Inbound, b string) {
			in.Media = []core.Media{{URL: "https://api.twilio.example/Media/ME1" + b, ContentType: "image/jpeg"}}
		})},
		{"text media type", "media_content_type", text(func(in *core.Inbound, b string) {
			in.Media = []core.Media{{URL: "https://api.twilio.example/Media/ME1", ContentType: "image/jpeg" + b}}
		})},
		{"mail from", "email", mail(func(in *core.Inbound, b string) { in.From = "ana" + b + "@example.com" })},
		{"mail subject", "subject", mail(func(in *core.Inbound, b string) { in.Subject += b })},
		{"mail message id", "provider_id", mail(func(in *core.Inbound, b string) { in.ProviderID = b + in.ProviderID })},
		{"mail key", "dedupe_key", mail(func(in *core.Inbound, b string) { in.DedupeKeys = append(in.DedupeKeys, "imap:"+b) })},
		{"mail reply to", "in_reply_to", mail(func(in *core.Inbound, b string) { in.InReplyTo = []string{"x" + b + "@example.com"} })},
		{"mail refused file", "refused", mail(func(in *core.Inbound, b string) { in.Refused = []string{"a" + b + ".exe refused"} })},
		{"mail unreadable", "unreadable", mail(func(in *core.Inbound, b string) { in.Unreadable = "broken" + b })},
		{"mail file name", "filename", mail(func(in *core.Inbound, b string) {
			p := photo
			p.Filename = "IMG" + b + ".jpg"
			in.Uploads = []core.Upload{p}
		})},
		{"mail raw name", "filename", mail(func(in *core.Inbound, b string) {
			p := photo
			p.Filename = "message" + b + ".eml"
			in.Raw = &p
		})},

		{"call id", "call_id", fileCall(func(r *core.CallReport, b string) { r.CallID += b })},
		{"call said", "said", fileCall(func(r *core.CallReport, b string) { r.Said += b })},
		{"call recording", "recording_id", fileCall(func(r *core.CallReport, b string) { r.Recordings = []string{"RE" + b} })},
		{"call description", "description", fileCall(func(r *core.CallReport, b string) { r.Request.Description += b })},
		{"recording id", "recording_id", recording(func(r *core.Recording, b string) { r.ID += b })},
		{"recording url", "recording_url", recording(func(r *core.Recording, b string) { r.URL += b })},
		{"transcript", "transcript", recording(func(r *core.Recording, b string) { r.Transcript += b })},

		{"receipt id", "provider_id", receipt(func(r *core.Receipt, b string) { r.ProviderID += b })},
		{"receipt error code", "error_code", receipt(func(r *core.Receipt, b string) { r.ErrorCode += b })},

		{"token", "token", func(b string) error { _, err := c.RequestByToken(ctx, "TOKEN"+b); return err }},
		{"listing service code", "service_code", func(b string) error {
			_, err := c.Requests(ctx, core.Filter{ServiceCodes: []string{"pothole", "graffiti" + b}})
			return err
		}},
		{"state key", "key", func(b string) error { _, err := c.ChannelState(ctx, "voice:call:CA"+b); return err }},
		{"state key set", "key", func(b string) error { return c.SetChannelState(ctx, "voice:call:CA"+b, "{}") }},
		{"state value", "value", func(b string) error { return c.SetChannelState(ctx, "voice:call:CA1", `{"said":"`+b+`"}`) }},
		{"state key forget", "key", func(b string) error { return c.ForgetChannelState(ctx, "voice:call:CA"+b) }},
		{"staff login", "email", func(b string) error {
			_, err := c.Authenticate(ctx, "dispatcher"+b+"@cityoforoville.org", "secret")
			return err
		}},
	}
	before := rowCount(t, c)
	for _, bad := range []string{"\x00", "\xff"} {
		for _, tc := range cases {
			logged := strings.Count(logs.String(), "input refused")
			err := tc.call(bad)
			var ve *core.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Errorf("%s with %q: err = %v, want a validation error on %s", tc.name, bad, err, tc.field)
				continue
			}
			if n := strings.Count(logs.String(), "input refused"); n != logged+1 {
				t.Errorf("%s with %q: %d lines logged, want 1", tc.name, bad, n-logged)
			}
		}
	}
	if after := rowCount(t, c); after != before {
		t.Errorf("refused input wrote %d rows", after-before)
	}
}

// The same fields, good, are taken: the refusals above are for the bad
// bytes alone.
func TestGoodTextTaken(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t)
	ctx := context.Background()
	in := newPothole("ana@example.com")
	in.Attributes = map[string][]string{"size": {"large"}, "in_lane": {"yes"}}
	in.AddressID, in.Zipcode, in.Reporter.DeviceID = "A1", "95965", "dev1"
	in.Reporter.Name = "Ána Reyes ✓"
	if _, err := c.CreateRequest(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Requests(ctx, core.Filter{ServiceCodes: []string{"pothole", "graffiti"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetChannelState(ctx, "voice:call:CA1", `{"said":"ñ"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RequestByToken(ctx, "TOKEN"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("unknown token: %v, want not found", err)
	}
}

// A reporter who gives only a name is kept: a contact with the name alone.
func TestNameOnlyReporterKept(t *testing.T) {
	t.Parallel()
	for name, mods := range map[string][]func(*core.Options){
		// Nothing to answer with: the one-statement fast path, had the
		// reporter given a phone number or an email address.
		"no sender":    nil,
		"email sender": {func(o *core.Options) { o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: &fakeSender{}} }},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := testenv.Core(t, mods...)
			ctx := context.Background()
			in := newPothole("")
			in.Reporter = core.Reporter{Name: "  Ana Reyes "}
			r, err := c.CreateRequest(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if r.ContactID == nil {
				t.Fatal("the reporter was dropped: no contact")
			}
			ct, err := c.Contact(ctx, *r.ContactID)
			if err != nil || ct.Name != "Ana Reyes" || ct.Phone != "" || ct.Email != "" {
				t.Errorf("contact %+v, %v; want Ana Reyes alone", ct, err)
			}
			stored, err := c.Request(ctx, r.ID)
			if err != nil || stored.ContactID == nil || *stored.ContactID != ct.ID {
				t.Errorf("stored request %+v, %v; want contact %d", stored, err, ct.ID)
			}
			// Anonymous stays anonymous.
			in.Reporter = core.Reporter{}
			if r, err := c.CreateRequest(ctx, in); err != nil || r.ContactID != nil {
				t.Errorf("anonymous report: contact %v, %v", r.ContactID, err)
			}
		})
	}
}

func TestMediaURL(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t)
	ctx := context.Background()
	for _, tc := range []struct{ in, want string }{
		{"https://photos.example/p/1.jpg", "https://photos.example/p/1.jpg"},
		{"HTTPS://Photos.Example/P/1.JPG?Size=Large#Top", "https://photos.example/P/1.JPG?Size=Large#Top"},
		{"http://PHOTOS.example:8080/a b.jpg", "http://photos.example:8080/a%20b.jpg"},
		{"https://[2001:DB8::1]/p.jpg", "https://[2001:db8::1]/p.jpg"},
	} {
		in := newPothole("")
		in.MediaURL = tc.in
		r, err := c.CreateRequest(ctx, in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		stored, err := c.Request(ctx, r.ID)
		if err != nil || stored.MediaURL != tc.want || r.MediaURL != tc.want {
			t.Errorf("%q stored as %q (returned %q), want %q (%v)", tc.in, stored.MediaURL, r.MediaURL, tc.want, err)
		}
	}
	before := rowCount(t, c)
	for _, bad := range []string{
		"photos.example/1.jpg",           // not absolute
		"/p/1.jpg",                       // a path
		"ftp://photos.example/1.jpg",     // another scheme
		"javascript:alert(1)",            // another scheme
		"http:photos.example",            // opaque
		"https:///p/1.jpg",               // no host
		"https://:443/p/1.jpg",           // no host, a port
		"https://ana:pw@photos.example/", // user info
		"https://ana@photos.example/",    // user info
		"https://photos example/",        // a space in the host
		"http://[::1",                    // does not parse
		" https://photos.example/x",      // a space first: the channel trims
		"https://photos.example/" + strings.Repeat("x", core.MaxMediaURL),
	} {
		in := newPothole("")
		in.MediaURL = bad
		_, err := c.CreateRequest(ctx, in)
		var ve *core.ValidationError
		if !errors.As(err, &ve) || ve.Field != "media_url" {
			t.Errorf("%q: err = %v, want refused on media_url", bad, err)
		}
	}
	if after := rowCount(t, c); after != before {
		t.Errorf("refused media_url wrote %d rows", after-before)
	}
}

// Email addresses and phone numbers are masked in public text; links,
// dates, ZIP+4 codes and house numbers are not.
func TestPublicText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"call me at 530-555-0123", "call me at [phone removed]"},
		// A position is no phone number; a number with dots is.
		{"39.51380, -121.55640", "39.51380, -121.55640"},
		{"near 39.43000, -121.53000 by the ditch", "near 39.43000, -121.53000 by the ditch"},
		{"call 530.555.0123", "call [phone removed]"},
		{"(530) 555-0123 or +1 530 555 0123", "[phone removed] or [phone removed]"},
		{"530.555.0123", "[phone removed]"},
		{"5305550123", "[phone removed]"},
		{"ana.reyes@example.com", "[email removed]"},
		{"1735 Montgomery St, call 530-555-0123", "1735 Montgomery St, call [phone removed]"},
		{"1735 Montgomery St, Oroville, CA 95965-1234", "1735 Montgomery St, Oroville, CA 95965-1234"},
		{"since 2026-03-01", "since 2026-03-01"},
		{"request 123456", "request 123456"},
		{"same as https://fms.example/report/7000100", "same as https://fms.example/report/7000100"},
		{"see HTTP://FMS.example/report/7000100?phone=1 and call 530 555 0123", "see HTTP://FMS.example/report/7000100?phone=1 and call [phone removed]"},
		{"www.fms.example/report/7000100.", "www.fms.example/report/7000100."},
		{"https://fms.example/r/7000100 5305550123", "https://fms.example/r/7000100 [phone removed]"},
		{"5305550123 https://fms.example/r/7000100", "[phone removed] https://fms.example/r/7000100"},
		{"https://fms.example/?who=ana@example.com", "https://fms.example/?who=[email removed]"},
		// A local number of seven digits is a phone number, whatever its digits.
		{"call 555-0123 after six", "call [phone removed] after six"},
		{"or 555-0199", "or [phone removed]"},
		// Every link keeps its digits, not only the first.
		{"https://a.example/r/7000100 and https://b.example/r/7000200", "https://a.example/r/7000100 and https://b.example/r/7000200"},
	} {
		if got := core.PublicText(tc.in); got != tc.want {
			t.Errorf("PublicText(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
	r := core.Request{Address: "12 Bird St, text 530-555-0123", AddressID: "012-345-678 ana@example.com", Zipcode: "5305550123"}
	if got := r.PublicAddress(); got != "12 Bird St, text [phone removed]" {
		t.Errorf("PublicAddress = %q", got)
	}
	if got := r.PublicAddressID(); got != "012-345-678 [email removed]" {
		t.Errorf("PublicAddressID = %q", got)
	}
	if got := r.PublicZipcode(); got != "[phone removed]" {
		t.Errorf("PublicZipcode = %q", got)
	}
}
