// Command withpg runs a command against a database.
//
//	go run ./internal/cmd/withpg [-keep] -- CMD ARGS...
//
// If DATABASE_URL is set, CMD simply runs with it. Otherwise withpg starts
// a throwaway private PostgreSQL (fsync off: data may be lost on a crash,
// which is fine for tests) in a temporary directory, runs CMD with
// DATABASE_URL pointing at its database "townline", then stops it and
// removes the directory. It exits with CMD's exit status.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"sync/atomic"
	"syscall"

	"townline/internal/localpg"
)

func main() { os.Exit(run()) }

func run() int {
	keep := flag.Bool("keep", false, "keep the cluster directory after CMD exits")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: withpg [-keep] -- CMD ARGS...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		flag.Usage()
		return 2
	}

	// Handle SIGINT/SIGTERM from the start: before CMD runs they abort the
	// start-up (so we still clean up), afterwards they go to CMD and we
	// clean up once it has exited.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var child atomic.Pointer[os.Process]
	var caught atomic.Value // syscall.Signal
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		for s := range sigs {
			caught.Store(s)
			if p := child.Load(); p != nil {
				_ = p.Signal(s)
			} else {
				cancel()
			}
		}
	}()
	interrupted := func() int {
		if s, ok := caught.Load().(syscall.Signal); ok {
			return 128 + int(s)
		}
		return 1
	}

	if os.Getenv("DATABASE_URL") != "" {
		return runCmd(args, os.Environ(), &child)
	}

	dir, err := os.MkdirTemp("", "withpg-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "withpg: cannot create temporary directory: %v\n", err)
		return 1
	}
	cleanup := func() {
		if *keep {
			fmt.Fprintf(os.Stderr, "withpg: kept cluster directory %s\n", dir)
			return
		}
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintf(os.Stderr, "withpg: %v\n", err)
		}
	}
	// MkdirTemp makes it 0700; when we are root the server runs as user
	// postgres, which must be able to enter it.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "withpg: %v\n", err)
		cleanup()
		return 1
	}

	// Only warnings: the one line below is all a successful run prints.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cluster, err := localpg.Start(ctx, dir, logger, "fsync=off", "synchronous_commit=off", "full_page_writes=off")
	if err != nil {
		fmt.Fprintf(os.Stderr, "withpg: %v\n", err)
		cleanup()
		if ctx.Err() != nil {
			return interrupted()
		}
		return 1
	}
	fmt.Fprintf(os.Stderr, "withpg: throwaway PostgreSQL on 127.0.0.1:%d\n", cluster.Port())

	code := interrupted()
	if ctx.Err() == nil { // not interrupted while starting
		code = runCmd(args, append(os.Environ(), "DATABASE_URL="+cluster.URL("townline")), &child)
	}
	if err := cluster.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "withpg: %v\n", err)
	}
	cleanup()
	return code
}

// runCmd runs args with stdio passed through and returns its exit status,
// shell style (128+signal if it was killed by a signal).
func runCmd(args, env []string, child *atomic.Pointer[os.Process]) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "withpg: %v\n", err)
		return 127
	}
	child.Store(cmd.Process)
	err := cmd.Wait()
	child.Store(nil)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return exit.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "withpg: %v\n", err)
		return 1
	}
	return 0
}
