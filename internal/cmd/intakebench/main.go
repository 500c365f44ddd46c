// Command intakebench measures intake beside pgbench on the same
// PostgreSQL cluster, in the same run, and prints their ratio: how much of
// the database's durable-transaction capacity one intake costs, a figure
// that holds from one machine to the next where raw requests per second
// do not.
//
//	go run ./internal/cmd/intakebench -townline bin/townline [-duration 10s] [-warmup 2s] [-clients 8,32] [-phases open311,sms] [-pgbench PATH]
//
// With DATABASE_URL set it uses that database, and leaves the requests it
// created there. Otherwise it starts a private cluster with the default,
// durable settings (fsync and synchronous_commit on) in a temporary
// directory and removes it afterwards.
//
// For each client count it runs pgbench with a two-insert transaction
// shaped like intake's writes, then, against "townline serve", the
// phases asked for:
//
//   - open311: as many concurrent Open311 POST loops;
//   - sms: as many concurrent senders of signed Twilio webhooks, each text
//     from a new number and so a new request with a confirmation queued,
//     through a fake Twilio (internal/faketwilio) the server also sends
//     the confirmations to; once every client count is done, texts at a
//     steady 50 a second, timing each from its webhook to its
//     confirmation reaching the fake API.
//
// Both phases are compared with the same pgbench run. It exits non-zero
// only when a run could not be done; a missed target is information, not
// a failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"townline/internal/localpg"
)

// target is the ratio of townline requests to pgbench transactions per
// second that intake aims at.
const target = 0.5

type options struct {
	townline string
	pgbench  string
	duration time.Duration
	warmup   time.Duration
	clients  []int
	open311  bool // the Open311 phase
	two      bool // the Open311 phase against two instances on the cluster
	sms      bool // the text message phase
}

func main() { os.Exit(run()) }

func run() int {
	opt, err := parseFlags()
	if err != nil {
		fmt.Fprintf(os.Stderr, "intakebench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx, opt); err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "intakebench: interrupted")
			return 130
		}
		fmt.Fprintf(os.Stderr, "intakebench: %v\n", err)
		return 1
	}
	return 0
}

