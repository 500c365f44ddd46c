package staff_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"townline/channels/email"
	"townline/channels/sms"
	"townline/core"
	"townline/internal/faketwilio"
	"townline/internal/server"
	"townline/internal/smtpsink"
	"townline/internal/testenv"
)

// A dispatcher works a text, a mail, a call and an Open311 report in a
// real browser: the text appears in the open inbox without a reload, each
// page shows what the resident wrote as text (no script runs), each reply
// reaches the resident the way they came (a text, a mail in their thread,
// a text to a caller who accepted texts, a mail to the Open311 reporter),
// closing the text with a reason tells its sender, a request filed at the
// front desk for a caller reaches the caller's phone and their text back
// joins it, and Parks staff cannot open Public Works' request. Screenshots of the inbox, a request page and
// a map are left in $TMPDIR/townline-screenshots.
func TestBrowserDispatcherWorksEveryChannel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := faketwilio.New(twilioSID, twilioToken)
	t.Cleanup(fake.Close)
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	cfg := sms.Config{AccountSID: twilioSID, AuthToken: twilioToken, From: faketwilio.CityNumber,
		APIURL: fake.URL(), PublicURL: base}
	client, err := sms.NewClient(cfg, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	mail, err := smtpsink.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mail.Close() })
	mailer, err := email.NewSender(email.Config{SMTPURL: mail.URL(), From: "311@oroville.test", CityName: "Oroville",
		Secret: []byte("browser-test-reply-secret")}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	c := testenv.Core(t, func(o *core.Options) {
		o.PublicURL = base
		o.Senders = map[core.Channel]core.Sender{core.ChannelSMS: client, core.ChannelEmail: mailer}
	})
	if _, err := c.AddUser(ctx, "desk@oroville.test", "dispatcher", "", password); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddUser(ctx, "parks@oroville.test", "staff", "parks-trees", password); err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = server.New(c, server.Options{Logger: testenv.Logger(t),
		Channels: []server.Channel{sms.NewHandler(c, cfg, testenv.Logger(t))}})
	srv.Start()
	t.Cleanup(srv.Close)

	browser := testenv.Browser(t)
	// A budget for a machine busy with every other package's tests too,
	// not a measure of speed.
	tab, cancel := context.WithTimeout(browser, 4*time.Minute)
	defer cancel()
	step, shoot := testenv.Steps(t, browser, tab)

	step("sign in",
		chromedp.Navigate(base+"/staff/?queue=all"),
		chromedp.SendKeys(chromedp.ID("email"), "desk@oroville.test"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS(`nav.queues a.on`)),
	)
	// The inbox is open, live and quiet; a text comes in.
	step("the inbox is live", chromedp.WaitReady(chromedp.CSS(`html[data-live="on"]`)))
	phone := fake.Phone("+15305550190", base+"/twilio/sms")
	const payload = `Pothole at 100 Bird Street <img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`
	resp, err := phone.Send(payload)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the text was not taken: %v %v", resp, err)
	}
	step("the text shows in the open inbox, without a reload",
		chromedp.WaitVisible(`//td[contains(., "Pothole at 100 Bird Street")]`),
		shoot("inbox.png"),
		chromedp.Click(`//tr[td[contains(., "Pothole at 100 Bird Street")]]/td/a`),
		chromedp.WaitVisible(chromedp.ID("reply")),
	)
	text, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("div[data-live=summary] p.body")))
	if err != nil || !strings.Contains(text, `<script>window.__xss=2</script>`) {
		t.Errorf("the description does not show as the resident wrote it: %q %v", text, err)
	}
	if xss, err := chromedp.Run(tab, chromedp.Evaluate[bool](`window.__xss !== undefined`)); err != nil || xss {
		t.Errorf("a resident's words ran as script: %v %v", xss, err)
	}

	step("reply",
		chromedp.SendKeys(chromedp.ID("reply"), "A crew comes Tuesday."),
		chromedp.Click(`//form[.//textarea[@id="reply"]]//button[contains(., "Send reply")]`),
		chromedp.WaitVisible(`//p[@class="flash" and contains(., "Reply queued")]`),
	)
	waitText(t, fake, "A crew comes Tuesday.")

	step("close with a reason",
		chromedp.SetValue(chromedp.ID("to"), "closed"),
		chromedp.SetValue(chromedp.ID("reason"), "resolved"),
		chromedp.SendKeys(chromedp.ID("status-note"), "Filled this morning."),
		chromedp.Click(`//button[contains(., "Change status")]`),
		chromedp.WaitVisible(`//p[@class="flash" and contains(., "Status changed")]`),
		shoot("request.png"),
	)
	waitText(t, fake, "Filled this morning.")

	// A mail: its subject and words show as written, and the reply goes
	// back in the resident's thread.
	res, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "ana@example.com", To: "311@oroville.test",
		Subject: "Graffiti <b>on the library</b>", ProviderID: "graffiti-1@example.com", // its Message-ID
		Text: `Spray paint on the library wall <script>window.__xss=3</script>`})
	if err != nil || res.RequestID == 0 {
		t.Fatalf("mail intake: %+v %v", res, err)
	}
	step("a mail's page",
		chromedp.Navigate(base+"/staff/requests/"+fmt.Sprint(res.RequestID)),
		chromedp.WaitVisible(`//strong[contains(., "Graffiti <b>on the library</b>")]`),
		chromedp.SendKeys(chromedp.ID("reply"), "We will paint over it Friday."),
		chromedp.Click(`//form[.//textarea[@id="reply"]]//button[contains(., "Send reply")]`),
		chromedp.WaitVisible(`//p[@class="flash" and contains(., "Reply queued")]`),
	)
	if xss, err := chromedp.Run(tab, chromedp.Evaluate[bool](`window.__xss !== undefined`)); err != nil || xss {
		t.Errorf("a mail's words ran as script: %v %v", xss, err)
	}
	reply, err := waitMail(t, mail, func(m smtpsink.Message) bool {
		return slices.Contains(m.To, "ana@example.com") && strings.Contains(string(m.Data), "paint over it Friday")
	})
	if err != nil {
		t.Fatal("the mail reply did not reach the SMTP server")
	}
	if !strings.Contains(string(reply.Data), "\nReferences: <graffiti-1@example.com>") {
		t.Errorf("the reply is not in the resident's thread:\n%s", reply.Data)
	}

	// A caller who accepted texts, and an Open311 report with an email:
	// all four channels in the one list, each answered the way it came.
	const caller = "+15305550191"
	call, err := c.FileCallReport(ctx, core.CallReport{CallID: "CAbrowser", Seq: 1, Said: "a dead dog on Oro Dam Boulevard",
		Request: core.NewRequest{Channel: core.ChannelVoice, ServiceCode: "animal-dead",
			Description: "A dead dog on Oro Dam Boulevard", Address: "Oro Dam Blvd", Reporter: core.Reporter{Phone: caller}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AcceptTexts(ctx, caller, call.Request.ID); err != nil {
		t.Fatal(err)
	}
	lat, lng := 39.5138, -121.5564
	placed, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
		Description: "By the post office", Lat: &lat, Lng: &lng, Address: "1735 Montgomery Street",
		Reporter: core.Reporter{Email: "ben@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	step("one list of every channel",
		chromedp.Navigate(base+"/staff/?queue=all"),
		chromedp.WaitVisible(`//td[contains(., "Pothole at 100 Bird Street")]`),
		chromedp.WaitVisible(`//td[contains(., "Spray paint on the library wall")]`),
		chromedp.WaitVisible(`//td[contains(., "A dead dog on Oro Dam Boulevard")]`),
		chromedp.WaitVisible(`//td[contains(., "By the post office")]`),
	)
	step("reply to the caller, by text",
		chromedp.Navigate(base+"/staff/requests/"+fmt.Sprint(call.Request.ID)),
		chromedp.WaitVisible(`//p[contains(., "Goes by text to `+caller+`: the caller accepted texts.")]`),
		chromedp.SendKeys(chromedp.ID("reply"), "Animal control picks it up today."),
		chromedp.Click(`//form[.//textarea[@id="reply"]]//button[contains(., "Send reply")]`),
		chromedp.WaitVisible(`//p[@class="flash" and contains(., "Reply queued")]`),
	)
	waitText(t, fake, "Animal control picks it up today.")

	// A placed request shows on a map, here without tiles (none
	// configured): the pin and the address still say where.
	step("reply to the Open311 reporter, by mail, and the map",
		chromedp.Navigate(base+"/staff/requests/"+fmt.Sprint(placed.ID)),
		chromedp.WaitVisible(chromedp.CSS("#map .leaflet-marker-icon")),
		shoot("map.png"),
		chromedp.WaitVisible(`//p[contains(., "Goes by mail to ben@example.com")]`),
		chromedp.SendKeys(chromedp.ID("reply"), "The crew fills it Monday."),
		chromedp.Click(`//form[.//textarea[@id="reply"]]//button[contains(., "Send reply")]`),
		chromedp.WaitVisible(`//p[@class="flash" and contains(., "Reply queued")]`),
	)
	if _, err := waitMail(t, mail, func(m smtpsink.Message) bool {
		return slices.Contains(m.To, "ben@example.com") && strings.Contains(string(m.Data), "fills it Monday")
	}); err != nil {
		t.Fatal("the Open311 reporter's mail did not reach the SMTP server")
	}

	// The front desk: a caller who wants texts, filed with a pin on the
	// map; their phone gets the acknowledgment, their text back joins the
	// request, and the numbers count it as a phone request.
	const deskCaller = "+15305550192"
	step("file for a caller",
		chromedp.Navigate(base+"/staff/"),
		chromedp.Click(`//a[contains(., "New request")]`),
		chromedp.WaitVisible(chromedp.CSS("#pick .leaflet-container, #pick.leaflet-container")),
		chromedp.Click(`//input[@name="channel" and @value="phone"]`),
		chromedp.SendKeys(chromedp.ID("n-phone"), "530-555-0192"),
		chromedp.SendKeys(chromedp.ID("n-name"), "Carmen Ruiz"),
		chromedp.Click(`//input[@name="reply_by" and @value="sms"]`),
		chromedp.SetValue(chromedp.ID("n-service"), "pothole"),
		chromedp.SendKeys(chromedp.ID("n-description"), "Caller says the hole is a foot deep"),
		chromedp.Click(chromedp.ID("pick")), // the pin, in the middle of the city
		chromedp.WaitVisible(chromedp.CSS("#pick .leaflet-marker-icon")),
		shoot("new-request.png"),
		chromedp.Click(`//button[contains(., "File the request")]`),
		chromedp.WaitVisible(`//p[@class="flash" and contains(., "Filed #")]`),
	)
	where, err := chromedp.Run(tab, chromedp.Location())
	var deskID int64
	if _, scan := fmt.Sscanf(where, base+"/staff/requests/%d", &deskID); err != nil || scan != nil {
		t.Fatalf("after filing, the browser is at %q: %v", where, err)
	}
	acked, cancelAck := context.WithTimeout(ctx, 20*time.Second)
	defer cancelAck()
	for i := 0; ; i++ {
		m, err := fake.Next(acked, i)
		if err != nil {
			t.Fatalf("the caller got no acknowledgment by text of #%d", deskID)
		}
		if m.To == deskCaller && strings.Contains(m.Body, fmt.Sprintf("#%d: got it, Pothole", deskID)) {
			break
		}
	}
	if resp, err := fake.Phone(deskCaller, base+"/twilio/sms").Send("It is next to the bus stop on the corner"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the caller's text was not taken: %v %v", resp, err)
	}
	step("the caller's text joins the request, and the numbers count a phone request",
		chromedp.WaitVisible(`//ol[@data-live="timeline"]//div[contains(., "It is next to the bus stop on the corner")]`),
		chromedp.Navigate(base+"/staff/numbers"),
		chromedp.WaitVisible(`//th[normalize-space(.)="phone"]`),
	)

	// Parks staff, signed in, cannot open Public Works' request.
	step("Parks is turned away from Public Works' request",
		chromedp.Click(`//button[contains(., "Sign out")]`),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("email"), "parks@oroville.test"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS(`nav.queues a.on`)),
		chromedp.Navigate(base+"/staff/requests/"+fmt.Sprint(placed.ID)),
		chromedp.WaitVisible(`//h1[contains(., "Not found")]`),
	)
	if body, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("body"))); err != nil || strings.Contains(body, "By the post office") {
		t.Errorf("Parks saw Public Works' request: %v", err)
	}
	t.Logf("screenshots in %s", testenv.Shots)
}

// waitMail waits for a message matching at the SMTP server.
func waitMail(t *testing.T, mail *smtpsink.Sink, match func(smtpsink.Message) bool) (smtpsink.Message, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return mail.Wait(ctx, match)
}

// waitText waits for the fake Twilio to be asked to send a text holding want.
func waitText(t *testing.T, fake *faketwilio.Server, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := 0; ; i++ {
		m, err := fake.Next(ctx, i)
		if err != nil {
			t.Fatalf("no text with %q reached Twilio", want)
		}
		if strings.Contains(m.Body, want) {
			return
		}
	}
}
