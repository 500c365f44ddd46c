package testenv

import (
	"io"
	"testing"

	"townline/core"
)

// ReadBlob reads a stored file whole, failing the test when it is not
// there.
func ReadBlob(t testing.TB, c *core.Core, sha string) []byte {
	t.Helper()
	f, err := c.Blobs().Open(sha)
	if err != nil {
		t.Fatalf("open %s: %v", sha, err)
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
