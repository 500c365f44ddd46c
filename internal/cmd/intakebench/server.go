package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"townline/internal/freeport"
)

const (
	readyTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

// server is a running "townline serve".
type server struct {
	base   string // http://127.0.0.1:port
	apiKey string
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has been reaped
	hwm    atomic.Int64  // last VmHWM read, kB: /proc is gone once it exits
}

// startTownline prepares the database (migrate, an API key) and starts
// the server, returning once /readyz answers 200. extraEnv is added to
// its environment (the Twilio account, for texts).
func startTownline(ctx context.Context, bin, dbURL, data string, extraEnv []string) (*server, error) {
	port, err := freeport.Get()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	env := append(cleanEnv(),
		"DATABASE_URL="+dbURL,
		"TOWNLINE_ADDR="+addr,
		// Twilio signs webhooks over this URL, and the server checks them
		// over it.
		"TOWNLINE_PUBLIC_URL=http://"+addr,
		"TOWNLINE_DATA="+data,
		"TOWNLINE_LOG_LEVEL=warn", // an info line per request would be load of its own
	)
	env = append(env, extraEnv...)

	if _, err := runTownline(ctx, bin, env, "migrate"); err != nil {
		return nil, err
	}
	out, err := runTownline(ctx, bin, env, "apikey", "add", "bench")
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	s := &server{base: "http://" + addr, apiKey: strings.TrimSpace(lines[len(lines)-1])}
	if s.apiKey == "" {
		return nil, errors.New("townline apikey add printed no key")
	}

	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = env
	s.cmd.Stdout, s.cmd.Stderr = os.Stderr, os.Stderr // warnings and errors only
	// Its own process group, so a Ctrl-C reaches only us and we stop it
	// in order; SIGTERM if we die without doing so.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("townline serve: %w", err)
	}
	s.exited = make(chan struct{})
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// runTownline runs one administration command and returns its stdout.
func runTownline(ctx context.Context, bin string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("townline %s: %w\n%s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

func (s *server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := client.Get(s.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("townline serve exited during start-up: %v", s.cmd.ProcessState)
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("townline serve on %s not ready after %v", s.base, readyTimeout)
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM, which lets the server finish what it is doing, and
// kills it if it has not exited in time.
func (s *server) stop() {
	s.readStatus() // the last VmHWM
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		fmt.Fprintf(os.Stderr, "intakebench: townline serve did not stop in %v, killing it\n", stopTimeout)
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// readStatus returns the server's resident set size (VmRSS) in kB and
// records its peak (VmHWM); 0 once it has gone.
func (s *server) readStatus() (rss int64) {
	select {
	case <-s.exited:
		return 0 // reaped: the pid may be another process's now
	default:
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		name, v, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if name == "VmRSS" {
			rss = kb
		} else {
			s.hwm.Store(kb)
		}
	}
	return rss
}

// peakRSS is the server's peak resident set size in kB.
func (s *server) peakRSS() int64 {
	s.readStatus()
	return s.hwm.Load()
}

// clockTick is a clock tick of /proc/PID/stat: USER_HZ, 100 on every Linux
// architecture Go supports.
const clockTick = 10 * time.Millisecond

// cpuTicks is the CPU time the server has used, in clock ticks.
func (s *server) cpuTicks() int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name in parentheses may hold spaces; fields count
	// from after it. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return utime + stime
}

// cpuTicks is the CPU time the servers have used, in clock ticks.
func cpuTicks(servers []*server) int64 {
	var n int64
	for _, s := range servers {
		n += s.cpuTicks()
	}
	return n
}

// quiesce checkpoints the database and waits, for at most 30 s, until the
// server is idle (its background jobs done), so that one run does not pay
// for the previous one. A checkpoint needs privileges a DATABASE_URL user
// may lack; the run goes on without it.
func quiesce(ctx context.Context, db *pgx.Conn, servers ...*server) {
	_, _ = db.Exec(ctx, "CHECKPOINT")
	const interval = 500 * time.Millisecond
	last := cpuTicks(servers)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
		now := cpuTicks(servers)
		// Under 5% of a core.
		if time.Duration(now-last)*clockTick < interval/20 {
			return
		}
		last = now
	}
}

// cleanEnv is our environment without townline's settings, so the server
// runs the same here as anywhere: no real Twilio (the text phase adds a
// fake one), no mail, the bundled city.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "DATABASE_URL"), strings.HasPrefix(name, "TOWNLINE_"),
			strings.HasPrefix(name, "TWILIO_"), strings.HasPrefix(name, "IMAP_"),
			strings.HasPrefix(name, "SMTP_"), strings.HasPrefix(name, "EMAIL_"):
			continue
		}
		env = append(env, kv)
	}
	return env
}
