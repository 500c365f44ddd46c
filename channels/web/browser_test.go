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
// shows the photo. Screenshots are left in $TMPDIR/townline-screenshots.
func TestBrowserGuestReports(t *testing.T) {
	t.Parallel()
	box := &mailbox{}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	c := testenv.Core(t, func(o *core.Options) {
		o.PublicURL = base
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: box}
	})
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
	if err != nil || strings.Contains(body, "guest@example.org") {
		t.Errorf("the tracking page shows the guest's address: %v", err)
	}
	t.Logf("screenshots in %s", testenv.Shots)
}
