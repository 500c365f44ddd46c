package core

import (
	"testing"
	"time"
)

// Calls to residents wait for the day: nine in the morning until seven
// in the evening, city time.
func TestCallsWaitForDaytime(t *testing.T) {
	t.Parallel()
	c := &Core{city: testCity(t)}
	loc := c.city.Location
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, loc) }
	for _, tc := range []struct{ now, want time.Time }{
		{at(27, 0, 30), at(27, 9, 0)},
		{at(27, 8, 59), at(27, 9, 0)},
		{at(27, 9, 0), at(27, 9, 0)},
		{at(27, 9, 30), at(27, 9, 30)},
		{at(27, 18, 59), at(27, 18, 59)},
		{at(27, 19, 0), at(28, 9, 0)},
		{at(27, 23, 30), at(28, 9, 0)},
		{at(28, 3, 0).UTC(), at(28, 9, 0)}, // 03:00 in Oroville, 11:00 in UTC
	} {
		if got := c.daytime(tc.now); !got.Equal(tc.want) {
			t.Errorf("daytime(%s) = %s, want %s", tc.now, got.In(loc), tc.want)
		}
	}
}

// Residents hear back the way they came: callers by text once they
// accepted texts (and did not text STOP), else by a call; mail, web and
// Open311 reporters by email; nobody without an address.
func TestReplyRoute(t *testing.T) {
	t.Parallel()
	phone, email := Contact{Phone: "+15305550100"}, Contact{Email: "ana@example.com"}
	texts := Contact{Phone: "+15305550100", TextsOK: true}
	stopped := Contact{Phone: "+15305550100", TextsOK: true, OptedOut: true}
	// On the web form a resident may choose: texts to her phone rather
	// than mail. The choice is the web's: it does not change how her
	// Open311 reports are answered.
	choseText := Contact{Phone: "+15305550100", Email: "ana@example.com", ReplyBy: ChannelSMS}
	for _, tc := range []struct {
		origin Channel
		ct     Contact
		want   Channel
	}{
		{ChannelSMS, phone, ChannelSMS}, {ChannelSMS, email, ""},
		{ChannelVoice, phone, ChannelVoice}, {ChannelVoice, texts, ChannelSMS}, {ChannelVoice, stopped, ChannelVoice},
		{ChannelVoice, email, ""},
		{ChannelEmail, email, ChannelEmail}, {ChannelWeb, email, ChannelEmail}, {ChannelOpen311, email, ChannelEmail},
		{ChannelWeb, phone, ""}, {ChannelWeb, choseText, ChannelSMS}, {ChannelOpen311, choseText, ChannelEmail},
	} {
		ch, to := ReplyRoute(tc.origin, tc.ct)
		wantTo := map[Channel]string{ChannelSMS: tc.ct.Phone, ChannelVoice: tc.ct.Phone, ChannelEmail: tc.ct.Email}[tc.want]
		if ch != tc.want || to != wantTo {
			t.Errorf("ReplyRoute(%s, %+v) = %s %q, want %s %q", tc.origin, tc.ct, ch, to, tc.want, wantTo)
		}
	}
}
