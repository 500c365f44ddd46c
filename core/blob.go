package core

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
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

// Blobs stores files content-addressed on disk: the same photo sent twice
// is stored once, and a file never changes under its name.
type Blobs struct {
	dir string
	max int64
}

// BlobsDir is where the files of a data folder are kept.
func BlobsDir(dataDir string) string { return filepath.Join(dataDir, "blobs") }

func NewBlobs(dataDir string, max int64) (*Blobs, error) {
	dir := BlobsDir(dataDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	return &Blobs{dir: dir, max: max}, nil
}

// Max is the largest file Put accepts.
func (b *Blobs) Max() int64 { return b.max }

// Put stores r, reading at most the limit plus one byte so that an
// oversized upload is refused without being read whole.
func (b *Blobs) Put(r io.Reader) (Blob, error) { return b.PutLimit(r, b.max) }

// PutLimit is Put with another limit: a whole raw email, kept for staff,
// may be larger than any one photo in it.
func (b *Blobs) PutLimit(r io.Reader, max int64) (Blob, error) {
	tmp, err := os.CreateTemp(b.dir, ".upload-*")
	if err != nil {
		return Blob{}, fmt.Errorf("blob store: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	defer tmp.Close()

	h := sha256.New()
	var head [512]byte
	n, err := io.ReadFull(r, head[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return Blob{}, fmt.Errorf("blob store: read upload: %w", err)
	}
	contentType := http.DetectContentType(head[:n])
	if isHEIC(head[:n]) {
		contentType = "image/heic"
	}
	w := io.MultiWriter(tmp, h)
	if _, err := w.Write(head[:n]); err != nil {
		return Blob{}, fmt.Errorf("blob store: %w", err)
	}
	rest, err := io.Copy(w, io.LimitReader(r, max-int64(n)+1))
	if err != nil {
		return Blob{}, fmt.Errorf("blob store: read upload: %w", err)
	}
	size := int64(n) + rest
	if size > max {
		return Blob{}, fmt.Errorf("%w: over %d bytes", ErrTooLarge, max)
	}
	if err := tmp.Sync(); err != nil {
		return Blob{}, fmt.Errorf("blob store: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	path := b.path(sum)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return Blob{}, fmt.Errorf("blob store: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return Blob{}, fmt.Errorf("blob store: %w", err)
	}
	return Blob{SHA256: sum, ContentType: contentType, Size: size}, nil
}

// Open returns the stored file for a blob.
func (b *Blobs) Open(sha string) (*os.File, error) {
	if len(sha) != 64 {
		return nil, ErrNotFound
	}
	if _, err := hex.DecodeString(sha); err != nil {
		return nil, ErrNotFound
	}
	f, err := os.Open(b.path(sha))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}

func (b *Blobs) path(sha string) string {
	return filepath.Join(b.dir, sha[:2], sha)
}

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

// Walk calls f with the name and modification time of every stored file.
func (b *Blobs) Walk(f func(sha string, mod time.Time) error) error {
	return filepath.WalkDir(b.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return f(d.Name(), info.ModTime())
	})
}

// Remove deletes a stored file.
func (b *Blobs) Remove(sha string) error {
	if len(sha) != 64 {
		return ErrNotFound
	}
	return os.Remove(b.path(sha))
}
