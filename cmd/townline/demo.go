package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"townline/core"
	"townline/internal/app"
	"townline/internal/faketwilio"
	"townline/internal/server"
)

// The fake Twilio account of the demo. The SDK wants both alphanumeric.
const (
	demoAccountSID = "AC00000000000000000000000000demo0"
	demoAuthToken  = "demo0000000000000000000000000000"
)

// Downtown Oroville, where the demo's photos are taken.
const demoLat, demoLng = 39.5138, -121.5564

const demoHelp = `Type a text and press Enter to send it to the city.
  /photo [TEXT]   attach a photo (taken downtown, with GPS) to TEXT or to your next text or mail
  /from NUMBER    text (and call) from another phone, e.g. /from +15305550101
  /mail SUBJECT   email the city; then type the body, and a line with a single . to send it
                  (/photo on a line of its own attaches a photo, /cancel drops the mail)
  /reply [TEXT]   answer the city's latest mail with TEXT (without TEXT, type a body as for /mail)
  /call           call the city's phone menu; then type keys (1, 9, 1234#) or words,
                  ~words to mumble them, an empty line to stay silent, /hangup to end
  /help           this help
  /quit           stop the demo (so does Ctrl-D)
`

func demo(args []string) error { return runDemo(args, os.Stdin, os.Stdout) }

