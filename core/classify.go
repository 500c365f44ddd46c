package core

import (
	"slices"
	"strings"
)

// Classification reads which service a report is about from the city
// file's keywords, forgiving what people do to words: plurals and
// Spanish genders ("perras muertas"), words run together or apart
// ("streetlight", "pot hole"), a word in between ("dead black dog") and
// typos ("pothol", "grafitti", "dogg"). It stays keyword matching, so
// that staff can predict it and improve it by editing the city file.

// Classification is the service a text most likely means and how sure
// that is, from 0 (nothing matched, or a tie) to 1 (one service matched
// and nothing else did).
type Classification struct {
	Service string
	Score   float64
}

// SureScore is the score below which Classify does not guess and the
// resident is asked instead: two services matching equally score 0.5.
const SureScore = 0.55

// Classify returns the service a report is about, or "" when it is not
// sure enough (then the resident is asked, or staff decide).
func (c *City) Classify(text string) string {
	// A score lands exactly on SureScore only by a coincidence of the
	// weights no test makes: ">" (a mutant) survives.
	if cl := c.Classification(text); cl.Score >= SureScore {
		return cl.Service
	}
	return ""
}

// Classification weighs every keyword found in text: a keyword counts as
// many words as it has, less for typos and words in between, and not at
// all inside a longer keyword found at the same place ("perro" inside
// "perro muerto"). The catch-all "other" counts only when no other
// service matched ("otro bache" is a pothole).
func (c *City) Classification(text string) Classification {
	v := c.vocab()
	words := strings.Fields(fold(text))
	for i, w := range words {
		words[i] = stem(w)
	}
	found := v.find(words)
	var kept []match
	for _, m := range found {
		if !slices.ContainsFunc(found, m.inside) {
			kept = append(kept, m)
		}
	}
	first := len(words)
	for _, m := range kept {
		first = min(first, m.start)
	}
	scores := map[string]float64{}
	for _, catchAll := range []bool{false, true} {
		for _, m := range kept {
			if service := v.keywords[m.keyword].service; (service == "other") == catchAll {
				if m.start > first {
					// People name the problem first and where it is
					// after: "dead bird in the park".
					m.weight *= laterQuality
				}
				scores[service] += m.weight
			}
		}
		if len(scores) > 0 {
			break
		}
	}
	var best Classification
	top, second := 0.0, 0.0
	for code, s := range scores {
		switch {
		case s > top || (s == top && code < best.Service): // the same answer every time
			second = max(second, top)
			best.Service, top = code, s
		case s > second:
			second = s
		}
	}
	if top > 0 {
		// The share of the evidence, times how good the best evidence is:
		// one typo-ridden word is less sure than two clean ones.
		best.Score = top / (top + second) * min(1, top)
	}
	return best
}

// keyword is one of the city file's keywords, its words stemmed.
type keyword struct {
	service string
	words   []string
	joined  string // the words run together: "streetlight" for "street light"
}

// match is a keyword found in text, over words [start, end).
type match struct {
	keyword    int
	start, end int
	weight     float64
}

// inside reports whether m lies within o and weighs less: o is the
// longer, better reading of the same words.
func (m match) inside(o match) bool {
	return o.start <= m.start && m.end <= o.end && o.weight > m.weight
}

// Typos cost a match a share of its weight; so does each word between a
// keyword's words, and coming after the first keyword found.
const (
	typoQuality = 0.8
	gapQuality  = 0.9
	maxGaps     = 1

	laterQuality = 0.7
)

// find returns every keyword found in the stemmed words.
func (v *vocabulary) find(words []string) []match {
	var found []match
	for i, w := range words {
		for _, c := range v.similar(w) {
			for _, k := range v.startsWith[c.word] {
				found = append(found, v.matchAt(words, i, k, c.quality)...)
			}
			// "stopsign" for "stop sign", with one typo at most: a long
			// word is otherwise two typos from too much.
			for _, k := range v.whole[c.word] {
				if n := len(v.keywords[k].words); n > 1 && (c.quality == 1 || typos(w, c.word) <= 1) {
					found = append(found, match{k, i, i + 1, c.quality * float64(n)})
				}
			}
		}
		if i+1 < len(words) {
			// "pot hole" for "pothole", spelled right: two words run
			// together are too easily one typo from something else.
			if j := stem(words[i] + words[i+1]); j != w {
				for _, k := range v.whole[j] {
					if len(v.keywords[k].words) == 1 {
						found = append(found, match{k, i, i + 2, 1})
					}
				}
			}
		}
	}
	return found
}

