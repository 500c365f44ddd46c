package voice_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"townline/channels/voice"
	"townline/core"
)

// A number that does not exist is said back and asked for again; a
// duplicate tells its parent's progress.
func TestStatusCheck(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	parent, err := w.c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelWeb, ServiceCode: "streetlight",
		Address: "Bird Street & Myers Street"})
	if err != nil {
		t.Fatal(err)
	}
	child, err := w.c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelWeb, ServiceCode: "streetlight",
		Address: "Bird Street"})
	if err != nil {
		t.Fatal(err)
	}
	must(t, w.c.MarkDuplicate(ctx, child.ID, parent.ID, core.Actor{Name: "Pat"}))
	must(t, w.c.ChangeStatus(ctx, parent.ID, core.StatusChange{To: core.StatusClosed, Reason: core.ReasonResolved,
		Note: "PG&E replaced the lamp.", Public: true, By: core.Actor{Name: "Pat"}}))

	call := w.call("+15305550110")
	must(t, call.Dial())
	must(t, call.Press("2"))
	must(t, call.Press("99999#"))
	hears(t, call, "I could not find request number 9, 9, 9, 9, 9.", "enter your request number")
	heardNot(t, call, "did not get that")
	must(t, call.Press("0#")) // no request has number 0: not a number at all
	hears(t, call, "Sorry, I did not get that.", "enter your request number")
	heardNot(t, call, "could not find")
	must(t, call.Press(strconv.FormatInt(child.ID, 10)+"#"))
	hears(t, call, "Request number "+spelled(child.ID)+", Streetlight, at Bird Street, is closed: it was taken care of.",
		"The latest note says: PG&E replaced the lamp.", "To return to the main menu, press 1")
}

// City information: the announcements hook, the office hours, whether
// the offices are open now, and how to reach the city.
func TestInfo(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(c *voice.Config) {
		c.Announcements = func(ctx context.Context, lang string) ([]string, error) {
			if lang == "es" {
				return []string{"El centro de enfriamiento está abierto."}, nil
			}
			return []string{"The cooling center is open."}, nil
		}
	})
	call := w.call("+15305550111")
	must(t, call.Dial())
	must(t, call.Press("3"))
	hears(t, call, "The cooling center is open. Our offices are open Monday to Friday, from 8 AM to 5 PM. We are open now.",
		"You can reach us at: City of Oroville 311, 1735 Montgomery Street")
	must(t, call.Press("1"))
	must(t, call.Press("9"))
	must(t, call.Press("3"))
	hears(t, call, "El centro de enfriamiento está abierto. Nuestras oficinas abren de lunes a viernes, de 8 de la mañana a 5 de la tarde. Ahora estamos abiertos.")

	// An announcement source that fails still leaves the hours.
	w2 := newWorld(t, func(c *voice.Config) {
		c.Announcements = func(context.Context, string) ([]string, error) { return nil, errors.New("feed down") }
	})
	w2.setNow(officeHours.AddDate(0, 0, 5)) // a Sunday
	call = w2.call("+15305550111")
	must(t, call.Dial())
	must(t, call.Press("3"))
	hears(t, call, "Our offices are open Monday to Friday", "We are closed now.")
	// The operator learns the feed is down; a working feed is no news.
	if logs := w2.logs.String(); !strings.Contains(logs, "level=WARN msg=\"voice: announcements unavailable\"") ||
		!strings.Contains(logs, "feed down") {
		t.Errorf("the failing feed was not logged as a warning:\n%s", logs)
	}
	if logs := w.logs.String(); strings.Contains(logs, "announcements unavailable") {
		t.Errorf("a working feed was logged as unavailable:\n%s", logs)
	}
}

// Webhooks without Twilio's signature, or signed for another URL, are refused.
func TestSignature(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	form := url.Values{"CallSid": {"CA1"}, "From": {"+15305550100"}}
	for _, path := range []string{"/twilio/voice", "/twilio/voice/menu", "/twilio/voice/status", "/twilio/voice/transcript", "/twilio/voice/replay"} {
		resp, err := http.PostForm(w.srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("unsigned %s: %s", path, resp.Status)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, w.srv.URL+"/twilio/voice/menu", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", "d3JvbmcgYnV0IHdlbGwgZm9ybWVk")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("badly signed: %s", resp.Status)
	}
}
