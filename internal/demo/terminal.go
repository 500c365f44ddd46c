package demo

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"townline/internal/faketwilio"
)

// terminal writes the phone's screen; answers arrive while the person types.
type terminal struct {
	mu     sync.Mutex
	out    io.Writer
	prompt bool
	number string
	mode   string // on a call: what the call waits for (keys, words, a message)
}

func (t *terminal) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.out, format, args...)
}

func (t *terminal) setNumber(n string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.number = n
}

func (t *terminal) currentNumber() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.number
}

func (t *terminal) setMode(m string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mode = m
}

// showPrompt asks for a line; a script's lines are echoed instead.
func (t *terminal) showPrompt() {
	if t.prompt {
		t.mu.Lock()
		defer t.mu.Unlock()
		fmt.Fprint(t.out, t.promptText())
	}
}

// promptText is the prompt; t.mu is held.
func (t *terminal) promptText() string {
	if t.mode != "" {
		return "you (" + t.mode + ")> "
	}
	return "you> "
}

func (t *terminal) city(m faketwilio.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	to := ""
	if m.To != t.number {
		to = "(to " + m.To + ") "
	}
	if t.prompt {
		fmt.Fprint(t.out, "\r") // over the prompt, which comes back below
	}
	fmt.Fprintf(t.out, "city> %s%s\n", to, strings.ReplaceAll(m.Body, "\n", "\n      "))
	if t.prompt {
		fmt.Fprint(t.out, t.promptText())
	}
}

// spoken prints what a call says, as it says it.
func (t *terminal) spoken(who, text string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.prompt {
		fmt.Fprint(t.out, "\r")
	}
	fmt.Fprintf(t.out, "%s> %s\n", who, text)
}

// note prints a line of news while the person may be typing.
func (t *terminal) note(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.prompt {
		fmt.Fprint(t.out, "\r")
	}
	fmt.Fprintln(t.out, line)
	if t.prompt {
		fmt.Fprint(t.out, t.promptText())
	}
}

// mail shows a mail the city sent.
func (t *terminal) mail(m cityMail, resident string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	to := ""
	if !slices.ContainsFunc(m.To, func(r string) bool { return strings.EqualFold(r, resident) }) {
		to = "(to " + strings.Join(m.To, ", ") + ") "
	}
	if t.prompt {
		fmt.Fprint(t.out, "\r")
	}
	const indent = "             " // under "city (mail)> "
	fmt.Fprintf(t.out, "city (mail)> %sSubject: %s\n", to, m.Subject)
	lines := strings.Split(m.Text, "\n")
	for _, f := range m.Files {
		lines = append(lines, "(attached: "+f+")")
	}
	for _, l := range lines {
		if l = strings.TrimRight(l, " \t"); l != "" {
			l = indent + l
		}
		fmt.Fprintln(t.out, l)
	}
	if t.prompt {
		fmt.Fprint(t.out, t.promptText())
	}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
