package sms

import "strings"

// The GSM 03.38 default alphabet (one septet each) and its extension
// table (an escape septet plus one: two each).
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "\f^{}\\[~]|€"
)

// Segments says how many SMS segments a text costs and in which encoding,
// "GSM-7" or "UCS-2". A single segment holds 160 GSM-7 septets or 70
// UTF-16 units; a split text 153 or 67 per segment, and a character is
// never split across two. An empty text is 0 segments.
func Segments(body string) (n int, encoding string) {
	if body == "" {
		return 0, "GSM-7"
	}
	gsm, total := true, 0
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			total++
		case strings.ContainsRune(gsmExtension, r):
			total += 2
		default:
			gsm = false
		}
	}
	single, split, encoding := 160, 153, "GSM-7"
	if !gsm {
		single, split, encoding = 70, 67, "UCS-2"
		total = 0
		for _, r := range body {
			total += units(r, false)
		}
	}
	if total <= single {
		return 1, encoding
	}
	n, used := 1, 0
	for _, r := range body {
		u := units(r, gsm)
		if used+u > split {
			n, used = n+1, 0
		}
		used += u
	}
	return n, encoding
}

// units is a character's size: septets in GSM-7, UTF-16 units in UCS-2.
func units(r rune, gsm bool) int {
	if gsm && strings.ContainsRune(gsmExtension, r) {
		return 2
	}
	if gsm || r < 0x10000 {
		return 1
	}
	return 2 // a surrogate pair
}

// gsmLookalikes maps characters outside GSM-7 to the closest ones inside
// it, as Twilio's Smart Encoding does: one accented letter would otherwise
// turn a whole Spanish text into UCS-2, which holds 70 characters, not 160.
var gsmLookalikes = strings.NewReplacer(
	"á", "a", "í", "i", "ó", "o", "ú", "u", "Á", "A", "Í", "I", "Ó", "O", "Ú", "U",
	"ê", "e", "â", "a", "ô", "o", "î", "i", "û", "u", "ç", "c", "ï", "i", "ë", "e",
	"‘", "'", "’", "'", "“", "\"", "”", "\"", "–", "-", "—", "-", "…", "...", "\u00a0", " ",
)

// ToGSM replaces the characters that have a GSM-7 lookalike, so that a
// text that could fit GSM-7 does.
func ToGSM(body string) string { return gsmLookalikes.Replace(body) }
