// Package dovecot runs a private Dovecot IMAP server for tests, from the
// binaries of Debian's dovecot-imapd package, as internal/localpg runs
// PostgreSQL. When the package is missing and we run as root, Start
// installs it with apt-get.
//
// Everything lives in one directory:
//
//	dir/dovecot.conf  the throwaway configuration
//	dir/dovecot.log   the server's log
//	dir/run           base_dir: sockets and the master's pid file
//	dir/state         state_dir
//	dir/mail/USER     the user's home, with its Maildir
//
// The server listens on a free loopback port with plain IMAP and cleartext
// LOGIN (no TLS): one user, a random password. Its own base_dir and
// instance name keep it apart from a system Dovecot that the package's
// postinst may have started. It runs as a child of the calling process and
// goes away with it.
package dovecot

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"townline/internal/child"
	"townline/internal/debian"
	"townline/internal/freeport"
)

// ErrNotInstalled is returned by Start when Dovecot is missing and cannot
// be installed (we are not root).
var ErrNotInstalled = errors.New(`Dovecot not found (/usr/sbin/dovecot): install it with "apt-get install dovecot-imapd"`)

// Binary is where Debian installs the Dovecot master.
const Binary = "/usr/sbin/dovecot"

const (
	// User is the one mail user; its password is random per server.
	User         = "townline"
	readyTimeout = 20 * time.Second
	stopTimeout  = 10 * time.Second
	portAttempts = 3
)

// Server is a running private Dovecot.
type Server struct {
	dir      string
	port     int
	password string
	logger   *slog.Logger

	proc *child.Process

	mu     sync.Mutex
	client *imapclient.Client // for Append, made on first use
}

// Start installs Dovecot if it is missing (as root only), writes a
// configuration under dir and starts the server on a free loopback port.
// It returns once the server greets IMAP clients. ctx bounds the start-up.
func Start(ctx context.Context, dir string, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if err := install(ctx, logger); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve Dovecot directory %q: %w", dir, err)
	}
	for _, d := range []string{"run", "state", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("cannot create Dovecot directory: %w", err)
		}
	}
	s := &Server{dir: dir, password: strings.ToLower(rand.Text()), logger: logger}
	for attempt := 1; ; attempt++ {
		if s.port, err = freeport.Get(); err != nil {
			return nil, err
		}
		if err := s.writeConfig(); err != nil {
			return nil, err
		}
		if s.proc, err = s.spawn(); err != nil {
			return nil, err
		}
		err = s.proc.WaitReady(ctx, readyTimeout, s.ready)
		if err == nil {
			return s, nil
		}
		if errors.Is(err, child.ErrExited) && attempt < portAttempts && strings.Contains(child.TailFile(s.logPath(), 10), "in use") {
			logger.Warn("port taken before Dovecot could bind it, retrying", "port", s.port)
			continue
		}
		return nil, err
	}
}

// install puts dovecot-imapd on the machine when it is missing. Only root
// can; anyone else gets ErrNotInstalled.
func install(ctx context.Context, logger *slog.Logger) error {
	if err := debian.Install(ctx, logger, "dovecot-imapd", Binary); err != nil {
		return fmt.Errorf("%w: %w", ErrNotInstalled, err)
	}
	return nil
}

// Addr is the server's loopback host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Dir is the server's directory.
func (s *Server) Dir() string { return s.dir }

// URL is the IMAP_URL of a mailbox on this server (plain imap://).
func (s *Server) URL(mailbox string) string {
	u := url.URL{Scheme: "imap", User: url.UserPassword(User, s.password), Host: s.Addr(), Path: "/" + mailbox}
	return u.String()
}

// Dial returns a new client logged in as the mail user.
func (s *Server) Dial() (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(s.Addr(), nil)
	if err != nil {
		return nil, fmt.Errorf("dial Dovecot: %w", err)
	}
	if err := c.Login(User, s.password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("log in to Dovecot: %w", err)
	}
	return c, nil
}

