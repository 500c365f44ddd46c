package voice_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"townline/cities"
	"townline/core"
)

// The issue's own walk: a dead dog reported in three steps, its number
// read back, later keyed in to hear its status.
func TestReportInEnglish(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	call := w.call("+15305550100")

	must(t, call.Dial())
	hears(t, call, "Thank you for calling the City of Oroville 311 line", "Para español, oprima 9", "To report a problem, press 1")
	waits(t, call, "Gather", "numDigits", "1")
	if h := call.Heard(); h[1].Language != "es-US" || h[2].Language != "en-US" {
		t.Errorf("languages %q, %q: the Spanish offer must be spoken in Spanish", h[1].Language, h[2].Language)
	}

	must(t, call.Press("1"))
	hears(t, call, "What kind of problem is it?", "For Pothole, press 1", "For Dead animal, press 8", "For anything else, press 0")

	must(t, call.Press("8"))
	hears(t, call, "tell us what the problem is")
	waits(t, call, "Gather", "input", "speech", "language", "en-US")
	if _, attrs := call.Waiting(); !strings.Contains(attrs["hints"], "dead dog") {
		t.Errorf("hints %q lack the service's keywords", attrs["hints"])
	}

	must(t, call.Speak("a dead dog on Oro Dam Boulevard near Feather River Boulevard", 0.92))
	hears(t, call, "I heard: Oro Dam Boulevard & Feather River Boulevard. If that is right, press 1. To say it again, press 2.")

	must(t, call.Press("1"))
	r := w.only()
	if r.ServiceCode != "animal-dead" || r.Address != "Oro Dam Boulevard & Feather River Boulevard" || r.Channel != core.ChannelVoice {
		t.Errorf("request %+v", r)
	}
	if r.Description != "a dead dog on Oro Dam Boulevard near Feather River Boulevard" {
		t.Errorf("description %q", r.Description)
	}
	num := spelled(r.ID)
	if got := strings.Count(call.Said(), "request number is "+num); got != 2 {
		t.Errorf("the number %q was read %d times, want twice:\n%s", num, got, call.Said())
	}
	hears(t, call, "To get a text message")

	must(t, call.Press("2")) // no texts
	hears(t, call, "we will call you during the day", "To return to the main menu, press 1")
	must(t, call.Silence())
	hears(t, call, "Thank you for calling the City of Oroville. Goodbye.")
	if !call.Ended() {
		t.Fatal("the call did not end")
	}

	// Staff see what the caller said; nobody was texted or called.
	ms, err := w.c.Messages(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Direction != "in" || ms[0].Channel != core.ChannelVoice ||
		!strings.Contains(ms[0].Body, "a dead dog on Oro Dam") || ms[0].ProviderID != call.Sid()+"/1" {
		t.Errorf("messages %+v", ms)
	}
	if n := len(w.fake.Messages()); n != 0 {
		t.Errorf("%d texts sent to a caller who declined them", n)
	}
	if v, err := w.c.ChannelState(ctx, "voice:call:"+call.Sid()); err != nil || v != "" {
		t.Errorf("the call's state outlived it: %q, %v", v, err)
	}

	// Later: key the number in, then again once staff are on it.
	check := func(want ...string) {
		t.Helper()
		call := w.call("+15305550199")
		must(t, call.Dial())
		must(t, call.Press("2"))
		hears(t, call, "enter your request number, then press the pound key")
		waits(t, call, "Gather", "finishOnKey", "#")
		must(t, call.Press(strings.ReplaceAll(num, ", ", "")+"#"))
		hears(t, call, append([]string{"Request number " + num + ", Dead animal, at Oro Dam Boulevard & Feather River Boulevard"}, want...)...)
		must(t, call.HangUp())
	}
	check("is received.")
	err = w.c.ChangeStatus(ctx, r.ID, core.StatusChange{To: core.StatusInProgress, Note: "A crew is on the way.",
		Public: true, By: core.Actor{Name: "Pat"}})
	if err != nil {
		t.Fatal(err)
	}
	check("is in progress.", "The latest note says: A crew is on the way.")
}

// The same in Spanish, and the caller takes texts: the confirmation
// reaches Twilio's Messages API, in Spanish.
func TestReportInSpanish(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	call := w.call("+15305550101")

	must(t, call.Dial())
	must(t, call.Press("9"))
	hears(t, call, "For English, press 9.", "Para reportar un problema, oprima 1")
	for _, s := range call.Heard()[len(call.Heard())-2:] {
		if want := map[bool]string{true: "en-US", false: "es-US"}[strings.HasPrefix(s.Text, "For English")]; s.Language != want {
			t.Errorf("%q spoken in %q, want %q", s.Text, s.Language, want)
		}
	}

	must(t, call.Press("1"))
	hears(t, call, "¿Qué tipo de problema es?", "Para Bache, oprima 1", "Para Animal muerto, oprima 8", "Para otra cosa, oprima 0")
	must(t, call.Press("8"))
	hears(t, call, "díganos cuál es el problema")
	waits(t, call, "Gather", "input", "speech", "language", "es-US")

	must(t, call.Speak("un perro muerto en Oro Dam Boulevard cerca de Feather River Boulevard", 0.88))
	hears(t, call, "Escuché: Oro Dam Boulevard & Feather River Boulevard. Si es correcto, oprima 1.")
	must(t, call.Press("1"))
	r := w.only()
	if r.ServiceCode != "animal-dead" || r.Address != "Oro Dam Boulevard & Feather River Boulevard" {
		t.Errorf("request %+v", r)
	}
	num := spelled(r.ID)
	if got := strings.Count(call.Said(), "número de reporte es "+num); got != 2 {
		t.Errorf("the number was read %d times, want twice:\n%s", got, call.Said())
	}
	hears(t, call, "Para recibir un mensaje de texto")

	must(t, call.Press("1"))
	hears(t, call, "Le enviaremos por texto la confirmación")
	texts, err := w.fake.WaitMessages(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m := texts[0]; m.To != "+15305550101" || !strings.Contains(m.Body, "#"+strings.ReplaceAll(num, ", ", "")+": recibido") {
		t.Errorf("confirmation text %+v", m)
	}
	if r.ContactID == nil {
		t.Fatal("no contact")
	}
	ct, err := w.c.Contact(ctx, *r.ContactID)
	if err != nil || ct.Language != "es" || !ct.TextsOK {
		t.Errorf("contact %+v (%v): want Spanish and texts", ct, err)
	}

	// The status, keyed in, in Spanish.
	must(t, call.Press("1")) // back to the main menu
	must(t, call.Press("2"))
	must(t, call.Press(strings.ReplaceAll(num, ", ", "")+"#"))
	hears(t, call, "El reporte número "+num+", Animal muerto, en Oro Dam Boulevard & Feather River Boulevard, está recibido.")
}

// Every key of the city's menu files its service, the ninth included; a
// key past a shorter menu is a wrong answer, asked again.
func TestKindKeys(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	call := w.call("+15305550112")
	must(t, call.Dial())
	must(t, call.Press("1"))
	hears(t, call, "press 9")
	must(t, call.Press("9"))
	must(t, call.Speak("a stop sign knocked down at Bird Street and Myers Street", 0.9))
	must(t, call.Press("1"))
	if r := w.only(); r.ServiceCode != "sign" {
		t.Errorf("key 9 filed %q, want the menu's ninth, sign", r.ServiceCode)
	}

	w = newWorldOf(t, func(c *core.City) { c.Menu = c.Menu[:8] })
	call = w.call("+15305550112")
	must(t, call.Dial())
	must(t, call.Press("1"))
	heardNot(t, call, "press 9")
	must(t, call.Press("9"))
	hears(t, call, "Sorry, I did not get that.", "What kind of problem is it?")
}

// A caller from a number that takes no texts (toll-free) is not offered
// them, and is told updates come by phone; one whose number is withheld
// reports anonymously and is promised neither.
func TestReportFromNumbersWithoutTexts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		number string
		calls  bool
	}{
		{"+18005550199", true},
		{"+266696687", false}, // how Twilio gives a withheld number
	} {
		w := newWorld(t)
		call := w.call(tc.number)
		must(t, call.Dial())
		must(t, call.Press("1"))
		must(t, call.Press("1"))
		must(t, call.Speak("a pothole at Bird Street and Myers Street", 0.9))
		must(t, call.Press("1"))
		hears(t, call, "Your request number is", "To return to the main menu, press 1")
		heardNot(t, call, "To get a text message")
		if said := call.Said(); strings.Contains(said, "we will call you during the day") != tc.calls {
			t.Errorf("%s: promised calls %v, want %v:\n%s", tc.number, !tc.calls, tc.calls, said)
		}
		if r := w.only(); (r.ContactID != nil) != tc.calls {
			t.Errorf("%s: contact %v", tc.number, r.ContactID)
		}
	}
}

