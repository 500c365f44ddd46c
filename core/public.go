package core

import (
	"regexp"
	"strings"
)

var (
	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	// Seven or more digits, allowing the separators people type:
	// (530) 555-0123, 530.555.0123, +1 530 555 0123. House numbers and
	// request numbers are shorter.
	phoneRE = regexp.MustCompile(`\+?\(?\d[\d\s().-]{5,}\d`)
	dateRE  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	zip4RE  = regexp.MustCompile(`^\d{5}-\d{4}$`) // ZIP+4, never a phone number
	// A position, "39.51380, -121.55640": five decimals or more, which no
	// phone number written with dots has.
	coordsTextRE = regexp.MustCompile(`^-?\d{1,3}\.\d{5,}(?:,\s*-?\d{1,3}\.\d{5,})?$`)
	// A link: its digits are a path or a query (a report on another
	// site, https://fms.example/report/7000100), not a phone number.
	linkRE = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s<>"']+`)
)

// PublicDescription is the description as the public may read it: a
// resident's own words, with any email address or phone number they typed
// ("call me at 530-555-0123") masked, and the words of their own name
// (a mail's signature, "Quentin here"). Who reported is staff-only.
func (r Request) PublicDescription() string {
	return maskReporter(PublicText(r.Description), r.reporter)
}

// PublicAddress is the address as the public may read it: a resident who
// typed "123 Main St, call 530-555-0123" into it sees it masked as in the
// description.
func (r Request) PublicAddress() string {
	return maskReporter(PublicText(r.Address), r.reporter)
}

var wordRE = regexp.MustCompile(`\p{L}+`)

// maskReporter masks in s each word of three letters or more of the
// reporter's name and of their email address before its @ ("quentin",
// "zymurgy" from quentin.zymurgy@example.net).
func maskReporter(s, reporter string) string {
	if reporter == "" {
		return s
	}
	name := map[string]bool{}
	for _, f := range strings.Fields(reporter) {
		f, _, _ = strings.Cut(f, "@")
		for _, w := range wordRE.FindAllString(strings.ToLower(f), -1) {
			if len([]rune(w)) >= 3 {
				name[w] = true
			}
		}
	}
	return wordRE.ReplaceAllStringFunc(s, func(w string) string {
		if name[strings.ToLower(w)] {
			return "[name removed]"
		}
		return w
	})
}

// PublicAddressID is the address id as the public may read it: an email
// address in it is masked. Its digits are kept: an id from the client's
// address database (a parcel number such as 012-345-678) looks like a
// phone number and is not one.
func (r Request) PublicAddressID() string {
	return emailRE.ReplaceAllString(r.AddressID, "[email removed]")
}

// PublicZipcode is the zipcode as the public may read it: one holding a
// phone number or an email address is masked.
func (r Request) PublicZipcode() string {
	return PublicText(r.Zipcode)
}

// PublicText masks email addresses and phone numbers in text. Email
// addresses are masked everywhere, links included; phone numbers outside
// links only.
func PublicText(s string) string {
	s = emailRE.ReplaceAllString(s, "[email removed]")
	var b strings.Builder
	last := 0
	for _, link := range linkRE.FindAllStringIndex(s, -1) {
		b.WriteString(maskPhones(s[last:link[0]]))
		b.WriteString(s[link[0]:link[1]])
		last = link[1]
	}
	b.WriteString(maskPhones(s[last:]))
	return b.String()
}

// maskPhones masks the phone numbers in text that holds no link.
func maskPhones(s string) string {
	return phoneRE.ReplaceAllStringFunc(s, func(m string) string {
		digits := 0
		for _, c := range m {
			if c >= '0' && c <= '9' {
				digits++
			}
		}
		if digits < 7 || dateRE.MatchString(m) || zip4RE.MatchString(m) || coordsTextRE.MatchString(strings.TrimSpace(m)) {
			return m
		}
		return "[phone removed]"
	})
}
