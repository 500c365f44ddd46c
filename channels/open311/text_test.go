package open311

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"townline/channels/web"
	"townline/internal/testenv"
)

// rows counts what a refused request must not have written.
func (b *testBundle) rows(t *testing.T) int {
	t.Helper()
	var n int
	err := b.c.Pool().QueryRow(context.Background(), `SELECT (SELECT count(*) FROM requests) +
		(SELECT count(*) FROM contacts) + (SELECT count(*) FROM messages) + (SELECT count(*) FROM attachments)`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A NUL byte or bytes that are not UTF-8 in any parameter answer a 400
// naming it, in either format, and write nothing.
func TestBadBytes(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	id, token := b.create(t, b.validForm())
	before := b.rows(t)

	for _, bad := range []string{"\x00", "\xff"} {
		for _, tc := range []struct{ param, value, field string }{
			{"description", "Deep pothole" + bad, "description"},
			{"address_string", "1735 Montgomery St" + bad, "address_string"},
			{"address_id", "A" + bad, "address_id"},
			{"zipcode", "95965" + bad, "zipcode"},
			{"media_url", "https://photos.example/" + bad, "media_url"},
			{"first_name", "Ana" + bad, "name"},
			{"last_name", "Reyes" + bad, "name"},
			{"email", "ana" + bad + "@example.com", "email"},
			{"phone", bad + "+15305550123", "phone"},
			{"device_id", "device" + bad, "device_id"},
			{"attribute[size]", "large" + bad, "attribute[size]"},
			{"attribute[in_lane]", bad, "attribute[in_lane]"},
			{"service_code", "pothole" + bad, "service_code"},
		} {
			for _, ext := range []string{"json", "xml"} {
				form := b.validForm()
				form.Set("first_name", "Ana")
				form.Set(tc.param, tc.value)
				res := b.postForm(t, "/open311/v2/requests."+ext, form)
				wantError(t, res, ext == "xml", http.StatusBadRequest, tc.field+": ")
			}
		}
		// A code that is not text: refused before it is looked up.
		form := b.validForm()
		form.Set("attribute[size"+bad+"]", "large")
		wantError(t, b.postForm(t, "/open311/v2/requests.json", form), false, http.StatusBadRequest, "attribute")

		esc := url.QueryEscape(bad)
		for _, tc := range []struct {
			path   string
			status int
			want   string
		}{
			{"/open311/v2/requests.json?service_code=pothole," + esc, 400, "service_code: "},
			{"/open311/v2/requests.xml?service_code=" + esc + "pothole&extensions=true", 400, "service_code: "},
			{"/open311/v2/tokens/" + url.PathEscape(token+bad) + ".json", 400, "token: "},
			{"/open311/v2/tokens/" + url.PathEscape(bad) + ".xml", 400, "token: "},
			{"/open311/v2/requests.json?status=" + esc, 400, "status: "},
			{"/open311/v2/requests.json?start_date=2026-01-01" + esc, 400, "start_date: "},
			{"/open311/v2/requests.json?service_request_id=" + id + "," + esc, 400, "service_request_id: "},
			{"/open311/v2/requests/" + id + esc + ".json", 404, "service_request_id: "},
			{"/open311/v2/services/pothole" + esc + ".json", 404, ""},
			{"/open311/v2/requests.json?jurisdiction_id=" + esc, 404, "jurisdiction_id: "},
		} {
			res := b.get(t, tc.path)
			wantError(t, res, strings.Contains(tc.path, ".xml"), tc.status, tc.want)
		}
	}
	if after := b.rows(t); after != before {
		t.Errorf("refused requests wrote %d rows", after-before)
	}
}

// A phone number or an email address typed into the address or the
// description never appears on a public page or in an Open311 response;
// a link to another site does, digits and all.
func TestContactDetailsMaskedEverywhere(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	mux := http.NewServeMux()
	web.New(b.c, testenv.Logger(t), web.Config{}).Register(mux)
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)

	secrets := []string{"530-555-0123", "5550123", "(530) 555-0199", "555-0199", "ana.reyes@example.com", "zed@example.org"}
	const link = "https://fms.example/report/7000100"

	form := b.validForm()
	form.Set("address_string", "1735 Montgomery St, call (530) 555-0199 or zed@example.org")
	form.Set("description", "Deep pothole. Text me at 530-555-0123 or ana.reyes@example.com; same as "+link)
	form.Set("address_id", "parcel 012-345-678 zed@example.org")
	form.Set("zipcode", "5305550123")
	id, token := b.create(t, form)
	// Without extensions the listing is the plain spec; with them, notes
	// are added: read both, in both formats.
	var bodies []string
	for _, ext := range []string{"json", "xml"} {
		for _, path := range []string{
			"/open311/v2/requests." + ext,
			"/open311/v2/requests." + ext + "?extensions=true",
			"/open311/v2/requests." + ext + "?service_request_id=" + id,
			"/open311/v2/requests/" + id + "." + ext,
			"/open311/v2/requests/" + id + "." + ext + "?extensions=true",
			"/open311/v2/tokens/" + token + "." + ext,
		} {
			res := b.get(t, path)
			if res.status != http.StatusOK {
				t.Errorf("%s: status %d: %s", path, res.status, res.body)
			}
			bodies = append(bodies, path+"\n"+string(res.body))
		}
	}
	for _, path := range []string{"/", "/requests/" + id} {
		res, err := http.Get(site.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		page, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			t.Errorf("%s: %d, %v", path, res.StatusCode, err)
		}
		bodies = append(bodies, path+"\n"+string(page))
	}
	for _, body := range bodies {
		path, _, _ := strings.Cut(body, "\n")
		for _, s := range secrets {
			// Neither encoder nor html/template escapes anything in these.
			if strings.Contains(body, s) {
				t.Errorf("%s shows %q:\n%s", path, s, body)
			}
		}
		if strings.Contains(path, "tokens/") {
			continue // a token answer has no text
		}
		if !strings.Contains(body, "1735 Montgomery St") || !strings.Contains(body, "[phone removed]") {
			t.Errorf("%s lacks the masked address:\n%s", path, body)
		}
		if path != "/" && !strings.Contains(body, link) {
			t.Errorf("%s lacks the link %s:\n%s", path, link, body)
		}
	}
	// Staff still have every word.
	r, err := b.c.Request(context.Background(), mustID(t, id))
	if err != nil || !strings.Contains(r.Address, "(530) 555-0199") || !strings.Contains(r.Description, "530-555-0123") {
		t.Errorf("stored request %+v, %v", r, err)
	}
}

// A reporter who gives only a name over Open311 is kept.
func TestNameOnlyReporter(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	form := b.validForm()
	form.Set("first_name", "Ana")
	form.Set("last_name", "Reyes")
	id, _ := b.create(t, form)
	r, err := b.c.Request(context.Background(), mustID(t, id))
	if err != nil || r.ContactID == nil {
		t.Fatalf("request %+v, %v: the reporter was dropped", r, err)
	}
	ct, err := b.c.Contact(context.Background(), *r.ContactID)
	if err != nil || ct.Name != "Ana Reyes" || ct.Phone != "" || ct.Email != "" {
		t.Errorf("contact %+v, %v", ct, err)
	}
	if body := string(b.get(t, "/open311/v2/requests/"+id+".json?extensions=true").body); strings.Contains(body, "Reyes") {
		t.Errorf("the name is published: %s", body)
	}
}

// media_url is stored and published normalized; anything but an absolute
// http or https URL with a host is a 400 naming it.
func TestMediaURLParam(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	form := b.validForm()
	form.Set("media_url", " HTTPS://Photos.Example/P/1.jpg?x=1 ")
	id, _ := b.create(t, form)
	var list []request
	decodeJSON(t, b.get(t, "/open311/v2/requests/"+id+".json"), &list)
	if len(list) != 1 || list[0].MediaURL != "https://photos.example/P/1.jpg?x=1" {
		t.Errorf("media_url published as %+v", list)
	}
	before := b.rows(t)
	for _, bad := range []string{"photos.example/1.jpg", "ftp://photos.example/1.jpg", "https:///1.jpg",
		"https://ana:secret@photos.example/1.jpg", "http:photos.example", "https://photos example/"} {
		form.Set("media_url", bad)
		wantError(t, b.postForm(t, "/open311/v2/requests.json", form), false, http.StatusBadRequest, "media_url: ")
	}
	if after := b.rows(t); after != before {
		t.Errorf("refused requests wrote %d rows", after-before)
	}
	// The reply to a refusal never echoes the password.
	form.Set("media_url", "https://ana:secret@photos.example/1.jpg")
	res := b.postForm(t, "/open311/v2/requests.json", form)
	var errs []specError
	if err := json.Unmarshal(res.body, &errs); err != nil || len(errs) != 1 || strings.Contains(errs[0].Description, "secret") {
		t.Errorf("reply %s (%v)", res.body, err)
	}
}
