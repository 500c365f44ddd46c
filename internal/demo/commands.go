package demo

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"townline/internal/faketwilio"
)

// command is one of the slash commands, as /help shows it.
type command struct {
	name string // "/photo"
	args string // "[TEXT]"
	help string // a line of /help for each line
	run  func(s *session, arg string)
}

// commands are the slash commands in the order /help lists them. A
// function, not a variable: /help reads the table it is in.
func commands() []command {
	return []command{
		{"/photo", "[TEXT]", "attach a photo (taken downtown, with GPS) to TEXT or to your next text or mail", (*session).attachPhoto},
		{"/from", "NUMBER", "text (and call) from another phone, e.g. /from +15305550101", (*session).switchPhone},
		{"/mail", "SUBJECT", "email the city; then type the body, and a line with a single . to send it\n" +
			"(/photo on a line of its own attaches a photo, /cancel drops the mail)", (*session).writeMail},
		{"/reply", "[TEXT]", "answer the city's latest mail with TEXT (without TEXT, type a body as for /mail)", (*session).reply},
		{"/call", "", "call the city's phone menu; then type keys (1, 9, 1234#) or words,\n" +
			"~words to mumble them, an empty line to stay silent, /hangup to end", (*session).dial},
		{"/help", "", "this help", (*session).help},
		// Listed, but not run from here: session.loop ends on /quit alone.
		{"/quit", "", "stop the demo (so does Ctrl-D)", nil},
	}
}

// Help tells what to type at the demo's prompt.
func Help() string {
	var b strings.Builder
	b.WriteString("Type a text and press Enter to send it to the city.\n")
	for _, c := range commands() {
		usage := strings.TrimSpace(c.name + " " + c.args)
		for line := range strings.SplitSeq(c.help, "\n") {
			fmt.Fprintf(&b, "  %-16s%s\n", usage, line)
			usage = ""
		}
	}
	return b.String()
}

// command runs the command line begins with, or else texts line to the
// city.
func (s *session) command(line string) {
	name, arg, _ := strings.Cut(line, " ")
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			c.run(s, arg)
			return
		}
	}
	if strings.HasPrefix(name, "/") {
		s.term.printf("(unknown command %s; /help lists them)\n", name)
		return
	}
	s.text(line)
}

// text sends line from the phone, with the photo if one was attached.
func (s *session) text(line string) {
	var media []faketwilio.MediaFile
	if s.photo {
		media = append(media, faketwilio.MediaFile{ContentType: "image/jpeg", Data: takePhoto()})
		s.photo = false
	}
	resp, err := s.phone.Send(line, media...)
	switch {
	case err != nil:
		s.term.printf("(the text did not reach townline: %v)\n", err)
	case resp.StatusCode != http.StatusOK:
		s.term.printf("(townline answered Twilio with %s)\n", resp.Status)
	default:
		s.wait(5*time.Second, 500*time.Millisecond)
	}
}

func (s *session) attachPhoto(text string) {
	s.photo = true
	if text = strings.TrimSpace(text); text == "" {
		s.term.printf("(a photo will go with your next text or mail)\n")
		return
	}
	s.text(text)
}

func (s *session) switchPhone(number string) {
	if !strings.HasPrefix(number, "+") {
		s.term.printf("(give a number in E.164, like +15305550101)\n")
		return
	}
	s.phone = s.fake.Phone(strings.TrimSpace(number), s.publicURL+"/twilio/sms")
	s.term.setNumber(s.phone.Number)
	s.term.printf("(now texting from %s)\n", s.phone.Number)
}

func (s *session) writeMail(subject string) {
	s.mail.compose(strings.TrimSpace(subject), s.photo)
	s.photo = false
}

func (s *session) reply(text string) {
	if s.mail.reply(strings.TrimSpace(text), s.photo) {
		s.wait(10*time.Second, time.Second)
	}
	s.photo = false
}

func (s *session) dial(string) {
	call := s.fake.Call(s.phone.Number, s.publicURL+"/twilio/voice")
	call.StatusCallback = s.publicURL + "/twilio/voice/status"
	s.term.printf("(calling the city at %s from %s)\n", faketwilio.CityNumber, s.phone.Number)
	s.call = listen(s.term, call, call.Dial(), 0)
}

func (s *session) help(string) { s.term.printf("%s", Help()) }
