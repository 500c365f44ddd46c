package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// The baseline tables: a request and its first event, the two rows at the
// heart of every intake, in a transaction of their own.
const benchTables = `
DROP TABLE IF EXISTS intakebench_event, intakebench_request;
CREATE TABLE intakebench_request (
	id           bigserial PRIMARY KEY,
	service_code text NOT NULL,
	description  text NOT NULL,
	lat          float8,
	lng          float8,
	address      text,
	status       text NOT NULL DEFAULT 'new',
	created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE intakebench_event (
	id         bigserial PRIMARY KEY,
	request_id bigint NOT NULL REFERENCES intakebench_request (id),
	actor      text NOT NULL,
	note       text,
	at         timestamptz NOT NULL DEFAULT now()
);`

// benchScript is one intake-shaped transaction, with the same jitter
// around Oroville as the Open311 load. No colon in the literals: pgbench
// would take ":name" for a variable.
const benchScript = `\set dlat random(-2000, 2000)
\set dlng random(-2000, 2000)
BEGIN;
INSERT INTO intakebench_request (service_code, description, lat, lng, address) VALUES ('pothole', 'Bench pothole', 39.5138 + :dlat / 1000000.0, -121.5564 + :dlng / 1000000.0, '1735 Montgomery St') RETURNING id \gset
INSERT INTO intakebench_event (request_id, actor, note) VALUES (:id, 'open311 bench', 'routed to public-works');
COMMIT;
`

// textScript is the SQL one text's intake commits, run by pgbench on
// townline's own tables: contact, inbound message, conversation lock,
// abuse count, the resident's open requests, request and its event, linking, the confirmation and its
// job, the conversation's new state. Its rate is what the database alone
// allows for the same work, so the ratio to it is the cost of everything
// else (HTTP, signatures, Go, the driver). The jobs go to a queue no
// worker serves. No colon in the literals: pgbench would take it for a
// variable.
const textScript = `\set n random(1, 1000000000)
BEGIN;
INSERT INTO contacts (phone, language) VALUES ('+1999' || :n, 'en') ON CONFLICT (phone) DO UPDATE SET name = contacts.name RETURNING id AS cid \gset
INSERT INTO messages (contact_id, direction, channel, provider_id, body, state) VALUES (:cid, 'in', 'sms', 'SMpgbench' || :n || '-' || random(), 'pothole at 100 Bird Street', 'received') RETURNING id AS mid \gset
INSERT INTO conversations (contact_id, channel) VALUES (:cid, 'sms') ON CONFLICT (contact_id, channel) DO UPDATE SET channel = EXCLUDED.channel RETURNING id AS vid \gset
SELECT count(*) FILTER (WHERE direction = 'in' AND created_at > now() - interval '10 minutes'), count(*) FILTER (WHERE direction = 'out' AND auto) FROM messages WHERE contact_id = :cid AND created_at > now() - interval '1 day';
SELECT r.id, r.service_code, s.name, r.requested_at FROM requests r LEFT JOIN services s ON s.code = r.service_code WHERE r.contact_id = :cid AND r.status <> 'closed' ORDER BY r.requested_at DESC, r.id DESC LIMIT 5;
WITH r AS (INSERT INTO requests (token, service_code, description, address, department_code, channel, contact_id, expected_at) VALUES (md5(random()::text), 'pothole', 'pothole at 100 Bird Street', '100 Bird Street', 'public-works', 'sms', :cid, now() + interval '3 days') RETURNING id), e AS (INSERT INTO request_events (request_id, actor, to_status, department_code, note) SELECT id, 'sms', 'new', 'public-works', 'routed to public-works' FROM r) SELECT id AS rid FROM r \gset
WITH m AS (UPDATE messages SET request_id = :rid, conversation_id = :vid WHERE id = :mid) UPDATE attachments SET request_id = :rid WHERE message_id = :mid;
INSERT INTO messages (request_id, contact_id, direction, channel, body, language, state, auto) VALUES (:rid, :cid, 'out', 'sms', 'Oroville 311 #' || :rid || ' got it, Pothole at 100 Bird Street. Track it online.', 'en', 'queued', true) RETURNING id AS oid \gset
INSERT INTO river_job (args, kind, max_attempts, priority, queue, state, scheduled_at) VALUES (('{"message_id"' || chr(58) || :oid || '}')::jsonb, 'pgbench', 1, 1, 'pgbench', 'available', now());
UPDATE conversations SET draft = NULL, expires_at = NULL, request_id = :rid, updated_at = now() WHERE id = :vid;
COMMIT;
`

