package core_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"townline/core"
	"townline/internal/testenv"
)

// storedFor sets back when files were stored, as if long ago.
func storedFor(t *testing.T, pool *pgxpool.Pool, age string, shas ...string) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), "UPDATE blob_content SET stored_at = now() - $1::interval WHERE sha256 = ANY($2)", age, shas); err != nil {
		t.Fatal(err)
	}
}

func countStored(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM blob_content").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Files live in PostgreSQL: what one instance stored, another on the
// same database reads; the same content twice is one row.
func TestBlobsInPostgreSQL(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	c := testenv.CoreOn(t, pool, func(o *core.Options) { o.Workers = 0 })
	other := testenv.CoreOn(t, pool, func(o *core.Options) { o.Workers = 0 })
	photo := testPNG(t)
	blob, err := c.Blobs().Put(bytes.NewReader(photo))
	if err != nil || blob.ContentType != "image/png" || blob.Size != int64(len(photo)) {
		t.Fatalf("put: %+v, %v", blob, err)
	}
	if got := testenv.ReadBlob(t, other, blob.SHA256); !bytes.Equal(got, photo) {
		t.Error("another instance read other bytes")
	}
	storedFor(t, pool, "2 hours", blob.SHA256)
	if again, err := other.Blobs().Put(bytes.NewReader(photo)); err != nil || again != blob {
		t.Errorf("stored again as %+v, %v", again, err)
	}
	if n := countStored(t, pool); n != 1 {
		t.Errorf("%d rows for one photo stored twice", n)
	}
	// Stored again, it is an upload in flight, not an old orphan.
	if err := c.SweepBlobs(context.Background()); err != nil {
		t.Fatal(err)
	}
	testenv.ReadBlob(t, c, blob.SHA256)
	missing := strings.Repeat("ab", 32)
	if _, err := c.Blobs().Open(missing); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a file never stored: %v", err)
	}
	big := strings.NewReader(strings.Repeat("x", int(c.Blobs().Max())+1))
	if _, err := c.Blobs().Put(big); !errors.Is(err, core.ErrTooLarge) || countStored(t, pool) != 1 {
		t.Errorf("an upload over the limit: %v", err)
	}
	// The limit itself is allowed.
	full := strings.NewReader(strings.Repeat("y", int(c.Blobs().Max())))
	if _, err := c.Blobs().Put(full); err != nil {
		t.Errorf("an upload of exactly the limit: %v", err)
	}
	// An iPhone photo is known by its first twelve bytes, even when they
	// are all there is.
	if heic, err := c.Blobs().Put(strings.NewReader("\x00\x00\x00\x18ftypheic")); err != nil || heic.ContentType != "image/heic" {
		t.Errorf("a HEIC header alone: %+v, %v", heic, err)
	}
}

func TestSweepRemovesOnlyUnreferencedOldFiles(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	c := testenv.CoreOn(t, pool, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	orphan, err := c.Blobs().Put(strings.NewReader("refused upload"))
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := c.Blobs().Put(strings.NewReader("upload in flight"))
	photo, _ := c.Blobs().Put(bytes.NewReader(testPNG(t)))
	in := newPothole("")
	in.Photos = []core.Upload{{Blob: photo}}
	if _, err := c.CreateRequest(ctx, in); err != nil {
		t.Fatal(err)
	}
	storedFor(t, pool, "61 minutes", orphan.SHA256, photo.SHA256)
	storedFor(t, pool, "59 minutes", fresh.SHA256)
	// More old orphans than one page of the listing, which removing
	// them as it goes must not disturb.
	if _, err := pool.Exec(ctx, `INSERT INTO blob_content (sha256, content, stored_at)
		SELECT encode(sha256(i::text::bytea), 'hex'), i::text::bytea, now() - interval '1 day'
		FROM generate_series(1, 2500) i`); err != nil {
		t.Fatal(err)
	}
	if err := c.SweepBlobs(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Blobs().Open(orphan.SHA256); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("the orphan survived the sweep: %v", err)
	}
	for _, b := range []core.Blob{fresh, photo} {
		testenv.ReadBlob(t, c, b.SHA256)
	}
	if n := countStored(t, pool); n != 2 {
		t.Errorf("%d files left after the sweep, want the 2 kept", n)
	}
}

// keepOnDisk writes content into a folder as townline kept files before:
// under the first two characters of its name.
func keepOnDisk(t *testing.T, dir, sha string, content []byte) string {
	t.Helper()
	path := filepath.Join(dir, sha[:2], sha)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, content, 0o640); err != nil {
		t.Fatal(err)
	}
	return path
}

func shaOf(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// The folder files were kept in moves into the store: every file, once;
// one already stored (a run stopped between storing and removing it) is
// not doubled; a damaged one stops the move and stays, and the run
// after it is mended moves only what is left.
func TestMoveBlobsFromDisk(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	c := testenv.CoreOn(t, pool, func(o *core.Options) { o.Workers = 0 })
	ctx := context.Background()
	dir := t.TempDir()
	files := [][]byte{testPNG(t), []byte("a raw email"), []byte("a PDF")}
	for _, f := range files {
		keepOnDisk(t, dir, shaOf(f), f)
	}
	half, err := c.Blobs().Put(bytes.NewReader(files[1])) // stored, not yet removed
	if err != nil {
		t.Fatal(err)
	}
	inFlight := filepath.Join(dir, ".upload-123")
	os.WriteFile(inFlight, []byte("cut short"), 0o640)
	damaged := keepOnDisk(t, dir, strings.Repeat("f", 64), []byte("not what its name says"))

	var calls [][2]int
	progress := func(moved, total int) { calls = append(calls, [2]int{moved, total}) }
	err = c.MoveBlobs(ctx, dir, progress)
	if err == nil || !strings.Contains(err.Error(), "not what its name says") {
		t.Fatalf("a damaged file: %v", err)
	}
	if _, err := os.Stat(damaged); err != nil {
		t.Errorf("the damaged file is gone: %v", err)
	}
	if len(calls) != 3 || calls[2] != [2]int{3, 4} {
		t.Errorf("progress %v, want 3 of 4 moved before the damaged one", calls)
	}
	os.Remove(damaged)

	calls = nil
	if err := c.MoveBlobs(ctx, dir, progress); err != nil || len(calls) != 0 {
		t.Fatalf("the run after: %v, progress %v (nothing was left)", err, calls)
	}
	for _, f := range files {
		if got := testenv.ReadBlob(t, c, shaOf(f)); !bytes.Equal(got, f) {
			t.Errorf("%s moved as %q", shaOf(f), got)
		}
		if _, err := os.Stat(filepath.Join(dir, shaOf(f)[:2], shaOf(f))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still in the folder: %v", shaOf(f), err)
		}
	}
	if n := countStored(t, pool); n != len(files) {
		t.Errorf("%d files stored, want %d (%s once)", n, len(files), half.SHA256)
	}
	if _, err := os.Stat(inFlight); err != nil {
		t.Errorf("an upload cut short was touched: %v", err)
	}
	if err := c.MoveBlobs(ctx, filepath.Join(dir, "none"), progress); err != nil || len(calls) != 0 {
		t.Errorf("no folder: %v, %v", err, calls)
	}
}
