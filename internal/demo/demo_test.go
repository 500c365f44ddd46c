package demo

import (
	"context"
	"flag"
	"regexp"
	"strings"
	"sync"
	"testing"

	"townline/internal/config"
	"townline/internal/testenv"
)

// syncBuffer is the demo's screen: the phone prints answers as they come.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run runs the demo on the database at dbURL as townline demo runs it,
// with the default phone and email, script for the person's typing, and
// returns the screen.
func run(t *testing.T, dbURL, script string) (string, error) {
	t.Helper()
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	flags, err := config.Register(fs)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--database-url", dbURL, "--data", t.TempDir(), "--addr", "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := flags.Config()
	if err != nil {
		t.Fatal(err)
	}
	var screen syncBuffer
	err = Run(t.Context(), Config{Townline: cfg, Phone: ResidentPhone, Email: ResidentMail}, strings.NewReader(script), &screen)
	return screen.String(), err
}

func TestDemoScripted(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	db := testenv.URL(pool)
	script := "big pothole at montgomery and 5th\n/photo\nhere it is\n/from +15305550101\nSTATUS\n/quit\n"
	out, err := run(t, db, script)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^you> big pothole at montgomery and 5th\ncity> .*#\d+.*http://127\.0\.0\.1:\d+/requests/\d+$`),
		regexp.MustCompile(`(?m)^you> here it is\ncity> .*#\d+`),
		regexp.MustCompile(`(?m)^\(now texting from \+15305550101\)\nyou> STATUS\ncity> `),
		regexp.MustCompile(`(?m)^bye$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("screen lacks %s:\n%s", want, out)
		}
	}
	// The photo went through the fake's authenticated media and its CDN.
	var photos int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM attachments WHERE request_id IS NOT NULL`).Scan(&photos); err != nil || photos != 1 {
		t.Errorf("%d photos stored with a request (%v), want 1", photos, err)
	}
}
