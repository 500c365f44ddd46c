// Command townline is a 311 system for a city: one binary for the server
// and its administration.
package main

import (
	"flag"
	"fmt"
	"os"

	"townline/internal/config"
)

const usage = `townline — a city's 311 by text, email, phone, web and Open311

Usage: townline COMMAND [flags]

Commands:
  serve                 run the server
  demo [--from +15305550100]
                        try townline on this machine: text, call and mail the city from the terminal
  migrate               apply database migrations
  apikey add NAME       create an Open311 API key (printed alone on the last line)
  user add --email E --role admin|dispatcher|staff [--department CODE] [--password P]
                        create a staff account (prints a generated password without --password)
  places load FILE...   load the city's address points and street centerlines (GeoJSON or CSV)
  import FILE           load the city's history: an Open311 server's requests.json, or a CSV export
  backup FILE           write the whole city (database and photos) to FILE
  restore FILE          restore a backup into an empty database
  blobs migrate [--from DIR|postgres|s3://bucket/prefix]
                        move photos and files into the store TOWNLINE_BLOBS names

Every command reads the same environment as serve; run "townline COMMAND --help" for its flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "serve":
		err = serve(args)
	case "demo":
		err = runDemo(args)
	case "migrate":
		err = migrate(args)
	case "apikey":
		err = apikey(args)
	case "user":
		err = user(args)
	case "places":
		err = places(args)
	case "import":
		err = importHistory(args)
	case "backup":
		err = backupCmd(args)
	case "restore":
		err = restoreCmd(args)
	case "blobs":
		err = blobs(args)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "townline: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "townline %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

// parse parses a command's flags, with the shared settings registered too.
func parse(fs *flag.FlagSet, args []string) (*config.Config, error) {
	flags, err := config.Register(fs)
	if err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return flags.Config()
}
