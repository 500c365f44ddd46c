package open311

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"townline/core"
)

// paddedJPEG is a real JPEG of exactly n bytes: the picture, then zeros
// after its end, which decoders ignore.
func paddedJPEG(t *testing.T, n int) []byte {
	t.Helper()
	photo := testJPEG(t)
	if len(photo) > n {
		t.Fatalf("the test photo is %d bytes, over %d", len(photo), n)
	}
	return append(photo, make([]byte, n-len(photo))...)
}

// postBody posts a multipart body, sent with its length or, chunked,
// without.
func (b *testBundle) postBody(t *testing.T, ct string, body []byte, chunked bool) response {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r)
	}
	req, err := http.NewRequest("POST", b.srv.URL+"/open311/v2/requests.json", r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	return b.do(t, req)
}

// storedPhoto is the size of the photo stored with the request a POST
// created.
func (b *testBundle) storedPhoto(t *testing.T, res response) int64 {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	var replies []postReply
	decodeJSON(t, res, &replies)
	r, err := b.c.Request(context.Background(), mustID(t, replies[0].ID))
	if err != nil {
		t.Fatal(err)
	}
	if r.PhotoID == 0 {
		t.Fatal("no photo attached")
	}
	a, err := b.c.PublicPhoto(context.Background(), r.PhotoID)
	if err != nil {
		t.Fatal(err)
	}
	return a.Size
}

// The limits a client is told are limits it may reach: a body, a photo and
// form fields exactly at theirs are taken whole, one byte more is a 413.
func TestCreateAtTheLimits(t *testing.T) {
	t.Parallel()

	t.Run("body", func(t *testing.T) {
		t.Parallel()
		const maxBody = 1024
		b := setup(t, maxBody) // photos up to core's 10 MB: the body limit binds
		limit := maxBody + fieldSlack
		_, empty := multipartBody(t, b.validForm(), []byte{})
		for _, chunked := range []bool{false, true} {
			// The boundary is random: build the body again for each size.
			size := limit - len(empty)
			var ct string
			var body []byte
			for range 10 {
				ct, body = multipartBody(t, b.validForm(), paddedJPEG(t, size))
				if len(body) == limit {
					break
				}
				size += limit - len(body)
			}
			if len(body) != limit {
				t.Fatalf("body of %d bytes, want %d", len(body), limit)
			}
			if got := b.storedPhoto(t, b.postBody(t, ct, body, chunked)); got != int64(size) {
				t.Errorf("chunked %v: photo stored with %d bytes, want %d", chunked, got, size)
			}
			ct, body = multipartBody(t, b.validForm(), paddedJPEG(t, size+1))
			if len(body) != limit+1 {
				t.Fatalf("body of %d bytes, want %d", len(body), limit+1)
			}
			wantError(t, b.postBody(t, ct, body, chunked), false, 413, "66560")
		}
	})

	t.Run("photo", func(t *testing.T) {
		t.Parallel()
		const max = 4096
		b := setup(t, 0, func(o *core.Options) { o.MaxUpload = max })
		// The key first, the photo stored as it comes; the photo first,
		// held back until the key is checked.
		for name, encode := range map[string]func(*testing.T, url.Values, []byte) (string, []byte){
			"key first": multipartBody, "photo first": mediaFirst,
		} {
			ct, body := encode(t, b.validForm(), paddedJPEG(t, max))
			if got := b.storedPhoto(t, b.postBody(t, ct, body, false)); got != max {
				t.Errorf("%s: photo stored with %d bytes, want %d", name, got, max)
			}
			ct, body = encode(t, b.validForm(), paddedJPEG(t, max+1))
			wantError(t, b.postBody(t, ct, body, false), false, 413, "media: the photo is larger than the limit of 4096 bytes")
		}
	})

	t.Run("fields", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		// Parameters the spec does not know are read and ignored, and
		// count towards the limits like any other.
		form := b.validForm()
		form.Set("padding", strings.Repeat("p", maxField))
		ct, body := multipartBody(t, form, nil)
		if res := b.postBody(t, ct, body, false); res.status != http.StatusOK {
			t.Errorf("a field of %d bytes: %d %s", maxField, res.status, res.body)
		}
		// Together, the fields may reach maxFields, not pass it.
		others := 0
		for _, vs := range b.validForm() {
			for _, v := range vs {
				others += len(v)
			}
		}
		form.Set("more", strings.Repeat("m", maxFields-maxField-others))
		ct, body = multipartBody(t, form, nil)
		if res := b.postBody(t, ct, body, false); res.status != http.StatusOK {
			t.Errorf("fields of %d bytes in all: %d %s", maxFields, res.status, res.body)
		}
		form.Set("more", form.Get("more")+"m")
		ct, body = multipartBody(t, form, nil)
		wantError(t, b.postBody(t, ct, body, false), false, 413, "the form fields are over the limit of 32768 bytes (65536 in all)")
		// However small each field is.
		form = b.validForm()
		for _, name := range []string{"a", "b", "c"} {
			form.Set(name, strings.Repeat(name, maxField/2))
		}
		form.Set("d", strings.Repeat("d", maxField/2))
		form.Set("e", strings.Repeat("e", 10))
		ct, body = multipartBody(t, form, nil)
		wantError(t, b.postBody(t, ct, body, false), false, 413, "over the limit")
	})
}
