// Command importbench times `townline import` of a city's history beside
// PostgreSQL's COPY of the same rows into a bare table, in the same run:
//
//	go run ./internal/cmd/importbench -townline bin/townline [-rows 100000]
//
// It needs DATABASE_URL (`make bench` runs it under a throwaway cluster)
// and makes a database of its own there. The rows are three years of
// made-up Oroville requests, as a CSV export: every service, most placed
// by coordinates near the sample's address points and the rest by an
// address alone, most of them closed. The import classifies, places,
// routes, looks for the same issue as of each row's time and writes each
// row with its history in a transaction of its own; COPY only stores the
// text. Their ratio is what all that costs. The file is then imported
// again, which must file nothing.
package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"townline/cities"
	"townline/core"
)

const dbName = "townline_importbench"

func main() {
	townline := flag.String("townline", "bin/townline", "the townline binary")
	rows := flag.Int("rows", 100_000, "rows in the history")
	flag.Parse()
	if err := run(context.Background(), *townline, *rows); err != nil {
		fmt.Fprintln(os.Stderr, "importbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, townline string, n int) error {
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		return errors.New("DATABASE_URL is not set: run it with `make bench`, or under bin/withpg")
	}
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	for _, q := range []string{"DROP DATABASE IF EXISTS " + dbName + " WITH (FORCE)", "CREATE DATABASE " + dbName} {
		if _, err := admin.Exec(ctx, q); err != nil {
			return err
		}
	}
	cfg := admin.Config().Copy()
	cfg.Database = dbName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	u.Path = "/" + dbName
	dbURL := u.String()

	dir, err := os.MkdirTemp("", "importbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	records, err := history(n)
	if err != nil {
		return err
	}
	file := filepath.Join(dir, "history.csv")
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.WriteAll(records)
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		return err
	}
	townlineCmd := func(args ...string) (string, time.Duration, error) {
		cmd := exec.CommandContext(ctx, townline, args...)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "TOWNLINE_DATA="+dir, "TOWNLINE_LOG_LEVEL=warn")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, os.Stderr
		start := time.Now()
		err := cmd.Run()
		return out.String(), time.Since(start), err
	}
	if out, _, err := townlineCmd("migrate"); err != nil {
		return fmt.Errorf("migrate: %v\n%s", err, out)
	}

	fmt.Printf("importing %d rows (%.1f MB of CSV)\n", n, float64(buf.Len())/1e6)
	out, took, err := townlineCmd("import", file)
	if err != nil {
		return fmt.Errorf("import: %v\n%s", err, out)
	}
	summary := lastLine(out)
	again, tookAgain, err := townlineCmd("import", file)
	if err != nil {
		return fmt.Errorf("import again: %v\n%s", err, again)
	}
	if !strings.Contains(again, " 0 filed,") {
		return fmt.Errorf("the second import filed rows: %s", lastLine(again))
	}
	var joined, placed int
	conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE duplicate_of IS NOT NULL), count(*) FILTER (WHERE lat IS NOT NULL)
		FROM requests`).Scan(&joined, &placed)

	// The same rows, as text, into a bare table: the floor.
	if _, err := conn.Exec(ctx, `CREATE TABLE bare (id text, service_code text, description text, lat text, long text,
		address text, status text, requested_datetime text, updated_datetime text, status_notes text)`); err != nil {
		return err
	}
	copyRows := make([][]any, 0, n)
	for _, r := range records[1:] {
		row := make([]any, len(r))
		for i, v := range r {
			row[i] = v
		}
		copyRows = append(copyRows, row)
	}
	start := time.Now()
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"bare"}, records[0], pgx.CopyFromRows(copyRows)); err != nil {
		return err
	}
	copyTook := time.Since(start)

	rate := float64(n) / took.Seconds()
	copyRate := float64(n) / copyTook.Seconds()
	fmt.Printf("\nimport benchmark (same cluster, same run)\n")
	fmt.Printf("  townline import   %8.0f rows/s   %s   %s\n", rate, took.Round(time.Millisecond), summary)
	fmt.Printf("  COPY, bare table  %8.0f rows/s   %s\n", copyRate, copyTook.Round(time.Millisecond))
	fmt.Printf("  ratio             %8.4f          (import / COPY)\n", rate/copyRate)
	fmt.Printf("  imported again    %8.0f rows/s   %s   %s\n", float64(n)/tookAgain.Seconds(), tookAgain.Round(time.Millisecond), lastLine(again))
	fmt.Printf("  joined to the same issue as of their time: %d; placed: %d of %d\n", joined, placed, n)
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// history makes n rows of made-up requests over the three years before
// now, a header first.
func history(n int) ([][]string, error) {
	city, err := core.ReadCity("")
	if err != nil {
		return nil, err
	}
	var places struct {
		Features []struct {
			Properties struct{ Number, Street string }
			Geometry   struct {
				Type        string
				Coordinates json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(cities.OrovillePlaces, &places); err != nil {
		return nil, err
	}
	type point struct {
		address  string
		lat, lng float64
	}
	var points []point
	for _, f := range places.Features {
		var xy [2]float64
		if f.Geometry.Type != "Point" || json.Unmarshal(f.Geometry.Coordinates, &xy) != nil {
			continue
		}
		points = append(points, point{f.Properties.Number + " " + f.Properties.Street, xy[1], xy[0]})
	}
	if len(points) == 0 {
		return nil, errors.New("the sample places have no address point")
	}
	words := map[string]string{}
	for _, s := range city.Services {
		words[s.Code] = s.Name
	}
	rnd := rand.New(rand.NewPCG(311, 2026))
	end := time.Now().Add(-time.Hour)
	span := 3 * 365 * 24 * time.Hour
	out := [][]string{{"id", "service_code", "description", "lat", "long", "address", "status", "requested_datetime",
		"updated_datetime", "status_notes"}}
	for i := range n {
		svc := city.Services[rnd.IntN(len(city.Services))]
		p := points[rnd.IntN(len(points))]
		at := end.Add(-time.Duration(rnd.Int64N(int64(span))))
		lat, lng, address := "", "", ""
		if rnd.IntN(5) == 0 {
			address = p.address
		} else {
			// Within some 30 m of the address point.
			lat = strconv.FormatFloat(p.lat+(rnd.Float64()-0.5)*0.0005, 'f', 6, 64)
			lng = strconv.FormatFloat(p.lng+(rnd.Float64()-0.5)*0.0007, 'f', 6, 64)
		}
		status, changed, notes := "open", "", ""
		if at.Before(end.Add(-30*24*time.Hour)) || rnd.IntN(3) == 0 {
			status, notes = "closed", "Done."
			changed = at.Add(time.Duration(1+rnd.IntN(20*24)) * time.Hour).Format(time.RFC3339)
		}
		out = append(out, []string{"H-" + strconv.Itoa(i+1), svc.Code, words[svc.Code] + " near " + p.address,
			lat, lng, address, status, at.Format(time.RFC3339), changed, notes})
	}
	return out, nil
}
