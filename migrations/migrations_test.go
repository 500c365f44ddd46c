package migrations_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"townline/internal/testenv"
	"townline/migrations"
)

func TestAllAreNumberedInOrder(t *testing.T) {
	ms, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no migrations embedded")
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].Version <= ms[i-1].Version {
			t.Errorf("%s comes after %s", ms[i].Name, ms[i-1].Name)
		}
	}
}

func TestApplyAndCheck(t *testing.T) {
	t.Parallel()
	pool := testenv.EmptyPool(t)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)

	if err := migrations.Check(ctx, pool); !errors.Is(err, migrations.ErrBehind) {
		t.Fatalf("Check on an empty database = %v, want ErrBehind", err)
	}
	if !strings.Contains(migrations.ErrBehind.Error(), "townline migrate") {
		t.Errorf("ErrBehind does not say what to run: %q", migrations.ErrBehind)
	}
	if err := migrations.Apply(ctx, pool, log); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Check(ctx, pool); err != nil {
		t.Fatalf("Check after Apply = %v", err)
	}
	// Applying again changes nothing.
	if err := migrations.Apply(ctx, pool, log); err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	var tables int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename IN ('requests', 'river_job')`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 2 {
		t.Errorf("found %d of the core and job tables, want 2", tables)
	}

	// A database migrated by a newer townline is refused, not damaged.
	if _, err := pool.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Check(ctx, pool); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Check with a future migration = %v, want a 'newer' error", err)
	}
}

// A failing migration leaves nothing of itself behind.
func TestMigrationIsOneTransaction(t *testing.T) {
	t.Parallel()
	pool := testenv.EmptyPool(t)
	ctx := context.Background()
	// The core tables' names are taken, so 001 fails halfway.
	if _, err := pool.Exec(ctx, `CREATE TABLE requests (id int)`); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Apply(ctx, pool, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("Apply succeeded over a conflicting table")
	}
	var departments bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('departments') IS NOT NULL`).Scan(&departments); err != nil {
		t.Fatal(err)
	}
	if departments {
		t.Error("the failed migration left its first table behind")
	}
}

// Recordings stored before 014 get the URL their audio is fetched from;
// the rest, and running it again, change nothing.
func TestRecordingsGetTheirAudioURL(t *testing.T) {
	t.Parallel()
	pool := testenv.EmptyPool(t)
	ctx := context.Background()
	if err := migrations.Apply(ctx, pool, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	const rec = "Recording: https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
	cases := []struct{ channel, before, after string }{
		{"voice", rec, rec + ".mp3"},
		{"voice", rec + "\n\nDead dog here.", rec + ".mp3\n\nDead dog here."},
		{"voice", rec + ".mp3\n\nAgain.", rec + ".mp3\n\nAgain."},
		{"voice", "Dead dog on Bird St", "Dead dog on Bird St"},
		{"sms", rec, rec}, // a text that looks like one is a text
	}
	for _, c := range cases {
		if _, err := pool.Exec(ctx, `INSERT INTO messages (direction, channel, body, state) VALUES ('in', $1, $2, 'received')`,
			c.channel, c.before); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m migrations.Migration) bool { return m.Version == 14 })
	for range 2 {
		if _, err := pool.Exec(ctx, ms[i].SQL); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := pool.Query(ctx, `SELECT body FROM messages ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if i >= len(got) || got[i] != c.after {
			t.Errorf("%s %q became %q, want %q", c.channel, c.before, got[min(i, len(got)-1)], c.after)
		}
	}
}

// A search with its phrases' word pairs (015) finds exactly what the
// words and phrases alone find, read in English or in Spanish; the pairs
// are there for the index. (Before 015 a phrase could also straddle the
// two readings: "hole deep" found "deep hole".)
func TestPhraseSearchFindsWhatTheWordsFind(t *testing.T) {
	t.Parallel()
	pool := testenv.EmptyPool(t)
	ctx := context.Background()
	if err := migrations.Apply(ctx, pool, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	texts := []string{
		"There is a deep hole on Montgomery St", "Deep, deep hole. Hole is deep.", "a hole, deep and wide",
		"hole in the road by the library", "hole in a big road", "Big deep hole near the well-known road",
		"bache profundo en la calle Bird", "Hay un bache muy profundo", "the dog's bowl is out",
		"streetlight out at 1735 Montgomery", "deep\nhole", "árbol caído sobre la banqueta",
		"", "Hole", "deep holes everywhere", "Holes, deep ones",
	}
	queries := []string{
		`"deep hole"`, `"deep holes"`, `"hole deep"`, `"big deep hole"`, `"hole in the road"`, `"hole in road"`,
		`pothole "deep hole"`, `"deep hole" or "bache profundo"`, `-"deep hole" hole`, `"bache profundo"`,
		`"well-known road"`, `"dog's bowl"`, `deep hole`, `"árbol caído"`, `"1735 montgomery"`, `"deep" "hole"`,
		`"deep hole" "big deep"`, `"the"`, `""`, `'deep hole'`, `"deep hole`,
	}
	for _, q := range queries {
		for _, text := range texts {
			var got, want bool
			if err := pool.QueryRow(ctx, `SELECT search_vector($1, '') @@ search_query($2),
				to_tsvector('english', $1) @@ websearch_to_tsquery('english', $2)
					OR to_tsvector('spanish', $1) @@ websearch_to_tsquery('spanish', $2)`,
				text, q).Scan(&got, &want); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("search %s in %q: %v, the words say %v", q, text, got, want)
			}
		}
	}
	var query string
	if err := pool.QueryRow(ctx, `SELECT search_query('pothole "big deep hole"')::text`).Scan(&query); err != nil {
		t.Fatal(err)
	}
	for _, pair := range []string{"'big deep'", "'deep hole'", "'deep hol'"} {
		if !strings.Contains(query, pair) {
			t.Errorf("the search %s does not ask the index for %s", query, pair)
		}
	}
}
