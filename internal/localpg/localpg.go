// Package localpg runs a private PostgreSQL cluster from the PostgreSQL
// server binaries installed by Debian (/usr/lib/postgresql/<version>/bin).
//
// The cluster lives in one directory:
//
//	dir/data          PGDATA
//	dir/password      superuser password (0600, owned by the invoking user)
//	dir/postgres.log  initdb and server output
//
// The server listens on a free loopback TCP port only (no Unix socket) and
// runs as a child of the calling process, so it goes away with it.
package localpg

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"townline/internal/child"
	"townline/internal/freeport"
)

// ErrNotInstalled is returned by Start when no PostgreSQL server binaries are found.
var ErrNotInstalled = errors.New(`PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install them with "apt-get install postgresql" (Debian package postgresql)`)

const (
	superuser    = "townline" // cluster superuser created by initdb
	defaultDB    = "townline" // database created after the first start
	readyTimeout = 30 * time.Second
	stopTimeout  = 30 * time.Second
	portAttempts = 3 // the free port can be taken between probing and binding
)

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	dir      string
	bindir   string
	port     int
	password string
	logger   *slog.Logger

	// server is nil when Start found the cluster already running
	// (started by another process); Stop then leaves it alone.
	server *child.Process
}

// Start creates the cluster in dir on first use (initdb) and starts it on a
// free loopback TCP port. It returns when the server accepts connections.
//
// settings are extra server settings as "name=value", passed as "-c
// name=value" after the defaults (listen_addresses=127.0.0.1, no Unix
// socket, fsync=on, max_connections=200), so they can override them.
//
// ctx bounds the start-up only; the server runs until Stop or until the
// calling process exits.
func Start(ctx context.Context, dir string, logger *slog.Logger, settings ...string) (*Cluster, error) {
	if logger == nil {
		logger = slog.Default()
	}
	for _, s := range settings {
		if name, _, ok := strings.Cut(s, "="); !ok || name == "" {
			return nil, fmt.Errorf("PostgreSQL setting %q is not of the form name=value", s)
		}
	}
	bindir, err := findBinDir()
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve cluster directory %q: %w", dir, err)
	}
	owner, err := serverUser()
	if err != nil {
		return nil, err
	}
	if err := prepareDir(dir, owner); err != nil {
		return nil, err
	}

	// Serialise concurrent Starts on the same dir (two townline processes),
	// so only one runs initdb and the other reuses the running server.
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	password, err := loadOrCreatePassword(filepath.Join(dir, "password"))
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bindir: bindir, password: password, logger: logger}

	if pid, port, ok := runningServer(c.dataDir()); ok {
		// Another process (an earlier townline that is still alive) runs
		// this cluster: share it, and leave stopping it to its owner.
		logger.Info("reusing running private PostgreSQL", "dir", dir, "port", port, "pid", pid)
		c.port = port
		waitCtx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		if err := child.Poll(waitCtx, nil, c.ready); err != nil {
			return nil, fmt.Errorf("private PostgreSQL in %s, run by process %d, is not ready: %w; see %s", dir, pid, err, c.logPath())
		}
	} else {
		if err := c.initdb(ctx, owner); err != nil {
			return nil, err
		}
		if err := c.startServer(ctx, owner, settings); err != nil {
			return nil, err
		}
	}

	if err := c.CreateDatabase(ctx, defaultDB); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// URL returns the connection URL of database as the cluster superuser.
func (c *Cluster) URL(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(superuser, c.password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port returns the loopback TCP port the server listens on.
func (c *Cluster) Port() int { return c.port }

// Stop shuts the server down fast (SIGINT: roll back open transactions,
// disconnect clients, checkpoint) and waits for it to exit. If it has not
// exited after 30 s it is sent SIGQUIT (immediate shutdown, crash recovery
// on next start), and after another 30 s all its processes are killed.
// Stop is idempotent and does nothing for a server that Start found
// already running.
func (c *Cluster) Stop() error {
	if c.server == nil {
		return nil
	}
	return c.server.Stop()
}

// CreateDatabase creates database name unless it already exists.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	if name == "" || strings.HasPrefix(name, "-") || strings.ContainsRune(name, 0) || len(name) > 63 {
		return fmt.Errorf("invalid database name %q", name)
	}
	exists, err := c.databaseExists(ctx, name)
	if err != nil || exists {
		return err
	}
	out, err := c.client(ctx, "createdb", name).CombinedOutput()
	if ctx.Err() != nil {
		return fmt.Errorf("creating database %q interrupted: %w", name, ctx.Err())
	}
	if err != nil {
		// Someone else may have created it in the meantime.
		if exists, err2 := c.databaseExists(ctx, name); err2 == nil && exists {
			return nil
		}
		return fmt.Errorf("cannot create database %q in the private PostgreSQL: %w: %s", name, err, bytes.TrimSpace(out))
	}
	return nil
}

