package voice

import (
	"strconv"
	"strings"

	"github.com/twilio/twilio-go/twiml"

	"townline/templates"
)

// reply is TwiML being built, in the caller's language. The first prompt
// that fails to render is kept and reported by xml.
type reply struct {
	lang  string
	verbs []twiml.Element
	err   error
}

// twilioLang is the language of speech and recognition: US Spanish for
// the Spanish menu, whose callers are mostly Mexican and Central American.
func twilioLang(lang string) string {
	if lang == "es" {
		return "es-US"
	}
	return "en-US"
}

// other is the language a caller can switch to.
func other(lang string) string {
	if lang == "es" {
		return "en"
	}
	return "es"
}

// prompt is a Say of the named prompt in lang.
func (r *reply) prompt(lang, name string, data any) twiml.Element {
	text, err := templates.Prompt(lang, name, data)
	if err != nil && r.err == nil {
		r.err = err
	}
	return r.text(lang, text)
}

// text is a Say of words that are not a template: the city's own greeting.
func (r *reply) text(lang, text string) twiml.Element {
	return twiml.VoiceSay{Message: text, Language: twilioLang(lang)}
}

func (r *reply) add(els ...twiml.Element) { r.verbs = append(r.verbs, els...) }

// say speaks a prompt in the call's language.
func (r *reply) say(name string, data any) { r.add(r.prompt(r.lang, name, data)) }

func (r *reply) redirect(url string) { r.add(twiml.VoiceRedirect{Url: url, Method: "POST"}) }

func (r *reply) hangup() { r.add(twiml.VoiceHangup{}) }

// xml renders the TwiML document.
func (r *reply) xml() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	s, err := twiml.Voice(r.verbs)
	return []byte(s), err
}

// keys is a question answered on the keypad: n keys, or any number ended
// by the pound key when n is 0.
func keys(n int) twiml.VoiceGather {
	g := twiml.VoiceGather{Input: "dtmf", Timeout: "6", Method: "POST"}
	if n > 0 {
		g.NumDigits = strconv.Itoa(n)
	} else {
		g.FinishOnKey, g.Timeout = "#", "10"
	}
	return g
}

// speech is a question answered in words, recognised in lang with hints:
// the words the city expects (service keywords, street names). Three
// seconds of silence end the answer: people pause while describing, and
// "auto" is refused by some of Twilio's speech models (warning 13335).
func speech(lang string, hints []string) twiml.VoiceGather {
	return twiml.VoiceGather{Input: "speech", Language: twilioLang(lang), Hints: joinHints(hints),
		SpeechTimeout: "3", Timeout: "6", Method: "POST"}
}

// Twilio takes up to 500 hints of up to 100 characters; fewer recognise
// better.
const maxHints = 100

func joinHints(hints []string) string {
	var out []string
	for _, h := range hints {
		if len(out) < maxHints && h != "" && len(h) <= 100 && !strings.Contains(h, ",") {
			out = append(out, h)
		}
	}
	return strings.Join(out, ",")
}
