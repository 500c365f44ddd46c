package staff_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"townline/cities"
	"townline/core"
)

// The front desk: a dispatcher files for a caller, who hears back by
// text; the form finds a known resident; bad input comes back beside its
// field with nothing filed; staff filing for another department are
// told where it went.
func TestNewRequest(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	if _, err := b.c.LoadPlaces(ctx, cities.OrovillePlacesName, cities.OrovillePlaces); err != nil {
		t.Fatal(err)
	}
	desk := b.signIn("desk@oroville.test")
	if code, body := b.get(desk, "/staff/"); code != 200 || !strings.Contains(body, `href="/staff/requests/new"`) {
		t.Errorf("the inbox offers no new request: %d", code)
	}
	code, body := b.get(desk, "/staff/requests/new")
	if code != 200 || !strings.Contains(body, `name="reply_by" value="sms"`) || !strings.Contains(body, `<option value="pothole"`) {
		t.Fatalf("the form: %d\n%s", code, body)
	}
	// A call by default, the map on the middle of the city, no one looked
	// up yet.
	middle := b.c.City().Boundary.Bound().Center()
	if !strings.Contains(body, `value="phone" checked`) || !strings.Contains(body, fmt.Sprintf(`data-lat="%v" data-lng="%v"`, middle.Lat(), middle.Lon())) ||
		strings.Contains(body, `class="found"`) {
		t.Errorf("the empty form: not a call, not on the city's middle, or a search shown:\n%s", body)
	}
	count := func() (n int) {
		t.Helper()
		if err := b.c.Pool().QueryRow(ctx, "SELECT count(*) FROM requests").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	caller := url.Values{"channel": {"phone"}, "phone": {"(530) 555-0160"}, "name": {"Rosa Diaz"}, "language": {"en"},
		"reply_by": {"sms"}, "service": {"pothole"}, "description": {"Deep hole by the curb"}, "address": {"1500 myres st"}}
	// Bad input: each problem beside its field, nothing filed.
	before := count()
	for _, tc := range []struct {
		change  url.Values
		problem string
	}{
		{url.Values{"phone": {"555"}}, `is not a valid phone number`},
		{url.Values{"phone": {""}}, `is needed to hear back by text`},
		{url.Values{"service": {""}}, `Pick the kind of problem.`},
		{url.Values{"address": {"somewhere nice"}}, `Not an address we can place`},
		{url.Values{"address": {""}}, `Say where it is`},
		{url.Values{"lat": {"40.7"}, "lng": {"-74.0"}}, `is outside Oroville`},
		{url.Values{"email": {"rosa@"}, "reply_by": {"email"}}, `is not a valid email address`},
	} {
		form := url.Values{}
		for k, v := range caller {
			form[k] = v
		}
		for k, v := range tc.change {
			form[k] = v
		}
		code, body := b.post(desk, "/staff/requests/new", form)
		if code != http.StatusBadRequest || !strings.Contains(body, `class="field-problem" role="alert">`) || !strings.Contains(body, tc.problem) {
			t.Errorf("%v: %d, want 400 with %q beside the field", tc.change, code, tc.problem)
		}
		if !strings.Contains(body, `value="Deep hole by the curb"`) && !strings.Contains(body, `>Deep hole by the curb</textarea>`) {
			t.Errorf("%v: the form came back without what was typed", tc.change)
		}
	}
	if n := count(); n != before {
		t.Fatalf("bad forms filed %d requests", n-before)
	}

	// The caller, filed: placed by the misspelled address, acknowledged by text.
	resp, err := desk.PostForm(b.srv.URL+"/staff/requests/new", caller)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var id int64
	if _, err := fmt.Sscanf(resp.Header.Get("Location"), "/staff/requests/%d", &id); resp.StatusCode != http.StatusSeeOther || err != nil {
		t.Fatalf("filed: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	r, err := b.c.Request(ctx, id)
	if err != nil || r.Channel != core.ChannelPhone || r.Lat == nil || r.Address != "1500 Myers Street" || r.Department != "public-works" {
		t.Fatalf("the request: %+v, %v", r, err)
	}
	if !b.waitSent("+15305550160", fmt.Sprintf("#%d: got it, Pothole", id)) {
		t.Error("the caller got no acknowledgment by text")
	}
	if _, body := b.get(desk, fmt.Sprintf("/staff/requests/%d", id)); !strings.Contains(body, fmt.Sprintf("Filed #%d.", id)) ||
		!strings.Contains(body, "Rosa Diaz") {
		t.Errorf("the request page after filing lacks the flash or the caller")
	}

	// Found again by the number, however typed: with their open request.
	_, body = b.get(desk, "/staff/requests/new?phone=530.555.0160")
	if !strings.Contains(body, "Known: Rosa Diaz") || !strings.Contains(body, fmt.Sprintf(`href="/staff/requests/%d">#%d Pothole`, id, id)) ||
		!strings.Contains(body, `value="Rosa Diaz"`) {
		t.Errorf("finding the caller by number:\n%s", body)
	}
	if _, body = b.get(desk, "/staff/requests/new?email=nobody%40example.com"); !strings.Contains(body, "Not known yet") {
		t.Errorf("an unknown address is not said to be unknown")
	}
	// A number that is none is said so, beside its field.
	if code, body := b.get(desk, "/staff/requests/new?phone=12"); code != 200 || !regexp.MustCompile(`(?s)name="phone".*?class="field-problem" role="alert">`).MatchString(body) {
		t.Errorf("looking up a number that is none: %d\n%s", code, body)
	}

	// A service's questions: answered with it, a required one missing
	// beside its question.
	dog := url.Values{"channel": {"staff"}, "service": {"animal-stray"}, "lat": {"39.5050"}, "lng": {"-121.5650"}}
	code, body = b.post(desk, "/staff/requests/new", dog)
	if code != http.StatusBadRequest || !strings.Contains(body, `id="a-animal-stray-condition"`) ||
		!regexp.MustCompile(`(?s)id="a-animal-stray-condition".*?class="field-problem" role="alert">[^<]*required`).MatchString(body) {
		t.Errorf("a stray animal without its required answer: %d\n%s", code, body)
	}
	dog.Set("attr:animal-stray:condition", "alive")
	dog.Set("attr:pothole:size", "large") // another service's answer: not read
	if code, body := b.post(desk, "/staff/requests/new", dog); code != http.StatusSeeOther {
		t.Fatalf("a stray animal with its answer: %d\n%s", code, body)
	}
	var attrs string
	if err := b.c.Pool().QueryRow(ctx, "SELECT attributes::text FROM requests ORDER BY id DESC LIMIT 1").Scan(&attrs); err != nil ||
		attrs != `{"condition": ["alive"]}` {
		t.Errorf("the stray animal's answers: %s, %v", attrs, err)
	}

	// Photos: kept with the request; a file that is not one refused
	// beside the field, nothing filed.
	upload := func(name string, data []byte) (int, string) {
		t.Helper()
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, v := range map[string]string{"channel": "staff", "service": "graffiti-public", "lat": "39.5070", "lng": "-121.5610"} {
			mw.WriteField(k, v)
		}
		fw, _ := mw.CreateFormFile("photos", name)
		fw.Write(data)
		mw.Close()
		resp, err := desk.Post(b.srv.URL+"/staff/requests/new", mw.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location") + string(body)
	}
	var png bytes.Buffer
	if err := pngEncode(&png); err != nil {
		t.Fatal(err)
	}
	before = count()
	if code, body := upload("notes.txt", []byte("not a photo at all")); code != http.StatusBadRequest ||
		!strings.Contains(body, "not a photo") || count() != before {
		t.Errorf("a text file as a photo: %d, %d filed\n%s", code, count()-before, body)
	}
	code, where := upload(`C:\phone\wall.png`, png.Bytes())
	var withPhoto int64
	if _, err := fmt.Sscanf(where, "/staff/requests/%d", &withPhoto); code != http.StatusSeeOther || err != nil {
		t.Fatalf("a photo: %d %s", code, where)
	}
	if files, err := b.c.Attachments(ctx, withPhoto); err != nil || len(files) != 1 || files[0].Filename != "wall.png" {
		t.Errorf("the request's files: %+v, %v; want wall.png", files, err)
	}

	// Near an open pothole (the one at 1735 Montgomery Street): asked
	// before filing; "the same" joins it, "none of these" files anew.
	near := url.Values{"channel": {"walk_in"}, "email": {"kim@example.com"}, "reply_by": {"email"}, "service": {"pothole"},
		"address": {"1747 Montgomery St"}}
	before = count()
	code, body = b.post(desk, "/staff/requests/new", near)
	if code != http.StatusOK || !strings.Contains(body, "Already reported nearby?") ||
		!strings.Contains(body, fmt.Sprintf(`<button name="same_as" value="%d">`, b.pothole.ID)) || count() != before {
		t.Fatalf("a pothole near another: %d, want it offered before anything is filed\n%s", code, body)
	}
	for _, answer := range []url.Values{{"same_as": {fmt.Sprint(b.pothole.ID)}}, {"not_same": {"1"}}} {
		form := url.Values{}
		for k, v := range near {
			form[k] = v
		}
		for k, v := range answer {
			form[k] = v
		}
		resp, err := desk.PostForm(b.srv.URL+"/staff/requests/new", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var id int64
		fmt.Sscanf(resp.Header.Get("Location"), "/staff/requests/%d", &id)
		got, err := b.c.Request(ctx, id)
		if err != nil {
			t.Fatalf("%v: %d %s", answer, resp.StatusCode, resp.Header.Get("Location"))
		}
		joined := got.DuplicateOf != nil && *got.DuplicateOf == b.pothole.ID
		if joined != (answer.Get("same_as") != "") {
			t.Errorf("%v: duplicate of %v", answer, got.DuplicateOf)
		}
	}
	if !b.waitSent("kim@example.com", fmt.Sprintf("already reported as #%d", b.pothole.ID)) {
		t.Error("the walk-in who joined the pothole was not told so")
	}

	// A crew's own report, by Parks staff, of a Public Works problem: filed
	// with no resident, and they are told it went elsewhere.
	parks := b.signIn("parks@oroville.test")
	crew := url.Values{"channel": {"staff"}, "phone": {"+15305550161"}, "reply_by": {"sms"}, "service": {"pothole"},
		"lat": {"39.5100"}, "lng": {"-121.5600"}}
	resp, err = parks.PostForm(b.srv.URL+"/staff/requests/new", crew)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/" {
		t.Fatalf("the crew's report: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var ch string
	var contact *int64
	if err := b.c.Pool().QueryRow(ctx, "SELECT channel, contact_id FROM requests ORDER BY id DESC LIMIT 1").Scan(&ch, &contact); err != nil ||
		ch != "staff" || contact != nil {
		t.Errorf("the crew's report: channel %s, contact %v, %v; want staff and no resident", ch, contact, err)
	}
	if _, body := b.get(parks, "/staff/"); !strings.Contains(body, "It went to another department.") {
		t.Error("the crew member was not told where their report went")
	}
}

// A reporter who gave a number but came another way can be texted from
// their request's page.
func TestReachOutBox(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	lat, lng := 39.5080, -121.5580
	r, err := b.c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
		Description: "Hole", Lat: &lat, Lng: &lng, Reporter: core.Reporter{Phone: "+15305550171", Email: "lee@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	desk := b.signIn("desk@oroville.test")
	page := fmt.Sprintf("/staff/requests/%d", r.ID)
	if _, body := b.get(desk, page); !strings.Contains(body, "Reach out another way") ||
		!strings.Contains(body, `<option value="sms">A text to &#43;15305550171</option>`) || strings.Contains(body, `<option value="email">`) {
		t.Fatalf("the reach-out box:\n%s", body)
	}
	code, _ := b.post(desk, page+"/reply", url.Values{"seen": {b.seen(desk, r.ID)}, "via": {"sms"}, "body": {"Is it in the bike lane?"}})
	if code != http.StatusSeeOther {
		t.Fatalf("reach out: %d", code)
	}
	if _, body := b.get(desk, page); !strings.Contains(body, "Text queued for the resident") {
		t.Error("no word that the text was queued")
	}
	ms, _ := b.c.Messages(ctx, r.ID)
	last := ms[len(ms)-1]
	if last.Channel != core.ChannelSMS || !strings.Contains(last.Body, "Is it in the bike lane?") {
		t.Errorf("the last message: %+v, want the text", last)
	}
	// A resident who texts and gave an address too hears back by text, and
	// may be written to.
	lat, lng = spot(4)
	texted, err := b.c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelSMS, ServiceCode: "pothole",
		Description: "Hole", Lat: &lat, Lng: &lng, Reporter: core.Reporter{Phone: "+15305550172", Email: "kim@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, body := b.get(desk, fmt.Sprintf("/staff/requests/%d", texted.ID)); !strings.Contains(body, `<option value="email">Mail to kim@example.com</option>`) ||
		strings.Contains(body, `<option value="sms">`) {
		t.Errorf("the reach-out box for a texter:\n%s", body)
	}
}

// pngEncode writes a small gray PNG.
func pngEncode(w io.Writer) error { return png.Encode(w, image.NewGray(image.Rect(0, 0, 4, 4))) }