func (c *Cluster) databaseExists(ctx context.Context, name string) (bool, error) {
	// A SQL literal: with standard_conforming_strings (always on since
	// PostgreSQL 9.1) doubling single quotes is the whole escaping.
	query := "select 1 from pg_database where datname = '" + strings.ReplaceAll(name, "'", "''") + "'"
	cmd := c.client(ctx, "psql", "-X", "-q", "-t", "-A", "-d", "postgres", "-c", query)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return false, fmt.Errorf("querying the private PostgreSQL interrupted: %w", ctx.Err())
	}
	if err != nil {
		return false, fmt.Errorf("cannot query the private PostgreSQL on port %d: %w: %s", c.port, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return strings.TrimSpace(string(out)) == "1", nil
}

// client prepares a PostgreSQL client program (psql, createdb, pg_isready)
// from the server's bindir, connecting over TCP as the superuser. It runs
// as the invoking user: clients need no access to the data directory.
func (c *Cluster) client(ctx context.Context, prog string, args ...string) *exec.Cmd {
	args = append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", superuser}, args...)
	cmd := exec.CommandContext(ctx, filepath.Join(c.bindir, prog), args...)
	cmd.Env = append(cleanEnv(), "PGPASSWORD="+c.password, "PGSSLMODE=disable", "PGCONNECT_TIMEOUT=5")
	return cmd
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) logPath() string { return filepath.Join(c.dir, "postgres.log") }

// initdb creates the cluster unless dir/data already holds one.
func (c *Cluster) initdb(ctx context.Context, owner *account) error {
	data := c.dataDir()
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err == nil {
		return nil
	}
	// initdb accepts an existing empty directory; creating it ourselves lets
	// us hand it to the server user. A failed initdb empties it again.
	if err := os.Mkdir(data, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("cannot create PostgreSQL data directory: %w", err)
	}
	if entries, err := os.ReadDir(data); err != nil {
		return fmt.Errorf("cannot read PostgreSQL data directory: %w", err)
	} else if len(entries) > 0 {
		return fmt.Errorf("%s is not empty but holds no PostgreSQL cluster (no PG_VERSION): move it away so it can be recreated", data)
	}
	if err := owner.chown(data); err != nil {
		return err
	}

	// initdb reads the password from a file the server user must be able
	// to read; it lives only as long as initdb runs.
	pwfile, err := os.CreateTemp(c.dir, "pwfile-*")
	if err != nil {
		return fmt.Errorf("cannot write temporary password file for initdb: %w", err)
	}
	defer os.Remove(pwfile.Name())
	_, err = pwfile.WriteString(c.password + "\n")
	if err2 := pwfile.Close(); err == nil {
		err = err2
	}
	if err == nil {
		err = owner.chown(pwfile.Name())
	}
	if err != nil {
		return fmt.Errorf("cannot write temporary password file for initdb: %w", err)
	}

	c.logger.Info("creating private PostgreSQL cluster", "dir", c.dir)
	base := []string{"-D", data, "-U", superuser, "--auth-local=peer", "--auth-host=scram-sha-256",
		"--pwfile=" + pwfile.Name(), "-E", "UTF8"}
	err = c.runInitdb(ctx, owner, append(base, "--locale=C.UTF-8"))
	if err != nil && ctx.Err() == nil {
		// Older or minimal systems may lack the C.UTF-8 locale.
		c.logger.Warn("initdb with locale C.UTF-8 failed, retrying without locale", "err", err)
		err = c.runInitdb(ctx, owner, append(base, "--no-locale"))
	}
	if ctx.Err() != nil {
		return fmt.Errorf("creating the PostgreSQL cluster in %s was interrupted: %w", data, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("initdb failed to create the PostgreSQL cluster in %s: %w\n%s", data, err, child.TailFile(c.logPath(), 20))
	}
	return nil
}

func (c *Cluster) runInitdb(ctx context.Context, owner *account, args []string) error {
	logf, err := c.openLog()
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bindir, "initdb"), args...)
	cmd.Dir = c.dir // initdb fails if it cannot access its working directory
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = owner.sysProcAttr()
	// initdb runs postgres in bootstrap mode as a helper. On cancellation
	// interrupt the whole process group, which lets initdb remove what it
	// created, rather than SIGKILL initdb alone and orphan the helper.
	cmd.SysProcAttr.Setpgid = true
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	if cmd.Process != nil {
		// Wait for leftover helpers so none still writes into data
		// when the caller retries or removes the directory.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if syscall.Kill(-cmd.Process.Pid, 0) != nil {
				break
			}
		}
	}
	return err
}

