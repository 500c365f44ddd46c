package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"townline/core"
	"townline/internal/server"
	"townline/internal/testenv"
)

// Requests filed through every channel, by reporters with distinctive
// names, numbers and addresses (some written into the report itself):
// no public page and no Open311 answer, in any format, carries any of
// them.
func TestNoPublicAnswerNamesAReporter(t *testing.T) {
	t.Parallel()
	c := testenv.Core(t, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	srv := httptest.NewServer(server.New(c, server.Options{Logger: testenv.Logger(t), MaxBody: 1 << 20}))
	defer srv.Close()
	secrets := []string{
		"Quentin", "Zymurgy", "quentin.zymurgy", "Rosalind", "Fairweather", "ros.fw", "Barnaby", "Quilp", "bquilp",
		"Euphemia", "Larkspur", "dev-PRIVATE-77", "acct-PRIVATE-88",
		"5550301", "555-0301", "5550302", "555-0302", "5550303", "5550304", "555-0304", "5550305", "5550306",
	}
	var ids []int64
	keep := func(id int64, err error) {
		t.Helper()
		if err != nil || id == 0 {
			t.Fatalf("filing: %d, %v", id, err)
		}
		ids = append(ids, id)
	}
	// A text, a mail that names its writer in its words, a call.
	res, err := c.Intake(ctx, core.Inbound{Channel: core.ChannelSMS, From: "+15305550301", To: "+15305382401",
		Text: "pothole at 39.51000, -121.56000", ProviderID: "SMprivacy1"})
	keep(res.RequestID, err)
	res, err = c.Intake(ctx, core.Inbound{Channel: core.ChannelEmail, From: "quentin.zymurgy@example.net", To: "311@example.gov",
		Subject: "Graffiti", ProviderID: "<privacy-2@example.net>",
		Text: "Graffiti at 39.51010, -121.56010. Quentin Zymurgy here: call me at 530-555-0302 or quentin.zymurgy@example.net."})
	keep(res.RequestID, err)
	call, err := c.FileCallReport(ctx, core.CallReport{CallID: "CAprivacy", Seq: 1, Said: "a dead cat",
		Request: core.NewRequest{Channel: core.ChannelVoice, ServiceCode: "animal-dead", Description: "A dead cat",
			Address: "Oro Dam Blvd", Reporter: core.Reporter{Phone: "+15305550303"}}})
	keep(call.Request.ID, err)
	// The front desk, for a caller.
	lat, lng := 39.5120, -121.5620
	desk, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelPhone, ServiceCode: "sign", Lat: &lat, Lng: &lng,
		Description: "Stop sign down", Reporter: core.Reporter{Name: "Euphemia Larkspur", Phone: "+15305550306", ReplyBy: core.ChannelSMS}})
	keep(desk.ID, err)

	post := func(path string, form url.Values) *http.Response {
		t.Helper()
		resp, err := http.PostForm(srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	key, err := c.AddAPIKey(ctx, "privacy test")
	if err != nil {
		t.Fatal(err)
	}
	// An Open311 client, with every detail a client may send.
	before := len(ids)
	post("/open311/v2/requests.json", url.Values{"api_key": {key}, "service_code": {"streetlight"}, "lat": {"39.5130"},
		"long": {"-121.5630"}, "first_name": {"Rosalind"}, "last_name": {"Fairweather"}, "email": {"ros.fw@example.org"},
		"phone": {"530-555-0304"}, "device_id": {"dev-PRIVATE-77"}, "account_id": {"acct-PRIVATE-88"},
		"description": {"Light out; Rosalind Fairweather, 530-555-0304"}})
	// A resident on the web.
	post("/report", url.Values{"service": {"graffiti-public"}, "lat": {"39.5140"}, "lng": {"-121.5640"},
		"description": {"Tags on the fence, says Barnaby Quilp (bquilp@example.com, 530-555-0305)"},
		"name":        {"Barnaby Quilp"}, "email": {"bquilp@example.com"}, "phone": {"5305550305"}, "reply_by": {"email"}})
	rows, err := c.Pool().Query(ctx, "SELECT id FROM requests ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	ids = ids[:0]
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	if len(ids) != before+2 {
		t.Fatalf("%d requests filed, want %d: the Open311 or web filing failed", len(ids), before+2)
	}

	// What the city announces, beside them.
	meeting, err := c.SaveAnnouncement(ctx, core.Announcement{Kind: core.KindMeeting, Title: "City Council",
		Starts: time.Now().Add(48 * time.Hour)}, core.CommandLine)
	if err != nil {
		t.Fatal(err)
	}

	since := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	pages := []string{"/", "/?lang=es", "/report", "/requests", "/requests?lang=es", "/feeds/requests.atom",
		"/announcements", "/announcements?lang=es", fmt.Sprintf("/announcements/%d", meeting.ID), "/calendar.ics", "/alerts",
		"/feeds/announcements.atom",
		"/open311/v2/requests.json?extensions=true", "/open311/v2/requests.xml?extensions=true",
		"/open311/v2/requests.json?extensions=true&status=open,closed",
		"/open311/v2/servicerequestupdates.json?api_key=" + key + "&start_date=" + since,
		"/open311/v2/servicerequestupdates.xml?api_key=" + key + "&start_date=" + since,
	}
	for _, id := range ids {
		pages = append(pages, fmt.Sprintf("/requests/%d", id), fmt.Sprintf("/requests/%d?lang=es&filed=1", id),
			fmt.Sprintf("/open311/v2/requests/%d.json?extensions=true", id), fmt.Sprintf("/open311/v2/requests/%d.xml?extensions=true", id))
	}
	for _, p := range pages {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
		for _, s := range secrets {
			if strings.Contains(strings.ToLower(string(body)), strings.ToLower(s)) {
				t.Errorf("GET %s shows %q", p, s)
			}
		}
	}
}
