package open311

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"townline/core"
	"townline/internal/testenv"
)

// Oroville City Hall: a point well inside the city.
const (
	testLat  = "39.5138"
	testLong = "-121.5564"
)

type testBundle struct {
	c      *core.Core
	srv    *httptest.Server
	key    string
	placed atomic.Int64 // reports placed by spot
}

// spot places the bundle's next report: the first at City Hall, each
// next 90 to 130 m from the others (a downtown grid of 40 places), so that
// a test's reports never join as the same issue unless it places them so.
func (b *testBundle) spot() (lat, long string) {
	n := b.placed.Add(1) - 1
	y, _ := strconv.ParseFloat(testLat, 64)
	x, _ := strconv.ParseFloat(testLong, 64)
	y += float64(n%8) * 0.0008
	x += float64(n/8%5) * 0.0012
	return strconv.FormatFloat(y, 'f', 4, 64), strconv.FormatFloat(x, 'f', 4, 64)
}

// setup starts a core on a fresh database and the Open311 routes on a test
// server. maxBody is the photo limit given to New (0: 1 MiB).
func setup(t *testing.T, maxBody int64, mods ...func(*core.Options)) *testBundle {
	t.Helper()
	c := testenv.Core(t, mods...)
	if maxBody == 0 {
		maxBody = 1 << 20
	}
	mux := http.NewServeMux()
	New(c, testenv.Logger(t), maxBody).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &testBundle{c: c, srv: srv, key: testenv.APIKey(t, c)}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (b *testBundle) do(t *testing.T, req *http.Request) response {
	t.Helper()
	res, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, body}
}

func (b *testBundle) get(t *testing.T, path string) response {
	t.Helper()
	req, err := http.NewRequest("GET", b.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b.do(t, req)
}

func (b *testBundle) postForm(t *testing.T, path string, form url.Values) response {
	t.Helper()
	req, err := http.NewRequest("POST", b.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(t, req)
}

// multipartBody encodes form, then media as the "media" file when given.
func multipartBody(t *testing.T, form url.Values, media []byte) (string, []byte) {
	t.Helper()
	var parts []part
	if media != nil {
		parts = append(parts, part{"media", "IMG_0001.jpg", media})
	}
	return encodeMultipart(t, form, parts)
}

// part is one part of a multipart body: a file when it has a file name.
type part struct {
	name, file string
	data       []byte
}

// encodeMultipart encodes form's fields, then parts.
func encodeMultipart(t *testing.T, form url.Values, parts []part) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range form {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	for _, p := range parts {
		if p.file == "" {
			mw.WriteField(p.name, string(p.data))
			continue
		}
		fw, err := mw.CreateFormFile(p.name, p.file)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(p.data)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

func (b *testBundle) postMultipart(t *testing.T, path string, form url.Values, media []byte) response {
	t.Helper()
	ct, body := multipartBody(t, form, media)
	req, err := http.NewRequest("POST", b.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	return b.do(t, req)
}

// respot moves form's report to the bundle's next spot.
func (b *testBundle) respot(form url.Values) {
	lat, long := b.spot()
	form.Set("lat", lat)
	form.Set("long", long)
}

// validForm is a good pothole report.
func (b *testBundle) validForm() url.Values {
	lat, long := b.spot()
	return url.Values{
		"api_key":            {b.key},
		"service_code":       {"pothole"},
		"lat":                {lat},
		"long":               {long},
		"address_string":     {"1735 Montgomery St"},
		"description":        {"Deep pothole in the right lane"},
		"attribute[size]":    {"large"},
		"attribute[in_lane]": {"yes"},
	}
}

// create files a request through the API and returns its id and token.
func (b *testBundle) create(t *testing.T, form url.Values) (id, token string) {
	t.Helper()
	res := b.postForm(t, "/open311/v2/requests.json", form)
	if res.status != http.StatusOK {
		t.Fatalf("POST: status %d: %s", res.status, res.body)
	}
	var got []postReply
	if err := json.Unmarshal(res.body, &got); err != nil || len(got) != 1 {
		t.Fatalf("POST reply %s: %v", res.body, err)
	}
	return got[0].ID, got[0].Token
}

func (b *testBundle) countRequests(t *testing.T) int {
	t.Helper()
	var n int
	if err := b.c.Pool().QueryRow(context.Background(), `SELECT count(*) FROM requests`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// decodeJSON decodes a JSON body into v, failing on a wrong content type.
func decodeJSON(t *testing.T, res response, v any) {
	t.Helper()
	if ct := res.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if err := json.Unmarshal(res.body, v); err != nil {
		t.Fatalf("decode JSON %s: %v", res.body, err)
	}
}

// decodeXML checks the declaration and decodes an XML body into v.
func decodeXML(t *testing.T, res response, v any) {
	t.Helper()
	if ct := res.header.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if !bytes.HasPrefix(res.body, []byte(`<?xml version="1.0" encoding="utf-8"?>`)) {
		t.Errorf("XML body does not start with the declaration: %.80s", res.body)
	}
	if err := xml.Unmarshal(res.body, v); err != nil {
		t.Fatalf("decode XML %s: %v", res.body, err)
	}
}

// wantError checks a spec error response in either format.
func wantError(t *testing.T, res response, xmlFormat bool, status int, description string) {
	t.Helper()
	if res.status != status {
		t.Errorf("status %d, want %d: %s", res.status, status, res.body)
	}
	var errs []specError
	if xmlFormat {
		var doc struct {
			XMLName xml.Name    `xml:"errors"`
			Errors  []specError `xml:"error"`
		}
		decodeXML(t, res, &doc)
		errs = doc.Errors
	} else {
		decodeJSON(t, res, &errs)
	}
	if len(errs) != 1 {
		t.Fatalf("want one error, got %+v", errs)
	}
	if errs[0].Code != status {
		t.Errorf("error code %d, want %d", errs[0].Code, status)
	}
	if !strings.Contains(errs[0].Description, description) {
		t.Errorf("error description %q, want it to contain %q", errs[0].Description, description)
	}
}

// testJPEG is a small real JPEG.
func testJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 24))
	for x := range 32 {
		for y := range 24 {
			img.Set(x, y, color.RGBA{uint8(x * 8), uint8(y * 10), 80, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func testPNG(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// xmlRequests is the XML listing as a client would decode it.
type xmlRequests struct {
	XMLName  xml.Name  `xml:"service_requests"`
	Requests []request `xml:"request"`
}
