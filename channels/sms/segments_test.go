package sms

import (
	"strings"
	"testing"
)

func TestSegments(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		n          int
		encoding   string
	}{
		{"empty", "", 0, "GSM-7"},
		{"plain", "Thanks! Request #1234 is logged: pothole at Montgomery St & 5th Ave.", 1, "GSM-7"},
		{"160 septets", strings.Repeat("a", 160), 1, "GSM-7"},
		{"161 septets", strings.Repeat("a", 161), 2, "GSM-7"},
		{"306 septets", strings.Repeat("a", 306), 2, "GSM-7"},
		{"307 septets", strings.Repeat("a", 307), 3, "GSM-7"},
		{"euro costs two", strings.Repeat("a", 158) + "€", 1, "GSM-7"},
		{"euro over the edge", strings.Repeat("a", 159) + "€", 2, "GSM-7"},
		{"extension char not split", strings.Repeat("a", 152) + "[" + strings.Repeat("a", 10), 2, "GSM-7"},
		{"extension pushes a split", strings.Repeat("a", 152) + "[" + strings.Repeat("a", 152), 3, "GSM-7"},
		{"Spanish letters in GSM-7", "Año: ñ, é, ü, à, Ñ, Ü, ¿qué? ¡sí!", 1, "UCS-2"}, // í is not GSM-7
		{"ñ é ü à are GSM-7", "Mañana, café, pingüino, à la", 1, "GSM-7"},
		{"á is not", "Está", 1, "UCS-2"},
		{"70 UCS-2", "á" + strings.Repeat("a", 69), 1, "UCS-2"},
		{"71 UCS-2", "á" + strings.Repeat("a", 70), 2, "UCS-2"},
		{"134 UCS-2", "á" + strings.Repeat("a", 133), 2, "UCS-2"},
		{"135 UCS-2", "á" + strings.Repeat("a", 134), 3, "UCS-2"},
		{"emoji is two units", strings.Repeat("a", 68) + "🕳", 1, "UCS-2"},
		{"emoji over the edge", strings.Repeat("a", 69) + "🕳", 2, "UCS-2"},
		{"U+10000 is the first pair", strings.Repeat("a", 69) + "\U00010000", 2, "UCS-2"},
		{"U+FFFD is one unit", strings.Repeat("a", 69) + "\uFFFD", 1, "UCS-2"},
		{"surrogate pair not split", strings.Repeat("a", 66) + "🕳" + strings.Repeat("a", 66), 3, "UCS-2"},
		{"Greek capitals in GSM-7", "ΔΦΓΛΩΠΨΣΘΞ", 1, "GSM-7"},
		{"lowercase greek is not", "π", 1, "UCS-2"},
	} {
		n, enc := Segments(tc.body)
		if n != tc.n || enc != tc.encoding {
			t.Errorf("%s: Segments(%q) = %d, %s; want %d, %s", tc.name, tc.body, n, enc, tc.n, tc.encoding)
		}
	}
}
