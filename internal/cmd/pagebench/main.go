// Command pagebench times the staff workspace's pages at a big city's
// size, beside a plain SELECT 1 round trip measured in the same run:
//
//	go run ./internal/cmd/pagebench [-requests 1000000] [-runs 60]
//
// It needs DATABASE_URL (`make bench` runs it under a throwaway cluster),
// makes a database of its own there, fills it with -requests made-up
// requests (seed.sql: three or four messages and one or two history
// entries each), then serves the workspace in this process and asks for
// every inbox queue, each filter, sort and kind of search, a later page,
// and request pages, -runs times each, as a dispatcher and as Public
// Works staff. It prints each page's p50 and p99 server time and their
// ratio to SELECT 1's p50. The target is 50 ms for every page; missing it
// is information, not a failure.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"townline/channels/staff"
	"townline/core"
	"townline/internal/app"
	"townline/migrations"
)

//go:embed seed.sql
var seedSQL string

const (
	dbName   = "townline_pagebench"
	password = "page bench password"
	target   = 50 * time.Millisecond
)

func main() {
	requests := flag.Int("requests", 1_000_000, "made-up requests in the database")
	runs := flag.Int("runs", 60, "times each page is asked for")
	flag.Parse()
	if err := run(context.Background(), *requests, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "pagebench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, requests, runs int) error {
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		return errors.New("DATABASE_URL is not set: run it with `make bench`, or under bin/withpg")
	}
	pool, err := freshDatabase(ctx, base)
	if err != nil {
		return err
	}
	defer pool.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := migrations.Apply(ctx, pool, log); err != nil {
		return err
	}
	city, err := core.ReadCity("")
	if err != nil {
		return err
	}
	c, err := core.New(ctx, pool, core.Options{City: city, PublicURL: "http://311.test", Logger: log})
	if err != nil {
		return err
	}
	for i := range 40 {
		dept := city.Departments[i%len(city.Departments)].Code
		if _, err := c.AddUser(ctx, fmt.Sprintf("crew%d@oroville.test", i), "staff", dept, password); err != nil {
			return err
		}
	}
	desk, err := c.AddUser(ctx, "desk@oroville.test", "dispatcher", "", password)
	if err != nil {
		return err
	}
	if _, err := c.AddUser(ctx, "roads@oroville.test", "staff", "public-works", password); err != nil {
		return err
	}
	start := time.Now()
	if err := seed(ctx, pool, requests); err != nil {
		return err
	}
	var messages int64
	pool.QueryRow(ctx, "SELECT count(*) FROM messages").Scan(&messages)
	fmt.Printf("seeded %d requests and %d messages in %s\n\n", requests, messages, time.Since(start).Round(time.Second))

	mux := http.NewServeMux()
	staff.New(c, log, staff.Config{}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var some, open, overdue int64
	pool.QueryRow(ctx, `SELECT (SELECT id FROM requests ORDER BY id DESC LIMIT 1 OFFSET 5000),
		(SELECT id FROM requests WHERE status <> 'closed' AND department_code = 'public-works' ORDER BY id LIMIT 1),
		(SELECT count(*) FROM requests WHERE status <> 'closed' AND expected_at < now())`).Scan(&some, &open, &overdue)
	type page struct{ who, name, path string }
	pages := []page{
		{"dispatcher", "queue: needs triage", "/staff/?queue=triage"},
		{"dispatcher", "queue: unassigned", "/staff/?queue=unassigned"},
		{"dispatcher", "queue: mine", "/staff/?queue=mine"},
		{"dispatcher", "queue: flagged senders", "/staff/?queue=flagged"},
		{"dispatcher", "queue: all", "/staff/?queue=all"},
		{"dispatcher", "all, oldest first", "/staff/?queue=all&sort=oldest"},
		{"dispatcher", "all, due soonest", "/staff/?queue=all&sort=due"},
		{"dispatcher", "all, closed", "/staff/?queue=all&status=closed"},
		{"dispatcher", "all, one service", "/staff/?queue=all&service=graffiti-public"},
		{"dispatcher", "all, by text", "/staff/?queue=all&channel=sms"},
		{"dispatcher", "all, overdue", "/staff/?queue=all&overdue=1"},
		{"dispatcher", "all, two weeks' range", "/staff/?queue=all&service=pothole&channel=voice&status=closed"},
		{"dispatcher", "search: a common word", "/staff/?queue=all&q=pothole"},
		{"dispatcher", "search: a phrase", "/staff/?queue=all&q=%22deep+hole%22"},
		{"dispatcher", "search: a rare word", "/staff/?queue=all&q=report+" + fmt.Sprint(some-1000)},
		{"dispatcher", "search: Spanish", "/staff/?queue=all&q=baches"},
		{"dispatcher", "search: a number", fmt.Sprintf("/staff/?queue=all&q=%%23%d", some)},
		{"dispatcher", "request page", fmt.Sprintf("/staff/requests/%d", some)},
		{"staff", "queue: my departments", "/staff/?queue=departments"},
		{"staff", "queue: all", "/staff/?queue=all"},
		{"staff", "departments, due soonest", "/staff/?queue=departments&sort=due"},
		{"staff", "search: a common word", "/staff/?queue=all&q=graffiti"},
		{"staff", "request page", fmt.Sprintf("/staff/requests/%d", open)},
	}
	// A later page: the "next" link of the first.
	clients := map[string]*http.Client{}
	for who, email := range map[string]string{"dispatcher": desk.Email, "staff": "roads@oroville.test"} {
		if clients[who], err = signIn(srv.URL, email); err != nil {
			return err
		}
	}
	if next, err := nextLink(clients["dispatcher"], srv.URL+"/staff/?queue=all"); err != nil {
		return err
	} else if next != "" {
		pages = append(pages, page{"dispatcher", "all, a later page", next})
	}

	selectOne, err := timeIt(runs, func() error {
		var one int
		return pool.QueryRow(ctx, "SELECT 1").Scan(&one)
	})
	if err != nil {
		return err
	}
	fmt.Printf("%d requests (%d open and overdue), %d runs of each page; target %s\n\n", requests, overdue, runs, target)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "page\twho\tp50\tp99\tp50 / SELECT 1\t")
	fmt.Fprintf(tw, "SELECT 1\t\t%s\t%s\t1\t\n", ms(selectOne[0]), ms(selectOne[1]))
	missed := 0
	for _, p := range pages {
		cl := clients[p.who]
		took, err := timeIt(runs, func() error { return fetch(cl, srv.URL+p.path) })
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		mark := ""
		if took[0] > target {
			mark, missed = " (over)", missed+1
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%.0f\t\n", p.name, mark, p.who, ms(took[0]), ms(took[1]),
			float64(took[0])/float64(selectOne[0]))
	}
	// The lookup every placed report makes as it is filed: an open request
	// of its service within 50 m, the same issue. At the places of open
	// potholes (found) and beside them (not).
	var spots [][2]float64
	rows, err := pool.Query(ctx, `SELECT lat, lng FROM requests WHERE status <> 'closed' AND service_code = 'pothole'
		AND lat IS NOT NULL ORDER BY id DESC LIMIT 50`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var p [2]float64
		if err := rows.Scan(&p[0], &p[1]); err != nil {
			return err
		}
		spots = append(spots, p, [2]float64{p[0] + 0.0003, p[1]})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	i := 0
	took, err := timeIt(runs, func() error {
		p := spots[i%len(spots)]
		i++
		_, err := c.SameIssue(ctx, "pothole", p[0], p[1])
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "same-issue lookup (filing)\t\t%s\t%s\t%.0f\t\n", ms(took[0]), ms(took[1]), float64(took[0])/float64(selectOne[0]))
	tw.Flush()
	fmt.Printf("\n%d of %d pages over %s at p50\n", missed, len(pages), target)
	return nil
}

// freshDatabase makes the bench's own database, empty, in DATABASE_URL's
// cluster.
func freshDatabase(ctx context.Context, base string) (*pgxpool.Pool, error) {
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return nil, err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+dbName+" WITH (FORCE)"); err != nil {
		return nil, err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+dbName); err != nil {
		return nil, err
	}
	cfg, err := app.PoolConfig(base) // as townline serve connects
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.Database = dbName
	return pgxpool.NewWithConfig(ctx, cfg)
}

// seed runs seed.sql with the indexes (all but the constraints') dropped
// and the live-update triggers off, as a bulk load does, then puts the
// indexes back as the migrations made them and analyzes.
func seed(ctx context.Context, pool *pgxpool.Pool, requests int) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	rows, err := conn.Query(ctx, `SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
		WHERE indrelid IN ('requests'::regclass, 'messages'::regclass, 'request_events'::regclass)
		AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)`)
	if err != nil {
		return err
	}
	defs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Name, Def string }])
	if err != nil {
		return err
	}
	for _, d := range defs {
		if _, err := conn.Exec(ctx, "DROP INDEX "+d.Name); err != nil {
			return err
		}
	}
	if _, err := conn.Exec(ctx, `SET maintenance_work_mem = '512MB';
		ALTER TABLE requests DISABLE TRIGGER requests_changed; ALTER TABLE messages DISABLE TRIGGER messages_changed`); err != nil {
		return err
	}
	for _, step := range strings.Split(seedSQL, "\n-- step:")[1:] {
		name, stmt, _ := strings.Cut(step, "\n")
		var args []any
		if strings.Contains(stmt, "$1") {
			args = append(args, requests)
		}
		if _, err := conn.Exec(ctx, stmt, args...); err != nil {
			return fmt.Errorf("seed %s: %w", strings.TrimSpace(name), err)
		}
	}
	for _, d := range defs {
		if _, err := conn.Exec(ctx, d.Def); err != nil {
			return err
		}
	}
	if _, err := conn.Exec(ctx, `ALTER TABLE requests ENABLE TRIGGER requests_changed;
		ALTER TABLE messages ENABLE TRIGGER messages_changed`); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "VACUUM ANALYZE")
	return err
}

