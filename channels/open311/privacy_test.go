package open311

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"townline/core"
)

// Who reported a request never leaves through the API, in any response.
func TestPrivacy(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	secrets := []string{"Zelda", "Quartermain", "zelda.q@example.net", "5305550123", "device-XYZZY", "acct-777"}

	form := b.validForm()
	form.Set("first_name", "Zelda")
	form.Set("last_name", "Quartermain")
	form.Set("email", "zelda.q@example.net")
	form.Set("phone", "+15305550123")
	form.Set("device_id", "device-XYZZY")
	form.Set("account_id", "acct-777")

	var bodies []string
	check := func(what string, res response) {
		t.Helper()
		if res.status != http.StatusOK {
			t.Errorf("%s: status %d: %s", what, res.status, res.body)
		}
		bodies = append(bodies, what)
		for _, s := range secrets {
			if strings.Contains(strings.ToLower(string(res.body)), strings.ToLower(s)) {
				t.Errorf("%s shows %q: %s", what, s, res.body)
			}
		}
	}

	res := b.postForm(t, "/open311/v2/requests.json", form)
	check("POST json", res)
	res = b.postMultipart(t, "/open311/v2/requests.xml", form, testJPEG(t))
	check("POST xml", res)

	b.respot(form) // a report of its own: the ones above are the same issue
	id, token := b.create(t, form)
	// The contact was stored: core has it, for staff.
	r, err := b.c.Request(context.Background(), mustID(t, id))
	if err != nil || r.ContactID == nil || r.DeviceID != "device-XYZZY" {
		t.Fatalf("reporter not stored: %+v %v", r, err)
	}
	if ct, err := b.c.Contact(context.Background(), *r.ContactID); err != nil || ct.ClientAccount != "acct-777" {
		t.Errorf("the client's account id is not kept with the contact: %+v %v", ct, err)
	}
	err = b.c.ChangeStatus(context.Background(), r.ID, core.StatusChange{To: core.StatusAcknowledged,
		Note: "We are on it.", Public: true, By: core.Actor{Name: "dispatcher@cityoforoville.org"}})
	if err != nil {
		t.Fatal(err)
	}

	for _, ext := range []string{"json", "xml"} {
		for _, path := range []string{
			"/open311/v2/requests." + ext,
			"/open311/v2/requests." + ext + "?extensions=true",
			"/open311/v2/requests." + ext + "?service_request_id=" + id,
			"/open311/v2/requests." + ext + "?service_request_id=" + id + "&extensions=true",
			"/open311/v2/requests/" + id + "." + ext,
			"/open311/v2/requests/" + id + "." + ext + "?extensions=true",
			"/open311/v2/tokens/" + token + "." + ext,
			"/open311/v2/services." + ext,
			"/open311/v2/services/pothole." + ext,
			"/open311/discovery." + ext,
		} {
			check(path, b.get(t, path))
		}
	}
	// Staff names in the history stay out too.
	for _, path := range []string{"/open311/v2/requests.json?extensions=true", "/open311/v2/requests.xml?extensions=true"} {
		body := string(b.get(t, path).body)
		if strings.Contains(body, "dispatcher@") || !strings.Contains(body, "We are on it.") {
			t.Errorf("%s: %s", path, body)
		}
	}
	if len(bodies) < 20 {
		t.Errorf("only %d responses checked", len(bodies))
	}
}
