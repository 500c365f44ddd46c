package demo

import (
	"regexp"
	"testing"

	"townline/internal/testenv"
)

// A person calls the city from the demo's terminal phone, reports a dead
// dog in three steps, accepts texts and gets the confirmation by text.
func TestDemoCall(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	script := "/call\n1\n8\na dead dog on Oro Dam Boulevard near Feather River Boulevard\n1\n1\n\n/quit\n"
	out, err := run(t, testenv.URL(pool), script)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^city \(call\)> Para español, oprima 9\.$`),
		regexp.MustCompile(`(?m)^you> a dead dog on Oro Dam Boulevard near Feather River Boulevard\ncity \(call\)> I heard: Oro Dam Boulevard & Feather River Boulevard\.`),
		regexp.MustCompile(`(?m)^city \(call\)> Thank you\. Your request number is (\d, )+\d\.`),
		regexp.MustCompile(`(?m)^city> Oroville 311 #\d+: got it, Dead animal at Oro Dam Boulevard & Feather River Boulevard`),
		regexp.MustCompile(`(?m)^city \(call\)> Thank you for calling the City of Oroville\. Goodbye\.\n\(the call ended\)$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("screen lacks %s:\n%s", want, out)
		}
	}
}
