package open311

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"townline/core"
)

// xmlUpdates is the GET listing as a client decodes it.
type xmlUpdates struct {
	XMLName xml.Name        `xml:"service_requests_updates"`
	Updates []requestUpdate `xml:"request_update"`
}

// xmlCommentReply is the POST answer as a client decodes it.
type xmlCommentReply struct {
	XMLName xml.Name       `xml:"service_request_updates"`
	Updates []commentReply `xml:"request_update"`
}

var dispatcher = core.Actor{Name: "dispatcher@cityoforoville.org"}

// getUpdates fetches the updates of a window in both formats, checks that
// they agree, and returns them with both bodies.
func (b *testBundle) getUpdates(t *testing.T, query url.Values) ([]requestUpdate, []string) {
	t.Helper()
	if !query.Has("api_key") {
		query.Set("api_key", b.key)
	}
	res := b.get(t, "/open311/v2/servicerequestupdates.json?"+query.Encode())
	if res.status != http.StatusOK {
		t.Fatalf("GET json: status %d: %s", res.status, res.body)
	}
	var js []requestUpdate
	decodeJSON(t, res, &js)
	resx := b.get(t, "/open311/v2/servicerequestupdates.xml?"+query.Encode())
	if resx.status != http.StatusOK {
		t.Fatalf("GET xml: status %d: %s", resx.status, resx.body)
	}
	var doc xmlUpdates
	decodeXML(t, resx, &doc)
	if !slices.Equal(js, doc.Updates) {
		t.Errorf("JSON and XML differ:\n%+v\n%+v", js, doc.Updates)
	}
	return js, []string{string(res.body), string(resx.body)}
}

// around is start_date and end_date around now.
func around(before, after time.Duration) url.Values {
	now := time.Now()
	return url.Values{
		"start_date": {now.Add(-before).Format(time.RFC3339)},
		"end_date":   {now.Add(after).Format(time.RFC3339)},
	}
}

