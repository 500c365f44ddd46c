package main_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"

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
// into an empty database: all there, the photo too; restored again over
// it, refused.
func TestBackupAndRestore(t *testing.T) {
	t.Parallel()
	pool, id, photo, _ := cityWithPhoto(t)
	file := filepath.Join(t.TempDir(), "oroville.backup")
	if out, stderr, err := runIn(testenv.URL(pool), t.TempDir(), "backup", file); err != nil || !strings.Contains(out, "photos and files included") {
		t.Fatalf("backup: %v\n%s\n%s", err, out, stderr)
	}

	fresh := testenv.EmptyPool(t)
	if out, stderr, err := runIn(testenv.URL(fresh), t.TempDir(), "restore", file); err != nil || !strings.Contains(out, "the database restored") {
		t.Fatalf("restore: %v\n%s\n%s", err, out, stderr)
	}
	hasPhoto(t, fresh, id, photo)
	if _, stderr, err := runIn(testenv.URL(fresh), t.TempDir(), "restore", file); err == nil || !strings.Contains(stderr, "already holds tables") {
		t.Errorf("a restore over a city: %v %s", err, stderr)
	}
}

// A city whose photos are still on disk, from before they were kept in
// the database: its backup is refused until they are moved, and a backup
// written at that time, the photos beside the dump, restores with them.
func TestBackupOfPhotosOnDisk(t *testing.T) {
	t.Parallel()
	pool, id, photo, sha := cityWithPhoto(t)
	ctx := context.Background()
	// As it was: the photo's row in the database, its content on disk.
	if _, err := pool.Exec(ctx, "DELETE FROM blob_content"); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	keepOnDisk(t, data, photo)
	file := filepath.Join(t.TempDir(), "oroville.backup")
	if _, stderr, err := runIn(testenv.URL(pool), data, "backup", file); err == nil || !strings.Contains(stderr, "1 photos and files are still in") ||
		!strings.Contains(stderr, "townline blobs migrate") {
		t.Fatalf("a backup without the photos on disk: %v %s", err, stderr)
	}

	// A backup of that time: the dump, and the photo under blobs/.
	if out, stderr, err := runIn(testenv.URL(pool), t.TempDir(), "backup", file); err != nil {
		t.Fatalf("backup: %v\n%s\n%s", err, out, stderr)
	}
	addToArchive(t, file, "blobs/"+sha[:2]+"/"+sha, photo)
	fresh := testenv.EmptyPool(t)
	if out, stderr, err := runIn(testenv.URL(fresh), t.TempDir(), "restore", file); err != nil || !strings.Contains(out, "1 files moved into the database") {
		t.Fatalf("restore: %v\n%s\n%s", err, out, stderr)
	}
	hasPhoto(t, fresh, id, photo)
}

// townline blobs migrate moves the files on disk into the database, and
// run again finds nothing left.
func TestBlobsMigrateCommand(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	data := t.TempDir()
	photo := grayPNG()
	sha, onDisk := keepOnDisk(t, data, photo)
	out, stderr, err := runIn(testenv.URL(pool), data, "blobs", "migrate")
	if err != nil || !strings.Contains(out, "1 files moved into the database") || !strings.Contains(stderr, "1/1 files moved") ||
		!strings.Contains(stderr, "photos and files are still in the data folder") {
		t.Fatalf("blobs migrate: %v\n%s\n%s", err, out, stderr)
	}
	c := testenv.CoreOn(t, pool, func(o *core.Options) { o.Workers = 0 })
	if got := testenv.ReadBlob(t, c, sha); !bytes.Equal(got, photo) {
		t.Error("the moved photo differs")
	}
	if _, err := os.Stat(onDisk); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the photo is still on disk: %v", err)
	}
	if out, stderr, err := runIn(testenv.URL(pool), data, "blobs", "migrate"); err != nil || !strings.Contains(out, "0 files moved") ||
		strings.Contains(stderr, "still in the data folder") {
		t.Errorf("blobs migrate again: %v %s %s", err, out, stderr)
	}
	if _, stderr, err := runIn(testenv.URL(pool), data, "blobs", "migrate", "--help"); err != nil || !strings.Contains(stderr, "Usage: townline blobs migrate") {
		t.Errorf("blobs migrate --help: %v %s", err, stderr)
	}
}

