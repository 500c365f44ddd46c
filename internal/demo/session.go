package demo

import (
	"bufio"
	"context"
	"io"
	"strings"
	"time"

	"townline/internal/faketwilio"
)

// session is the person at the terminal: what they type goes to a mail
// they are writing, to a call they are on, or else to the commands.
type session struct {
	ctx         context.Context
	term        *terminal
	interactive bool          // a person types, rather than a script
	arrived     chan struct{} // an answer came: a text, a call or a mail

	fake      *faketwilio.Server
	publicURL string
	phone     *faketwilio.Phone
	call      *faketwilio.Caller // the call in progress, if any
	mail      *mailer
	photo     bool // a photo goes with the next text or mail
}

// loop takes the person's lines until /quit, the end of in, or the end
// of the session's context.
func (s *session) loop(in io.Reader) {
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-s.ctx.Done():
				return
			}
		}
	}()
	for {
		s.term.showPrompt()
		var line string
		var ok bool
		select {
		case line, ok = <-lines:
		case <-s.ctx.Done():
		}
		// /quit is read here rather than from the commands: it ends the
		// demo even while a mail is being written or a call is on.
		if !ok || strings.TrimSpace(line) == "/quit" {
			s.quit(ok)
			return
		}
		s.handle(line)
	}
}

// handle takes one line: the next line of a mail being written, what to
// say on a call, or else a command or a text.
func (s *session) handle(typed string) {
	line := strings.TrimSpace(typed)
	switch {
	case s.mail.draft != nil:
		s.echo("you (mail)> %s\n", typed) // a mail's line, as typed
		if s.mail.line(typed) {
			s.wait(10*time.Second, time.Second)
		}
	case s.call != nil:
		s.echo("you> %s\n", line)
		if s.call = onCall(s.term, s.call, line); s.call == nil {
			s.wait(2*time.Second, 500*time.Millisecond) // a text the call promised
		}
	case line != "":
		s.echo("you> %s\n", line)
		s.command(line)
	}
}

// quit ends the session; typed says /quit was typed, rather than the
// input or the context ending.
func (s *session) quit(typed bool) {
	if s.call != nil {
		s.call.HangUp()
	}
	if typed {
		s.echo("you> /quit\n")
	}
	if s.ctx.Err() == nil {
		s.wait(2*time.Second, 1500*time.Millisecond) // answers still on their way
	}
	if s.interactive {
		s.term.printf("\n")
	}
	s.term.printf("bye\n")
}

// echo shows a script's line, as a terminal shows what a person types.
func (s *session) echo(format string, args ...any) {
	if !s.interactive {
		s.term.printf(format, args...)
	}
}

// wait lets the answers to a script's line arrive before its next line
// is echoed, so the screen reads as a conversation. A person reads the
// answers as they come.
func (s *session) wait(first, quiet time.Duration) {
	if !s.interactive {
		settle(s.arrived, first, quiet)
	}
}

// settle waits up to first for an answer, then until none has come for quiet.
func settle(arrived <-chan struct{}, first, quiet time.Duration) {
	wait := first
	for {
		select {
		case <-arrived:
			wait = quiet
		case <-time.After(wait):
			return
		}
	}
}

// notify tells whoever waits that an answer came; once is enough.
func notify(arrived chan<- struct{}) {
	select {
	case arrived <- struct{}{}:
	default:
	}
}