// Every public change in the window is an update with the extension's
// status: a status change with or without a public note, a note on a
// closed request, a duplicate close, a referral, a close without action.
// The filing and a private note are not changes the public sees.
func TestUpdates(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	ctx := context.Background()
	form := b.validForm()
	form.Set("first_name", "Zelda")
	form.Set("last_name", "Quartermain")
	form.Set("email", "zelda.q@example.net")
	form.Set("phone", "+15305550123")
	id1, _ := b.create(t, form)
	b.respot(form) // a report of its own, merged by staff below
	id2, _ := b.create(t, form)
	r1, r2 := mustID(t, id1), mustID(t, id2)
	// Filed by another channel, not by this client: its updates are
	// public all the same.
	web := func(rep core.Reporter) core.Request {
		t.Helper()
		r, err := b.c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelWeb, ServiceCode: "pothole",
			Description: "A hole", Address: "1735 Montgomery St", Reporter: rep,
			Attributes: map[string][]string{"size": {"small"}, "in_lane": {"no"}}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r3 := web(core.Reporter{Name: "Yusuf Webb", Email: "yusuf@example.org"})
	r4 := web(core.Reporter{})

	change := func(id int64, ch core.StatusChange) {
		t.Helper()
		ch.By = dispatcher
		if err := b.c.ChangeStatus(ctx, id, ch); err != nil {
			t.Fatal(err)
		}
	}
	change(r1, core.StatusChange{To: core.StatusAcknowledged, Note: "Crew booked; questions to 530-555-0199.", Public: true})
	if err := b.c.AddNote(ctx, r1, "Private: ask Bob about the crew", false, dispatcher); err != nil {
		t.Fatal(err)
	}
	change(r1, core.StatusChange{To: core.StatusInProgress, Note: "Staff only: the van is broken"})
	change(r1, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved, Note: "Filled.", Public: true})
	if err := b.c.AddNote(ctx, r1, "Thanks for reporting.", true, dispatcher); err != nil {
		t.Fatal(err)
	}
	if err := b.c.MarkDuplicate(ctx, r2, r1, dispatcher); err != nil {
		t.Fatal(err)
	}
	change(r3.ID, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonReferred, Note: "Referred to Butte County.", Public: true})
	change(r4.ID, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonNoAction})

	type want struct {
		request             int64
		status, desc, extra string
	}
	wants := []want{
		{r1, "investigating", "Crew booked; questions to [phone removed].", "ACKNOWLEDGED"},
		{r1, "in_progress", "", "IN_PROGRESS"},
		{r1, "fixed", "Filled.", "CLOSED_RESOLVED"},
		{r1, "fixed", "Thanks for reporting.", "CLOSED_RESOLVED"},
		{r2, "duplicate", fmt.Sprintf("Same issue as request #%d.", r1), "CLOSED_DUPLICATE"},
		{r3.ID, "not_councils_responsibility", "Referred to Butte County.", "CLOSED_REFERRED"},
		{r4.ID, "no_further_action", "", "CLOSED_NO_ACTION"},
	}
	got, bodies := b.getUpdates(t, around(time.Hour, time.Minute))
	if len(got) != len(wants) {
		t.Fatalf("%d updates, want %d: %+v", len(got), len(wants), got)
	}
	ids := map[string]bool{}
	loc := b.c.City().Location
	for i, w := range wants {
		u := got[i]
		if u.RequestID != strconv.FormatInt(w.request, 10) || u.Status != w.status || u.Description != w.desc ||
			u.ExternalStatusCode != w.extra {
			t.Errorf("update %d: %+v, want %+v", i, u, w)
		}
		if _, err := strconv.ParseInt(u.ID, 10, 64); err != nil || ids[u.ID] {
			t.Errorf("update %d: update_id %q is not a new number", i, u.ID)
		}
		ids[u.ID] = true
		at, err := time.Parse(time.RFC3339, u.Updated)
		if err != nil || time.Since(at) > time.Hour || time.Until(at) > time.Minute {
			t.Errorf("update %d: updated_datetime %q outside the window (%v)", i, u.Updated, err)
		}
		if u.Updated != datetime(at, loc) {
			t.Errorf("update %d: updated_datetime %q is not in the city's zone", i, u.Updated)
		}
	}
	// The same changes keep their ids.
	again, _ := b.getUpdates(t, around(time.Hour, time.Minute))
	if !slices.Equal(got, again) {
		t.Errorf("read again:\n%+v\n%+v", again, got)
	}

	// Nothing private: no reporter, no staff member, no private note.
	for _, body := range bodies {
		for _, s := range []string{"Zelda", "Quartermain", "zelda.q@", "5305550123", "Yusuf", "yusuf@",
			"dispatcher@", "Bob", "van is broken", "555-0199"} {
			if strings.Contains(body, s) {
				t.Errorf("updates show %q: %s", s, body)
			}
		}
	}
}