func parseFlags() (options, error) {
	var opt options
	var err error
	clients := flag.String("clients", "8,32", "comma-separated numbers of concurrent clients (Open311 clients, text senders), one run each")
	flag.StringVar(&opt.townline, "townline", "bin/townline", "the townline binary")
	flag.StringVar(&opt.pgbench, "pgbench", "", "the pgbench binary (default: beside the PostgreSQL server binaries, else in PATH)")
	flag.DurationVar(&opt.duration, "duration", 10*time.Second, "measured time of each run (whole seconds: pgbench counts in seconds)")
	flag.DurationVar(&opt.warmup, "warmup", 2*time.Second, "unmeasured time before each run")
	phases := flag.String("phases", "open311,two,sms", "comma-separated phases to run: open311 (Open311 POSTs), two (the same against two instances on the cluster), sms (signed Twilio webhooks)")
	flag.Parse()
	if flag.NArg() > 0 {
		return opt, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if opt.open311, opt.two, opt.sms, err = parsePhases(*phases); err != nil {
		return opt, err
	}
	// pgbench -T takes whole seconds; both sides run exactly as long.
	opt.duration = roundUpSeconds(opt.duration)
	opt.warmup = roundUpSeconds(opt.warmup)
	if opt.duration <= 0 {
		return opt, errors.New("-duration must be positive")
	}
	for f := range strings.SplitSeq(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 150 {
			// The private cluster allows 200 connections; townline's pool
			// takes 32 of them.
			return opt, fmt.Errorf("-clients: %q is not a number from 1 to 150", f)
		}
		opt.clients = append(opt.clients, n)
	}
	return opt, nil
}

// parsePhases reads -phases.
func parsePhases(list string) (open311, two, sms bool, err error) {
	for f := range strings.SplitSeq(list, ",") {
		switch strings.TrimSpace(f) {
		case "open311":
			open311 = true
		case "two":
			two = true
		case "sms":
			sms = true
		case "":
		default:
			return false, false, false, fmt.Errorf("-phases: unknown phase %q (open311, two, sms)", f)
		}
	}
	if !open311 && !two && !sms {
		return false, false, false, errors.New("-phases: name at least one of open311, two, sms")
	}
	return open311, two, sms, nil
}

func roundUpSeconds(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return (d + time.Second - 1).Truncate(time.Second)
}

// result is one client count's lines of the tables.
type result struct {
	clients int
	pg      pgbenchResult
	pgText  pgbenchResult // the same SQL as a text's intake
	tl      loadResult    // Open311
	two     loadResult    // Open311, two instances
	sms     loadResult    // texts
}

func bench(ctx context.Context, opt options) error {
	// Everything that can be missing is checked before anything starts.
	pgbench, err := findPgbench(opt.pgbench)
	if err != nil {
		return err
	}
	townline, err := filepath.Abs(opt.townline)
	if err == nil {
		_, err = os.Stat(townline)
	}
	if err != nil {
		return fmt.Errorf("-townline: %w (build it with \"make build\")", err)
	}

	dir, err := os.MkdirTemp("", "intakebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// MkdirTemp makes it 0700; as root the private cluster runs as user
	// postgres, which must be able to enter it.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}

	// Cleanup must run even after an interrupt has cancelled ctx.
	cleanupCtx := context.WithoutCancel(ctx)

	dbURL, stopDB, err := openDatabase(ctx, filepath.Join(dir, "pg"))
	if err != nil {
		return err
	}
	defer stopDB()
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect to the database: %w", err)
	}
	defer db.Close(cleanupCtx)
	info, err := readServerInfo(ctx, db)
	if err != nil {
		return err
	}

	// The fake Twilio outlives the server (deferred first, stopped last):
	// sends in flight when the server stops still get their answer.
	var tw *twilio
	var twilioEnv []string
	if opt.sms {
		tw, twilioEnv = startTwilio()
		defer tw.fake.Close()
	}

	// The server first: if it cannot start, no time is spent on pgbench.
	srv, err := startTownline(ctx, townline, dbURL, filepath.Join(dir, "data"), twilioEnv)
	if err != nil {
		return err
	}
	defer srv.stop()
	var srv2 *server
	if opt.two {
		// A second instance on the same cluster, as behind a load balancer.
		if srv2, err = startTownline(ctx, townline, dbURL, filepath.Join(dir, "data2"), twilioEnv); err != nil {
			return err
		}
		defer srv2.stop()
	}
	if tw != nil {
		tw.webhook = srv.base + "/twilio/sms"
		if err := tw.skipUsedNumbers(ctx, db); err != nil {
			return err
		}
	}

	script, err := createBenchTables(ctx, db, dir)
	if err != nil {
		return err
	}
	defer dropBenchTables(cleanupCtx, db)

	var results []result
	for _, n := range opt.clients {
		r := result{clients: n}
		// Each run starts from the same state: no checkpoint or leftover
		// job work of the previous run eating into it.
		quiesce(ctx, db, srv)
		if r.pg, err = runPgbench(ctx, pgbench, dbURL, script, n, opt.warmup, opt.duration); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "intakebench: %d clients: pgbench %.1f tps\n", n, r.pg.tps)
		if opt.open311 {
			quiesce(ctx, db, srv)
			newSender, closeIdle := open311Clients([]*server{srv}, n)
			r.tl, err = runLoad(ctx, []*server{srv}, n, opt.warmup, opt.duration, newSender)
			closeIdle()
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "intakebench: %d clients: townline %.1f req/s, %d errors\n", n, r.tl.throughput(), r.tl.errors)
		}
		if opt.two {
			quiesce(ctx, db, srv, srv2)
			newSender, closeIdle := open311Clients([]*server{srv, srv2}, n)
			r.two, err = runLoad(ctx, []*server{srv, srv2}, n, opt.warmup, opt.duration, newSender)
			closeIdle()
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "intakebench: %d clients, two instances: townline %.1f req/s, %d errors\n", n, r.two.throughput(), r.two.errors)
		}
		if opt.sms {
			quiesce(ctx, db, srv)
			if r.pgText, err = runPgbench(ctx, pgbench, dbURL, filepath.Join(dir, "text.sql"), n, opt.warmup, opt.duration); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "intakebench: %d clients: pgbench running a text's SQL %.1f tps\n", n, r.pgText.tps)
			quiesce(ctx, db, srv)
			if r.sms, err = tw.runSMS(ctx, srv, n, opt.warmup, opt.duration); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "intakebench: %d senders: townline %.1f texts/s, %d errors\n", n, r.sms.throughput(), r.sms.errors)
		}
		results = append(results, r)
	}
	var confirm confirmResult
	if opt.sms {
		quiesce(ctx, db, srv)
		if confirm, err = tw.runConfirmations(ctx, confirmRate, opt.duration); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "intakebench: %d texts/s: confirmation p99 %s, %d missing\n",
			confirmRate, ms(confirm.percentile(99)), confirm.missing)
	}

	printTable(os.Stdout, info, opt, results, confirm, srv.peakRSS())
	for _, r := range results {
		if opt.open311 && r.tl.ok() == 0 {
			return fmt.Errorf("with %d clients every townline request failed", r.clients)
		}
		if opt.two && r.two.ok() == 0 {
			return fmt.Errorf("with %d clients every request to two instances failed", r.clients)
		}
		if opt.sms && r.sms.ok() == 0 {
			return fmt.Errorf("with %d senders every text failed", r.clients)
		}
	}
	if opt.sms && confirm.sent == 0 {
		return fmt.Errorf("at %d texts/s every text failed", confirmRate)
	}
	return nil
}

