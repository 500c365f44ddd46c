package core

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrTooLarge is returned when an upload is over the configured limit.
var ErrTooLarge = errors.New("file is too large")

// Blob is a stored file, named by the SHA-256 of its content.
type Blob struct {
	SHA256      string
	ContentType string // sniffed from the content, never taken from the sender
	Size        int64
}

// BlobReader is a stored file being read: served with its ranges
// (http.ServeContent seeks) and read at offsets (a HEIC photo's boxes).
type BlobReader interface {
	io.ReadSeekCloser
	io.ReaderAt
}

// blobSource is where stored files can be read, listed and removed: a
// store, or the folder on disk photos were kept in before, which
// townline blobs migrate empties.
type blobSource interface {
	open(ctx context.Context, sha string) (BlobReader, error)
	// list calls f with the name of every file and when it was stored.
	list(ctx context.Context, f func(sha string, stored time.Time) error) error
	remove(ctx context.Context, sha string) error
}

// blobStore is where every instance keeps and reads files. put stores
// content under its name; storing the same content again stores nothing
// new but counts as storing it now, so that the sweep does not take an
// upload in flight for an old one nobody kept.
type blobStore interface {
	blobSource
	put(ctx context.Context, sha string, content []byte) error
}

// blobTimeout bounds one store operation. Put and Open take no context,
// so that the channels' calls stay as they were when files were on
// disk; a stuck database or object store still cannot hold a request or
// a job for ever.
const blobTimeout = time.Minute

// Blobs stores files content-addressed: the same photo sent twice is
// stored once, and a file never changes under its name.
type Blobs struct {
	store blobStore
	max   int64
}

// Max is the largest file Put accepts.
func (b *Blobs) Max() int64 { return b.max }

// Put stores r, reading at most the limit plus one byte so that an
// oversized upload is refused without being read whole.
func (b *Blobs) Put(r io.Reader) (Blob, error) { return b.PutLimit(r, b.max) }

// PutLimit is Put with another limit: a whole raw email, kept for staff,
// may be larger than any one photo in it.
func (b *Blobs) PutLimit(r io.Reader, max int64) (Blob, error) {
	content, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return Blob{}, fmt.Errorf("blob store: read upload: %w", err)
	}
	if int64(len(content)) > max {
		return Blob{}, fmt.Errorf("%w: over %d bytes", ErrTooLarge, max)
	}
	head := content[:min(len(content), 512)]
	contentType := http.DetectContentType(head)
	if isHEIC(head) {
		contentType = "image/heic"
	}
	sum := sha256.Sum256(content)
	blob := Blob{SHA256: hex.EncodeToString(sum[:]), ContentType: contentType, Size: int64(len(content))}
	ctx, cancel := context.WithTimeout(context.Background(), blobTimeout)
	defer cancel()
	if err := b.store.put(ctx, blob.SHA256, content); err != nil {
		return Blob{}, fmt.Errorf("blob store: %w", err)
	}
	return blob, nil
}

// Open returns the stored file for a blob.
func (b *Blobs) Open(sha string) (BlobReader, error) {
	if !validSHA(sha) {
		return nil, ErrNotFound
	}
	ctx, cancel := context.WithTimeout(context.Background(), blobTimeout)
	defer cancel()
	return b.store.open(ctx, sha)
}