// timeIt runs f runs times, after a few unmeasured runs, and returns the
// p50 and p99 of its durations.
func timeIt(runs int, f func() error) ([2]time.Duration, error) {
	took := make([]time.Duration, 0, runs)
	for i := range runs + 3 {
		start := time.Now()
		if err := f(); err != nil {
			return [2]time.Duration{}, err
		}
		if i >= 3 {
			took = append(took, time.Since(start))
		}
	}
	slices.Sort(took)
	return [2]time.Duration{took[len(took)/2], took[(len(took)*99)/100]}, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func signIn(base, email string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	resp, err := cl.PostForm(base+"/staff/login", url.Values{"email": {email}, "password": {password}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/staff/" {
		return nil, fmt.Errorf("sign-in as %s ended at %s", email, resp.Request.URL)
	}
	return cl, nil
}

func fetch(cl *http.Client, u string) error {
	resp, err := cl.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}

// nextLink reads a page's "next page" link.
func nextLink(cl *http.Client, u string) (string, error) {
	resp, err := cl.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	_, after, ok := strings.Cut(string(body), `<a href="`)
	for ok {
		var link string
		link, after, _ = strings.Cut(after, `"`)
		if strings.HasPrefix(after, ` rel="next"`) {
			return strings.ReplaceAll(link, "&amp;", "&"), nil
		}
		_, after, ok = strings.Cut(after, `<a href="`)
	}
	return "", nil
}
