package core

import "testing"

// The words of a reporter's own name, and of their email address before
// its @, are masked in what they wrote; nothing else is.
func TestMaskReporter(t *testing.T) {
	for _, c := range []struct{ text, reporter, want string }{
		{"Quentin here, by the library", " quentin.zymurgy@example.net", "[name removed] here, by the library"},
		{"Thanks, ROSA DIAZ", "Rosa Diaz ", "Thanks, [name removed] [name removed]"},
		{"Al saw it at the Example St park", "Al Park al@example.org", "Al saw it at the Example St [name removed]"},
		{"José Peña lo vio", "José Peña ", "[name removed] [name removed] lo vio"},
		{"Ana Delgado-Ruiz saw it, Ana", " ana.delgado-ruiz@example.net", "[name removed] [name removed]-[name removed] saw it, [name removed]"},
		{"Quentin here", "", "Quentin here"},
		{"Quentin here", " ", "Quentin here"},
	} {
		if got := maskReporter(c.text, c.reporter); got != c.want {
			t.Errorf("maskReporter(%q, %q) = %q, want %q", c.text, c.reporter, got, c.want)
		}
	}
}
