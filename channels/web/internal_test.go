package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestClientAddr(t *testing.T) {
	for addr, want := range map[string]string{"192.0.2.7:51234": "192.0.2.7", "[2001:db8::1]:443": "2001:db8::1", "pipe": "pipe"} {
		if got := clientAddr(&http.Request{RemoteAddr: addr}); got != want {
			t.Errorf("clientAddr(%q) = %q, want %q", addr, got, want)
		}
	}
}

// A page's language: asked for (and remembered a year), else remembered,
// else the browser's first of English and Spanish by weight, ties to the
// first written; English otherwise.
func TestLanguage(t *testing.T) {
	for _, c := range []struct{ query, cookie, accept, want string }{
		{"?lang=es", "", "", "es"},
		{"?lang=en", "es", "es", "en"},
		{"?lang=fr", "es", "", "es"},
		{"", "es", "en", "es"},
		{"", "fr", "es", "es"},
		{"", "", "fr;q=1, es;q=0.5", "es"},
		{"", "", "es, en", "es"},
		{"", "", "en-US, es;q=0.9", "en"},
		{"", "", "es-MX;q=0.4, en;q=0.8", "en"},
		{"", "", "de", "en"},
	} {
		r := httptest.NewRequest("GET", "/"+c.query, nil)
		if c.cookie != "" {
			r.AddCookie(&http.Cookie{Name: "lang", Value: c.cookie})
		}
		if c.accept != "" {
			r.Header.Set("Accept-Language", c.accept)
		}
		w := httptest.NewRecorder()
		if got := language(w, r); got != c.want {
			t.Errorf("%+v: %s, want %s", c, got, c.want)
		}
		set := w.Result().Cookies()
		asked := c.query == "?lang=es" || c.query == "?lang=en"
		if asked != (len(set) == 1) || (asked && (set[0].Value != c.want || set[0].MaxAge != 365*24*60*60)) {
			t.Errorf("%+v: cookies set %+v, want one remembering %s for a year only when asked", c, set, c.want)
		}
	}
}

// A zone's offset as iCalendar writes it: sign, hours, minutes.
func TestUTCOffset(t *testing.T) {
	for seconds, want := range map[int]string{0: "+0000", -8 * 3600: "-0800", -7 * 3600: "-0700", 19800: "+0530",
		-(3*3600 + 30*60): "-0330", 14 * 3600: "+1400", 45 * 60: "+0045"} {
		if got := utcOffset(seconds); got != want {
			t.Errorf("utcOffset(%d) = %q, want %q", seconds, got, want)
		}
	}
}