// openDatabase returns DATABASE_URL, or starts a private cluster in dir.
func openDatabase(ctx context.Context, dir string) (url string, stop func(), err error) {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u, func() {}, nil
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// localpg's defaults are durable (fsync on); synchronous_commit is
	// named so that the comparison stays one of committed-to-disk
	// transactions whatever the defaults become.
	c, err := localpg.Start(ctx, dir, logger, "synchronous_commit=on")
	if err != nil {
		return "", nil, err
	}
	stop = func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "intakebench: %v\n", err)
		}
	}
	return c.URL("townline"), stop, nil
}

type serverInfo struct {
	version, fsync, syncCommit string
}

func readServerInfo(ctx context.Context, db *pgx.Conn) (serverInfo, error) {
	var i serverInfo
	err := db.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('fsync'),
		current_setting('synchronous_commit')`).Scan(&i.version, &i.fsync, &i.syncCommit)
	if err != nil {
		return i, fmt.Errorf("read the server settings: %w", err)
	}
	// "15.18 (Debian 15.18-0+deb12u1)": the number is enough.
	i.version, _, _ = strings.Cut(i.version, " ")
	return i, nil
}

func printTable(out io.Writer, info serverInfo, opt options, results []result, confirm confirmResult, peakRSS int64) {
	fmt.Fprintf(out, "\nintake benchmark (same cluster, same run; PostgreSQL %s, fsync %s, synchronous_commit %s)\n",
		info.version, info.fsync, info.syncCommit)
	if opt.open311 {
		tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
		fmt.Fprintln(tw, "clients\ttownline req/s\tp50\tp99\terrors\tpgbench tps\tpgbench lat\tratio\tserve CPU/req\tRSS max")
		for _, r := range results {
			fmt.Fprintf(tw, "%d\t%.1f\t%s\t%s\t%d\t%.1f\t%.1fms\t%.2f\t%s\t%s\n",
				r.clients, r.tl.throughput(), ms(r.tl.percentile(50)), ms(r.tl.percentile(99)), r.tl.errors,
				r.pg.tps, r.pg.latencyMs, ratio(r.tl, r.pg), ms(r.tl.cpuPerReq), mib(r.tl.maxRSS))
		}
		tw.Flush()
		printFailures(out, results, "clients", "townline requests", func(r result) loadResult { return r.tl })
		printRatioTarget(out, results, "client", func(r result) loadResult { return r.tl })
	}
	if opt.two {
		fmt.Fprintln(out, "\ntwo instances on the cluster (the same Open311 clients, taking turns at two \"townline serve\")")
		tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
		fmt.Fprintln(tw, "clients\treq/s\tp50\tp99\terrors\tpgbench tps\tratio\ttwo/one\tserve CPU/req")
		for _, r := range results {
			twoOverOne := "-"
			if opt.open311 && r.tl.throughput() > 0 {
				twoOverOne = fmt.Sprintf("%.2f", r.two.throughput()/r.tl.throughput())
			}
			fmt.Fprintf(tw, "%d\t%.1f\t%s\t%s\t%d\t%.1f\t%.2f\t%s\t%s\n", r.clients, r.two.throughput(), ms(r.two.percentile(50)),
				ms(r.two.percentile(99)), r.two.errors, r.pg.tps, ratio(r.two, r.pg), twoOverOne, ms(r.two.cpuPerReq))
		}
		tw.Flush()
		printFailures(out, results, "clients", "requests to two instances", func(r result) loadResult { return r.two })
	}
	if opt.sms {
		fmt.Fprintln(out, "\ntext messages (signed Twilio webhooks into the same server and database)")
		tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
		fmt.Fprintln(tw, "senders\ttexts/s\tp50\tp99\terrors\tpgbench tps\tratio\tpgbench same SQL\tratio\tserve CPU/text\tRSS max")
		for _, r := range results {
			fmt.Fprintf(tw, "%d\t%.1f\t%s\t%s\t%d\t%.1f\t%.2f\t%.1f\t%.2f\t%s\t%s\n",
				r.clients, r.sms.throughput(), ms(r.sms.percentile(50)), ms(r.sms.percentile(99)), r.sms.errors,
				r.pg.tps, ratio(r.sms, r.pg), r.pgText.tps, ratio(r.sms, r.pgText), ms(r.sms.cpuPerReq), mib(r.sms.maxRSS))
		}
		tw.Flush()
		fmt.Fprintln(out, "(pgbench: the two-insert transaction; pgbench same SQL: the statements one text's intake commits, on townline's tables)")
		printFailures(out, results, "senders", "texts", func(r result) loadResult { return r.sms })
		printRatioTarget(out, results, "sender", func(r result) loadResult { return r.sms })
		met := true
		for _, r := range results {
			met = met && ratio(r.sms, r.pgText) >= target
		}
		fmt.Fprintf(out, "target against the same SQL: ratio >= %.2f at every sender count -> %s\n", target, verdict(met))
		fmt.Fprintf(out, "confirmation delay at %d texts/s: p50 %s  p99 %s  (n=%d, missing %d) -> target p99 < %v: %s\n",
			confirm.rate, ms(confirm.percentile(50)), ms(confirm.percentile(99)), len(confirm.delays), confirm.missing,
			confirmTarget, verdict(confirm.met()))
		if confirm.errors > 0 {
			fmt.Fprintf(out, "at %d texts/s: %d texts failed; the first: %s\n", confirm.rate, confirm.errors, confirm.firstError)
		}
	}
	fmt.Fprintf(out, "townline serve peak RSS (VmHWM): %s\n", mib(peakRSS))
}

// ratio is the townline requests per second per pgbench transaction.
func ratio(l loadResult, pg pgbenchResult) float64 {
	if pg.tps <= 0 {
		return 0
	}
	return l.throughput() / pg.tps
}

func printFailures(out io.Writer, results []result, unit, what string, load func(result) loadResult) {
	for _, r := range results {
		if l := load(r); l.errors > 0 {
			fmt.Fprintf(out, "%d %s: %d %s failed; the first: %s\n", r.clients, unit, l.errors, what, l.firstError)
		}
	}
}

func printRatioTarget(out io.Writer, results []result, unit string, load func(result) loadResult) {
	met := true
	for _, r := range results {
		met = met && ratio(load(r), r.pg) >= target
	}
	fmt.Fprintf(out, "target: ratio >= %.2f at every %s count -> %s\n", target, unit, verdict(met))
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "NOT met"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func mib(kb int64) string {
	if kb <= 0 {
		return "-"
	}
	return fmt.Sprintf("%d MiB", (kb+512)/1024)
}
