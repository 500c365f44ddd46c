package open311

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"townline/core"
)

// ids lists the service_request_id of a JSON or XML listing, in order.
func (b *testBundle) ids(t *testing.T, path string) []string {
	t.Helper()
	var list []request
	res := b.get(t, path)
	if res.status != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", path, res.status, res.body)
	}
	if strings.Contains(path, ".xml") {
		var doc xmlRequests
		decodeXML(t, res, &doc)
		list = doc.Requests
	} else {
		decodeJSON(t, res, &list)
	}
	out := []string{}
	for _, r := range list {
		out = append(out, r.ID)
	}
	return out
}

func (b *testBundle) createService(t *testing.T, code string, attrs ...string) string {
	t.Helper()
	lat, long := b.spot()
	form := url.Values{"api_key": {b.key}, "service_code": {code}, "lat": {lat}, "long": {long}}
	for i := 0; i+1 < len(attrs); i += 2 {
		form.Set("attribute["+attrs[i]+"]", attrs[i+1])
	}
	id, _ := b.create(t, form)
	return id
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	id, ok := parseID(s)
	if !ok {
		t.Fatalf("bad id %q", s)
	}
	return id
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	ctx := context.Background()

	old := b.createService(t, "pothole")
	if _, err := b.c.Pool().Exec(ctx, `UPDATE requests SET requested_at = now() - interval '100 days' WHERE id = $1`, mustID(t, old)); err != nil {
		t.Fatal(err)
	}
	pothole := b.createService(t, "pothole")
	sign := b.createService(t, "sign")
	stray := b.createService(t, "animal-stray", "condition", "alive")
	closed := b.createService(t, "pothole")
	err := b.c.ChangeStatus(ctx, mustID(t, closed), core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved, By: core.Actor{Name: "test"}})
	if err != nil {
		t.Fatal(err)
	}

	day := 24 * time.Hour
	date := func(d time.Duration) string { return url.QueryEscape(time.Now().Add(d).Format(time.RFC3339)) }
	for _, tc := range []struct {
		query string
		want  []string
	}{
		// The last 90 days by default, newest first.
		{"", []string{closed, stray, sign, pothole}},
		{"service_code=pothole", []string{closed, pothole}},
		{"service_code=pothole,sign", []string{closed, sign, pothole}},
		{"service_code=nosuch", []string{}},
		{"status=open", []string{stray, sign, pothole}},
		{"status=closed", []string{closed}},
		{"status=open,closed", []string{closed, stray, sign, pothole}},
		{"status=closed&service_code=sign", []string{}},
		// start_date alone: 90 days from it.
		{"start_date=" + date(-120*day), []string{old}},
		// end_date alone: the 90 days before it.
		{"end_date=" + date(-95*day), []string{old}},
		{"start_date=" + date(-200*day) + "&end_date=" + date(time.Hour), []string{closed, stray, sign, pothole, old}},
		// Ids select alone, old or not, whatever else is asked.
		{"service_request_id=" + old + "," + sign + "&status=closed&service_code=tree", []string{sign, old}},
		{"service_request_id=99999", []string{}},
		{"jurisdiction_id=cityoforoville.org&service_code=sign", []string{sign}},
	} {
		for _, ext := range []string{".json", ".xml"} {
			got := b.ids(t, "/open311/v2/requests"+ext+"?"+tc.query)
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s?%s: got %v, want %v", ext, tc.query, got, tc.want)
			}
		}
	}

	wantError(t, b.get(t, "/open311/v2/requests.json?start_date=last+week"), false, 400, `start_date: "last week" is not a date and time`)
	wantError(t, b.get(t, "/open311/v2/requests.xml?end_date=2026-02-30"), true, 400, `end_date: "2026-02-30" is not a date and time`)
	wantError(t, b.get(t, "/open311/v2/requests.json?start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z"), false, 400,
		"end_date: 2026-01-01T00:00:00Z is before start_date 2026-02-01T00:00:00Z")
	wantError(t, b.get(t, "/open311/v2/requests.json?status=pending"), false, 400, `status: "pending" is not open or closed`)
	wantError(t, b.get(t, "/open311/v2/requests.json?service_request_id=12,x"), false, 400, `service_request_id: "x" is not a request id`)
	wantError(t, b.get(t, "/open311/v2/requests.xml?jurisdiction_id=sf.gov"), true, 404, `jurisdiction_id: "sf.gov" is not served here`)

	// An empty listing is [] and an empty <service_requests/>.
	res := b.get(t, "/open311/v2/requests.json?service_code=nosuch")
	if string(res.body) != "[]" {
		t.Errorf("empty list %s", res.body)
	}
	if res.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("no CORS header")
	}
}

// specFields are the only keys a request may have without extensions.
var specFields = []string{"service_request_id", "status", "status_notes", "service_name", "service_code",
	"description", "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
	"expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"}