// Only the changes inside the window are listed, by when they were made.
func TestUpdatesWindow(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	ctx := context.Background()
	id, _ := b.create(t, b.validForm())
	r := mustID(t, id)
	if err := b.c.ChangeStatus(ctx, r, core.StatusChange{To: core.StatusAcknowledged, By: dispatcher}); err != nil {
		t.Fatal(err)
	}
	// The acknowledgment was made three hours ago.
	if _, err := b.c.Pool().Exec(ctx, `UPDATE request_events SET at = now() - interval '3 hours'
		WHERE request_id = $1 AND to_status = 'acknowledged'`, r); err != nil {
		t.Fatal(err)
	}
	if err := b.c.ChangeStatus(ctx, r, core.StatusChange{To: core.StatusInProgress, By: dispatcher}); err != nil {
		t.Fatal(err)
	}
	statuses := func(q url.Values) []string {
		t.Helper()
		got, _ := b.getUpdates(t, q)
		var out []string
		for _, u := range got {
			out = append(out, u.Status)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    url.Values
		want []string
	}{
		{"the last two hours", around(2*time.Hour, time.Minute), []string{"in_progress"}},
		{"four hours ago to two", url.Values{"start_date": {time.Now().Add(-4 * time.Hour).Format(time.RFC3339)},
			"end_date": {time.Now().Add(-2 * time.Hour).Format(time.RFC3339)}}, []string{"investigating"}},
		{"both", around(4*time.Hour, time.Minute), []string{"investigating", "in_progress"}},
		{"no dates: the last day", url.Values{}, []string{"investigating", "in_progress"}},
		{"a day from a start", url.Values{"start_date": {time.Now().Add(-25 * time.Hour).Format(time.RFC3339)}},
			[]string{"investigating"}},
		{"the future", around(-time.Hour, 2*time.Hour), nil},
	} {
		if got := statuses(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	wantError(t, b.get(t, "/open311/v2/servicerequestupdates.xml?api_key="+b.key+"&start_date=yesterday"),
		true, 400, `start_date: "yesterday" is not a date`)
	q := around(-time.Hour, -2*time.Hour) // from an hour ahead to two hours ago
	q.Set("api_key", b.key)
	wantError(t, b.get(t, "/open311/v2/servicerequestupdates.json?"+q.Encode()), false, 400, "is before start_date")
	wantError(t, b.get(t, "/open311/v2/servicerequestupdates.json?api_key="+b.key+"&jurisdiction_id=sf.gov"),
		false, 404, "jurisdiction_id")
	if res := b.get(t, "/open311/v2/servicerequestupdates.json?api_key="+b.key+"&jurisdiction_id=cityoforoville.org"); res.status != 200 {
		t.Errorf("own jurisdiction: status %d: %s", res.status, res.body)
	}
}

// revoke revokes the key named name.
func (b *testBundle) revoke(t *testing.T, name string) {
	t.Helper()
	keys, err := b.c.APIKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Name == name {
			if err := b.c.RevokeAPIKey(context.Background(), k.ID, core.Actor{Name: "admin@cityoforoville.org"}); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no key %q", name)
}

// Updates and comments need a live key; without one nothing is read or
// written.
func TestUpdatesKey(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	id, _ := b.create(t, b.validForm())
	revoked, err := b.c.AddAPIKey(context.Background(), "old client")
	if err != nil {
		t.Fatal(err)
	}
	b.revoke(t, "old client")
	for name, key := range map[string]string{"missing": "", "forged": "tl_notakey", "revoked": revoked} {
		q := around(time.Hour, time.Minute)
		q.Set("api_key", key)
		wantError(t, b.get(t, "/open311/v2/servicerequestupdates.xml?"+q.Encode()), true, 403, "api_key is missing or invalid")
		wantError(t, b.get(t, "/open311/v2/servicerequestupdates.json?"+q.Encode()), false, 403, "api_key is missing or invalid")
		form := b.commentForm(id, name)
		form.Set("api_key", key)
		wantError(t, b.postForm(t, "/open311/v2/servicerequestupdates.xml", form), true, 403, "api_key is missing or invalid")
	}
	if n := b.comments(t); n != 0 {
		t.Errorf("%d comments stored with bad keys", n)
	}
}

// commentForm is a comment as FixMyStreet sends it, from someone other
// than the reporter, saying the issue is fixed.
func (b *testBundle) commentForm(requestID, updateID string) url.Values {
	return url.Values{
		"api_key":            {b.key},
		"jurisdiction_id":    {"cityoforoville.org"},
		"service_request_id": {requestID},
		"update_id":          {updateID},
		"updated_datetime":   {"2026-11-28T09:15:00-08:00"},
		"status":             {"CLOSED"},
		"description":        {"Looks filled in now, but the edge is sharp."},
		"first_name":         {"Ann"},
		"last_name":          {"Other"},
		"email":              {"ann.other@example.net"},
		"phone":              {"+15305550144"},
		"media_url":          {"https://fms.example/photo/c/77.full.jpeg"},
	}
}

// comments counts the comments stored.
func (b *testBundle) comments(t *testing.T) int {
	t.Helper()
	var n int
	if err := b.c.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM messages WHERE channel = 'open311'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// postComment posts a comment in XML and returns the update_id answered.
func (b *testBundle) postComment(t *testing.T, form url.Values) string {
	t.Helper()
	res := b.postForm(t, "/open311/v2/servicerequestupdates.xml", form)
	if res.status != http.StatusOK {
		t.Fatalf("POST: status %d: %s", res.status, res.body)
	}
	var doc xmlCommentReply
	decodeXML(t, res, &doc)
	if len(doc.Updates) != 1 || !strings.HasPrefix(doc.Updates[0].ID, "c") {
		t.Fatalf("POST answer %s", res.body)
	}
	return doc.Updates[0].ID
}

// A resident's comment reaches the request as a message staff read,
// once however often it is sent; a status that says closed is recorded
// for staff, not obeyed; the comment never shows in the updates.
func TestPostComment(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	ctx := context.Background()
	form := b.validForm()
	form.Set("email", "zelda.q@example.net")
	id, _ := b.create(t, form)
	r := mustID(t, id)

	first := b.postComment(t, b.commentForm(id, "77"))
	if again := b.postComment(t, b.commentForm(id, "77")); again != first {
		t.Errorf("sent twice: update_id %s, then %s", first, again)
	}
	// The reporter's own comment, in JSON, saying it is still open.
	own := b.commentForm(id, "78")
	own.Set("status", "open")
	own.Set("email", "zelda.q@example.net")
	own.Del("phone")
	own.Del("media_url")
	own.Set("description", "Thank you!")
	res := b.postForm(t, "/open311/v2/servicerequestupdates.json", own)
	var js []commentReply
	decodeJSON(t, res, &js)
	if res.status != 200 || len(js) != 1 || js[0].ID == first || !strings.HasPrefix(js[0].ID, "c") {
		t.Fatalf("POST json: %d %s", res.status, res.body)
	}
	// Another client's update 77 is another comment.
	other, err := b.c.AddAPIKey(ctx, "another client")
	if err != nil {
		t.Fatal(err)
	}
	theirs := b.commentForm(id, "77")
	theirs.Set("api_key", other)
	if got := b.postComment(t, theirs); got == first {
		t.Errorf("another client's update 77 is the first client's comment %s", first)
	}
	if n := b.comments(t); n != 3 {
		t.Errorf("%d comments stored, want 3", n)
	}

	msgs, err := b.c.Messages(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	var in []core.Message
	for _, m := range msgs {
		if m.Direction == "in" && m.Channel == core.ChannelOpen311 {
			in = append(in, m)
		}
	}
	if len(in) != 3 {
		t.Fatalf("%d comments on the request, want 3: %+v", len(in), msgs)
	}
	m := in[0]
	if "c"+strconv.FormatInt(m.ID, 10) != first ||
		m.Body != "Looks filled in now, but the edge is sharp.\n\nPhoto: https://fms.example/photo/c/77.full.jpeg" ||
		m.Flag != "says the issue is closed (CLOSED); status not changed; not from the request's reporter" ||
		m.Subject != "Comment via test client (its update 77, written Nov 28, 2026 9:15 AM)" {
		t.Errorf("comment %+v", m)
	}
	ct, err := b.c.Contact(ctx, *m.ContactID)
	if err != nil || ct.Name != "Ann Other" || ct.Email != "ann.other@example.net" || ct.Phone != "+15305550144" {
		t.Errorf("commenter %+v %v", ct, err)
	}
	if in[1].Body != "Thank you!" || in[1].Flag != "" {
		t.Errorf("the reporter's comment %+v", in[1])
	}
	got, err := b.c.Request(ctx, r)
	if err != nil || got.Status != core.StatusNew {
		t.Errorf("the comment changed the request: %s %v", got.Status, err)
	}

	// On a closed request, a comment saying it is open is flagged.
	if err := b.c.ChangeStatus(ctx, r, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved, By: dispatcher}); err != nil {
		t.Fatal(err)
	}
	reopen := b.commentForm(id, "79")
	reopen.Set("status", "OPEN")
	b.postComment(t, reopen)
	if msgs, err = b.c.Messages(ctx, r); err != nil {
		t.Fatal(err)
	}
	if last := msgs[len(msgs)-1]; last.Flag != "says the issue is open (OPEN); status not changed; not from the request's reporter" {
		t.Errorf("comment on a closed request: %+v", last)
	}

	// Updates carry no comment and no commenter.
	_, bodies := b.getUpdates(t, around(time.Hour, time.Minute))
	for _, body := range bodies {
		for _, s := range []string{"edge is sharp", "Thank you", "Ann", "ann.other", "5305550144", "fms.example"} {
			if strings.Contains(body, s) {
				t.Errorf("updates show %q: %s", s, body)
			}
		}
	}
}

// A comment that cannot be taken as sent is refused with the reason, and
// nothing is stored.
func TestPostCommentRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	id, _ := b.create(t, b.validForm())
	with := func(k, v string) url.Values {
		f := b.commentForm(id, "90")
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		desc   string
	}{
		{"no request id", with("service_request_id", ""), 400, "service_request_id: is required"},
		{"no update id", with("update_id", ""), 400, "update_id: is required"},
		{"no datetime", with("updated_datetime", ""), 400, "updated_datetime: is required"},
		{"no status", with("status", ""), 400, "status: is required"},
		{"no words, no photo", func() url.Values { f := with("description", ""); f.Del("media_url"); return f }(),
			400, "description: is empty"},
		{"a request id that is not one", with("service_request_id", "12a"), 400, `service_request_id: "12a" is not a request id`},
		{"an unknown request", with("service_request_id", "999999"), 404, "service_request_id: request 999999 does not exist"},
		{"an unknown status", with("status", "MAYBE"), 400, `status: "MAYBE" is not one of ACTION_SCHEDULED, CLOSED,`},
		{"a datetime that is not one", with("updated_datetime", "Tuesday"), 400, `updated_datetime: "Tuesday" is not a date`},
		{"a NUL", with("description", "bad\x00byte"), 400, "description: contains a NUL character"},
		{"not UTF-8", with("description", "caf\xe9"), 400, "description: is not valid UTF-8 text"},
		{"too long", with("description", strings.Repeat("é", core.MaxDescription+1)), 400,
			fmt.Sprintf("description: is %d characters long; the limit is %d", core.MaxDescription+1, core.MaxDescription)},
		{"an update id too long", with("update_id", strings.Repeat("9", 101)), 400, "update_id: is 101 characters long; the limit is 100"},
		{"a photo link that is not http", with("media_url", "ftp://fms.example/1.jpg"), 400, "media_url: must be an http or https URL"},
		{"a bad email", with("email", "ann at example"), 400, "email:"},
		{"another city", with("jurisdiction_id", "sf.gov"), 404, `jurisdiction_id: "sf.gov" is not served here`},
	} {
		wantError(t, b.postForm(t, "/open311/v2/servicerequestupdates.xml", tc.form), true, tc.status, tc.desc)
		wantError(t, b.postForm(t, "/open311/v2/servicerequestupdates.json", tc.form), false, tc.status, tc.desc)
	}

	// A file is refused by its part's name, not dropped.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range b.commentForm(id, "91") {
		mw.WriteField(k, vs[0])
	}
	fw, err := mw.CreateFormFile("photo1", "IMG_1.jpg")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(testJPEG(t))
	mw.Close()
	req, err := http.NewRequest("POST", b.srv.URL+"/open311/v2/servicerequestupdates.xml", &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	wantError(t, b.do(t, req), true, 400, "photo1: a comment takes no file")

	// Too big a body is refused unread.
	big := b.commentForm(id, "92")
	big.Set("description", strings.Repeat("a", maxCommentForm))
	wantError(t, b.postForm(t, "/open311/v2/servicerequestupdates.xml", big), true, 413, "larger than the limit")

	if n := b.comments(t); n != 0 {
		t.Errorf("%d comments stored from refused posts", n)
	}
	// The same fields in multipart, without a file, are taken.
	ct, body := multipartBody(t, b.commentForm(id, "93"), nil)
	req, err = http.NewRequest("POST", b.srv.URL+"/open311/v2/servicerequestupdates.xml", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	if res := b.do(t, req); res.status != 200 || b.comments(t) != 1 {
		t.Errorf("multipart comment: %d %s", res.status, res.body)
	}
}