// createBenchTables creates the baseline tables (replacing those of an
// interrupted earlier run) and writes the pgbench script into dir.
func createBenchTables(ctx context.Context, db *pgx.Conn, dir string) (script string, err error) {
	if _, err := db.Exec(ctx, benchTables); err != nil {
		return "", fmt.Errorf("create the pgbench tables: %w", err)
	}
	script = filepath.Join(dir, "intake.sql")
	if err := os.WriteFile(script, []byte(benchScript), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "text.sql"), []byte(textScript), 0o644); err != nil {
		return "", err
	}
	return script, nil
}

// dropBenchTables removes the baseline tables. After an interrupt the
// sessions of the killed pgbench may still hold their locks for a moment
// (and deadlock with the drop), so it tries a few times.
func dropBenchTables(ctx context.Context, db *pgx.Conn) {
	var err error
	for range 5 {
		attempt, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = db.Exec(attempt, `DROP TABLE IF EXISTS intakebench_event, intakebench_request`)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "intakebench: drop the pgbench tables: %v\n", err)
}

// findPgbench returns path if given, else pgbench from the newest
// PostgreSQL under /usr/lib/postgresql ($PG_BINDIR first, as localpg
// does), else from PATH.
func findPgbench(path string) (string, error) {
	if path != "" {
		return exec.LookPath(path)
	}
	var candidates []string
	if d := os.Getenv("PG_BINDIR"); d != "" {
		candidates = append(candidates, filepath.Join(d, "pgbench"))
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	// Debian names the directories after the major version: newest first.
	slices.SortFunc(found, func(a, b string) int { return majorVersion(b) - majorVersion(a) })
	candidates = append(candidates, found...)
	candidates = append(candidates, "pgbench")
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", errors.New(`pgbench not found beside the PostgreSQL server binaries nor in PATH: install it ("apt-get install postgresql-contrib" on older Debian, it comes with postgresql since 10) or pass -pgbench`)
}

func majorVersion(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

type pgbenchResult struct {
	tps       float64
	latencyMs float64
}

// runPgbench runs the script with n clients: first for warmup, discarded,
// so that both sides are measured warm, then for duration.
func runPgbench(ctx context.Context, pgbench, dbURL, script string, n int, warmup, duration time.Duration) (pgbenchResult, error) {
	if warmup > 0 {
		if _, err := pgbenchOnce(ctx, pgbench, dbURL, script, n, warmup); err != nil {
			return pgbenchResult{}, err
		}
	}
	out, err := pgbenchOnce(ctx, pgbench, dbURL, script, n, duration)
	if err != nil {
		return pgbenchResult{}, err
	}
	return parsePgbench(out)
}

func pgbenchOnce(ctx context.Context, pgbench, dbURL, script string, n int, d time.Duration) ([]byte, error) {
	conn, password := splitPassword(dbURL)
	args := []string{"-n", "-M", "prepared", "-f", script,
		"-c", strconv.Itoa(n), "-j", strconv.Itoa(min(n, 2)), // two cores: more threads only contend
		"-T", strconv.Itoa(int(d / time.Second)), conn}
	cmd := exec.CommandContext(ctx, pgbench, args...)
	// The password goes by environment, not on a command line anyone can
	// read in ps.
	cmd.Env = os.Environ()
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password)
	}
	// Its own process group: a Ctrl-C reaches us, and we stop it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("pgbench with %d clients: %w\n%s%s", n, err, out, stderr.Bytes())
	}
	return out, nil
}

// splitPassword takes the password out of a postgres:// URL. A
// keyword=value conninfo is passed on as it is.
func splitPassword(conn string) (string, string) {
	u, err := url.Parse(conn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.User == nil {
		return conn, ""
	}
	password, ok := u.User.Password()
	if !ok {
		return conn, ""
	}
	u.User = url.User(u.User.Username())
	return u.String(), password
}

// parsePgbench reads the summary pgbench prints:
//
//	latency average = 3.331 ms
//	tps = 2401.123456 (without initial connection time)
func parsePgbench(out []byte) (pgbenchResult, error) {
	var r pgbenchResult
	var haveTPS bool
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "latency average = "); ok {
			r.latencyMs, _ = strconv.ParseFloat(strings.TrimSuffix(v, " ms"), 64)
		}
		if v, ok := strings.CutPrefix(line, "tps = "); ok && strings.Contains(v, "without initial connection") {
			num, _, _ := strings.Cut(v, " ")
			var err error
			if r.tps, err = strconv.ParseFloat(num, 64); err == nil {
				haveTPS = true
			}
		}
	}
	if !haveTPS {
		return r, fmt.Errorf("no \"tps = ... (without initial connection time)\" in pgbench's output:\n%s", out)
	}
	return r, nil
}
