package child

import (
	"context"
	"errors"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func start(t *testing.T, script string) *Process {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = dir
	p, err := Start(cmd, Options{
		Name:        "test server",
		Output:      filepath.Join(dir, "out.log"),
		Stop:        []syscall.Signal{syscall.SIGINT, syscall.SIGTERM},
		StopTimeout: 100 * time.Millisecond,
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	return p
}

func TestStop(t *testing.T) {
	t.Parallel()
	p := start(t, "exec sleep 60")
	if err := p.Stop(); err == nil || !strings.Contains(err.Error(), "did not shut down cleanly") {
		t.Fatalf("Stop of a program killed by SIGINT: %v", err)
	}
	if err := p.Stop(); err == nil {
		t.Fatal("second Stop forgot the first's error")
	}
}

// A program that ignores the stop signals is killed with its process
// group.
func TestStopKills(t *testing.T) {
	t.Parallel()
	p := start(t, `trap "" INT TERM; echo up; sleep 60 & wait`)
	if err := p.WaitReady(context.Background(), 5*time.Second, func(context.Context) bool {
		return strings.Contains(TailFile(p.o.Output, 1), "up")
	}); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err == nil || !strings.Contains(err.Error(), "signal: killed") {
		t.Fatalf("Stop = %v, want killed", err)
	}
}

func TestWaitReadyExited(t *testing.T) {
	t.Parallel()
	p := start(t, "echo cannot bind >&2; exit 3")
	err := p.WaitReady(context.Background(), 5*time.Second, func(context.Context) bool { return false })
	if !errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "exit status 3") || !strings.HasSuffix(err.Error(), "cannot bind") {
		t.Fatalf("WaitReady = %v", err)
	}
}

func TestWaitReadyTimeout(t *testing.T) {
	t.Parallel()
	p := start(t, "exec sleep 60")
	err := p.WaitReady(context.Background(), 100*time.Millisecond, func(context.Context) bool { return false })
	if err == nil || errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "not ready after 100ms") {
		t.Fatalf("WaitReady = %v", err)
	}
	select {
	case <-p.Exited():
	default:
		t.Fatal("the program still runs after WaitReady gave up")
	}
}

func TestTail(t *testing.T) {
	t.Parallel()
	if got := Tail([]byte("a\nb\nc\n"), 2); got != "b\nc" {
		t.Errorf("Tail = %q", got)
	}
	if got := Tail([]byte("a\n"), 2); got != "a" {
		t.Errorf("Tail = %q", got)
	}
}
