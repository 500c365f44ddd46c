package core

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"townline/cities"
)

// The conversation's rules, without a database: each case is a state, a
// message and what the rules must decide.

func testCity(t *testing.T) *City {
	t.Helper()
	c, err := LoadCity(cities.OrovilleName, cities.Oroville)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// describe renders actions compactly, for comparing.
func describe(as []action) []string {
	var out []string
	for _, a := range as {
		switch a := a.(type) {
		case optOut:
			out = append(out, fmt.Sprintf("opt-out %v", a.out))
		case flagContact:
			out = append(out, "flag contact: "+a.reason)
		case useLanguage:
			out = append(out, fmt.Sprintf("language %s chosen=%v", a.lang, a.chosen))
		case reply:
			s := "reply " + a.kind
			if a.data.ID != 0 {
				s += fmt.Sprintf(" #%d", a.data.ID)
			}
			for _, c := range a.data.Choices {
				s += " [" + c.Key + " " + c.Label + "]"
			}
			out = append(out, s)
		case replyStatus:
			out = append(out, fmt.Sprintf("status #%d", a.id))
		case attach:
			out = append(out, fmt.Sprintf("attach %v to #%d", a.messages, a.request))
		case file:
			d := a.draft
			s := fmt.Sprintf("file %q at %q from %v", d.Service, d.Address, d.Messages)
			if d.Lat != nil {
				s += fmt.Sprintf(" (%.3f,%.3f)", *d.Lat, *d.Lng)
			}
			if !a.ack {
				s += " quietly"
			}
			if a.note != "" {
				s += " noting " + a.note
			}
			out = append(out, s)
		case flagMessage:
			out = append(out, "flag message: "+a.why)
		case clearBounce:
			out = append(out, "clear bounce")
		default:
			out = append(out, fmt.Sprintf("%T", a))
		}
	}
	return out
}

func TestConversationRules(t *testing.T) {
	t.Parallel()
	city := testCity(t)
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	lat, lng := 39.5138, -121.5564 // downtown Oroville
	recent := requestBrief{ID: 1001, Service: "pothole", ServiceName: "Pothole", Open: true, RequestedAt: now.Add(-5 * time.Minute)}
	older := requestBrief{ID: 1000, Service: "graffiti-public", ServiceName: "Graffiti on public property", Open: true, RequestedAt: now.Add(-48 * time.Hour)}
	oldest := requestBrief{ID: 999, Service: "", ServiceName: "", Open: true, RequestedAt: now.Add(-72 * time.Hour)}
	// gone is of a service the city file no longer has: it keeps its name.
	gone := requestBrief{ID: 998, Service: "weeds", ServiceName: "Weeds", Open: true, RequestedAt: now.Add(-96 * time.Hour)}
	menu := "reply ask.service [1 Pothole] [2 Streetlight] [3 Graffiti on public property] [4 Illegal dumping] [5 Abandoned vehicle] [6 Homeless encampment] [7 Stray, loose or injured animal] [8 Dead animal] [9 Damaged or missing sign] [0 Something else]"
	menuES := "reply ask.service [1 Bache] [2 Luz de la calle] [3 Grafiti en propiedad pública] [4 Basura tirada ilegalmente] [5 Vehículo abandonado] [6 Campamento de personas sin hogar] [7 Animal suelto, callejero o herido] [8 Animal muerto] [9 Señal dañada o faltante] [0 Otra cosa]"

	tests := []struct {
		name     string
		setup    func(d *dialogue)
		text     string
		media    bool
		want     []string
		awaiting string // the draft's question after the turn; "-" for no draft
	}{
		{name: "a complete report is filed and acknowledged", text: "big pothole at montgomery and 5th",
			want: []string{`file "pothole" at "Montgomery Street & 5th Avenue" from [7]`}, awaiting: "-"},
		{name: "a report without a place asks where", text: "there's a pothole",
			want: []string{"reply ask.place"}, awaiting: "place"},
		{name: "a report without a service offers the menu", text: "something at 1735 Montgomery Street",
			want: []string{menu}, awaiting: "service"},
		{name: "a report in Spanish without a service offers the menu in Spanish", text: "hay algo raro en la calle Bird y la quinta",
			setup: func(d *dialogue) { d.contact.Language = "es" },
			want:  []string{menuES}, awaiting: "service"},
		{name: "the place answers the question", text: "Bird and 5th",
			setup: func(d *dialogue) { d.draft = &draft{Service: "pothole", Messages: []int64{6}, Awaiting: "place"} },
			want:  []string{`file "pothole" at "Bird Street & 5th Avenue" from [6 7]`}, awaiting: "-"},
		{name: "the resident's own words answer where", text: "the Safeway lot",
			setup: func(d *dialogue) { d.draft = &draft{Service: "pothole", Messages: []int64{6}, Awaiting: "place"} },
			want:  []string{`file "pothole" at "the Safeway lot" from [6 7]`}, awaiting: "-"},
		{name: "a number picks from the menu", text: "2",
			setup: func(d *dialogue) {
				d.draft = &draft{Address: "1735 Montgomery Street", PlaceClear: true, Messages: []int64{6}, Awaiting: "service",
					Choices: city.Menu}
			},
			want: []string{`file "streetlight" at "1735 Montgomery Street" from [6 7]`}, awaiting: "-"},
		{name: "a street now and a street in the answer make a corner", text: "5th",
			setup: func(d *dialogue) {
				d.draft = &draft{Service: "pothole", Address: "Myers Street", Messages: []int64{6}, Awaiting: "place"}
			},
			want: []string{`file "pothole" at "Myers Street & 5th Avenue" from [6 7]`}, awaiting: "-"},
		{name: "an empty answer to where is asked again", text: "",
			setup: func(d *dialogue) { d.draft = &draft{Service: "pothole", Messages: []int64{6}, Awaiting: "place"} },
			want:  []string{"reply ask.place"}, awaiting: "place"},
		{name: "the second unanswered where files what there is", text: "",
			setup: func(d *dialogue) {
				d.draft = &draft{Service: "pothole", Messages: []int64{6}, Awaiting: "place", Asked: 1}
			},
			want: []string{`file "pothole" at "" from [6 7]`}, awaiting: "-"},
		{name: "0 picks something else", text: "0",
			setup: func(d *dialogue) {
				d.draft = &draft{Address: "1735 Montgomery Street", PlaceClear: true, Messages: []int64{6}, Awaiting: "service",
					Choices: append(slices.Clone(city.Menu), "other")}
			},
			want: []string{`file "other" at "1735 Montgomery Street" from [6 7]`}, awaiting: "-"},
		{name: "words that pick no report start a new one with what came before", text: "at montgomery and 5th",
			setup: func(d *dialogue) {
				d.draft = &draft{Messages: []int64{6}, Awaiting: "which", Choices: []string{"1000", "999"}, Description: "pothole"}
			},
			want: []string{`file "pothole" at "Montgomery Street & 5th Avenue" from [6 7]`}, awaiting: "-"},
		{name: "of two requests named, the resident's is joined", text: "like #999 but worse, see #1000",
			setup: func(d *dialogue) { d.owned = []int64{1000} },
			want:  []string{"attach [7] to #1000", "reply added #1000"}, awaiting: "-"},
		{name: "more words soon after the newest of several reports join it", text: "still there",
			setup: func(d *dialogue) { d.open = []requestBrief{recent, older} },
			want:  []string{"attach [7] to #1001", "reply added #1001"}, awaiting: "-"},
		{name: "another service soon after is a new report", text: "streetlight out",
			setup: func(d *dialogue) { d.open = []requestBrief{recent}; d.last = recent.ID; d.lastBrief = &recent },
			want:  []string{"reply ask.place"}, awaiting: "place"},
		{name: "the same service days later is a new report", text: "another pothole",
			setup: func(d *dialogue) {
				d.open = []requestBrief{older}
				old := recent
				old.RequestedAt = now.Add(-48 * time.Hour)
				d.last, d.lastBrief = old.ID, &old
			},
			want: []string{"reply ask.place"}, awaiting: "place"},
		{name: "an empty message makes nothing", text: "",
			want: nil, awaiting: "-"},
		{name: "HELP from a Spanish speaker switches to English", text: "help",
			setup: func(d *dialogue) { d.contact.Language = "es" },
			want:  []string{"language en chosen=false", "reply help"}, awaiting: "-"},
		{name: "HELP keeps a chosen language", text: "help",
			setup: func(d *dialogue) { d.contact.Language, d.contact.LanguageChosen = "es", true },
			want:  []string{"reply help"}, awaiting: "-"},
		{name: "two unanswered questions file what there is", text: "dunno",
			setup: func(d *dialogue) {
				d.draft = &draft{Address: "1735 Montgomery Street", PlaceClear: true, Messages: []int64{6}, Awaiting: "service",
					Choices: city.Menu, Asked: 1}
			},
			want: []string{`file "" at "1735 Montgomery Street" from [6 7]`}, awaiting: "-"},
		{name: "a photo without a place waits for its position", text: "pothole", media: true,
			want: nil, awaiting: "media"},
		{name: "more words after a report join it", text: "it's really deep",
			setup: func(d *dialogue) { d.open = []requestBrief{recent}; d.last = recent.ID; d.lastBrief = &recent },
			want:  []string{"attach [7] to #1001", "reply added #1001"}, awaiting: "-"},
		{name: "the same service soon after joins the last report", text: "the pothole is getting bigger",
			setup: func(d *dialogue) { d.open = []requestBrief{recent}; d.last = recent.ID; d.lastBrief = &recent },
			want:  []string{"attach [7] to #1001", "reply added #1001"}, awaiting: "-"},
		{name: "a closed last report does not take more words", text: "another pothole",
			setup: func(d *dialogue) {
				closed := recent
				closed.Open = false
				d.last, d.lastBrief = closed.ID, &closed
			},
			want: []string{"reply ask.place"}, awaiting: "place"},
		{name: "which report, when there are several", text: "still there",
			setup: func(d *dialogue) { d.open = []requestBrief{older, oldest} },
			want:  []string{"reply ask.which [1 1000 Graffiti on public property] [2 999 Report]"}, awaiting: "which"},
		{name: "which report, in Spanish", text: "sigue ahí",
			setup: func(d *dialogue) { d.contact.Language = "es"; d.open = []requestBrief{older, gone} },
			want:  []string{"reply ask.which [1 1000 Grafiti en propiedad pública] [2 998 Weeds]"}, awaiting: "which"},
		{name: "the answer picks the report", text: "2",
			setup: func(d *dialogue) {
				d.draft = &draft{Messages: []int64{6}, Awaiting: "which", Choices: []string{"1000", "999"}}
			},
			want: []string{"attach [6 7] to #999", "reply added #999"}, awaiting: "-"},
		{name: "a named request of the resident's joins it", text: "about #1000, it got worse",
			setup: func(d *dialogue) { d.owned = []int64{1000} },
			want:  []string{"attach [7] to #1000", "reply added #1000"}, awaiting: "-"},
		{name: "a named request of someone else's does not", text: "about #1000, it got worse",
			want: []string{menu}, awaiting: "service"},
		{name: "STOP", text: "STOP", want: []string{"opt-out true"}, awaiting: "-"},
		{name: "UNSUBSCRIBE", text: "unsubscribe", want: []string{"opt-out true"}, awaiting: "-"},
		{name: "START", text: "Start", want: []string{"opt-out false"}, awaiting: "-"},
		{name: "STATUS", text: "status", want: []string{"status #0"}, awaiting: "-"},
		{name: "STATUS with a number", text: "ESTADO #1234", want: []string{"status #1234"}, awaiting: "-"},
		{name: "HELP", text: "help", want: []string{"reply help"}, awaiting: "-"},
		{name: "AYUDA answers in Spanish", text: "ayuda", want: []string{"language es chosen=false", "reply help"}, awaiting: "-"},
		{name: "ESPAÑOL is a choice", text: "Español", want: []string{"language es chosen=false", "language es chosen=true", "reply lang"}, awaiting: "-"},
		{name: "NEW drops the draft", text: "new",
			setup: func(d *dialogue) { d.draft = &draft{Service: "pothole", Messages: []int64{6}, Awaiting: "place"} },
			want:  []string{"reply ask.new"}, awaiting: "-"},
		{name: "a flood is flagged once and kept for staff", text: "pothole at montgomery and 5th",
			setup: func(d *dialogue) { d.traffic = traffic{inbound: 21}; d.last = 1001 },
			want:  []string{"flag contact: more than 20 messages in 10m0s", "attach [7] to #1001"}, awaiting: "-"},
		{name: "a flagged contact gets nothing automatic", text: "pothole at montgomery and 5th",
			setup: func(d *dialogue) { d.contact.Flagged = true },
			want:  nil, awaiting: "-"},
		{name: "too many automatic answers flag the contact", text: "hello?",
			setup: func(d *dialogue) { d.traffic = traffic{inbound: 1, hour: 10} },
			want:  []string{"flag contact: 10 automatic answers in an hour"}, awaiting: "-"},
		{name: "a shared location places the report", text: "pothole",
			setup: func(d *dialogue) { d.msg.Lat, d.msg.Lng = &lat, &lng },
			want:  []string{`file "pothole" at "39.51380, -121.55640" from [7] (39.514,-121.556)`}, awaiting: "-"},
		{name: "a chosen language is not guessed over", text: "hay un bache en la calle montgomery y 5th",
			setup: func(d *dialogue) { d.contact.LanguageChosen = true },
			want:  []string{`file "pothole" at "Montgomery Street & 5th Avenue" from [7]`}, awaiting: "-"},
		{name: "Spanish is answered in Spanish", text: "hay un bache en la calle montgomery y 5th",
			want: []string{"language es chosen=false", `file "pothole" at "Montgomery Street & 5th Avenue" from [7]`}, awaiting: "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := &dialogue{city: city, now: now, channel: ChannelSMS, contact: Contact{ID: 1, Phone: "+15305550100", Language: "en"},
				traffic: traffic{inbound: 1}}
			d.msg = message{ID: 7, Text: tt.text, HasMedia: tt.media}
			if tt.setup != nil {
				tt.setup(d)
			}
			d.text()
			if got := describe(d.actions); !slices.Equal(got, tt.want) {
				t.Errorf("actions:\n got %q\nwant %q", got, tt.want)
			}
			awaiting := "-"
			if d.draft != nil {
				awaiting = d.draft.Awaiting
			}
			if awaiting != tt.awaiting {
				t.Errorf("the draft awaits %q, want %q", awaiting, tt.awaiting)
			}
		})
	}
}