// A caller reporting what is an outside agency's hears, after their
// number, whom to call instead: a dead animal on State Route 70 is
// Caltrans's.
func TestReportReferred(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if _, err := w.c.LoadPlaces(context.Background(), cities.OrovillePlacesName, cities.OrovillePlaces); err != nil {
		t.Fatal(err)
	}
	call := w.call("+15305550101")
	must(t, call.Dial())
	must(t, call.Press("1"))
	must(t, call.Press("8"))
	must(t, call.Speak("a dead deer on Oro Dam Boulevard at Highway 70", 0.92))
	hears(t, call, "I heard: Oro Dam Boulevard & Highway 70.")
	must(t, call.Press("1"))
	hears(t, call, "Your request number is", "This is for Caltrans District 3, not the city: please call 530-741-4233")
	r := w.only()
	if r.Status != core.StatusClosed || r.CloseReason != core.ReasonReferred || r.Department != "other" {
		t.Errorf("request %s (%s) in %q, want closed as referred, kept by the 311 desk", r.Status, r.CloseReason, r.Department)
	}
	if n := len(w.fake.Messages()); n != 0 {
		t.Errorf("%d texts sent: the caller heard the referral on the call", n)
	}
}

// A caller reporting what a neighbour already reported nearby hears, after
// their number, that it joined the first report.
func TestReportJoinsTheSameIssue(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.c.LoadPlaces(ctx, cities.OrovillePlacesName, cities.OrovillePlaces); err != nil {
		t.Fatal(err)
	}
	lat, lng := 39.5138, -121.5564 // Montgomery Street & 5th Avenue
	first, err := w.c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "animal-dead",
		Description: "Dead cat", Lat: &lat, Lng: &lng})
	if err != nil {
		t.Fatal(err)
	}
	call := w.call("+15305550102")
	must(t, call.Dial())
	must(t, call.Press("1"))
	must(t, call.Press("8"))
	must(t, call.Speak("a dead cat at montgomery and fifth", 0.92))
	hears(t, call, "I heard: Montgomery Street & 5th Avenue.")
	must(t, call.Press("1"))
	hears(t, call, "Your request number is", "This was already reported, as request number "+spelled(first.ID))
}

