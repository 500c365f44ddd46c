package crashtest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"townline/channels/sms"
	"townline/internal/faketwilio"
	"townline/internal/freeport"
)

// bin is "townline", built once from this tree.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "crashtest-bin")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "townline")
	if out, err := exec.Command("go", "build", "-o", bin, "townline/cmd/townline").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build townline: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	// rescueAfter is TOWNLINE_RESCUE_AFTER, the least the server takes:
	// a job a killed server left running is run again this long after.
	rescueAfter = 5 * time.Second

	// Deadlines, never expectations: each is many times what the step
	// takes on a loaded machine, and only a server that hangs meets one.
	readyDeadline  = time.Minute
	stopDeadline   = time.Minute
	settleDeadline = 2 * time.Minute
	poll           = 50 * time.Millisecond

	// resendSample is how many accepted texts Twilio delivers again.
	resendSample = 20
)

// harness is one city: a database, a fake Twilio account, and "townline
// serve" on a fixed address, started again after each crash.
type harness struct {
	t    *testing.T
	db   *pgxpool.Pool // the test's own connection, for waiting and checking
	fake *faketwilio.Server
	base string // http://127.0.0.1:port, the same for every instance
	env  []string
	key  string // an Open311 API key
	logs *serverLog

	srv     *process // the instance running now
	started int
	// gone lists the instances that ended, for their leadership lease.
	gone []ended
}

// ended is an instance that stopped: when, and the River client that led
// the job queue then, if it did.
type ended struct {
	at     time.Time
	leader string
}

func newHarness(t *testing.T, dbURL string, db *pgxpool.Pool) *harness {
	t.Helper()
	// Shaped as Twilio's: the SDK wants both alphanumeric.
	fake := faketwilio.New(faketwilio.NewSid("AC"), faketwilio.NewSid(""))
	t.Cleanup(fake.Close)
	port, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	h := &harness{t: t, db: db, fake: fake, base: "http://" + addr, logs: &serverLog{}}
	h.env = append(cleanEnv(),
		"DATABASE_URL="+dbURL,
		"TOWNLINE_ADDR="+addr,
		"TOWNLINE_PUBLIC_URL="+h.base, // what Twilio signs, and the server checks
		"TOWNLINE_DATA="+t.TempDir(),
		"TOWNLINE_RESCUE_AFTER="+rescueAfter.String(),
		"TWILIO_ACCOUNT_SID="+fake.AccountSID,
		"TWILIO_AUTH_TOKEN="+fake.AuthToken,
		"TWILIO_FROM="+faketwilio.CityNumber,
		"TWILIO_API_URL="+fake.URL(),
	)
	h.command("migrate") // nothing to do on a testenv database
	out := h.command("apikey", "add", "crash test")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	h.key = lines[len(lines)-1]
	t.Cleanup(func() {
		if os.Getenv("CRASHTEST_DUMP") != "" {
			os.WriteFile(filepath.Join(os.Getenv("CRASHTEST_DUMP"), t.Name()+".log"), []byte(h.logs.all()), 0o644)
		}
		if t.Failed() {
			t.Logf("server log, warnings and errors:\n%s", h.logs.grep(regexp.MustCompile(`level=(WARN|ERROR)|panic|fatal`), 200))
		}
	})
	return h
}

// cleanEnv is the test's environment without anything that configures
// townline, so that only what the harness sets applies.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		for _, p := range []string{"DATABASE_URL=", "TOWNLINE_", "TWILIO_", "IMAP_", "SMTP_", "EMAIL_", "GEOCODER_"} {
			if strings.HasPrefix(kv, p) {
				return true
			}
		}
		return false
	})
}

// command runs an administration command and returns its output.
func (h *harness) command(args ...string) string {
	h.t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = h.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		h.t.Fatalf("townline %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return string(out)
}

// process is one "townline serve".
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // how it exited, once exited is closed
}

// kill sends SIGKILL to the server's process, unless it has exited, and
// waits for it.
func (p *process) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.exited
}

