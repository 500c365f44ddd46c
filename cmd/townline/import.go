package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"townline/internal/importer"
)

// columns is --map FIELD=COLUMN, given once per field.
type columns map[string]string

func (c columns) String() string { return fmt.Sprint(map[string]string(c)) }

func (c columns) Set(s string) error {
	field, column, ok := strings.Cut(s, "=")
	if !ok || field == "" || column == "" {
		return fmt.Errorf("%q is not FIELD=COLUMN", s)
	}
	c[strings.TrimSpace(field)] = strings.TrimSpace(column)
	return nil
}

func importHistory(args []string) error {
	fs := flag.NewFlagSet("import", flag.ExitOnError)
	source := fs.String("source", "import", "a name for the system the file comes from: with each row's id, it stops a second import")
	cols := columns{}
	fs.Var(cols, "map", "FIELD=COLUMN: the CSV column holding a field, when the header names it otherwise (repeat for each)")
	mapping := fs.String("mapping", "", "a JSON file of {\"FIELD\": \"COLUMN\", …}, as --map")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: townline import [flags] FILE

Loads a city's history: the requests another 311 system kept, as its Open311
server answers GET requests.json, or a CSV export with a header line. Each
request keeps its times and status, and is classified, placed, routed and
joined to the same issue as of its own time; nobody is told. Importing the
same file again files nothing new. Rows that cannot be filed are listed with
their line and skipped.

CSV columns are matched to these fields by name (or a usual alias):
  %s

Flags:
`, strings.Join(importer.Fields, ", "))
		fs.PrintDefaults()
	}
	file, rest := fileArg(args)
	ctx := context.Background()
	e, c, err := admin(ctx, fs, rest)
	if err != nil {
		return err
	}
	defer e.Close()
	if file = firstOf(file, fs.Args()); file == "" {
		fs.Usage()
		os.Exit(2)
	}
	if err := e.LoadSamplePlaces(ctx, c); err != nil { // as serve would have: the history is placed by them
		return err
	}
	if *mapping != "" {
		data, err := os.ReadFile(*mapping)
		if err != nil {
			return err
		}
		var m map[string]string
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("%s: not a JSON object of FIELD: COLUMN: %v", *mapping, err)
		}
		for f, col := range m {
			if _, given := cols[f]; !given {
				cols[f] = col
			}
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	rows, err := importer.Read(data, importer.Options{Source: *source, Columns: cols, Location: c.City().Location})
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	bar := newBar(os.Stderr, len(rows))
	done, refused, err := importer.Run(ctx, c, rows, bar.show)
	bar.end(done)
	for _, r := range refused {
		fmt.Printf("%s:%d: skipped: %v\n", file, r.Line, r.Err)
	}
	fmt.Printf("%s: %d rows: %d filed, %d imported before, %d skipped\n", file, len(rows), done.Filed, done.Before, done.Refused)
	return err
}

// bar shows an import's progress: a line redrawn in place on a terminal,
// a plain line every few seconds otherwise (a log, a pipe).
type bar struct {
	w        io.Writer
	terminal bool
	total    int
	start    time.Time
	last     time.Time
}

func newBar(f *os.File, total int) *bar {
	st, err := f.Stat()
	now := time.Now()
	return &bar{w: f, terminal: err == nil && st.Mode()&os.ModeCharDevice != 0, total: total, start: now, last: now}
}

func (b *bar) show(p importer.Progress) {
	now := time.Now()
	every := 5 * time.Second
	if b.terminal {
		every = 100 * time.Millisecond
	}
	if now.Sub(b.last) < every {
		return // end shows the last
	}
	b.last = now
	b.print(p, now)
}

func (b *bar) print(p importer.Progress, now time.Time) {
	const width = 30
	frac := 1.0
	if b.total > 0 {
		frac = float64(p.Done) / float64(b.total)
	}
	rate := float64(p.Done) / max(now.Sub(b.start).Seconds(), 1e-3)
	left := "—"
	if rate > 0 {
		left = (time.Duration(float64(b.total-p.Done)/rate) * time.Second).Round(time.Second).String()
	}
	line := fmt.Sprintf("%d/%d rows (%3.0f%%) · %.0f rows/s · %s left", p.Done, b.total, 100*frac, rate, left)
	if b.terminal {
		filled := int(frac * width)
		fmt.Fprintf(b.w, "\r[%s%s] %s\x1b[K", strings.Repeat("█", filled), strings.Repeat(" ", width-filled), line)
		return
	}
	fmt.Fprintln(b.w, line)
}

// end leaves the bar complete, on its own line.
func (b *bar) end(p importer.Progress) {
	b.print(p, time.Now())
	if b.terminal {
		fmt.Fprintln(b.w)
	}
}