// startServer starts postgres as a child process and waits until it
// accepts connections, retrying with a new port if the probed one was
// taken in the meantime.
func (c *Cluster) startServer(ctx context.Context, owner *account, settings []string) error {
	for attempt := 1; ; attempt++ {
		port, err := freeport.Get()
		if err != nil {
			return err
		}
		c.port = port
		c.server, err = c.spawn(owner, settings)
		if err != nil {
			return err
		}
		err = c.server.WaitReady(ctx, readyTimeout, c.ready)
		if errors.Is(err, child.ErrExited) && attempt < portAttempts && strings.Contains(child.TailFile(c.logPath(), 5), "could not bind") {
			c.logger.Warn("port taken before PostgreSQL could bind it, retrying", "port", port)
			continue
		}
		return err
	}
}

func (c *Cluster) spawn(owner *account, settings []string) (*child.Process, error) {
	args := []string{"-D", c.dataDir(), "-p", strconv.Itoa(c.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=", // no socket in /var/run/postgresql to collide with the system cluster
		"-c", "fsync=on",
		"-c", "max_connections=200",
	}
	for _, s := range settings {
		args = append(args, "-c", s) // later -c wins, so these override the defaults
	}
	cmd := exec.Command(filepath.Join(c.bindir, "postgres"), args...)
	cmd.Dir = c.dir
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = owner.sysProcAttr()
	c.logger.Info("starting private PostgreSQL", "dir", c.dir, "port", c.port)
	// In its own process group, the database is not stopped by a Ctrl-C
	// in the terminal under the application while that shuts down.
	return child.Start(cmd, child.Options{
		Name:        "private PostgreSQL",
		Output:      c.logPath(),
		Stop:        []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT},
		StopTimeout: stopTimeout,
		Logger:      c.logger,
	})
}

// ready reports whether the server accepts connections: a cheap TCP dial
// first, then pg_isready confirms it is past recovery and accepting
// sessions.
func (c *Cluster) ready(ctx context.Context) bool {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)), time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return c.client(ctx, "pg_isready", "-q", "-t", "2", "-d", "postgres").Run() == nil
}

func (c *Cluster) openLog() (*os.File, error) {
	f, err := os.OpenFile(c.logPath(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("cannot open PostgreSQL log: %w", err)
	}
	return f, nil
}

// findBinDir returns the directory holding postgres and initdb: $PG_BINDIR
// if set, else the highest version under /usr/lib/postgresql.
func findBinDir() (string, error) {
	if d := os.Getenv("PG_BINDIR"); d != "" {
		if hasServer(d) {
			return d, nil
		}
		return "", ErrNotInstalled
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	dirs = slices.DeleteFunc(dirs, func(d string) bool { return !hasServer(d) })
	if len(dirs) == 0 {
		return "", ErrNotInstalled
	}
	slices.SortFunc(dirs, func(a, b string) int {
		return compareVersions(filepath.Base(filepath.Dir(a)), filepath.Base(filepath.Dir(b)))
	})
	return dirs[len(dirs)-1], nil
}

func hasServer(dir string) bool {
	for _, prog := range []string{"postgres", "initdb"} {
		if fi, err := os.Stat(filepath.Join(dir, prog)); err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// compareVersions orders "9.6" < "15" < "16" numerically, part by part.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// account is the OS user the server runs as.
type account struct {
	name   string
	uid    int
	gid    int
	groups []uint32
	drop   bool // we are root and must switch to this user
}

// serverUser picks the user for initdb and postgres: both refuse to run as
// root, so root drops to the Debian "postgres" system user.
func serverUser() (*account, error) {
	if os.Geteuid() != 0 {
		gids, _ := os.Getgroups()
		a := &account{uid: os.Geteuid(), gid: os.Getegid()}
		for _, g := range gids {
			a.groups = append(a.groups, uint32(g))
		}
		if u, err := user.Current(); err == nil {
			a.name = u.Username
		}
		return a, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL must run as the \"postgres\" system user, which does not exist (it comes with the Debian postgresql package); install postgresql or run as an ordinary user: %w", err)
	}
	a := &account{name: u.Username, drop: true}
	if a.uid, err = strconv.Atoi(u.Uid); err == nil {
		a.gid, err = strconv.Atoi(u.Gid)
	}
	if err != nil {
		return nil, fmt.Errorf("unexpected uid/gid for user postgres: %w", err)
	}
	gids, _ := u.GroupIds()
	for _, g := range gids {
		if n, err := strconv.Atoi(g); err == nil {
			a.groups = append(a.groups, uint32(n))
		}
	}
	return a, nil
}

func (a *account) sysProcAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{}
	if a.drop {
		attr.Credential = &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid), Groups: a.groups}
	}
	return attr
}