// start starts an instance and waits until it is ready.
func (h *harness) start() {
	h.t.Helper()
	h.started++
	cmd := exec.Command(bin, "serve")
	cmd.Env = h.env
	w := h.logs.writer(fmt.Sprintf("serve#%d ", h.started))
	cmd.Stdout, cmd.Stderr = w, w
	// Its own process group, so a Ctrl-C reaches only the test; killed by
	// the kernel should the test die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("townline serve: %v", err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	h.t.Cleanup(p.kill)
	h.srv = p

	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(readyDeadline); ; {
		if resp, err := client.Get(h.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.exited:
			h.t.Fatalf("townline serve #%d exited while starting: %v\n%s", h.started, p.err, h.logs.tail(30))
		case <-time.After(poll):
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("townline serve #%d not ready after %v\n%s", h.started, readyDeadline, h.logs.tail(30))
		}
	}
}

// leader returns the id of the River client leading the job queue, or "".
func (h *harness) leader() string {
	var id string
	err := h.db.QueryRow(context.Background(), `SELECT leader_id FROM river_leader`).Scan(&id)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		h.t.Fatalf("read the job queue's leader: %v", err)
	}
	return id
}

// kill9 kills the running instance with SIGKILL, as the OOM killer or a
// power cut would.
func (h *harness) kill9() {
	h.t.Helper()
	leader := h.leader()
	h.srv.kill()
	h.gone = append(h.gone, ended{at: time.Now(), leader: leader})
	h.t.Logf("killed serve#%d (SIGKILL): %v", h.started, h.srv.err)
}

// terminate stops the running instance with SIGTERM, as systemd and
// Kubernetes do, and waits for it to exit by itself.
func (h *harness) terminate() {
	h.t.Helper()
	leader := h.leader()
	p := h.srv
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		h.t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(stopDeadline):
		p.kill()
		h.t.Fatalf("serve#%d still running %v after SIGTERM; killed\n%s", h.started, stopDeadline, h.logs.tail(30))
	}
	h.gone = append(h.gone, ended{at: time.Now(), leader: leader})
	h.t.Logf("serve#%d exited %v after SIGTERM: %v", h.started, time.Since(start).Round(time.Millisecond), p.err)
	if p.err != nil {
		h.t.Errorf("serve#%d exited with %v after SIGTERM, want a clean exit", h.started, p.err)
	}
}

// waitFor polls cond until it holds, failing the test after deadline.
func (h *harness) waitFor(what string, deadline time.Duration, cond func() bool) {
	h.t.Helper()
	for end := time.Now().Add(deadline); !cond(); time.Sleep(poll) {
		if time.Now().After(end) {
			h.t.Fatalf("%s: not after %v", what, deadline)
		}
	}
}

// count runs a query returning one number; -1 when it fails (the
// database may be restarting).
func (h *harness) count(sql string, args ...any) int {
	var n int
	if err := h.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		return -1
	}
	return n
}

// sending is how many outbound messages a worker has claimed and not yet
// recorded: sends in flight.
func (h *harness) sending() int {
	return h.count(`SELECT count(*) FROM messages WHERE direction = 'out' AND state = 'sending'`)
}

// inFlight counts the sends claimed and not yet recorded: those Twilio
// has taken (the answer is on its way) and those it has not (yet).
func (h *harness) inFlight() (taken, untaken int) {
	rows, err := h.db.Query(context.Background(), `SELECT c.phone, m.body FROM messages m JOIN contacts c ON c.id = m.contact_id
		WHERE m.direction = 'out' AND m.state = 'sending'`)
	if err != nil {
		return 0, 0
	}
	type key struct{ to, body string }
	sending, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (k key, err error) {
		err = r.Scan(&k.to, &k.body)
		k.body = sms.ToGSM(k.body)
		return k, err
	})
	if err != nil {
		return 0, 0
	}
	at := map[key]bool{}
	for _, m := range h.fake.Messages() {
		at[key{m.To, m.Body}] = true
	}
	for _, k := range sending {
		if at[k] {
			taken++
		} else {
			untaken++
		}
	}
	return taken, untaken
}

