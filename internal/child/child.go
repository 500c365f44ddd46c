// Package child runs a server program, such as the private PostgreSQL or
// the test Dovecot, as a child of the calling process: its output appended
// to a log file, in its own process group (so that a Ctrl-C in the
// terminal reaches it only through us), and asked to stop by the kernel
// should we die without stopping it.
package child

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrExited is wrapped by WaitReady's error when the program exited on
// its own during start-up, and returned by Poll when it has exited.
var ErrExited = errors.New("exited")

// Options describe how to run and stop a program.
type Options struct {
	// Name names the program, with cmd.Dir, in errors and log lines:
	// "private PostgreSQL" gives "private PostgreSQL in /its/dir".
	Name string
	// Output is the file its stdout and stderr are appended to.
	Output string
	// Log is the program's own log file, when it keeps one apart from
	// Output. Errors show the end of both.
	Log string
	// Stop are the signals, at least one, that Stop sends in turn,
	// StopTimeout apart, before it kills the process group. The kernel
	// sends the first should we die first.
	Stop        []syscall.Signal
	StopTimeout time.Duration
	Logger      *slog.Logger
}

// Process is a running program started by Start.
type Process struct {
	o      Options
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been reaped
	err    error         // cmd.Wait's result, valid once exited is closed

	stopOnce sync.Once
	stopErr  error
}

// Start starts cmd, which must not have been started, as described by o.
// It adds to cmd.SysProcAttr, which it may be given with credentials to
// run as another user.
func Start(cmd *exec.Cmd, o Options) (*Process, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	out, err := os.OpenFile(o.Output, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("cannot open the output file of %s: %w", o.Name, err)
	}
	defer out.Close() // the child has its own copy
	cmd.Stdout, cmd.Stderr = out, out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	// Pdeathsig fires when the OS thread that started the child exits. Go
	// only retires the threads of goroutines that exit while locked to
	// them, which callers of Start do not.
	cmd.SysProcAttr.Pdeathsig = o.Stop[0]
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot run %s: %w", cmd.Path, err)
	}
	p := &Process{o: o, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Exited is closed when the program has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// WaitReady calls ready until it reports true, for at most timeout. If it
// gives up while the program still runs, it stops it. Its error ends
// with the last lines of the program's logs and wraps ErrExited when the
// program exited on its own.
func (p *Process) WaitReady(parent context.Context, timeout time.Duration, ready func(context.Context) bool) error {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	err := Poll(ctx, p.exited, ready)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrExited):
		return fmt.Errorf("%s %w during start-up (%v); %s", p.name(), err, p.err, p.tail(20))
	}
	_ = p.Stop()
	if parent.Err() != nil {
		return fmt.Errorf("start-up of %s interrupted: %w", p.name(), parent.Err())
	}
	return fmt.Errorf("%s not ready after %v; %s", p.name(), timeout, p.tail(20))
}

// Poll calls ready every 50ms until it reports true. It returns ErrExited
// once exited is closed (nil: never) and ctx's error once ctx is done.
func Poll(ctx context.Context, exited <-chan struct{}, ready func(context.Context) bool) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready(ctx) {
			return nil
		}
		select {
		case <-exited:
			return ErrExited
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Stop sends the stop signals in turn until the program exits, then
// SIGKILL to its process group, and waits for it to exit. It reports a
// program that had exited before or did not exit cleanly. It is
// idempotent.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() { p.stopErr = p.stop() })
	return p.stopErr
}

func (p *Process) stop() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s had already exited (%v); see %s", p.name(), p.err, p.logPath())
	default:
	}
	for i, sig := range p.o.Stop {
		if i > 0 {
			p.o.Logger.Warn(p.o.Name+" did not stop in time", "dir", p.cmd.Dir, "timeout", p.o.StopTimeout, "now", sig.String())
		}
		_ = p.cmd.Process.Signal(sig)
		select {
		case <-p.exited:
			return p.stopped()
		case <-time.After(p.o.StopTimeout):
		}
	}
	p.o.Logger.Warn(p.o.Name+" did not stop in time, killing it", "dir", p.cmd.Dir, "timeout", p.o.StopTimeout)
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
	return p.stopped()
}

func (p *Process) stopped() error {
	p.o.Logger.Info(p.o.Name+" stopped", "dir", p.cmd.Dir)
	if p.err != nil {
		return fmt.Errorf("%s did not shut down cleanly (%w); see %s", p.name(), p.err, p.logPath())
	}
	return nil
}

func (p *Process) name() string { return p.o.Name + " in " + p.cmd.Dir }

func (p *Process) logPath() string {
	if p.o.Log != "" {
		return p.o.Log
	}
	return p.o.Output
}

// tail returns the last n lines of each of the program's logs, headed by
// its path.
func (p *Process) tail(n int) string {
	s := fmt.Sprintf("last lines of %s:\n%s", p.logPath(), TailFile(p.logPath(), n))
	if p.o.Log != "" && p.o.Log != p.o.Output {
		s += fmt.Sprintf("\nlast lines of %s:\n%s", p.o.Output, TailFile(p.o.Output, n))
	}
	return s
}

// TailFile returns the last n lines of the file at path, for error
// messages.
func TailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return Tail(b, n)
}

// Tail returns the last n lines of b.
func Tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