// Append stores a raw message in mailbox, as a mail delivery would, and
// returns its UID.
func (s *Server) Append(mailbox string, raw []byte) (imap.UID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if s.client == nil {
			c, err := s.Dial()
			if err != nil {
				return 0, err
			}
			s.client = c
		}
		cmd := s.client.Append(mailbox, int64(len(raw)), nil)
		_, werr := cmd.Write(raw)
		cerr := cmd.Close()
		data, err := cmd.Wait()
		if err = errors.Join(werr, cerr, err); err == nil {
			return data.UID, nil
		}
		var imapErr *imap.Error
		if errors.As(err, &imapErr) || attempt > 0 {
			return 0, fmt.Errorf("append to %s: %w", mailbox, err)
		}
		// A broken connection (the server restarted): once more on a new one.
		s.client.Close()
		s.client = nil
	}
}

// Stop shuts the server down (SIGTERM) and waits for it; it is idempotent.
func (s *Server) Stop() error {
	s.mu.Lock()
	if s.client != nil {
		s.client.Close()
		s.client = nil
	}
	s.mu.Unlock()
	return s.proc.Stop()
}

func (s *Server) logPath() string { return filepath.Join(s.dir, "dovecot.log") }

func (s *Server) spawn() (*child.Process, error) {
	// -F keeps the master in the foreground, our child.
	cmd := exec.Command(Binary, "-F", "-c", filepath.Join(s.dir, "dovecot.conf"))
	cmd.Dir = s.dir
	s.logger.Info("starting private Dovecot", "dir", s.dir, "port", s.port)
	return child.Start(cmd, child.Options{
		Name:        "Dovecot",
		Output:      filepath.Join(s.dir, "dovecot.out"),
		Log:         s.logPath(),
		Stop:        []syscall.Signal{syscall.SIGTERM},
		StopTimeout: stopTimeout,
		Logger:      s.logger,
	})
}

// ready reports whether the server greets IMAP clients.
func (s *Server) ready(context.Context) bool {
	conn, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4)
	_, err = conn.Read(buf)
	return err == nil && string(buf) == "* OK"
}

// writeConfig writes a configuration for the installed Dovecot version:
// 2.3 (Debian 12) or 2.4 (Debian 13), whose syntax differs.
func (s *Server) writeConfig() error {
	ids, err := accounts()
	if err != nil {
		return err
	}
	out, err := exec.Command(Binary, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s --version: %w", Binary, err)
	}
	// "/./" in a home directory marks where the mail process chroots.
	home := s.dir + "/mail/"
	if ids.mailChroot {
		home += "./"
	}
	// The home exists before the first login, which would complain.
	for _, d := range []string{filepath.Join(s.dir, "mail"), filepath.Join(s.dir, "mail", User)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("cannot create the mail directory: %w", err)
		}
		if err := os.Chown(d, ids.uid, ids.gid); err != nil {
			return fmt.Errorf("cannot give the mail directory to the mail user: %w", err)
		}
	}
	v24 := bytes.HasPrefix(out, []byte("2.4")) || bytes.HasPrefix(out, []byte("3."))
	conf := config23
	if v24 {
		conf = config24
	}
	r := strings.NewReplacer(
		"{DIR}", s.dir,
		"{PORT}", strconv.Itoa(s.port),
		"{INSTANCE}", "townline-test-"+strconv.Itoa(s.port),
		"{PASSWORD}", s.password,
		"{LOGIN_USER}", ids.login,
		"{INTERNAL_USER}", ids.internal,
		"{INTERNAL_GROUP}", ids.group,
		"{UID}", strconv.Itoa(ids.uid),
		"{GID}", strconv.Itoa(ids.gid),
		"{CHROOT}", ids.chroot,
		"{HOME}", home+"%u",
		"{HOME24}", home+"%{user}",
	)
	return os.WriteFile(filepath.Join(s.dir, "dovecot.conf"), []byte(r.Replace(conf)), 0o600)
}

