package open311

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"townline/core"
)

// A FixMyStreet-style client, end to end: it files a report in XML with
// two uploaded photos and a question of its own, follows every public
// status change as an update with the right status, and relays a
// resident's comment that staff then read on the request. Nothing it
// sent is lost; nothing private comes back.
func TestFixMyStreetEndToEnd(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	ctx := context.Background()
	form := b.validForm()
	form.Set("attribute[fixmystreet_id]", "7000100")
	form.Set("first_name", "Zelda")
	form.Set("last_name", "Quartermain")
	form.Set("email", "zelda.q@example.net")
	form.Set("description", "Deep pothole, see https://fms.example/report/7000100")
	ct, body := encodeMultipart(t, form, []part{{"photo1", "1.jpeg", testJPEG(t)}, {"photo2", "2.png", testPNG(t)}})
	req, _ := http.NewRequest("POST", b.srv.URL+"/open311/v2/requests.xml", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", ct)
	res := b.do(t, req)
	var filed struct {
		Requests []struct {
			ID string `xml:"service_request_id"`
		} `xml:"request"`
	}
	if res.status != http.StatusOK {
		t.Fatalf("filing: %d %s", res.status, res.body)
	}
	decodeXML(t, res, &filed)
	id := mustID(t, filed.Requests[0].ID)

	r, err := b.c.Request(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	files, err := b.c.Attachments(ctx, id)
	if err != nil || len(files) != 2 || r.Attributes["fixmystreet_id"][0] != "7000100" {
		t.Fatalf("kept %d files, attributes %v: %v", len(files), r.Attributes, err)
	}

	// The city works it: in progress with a note, a private note, fixed.
	steps := []core.StatusChange{
		{To: core.StatusInProgress, Note: "Crew scheduled.", Public: true, By: dispatcher},
		{To: core.StatusClosed, Reason: core.ReasonResolved, Note: "Filled this morning.", Public: true, By: dispatcher},
	}
	if err := b.c.ChangeStatus(ctx, id, steps[0]); err != nil {
		t.Fatal(err)
	}
	if err := b.c.AddNote(ctx, id, "Zelda called twice; crew 4", false, dispatcher); err != nil {
		t.Fatal(err)
	}
	if err := b.c.ChangeStatus(ctx, id, steps[1]); err != nil {
		t.Fatal(err)
	}
	updates, bodies := b.getUpdates(t, around(time.Hour, time.Minute))
	var got []string
	for _, u := range updates {
		if u.RequestID == filed.Requests[0].ID {
			got = append(got, u.Status+": "+u.Description)
		}
	}
	if want := []string{"in_progress: Crew scheduled.", "fixed: Filled this morning."}; !slices.Equal(got, want) {
		t.Errorf("updates %q, want %q", got, want)
	}
	for _, secret := range []string{"Zelda", "Quartermain", "zelda.q@", "crew 4", "dispatcher@", "fixmystreet_id"} {
		for _, body := range bodies {
			if strings.Contains(body, secret) {
				t.Errorf("an update shows %q: %s", secret, body)
			}
		}
	}

	// A resident comments through FixMyStreet: staff read it on the request.
	b.postComment(t, b.commentForm(filed.Requests[0].ID, "501"))
	ms, err := b.c.Messages(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(ms, func(m core.Message) bool {
		return m.Direction == "in" && strings.Contains(m.Body, "Looks filled in now")
	}) {
		t.Errorf("the comment is not on the request: %+v", ms)
	}
}
