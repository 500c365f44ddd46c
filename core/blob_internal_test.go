package core

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// memBlobs is a store in memory, for tests that need no database.
type memBlobs map[string][]byte

func (m memBlobs) put(_ context.Context, sha string, content []byte) error {
	m[sha] = content
	return nil
}

func (m memBlobs) open(_ context.Context, sha string) (BlobReader, error) {
	content, ok := m[sha]
	if !ok {
		return nil, ErrNotFound
	}
	return storedBlob{bytes.NewReader(content)}, nil
}

func (m memBlobs) list(_ context.Context, f func(string, time.Time) error) error {
	for sha := range m {
		if err := f(sha, time.Now()); err != nil {
			return err
		}
	}
	return nil
}

func (m memBlobs) remove(_ context.Context, sha string) error {
	delete(m, sha)
	return nil
}

func TestBlobsSniffAndLimit(t *testing.T) {
	store := memBlobs{}
	b := &Blobs{store: store, max: 1024}
	gif := []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")
	blob, err := b.Put(bytes.NewReader(gif))
	if err != nil {
		t.Fatal(err)
	}
	// Named by the SHA-256 of the content, in lower-case hex.
	want := Blob{SHA256: "1f19970f056cd116a5fe3c02422c1ee1ac827136df470b5c89af492620512aa4", ContentType: "image/gif", Size: int64(len(gif))}
	if blob != want {
		t.Errorf("blob = %+v, want %+v", blob, want)
	}
	again, err := b.Put(bytes.NewReader(gif))
	if err != nil || again != blob || len(store) != 1 {
		t.Errorf("the same content stored as %+v, %v; %d stored", again, err, len(store))
	}
	f, err := b.Open(blob.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(got, gif) {
		t.Errorf("read back %q", got)
	}
	if _, err := b.Put(strings.NewReader(strings.Repeat("x", 1025))); !errors.Is(err, ErrTooLarge) || len(store) != 1 {
		t.Errorf("an upload over the limit: %v, %d stored", err, len(store))
	}
	if _, err := b.PutLimit(strings.NewReader(strings.Repeat("x", 1025)), 2048); err != nil {
		t.Errorf("an upload under its own larger limit: %v", err)
	}
	for _, name := range []string{"../../etc/passwd", strings.ToUpper(blob.SHA256), blob.SHA256[:63]} {
		if _, err := b.Open(name); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q): %v", name, err)
		}
	}
	heic := append([]byte{0, 0, 0, 24}, "ftypheic"...)
	blob, err = b.Put(bytes.NewReader(append(heic, make([]byte, 100)...)))
	if err != nil || blob.ContentType != "image/heic" {
		t.Errorf("HEIC sniffed as %q, %v", blob.ContentType, err)
	}
}
