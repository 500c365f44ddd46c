package backup_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"townline/internal/backup"
	"townline/internal/testenv"
)

// entries lists an archive's entries with their content.
func entries(t *testing.T, archive []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name], _ = io.ReadAll(tr)
	}
}

func archive(t *testing.T, files map[string][]byte) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(content))})
		tw.Write(content)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

// A backup is the database's dump alone (photos are in it), and reads back
// into an empty database; one written when photos were kept on disk puts
// them back in the folder, where they were.
func TestWriteAndRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	if _, err := pool.Exec(ctx, "INSERT INTO blob_content (sha256, content) VALUES (repeat('a', 64), 'a photo')"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := backup.Write(ctx, testenv.URL(pool), &buf)
	if err != nil {
		t.Fatal(err)
	}
	got := entries(t, buf.Bytes())
	if len(got) != 1 || int64(len(got["townline.dump"])) != n.DumpBytes || n.DumpBytes == 0 {
		t.Fatalf("archive holds %d entries, the dump %d bytes; counted %+v", len(got), len(got["townline.dump"]), n)
	}

	fresh := testenv.EmptyPool(t)
	dir := t.TempDir()
	sha := strings.Repeat("b", 64)
	there := filepath.Join(dir, "cc", strings.Repeat("c", 64))
	os.MkdirAll(filepath.Dir(there), 0o750)
	os.WriteFile(there, []byte("already there"), 0o640)
	old := archive(t, map[string][]byte{
		"townline.dump":                       got["townline.dump"],
		"blobs/bb/" + sha:                     []byte("a photo on disk"),
		"blobs/cc/" + strings.Repeat("c", 64): []byte("the same name"),
	})
	n, err = backup.Read(ctx, testenv.URL(fresh), dir, old)
	if err != nil || n.Files != 2 || n.DumpBytes != int64(len(got["townline.dump"])) {
		t.Fatalf("read: %+v, %v", n, err)
	}
	var content []byte
	if err := fresh.QueryRow(ctx, "SELECT content FROM blob_content WHERE sha256 = repeat('a', 64)").Scan(&content); err != nil || string(content) != "a photo" {
		t.Errorf("the photo in the database: %q, %v", content, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "bb", sha)); err != nil || string(b) != "a photo on disk" {
		t.Errorf("the photo of an older backup: %q, %v", b, err)
	}
	if b, _ := os.ReadFile(there); string(b) != "already there" {
		t.Errorf("a file already there became %q", b)
	}
}

func TestReadRefusesWhatIsNotABackup(t *testing.T) {
	t.Parallel()
	for name, files := range map[string]map[string][]byte{
		"it holds no database":     {"blobs/aa/x": []byte("x")},
		`it holds "notes.txt"`:     {"notes.txt": []byte("x")},
		`it holds "blobs/../../x"`: {"blobs/../../x": []byte("x")},
	} {
		_, err := backup.Read(context.Background(), "postgres://127.0.0.1:1/none", t.TempDir(), archive(t, files))
		if err == nil || !strings.Contains(err.Error(), "not a townline backup: "+name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
