package web_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"townline/cities"
	"townline/core"
	"townline/internal/testenv"
)

// A resident reports on the web: as a guest with an email, or with
// nothing; placed by a misspelled address or a pin; asked before filing
// when an open request of its kind is near; sent to the tracking page,
// which thanks them and never shows who they are. Bad input comes back
// beside its field with nothing filed, and a flood from one address is
// refused.
func TestReportOnTheWeb(t *testing.T) {
	t.Parallel()
	box := &testenv.Sender{}
	c := testenv.Core(t, func(o *core.Options) {
		o.Senders = map[core.Channel]core.Sender{core.ChannelEmail: box, core.ChannelSMS: box}
	})
	ctx := context.Background()
	if _, err := c.LoadPlaces(ctx, cities.OrovillePlacesName, cities.OrovillePlaces); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, c)
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(form url.Values) (int, string, string) {
		t.Helper()
		resp, err := cl.PostForm(srv.URL+"/report", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(body)
	}
	count := func() (n int) {
		c.Pool().QueryRow(ctx, "SELECT count(*) FROM requests").Scan(&n)
		return n
	}

	code, form := get(t, srv.URL+"/report")
	if code != 200 || !bytes.Contains(form, []byte(`<select id="n-service" name="service"`)) ||
		!bytes.Contains(form, []byte(`src="/static/form.js"`)) {
		t.Fatalf("the form: %d\n%s", code, form)
	}
	if code, js := get(t, srv.URL+"/static/form.js"); code != 200 || !bytes.Contains(js, []byte("getCurrentPosition")) {
		t.Errorf("the form's script: %d", code)
	}

	// A guest with an email, placed by a misspelled address.
	guest := url.Values{"service": {"pothole"}, "description": {"Deep hole, bikes swerve"}, "address": {"1500 myres st"},
		"name": {"Ophelia Vantongeren"}, "email": {"ophelia.v@example.org"}, "reply_by": {"email"}}
	code, where, body := post(guest)
	var id int64
	if _, err := fmt.Sscanf(where, "/requests/%d?filed=1", &id); code != http.StatusSeeOther || err != nil {
		t.Fatalf("filing: %d %q\n%s", code, where, body)
	}
	r, err := c.Request(ctx, id)
	if err != nil || r.Channel != core.ChannelWeb || r.Address != "1500 Myers Street" || r.Department != "public-works" {
		t.Fatalf("the request: %+v, %v", r, err)
	}
	sent(t, box, "ophelia.v@example.org", regexp.MustCompile(fmt.Sprintf(`(#%d)\b`, id)))
	code, page := get(t, srv.URL+where)
	if code != 200 || !bytes.Contains(page, []byte(fmt.Sprintf("Thank you: your report is request #%d.", id))) ||
		!bytes.Contains(page, []byte("The city aims to respond by")) {
		t.Errorf("the page after filing: %d\n%s", code, page)
	}
	for _, secret := range []string{"Ophelia", "Vantongeren", "ophelia.v@example.org"} {
		if bytes.Contains(page, []byte(secret)) {
			t.Errorf("the tracking page shows %q", secret)
		}
	}

	// A guest who gives nothing, with a pin: filed, told nothing.
	code, where, _ = post(url.Values{"service": {"graffiti-public"}, "lat": {"39.5070"}, "lng": {"-121.5610"}, "reply_by": {"email"}})
	if _, err := fmt.Sscanf(where, "/requests/%d?filed=1", &id); code != http.StatusSeeOther || err != nil {
		t.Fatalf("an anonymous report: %d %q", code, where)
	}
	if out, _ := c.Messages(ctx, id); len(out) != 0 {
		t.Errorf("an anonymous report sent %+v", out)
	}

	// Near the open pothole: asked first; following it joins it.
	near := url.Values{"service": {"pothole"}, "address": {"1505 Myers Street"}, "email": {"pat@example.org"}, "reply_by": {"email"}}
	before := count()
	code, _, body = post(near)
	if code != 200 || !strings.Contains(body, "Already reported nearby?") || count() != before {
		t.Fatalf("a pothole next to another: %d, want the question and nothing filed\n%s", code, body)
	}
	near.Set("same_as", fmt.Sprint(r.ID))
	code, where, _ = post(near)
	if _, err := fmt.Sscanf(where, "/requests/%d?filed=1", &id); code != http.StatusSeeOther || err != nil {
		t.Fatalf("following it: %d %q", code, where)
	}
	if j, _ := c.Request(ctx, id); j.DuplicateOf == nil || *j.DuplicateOf != r.ID {
		t.Errorf("following #%d: duplicate of %v", r.ID, j.DuplicateOf)
	}

	// Bad input: beside its field, nothing filed.
	before = count()
	for _, tc := range []struct {
		form    url.Values
		problem string
	}{
		{url.Values{"address": {"1500 Myers Street"}}, "Pick the kind of problem."},
		{url.Values{"service": {"pothole"}, "lat": {"40.7"}, "lng": {"-74.0"}}, "is outside Oroville"},
		{url.Values{"service": {"pothole"}, "address": {"1500 Myers Street"}, "email": {"not-an-address"}}, "is not a valid email address"},
		{url.Values{"service": {"nonsense"}, "address": {"1500 Myers Street"}}, "is not a service of Oroville"},
	} {
		code, _, body := post(tc.form)
		if code != http.StatusBadRequest || !strings.Contains(body, `class="field-problem" role="alert">`) || !strings.Contains(body, tc.problem) {
			t.Errorf("%v: %d, want 400 with %q beside the field", tc.form, code, tc.problem)
		}
	}
	upload := func(name string, data []byte) (int, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("service", "graffiti-public")
		mw.WriteField("lat", "39.5071")
		mw.WriteField("lng", "-121.5640")
		fw, _ := mw.CreateFormFile("photos", name)
		fw.Write(data)
		mw.Close()
		resp, err := cl.Post(srv.URL+"/report", mw.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := upload("notes.txt", []byte("just words")); code != http.StatusBadRequest || !strings.Contains(body, "not a photo") {
		t.Errorf("a text file as a photo: %d", code)
	}
	var img bytes.Buffer
	png.Encode(&img, image.NewGray(image.Rect(0, 0, 8, 8)))
	huge := append(img.Bytes(), make([]byte, int(c.Blobs().Max()))...)
	if code, body := upload("huge.png", huge); code != http.StatusBadRequest || !strings.Contains(body, "larger than the limit") {
		t.Errorf("a photo over the limit: %d", code)
	}
	if n := count(); n != before {
		t.Errorf("bad forms filed %d requests", n-before)
	}

	// A flood from one address: refused after the hour's share.
	refused := 0
	for range 25 {
		if code, _, _ := post(url.Values{}); code == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused == 0 {
		t.Error("25 more reports from one address in a minute were all taken")
	}
}

// Every time a public page shows is the city's, whatever the server's
// zone (here UTC).
func TestPublicTimesAreTheCitys(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t)
	ctx := context.Background()
	lat, lng := 39.5090, -121.5590
	r, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole", Lat: &lat, Lng: &lng})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, time.July, 4, 23, 30, 0, 0, time.UTC) // 4:30 PM in Oroville
	if _, err := c.Pool().Exec(ctx, `UPDATE requests SET requested_at = $2, expected_at = $3 WHERE id = $1`,
		r.ID, at, at.Add(2*time.Hour)); err != nil { // due at 6:30 PM the same day there: July 5 in UTC
		t.Fatal(err)
	}
	if _, err := c.Pool().Exec(ctx, `UPDATE request_events SET at = $2 WHERE request_id = $1`, r.ID, at); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, c)
	_, page := get(t, srv.URL+fmt.Sprintf("/requests/%d?filed=1", r.ID))
	for _, want := range []string{"Saturday, July 4, 2026 4:30 PM", "Jul 4, 4:30 PM", "Expected by</th><td>Saturday, July 4<",
		"The city aims to respond by Saturday, July 4."} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the tracking page lacks %q (city time)", want)
		}
	}
	// The home page lists the last 90 days: a report of two days ago.
	recent := time.Now().Add(-48 * time.Hour).Truncate(time.Hour)
	if _, err := c.Pool().Exec(ctx, `UPDATE requests SET requested_at = $2 WHERE id = $1`, r.ID, recent); err != nil {
		t.Fatal(err)
	}
	want := recent.In(c.City().Location).Format("Jan 2, 3:04 PM")
	if _, home := get(t, srv.URL+"/"); !bytes.Contains(home, []byte(want)) || want == recent.UTC().Format("Jan 2, 3:04 PM") {
		t.Errorf("the home page does not show the report at %s, city time", want)
	}
}

