package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
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
	"townline/core"
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

// A city with a request and its photo, backed up to a file and restored
// into an empty database and a new data folder: all there, the photo
// too; restored again over it, refused.
func TestBackupAndRestore(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	data := t.TempDir()
	c := testenv.CoreOn(t, pool, func(o *core.Options) { o.DataDir = data; o.Workers = 0 })
	ctx := context.Background()
	var img bytes.Buffer
	png.Encode(&img, image.NewGray(image.Rect(0, 0, 4, 4)))
	photo := bytes.Clone(img.Bytes())
	blob, err := c.Blobs().Put(&img)
	if err != nil {
		t.Fatal(err)
	}
	lat, lng := 39.5138, -121.5564
	r, err := c.CreateRequest(ctx, core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole", Description: "Backed up",
		Lat: &lat, Lng: &lng, Photos: []core.Upload{{Blob: blob, Filename: "hole.png"}}})
	if err != nil {
		t.Fatal(err)
	}
	runIn := func(db, data string, args ...string) (string, string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+db, "TOWNLINE_DATA="+data)
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		return o.String(), e.String(), err
	}
	file := filepath.Join(t.TempDir(), "oroville.backup")
	if out, stderr, err := runIn(testenv.URL(pool), data, "backup", file); err != nil || !strings.Contains(out, "and 1 files") {
		t.Fatalf("backup: %v\n%s\n%s", err, out, stderr)
	}

	fresh, data2 := testenv.EmptyPool(t), t.TempDir()
	if out, stderr, err := runIn(testenv.URL(fresh), data2, "restore", file); err != nil || !strings.Contains(out, "1 files restored") {
		t.Fatalf("restore: %v\n%s\n%s", err, out, stderr)
	}
	c2 := testenv.CoreOn(t, fresh, func(o *core.Options) { o.DataDir = data2; o.Workers = 0 })
	got, err := c2.Request(ctx, r.ID)
	if err != nil || got.Description != "Backed up" || got.PhotoID == 0 {
		t.Fatalf("the restored request: %+v, %v", got, err)
	}
	a, err := c2.PublicPhoto(ctx, got.PhotoID)
	if err != nil {
		t.Fatal(err)
	}
	f, err := c2.Blobs().Open(a.SHA256)
	if err != nil {
		t.Fatalf("the restored photo: %v", err)
	}
	restored, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(restored, photo) {
		t.Error("the restored photo differs from the one filed")
	}
	if _, stderr, err := runIn(testenv.URL(fresh), data2, "restore", file); err == nil || !strings.Contains(stderr, "already holds tables") {
		t.Errorf("a restore over a city: %v %s", err, stderr)
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
