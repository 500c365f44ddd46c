package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"townline/core"
	"townline/internal/app"
)

func migrate(args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ExitOnError)
	cfg, err := parse(fs, args)
	if err != nil {
		return err
	}
	ctx := context.Background()
	e, err := app.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer e.Close()
	if err := e.Ready(ctx, true); err != nil {
		return err
	}
	fmt.Println("the database is up to date")
	return nil
}

// admin opens the database and a core that only writes (no workers) for
// the administration commands.
func admin(ctx context.Context, fs *flag.FlagSet, args []string) (*app.Env, *core.Core, error) {
	cfg, err := parse(fs, args)
	if err != nil {
		return nil, nil, err
	}
	e, err := app.Open(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	if err := e.Ready(ctx, false); err != nil {
		e.Close()
		return nil, nil, err
	}
	c, err := e.Core(ctx, 0, nil, nil)
	if err != nil {
		e.Close()
		return nil, nil, err
	}
	return e, c, nil
}

func apikey(args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New(`usage: townline apikey add NAME`)
	}
	fs := flag.NewFlagSet("apikey add", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: townline apikey add [flags] NAME\n\nCreates an Open311 API key for the client NAME and prints it alone on the last line.")
		fs.PrintDefaults()
	}
	ctx := context.Background()
	// Flags may come before or after the name.
	rest := args[1:]
	var name []string
	for len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		name, rest = append(name, rest[0]), rest[1:]
	}
	e, c, err := admin(ctx, fs, rest)
	if err != nil {
		return err
	}
	defer e.Close()
	name = append(name, fs.Args()...)
	if len(name) == 0 {
		fs.Usage()
		os.Exit(2)
	}
	key, err := c.AddAPIKey(ctx, strings.Join(name, " "))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "API key for %q (shown only now; keep it secret):\n", strings.Join(name, " "))
	fmt.Println(key)
	return nil
}

func user(args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New(`usage: townline user add --email E --role admin|dispatcher|staff [--department CODE] [--password P]`)
	}
	fs := flag.NewFlagSet("user add", flag.ExitOnError)
	email := fs.String("email", "", "the staff member's email address (their login)")
	role := fs.String("role", "", "admin, dispatcher or staff")
	dept := fs.String("department", "", "department code from the city file (for staff)")
	password := fs.String("password", "", "password (default: a generated one, printed)")
	ctx := context.Background()
	e, c, err := admin(ctx, fs, args[1:])
	if err != nil {
		return err
	}
	defer e.Close()
	if *email == "" || *role == "" {
		return errors.New("--email and --role are required")
	}
	pw, generated := *password, *password == ""
	if generated {
		pw = core.GeneratePassword()
	}
	u, err := c.AddUser(ctx, *email, *role, *dept, pw)
	if err != nil {
		return err
	}
	fmt.Printf("created %s %s (id %d)\n", u.Role, u.Email, u.ID)
	if generated {
		fmt.Printf("password: %s\n", pw)
	}
	return nil
}

func places(args []string) error {
	const use = `usage: townline places load FILE...`
	if len(args) == 0 || args[0] != "load" {
		return errors.New(use)
	}
	fs := flag.NewFlagSet("places load", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: townline places load [flags] FILE...\n\n"+
			"Loads the city's address points and street centerlines (GeoJSON, or an\n"+
			"address CSV such as OpenAddresses') for placing what residents write.\n"+
			"A file loaded again replaces what it loaded before.")
		fs.PrintDefaults()
	}
	ctx := context.Background()
	e, c, err := admin(ctx, fs, args[1:])
	if err != nil {
		return err
	}
	defer e.Close()
	files := fs.Args()
	if len(files) == 0 {
		fs.Usage()
		os.Exit(2)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		// The file's name is its source: loading it again replaces it.
		n, err := c.LoadPlaces(ctx, filepath.Base(f), data)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if n.Unchanged {
			fmt.Printf("%s: loaded before as it is; nothing to do (the city has %d address points and %d street segments in all)\n",
				f, n.AllAddresses, n.AllSegments)
			continue
		}
		fmt.Printf("%s: %d address points, %d street segments (the city has %d and %d in all)\n",
			f, n.Addresses, n.Segments, n.AllAddresses, n.AllSegments)
	}
	return nil
}