// waitSends waits until sends are in flight on both sides of Twilio
// taking them, so that a crash now leaves some to be found there and
// some to be sent afresh.
func (h *harness) waitSends() (taken, untaken int) {
	h.t.Helper()
	h.waitFor("sends in flight before and after Twilio takes them", time.Minute, func() bool {
		taken, untaken = h.inFlight()
		return taken > 0 && untaken > 0
	})
	return taken, untaken
}

// passTime plays, in the database, the passing of time the test does not
// wait out, as a fake clock would: the leadership lease of an instance
// that died (River's, 15 seconds) and the backoff before a retry (30
// seconds at first in production). Everything a real deployment does
// after a crash still happens, in the same order, only sooner. A dead
// leader's lease is ended only once its stuck jobs are due for rescue, so
// that the next leader's rescuer, which looks once on election and then
// every 30 seconds, finds them.
func (h *harness) passTime(ctx context.Context) {
	for _, g := range h.gone {
		if g.leader != "" && time.Since(g.at) > rescueAfter+time.Second {
			h.db.Exec(ctx, `UPDATE river_leader SET expires_at = now() - interval '1 second'
				WHERE leader_id = $1 AND expires_at > now()`, g.leader)
		}
	}
	h.db.Exec(ctx, `UPDATE river_job SET scheduled_at = now()
		WHERE kind = 'deliver' AND state = 'retryable' AND scheduled_at > now()`)
}

// settle waits until every outbound message has reached a final state and
// no delivery job can run again. It does not fail fast: what is left is
// reported, and check reports the rest.
func (h *harness) settle() {
	h.t.Helper()
	ctx := context.Background()
	start := time.Now()
	for {
		h.passTime(ctx)
		n := h.count(`SELECT (SELECT count(*) FROM messages WHERE direction = 'out' AND state IN ('queued', 'sending'))
			+ (SELECT count(*) FROM river_job WHERE kind = 'deliver' AND state NOT IN ('completed', 'cancelled', 'discarded'))`)
		if n == 0 {
			h.t.Logf("settled in %v", time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > settleDeadline {
			h.t.Errorf("outbound messages not final after %v:\n%s", settleDeadline, h.unsettled())
			return
		}
		time.Sleep(poll)
	}
}

// unsettled lists the outbound messages not final and their jobs.
func (h *harness) unsettled() string {
	ctx := context.Background()
	var b strings.Builder
	rows, err := h.db.Query(ctx, `SELECT m.id, m.state, m.attempts, COALESCE(j.id, 0), COALESCE(j.state::text, ''), COALESCE(j.attempt, 0),
			COALESCE(j.scheduled_at, 'epoch'), COALESCE(j.errors[cardinality(j.errors)]::text, '')
		FROM messages m LEFT JOIN river_job j ON j.kind = 'deliver' AND (j.args->>'message_id')::bigint = m.id
		WHERE m.direction = 'out' AND (m.state IN ('queued', 'sending') OR j.state NOT IN ('completed', 'cancelled', 'discarded'))
		ORDER BY m.id LIMIT 50`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	for rows.Next() {
		var id, job int64
		var state, jobState, lastErr string
		var attempts, attempt int
		var at time.Time
		if err := rows.Scan(&id, &state, &attempts, &job, &jobState, &attempt, &at, &lastErr); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "\tmessage %d %s after %d claims; job %d %s, attempt %d, scheduled %s, last error %s\n%s",
			id, state, attempts, job, jobState, attempt, at.Format(time.RFC3339Nano), lastErr, h.evidence(id))
	}
	return b.String()
}

// evidence is what the server logged about outbound message id.
func (h *harness) evidence(id int64) string {
	lines := h.logs.grep(regexp.MustCompile(`\bmessage=`+strconv.FormatInt(id, 10)+`\b`), 20)
	if lines == "" {
		return "\t\t(nothing in the server log)\n"
	}
	return lines
}
