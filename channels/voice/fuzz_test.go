package voice

import (
	"net/url"
	"testing"
)

func FuzzInput(f *testing.F) {
	f.Add("Digits=1234%23&CallSid=CA1")
	f.Add("SpeechResult=a+dead+dog&Confidence=0.91")
	f.Add("Confidence=NaN&Digits=%FF%00*9&SpeechResult=%20%20")
	f.Add("Confidence=-1e309&RecordingUrl=x&DialCallStatus=busy")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		in := parseInput(form)
		if len(in.Digits) > maxDigits {
			t.Errorf("%d digits", len(in.Digits))
		}
		for _, r := range in.Digits {
			if (r < '0' || r > '9') && r != '*' && r != '#' {
				t.Errorf("digit %q", r)
			}
		}
		if !(in.Confidence >= 0 && in.Confidence <= 1) {
			t.Errorf("confidence %v", in.Confidence)
		}
		if in.empty() != (in.Digits == "" && in.Speech == "" && in.RecordingURL == "") {
			t.Error("empty disagrees")
		}
	})
}

func FuzzHours(f *testing.F) {
	f.Add(int64(8*3600), int64(17*3600), uint8(0b0111110))
	f.Add(int64(0), int64(86399), uint8(0b1000001))
	f.Fuzz(func(t *testing.T, open, close int64, days uint8) {
		h := officeHours(open, close, days)
		w := spokenHours(h)
		if !w.Known {
			return
		}
		if len(w.Days) == 0 || w.First != w.Days[0] || w.Last != w.Days[len(w.Days)-1] {
			t.Errorf("days %+v", w)
		}
		for _, c := range []clock{w.Open, w.Close} {
			if c.Hour12 < 1 || c.Hour12 > 12 || c.Minute < 0 || c.Minute > 59 {
				t.Errorf("clock %+v", c)
			}
		}
	})
}
