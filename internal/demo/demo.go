// Package demo runs townline on one machine for a person to try: with a
// fake Twilio, a local mailbox, and a phone and a mail client in the
// terminal, they text, call and mail the city and see its answers.
package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"townline/internal/config"
	"townline/internal/faketwilio"
)

// The resident the terminal plays, unless told otherwise, and the city's
// mailbox they write to.
const (
	ResidentPhone = "+15305550100"
	ResidentMail  = "resident@example.com"
	CityMail      = "311@oroville.demo"
)

// The fake Twilio account of the demo. The SDK wants both alphanumeric.
const (
	accountSID = "AC00000000000000000000000000demo0"
	authToken  = "demo0000000000000000000000000000"
)

// Config is what the demo runs with.
type Config struct {
	// Townline is townline's configuration. The demo keeps its data in a
	// demo folder under Data, logs to a file there, and brings its own
	// Twilio and mail; the caller's Config is left as it is.
	Townline *config.Config
	Phone    string // the terminal phone's number, E.164
	Email    string // the terminal's email address, which mails the city
}

// Run runs townline and the demo's world around it until the person types
// /quit, in ends, or ctx is done. When in is a terminal, the person gets a
// prompt; any other input is a script: its lines are echoed to out, each
// after the answers to the one before.
func Run(ctx context.Context, cfg Config, in io.Reader, out io.Writer) error {
	file, ok := in.(*os.File)
	interactive := ok && isTerminal(file)
	term := &terminal{out: out, prompt: interactive, number: cfg.Phone}

	tc := *cfg.Townline
	tc.Data = filepath.Join(tc.Data, "demo")
	if err := os.MkdirAll(tc.Data, 0o755); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	logPath := filepath.Join(tc.Data, "townline.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	logger := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: tc.LogLevel}))
	tc.LogLevel = slog.LevelWarn // the terminal is the phone's: only problems go there

	// The server's own address, unless another townline has it.
	ln, err := net.Listen("tcp", tc.Addr)
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
	}
	defer ln.Close()
	tc.PublicURL = "http://" + ln.Addr().String()

	fake := faketwilio.New(accountSID, authToken)
	defer fake.Close()
	tc.TwilioAccountSID, tc.TwilioAuthToken = accountSID, authToken
	tc.TwilioFrom, tc.TwilioAPIURL = faketwilio.CityNumber, fake.URL()

	// The city's mailbox, and the mail server its answers go out through.
	arrived := make(chan struct{}, 1) // an answer came: a text, a call or a mail
	box, err := startMailbox(cfg.Email, func(m cityMail) {
		term.mail(m, cfg.Email)
		notify(arrived)
	})
	if err != nil {
		return fmt.Errorf("the demo's mailbox: %w", err)
	}
	defer box.close()
	tc.IMAPURL, tc.SMTPURL, tc.EmailFrom = box.imapURL(), box.smtpURL(), CityMail

	term.printf("Starting townline (the database may take a few seconds the first time)...\n")
	town, err := startTownline(ctx, &tc, ln, logger)
	if err != nil {
		return err
	}
	defer town.stop()
	if err := waitReady(town.checks, 5*time.Second); err != nil {
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
		town.city, tc.PublicURL, tc.PublicURL, fake.URL(), box.imapAddr, CityMail, box.password,
		box.smtpURL(), logPath, cfg.Phone, faketwilio.CityNumber, CityMail, cfg.Email, Help())

	go showTexts(ctx, fake, term, arrived)
	go ringPhone(ctx, fake, term, arrived)
	s := &session{
		ctx: ctx, term: term, interactive: interactive, arrived: arrived,
		fake: fake, publicURL: tc.PublicURL, phone: fake.Phone(cfg.Phone, tc.PublicURL+"/twilio/sms"),
		mail: &mailer{box: box, term: term, from: cfg.Email, core: town.core, ctx: ctx, arrived: arrived},
	}
	s.loop(in)
	return nil
}