func (a *account) chown(path string) error {
	if !a.drop {
		return nil
	}
	if err := os.Chown(path, a.uid, a.gid); err != nil {
		return fmt.Errorf("cannot give %s to user %s: %w", path, a.name, err)
	}
	return nil
}

// canEnter reports whether the account may traverse directory fi, judged
// from the permission bits (ACLs are not consulted).
func (a *account) canEnter(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || a.uid == 0 {
		return true
	}
	perm := fi.Mode().Perm()
	switch {
	case int(st.Uid) == a.uid:
		return perm&0o100 != 0
	case int(st.Gid) == a.gid || slices.Contains(a.groups, st.Gid):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

// prepareDir creates dir, checks that the server user can reach it and
// hands it over to that user.
func prepareDir(dir string, owner *account) error {
	// Missing parents get 0755 so the server user can pass through them.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("cannot create parent of PostgreSQL cluster directory: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("cannot create PostgreSQL cluster directory: %w", err)
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("cannot check PostgreSQL cluster directory: %w", err)
		}
		if !owner.canEnter(fi) {
			return fmt.Errorf("PostgreSQL runs as user %s, which cannot enter directory %s (mode %04o) on the way to its cluster directory %s: allow it (chmod o+x %s) or choose another directory",
				owner.name, p, fi.Mode().Perm(), dir, p)
		}
		if p == filepath.Dir(p) {
			break
		}
	}
	return owner.chown(dir)
}

// lockDir takes an exclusive flock on dir/start.lock, waiting for it as
// long as ctx allows.
func lockDir(ctx context.Context, dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, "start.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open PostgreSQL start lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("cannot lock %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for another process starting PostgreSQL in %s: %w", dir, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// loadOrCreatePassword reads the superuser password, creating a random
// one on first use. It is written before initdb so a failed initdb is
// retried with the same password.
func loadOrCreatePassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if pw := strings.TrimSpace(string(b)); pw != "" {
			return pw, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("cannot read PostgreSQL password: %w", err)
	}
	raw := make([]byte, 24)
	rand.Read(raw)
	pw := hex.EncodeToString(raw)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("cannot write PostgreSQL password: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("cannot write PostgreSQL password: %w", err)
	}
	return pw, nil
}

// runningServer reads data/postmaster.pid and reports the pid and port of
// a live postmaster. A stale file (dead pid) is ignored: postgres removes
// it itself on start.
func runningServer(data string) (pid, port int, ok bool) {
	f, err := os.Open(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(lines) < 4 {
		lines = append(lines, strings.TrimSpace(sc.Text()))
	}
	if len(lines) < 4 {
		return 0, 0, false // being written, or damaged
	}
	pid, err1 := strconv.Atoi(lines[0])
	port, err2 := strconv.Atoi(lines[3])
	if err1 != nil || err2 != nil || pid <= 0 {
		return 0, 0, false
	}
	// Signal 0 checks existence; EPERM means alive but another user's.
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0, 0, false
	}
	return pid, port, true
}

// cleanEnv is our environment without PG* variables (PGDATA, PGPORT,
// PGHOST, ...), which would otherwise redirect the server or its clients.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "PG") })
}

// Program returns the path of one of the installed PostgreSQL's programs
// (pg_dump, pg_restore), from the newest version installed, or PG_BINDIR.
func Program(name string) (string, error) {
	dir, err := findBinDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}
