package core

import (
	"bufio"
	"cmp"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

// labelled is one message of testdata/classify.tsv.
type labelled struct {
	label, lang, text string
}

func readLabelled(t testing.TB, name string) []labelled {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var set []labelled
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 {
			t.Fatalf("%s:%d: want label, language and message separated by tabs", name, n)
		}
		set = append(set, labelled{f[0], f[1], f[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return set
}

// The labelled sets hold the classifier to the accuracy it reached; the
// log shows where it goes wrong, to improve it or the city's keywords.
// The held-out set was not looked at while improving them: its figure
// says how well the improvements carry over to messages not yet seen.
func TestClassifyLabelled(t *testing.T) {
	c := oroville(t)
	for _, tc := range []struct {
		file        string
		all, en, es float64 // floors, a point or two below what was reached
	}{
		{"testdata/classify.tsv", 94, 93, 96},         // reached 96.0, 94.6, 98.3
		{"testdata/classify-holdout.tsv", 84, 81, 88}, // reached 85.7, 82.9, 90.5
	} {
		t.Run(strings.TrimSuffix(strings.TrimPrefix(tc.file, "testdata/"), ".tsv"), func(t *testing.T) {
			set := readLabelled(t, tc.file)
			all, en, es := measure(t, c, set)
			for _, floor := range []struct {
				name     string
				got, min float64
			}{{"overall", all, tc.all}, {"English", en, tc.en}, {"Spanish", es, tc.es}} {
				if floor.got < floor.min {
					t.Errorf("%s accuracy %.1f%%, below %.0f%%: see the log for what went wrong", floor.name, floor.got, floor.min)
				}
			}
		})
	}
	set := readLabelled(t, "testdata/classify.tsv")
	for _, s := range c.Services {
		if !slices.ContainsFunc(set, func(l labelled) bool { return l.label == s.Code }) {
			t.Errorf("no labelled message for service %s", s.Code)
		}
	}
}

// measure classifies a labelled set and logs its mistakes, its accuracy
// and the most frequent confusions; it returns the accuracy in percent
// overall, in English and in Spanish.
func measure(t *testing.T, c *City, set []labelled) (all, en, es float64) {
	const unsure = "unsure"
	right, total := map[string]int{}, map[string]int{}
	confused := map[string]int{}
	for _, l := range set {
		got := cmp.Or(c.Classify(l.text), unsure)
		total[l.lang]++
		if got == l.label {
			right[l.lang]++
			continue
		}
		confused[l.label+" → "+got]++
		t.Logf("%s %q: got %s, want %s", l.lang, l.text, got, l.label)
	}
	accuracy := func(langs ...string) float64 {
		r, n := 0, 0
		for _, lang := range langs {
			r, n = r+right[lang], n+total[lang]
		}
		return 100 * float64(r) / float64(n)
	}
	all, en, es = accuracy("en", "es"), accuracy("en"), accuracy("es")
	t.Logf("accuracy %.1f%% of %d (English %.1f%% of %d, Spanish %.1f%% of %d)",
		all, total["en"]+total["es"], en, total["en"], es, total["es"])
	pairs := make([]string, 0, len(confused))
	for p := range confused {
		pairs = append(pairs, p)
	}
	slices.SortFunc(pairs, func(a, b string) int { return cmp.Or(confused[b]-confused[a], strings.Compare(a, b)) })
	var top []string
	for _, p := range pairs[:min(len(pairs), 8)] {
		top = append(top, fmt.Sprintf("%s ×%d", p, confused[p]))
	}
	t.Logf("most confused (label → classified): %s", strings.Join(top, "; "))
	return all, en, es
}

// Vague words are not a report: the resident is asked which service.
func TestClassifyUnsure(t *testing.T) {
	c := oroville(t)
	for _, text := range []string{
		"hello", "there is a problem", "hay un problema", "can you help me", "necesito ayuda",
		"1735 Montgomery Street",
	} {
		if cl := c.Classification(text); cl.Score >= SureScore || c.Classify(text) != "" {
			t.Errorf("Classification(%q) = %+v, want below %v", text, cl, SureScore)
		}
	}
	if cl := c.Classification("hello"); cl != (Classification{}) {
		t.Errorf(`Classification("hello") = %+v, want nothing, sure 0`, cl)
	}
}

// What people do to words: each of these is one keyword of the city file
// written another way.
func TestClassifyForgives(t *testing.T) {
	c := oroville(t)
	for text, want := range map[string]string{
		"pothol on myers":                "pothole", // typo, one letter
		"grafitti on the wall":           "graffiti-public",
		"dead dogg on oro dam":           "animal-dead",       // a doubled last letter
		"perras muertas en la calle":     "animal-dead",       // plural and gender
		"carro blanco abandonado":        "abandoned-vehicle", // a word in between
		"the streetlight is out":         "streetlight",
		"stopsign down":                  "sign",            // words run together
		"pot holes everywhere":           "pothole",         // a word written apart
		"basura en el parque":            "illegal-dumping", // the first named is the problem
		"dead bird in the park":          "animal-dead",
		"spray paint on the wall":        "graffiti-public",  // "spray" is no typo of "stray"
		"grafiti on my house":            "graffiti-private", // a spelling of the city's own word
		"loud noise every night":         "other",            // "night" is not "light"
		"when is trash pickup on myers?": "other",            // "trash" inside a longer keyword
	} {
		if cl := c.Classification(text); cl.Service != want || cl.Score < SureScore || cl.Score > 1 {
			t.Errorf("Classification(%q) = %+v, want %s, sure at most 1", text, cl, want)
		}
	}
}

func TestStem(t *testing.T) {
	for in, want := range map[string]string{
		"potholes": "pothol", "pothole": "pothol", "muertas": "muert", "muerto": "muert",
		"puppies": "puppy", "dogg": "dog", "grass": "grass", "tree": "tree", "trees": "tree", "tres": "tre",
		"bus": "bus", "cats": "cat", "egg": "egg", "eggs": "egg", "bache": "bach", "baches": "bach", "ponies": "pony", "flies": "fly", "skies": "sky", "ties": "tie",
	} {
		if got := stem(in); got != want {
			t.Errorf("stem(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTypos(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"pothol", "pothol", 0}, {"pothold", "pothol", 1}, {"grafitti", "graffiti", 2},
		{"sewar", "sewer", 1}, {"teh", "the", 1}, {"abc", "abcdef", 3},
		{"hte", "the", 1}, {"abcdef", "abcd", 2}, {"abcd", "abcdef", 2}, {"abcdefg", "abcd", 3},
	} {
		if got := typos(tc.a, tc.b); got != tc.want {
			t.Errorf("typos(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// Words shorter than five letters must be spelled right; five to seven
// forgive one typo, eight and more two.
func TestAllowedTypos(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"dogs", "dogz", 0}, {"abcde", "abcdx", 1}, {"abcdefg", "abcdefx", 1}, {"abcdefgh", "abcdefgx", 2}, {"abcdefgh", "abcd", 0}} {
		if got := allowedTypos(tc.a, tc.b); got != tc.want {
			t.Errorf("allowedTypos(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// Classification runs on every message that comes in.
func BenchmarkClassify(b *testing.B) {
	c, err := ReadCity("")
	if err != nil {
		b.Fatal(err)
	}
	set := readLabelled(b, "testdata/classify.tsv")
	c.Classification("warm up the vocabulary")
	b.ResetTimer()
	for i := range b.N {
		c.Classification(set[i%len(set)].text)
	}
}

// A word of five letters forgives one typo, the first letter right; a
// shorter one none.
func TestFiveLettersForgiveATypo(t *testing.T) {
	c := cityOroville(t)
	for text, want := range map[string]string{
		"someone left a cuoch on the corner": "illegal-dumping", // couch
		"the storm dranis are full":          "storm-drain",     // drains
		"a stary dog on our street":          "animal-stray",    // stray
	} {
		if got := c.Classification(text); got.Service != want {
			t.Errorf("%q: %q, want %q", text, got.Service, want)
		}
	}
}

// The score of a classification, worked out by hand for a small city:
// the best service's share of the evidence, times how good the best
// evidence is (no more than 1).
func TestClassificationScores(t *testing.T) {
	c, err := LoadCity("x.json", []byte(`{"name": "x", "timezone": "UTC", "departments": [{"code": "d", "name": "D"}],
		"services": [
			{"code": "pothole", "name": "P", "department": "d", "keywords": {"en": ["pothole"]}},
			{"code": "graffiti", "name": "G", "department": "d", "keywords": {"en": ["graffiti"]}},
			{"code": "sign", "name": "S", "department": "d", "keywords": {"en": ["stop sign"]}},
			{"code": "dead", "name": "D", "department": "d", "keywords": {"en": ["dead dog"]}},
			{"code": "stray", "name": "S", "department": "d", "keywords": {"en": ["dog"]}},
			{"code": "waste", "name": "W", "department": "d", "keywords": {"en": ["dog poop"]}},
			{"code": "bins", "name": "B", "department": "d", "keywords": {"en": ["crashbin"]}},
			{"code": "crass", "name": "C", "department": "d", "keywords": {"en": ["crass"]}},
			{"code": "sigma", "name": "S", "department": "d", "keywords": {"en": ["stopsigh"]}},
			{"code": "other", "name": "O", "department": "d", "keywords": {"en": ["other"]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text, service string
		score         float64
	}{
		{"pothole", "pothole", 1},
		{"pothole by the graffiti", "pothole", 1 / (1 + laterQuality)},
		{"potjole", "pothole", typoQuality},                                // one typo: less sure
		{"pot hole", "pothole", 1},                                         // two words run together
		{"stop sign", "sign", 1},                                           // two words weigh two
		{"stop the sign", "sign", 1},                                       // one word between: 1.8
		{"stop that old sign", "", 0},                                      // two words between
		{"stopsign", "sign", 1},                                            // run together
		{"stopsihn", "sign", 1},                                            // and a typo: 1.6
		{"stoopsihgn", "", 0},                                              // two typos are too many run together
		{"dead dog", "dead", 1},                                            // "dog" inside "dead dog" does not count
		{"dog", "stray", 1},                                                //
		{"dog, dead dog", "dead", 2 * laterQuality / (2*laterQuality + 1)}, // a dog, then a dead one
		{"other pothole", "pothole", laterQuality},
		{"dog poop", "waste", 1}, // "dog" at the same place, inside
		// A weaker reading of words read as one keyword does not count:
		// "crash" is one typo from "crass", "stopsigm" from "stopsigh".
		{"crash bins", "bins", 1},
		{"stopsigm", "sign", 1},
	} {
		cl := c.Classification(tc.text)
		if cl.Service != tc.service || math.Abs(cl.Score-tc.score) > 1e-9 {
			t.Errorf("Classification(%q) = %+v, want %s at %v", tc.text, cl, tc.service, tc.score)
		}
	}
}