func TestConversationResumeAndExpire(t *testing.T) {
	t.Parallel()
	city := testCity(t)
	lat, lng := 39.5138, -121.5564
	gps := &Place{Address: "39.51380, -121.55640", Lat: &lat, Lng: &lng, Clear: true}
	waiting := func() *draft { return &draft{Service: "pothole", Messages: []int64{7}, Awaiting: "media"} }
	tests := []struct {
		name string
		run  func(d *dialogue)
		want []string
	}{
		{"a photo's position files the waiting report", func(d *dialogue) { d.draft = waiting(); d.resume(gps) },
			[]string{`file "pothole" at "39.51380, -121.55640" from [7] (39.514,-121.556)`}},
		{"a photo without a position asks where", func(d *dialogue) { d.draft = waiting(); d.resume(nil) },
			[]string{"reply ask.place"}},
		{"an expired report is filed as it is", func(d *dialogue) {
			d.draft = &draft{Description: "broken thing", Messages: []int64{7}, Awaiting: "service"}
			d.expire()
		}, []string{`file "" at "" from [7]`}},
		{"a which without choices is filed", func(d *dialogue) {
			d.draft = &draft{Description: "still there", Messages: []int64{7}, Awaiting: "which"}
			d.expire()
		}, []string{`file "" at "" from [7]`}},
		{"a photo's position does not replace a clear place", func(d *dialogue) {
			d.draft = waiting()
			d.draft.Address, d.draft.PlaceClear = "1735 Montgomery Street", true
			d.resume(gps)
		}, []string{`file "pothole" at "1735 Montgomery Street" from [7]`}},
		{"photos of a draft not waiting for them change nothing", func(d *dialogue) {
			d.draft = &draft{Service: "pothole", Messages: []int64{7}, Awaiting: "place"}
			d.resume(nil)
		}, nil},
		{"an unanswered which joins the newest report", func(d *dialogue) {
			d.draft = &draft{Messages: []int64{7}, Awaiting: "which", Choices: []string{"1000", "999"}}
			d.expire()
		}, []string{"attach [7] to #1000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := &dialogue{city: city, channel: ChannelSMS, contact: Contact{ID: 1, Language: "en"}}
			tt.run(d)
			if got := describe(d.actions); !slices.Equal(got, tt.want) {
				t.Errorf("actions:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestMailRules(t *testing.T) {
	t.Parallel()
	city := testCity(t)
	tests := []struct {
		name  string
		setup func(d *dialogue)
		msg   message
		want  []string
	}{
		{name: "a mail is filed at once, even without a place",
			msg:  message{ID: 7, Subject: "Graffiti", Text: "Someone tagged the wall again."},
			want: []string{`file "graffiti-public" at "" from [7]`}},
		{name: "the subject may give the place",
			msg:  message{ID: 7, Subject: "Pothole at 1735 Montgomery Street", Text: "It is deep."},
			want: []string{`file "pothole" at "1735 Montgomery Street" from [7]`}},
		{name: "refused files are noted in the acknowledgment",
			msg:  message{ID: 7, Subject: "Pothole", Text: "See attached.", Refused: []string{"big.mov refused: over 10 MB"}},
			want: []string{`file "pothole" at "" from [7] noting big.mov refused: over 10 MB`}},
		{name: "a reply from the reporter joins the request",
			setup: func(d *dialogue) { d.thread, d.threadFromReporter = 1001, true },
			msg:   message{ID: 7, Text: "Thanks!"},
			want:  []string{"attach [7] to #1001"}},
		{name: "a stranger in the thread is flagged, not joined as the reporter",
			setup: func(d *dialogue) { d.thread = 1001 },
			msg:   message{ID: 7, Text: "FYI"},
			want:  []string{"flag message: not from the request's reporter", "attach [7] to #1001"}},
		{name: "an automatic reply in a thread is kept, flagged",
			setup: func(d *dialogue) { d.thread, d.threadFromReporter = 1001, true },
			msg:   message{ID: 7, Text: "I am out of the office", Automatic: true},
			want:  []string{"flag message: automatic reply", "attach [7] to #1001"}},
		{name: "an automatic mail outside any thread makes nothing",
			msg:  message{ID: 7, Subject: "Pothole newsletter", Text: "pothole at 1735 Montgomery Street", Automatic: true},
			want: []string{"flag message: automatic reply"}},
		{name: "an unreadable mail goes to triage, unanswered",
			msg:  message{ID: 7, Unreadable: "malformed MIME"},
			want: []string{"flag message: unreadable: malformed MIME", `file "" at "" from [7] quietly`}},
		{name: "the body's place comes before the subject's",
			msg:  message{ID: 7, Subject: "Pothole at 1735 Montgomery Street", Text: "Sorry, it is at 2100 Myers Street."},
			want: []string{`file "pothole" at "2100 Myers Street" from [7]`}},
		{name: "an automatic reply does not clear a bounce",
			setup: func(d *dialogue) { d.contact.Bouncing, d.thread, d.threadFromReporter = true, 1001, true },
			msg:   message{ID: 7, Text: "I am out of the office", Automatic: true},
			want:  []string{"flag message: automatic reply", "attach [7] to #1001"}},
		{name: "writing again clears a bounce",
			setup: func(d *dialogue) { d.contact.Bouncing = true },
			msg:   message{ID: 7, Subject: "Graffiti", Text: "On the bridge."},
			want:  []string{"clear bounce", `file "graffiti-public" at "" from [7]`}},
		{name: "a flood of mail is flagged",
			setup: func(d *dialogue) { d.traffic = traffic{inbound: 1, hour: 5} },
			msg:   message{ID: 7, Subject: "Graffiti", Text: "On the bridge."},
			want:  []string{"flag contact: 5 automatic answers in an hour"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := &dialogue{city: city, channel: ChannelEmail, contact: Contact{ID: 1, Email: "ana@example.com", Language: "en"},
				traffic: traffic{inbound: 1}, msg: tt.msg}
			if tt.setup != nil {
				tt.setup(d)
			}
			d.mail()
			got := describe(d.actions)
			if !slices.Equal(got, tt.want) {
				t.Errorf("actions:\n got %q\nwant %q", got, tt.want)
			}
			for _, a := range d.actions {
				if f, ok := a.(file); ok && f.draft.Description != "" && !strings.Contains(f.draft.Description, tt.msg.Text) {
					t.Errorf("filed description %q lacks the mail's words", f.draft.Description)
				}
			}
		})
	}
}

// Each question gets its two chances: an answer to the menu that still
// lacks a place is asked where twice, whatever the menu took.
func TestEachQuestionAskedTwice(t *testing.T) {
	t.Parallel()
	city := testCity(t)
	d := &dialogue{city: city, now: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC), channel: ChannelSMS,
		contact: Contact{ID: 1, Phone: "+15305550100", Language: "en"}, traffic: traffic{inbound: 1}}
	d.draft = &draft{Messages: []int64{6}, Awaiting: "service", Choices: city.Menu, Asked: 1}
	var got []string
	for i, text := range []string{"1", "", ""} {
		d.msg = message{ID: int64(7 + i), Text: text}
		d.actions = nil
		d.text()
		got = append(got, describe(d.actions)...)
	}
	want := []string{"reply ask.place", "reply ask.place", `file "pothole" at "" from [6 7 8 9]`}
	if !slices.Equal(got, want) {
		t.Errorf("actions:\n got %q\nwant %q", got, want)
	}
}