// The public pages speak Spanish when asked (?lang=es, then remembered),
// or when the browser prefers it; English otherwise.
func TestPublicPagesInSpanish(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t)
	ctx := context.Background()
	lat, lng := 39.5095, -121.5585
	r, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole", Lat: &lat, Lng: &lng})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, c)
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	read := func(path string, header ...string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	pothole, _ := c.City().Service("pothole")
	if body := read("/report?lang=es"); !strings.Contains(body, `<html lang="es">`) || !strings.Contains(body, "Tipo de problema") ||
		!strings.Contains(body, ">"+pothole.NameIn("es")+" (") || !strings.Contains(body, "Enviar el reporte") {
		t.Errorf("the report form in Spanish:\n%s", body)
	}
	// The map opens on the middle of the city.
	center := c.City().Boundary.Bound().Center()
	if body := read("/report?lang=es"); !strings.Contains(body, fmt.Sprintf(`data-lat="%v" data-lng="%v"`, center.Lat(), center.Lon())) {
		t.Errorf("the report form's map is not on the city's middle, %v:\n%s", center, body)
	}
	// The services' questions, their choices and hints, in Spanish too.
	for _, want := range []string{"¿Qué tan grande es?", ">Más pequeño que un plato</option>", "¿Qué tipo de animal?",
		`placeholder="Letras y números de la placa, como 1234567"`, "> Muebles o colchones</label>"} {
		if body := read("/report?lang=es"); !strings.Contains(body, want) {
			t.Errorf("the report form in Spanish lacks %q", want)
		}
	}

	// Remembered: the next page is Spanish too, dates and all.
	page := read(fmt.Sprintf("/requests/%d?filed=1", r.ID))
	for _, want := range []string{"Gracias: su reporte es el número", "Recibido", pothole.NameIn("es"), " de " + monthES(r.RequestedAt)} {
		if !strings.Contains(page, want) {
			t.Errorf("the tracking page in Spanish lacks %q", want)
		}
	}
	if body := read("/?lang=en"); !strings.Contains(body, "Recent reports") {
		t.Error("?lang=en does not switch back")
	}
	if body := read("/report?lang=en"); !strings.Contains(body, "How big is it?") || !strings.Contains(body, ">Smaller than a dinner plate</option>") {
		t.Error("the report form in English lost its questions")
	}
	// A new visitor whose browser prefers Spanish.
	cl.Jar, _ = cookiejar.New(nil)
	if body := read("/", "Accept-Language", "en;q=0.5, es-MX;q=0.9"); !strings.Contains(body, "Reportes recientes") {
		t.Error("a browser preferring Spanish gets English")
	}
	if body := read("/", "Accept-Language", "fr-FR, en;q=0.3"); !strings.Contains(body, "Recent reports") {
		t.Error("a browser preferring French and then English gets Spanish")
	}
}