type ids struct {
	login, internal string
	group           string // default_internal_group: owns the internal sockets
	uid, gid        int    // the mail processes' user
	chroot          string // the login processes' chroot ("" for none)
	mailChroot      bool   // mail processes chroot into dir/mail
}

// accounts picks the users Dovecot's processes run as. As root: Dovecot
// never runs mail or login processes as root, so mail is accessed as
// nobody and logins as dovenull (made by the package) or nobody; both
// chroot (as root, before dropping privileges) into directories of their
// own, so they need no access to the rest of the test directory, which is
// root's alone. Anyone else runs everything as themself, which Dovecot
// supports as a "rootless" install.
func accounts() (ids, error) {
	me, err := user.Current()
	if err != nil {
		return ids{}, fmt.Errorf("who am I: %w", err)
	}
	if me.Uid != "0" {
		uid, _ := strconv.Atoi(me.Uid)
		gid, _ := strconv.Atoi(me.Gid)
		g, err := user.LookupGroupId(me.Gid)
		if err != nil {
			return ids{}, fmt.Errorf("my group: %w", err)
		}
		return ids{login: me.Username, internal: me.Username, group: g.Name, uid: uid, gid: gid}, nil
	}
	group := "dovecot" // made by the package
	if _, err := user.LookupGroup(group); err != nil {
		group = "root"
	}
	login := "dovenull"
	if _, err := user.Lookup(login); err != nil {
		login = "nobody"
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		return ids{}, fmt.Errorf("Dovecot needs a user other than root for mail access: %w", err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	return ids{login: login, internal: "root", group: group, uid: uid, gid: gid, chroot: "login", mailChroot: true}, nil
}

const config23 = `# Throwaway test configuration written by townline/internal/dovecot.
protocols = imap
listen = 127.0.0.1
base_dir = {DIR}/run
state_dir = {DIR}/state
instance_name = {INSTANCE}
log_path = {DIR}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
valid_chroot_dirs = {DIR}/mail
default_login_user = {LOGIN_USER}
default_internal_user = {INTERNAL_USER}
default_internal_group = {INTERNAL_GROUP}
first_valid_uid = {UID}
first_valid_gid = {GID}
mail_uid = {UID}
mail_gid = {GID}
passdb {
  driver = static
  args = password={PASSWORD}
}
userdb {
  driver = static
  args = uid={UID} gid={GID} home={HOME}
}
service imap-login {
  chroot = {CHROOT}
  inet_listener imap {
    address = 127.0.0.1
    port = {PORT}
  }
  inet_listener imaps {
    port = 0
  }
}
# Chrooting needs root; anvil has no need of it here.
service anvil {
  chroot =
}
`

// config24 follows Dovecot 2.4's renamed settings (mail_driver/mail_path,
// auth_allow_cleartext, named passdb/userdb blocks).
const config24 = `# Throwaway test configuration written by townline/internal/dovecot.
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
protocols = imap
listen = 127.0.0.1
base_dir = {DIR}/run
state_dir = {DIR}/state
instance_name = {INSTANCE}
log_path = {DIR}/dovecot.log
ssl = no
auth_allow_cleartext = yes
auth_mechanisms = plain login
mail_driver = maildir
mail_path = ~/Maildir
valid_chroot_dirs = {DIR}/mail
default_login_user = {LOGIN_USER}
default_internal_user = {INTERNAL_USER}
default_internal_group = {INTERNAL_GROUP}
first_valid_uid = {UID}
first_valid_gid = {GID}
mail_uid = {UID}
mail_gid = {GID}
passdb static {
  password = {PASSWORD}
}
userdb static {
  fields {
    uid = {UID}
    gid = {GID}
    home = {HOME24}
  }
}
service imap-login {
  chroot = {CHROOT}
  inet_listener imap {
    port = {PORT}
  }
  inet_listener imaps {
    port = 0
  }
}
# Chrooting needs root; anvil has no need of it here.
service anvil {
  chroot =
}
`
