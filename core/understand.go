package core

import (
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// This file reads what residents write or say: which service they mean,
// where the problem is, and which language they speak. It is deliberately
// plain keyword and pattern matching over the city file's vocabulary, so
// that staff can predict it and improve it by editing the city file.

// fold lower-cases s, removes accents and turns punctuation into spaces,
// so that "Bache en la CALLE!" and "bache en la calle" compare equal.
func fold(s string) string {
	out := s
	if !isASCII(s) {
		t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
		var err error
		if out, _, err = transform.String(t, s); err != nil {
			out = s
		}
	}
	out = strings.ToLower(out)
	var b strings.Builder
	space := true
	for _, r := range out {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '#' {
			b.WriteRune(r)
			space = false
		} else if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSpace(b.String())
}

// isASCII only saves fold the accent removal. ("> 0x80" would be the same:
// a 0x80 byte follows a lead byte above it in UTF-8, and alone it folds to
// a space either way.)
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// vocabulary is the city's words, folded once: keywords by service and
// the written forms of each street.
type vocabulary struct {
	keywords   []keyword
	words      map[string][]string // every keyword's words -> their services
	byInitial  [256][]string       // the same by first letter, for typos
	startsWith map[string][]int    // first word -> keywords
	whole      map[string][]int    // words run together -> keywords
	streets    [][2]string         // (folded form, street name)
}

func (c *City) vocab() *vocabulary {
	c.vocabOnce.Do(func() {
		v := &vocabulary{words: map[string][]string{}, startsWith: map[string][]int{}, whole: map[string][]int{}}
		seen := map[string]bool{}
		for _, s := range c.Services {
			for _, lang := range slices.Sorted(maps.Keys(s.Keywords)) {
				for _, k := range s.Keywords[lang] {
					v.addKeyword(s.Code, fold(k), seen)
				}
			}
		}
		for _, name := range c.Streets {
			for _, form := range streetForms(name) {
				v.streets = append(v.streets, [2]string{form, name})
			}
		}
		c.vocabulary = v
	})
	return c.vocabulary
}

// addKeyword adds a folded keyword of a service, once: "grafiti" is in
// both languages' lists, "branch" and "branches" stem alike, and counting
// one twice would make it weigh double.
func (v *vocabulary) addKeyword(service, folded string, seen map[string]bool) {
	words := strings.Fields(folded)
	if len(words) == 0 {
		return
	}
	k := keyword{service: service, joined: stem(strings.Join(words, ""))}
	for _, w := range words {
		k.words = append(k.words, stem(w))
	}
	id := service + ":" + strings.Join(k.words, " ")
	if seen[id] {
		return
	}
	seen[id] = true
	for _, w := range append(k.words, k.joined) {
		if _, ok := v.words[w]; !ok {
			v.byInitial[w[0]] = append(v.byInitial[w[0]], w)
		}
		if !slices.Contains(v.words[w], service) {
			v.words[w] = append(v.words[w], service)
		}
	}
	v.keywords = append(v.keywords, k)
	v.startsWith[k.words[0]] = append(v.startsWith[k.words[0]], len(v.keywords)-1)
	v.whole[k.joined] = append(v.whole[k.joined], len(v.keywords)-1)
}

var spanishWords = map[string]bool{
	"hay": true, "en": true, "la": true, "el": true, "los": true, "las": true, "una": true, "un": true,
	"calle": true, "esquina": true, "cerca": true, "de": true, "del": true, "por": true, "favor": true,
	"muerto": true, "perro": true, "gato": true, "bache": true, "basura": true, "esta": true, "hola": true,
	"gracias": true, "con": true, "y": true, "que": true, "frente": true, "avenida": true, "roto": true,
	"rota": true, "luz": true, "carro": true, "abandonado": true, "tirada": true, "ayuda": true, "estado": true,
}

var englishWords = map[string]bool{
	"the": true, "a": true, "is": true, "on": true, "at": true, "in": true, "and": true, "of": true,
	"there": true, "street": true, "near": true, "big": true, "please": true, "hole": true, "dead": true,
	"dog": true, "cat": true, "trash": true, "light": true, "by": true, "out": true, "broken": true, "my": true,
}

// DetectLanguage guesses "es" or "en" from a message, or "" when it cannot
// tell (a bare number, an address).
func DetectLanguage(text string) string {
	es, en := 0, 0
	for _, w := range strings.Fields(fold(text)) {
		if spanishWords[w] {
			es++
		}
		if englishWords[w] {
			en++
		}
	}
	if strings.ContainsAny(text, "ñ¿¡áéíóú") {
		es += 2
	}
	switch {
	case es >= 2 && es > en:
		return "es"
	case en >= 1 && en >= es:
		return "en"
	}
	return ""
}

// Place is where a resident says a problem is.
type Place struct {
	Address  string   // "Montgomery Street & 5th Avenue", "1735 Montgomery Street"
	Lat, Lng *float64 // when they shared coordinates
	Clear    bool     // an address, an intersection or coordinates; false for a bare street name
}

var (
	coordsRE  = regexp.MustCompile(`(?:ll=|q=|query=|@|loc:|geo:|place/|search/|^|\s)(-?\d{1,2}\.\d{3,})\s*,\s*(-?\d{1,3}\.\d{3,})`)
	addressRE = regexp.MustCompile(`(?i)\b(\d{1,6})\s+((?:[nsew]\.?\s+)?[a-z0-9][a-z0-9 .']{1,40}?\s(?:street|st|avenue|ave|av|boulevard|blvd|road|rd|drive|dr|lane|ln|way|court|ct|place|pl|highway|hwy|parkway|pkwy|circle|cir))\b\.?`)
)

var ordinals = map[string]string{
	"first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th", "sixth": "6th",
	"seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th", "eleventh": "11th", "twelfth": "12th",
	"thirteenth": "13th", "fourteenth": "14th", "fifteenth": "15th", "sixteenth": "16th", "seventeenth": "17th",
	"eighteenth": "18th", "nineteenth": "19th", "twentieth": "20th",
	"primera": "1st", "segunda": "2nd", "tercera": "3rd", "cuarta": "4th", "quinta": "5th", "sexta": "6th",
}

var streetSuffixes = map[string]string{
	"street": "st", "avenue": "ave", "boulevard": "blvd", "road": "rd", "drive": "dr", "lane": "ln",
	"highway": "hwy", "parkway": "pkwy", "court": "ct", "place": "pl", "way": "way",
}

// commonWords are street names that are also everyday words: "the grass
// is high" names no street, so these need their suffix to count.
var commonWords = map[string]bool{
	"oak": true, "pine": true, "high": true, "bridge": true, "grand": true, "garden": true, "orange": true,
	"yard": true, "olive": true, "theater": true, "municipal": true, "spring valley": true, "main": true,
}

// directions end some street names: "Oro Dam Boulevard East".
var directions = map[string]bool{"east": true, "west": true, "north": true, "south": true}

// streetForms returns the folded ways a street may be written: its full
// name, with the suffix abbreviated ("oro dam blvd east" too), and its
// bare name ("montgomery"). A name ending in a direction has no bare
// form: "oro dam" is Oro Dam Boulevard, not its East or West.
func streetForms(name string) []string {
	f := fold(name)
	words := strings.Fields(f)
	forms := []string{f}
	if n := len(words); n > 1 {
		i := n - 1
		if directions[words[i]] {
			i--
		}
		if abbr, ok := streetSuffixes[words[i]]; ok {
			forms = append(forms, strings.Join(append(append(words[:i:i], abbr), words[i+1:]...), " "))
			if bare := strings.Join(words[:i], " "); i == n-1 && !commonWords[bare] {
				forms = append(forms, bare)
			}
		}
	}
	return forms
}

type streetHit struct {
	name     string
	pos, end int // word positions in the folded text
}

// FindPlace reads a place out of text. It knows the city's streets, so
// "montgomery and 5th" becomes "Montgomery Street & 5th Avenue".
func (c *City) FindPlace(text string) Place {
	if m := coordsRE.FindStringSubmatch(text); m != nil {
		lat, err1 := strconv.ParseFloat(m[1], 64)
		lng, err2 := strconv.ParseFloat(m[2], 64)
		if err1 == nil && err2 == nil && lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180 {
			return Place{Address: strconv.FormatFloat(lat, 'f', 5, 64) + ", " + strconv.FormatFloat(lng, 'f', 5, 64),
				Lat: &lat, Lng: &lng, Clear: true}
		}
	}
	words := strings.Fields(fold(text))
	for i, w := range words {
		if o, ok := ordinals[w]; ok {
			words[i] = o
		}
	}

	hits := c.streetHits(words)
	if m := addressRE.FindStringSubmatch(text); m != nil {
		// A house number before a known street names that street properly.
		for _, h := range hits {
			if h.pos > 0 && words[h.pos-1] == m[1] {
				return Place{Address: m[1] + " " + h.name, Clear: true}
			}
		}
		return Place{Address: strings.TrimSpace(m[0]), Clear: true}
	}
	for _, h := range hits {
		if h.pos > 0 && isNumber(words[h.pos-1]) && !strings.HasSuffix(words[h.pos-1], "th") {
			return Place{Address: words[h.pos-1] + " " + h.name, Clear: true}
		}
	}
	if len(hits) >= 2 {
		return Place{Address: hits[0].name + " & " + hits[1].name, Clear: true}
	}
	// "by the post office" says more than the street it is on.
	if l, ok := c.landmarkIn(text); ok {
		return Place{Address: l.label(), Lat: &l.Lat, Lng: &l.Lng, Clear: true}
	}
	switch {
	case len(hits) == 1:
		return Place{Address: hits[0].name}
	}
	return Place{}
}

// streetHits finds the distinct known streets mentioned, in order, longest
// name first where two overlap ("oro dam blvd east" over "oro dam").
func (c *City) streetHits(words []string) []streetHit {
	var hits []streetHit
	text := " " + strings.Join(words, " ") + " "
	for _, sf := range c.vocab().streets {
		form, name := sf[0], sf[1]
		if !strings.Contains(text, " "+form+" ") {
			continue
		}
		fw := strings.Fields(form)
		for i := 0; i+len(fw) <= len(words); i++ {
			if strings.Join(words[i:i+len(fw)], " ") == form {
				hits = append(hits, streetHit{name: name, pos: i, end: i + len(fw)})
			}
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].pos != hits[j].pos { // so "<" and "<=" below are the same
			return hits[i].pos < hits[j].pos
		}
		return hits[i].end-hits[i].pos > hits[j].end-hits[j].pos
	})
	var out []streetHit
	seen := map[string]bool{}
	covered := -1
	for _, h := range hits {
		if h.pos < covered || seen[h.name] {
			continue
		}
		// A bare name shared by several streets ("lincoln") is taken as
		// the first listed: the sort above is stable.
		seen[h.name] = true
		covered = h.end
		out = append(out, h)
	}
	return out
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
