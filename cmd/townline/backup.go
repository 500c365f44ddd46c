package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"townline/core"
	"townline/internal/app"
	"townline/internal/backup"
)

func backupCmd(args []string) error {
	ctx := context.Background()
	file, e, err := fileCommand(ctx, "backup", "Writes the whole city to FILE: the database (pg_dump), photos and files\n"+
		"included when they are kept there, in one archive that townline restore reads.", args)
	if err != nil {
		return err
	}
	defer e.Close()
	if err := e.Ready(ctx, false); err != nil {
		return err
	}
	// Files still on disk from before they were kept in the database would
	// be missing from the backup without a word.
	if n, err := core.BlobsLeft(e.BlobsDir()); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("%d photos and files are still in %s, outside the database: run townline blobs migrate first", n, e.BlobsDir())
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	n, err := backup.Write(ctx, e.URL(), f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(file)
		return err
	}
	if e.BlobStore() != "postgres" {
		fmt.Printf("%s: the database (%d bytes dumped); the photos and files are in %s: back it up on its own\n", file, n.DumpBytes, e.BlobStore())
		return nil
	}
	fmt.Printf("%s: the database, photos and files included (%d bytes dumped)\n", file, n.DumpBytes)
	return nil
}

func restoreCmd(args []string) error {
	ctx := context.Background()
	file, e, err := fileCommand(ctx, "restore", "Restores what townline backup wrote into an empty database (a new cluster,\n"+
		"or a new DATABASE_URL), then brings the schema up to date. The photos and\n"+
		"files of a backup written while they were kept on disk are moved into the\n"+
		"store (TOWNLINE_BLOBS).", args)
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
	fmt.Printf("%s: the database restored (%d bytes)\n", file, n.DumpBytes)
	if n.Files == 0 {
		return nil
	}
	c, err := e.Core(ctx, 0, nil, nil)
	if err != nil {
		return err
	}
	return moveBlobs(ctx, e, c, e.BlobsDir())
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

func blobs(args []string) error {
	if len(args) == 0 || args[0] != "migrate" {
		return errors.New("usage: townline blobs migrate [--from DIR|postgres|s3://bucket/prefix]")
	}
	fs := flag.NewFlagSet("blobs migrate", flag.ExitOnError)
	from := fs.String("from", "", "where the files are: a folder, postgres, or s3://bucket/prefix (default: blobs in the data folder)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: townline blobs migrate [flags]

Moves photos and files into the store TOWNLINE_BLOBS names (the database by
default), where every instance reads them: from the folder townline kept them
in before ($TOWNLINE_DATA/blobs), or from another store (--from postgres, or
--from s3://bucket/prefix on TOWNLINE_S3_ENDPOINT). Each file is removed from
where it was once it is stored: stopped halfway, run it again, and it moves
what is left. A file whose content does not match its name is left where it
is, and named.

Flags:
`)
		fs.PrintDefaults()
	}
	ctx := context.Background()
	e, c, err := admin(ctx, fs, args[1:])
	if err != nil {
		return err
	}
	defer e.Close()
	return moveBlobs(ctx, e, c, cmp.Or(*from, e.BlobsDir()))
}

// moveBlobs moves the files kept in from into the store, with a line on
// stderr every hundred files.
func moveBlobs(ctx context.Context, e *app.Env, c *core.Core, from string) error {
	moved := 0
	err := c.MoveBlobs(ctx, from, func(n, total int) {
		moved = n
		if n%100 == 0 || n == total {
			fmt.Fprintf(os.Stderr, "%d/%d files moved\n", n, total)
		}
	})
	to := e.BlobStore()
	if to == "postgres" {
		to = "the database"
	}
	fmt.Printf("%s: %d files moved into %s\n", from, moved, to)
	return err
}
