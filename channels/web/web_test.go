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

	mux := http.NewServeMux()
	web.New(c, testenv.Logger(t)).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

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
