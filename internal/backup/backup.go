// Package backup writes the whole city to one file and reads it back: the
// database, dumped by the installed PostgreSQL's pg_dump, photos and files
// included (they are kept in the database), in a tar archive.
package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"townline/internal/localpg"
)

// dumpName is the database's entry in the archive. Backups written while
// photos were kept on disk also hold them, under "blobs/" as they were
// in the data folder.
const dumpName = "townline.dump"

// Counts say what a backup or a restore carried.
type Counts struct {
	DumpBytes int64
	Files     int // files of an older backup, put back on disk
}

// Write dumps the database at url into w.
func Write(ctx context.Context, url string, w io.Writer) (Counts, error) {
	var n Counts
	dump, err := os.CreateTemp("", "townline-dump-*")
	if err != nil {
		return n, err
	}
	defer os.Remove(dump.Name())
	defer dump.Close()
	if err := run(ctx, "pg_dump", dump, "--format=custom", "--no-owner", "--no-privileges", "--dbname="+url); err != nil {
		return n, err
	}
	st, err := dump.Stat()
	if err != nil {
		return n, err
	}
	if _, err := dump.Seek(0, io.SeekStart); err != nil {
		return n, err
	}
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Name: dumpName, Mode: 0o600, Size: st.Size(), ModTime: time.Now()}); err != nil {
		return n, err
	}
	if _, err := io.Copy(tw, dump); err != nil {
		return n, err
	}
	n.DumpBytes = st.Size()
	return n, tw.Close()
}

// Read restores a backup into the database at url, which must hold no
// townline data yet. An older backup's files are put under blobs (a file
// already there, named by its content, is left as it is), for townline
// to move into the database.
func Read(ctx context.Context, url, blobs string, r io.Reader) (Counts, error) {
	var n Counts
	tr := tar.NewReader(r)
	restored := false
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fmt.Errorf("not a townline backup: %w", err)
		}
		switch name := path.Clean(hdr.Name); {
		case name == dumpName:
			dump, err := os.CreateTemp("", "townline-restore-*")
			if err != nil {
				return n, err
			}
			defer os.Remove(dump.Name())
			size, err := io.Copy(dump, tr)
			dump.Close()
			if err != nil {
				return n, err
			}
			if err := run(ctx, "pg_restore", nil, "--no-owner", "--no-privileges", "--exit-on-error",
				"--single-transaction", "--dbname="+url, dump.Name()); err != nil {
				return n, err
			}
			n.DumpBytes, restored = size, true
		case strings.HasPrefix(name, "blobs/") && !strings.Contains(name, ".."):
			dst := filepath.Join(blobs, filepath.FromSlash(strings.TrimPrefix(name, "blobs/")))
			if _, err := os.Stat(dst); err == nil {
				n.Files++
				continue
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return n, err
			}
			f, err := os.CreateTemp(filepath.Dir(dst), ".restore-*")
			if err != nil {
				return n, err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(f.Name(), dst)
			}
			if err != nil {
				os.Remove(f.Name())
				return n, err
			}
			n.Files++
		default:
			return n, fmt.Errorf("not a townline backup: it holds %q", hdr.Name)
		}
	}
	if !restored {
		return n, errors.New("not a townline backup: it holds no database")
	}
	return n, nil
}

// run runs one of PostgreSQL's programs, its output to out, and says what
// it printed when it fails.
func run(ctx context.Context, prog string, out io.Writer, args ...string) error {
	bin, err := localpg.Program(prog)
	if err != nil {
		return fmt.Errorf("%s: %w", prog, err)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v: %s", prog, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
