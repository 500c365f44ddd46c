package core

import "testing"

// A search names a request by its number: "#1234" only that request,
// "1234" that request or the words; anything else is words.
func TestSearchTerms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in     string
		words  string // "-" for none
		number int64  // 0 for none
	}{
		{"#1234", "-", 1234},
		{"  #77 ", "-", 77},
		{"1234", "1234", 1234},
		{"#0", "#0", 0},
		{"-5", "-5", 0},
		{"+12", "+12", 0},
		{"12a", "12a", 0},
		{"pothole myers", "pothole myers", 0},
		{"", "-", 0},
	} {
		w, n := searchTerms(tc.in)
		words, number := "-", int64(0)
		if w != nil {
			words = *w
		}
		if n != nil {
			number = *n
		}
		if words != tc.words || number != tc.number {
			t.Errorf("searchTerms(%q) = %q, %d; want %q, %d", tc.in, words, number, tc.words, tc.number)
		}
	}
}
