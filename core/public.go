package core

import "regexp"

var (
	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	// Seven or more digits, allowing the separators people type:
	// (530) 555-0123, 530.555.0123, +1 530 555 0123. House numbers and
	// request numbers are shorter.
	phoneRE = regexp.MustCompile(`\+?\(?\d[\d\s().-]{5,}\d`)
	dateRE  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// PublicDescription is the description as the public may read it: a
// resident's own words, with any email address or phone number they typed
// ("call me at 530-555-0123") masked. Who reported is staff-only.
func (r Request) PublicDescription() string {
	return PublicText(r.Description)
}

// PublicText masks email addresses and phone numbers in text.
func PublicText(s string) string {
	s = emailRE.ReplaceAllString(s, "[email removed]")
	return phoneRE.ReplaceAllStringFunc(s, func(m string) string {
		digits := 0
		for _, c := range m {
			if c >= '0' && c <= '9' {
				digits++
			}
		}
		if digits < 7 || dateRE.MatchString(m) {
			return m
		}
		return "[phone removed]"
	})
}
