package open311

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"townline/core"
)

func TestCreateAndFetch(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)

	res := b.postForm(t, "/open311/v2/requests.json", b.validForm())
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	if !bytes.Contains(res.body, []byte(`"account_id":null`)) {
		t.Errorf("account_id should be null: %s", res.body)
	}
	var replies []postReply
	decodeJSON(t, res, &replies)
	if len(replies) != 1 || replies[0].ID == "" || replies[0].Token == "" ||
		!strings.HasPrefix(replies[0].ServiceNotice, "Expected response by ") {
		t.Fatalf("reply %+v", replies)
	}
	id := replies[0].ID

	var list []request
	decodeJSON(t, b.get(t, "/open311/v2/requests/"+id+".json"), &list)
	var listXML xmlRequests
	decodeXML(t, b.get(t, "/open311/v2/requests/"+id+".xml"), &listXML)
	if len(list) != 1 || len(listXML.Requests) != 1 {
		t.Fatalf("want one request each: %+v %+v", list, listXML)
	}
	for i, r := range []request{list[0], listXML.Requests[0]} {
		if r.ID != id || r.Status != "open" || r.ServiceCode != "pothole" || r.ServiceName != "Pothole" ||
			r.Description != "Deep pothole in the right lane" || r.Address != "1735 Montgomery St" ||
			r.AgencyResponsible != "Public Works" || r.MediaURL != "" || r.Extended != nil ||
			!strings.HasPrefix(r.ServiceNotice, "Expected response by ") {
			t.Errorf("format %d: %+v", i, r)
		}
		if r.Lat == nil || *r.Lat != 39.5138 || r.Long == nil || *r.Long != -121.5564 {
			t.Errorf("format %d: lat/long %v %v", i, r.Lat, r.Long)
		}
		requested, err := time.Parse(time.RFC3339, r.Requested)
		if err != nil || time.Since(requested) > time.Minute {
			t.Errorf("format %d: requested_datetime %q: %v", i, r.Requested, err)
		}
		// In Oroville's zone, as the city reads its clock.
		if !strings.HasSuffix(r.Requested, "-07:00") && !strings.HasSuffix(r.Requested, "-08:00") {
			t.Errorf("format %d: requested_datetime %q is not Pacific time", i, r.Requested)
		}
		// Three business days (a pothole's target) from when it came.
		expected, err := time.Parse(time.RFC3339, r.Expected)
		pothole, _ := b.c.City().Service("pothole")
		if due := b.c.City().Due(requested, pothole); err != nil || !expected.Equal(*due) {
			t.Errorf("format %d: expected_datetime %q, want three business days after %q: %v", i, r.Expected, r.Requested, due)
		}
	}

	// The attributes reached core, cleaned.
	n, _ := parseID(id)
	stored, err := b.c.Request(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	if got := stored.Attributes; len(got) != 2 || got["size"][0] != "large" || got["in_lane"][0] != "yes" {
		t.Errorf("attributes %v", got)
	}
	if stored.Channel != core.ChannelOpen311 {
		t.Errorf("channel %q", stored.Channel)
	}
}

// A question the service does not define (FixMyStreet sends every one a
// council added) is kept for staff, never published; a bad value of a
// defined one still refuses the report.
func TestClientsOwnAttributesKeptForStaff(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	form := b.validForm()
	form.Set("attribute[fixmystreet_id]", "7000100")
	form.Set("attribute[prefer_contact]", "email")
	id, _ := b.create(t, form)
	r, err := b.c.Request(context.Background(), mustID(t, id))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Attributes["fixmystreet_id"], []string{"7000100"}) || !slices.Equal(r.Attributes["size"], []string{"large"}) {
		t.Errorf("attributes %v", r.Attributes)
	}
	for _, path := range []string{"/open311/v2/requests/" + id + ".json?extensions=true",
		"/open311/v2/requests/" + id + ".xml?extensions=true", "/open311/v2/requests.json?extensions=true"} {
		if body := b.get(t, path).body; bytes.Contains(body, []byte("7000100")) || bytes.Contains(body, []byte("fixmystreet_id")) {
			t.Errorf("%s publishes the client's own question: %s", path, body)
		}
	}
	form.Set("attribute[size]", "huge")
	if res := b.postForm(t, "/open311/v2/requests.json", form); res.status != http.StatusBadRequest {
		t.Errorf("a bad value of a defined attribute beside the client's own: %d %s", res.status, res.body)
	}
}

