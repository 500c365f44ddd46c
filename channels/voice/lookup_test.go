package voice_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

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

// City information: the emergency notices in force, the gravest first;
// the meetings and events of the next two weeks (three at most, none
// cancelled); the office hours, whether the offices are open now, and how
// to reach the city; in the caller's language.
func TestInfo(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	la := mustLoad("America/Los_Angeles")
	now := time.Now().In(la)
	day := func(days, hour int) time.Time {
		return time.Date(now.Year(), now.Month(), now.Day()+days, hour, 0, 0, 0, la)
	}
	until := day(40, 17)
	post := func(a core.Announcement) core.Announcement {
		t.Helper()
		saved, err := w.c.SaveAnnouncement(ctx, a, core.CommandLine)
		if err != nil {
			t.Fatal(err)
		}
		return saved
	}
	post(core.Announcement{Kind: core.KindEmergency, Severity: core.SeverityAdvisory, Title: "Smoke from the Feather fire",
		Area: "Citywide", Ends: &until})
	post(core.Announcement{Kind: core.KindEmergency, Severity: core.SeverityWarning, Title: "Boil water notice",
		TitleES: "Aviso de hervir el agua", Body: "Boil tap water for one minute before drinking it.",
		BodyES: "Hierva el agua de la llave un minuto antes de tomarla.", Area: "South Oroville", Ends: &until})
	council := post(core.Announcement{Kind: core.KindMeeting, Title: "City Council", TitleES: "Concejo Municipal",
		Place: "Council Chambers", Starts: day(2, 18)})
	post(core.Announcement{Kind: core.KindEvent, Title: "Cleanup day", TitleES: "Día de limpieza", Starts: day(3, 9)})
	called := post(core.Announcement{Kind: core.KindMeeting, Title: "Planning Commission", Starts: day(4, 18)})
	must(t, w.c.CancelAnnouncement(ctx, called.ID, core.CommandLine))
	post(core.Announcement{Kind: core.KindEvent, Title: "Tree planting", Starts: day(5, 10)})
	post(core.Announcement{Kind: core.KindEvent, Title: "Holiday market", Starts: day(6, 10)}) // a fourth: not said
	post(core.Announcement{Kind: core.KindEvent, Title: "Spring fair", Starts: day(20, 10)})   // too far off

	moment := func(t time.Time, clock string) string {
		return fmt.Sprintf("%s, %s %d, at %s", t.Weekday(), t.Month(), t.Day(), clock)
	}
	call := w.call("+15305550111")
	must(t, call.Dial())
	must(t, call.Press("3"))
	hears(t, call, "Emergency warning for South Oroville: Boil water notice. Boil tap water for one minute before drinking it. Until "+
		moment(until, "5 PM")+". Emergency advisory for Citywide: Smoke from the Feather fire. Until "+moment(until, "5 PM")+".",
		"Coming up: City Council, "+moment(council.Starts.In(la), "6 PM")+", at Council Chambers. Cleanup day, "+
			moment(day(3, 9), "9 AM")+". Tree planting, "+moment(day(5, 10), "10 AM")+". Our offices are open Monday to Friday",
		"We are open now.", "You can reach us at: City of Oroville 311, 1735 Montgomery Street")
	for _, not := range []string{"Planning Commission", "Holiday market", "Spring fair"} {
		heardNot(t, call, not)
	}
	must(t, call.Press("1"))
	must(t, call.Press("9"))
	must(t, call.Press("3"))
	months := []string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"}
	weekdays := []string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"}
	momento := func(t time.Time, clock string) string {
		return fmt.Sprintf("%s %d de %s, %s", weekdays[t.Weekday()], t.Day(), months[t.Month()-1], clock)
	}
	hears(t, call, "Advertencia de emergencia para South Oroville: Aviso de hervir el agua. Hierva el agua de la llave un minuto antes de tomarla. Hasta el "+
		momento(until, "a las 5 de la tarde")+". Aviso de emergencia para Citywide: Smoke from the Feather fire.",
		"Próximamente: Concejo Municipal, el "+momento(council.Starts.In(la), "a las 6 de la tarde")+", en Council Chambers. Día de limpieza, el "+
			momento(day(3, 9), "a las 9 de la mañana")+".",
		"Nuestras oficinas abren de lunes a viernes, de 8 de la mañana a 5 de la tarde. Ahora estamos abiertos.")

	// Announcements that cannot be read still leave the hours, and the
	// operator learns why; readable ones are no news.
	w2 := newWorld(t)
	if _, err := w2.pool.Exec(ctx, "ALTER TABLE announcements RENAME TO gone"); err != nil {
		t.Fatal(err)
	}
	w2.setNow(officeHours.AddDate(0, 0, 5)) // a Sunday
	call = w2.call("+15305550111")
	must(t, call.Dial())
	must(t, call.Press("3"))
	hears(t, call, "Our offices are open Monday to Friday", "We are closed now.")
	heardNot(t, call, "Coming up")
	if logs := w2.logs.String(); !strings.Contains(logs, "level=WARN msg=\"voice: announcements unavailable\"") ||
		!strings.Contains(logs, "announcements") {
		t.Errorf("the unreadable announcements were not logged as a warning:\n%s", logs)
	}
	if logs := w.logs.String(); strings.Contains(logs, "announcements unavailable") {
		t.Errorf("readable announcements were logged as unavailable:\n%s", logs)
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
