package demo

import (
	"errors"
	"strings"

	"townline/internal/faketwilio"
)

// onCall gives the call what the person typed and returns the call, or
// nil once it is over.
func onCall(term *terminal, call *faketwilio.Caller, line string) *faketwilio.Caller {
	switch {
	case line == "/hangup":
		call.HangUp()
		term.setMode("")
		term.printf("(you hung up)\n")
		return nil
	case strings.HasPrefix(line, "/"):
		term.printf("(on a call: type keys or words, or /hangup)\n")
		return call
	}
	seen := len(call.Heard())
	return listen(term, call, answer(call, line), seen)
}

// answer gives a line to the call: keys to a question on the keypad,
// words to one that listens (~words are heard unclearly), the words of a
// message at the tone, or, for an empty line, silence.
func answer(call *faketwilio.Caller, line string) error {
	verb, attrs := call.Waiting()
	input := attrs["input"]
	if input == "" {
		input = "dtmf"
	}
	switch {
	case line == "":
		return call.Silence()
	case verb == "Record":
		sid, err := call.Record(1 + len(strings.Fields(line))/2)
		if err == nil && attrs["transcribe"] == "true" {
			err = call.Transcribe(sid, line) // at once: Twilio takes a minute or so
		}
		return err
	case strings.Contains(input, "dtmf") && strings.Trim(line, "0123456789*#") == "":
		return call.Press(line)
	case strings.Contains(input, "speech"):
		confidence := 0.9
		if words, ok := strings.CutPrefix(line, "~"); ok {
			line, confidence = strings.TrimSpace(words), 0.3
		}
		return call.Speak(line, confidence)
	}
	return errors.New("this question wants keys: 0 to 9, * or #")
}

// listen prints what the call said from seen on and what it waits for;
// it returns nil once the call has ended.
func listen(term *terminal, call *faketwilio.Caller, err error, seen int) *faketwilio.Caller {
	for _, s := range call.Heard()[seen:] {
		term.spoken("city (call)", s.Text)
	}
	if err != nil {
		term.printf("(%v)\n", err)
	}
	if call.Ended() {
		term.setMode("")
		term.printf("(the call ended)\n")
		return nil
	}
	verb, attrs := call.Waiting()
	switch {
	case verb == "Record":
		term.setMode("leave a message")
	case strings.Contains(attrs["input"], "speech"):
		term.setMode("speak")
	default:
		term.setMode("keys")
	}
	return call
}
