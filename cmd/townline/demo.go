package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"townline/internal/demo"
)

func runDemo(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	phone := fs.String("from", demo.ResidentPhone, "the terminal phone's number (E.164)")
	email := fs.String("email", demo.ResidentMail, "the terminal's email address, which mails the city")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: townline demo [--from %s] [--email %s] [flags]\n\n"+
			"Runs townline on this machine with a fake Twilio, a local mailbox (%s)\n"+
			"and a phone and a mail client in the terminal.\n"+
			"Everything is kept in $TOWNLINE_DATA/demo, with its own private PostgreSQL.\n"+
			"The DATABASE_URL variable is ignored, so that demo texts never reach the\n"+
			"database serve uses; only --database-url on the command line is obeyed.\n"+
			"The Twilio and mail settings are always the demo's own.\n\n%s\nFlags:\n",
			demo.ResidentPhone, demo.ResidentMail, demo.CityMail, demo.Help())
		fs.PrintDefaults()
	}
	cfg, err := parse(fs, args)
	if err != nil {
		return err
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "database-url" })
	if !explicit && cfg.DatabaseURL != "" {
		fmt.Println("(the demo ignores DATABASE_URL and keeps its own database)")
		cfg.DatabaseURL = ""
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return demo.Run(ctx, demo.Config{Townline: cfg, Phone: *phone, Email: *email}, os.Stdin, os.Stdout)
}
