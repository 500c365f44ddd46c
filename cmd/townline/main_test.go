package main_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"townline/cities"
	"townline/internal/testenv"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "townline-bin")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "townline")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func run(t *testing.T, dbURL string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "TOWNLINE_DATA="+t.TempDir())
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func TestServeRefusesAStaleSchema(t *testing.T) {
	t.Parallel()
	db := testenv.URL(testenv.EmptyPool(t))
	_, stderr, err := run(t, db, "serve", "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(stderr, "townline migrate") {
		t.Fatalf("serve on an empty database: err %v, stderr %q", err, stderr)
	}
	out, stderr, err := run(t, db, "migrate")
	if err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %v %s %s", err, out, stderr)
	}
}

func TestAdminCommands(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	db := testenv.URL(pool)
	out, stderr, err := run(t, db, "apikey", "add", "SeeClickFix", "Oroville")
	if err != nil {
		t.Fatalf("apikey add: %v %s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, "tl_") || strings.Contains(key, " ") {
		t.Errorf("last line %q is not a key alone", key)
	}
	var name string
	if err := pool.QueryRow(context.Background(), "SELECT name FROM api_keys").Scan(&name); err != nil || name != "SeeClickFix Oroville" {
		t.Errorf("stored key name %q, %v", name, err)
	}

	out, stderr, err = run(t, db, "user", "add", "--email", "Clerk@CityOfOroville.org", "--role", "dispatcher")
	if err != nil || !strings.Contains(out, "password: ") {
		t.Fatalf("user add: %v %s %s", err, out, stderr)
	}
	if _, stderr, err = run(t, db, "user", "add", "--email", "x@cityoforoville.org", "--role", "mayor"); err == nil || !strings.Contains(stderr, "role") {
		t.Errorf("unknown role: %v %s", err, stderr)
	}
	if _, stderr, err = run(t, db, "user", "add", "--email", "y@cityoforoville.org", "--role", "staff", "--department", "public-works", "--password", "short"); err == nil || !strings.Contains(stderr, "10 characters") {
		t.Errorf("short password: %v %s", err, stderr)
	}
	// The city's places: loaded, loaded again (replaced, not doubled), and
	// a bad file refused with its line.
	sample := filepath.Join(t.TempDir(), "oroville-places.geojson")
	os.WriteFile(sample, cities.OrovillePlaces, 0o644)
	out, stderr, err = run(t, db, "places", "load", sample)
	m := regexp.MustCompile(`: (\d+) address points, (\d+) street segments \(the city has (\d+) and (\d+) in all\)`).FindStringSubmatch(out)
	if err != nil || m == nil || m[1] == "0" || m[1] != m[3] || m[2] != m[4] {
		t.Fatalf("places load: %v %s %s", err, out, stderr)
	}
	out, stderr, err = run(t, db, "places", "load", sample)
	if err != nil || !strings.Contains(out, "loaded before as it is; nothing to do (the city has "+m[1]+" address points") {
		t.Fatalf("places load again: %v %s %s", err, out, stderr)
	}
	bad := filepath.Join(t.TempDir(), "addresses.csv")
	os.WriteFile(bad, []byte("number,street,lat,lon\n1,A Street,39.51,-121.56\n2,,39.51,-121.56\n"), 0o644)
	if _, stderr, err = run(t, db, "places", "load", bad); err == nil || !strings.Contains(stderr, "addresses.csv: places: line 3") {
		t.Errorf("bad places file: %v %s", err, stderr)
	}
	if _, stderr, err = run(t, db, "frobnicate"); err == nil || !strings.Contains(stderr, "unknown command") {
		t.Errorf("unknown command: %v %s", err, stderr)
	}
}

// A history file is imported with its progress shown, its bad rows
// listed by line, and nothing filed a second time.
func TestImportCommand(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	db := testenv.URL(pool)
	file := filepath.Join(t.TempDir(), "history.csv")
	os.WriteFile(file, []byte("Case,Type,Details,Where,State,Opened\n"+
		"A-1,Pothole,hole,1747 Montgomery St,Open,2025-05-01 08:00\n"+
		"A-2,Graffiti,tags,1735 Montgomery St,Closed,2025-05-02 08:00\n"+
		"A-3,Pothole,when?,1747 Montgomery St,Open,someday\n"), 0o644)
	args := []string{"import", file, "--source", "crm", "--map", "id=Case", "--map", "address=Where", "--map", "status=State"}
	out, stderr, err := run(t, db, args...)
	if err != nil || !strings.Contains(out, "history.csv:4: skipped: requested_datetime") ||
		!strings.Contains(out, "3 rows: 2 filed, 0 imported before, 1 skipped") || !strings.Contains(stderr, "3/3 rows (100%)") {
		t.Fatalf("import: %v\n%s\n%s", err, out, stderr)
	}
	var placed int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM requests WHERE source LIKE 'crm:A-%' AND lat IS NOT NULL").Scan(&placed); err != nil || placed != 2 {
		t.Errorf("%d imported requests placed by their address (%v), want 2", placed, err)
	}
	if out, stderr, err = run(t, db, args...); err != nil || !strings.Contains(out, "3 rows: 0 filed, 2 imported before, 1 skipped") {
		t.Errorf("import again: %v\n%s\n%s", err, out, stderr)
	}
}

func TestBadCityFileStopsStartup(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "city.json")
	os.WriteFile(path, []byte("{\n  \"name\": \"Springfield\",\n  \"mayor\": \"Quimby\"\n}\n"), 0o644)
	_, stderr, err := run(t, "postgres://127.0.0.1:1/none", "serve", "--city", path)
	if err == nil || !strings.Contains(stderr, "city.json:3") {
		t.Errorf("bad city file: err %v, stderr %q, want the file and line", err, stderr)
	}
}

func TestServeAndStop(t *testing.T) {
	t.Parallel()
	db := testenv.URL(testenv.Pool(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--addr", addr)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+db, "TOWNLINE_DATA="+t.TempDir())
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	var resp *http.Response
	waitFor(t, "the server comes up", func() bool {
		resp, err = http.Get("http://" + addr + "/open311/v2/services.json")
		return err == nil
	}, &stderr)
	var services []struct {
		Code string `json:"service_code"`
	}
	json.NewDecoder(resp.Body).Decode(&services)
	resp.Body.Close()
	if len(services) < 10 || services[0].Code == "" {
		t.Errorf("services = %v", services)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve exited with %v after SIGTERM\n%s", err, stderr.String())
	}
}