// matchAt matches keyword k whose first word is words[i] (with quality q),
// allowing a few words in between.
func (v *vocabulary) matchAt(words []string, i, k int, q float64) []match {
	kw := v.keywords[k].words
	p, gaps := i+1, 0
	for _, want := range kw[1:] {
		for {
			if p >= len(words) {
				return nil
			}
			if wq := v.quality(words[p], want); wq > 0 {
				q *= wq
				p++
				break
			}
			if gaps++; gaps > maxGaps {
				return nil
			}
			q *= gapQuality
			p++
		}
	}
	return []match{{k, i, p, q * float64(len(kw))}}
}

// candidate is a vocabulary word a text word may be.
type candidate struct {
	word    string
	quality float64
}

// similar returns the vocabulary words w may be: itself, or a word one or
// two typos away. Only long words forgive typos, and never the first
// letter, which people rarely get wrong: "night" is not "light".
func (v *vocabulary) similar(w string) []candidate {
	var out []candidate
	if _, ok := v.words[w]; ok {
		out = append(out, candidate{w, 1})
	}
	if len(w) < 5 {
		return out
	}
	for _, k := range v.byInitial[w[0]] {
		if k != w && v.mayBe(w, k) {
			out = append(out, candidate{k, typoQuality})
		}
	}
	return out
}

// quality is how well text word w reads as vocabulary word k: 1 when
// equal, less with a typo, 0 when not at all.
func (v *vocabulary) quality(w, k string) float64 {
	switch {
	case w == k:
		return 1
	case len(w) >= 5 && len(k) >= 5 && w[0] == k[0] && v.mayBe(w, k):
		return typoQuality
	}
	return 0
}

// mayBe reports whether w is k misspelled. A word the city uses is no
// typo for another service's word ("spray" is not "stray"), only for
// its own service's ("grafiti" for the "graffiti" of "graffiti on my").
func (v *vocabulary) mayBe(w, k string) bool {
	if typos(w, k) > allowedTypos(w, k) {
		return false
	}
	own, known := v.words[w]
	return !known || slices.ContainsFunc(own, func(s string) bool { return slices.Contains(v.words[k], s) })
}

// allowedTypos is one typo in words of five letters or more, two in
// words of eight or more; shorter words must be spelled right.
func allowedTypos(a, b string) int {
	switch n := min(len(a), len(b)); {
	case n >= 8:
		return 2
	case n >= 5:
		return 1
	}
	return 0
}

// typos is the Damerau-Levenshtein distance (optimal string alignment)
// between a and b: letters inserted, deleted, changed or swapped.
func typos(a, b string) int {
	if d := len(a) - len(b); d > 2 || d < -2 {
		return 3 // more than allowedTypos ever allows
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// stem takes a folded word to the form it shares with its plural and, in
// Spanish, its other gender: "potholes" and "pothole" both give "pothol",
// "muertas" and "muerto" both "muert". It is crude on purpose: text and
// keywords go through the same steps, so only a collision between two
// different words matters, and short words are left alone.
func stem(w string) string {
	if n := len(w); n > 3 && w[n-1] == 's' && w[n-2] != 's' {
		w = w[:n-1]
		if strings.HasSuffix(w, "ie") && len(w) >= 4 {
			w = w[:len(w)-2] + "y" // "puppies", "flies"; never "ties"
		}
	}
	if n := len(w); n > 3 && w[n-1] == w[n-2] && !strings.ContainsRune("aeiouls", rune(w[n-1])) {
		w = w[:n-1] // "dogg"
	}
	for len(w) >= 5 && strings.ContainsRune("aeo", rune(w[len(w)-1])) {
		w = w[:len(w)-1]
	}
	return w
}
