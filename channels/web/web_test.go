package web_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"townline/channels/web"
	"townline/core"
	"townline/internal/testenv"
)

func photoWithGPS(t *testing.T) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 16, 16)), nil); err != nil {
		t.Fatal(err)
	}
	exif := []byte("Exif\x00\x00GPS 39.51380N 121.55640W owner Zelda")
	seg := binary.BigEndian.AppendUint16([]byte{0xFF, 0xE1}, uint16(len(exif)+2))
	raw := b.Bytes()
	return append(append(append([]byte{}, raw[:2]...), append(seg, exif...)...), raw[2:]...)
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestPublicPagesNeverShowTheReporter(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t)
	ctx := context.Background()
	blob, err := c.Blobs().Put(bytes.NewReader(photoWithGPS(t)))
	if err != nil {
		t.Fatal(err)
	}
	lat, lng := 39.5138, -121.5564
	r, err := c.CreateRequest(ctx, core.NewRequest{
		Channel: core.ChannelOpen311, ServiceCode: "pothole", Description: "Deep hole by the crosswalk, call me at 530-555-0123 or zelda.q@example.net",
		Lat: &lat, Lng: &lng, Address: "Montgomery St & Myers St",
		Reporter: core.Reporter{Name: "Zelda Quartermain", Email: "zelda.q@example.net", Phone: "+15305550123", DeviceID: "device-XYZZY"},
		Photos:   []core.Upload{{Blob: blob, Filename: "IMG_0001.jpg"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	staff := core.Actor{Name: "dispatcher@cityoforoville.org"}
	if err := c.AddNote(ctx, r.ID, "Called Zelda back at 530-555-0123", false, staff); err != nil {
		t.Fatal(err)
	}
	if err := c.ChangeStatus(ctx, r.ID, core.StatusChange{To: core.StatusInProgress, Note: "Crew scheduled.", Public: true, By: staff}); err != nil {
		t.Fatal(err)
	}

	srv := serve(t, c)

	code, home := get(t, srv.URL+"/")
	if code != 200 || !bytes.Contains(home, []byte(fmt.Sprintf(`href="/requests/%d"`, r.ID))) {
		t.Errorf("home = %d, lacks a link to request %d", code, r.ID)
	}
	code, page := get(t, srv.URL+fmt.Sprintf("/requests/%d", r.ID))
	if code != 200 || !bytes.Contains(page, []byte("Crew scheduled.")) || !bytes.Contains(page, []byte("In progress")) {
		t.Errorf("tracking page = %d:\n%s", code, page)
	}
	if r2, _ := c.Request(ctx, r.ID); r2.PhotoID == 0 || !bytes.Contains(page, []byte(fmt.Sprintf("/media/%d", r2.PhotoID))) {
		t.Errorf("tracking page does not show the photo")
	}
	for _, secret := range []string{"Zelda", "Quartermain", "zelda.q@example.net", "5550123", "555-0123", "device-XYZZY", "dispatcher@"} {
		for name, body := range map[string][]byte{"home": home, "tracking page": page} {
			if bytes.Contains(body, []byte(secret)) {
				t.Errorf("%s shows %q", name, secret)
			}
		}
	}

	r2, _ := c.Request(ctx, r.ID)
	code, img := get(t, srv.URL+fmt.Sprintf("/media/%d", r2.PhotoID))
	if code != 200 {
		t.Fatalf("photo = %d", code)
	}
	if bytes.Contains(img, []byte("GPS")) || bytes.Contains(img, []byte("Zelda")) {
		t.Error("the public photo still carries its EXIF data")
	}
	if _, err := jpeg.Decode(bytes.NewReader(img)); err != nil {
		t.Errorf("public photo does not decode: %v", err)
	}

	for _, path := range []string{"/requests/999999", "/requests/abc", "/requests/-1", "/media/999999", "/media/x"} {
		if code, body := get(t, srv.URL+path); code != 404 || !strings.Contains(string(body), "Not found") {
			t.Errorf("%s = %d, want 404", path, code)
		}
	}
}

// A photo as large as the upload limit is served whole, stripped; one
// stored under a larger limit than today's is not served at all, rather
// than cut short into a broken image.
func TestPhotoAtTheUploadLimit(t *testing.T) {
	t.Parallel()
	photo := photoWithGPS(t)
	c := testenv.Core(t, func(o *core.Options) { o.MaxUpload = int64(len(photo)) })
	ctx := context.Background()
	srv := serve(t, c)

	// The same picture with a longer comment: one byte per extra letter.
	bigger := append(append([]byte{}, photo[:2]...), 0xFF, 0xFE, 0x00, 0x05, 'h', 'i', 'y')
	bigger = append(bigger, photo[2:]...)
	lat, lng := 39.5138, -121.5564
	file := func(raw []byte, put func(io.Reader) (core.Blob, error)) int64 {
		t.Helper()
		blob, err := put(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
			Lat: &lat, Lng: &lng, Photos: []core.Upload{{Blob: blob, Filename: "IMG_0002.jpg"}}})
		if err != nil {
			t.Fatal(err)
		}
		if r, err = c.Request(ctx, r.ID); err != nil || r.PhotoID == 0 {
			t.Fatalf("request %d has no photo: %v", r.ID, err)
		}
		return r.PhotoID
	}
	atLimit := file(photo, c.Blobs().Put)
	over := file(bigger, func(r io.Reader) (core.Blob, error) { return c.Blobs().PutLimit(r, 1<<20) })

	want, err := core.StripMetadata(photo)
	if err != nil {
		t.Fatal(err)
	}
	if code, img := get(t, fmt.Sprintf("%s/media/%d", srv.URL, atLimit)); code != 200 || !bytes.Equal(img, want) {
		t.Errorf("photo at the limit = %d, %d bytes; want 200, the %d bytes of the stripped photo", code, len(img), len(want))
	}
	if code, img := get(t, fmt.Sprintf("%s/media/%d", srv.URL, over)); code != 404 {
		t.Errorf("photo over the limit = %d, %d bytes; want 404", code, len(img))
	}
}

// serve serves the public site of c for the test.
func serve(t *testing.T, c *core.Core) *httptest.Server {
	mux := http.NewServeMux()
	web.New(c, testenv.Logger(t), web.Config{}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}