// validSHA reports whether a name is a SHA-256 in lower-case hex, as
// every stored file's is: anything else is not looked for.
func validSHA(sha string) bool {
	if len(sha) != 64 {
		return false
	}
	for _, c := range []byte(sha) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// storedBlob is a file read whole into memory; nothing to release.
type storedBlob struct{ *bytes.Reader }

func (storedBlob) Close() error { return nil }

// isHEIC recognises the ISO base media file type box of iPhone photos,
// which http.DetectContentType does not know.
func isHEIC(head []byte) bool {
	if len(head) < 12 || string(head[4:8]) != "ftyp" {
		return false
	}
	switch string(head[8:12]) {
	case "heic", "heix", "hevc", "heim", "heis", "mif1", "msf1":
		return true
	}
	return false
}

// IsImage reports whether a sniffed content type is a photo we accept.
func IsImage(contentType string) bool {
	switch contentType {
	case "image/jpeg", "image/png", "image/gif", "image/webp", "image/heic":
		return true
	}
	return false
}

// sweepBlobs removes the files stored more than an hour before now that
// no row refers to: uploads refused, or abandoned before their report
// was filed.
func (c *Core) sweepBlobs(ctx context.Context, now time.Time) error {
	removed := 0 // for the log alone: mutants of its counting survive
	err := c.blobs.store.list(ctx, func(sha string, stored time.Time) error {
		if now.Sub(stored) < time.Hour { // "<=" survives: no test hits the nanosecond
			return nil
		}
		known, err := c.q.BlobKnown(ctx, sha)
		if err != nil {
			return dbErr(err)
		}
		if known {
			return nil
		}
		removed++ // counted for the log line alone: changing it changes no file
		return c.blobs.store.remove(ctx, sha)
	})
	if removed > 0 {
		c.log.Info("removed unreferenced files", "count", removed)
	}
	return err
}

// BlobsDir is the folder of a data folder where photos and files were
// kept before they moved into a store (townline blobs migrate empties
// it), and where restoring a backup of that time puts them.
func BlobsDir(dataDir string) string { return filepath.Join(dataDir, "blobs") }

// diskBlobs is such a folder: each file under a folder named by its
// name's first two characters.
type diskBlobs string

func (d diskBlobs) path(sha string) string { return filepath.Join(string(d), sha[:2], sha) }

func (d diskBlobs) open(_ context.Context, sha string) (BlobReader, error) {
	f, err := os.Open(d.path(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}

// list skips what is not a stored file: an upload that was being
// written (".upload-…") when the server stopped.
func (d diskBlobs) list(_ context.Context, f func(sha string, stored time.Time) error) error {
	err := filepath.WalkDir(string(d), func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !validSHA(e.Name()) {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		return f(e.Name(), info.ModTime())
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no folder: nothing was ever kept there
	}
	return err
}

func (d diskBlobs) remove(_ context.Context, sha string) error { return os.Remove(d.path(sha)) }

// MoveBlobs moves the files kept in from into the store: from is a
// folder where they were kept on disk, or another store ("postgres",
// s3://bucket/prefix). It calls progress after each file with how many
// are moved and how many there were. Each is stored, then removed from
// where it was: a run stopped halfway, run again, moves only what is
// left, and storing a file twice stores it once. A file whose content is
// not what its name says is left where it is, and stops the move.
func (c *Core) MoveBlobs(ctx context.Context, from string, progress func(moved, total int)) error {
	var src blobSource = diskBlobs(from)
	if from == "postgres" || strings.HasPrefix(from, "s3://") {
		if from == cmp.Or(c.opts.Blobs, "postgres") {
			return fmt.Errorf("the files are kept in %s already", from)
		}
		store, err := openBlobStore(ctx, c, from)
		if err != nil {
			return err
		}
		src = store
	}
	var names []string
	err := src.list(ctx, func(sha string, _ time.Time) error {
		names = append(names, sha)
		return nil
	})
	if err != nil {
		return err
	}
	for i, sha := range names {
		if err := moveBlob(ctx, src, c.blobs.store, sha); err != nil {
			return fmt.Errorf("%s: %w", sha, err)
		}
		progress(i+1, len(names))
	}
	return nil
}

// BlobsLeft counts the files still kept in the folder from, which a
// backup of the database does not hold.
func BlobsLeft(from string) (int, error) {
	n := 0
	err := diskBlobs(from).list(context.Background(), func(string, time.Time) error {
		n++
		return nil
	})
	return n, err
}

func moveBlob(ctx context.Context, from blobSource, to blobStore, sha string) error {
	r, err := from.open(ctx, sha)
	if err != nil {
		return err
	}
	content, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		return err
	}
	if sum := sha256.Sum256(content); hex.EncodeToString(sum[:]) != sha {
		return errors.New("the content is not what its name says: damaged, left in place")
	}
	if err := to.put(ctx, sha, content); err != nil {
		return err
	}
	return from.remove(ctx, sha)
}
