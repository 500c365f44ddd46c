package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"townline/internal/app"
	"townline/internal/backup"
)

func backupCmd(args []string) error {
	ctx := context.Background()
	file, e, err := fileCommand(ctx, "backup", "Writes the whole city to FILE: the database (pg_dump) and the photos and\n"+
		"files kept in the data folder, in one archive that townline restore reads.", args)
	if err != nil {
		return err
	}
	defer e.Close()
	if err := e.Ready(ctx, false); err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	n, err := backup.Write(ctx, e.URL(), e.BlobsDir(), f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(file)
		return err
	}
	fmt.Printf("%s: the database (%d bytes dumped) and %d files\n", file, n.DumpBytes, n.Files)
	return nil
}

func restoreCmd(args []string) error {
	ctx := context.Background()
	file, e, err := fileCommand(ctx, "restore", "Restores what townline backup wrote into an empty database (a new cluster,\n"+
		"or a new DATABASE_URL) and this data folder, then brings the schema up to date.", args)
	if err != nil {
		return err
	}
	defer e.Close()
	if empty, err := e.Empty(ctx); err != nil {
		return err
	} else if !empty {
		return errors.New("the database already holds tables: restore into an empty one (a new cluster, or a new database for DATABASE_URL)")
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := backup.Read(ctx, e.URL(), e.BlobsDir(), f)
	if err != nil {
		return err
	}
	if err := e.Ready(ctx, true); err != nil {
		return err
	}
	fmt.Printf("%s: the database (%d bytes) and %d files restored\n", file, n.DumpBytes, n.Files)
	return nil
}

// fileCommand reads the flags and the one file of a command (exiting with
// its usage when there is not one) and opens the city's database.
func fileCommand(ctx context.Context, name, what string, args []string) (string, *app.Env, error) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: townline %s [flags] FILE\n\n%s\n", name, what)
		fs.PrintDefaults()
	}
	file, rest := fileArg(args)
	cfg, err := parse(fs, rest)
	if err != nil {
		return "", nil, err
	}
	if file = firstOf(file, fs.Args()); file == "" {
		fs.Usage()
		os.Exit(2)
	}
	e, err := app.Open(ctx, cfg)
	return file, e, err
}

// fileArg takes the file named before the flags, if any: "townline
// import FILE --source crm" as well as "townline import --source crm FILE".
func fileArg(args []string) (string, []string) {
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		return args[0], args[1:]
	}
	return "", args
}

// firstOf is the file named before the flags, or else the one after.
func firstOf(file string, rest []string) string {
	if file == "" && len(rest) == 1 {
		return rest[0]
	}
	if len(rest) > 0 {
		return "" // more than one file: say how it is used
	}
	return file
}