// A report 100 m from an open one of its kind may be the same: the
// caller hears which, and chooses to follow it (1) or keep their own (2).
func TestReportMayRepeatAnother(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.c.LoadPlaces(ctx, cities.OrovillePlacesName, cities.OrovillePlaces); err != nil {
		t.Fatal(err)
	}
	lat, lng := 39.5138+0.0009, -121.5564 // 100 m north of Montgomery Street & 5th Avenue
	first, err := w.c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "animal-dead",
		Description: "Dead cat", Lat: &lat, Lng: &lng})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		from, key, hear string
		follows         bool
	}{
		{"+15305550103", "1", "This was already reported, as request number " + spelled(first.ID), true},
		{"+15305550104", "2", "Your report stays a report of its own.", false},
	} {
		call := w.call(tc.from)
		must(t, call.Dial())
		must(t, call.Press("1"))
		must(t, call.Press("8"))
		must(t, call.Speak("a dead cat at montgomery and fifth", 0.92))
		must(t, call.Press("1"))
		hears(t, call, "Your request number is", "Request number "+spelled(first.ID)+", Dead animal, 100 meters away",
			"To follow it instead, press 1.")
		must(t, call.Press(tc.key))
		hears(t, call, tc.hear)
		var dup *int64
		if err := w.c.Pool().QueryRow(ctx, `SELECT duplicate_of FROM requests WHERE id = (SELECT max(id) FROM requests)`).Scan(&dup); err != nil {
			t.Fatal(err)
		}
		if follows := dup != nil && *dup == first.ID; follows != tc.follows {
			t.Errorf("pressing %s: duplicate of %v, want following #%d: %v", tc.key, dup, first.ID, tc.follows)
		}
	}
}
