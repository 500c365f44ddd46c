// Package debian puts a Debian package on the machine when a test needs
// its program (Dovecot, Chromium) and it is missing, as the README
// promises: `make test` works on a fresh Debian machine.
package debian

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"

	"townline/internal/child"
)

// ErrNotRoot is returned when a package is missing and only root could
// install it.
var ErrNotRoot = errors.New("only root can install it")

var (
	mu       sync.Mutex
	attempts = map[string]error{} // by package: one try per process
)

// Install makes sure binary exists, installing pkg with apt-get when it is
// missing and we are root. It tries once per package and process.
func Install(ctx context.Context, logger *slog.Logger, pkg, binary string) error {
	if _, err := os.Stat(binary); err == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s is missing: %w (apt-get install %s)", binary, ErrNotRoot, pkg)
	}
	mu.Lock()
	defer mu.Unlock()
	err, tried := attempts[pkg]
	if !tried {
		logger.Info("installing a Debian package for the tests", "package", pkg)
		err = aptGet(ctx, pkg)
		attempts[pkg] = err
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("%s installed, but %s is still missing", pkg, binary)
	}
	return nil
}

func aptGet(ctx context.Context, pkg string) error {
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args, " "), err, child.Tail(out, 20))
		}
		return nil
	}
	// The lock timeout lets a concurrent apt (another test binary) finish
	// rather than fail us; a fresh machine's package lists may be empty.
	lock := "-o=DPkg::Lock::Timeout=300"
	if err := run(lock, "install", "-y", "-qq", pkg); err != nil {
		if err = run(lock, "update", "-qq"); err != nil {
			return err
		}
		return run(lock, "install", "-y", "-qq", pkg)
	}
	return nil
}
