package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"townline/core"
	"townline/internal/server"
	"townline/internal/testenv"
)

// A guest reports a pothole from a phone-sized screen in a real browser:
// the kind of problem, a few words, a pin on the map and a photo from the
// phone, and lands on the request's tracking page, which thanks them and
// shows the photo. Later, in Spanish, she signs in with a code texted to
// her phone and finds that report beside the one she texted before; she
// adds her email by the link mailed to it, and the one she mailed joins
// them. Screenshots are left in $TMPDIR/townline-screenshots.
func TestBrowserGuestReports(t *testing.T) {
	t.Parallel()
	box, texts := &testenv.Sender{}, &testenv.Sender{}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	c := testenv.Core(t, func(o *core.Options) {
		o.PublicURL = base
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: box, core.ChannelSMS: texts}
	})
	ctx := context.Background()
	texted, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelSMS, From: "+15305550921", To: "+15305382401",
		Text: "graffiti at 39.5140, -121.5566", ProviderID: "SMbrowser1"})
	if err != nil {
		t.Fatal(err)
	}
	mailed, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "guest@example.org", To: "311@oroville.test",
		Subject: "Dead animal", Text: "A dead cat at 39.5150, -121.5570", ProviderID: "browser-1@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = server.New(c, server.Options{Logger: testenv.Logger(t)})
	srv.Start()
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	photo := filepath.Join(dir, "pothole.jpg")
	var jpg bytes.Buffer
	jpeg.Encode(&jpg, image.NewRGBA(image.Rect(0, 0, 64, 48)), nil)
	if err := os.WriteFile(photo, jpg.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	browser := testenv.Browser(t)
	tab, cancel := context.WithTimeout(browser, 3*time.Minute) // a budget for a busy machine
	defer cancel()
	step, shoot := testenv.Steps(t, browser, tab)
	step("a phone-sized screen opens the report form",
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(base+"/"),
		chromedp.Click(`//a[contains(., "Report a problem")]`),
		chromedp.WaitVisible(chromedp.CSS("#pick.leaflet-container")),
	)
	step("fill it in",
		chromedp.SetValue(chromedp.ID("n-service"), "pothole"),
		chromedp.SendKeys(chromedp.ID("n-description"), "Deep pothole in the bike lane"),
		chromedp.Click(chromedp.ID("pick")),
		chromedp.WaitVisible(chromedp.CSS("#pick .leaflet-marker-icon")),
		chromedp.SetUploadFiles(chromedp.ID("n-photos"), []string{photo}),
		chromedp.SendKeys(chromedp.ID("n-email"), "guest@example.org"),
		chromedp.SendKeys(chromedp.ID("n-phone"), "530-555-0921"),
		shoot("report-phone.png"),
		chromedp.Click(`//button[contains(., "Send the report")]`),
		chromedp.WaitVisible(`//p[@class="thanks" and contains(., "Thank you: your report is request #")]`),
		chromedp.WaitVisible(chromedp.CSS(`img.photo`)),
		shoot("tracking-phone.png"),
	)
	where, err := chromedp.Run(tab, chromedp.Location())
	var id int64
	if _, scan := fmt.Sscanf(where, base+"/requests/%d?filed=1", &id); err != nil || scan != nil {
		t.Fatalf("after reporting, the browser is at %q: %v", where, err)
	}
	r, err := c.Request(context.Background(), id)
	if err != nil || r.Channel != core.ChannelWeb || r.ServiceCode != "pothole" || r.Lat == nil || r.PhotoID == 0 {
		t.Errorf("the request filed: %+v, %v", r, err)
	}
	body, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("body")))
	if err != nil || strings.Contains(body, "guest@example.org") || strings.Contains(body, "0921") {
		t.Errorf("the tracking page shows the guest's address or phone: %v", err)
	}

	step("the same in Spanish: a streetlight out",
		chromedp.Navigate(base+"/report?lang=es"),
		chromedp.WaitVisible(chromedp.CSS("#pick.leaflet-container")),
		chromedp.SetValue(chromedp.ID("n-service"), "streetlight"),
		chromedp.SendKeys(chromedp.ID("n-description"), "La luz de la esquina no prende"),
		chromedp.Click(chromedp.ID("pick")),
		chromedp.WaitVisible(chromedp.CSS("#pick .leaflet-marker-icon")),
		chromedp.SendKeys(chromedp.ID("n-phone"), "530-555-0921"),
		chromedp.Click(`//input[@name="reply_by" and @value="sms"]`),
		chromedp.Click(`//button[contains(., "Enviar el reporte")]`),
		// The pothole, 0 m away, is of the same group: offered, declined.
		chromedp.WaitVisible(`//*[contains(., "El mismo: seguir el #")]`),
		chromedp.Click(`//button[contains(., "Ninguno: reportarlo como nuevo")]`),
		chromedp.WaitVisible(`//p[@class="thanks" and contains(., "Gracias: su reporte es el número #")]`),
		shoot("tracking-phone-es.png"),
	)
	where, err = chromedp.Run(tab, chromedp.Location())
	var idES int64
	if _, scan := fmt.Sscanf(where, base+"/requests/%d?filed=1", &idES); err != nil || scan != nil {
		t.Fatalf("after reporting in Spanish, the browser is at %q: %v", where, err)
	}
	step("the list of recent reports shows it on a map, a pin to its page",
		chromedp.Navigate(base+"/requests"),
		chromedp.WaitVisible(chromedp.CSS("#places .leaflet-marker-icon")),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#places .leaflet-marker-icon[title="#%d"]`, id))),
		chromedp.WaitVisible(fmt.Sprintf(`//div[contains(@class, "leaflet-popup")]//a[@href="/requests/%d"]`, id)),
		shoot("list-phone.png"),
	)
	step("sign in, in Spanish, by a code texted",
		chromedp.Navigate(base+"/signin?lang=es"),
		chromedp.SendKeys(chromedp.ID("s-address"), "530 555 0921"),
		chromedp.Click(`//button[contains(., "Envíenme un código")]`),
		chromedp.WaitVisible(`//p[@class="thanks" and contains(., "Enviamos un código por texto a")]`),
	)
	code := sent(t, texts, "+15305550921", regexp.MustCompile(`entrar es (\d{6})`))
	row := func(id int64) string { return fmt.Sprintf(`//a[@href="/requests/%d"]`, id) }
	step("the code: her reports by text and on the web",
		chromedp.SendKeys(chromedp.ID("s-code"), code),
		chromedp.Click(`//button[contains(., "Entrar")]`),
		chromedp.WaitVisible(`//h1[contains(., "Sus reportes")]`),
		chromedp.WaitVisible(row(id)),
		chromedp.WaitVisible(row(idES)),
		chromedp.WaitVisible(row(texted.RequestID)),
		shoot("account-phone.png"),
	)
	if html, err := chromedp.Run(tab, chromedp.OuterHTML(chromedp.CSS("main"))); err != nil || strings.Contains(html, fmt.Sprintf(`"/requests/%d"`, mailed.RequestID)) {
		t.Errorf("the mailed report shows before the email is added: %v", err)
	}
	step("add her email",
		chromedp.SendKeys(chromedp.ID("a-address"), "guest@example.org"),
		chromedp.Click(`//button[contains(., "Envíenme un código")]`),
		chromedp.WaitVisible(`//p[@class="thanks" and contains(., "Enviamos un enlace y un código a guest@example.org")]`),
	)
	token := sent(t, box, "guest@example.org", regexp.MustCompile(`/signin/link\?token=(\S+)`))
	step("the mailed link: every report, by text, mail and the web",
		chromedp.Navigate(base+"/signin/link?token="+token),
		chromedp.Click(`//button[contains(., "Entrar")]`),
		chromedp.WaitVisible(row(mailed.RequestID)),
		chromedp.WaitVisible(row(id)),
		chromedp.WaitVisible(row(texted.RequestID)),
		shoot("account-all.png"),
	)
	t.Logf("screenshots in %s", testenv.Shots)
}