// runDemo is the demo with its phone's keyboard and screen.
func runDemo(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	from := fs.String("from", "+15305550100", "the terminal phone's number (E.164)")
	mailFrom := fs.String("email", demoResident, "the terminal's email address, which mails the city")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: townline demo [--from +15305550100] [--email %s] [flags]\n\n"+
			"Runs townline on this machine with a fake Twilio, a local mailbox (%s)\n"+
			"and a phone and a mail client in the terminal.\n"+
			"Everything is kept in $TOWNLINE_DATA/demo, with its own private PostgreSQL.\n"+
			"The DATABASE_URL variable is ignored, so that demo texts never reach the\n"+
			"database serve uses; only --database-url on the command line is obeyed.\n"+
			"The Twilio and mail settings are always the demo's own.\n\n%s\nFlags:\n", demoResident, demoCityMail, demoHelp)
		fs.PrintDefaults()
	}
	cfg, err := parse(fs, args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	file, ok := in.(*os.File)
	interactive := ok && isTerminal(file)
	term := &terminal{out: out, prompt: interactive, number: *from}

	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "database-url" })
	if !explicit && cfg.DatabaseURL != "" {
		term.printf("(the demo ignores DATABASE_URL and keeps its own database)\n")
		cfg.DatabaseURL = ""
	}
	cfg.Data = filepath.Join(cfg.Data, "demo")
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	logPath := filepath.Join(cfg.Data, "townline.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	level := cfg.LogLevel
	cfg.LogLevel = slog.LevelWarn // the terminal is the phone's: only problems go there

	// The server's own address, unless another townline has it.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
	}
	defer ln.Close()
	cfg.PublicURL = "http://" + ln.Addr().String()

	fake := faketwilio.New(demoAccountSID, demoAuthToken)
	defer fake.Close()
	cfg.TwilioAccountSID, cfg.TwilioAuthToken = demoAccountSID, demoAuthToken
	cfg.TwilioFrom, cfg.TwilioAPIURL = faketwilio.CityNumber, fake.URL()

	// The city's mailbox, and the mail server its answers go out through.
	arrived := make(chan struct{}, 1) // an answer came: a text, a call or a mail
	box, err := startMailbox(*mailFrom, func(m cityMail) {
		term.mail(m, *mailFrom)
		select {
		case arrived <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return fmt.Errorf("the demo's mailbox: %w", err)
	}
	defer box.close()
	cfg.IMAPURL, cfg.SMTPURL, cfg.EmailFrom = box.imapURL(), box.smtpURL(), demoCityMail

	term.printf("Starting townline (the database may take a few seconds the first time)...\n")
	e, err := app.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer e.Close()
	e.Log = slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(e.Log)
	if err := e.Ready(ctx, true); err != nil {
		return err
	}
	ch, err := e.Channels(ctx)
	if err != nil {
		return err
	}
	c, err := e.Core(ctx, 4, ch.Senders, ch.Fetchers)
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	watching, stopWatching := context.WithCancel(ctx) // the mailbox watcher, stopped before the mailbox
	defer stopWatching()
	opts, err := ch.Start(watching, c, e)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: server.New(c, opts), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer func() {
		stopWatching()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
		c.Stop(shutdown)
	}()
	if err := waitReady(opts.Checks, 5*time.Second); err != nil {
		term.printf("(not ready yet: %v)\n", err)
	}

	term.printf("\ntownline demo: %s 311 on this machine\n"+
		"  public site and tracking pages  %s/\n"+
		"  Open311 API                     %s/open311/v2/services.json\n"+
		"  fake Twilio API                 %s\n"+
		"  city mailbox (IMAP)             imap://%s/INBOX  user %s  password %s\n"+
		"  outgoing mail (SMTP)            %s\n"+
		"  log                             %s\n\n"+
		"Your phone %s texts and calls the city at %s.\n"+
		"You mail the city at %s from %s.\n%s\n",
		e.City.Name, cfg.PublicURL, cfg.PublicURL, fake.URL(), box.imapAddr, demoCityMail, box.password,
		box.smtpURL(), logPath, *from, faketwilio.CityNumber, demoCityMail, *mailFrom, demoHelp)

	phone := fake.Phone(*from, cfg.PublicURL+"/twilio/sms")
	mc := &mailer{box: box, term: term, from: *mailFrom, core: c, ctx: ctx, arrived: arrived}
	go func() {
		for i := 0; ; i++ {
			m, err := fake.Next(ctx, i)
			if err != nil {
				return
			}
			term.city(m)
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
	}()
	go ringPhone(ctx, fake, term, arrived)
	var call *faketwilio.Caller // the call in progress, if any

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	var photo bool
	for {
		term.showPrompt()
		var line string
		var ok bool
		select {
		case line, ok = <-lines:
		case <-ctx.Done():
			ok = false
		}
		if !ok || strings.TrimSpace(line) == "/quit" {
			if call != nil {
				call.HangUp()
			}
			if !interactive && ok {
				term.printf("you> /quit\n")
			}
			if !interactive && ctx.Err() == nil {
				settle(arrived, 2*time.Second, 1500*time.Millisecond) // answers still on their way
			}
			if interactive {
				term.printf("\n")
			}
			term.printf("bye\n")
			return nil
		}
		body := line // a mail's line, as typed
		line = strings.TrimSpace(line)
		if mc.draft != nil {
			if !interactive {
				term.printf("you (mail)> %s\n", body)
			}
			if mc.line(body) && !interactive {
				settle(arrived, 10*time.Second, time.Second)
			}
			continue
		}
		if call != nil {
			if !interactive {
				term.printf("you> %s\n", line)
			}
			if call = onCall(term, call, line); call == nil && !interactive {
				settle(arrived, 2*time.Second, 500*time.Millisecond) // a text the call promised
			}
			continue
		}
		if !interactive && line != "" {
			term.printf("you> %s\n", line)
		}
		cmd, rest, _ := strings.Cut(line, " ")
		switch cmd {
		case "":
			continue
		case "/help":
			term.printf("%s", demoHelp)
			continue
		case "/from":
			if !strings.HasPrefix(rest, "+") {
				term.printf("(give a number in E.164, like +15305550101)\n")
				continue
			}
			phone = fake.Phone(strings.TrimSpace(rest), cfg.PublicURL+"/twilio/sms")
			term.setNumber(phone.Number)
			term.printf("(now texting from %s)\n", phone.Number)
			continue
		case "/call":
			call = fake.Call(phone.Number, cfg.PublicURL+"/twilio/voice")
			call.StatusCallback = cfg.PublicURL + "/twilio/voice/status"
			term.printf("(calling the city at %s from %s)\n", faketwilio.CityNumber, phone.Number)
			call = listen(term, call, call.Dial(), 0)
			continue
		case "/mail":
			mc.compose(strings.TrimSpace(rest), photo)
			photo = false
			continue
		case "/reply":
			if mc.reply(strings.TrimSpace(rest), photo) && !interactive {
				settle(arrived, 10*time.Second, time.Second)
			}
			photo = false
			continue
		case "/photo":
			photo = true
			if line = strings.TrimSpace(rest); line == "" {
				term.printf("(a photo will go with your next text or mail)\n")
				continue
			}
		default:
			if strings.HasPrefix(cmd, "/") {
				term.printf("(unknown command %s; /help lists them)\n", cmd)
				continue
			}
		}
		var media []faketwilio.MediaFile
		if photo {
			media = append(media, faketwilio.MediaFile{ContentType: "image/jpeg", Data: demoPhoto()})
			photo = false
		}
		resp, err := phone.Send(line, media...)
		switch {
		case err != nil:
			term.printf("(the text did not reach townline: %v)\n", err)
		case resp.StatusCode != http.StatusOK:
			term.printf("(townline answered Twilio with %s)\n", resp.Status)
		case !interactive:
			settle(arrived, 5*time.Second, 500*time.Millisecond)
		}
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

// ringPhone shows the calls the city places: the daytime calls that bring
// callers their updates. Whoever they ring picks up and listens.
func ringPhone(ctx context.Context, fake *faketwilio.Server, term *terminal, arrived chan<- struct{}) {
	for i := 0; ; i++ {
		c, err := fake.NextCall(ctx, i)
		if err != nil {
			return
		}
		who := "city (calls you)"
		if term.currentNumber() != c.To {
			who = "city (calls " + c.To + ")"
		}
		picked, err := fake.Answer(c)
		if err != nil {
			term.printf("(the city called %s, but: %v)\n", c.To, err)
			continue
		}
		for _, s := range picked.Heard() {
			term.spoken(who, s.Text)
		}
		picked.HangUp()
		select {
		case arrived <- struct{}{}:
		default:
		}
	}
}

func (t *terminal) currentNumber() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.number
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// demoPhoto draws a pothole in asphalt and tags it, as a phone camera
// does, with where it was taken.
func demoPhoto() []byte {
	img := image.NewGray(image.Rect(0, 0, 480, 360))
	for y := range 360 {
		for x := range 480 {
			v := 110 + uint8((x*7+y*13)%23) // grainy asphalt
			dx, dy := float64(x-240)/150, float64(y-190)/80
			if d := dx*dx + dy*dy; d < 1 {
				v = uint8(30 + 50*d) // the hole, darker at its heart
			}
			img.SetGray(x, y, color.Gray{Y: v})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		panic(err) // encoding to memory cannot fail
	}
	raw := b.Bytes()
	out := append([]byte{}, raw[:2]...) // SOI, then APP1 where cameras put it
	out = append(out, core.ExifWithGPS(demoLat, demoLng)...)
	return append(out, raw[2:]...)
}