func TestExtensions(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	ctx := context.Background()
	parent := b.createService(t, "pothole")
	child := b.createService(t, "pothole")
	other := b.createService(t, "pothole")
	by := core.Actor{Name: "test"}
	if err := b.c.MarkDuplicate(ctx, mustID(t, child), mustID(t, parent), by); err != nil {
		t.Fatal(err)
	}
	if err := b.c.ChangeStatus(ctx, mustID(t, parent), core.StatusChange{To: core.StatusInProgress, By: by}); err != nil {
		t.Fatal(err)
	}
	if err := b.c.AddNote(ctx, mustID(t, parent), "Crew scheduled for Tuesday.", true, by); err != nil {
		t.Fatal(err)
	}
	if err := b.c.AddNote(ctx, mustID(t, parent), "Staff only: caller was upset.", false, by); err != nil {
		t.Fatal(err)
	}

	query := "?service_request_id=" + parent + "," + child + "," + other

	// Plain: only the spec's fields.
	for _, path := range []string{"/open311/v2/requests.json" + query, "/open311/v2/requests/" + parent + ".json",
		"/open311/v2/requests.json" + query + "&extensions=false"} {
		var plain []map[string]any
		decodeJSON(t, b.get(t, path), &plain)
		for _, r := range plain {
			for k := range r {
				if !slices.Contains(specFields, k) {
					t.Errorf("%s: unknown field %q", path, k)
				}
			}
		}
	}
	res := b.get(t, "/open311/v2/requests.xml"+query)
	if strings.Contains(string(res.body), "extended_attributes") {
		t.Errorf("XML has extended_attributes without extensions=true")
	}

	// Extended, in both formats.
	var fromJSON []request
	decodeJSON(t, b.get(t, "/open311/v2/requests.json"+query+"&extensions=true"), &fromJSON)
	var fromXML xmlRequests
	decodeXML(t, b.get(t, "/open311/v2/requests.xml"+query+"&extensions=true"), &fromXML)
	for i, list := range [][]request{fromJSON, fromXML.Requests} {
		byID := map[string]request{}
		for _, r := range list {
			if r.Extended == nil {
				t.Fatalf("format %d: request %s has no extended_attributes", i, r.ID)
			}
			byID[r.ID] = r
		}
		p := byID[parent].Extended
		if p.DetailedStatus != "IN_PROGRESS" || p.Channel != "open311" || p.Department != "public-works" ||
			p.Reports != 2 || p.DuplicateOf != nil || p.Expected == nil || *p.Expected != byID[parent].Expected {
			t.Errorf("format %d: parent %+v", i, p)
		}
		if len(p.Notes) != 1 || p.Notes[0].Description != "Crew scheduled for Tuesday." || p.Notes[0].Status != "IN_PROGRESS" {
			t.Errorf("format %d: parent notes %+v", i, p.Notes)
		} else if _, err := time.Parse(time.RFC3339, p.Notes[0].Datetime); err != nil {
			t.Errorf("format %d: note datetime: %v", i, err)
		}
		if byID[parent].StatusNotes != "Crew scheduled for Tuesday." {
			t.Errorf("format %d: status_notes %q", i, byID[parent].StatusNotes)
		}
		c := byID[child]
		if c.Status != "closed" || c.Extended.DetailedStatus != "CLOSED_DUPLICATE" || c.Extended.DuplicateOf == nil ||
			*c.Extended.DuplicateOf != parent || c.Extended.Reports != 1 {
			t.Errorf("format %d: child %+v %+v", i, c, c.Extended)
		}
		if n := c.Extended.Notes; len(n) != 1 || n[0].Description != "Same issue as request #"+parent+"." || n[0].Status != "CLOSED_DUPLICATE" {
			t.Errorf("format %d: child notes %+v", i, n)
		}
		if o := byID[other].Extended; o.DetailedStatus != "NEW" || o.Reports != 1 || len(o.Notes) != 0 {
			t.Errorf("format %d: other %+v", i, o)
		}
	}
	for _, path := range []string{"/open311/v2/requests.json" + query + "&extensions=true",
		"/open311/v2/requests.xml" + query + "&extensions=true"} {
		if body := string(b.get(t, path).body); strings.Contains(body, "caller was upset") {
			t.Errorf("%s shows a private note", path)
		}
	}

	// duplicate_of and notes are null and [] in JSON, never missing.
	var raw []struct {
		Ext map[string]json.RawMessage `json:"extended_attributes"`
	}
	decodeJSON(t, b.get(t, "/open311/v2/requests/"+other+".json?extensions=true"), &raw)
	ext := raw[0].Ext
	if string(ext["duplicate_of"]) != "null" || string(ext["notes"]) != "[]" {
		t.Errorf("other's extended_attributes %v", ext)
	}
}

func TestRequestNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	wantError(t, b.get(t, "/open311/v2/requests/99999.json"), false, 404, "service_request_id: request 99999 does not exist")
	wantError(t, b.get(t, "/open311/v2/requests/99999.xml"), true, 404, "service_request_id: request 99999 does not exist")
	for _, id := range []string{"abc", "0", "-1", "1e3", "%2B5"} {
		wantError(t, b.get(t, "/open311/v2/requests/"+id+".json"), false, 404, "is not a request id")
	}
	wantError(t, b.get(t, "/open311/v2/requests/1001.txt"), false, 404, "add .json or .xml")
	wantError(t, b.get(t, "/open311/v2/tokens/NOSUCHTOKEN.json"), false, 404, "token: no request has this token")
	wantError(t, b.get(t, "/open311/v2/tokens/NOSUCHTOKEN.xml"), true, 404, "token: no request has this token")
	wantError(t, b.get(t, "/open311/v2/tokens/"+strings.Repeat("A", 200)+".json"), false, 404, "token: no request has this token")
}

func TestToken(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	id, token := b.create(t, b.validForm())

	var got []tokenReply
	decodeJSON(t, b.get(t, "/open311/v2/tokens/"+token+".json"), &got)
	var gotXML struct {
		Requests []tokenReply `xml:"request"`
	}
	decodeXML(t, b.get(t, "/open311/v2/tokens/"+token+".xml"), &gotXML)
	for i, g := range [][]tokenReply{got, gotXML.Requests} {
		if len(g) != 1 || g[0].ID != id || g[0].Token != token {
			t.Errorf("format %d: %+v, want %s/%s", i, g, id, token)
		}
	}
	wantError(t, b.get(t, "/open311/v2/tokens/"+token+".json?jurisdiction_id=elsewhere"), false, 404, "jurisdiction_id")
}