func monthES(t time.Time) string {
	return []string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
		"octubre", "noviembre", "diciembre"}[t.In(time.FixedZone("", -8*3600)).Month()-1]
}

// The public list of recent requests: filtered by service, status and
// neighbourhood, fifty at a time with a link to the older ones, and the
// same requests as an Atom feed.
func TestRecentList(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	var potholes []int64
	for i := range 53 {
		lat, lng := 39.5000+float64(i)*0.0008, -121.5700 // each apart
		r, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole", Lat: &lat, Lng: &lng})
		if err != nil {
			t.Fatal(err)
		}
		potholes = append(potholes, r.ID)
	}
	downLat, downLng := 39.5138, -121.5564 // downtown
	graffiti, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "graffiti-public",
		Lat: &downLat, Lng: &downLng, Address: "1735 Montgomery St"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ChangeStatus(ctx, graffiti.ID, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved, By: core.Actor{Name: "t"}}); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, c)
	link := func(id int64) string { return fmt.Sprintf(`<a href="/requests/%d">`, id) }

	_, page := get(t, srv.URL+"/requests?service=pothole")
	older := regexp.MustCompile(`href="/requests\?([^"]+)">Older reports`).FindSubmatch(page)
	if older == nil || bytes.Count(page, []byte(`<tr data-id=`)) != 50 || !bytes.Contains(page, []byte(link(potholes[52]))) ||
		bytes.Contains(page, []byte(link(graffiti.ID))) {
		t.Fatalf("the first page of potholes:\n%s", page)
	}
	next, _ := url.QueryUnescape(string(older[1]))
	_, page2 := get(t, srv.URL+"/requests?"+strings.ReplaceAll(next, "+", "%2B"))
	if bytes.Count(page2, []byte(`<tr data-id=`)) != 3 || !bytes.Contains(page2, []byte(link(potholes[0]))) ||
		bytes.Contains(page2, []byte(link(potholes[3]))) || bytes.Contains(page2, []byte("Older reports")) {
		t.Errorf("the second page: want the 3 oldest potholes alone\n%s", page2)
	}
	fiftieth, err := c.Request(ctx, potholes[50])
	if err != nil {
		t.Fatal(err)
	}
	before := url.QueryEscape(fiftieth.RequestedAt.UTC().Format(time.RFC3339Nano))
	if _, p := get(t, srv.URL+"/requests?service=pothole&before="+before); bytes.Count(p, []byte(`<tr data-id=`)) != 50 ||
		bytes.Contains(p, []byte("Older reports")) {
		t.Errorf("exactly fifty older potholes: want them on one page, with no link to more\n%s", p)
	}
	if _, p := get(t, srv.URL+"/requests?district=sr70"); bytes.Count(p, []byte(`<tr data-id=`)) != 50 ||
		!bytes.Contains(p, []byte("Older reports")) || bytes.Contains(p, []byte(link(graffiti.ID))) {
		t.Errorf("the SR 70 corridor: want fifty of its potholes and a link to more\n%s", p)
	}
	if _, p := get(t, srv.URL+"/requests?status=closed"); !bytes.Contains(p, []byte(link(graffiti.ID))) || bytes.Contains(p, []byte(link(potholes[0]))) {
		t.Error("closed ones: want the graffiti alone")
	}
	if _, p := get(t, srv.URL+"/requests?district=downtown"); !bytes.Contains(p, []byte(link(graffiti.ID))) || bytes.Contains(p, []byte(link(potholes[0]))) {
		t.Error("downtown: want the graffiti, not the potholes outside it")
	}

	resp, err := http.Get(srv.URL + "/feeds/requests.atom?service=graffiti-public")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var feed struct {
		Title   string `xml:"title"`
		Entries []struct {
			Title   string `xml:"title"`
			ID      string `xml:"id"`
			Summary string `xml:"summary"`
		} `xml:"entry"`
	}
	if err := xml.NewDecoder(resp.Body).Decode(&feed); err != nil || resp.Header.Get("Content-Type") != "application/atom+xml; charset=utf-8" {
		t.Fatalf("the feed: %v, %s", err, resp.Header.Get("Content-Type"))
	}
	if len(feed.Entries) != 1 || feed.Entries[0].Title != fmt.Sprintf("#%d Graffiti on public property", graffiti.ID) ||
		feed.Entries[0].ID != fmt.Sprintf("http://311.test/requests/%d", graffiti.ID) || !strings.Contains(feed.Title, "Graffiti") ||
		feed.Entries[0].Summary != "Closed · 1735 Montgomery St" {
		t.Errorf("the graffiti feed: %+v", feed)
	}
}