// With the photos in an S3-compatible store, townline blobs migrate moves
// them there from the database, and a backup says the bucket is to be
// backed up on its own.
func TestBlobsInS3Commands(t *testing.T) {
	t.Parallel()
	pool, id, photo, sha := cityWithPhoto(t)
	s3, client := testenv.S3(t)
	env := []string{"TOWNLINE_BLOBS=s3://townline/photos", "TOWNLINE_S3_ENDPOINT=" + s3.Endpoint,
		"AWS_ACCESS_KEY_ID=" + s3.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3.SecretKey}
	runS3 := func(args ...string) (string, string, error) {
		return runEnv(append(env, "DATABASE_URL="+testenv.URL(pool), "TOWNLINE_DATA="+t.TempDir()), args...)
	}
	out, stderr, err := runS3("blobs", "migrate", "--from", "postgres")
	if err != nil || !strings.Contains(out, "postgres: 1 files moved into s3://townline/photos") {
		t.Fatalf("blobs migrate: %v\n%s\n%s", err, out, stderr)
	}
	if _, err := client.StatObject(context.Background(), "townline", "photos/"+sha, minio.StatObjectOptions{}); err != nil {
		t.Errorf("the photo is not in the bucket: %v", err)
	}
	c := testenv.CoreOn(t, pool, func(o *core.Options) { o.Workers, o.Blobs, o.S3 = 0, "s3://townline/photos", s3 })
	r, err := c.Request(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.PublicPhoto(context.Background(), r.PhotoID)
	if err != nil || !bytes.Equal(testenv.ReadBlob(t, c, a.SHA256), photo) {
		t.Errorf("the moved photo: %v", err)
	}
	file := filepath.Join(t.TempDir(), "oroville.backup")
	if out, stderr, err := runS3("backup", file); err != nil || !strings.Contains(out, "in s3://townline/photos: back it up on its own") {
		t.Errorf("backup: %v\n%s\n%s", err, out, stderr)
	}
}

// cityWithPhoto is a city with one request and its photo.
func cityWithPhoto(t *testing.T) (pool *pgxpool.Pool, id int64, photo []byte, sha string) {
	t.Helper()
	pool = testenv.Pool(t)
	c := testenv.CoreOn(t, pool, func(o *core.Options) { o.Workers = 0 })
	photo = grayPNG()
	blob, err := c.Blobs().Put(bytes.NewReader(photo))
	if err != nil {
		t.Fatal(err)
	}
	lat, lng := 39.5138, -121.5564
	r, err := c.CreateRequest(context.Background(), core.NewRequest{Channel: core.ChannelOpen311, ServiceCode: "pothole",
		Description: "Backed up", Lat: &lat, Lng: &lng, Photos: []core.Upload{{Blob: blob, Filename: "hole.png"}}})
	if err != nil {
		t.Fatal(err)
	}
	return pool, r.ID, photo, blob.SHA256
}

// hasPhoto checks that the request id on pool is there with its photo.
func hasPhoto(t *testing.T, pool *pgxpool.Pool, id int64, photo []byte) {
	t.Helper()
	ctx := context.Background()
	c := testenv.CoreOn(t, pool, func(o *core.Options) { o.Workers = 0 })
	got, err := c.Request(ctx, id)
	if err != nil || got.Description != "Backed up" || got.PhotoID == 0 {
		t.Fatalf("the restored request: %+v, %v", got, err)
	}
	a, err := c.PublicPhoto(ctx, got.PhotoID)
	if err != nil {
		t.Fatal(err)
	}
	if restored := testenv.ReadBlob(t, c, a.SHA256); !bytes.Equal(restored, photo) {
		t.Error("the restored photo differs from the one filed")
	}
}

// keepOnDisk writes a file into a data folder as townline kept files
// before they were kept in the database.
func keepOnDisk(t *testing.T, data string, content []byte) (sha, path string) {
	t.Helper()
	sum := sha256.Sum256(content)
	sha = hex.EncodeToString(sum[:])
	path = filepath.Join(data, "blobs", sha[:2], sha)
	os.MkdirAll(filepath.Dir(path), 0o750)
	if err := os.WriteFile(path, content, 0o640); err != nil {
		t.Fatal(err)
	}
	return sha, path
}

func grayPNG() []byte {
	var img bytes.Buffer
	png.Encode(&img, image.NewGray(image.Rect(0, 0, 4, 4)))
	return img.Bytes()
}

func runIn(db, data string, args ...string) (string, string, error) {
	return runEnv([]string{"DATABASE_URL=" + db, "TOWNLINE_DATA=" + data}, args...)
}

// runEnv runs townline with the environment and env.
func runEnv(env []string, args ...string) (string, string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	return o.String(), e.String(), err
}

// addToArchive appends a file to a backup, as backups held photos when
// they were kept on disk.
func addToArchive(t *testing.T, file, name string, content []byte) {
	t.Helper()
	old, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(old))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		tw.WriteHeader(hdr)
		io.Copy(tw, tr)
	}
	tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(content))})
	tw.Write(content)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
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