func TestCreateXML(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	form := b.validForm()
	form.Set("attribute[size]", "Smaller than a dinner plate") // a value's name is accepted too
	res := b.postForm(t, "/open311/v2/requests.xml", form)
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	var doc struct {
		XMLName  xml.Name `xml:"service_requests"`
		Requests []struct {
			ID        string  `xml:"service_request_id"`
			Token     string  `xml:"token"`
			Notice    string  `xml:"service_notice"`
			AccountID *string `xml:"account_id"`
		} `xml:"request"`
	}
	decodeXML(t, res, &doc)
	if len(doc.Requests) != 1 || doc.Requests[0].ID == "" || doc.Requests[0].Token == "" ||
		doc.Requests[0].AccountID == nil || *doc.Requests[0].AccountID != "" {
		t.Errorf("reply %s", res.body)
	}
}

// Multivaluelist answers as attribute[CODE][]; an address alone locates.
func TestCreateMultivalue(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	id, _ := b.create(t, url.Values{
		"api_key":               {b.key},
		"service_code":          {"private-property"},
		"address_string":        {"2000 Bird St"},
		"attribute[problems][]": {"weeds", "junk"},
	})
	n, _ := parseID(id)
	r, err := b.c.Request(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Attributes["problems"], ","); got != "weeds,junk" {
		t.Errorf("problems %q", got)
	}
	if r.Lat != nil {
		t.Errorf("lat %v", *r.Lat)
	}
	// Without a position, lat and long are left out, not zero.
	res := b.get(t, "/open311/v2/requests/"+id+".json")
	if bytes.Contains(res.body, []byte(`"lat"`)) || bytes.Contains(res.body, []byte(`"long"`)) {
		t.Errorf("lat/long present: %s", res.body)
	}
}

func TestCreateWithPhoto(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	photo := testJPEG(t)

	check := func(t *testing.T, res response) {
		t.Helper()
		if res.status != http.StatusOK {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
		var replies []postReply
		decodeJSON(t, res, &replies)
		n, _ := parseID(replies[0].ID)
		r, err := b.c.Request(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		if r.PhotoID == 0 {
			t.Fatal("no photo attached")
		}
		var got []request
		decodeJSON(t, b.get(t, "/open311/v2/requests/"+replies[0].ID+".json"), &got)
		if want := "http://311.test/media/" + strconv.FormatInt(r.PhotoID, 10); got[0].MediaURL != want {
			t.Errorf("media_url %q, want %q", got[0].MediaURL, want)
		}
	}

	t.Run("key first", func(t *testing.T) {
		check(t, b.postMultipart(t, "/open311/v2/requests.json", b.validForm(), photo))
	})
	t.Run("photo first", func(t *testing.T) {
		// The photo waits in a temporary file until the key is checked.
		ct, body := mediaFirst(t, b.validForm(), photo)
		req, _ := http.NewRequest("POST", b.srv.URL+"/open311/v2/requests.json", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		check(t, b.do(t, req))
	})
	t.Run("empty media part", func(t *testing.T) {
		// What a browser sends when no file is chosen: no photo, no error.
		res := b.postMultipart(t, "/open311/v2/requests.json", b.validForm(), []byte{})
		if res.status != http.StatusOK {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
	})
}

// FixMyStreet, in its upload mode, sends its photos as parts photo1,
// photo2... (no media_url): every one is kept, before the key or after.
func TestCreateWithFixMyStreetPhotos(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	second := testPNG(t)
	for _, keyFirst := range []bool{true, false} {
		form := b.validForm()
		if !keyFirst {
			form.Del("api_key") // sent after the photos, below
		}
		req := photosRequest(t, b, form, []part{{"photo1", "pothole.jpg", testJPEG(t)}, {"photo2", "street.png", second}})
		if !keyFirst {
			req = photosRequest(t, b, form, []part{{"photo1", "pothole.jpg", testJPEG(t)}, {"photo2", "street.png", second},
				{"api_key", "", []byte(b.key)}})
		}
		res := b.do(t, req)
		if res.status != http.StatusOK {
			t.Fatalf("key first %v: %d %s", keyFirst, res.status, res.body)
		}
		var replies []postReply
		decodeJSON(t, res, &replies)
		id, _ := parseID(replies[0].ID)
		files, err := b.c.Attachments(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range files {
			got = append(got, f.Filename+" "+f.ContentType)
		}
		if want := []string{"pothole.jpg image/jpeg", "street.png image/png"}; !slices.Equal(got, want) {
			t.Errorf("key first %v: files %q, want %q", keyFirst, got, want)
		}
	}
}

// photosRequest is a multipart POST of form's fields, then parts.
func photosRequest(t *testing.T, b *testBundle, form url.Values, parts []part) *http.Request {
	t.Helper()
	ct, body := encodeMultipart(t, form, parts)
	req, err := http.NewRequest("POST", b.srv.URL+"/open311/v2/requests.json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	return req
}

// mediaFirst encodes a multipart body with the photo before every field.
func mediaFirst(t *testing.T, form url.Values, media []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("media", "photo.jpg")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(media)
	for k, vs := range form {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func TestCreateRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	with := func(changes map[string]string) url.Values {
		f := b.validForm()
		for k, v := range changes {
			if v == "" {
				f.Del(k)
			} else {
				f.Set(k, v)
			}
		}
		return f
	}
	stray := with(map[string]string{"service_code": "animal-stray", "attribute[size]": "", "attribute[in_lane]": ""})

	for _, tc := range []struct {
		name   string
		form   url.Values
		media  []byte // sent multipart when not nil
		xml    bool
		status int
		want   string
	}{
		{"no api_key", with(map[string]string{"api_key": ""}), nil, false, 403, "api_key is missing or invalid"},
		{"no api_key xml", with(map[string]string{"api_key": ""}), nil, true, 403, "api_key is missing or invalid"},
		{"bad api_key", with(map[string]string{"api_key": "tl_nosuchkey"}), nil, false, 403, "api_key is missing or invalid"},
		{"bad api_key multipart", with(map[string]string{"api_key": "tl_nosuchkey"}), testJPEG(t), false, 403, "api_key is missing or invalid"},
		{"no service_code", with(map[string]string{"service_code": ""}), nil, false, 400, "service_code: is required"},
		{"unknown service_code", with(map[string]string{"service_code": "nosuch", "attribute[size]": "", "attribute[in_lane]": ""}),
			nil, true, 400, `service_code: "nosuch" is not a service of Oroville`},
		{"no location", with(map[string]string{"lat": "", "long": "", "address_string": ""}), nil, false, 400,
			"location: give lat and long, address_string or address_id"},
		{"lat not a number", with(map[string]string{"lat": "abc"}), nil, false, 400, `lat: "abc" is not a number`},
		{"long NaN", with(map[string]string{"long": "NaN"}), nil, false, 400, `long: "NaN" is not a number`},
		{"lat out of range", with(map[string]string{"lat": "95"}), nil, false, 400, "lat: 95 is not a latitude between -90 and 90"},
		{"lat without long", with(map[string]string{"long": ""}), nil, false, 400, "lat: lat and long must be given together"},
		{"outside Oroville", with(map[string]string{"lat": "37.7749", "long": "-122.4194"}), nil, false, 400,
			"lat: 37.7749,-122.4194 is outside Oroville"},
		{"missing required attribute", stray, nil, false, 400, "attribute[condition]: a value is required (Is the animal alive or dead?)"},
		{"bad list value", with(map[string]string{"attribute[size]": "huge"}), nil, false, 400,
			`attribute[size]: "huge" is not one of small, medium, large`},
		{"bad attribute syntax", with(map[string]string{"attribute[size": "large"}), nil, false, 400,
			"attribute[size: write attributes as attribute[CODE] or attribute[CODE][]"},
		{"description too long", with(map[string]string{"description": strings.Repeat("x", 4001)}), nil, false, 400,
			"description: is 4001 characters long; the limit is 4000"},
		{"bad email", with(map[string]string{"email": "not an address"}), nil, false, 400, "is not a valid email address"},
		{"bad media_url", with(map[string]string{"media_url": "javascript:alert(1)"}), nil, false, 400, "media_url: must be an http or https URL"},
		{"media not a photo", b.validForm(), []byte("just some text, no photo here\n"), false, 400,
			"media: is text/plain; charset=utf-8, not a photo"},
		{"media not a photo xml", b.validForm(), []byte("%PDF-1.4\n"), true, 400, "media: is application/pdf, not a photo"},
		{"other jurisdiction", with(map[string]string{"jurisdiction_id": "sf.gov"}), nil, false, 404,
			`jurisdiction_id: "sf.gov" is not served here`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/open311/v2/requests.json"
			if tc.xml {
				path = "/open311/v2/requests.xml"
			}
			var res response
			if tc.media != nil {
				res = b.postMultipart(t, path, tc.form, tc.media)
			} else {
				res = b.postForm(t, path, tc.form)
			}
			wantError(t, res, tc.xml, tc.status, tc.want)
			if n := b.countRequests(t); n != 0 {
				t.Errorf("%d requests written", n)
			}
		})
	}

	t.Run("unsupported content type", func(t *testing.T) {
		req, _ := http.NewRequest("POST", b.srv.URL+"/open311/v2/requests.json", strings.NewReader(`{"service_code":"pothole"}`))
		req.Header.Set("Content-Type", "application/json")
		wantError(t, b.do(t, req), false, 415, "Content-Type application/json is not supported")
	})
	t.Run("a file that is no photo, under any name", func(t *testing.T) {
		req := photosRequest(t, b, b.validForm(), []part{{"photo1", "a.jpg", testJPEG(t)}, {"photo2", "notes.pdf", []byte("%PDF-1.4\n")}})
		wantError(t, b.do(t, req), false, 400, "photo2: is application/pdf, not a photo")
	})
	t.Run("too many photos", func(t *testing.T) {
		var parts []part
		for i := range maxPhotos + 1 {
			parts = append(parts, part{fmt.Sprintf("photo%d", i+1), "a.jpg", testJPEG(t)})
		}
		wantError(t, b.do(t, photosRequest(t, b, b.validForm(), parts)), false, 400, "photo11: at most 10 photos")
	})
	if n := b.countRequests(t); n != 0 {
		t.Errorf("%d requests written", n)
	}
}

// Over-limit bodies are refused with 413 in the spec's format, whether the
// size is announced or only found while reading, and nothing is kept.
func TestCreateTooLarge(t *testing.T) {
	t.Parallel()
	const maxBody = 1024
	b := setup(t, maxBody, func(o *core.Options) { o.MaxUpload = 4096 })
	limit := maxBody + fieldSlack
	big := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{0x42}, limit+1000)...) // looks like a JPEG
	medium := big[:8000]                                                                     // over MaxUpload, under the body limit

	t.Run("announced", func(t *testing.T) {
		res := b.postMultipart(t, "/open311/v2/requests.json", b.validForm(), big)
		wantError(t, res, false, 413, "; the limit is 66560")
	})
	t.Run("photo over the upload limit", func(t *testing.T) {
		res := b.postMultipart(t, "/open311/v2/requests.json", b.validForm(), medium)
		wantError(t, res, false, 413, "media: the photo is larger than the limit of 4096 bytes")
	})
	t.Run("photo over the upload limit before the key", func(t *testing.T) {
		ct, body := mediaFirst(t, b.validForm(), medium)
		req, _ := http.NewRequest("POST", b.srv.URL+"/open311/v2/requests.json", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		wantError(t, b.do(t, req), false, 413, "media: the photo is larger than the limit of 4096 bytes")
	})
	t.Run("form fields", func(t *testing.T) {
		form := b.validForm()
		form.Set("description", strings.Repeat("x", maxField+1))
		res := b.postMultipart(t, "/open311/v2/requests.json", form, nil)
		wantError(t, res, false, 413, "description: the form fields are over the limit")
	})
	t.Run("photo before a bad key", func(t *testing.T) {
		form := b.validForm()
		form.Set("api_key", "tl_wrong")
		ct, body := mediaFirst(t, form, testJPEG(t))
		req, _ := http.NewRequest("POST", b.srv.URL+"/open311/v2/requests.json", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		wantError(t, b.do(t, req), false, 403, "api_key is missing or invalid")
	})

	if n := b.countRequests(t); n != 0 {
		t.Errorf("%d requests written", n)
	}
	// No file reached the blob store, where a photo taken is seen.
	if n := b.storedFiles(t); n != 0 {
		t.Errorf("%d blobs stored", n)
	}
	b.storedPhoto(t, b.postMultipart(t, "/open311/v2/requests.json", b.validForm(), testJPEG(t)))
	if n := b.storedFiles(t); n != 1 {
		t.Errorf("%d blobs stored after one photo was taken", n)
	}
}

// storedFiles counts the files in the blob store.
func (b *testBundle) storedFiles(t *testing.T) int {
	t.Helper()
	var n int
	if err := b.c.Pool().QueryRow(context.Background(), "SELECT count(*) FROM blob_content").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A body of unknown length is cut off by http.MaxBytesReader as it is read.
func TestCreateTooLargeChunked(t *testing.T) {
	t.Parallel()
	b := setup(t, 1024)
	big := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{0x42}, 1024+fieldSlack)...)
	for _, keyFirst := range []bool{true, false} {
		var ct string
		var body []byte
		if keyFirst {
			ct, body = multipartBody(t, url.Values{"api_key": {b.key}}, big)
		} else {
			ct, body = mediaFirst(t, url.Values{"api_key": {b.key}}, big)
		}
		// A reader of unknown length: sent chunked, with no Content-Length.
		req, _ := http.NewRequest("POST", b.srv.URL+"/open311/v2/requests.xml", io.MultiReader(bytes.NewReader(body)))
		req.Header.Set("Content-Type", ct)
		wantError(t, b.do(t, req), true, 413, "the request is larger than the limit of 66560 bytes")
	}
	if n := b.countRequests(t); n != 0 {
		t.Errorf("%d requests written", n)
	}
	if n := b.storedFiles(t); n != 0 {
		t.Errorf("%d blobs stored", n)
	}
}

// Staff see which API client filed a request, and the name of the photo
// it sent, however the POST was sent: the key in the form, in the query
// string of a multipart POST, before or after the photo.
func TestCreatedByTheClient(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	ctx := context.Background()
	keyless := b.validForm()
	keyless.Del("api_key")
	posts := map[string]func() response{
		"form": func() response { return b.postForm(t, "/open311/v2/requests.json", b.validForm()) },
		"multipart, key first": func() response {
			return b.postMultipart(t, "/open311/v2/requests.json", b.validForm(), testJPEG(t))
		},
		"multipart, photo first": func() response {
			ct, body := mediaFirst(t, b.validForm(), testJPEG(t))
			req, _ := http.NewRequest("POST", b.srv.URL+"/open311/v2/requests.json", bytes.NewReader(body))
			req.Header.Set("Content-Type", ct)
			return b.do(t, req)
		},
		"multipart, key in the query string": func() response {
			return b.postMultipart(t, "/open311/v2/requests.json?api_key="+url.QueryEscape(b.key), keyless, testJPEG(t))
		},
	}
	for name, post := range posts {
		res := post()
		if res.status != http.StatusOK {
			t.Errorf("%s: status %d: %s", name, res.status, res.body)
			continue
		}
		var replies []postReply
		decodeJSON(t, res, &replies)
		id := mustID(t, replies[0].ID)
		hist, err := b.c.History(ctx, id, false)
		if err != nil || len(hist) == 0 || hist[0].Actor != "open311:test client" {
			t.Errorf("%s: history %+v, %v; want it filed by open311:test client", name, hist, err)
		}
		if name == "form" {
			continue
		}
		r, err := b.c.Request(ctx, id)
		if err != nil || r.PhotoID == 0 {
			t.Fatalf("%s: no photo: %+v %v", name, r, err)
		}
		a, err := b.c.PublicPhoto(ctx, r.PhotoID)
		if want := map[bool]string{true: "photo.jpg", false: "IMG_0001.jpg"}[name == "multipart, photo first"]; err != nil || a.Filename != want {
			t.Errorf("%s: photo %+v, %v; want the file name %s", name, a, err, want)
		}
	}
}

// A bad key stops a multipart POST where it is read: the photo after it is
// never taken, however large, and the client is told about its key.
func TestBadKeyStopsTheUpload(t *testing.T) {
	t.Parallel()
	b := setup(t, 0, func(o *core.Options) { o.MaxUpload = 4096 })
	big := paddedJPEG(t, 8000) // over the upload limit
	form := b.validForm()
	form.Set("api_key", "tl_wrong")
	wantError(t, b.postMultipart(t, "/open311/v2/requests.json", form, big), false, 403, "api_key is missing or invalid")
	form.Del("api_key")
	wantError(t, b.postMultipart(t, "/open311/v2/requests.json?api_key=tl_wrong", form, big), false, 403, "api_key is missing or invalid")
	if n := b.countRequests(t); n != 0 {
		t.Errorf("%d requests written", n)
	}
}

// A refused POST is logged at info with the client, the status and the
// reason, for tracing an integrator's mistakes; a failure of ours is an
// error in the log, never a refusal.
func TestRefusalsLogged(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	var logs logBuffer
	mux := http.NewServeMux()
	New(b.c, slog.New(slog.NewTextHandler(&logs, nil)), 1<<20).Register(mux)
	post := func(form url.Values, photo []byte) *httptest.ResponseRecorder {
		ct, body := multipartBody(t, form, photo)
		req := httptest.NewRequest("POST", "/open311/v2/requests.json", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		return w
	}

	form := b.validForm()
	form.Set("service_code", "nosuch")
	if w := post(form, nil); w.Code != 400 {
		t.Fatalf("unknown service: %d %s", w.Code, w.Body)
	}
	out := logs.String()
	if !strings.Contains(out, `level=INFO msg="open311 request refused" channel=open311 client="test client" status=400 reason="service_code: \"nosuch\"`) {
		t.Errorf("the refusal is not logged with its client, status and reason:\n%s", out)
	}

	// The blob store is gone: the photo cannot be kept, and that is ours.
	if _, err := b.c.Pool().Exec(context.Background(), "DROP TABLE blob_content"); err != nil {
		t.Fatal(err)
	}
	w := post(b.validForm(), testJPEG(t))
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"internal error"`) || strings.Contains(w.Body.String(), "blob_content") {
		t.Fatalf("blob store gone: %d %s", w.Code, w.Body)
	}
	out = strings.TrimPrefix(logs.String(), out)
	if !strings.Contains(out, `level=ERROR msg="open311 request failed"`) || strings.Contains(out, "refused") {
		t.Errorf("a failure of ours is not logged as an error alone:\n%s", out)
	}
}
