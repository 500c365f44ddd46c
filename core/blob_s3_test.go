package core_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"townline/core"
	"townline/internal/testenv"
)

// objects lists the names of the bucket's objects.
func objects(t *testing.T, client *minio.Client) []string {
	t.Helper()
	var names []string
	for obj := range client.ListObjects(context.Background(), "townline", minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		names = append(names, obj.Key)
	}
	return names
}

// Photos in an S3-compatible store (a real one: SeaweedFS): stored once
// under the prefix, read by every instance, swept when nobody kept them,
// and moved from PostgreSQL and back.
func TestBlobsInS3(t *testing.T) {
	t.Parallel()
	s3, client := testenv.S3(t)
	pool := testenv.Pool(t)
	inS3 := func(o *core.Options) { o.Workers, o.Blobs, o.S3 = 0, "s3://townline/oroville/photos", s3 }
	c := testenv.CoreOn(t, pool, inS3)
	other := testenv.CoreOn(t, pool, inS3)
	ctx := context.Background()

	photo := testPNG(t)
	blob, err := c.Blobs().Put(bytes.NewReader(photo))
	if err != nil || blob.ContentType != "image/png" {
		t.Fatalf("put: %+v, %v", blob, err)
	}
	if _, err := other.Blobs().Put(bytes.NewReader(photo)); err != nil {
		t.Fatal(err)
	}
	if got := testenv.ReadBlob(t, other, blob.SHA256); !bytes.Equal(got, photo) {
		t.Error("another instance read other bytes")
	}
	if names := objects(t, client); len(names) != 1 || names[0] != "oroville/photos/"+blob.SHA256 {
		t.Errorf("objects %v, want the photo once under the prefix", names)
	}
	if n := countStored(t, pool); n != 0 {
		t.Errorf("%d files in PostgreSQL too", n)
	}
	if _, err := c.Blobs().Open(strings.Repeat("ab", 32)); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a file never stored: %v", err)
	}

	// The sweep: an orphan goes, a photo kept and what is not a file of
	// ours stay.
	orphan, err := c.Blobs().Put(strings.NewReader("refused upload"))
	if err != nil {
		t.Fatal(err)
	}
	in := newPothole("")
	in.Photos = []core.Upload{{Blob: blob}}
	if _, err := c.CreateRequest(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(ctx, "townline", "oroville/photos/README", strings.NewReader("not ours"), 8, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.SweepBlobsAt(ctx, time.Now().Add(59*time.Minute)); err != nil {
		t.Fatal(err)
	}
	testenv.ReadBlob(t, c, orphan.SHA256) // not an hour old yet
	if err := c.SweepBlobsAt(ctx, time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Blobs().Open(orphan.SHA256); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("the orphan survived the sweep: %v", err)
	}
	if names := objects(t, client); len(names) != 2 {
		t.Errorf("after the sweep: %v, want the photo kept and the README", names)
	}

	// Moved into PostgreSQL, and back.
	inPG := testenv.CoreOn(t, pool, func(o *core.Options) { o.Workers, o.S3 = 0, s3 })
	moved := 0
	if err := inPG.MoveBlobs(ctx, "s3://townline/oroville/photos", func(n, _ int) { moved = n }); err != nil || moved != 1 {
		t.Fatalf("move from S3: %d moved, %v", moved, err)
	}
	if got := testenv.ReadBlob(t, inPG, blob.SHA256); !bytes.Equal(got, photo) || countStored(t, pool) != 1 {
		t.Error("the photo did not reach PostgreSQL whole")
	}
	if names := objects(t, client); len(names) != 1 || names[0] != "oroville/photos/README" {
		t.Errorf("left in the bucket: %v, want only what is not ours", names)
	}
	if err := c.MoveBlobs(ctx, "postgres", func(n, _ int) { moved = n }); err != nil || moved != 1 || countStored(t, pool) != 0 {
		t.Fatalf("move back to S3: %d moved, %v", moved, err)
	}
	testenv.ReadBlob(t, other, blob.SHA256)
	if err := c.MoveBlobs(ctx, "s3://townline/oroville/photos", func(int, int) {}); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("a move from the store itself: %v", err)
	}
}

// A store that cannot be used stops the start, with what is wrong.
func TestS3StoreRefusesAMissingBucketOrAWrongKey(t *testing.T) {
	t.Parallel()
	s3, _ := testenv.S3(t)
	city, err := core.ReadCity("")
	if err != nil {
		t.Fatal(err)
	}
	pool := testenv.Pool(t)
	wrong := s3
	wrong.SecretKey = "not-the-secret"
	ftp, noHost := s3, s3
	ftp.Endpoint = "ftp://" + strings.TrimPrefix(s3.Endpoint, "http://")
	noHost.Endpoint = "http:///townline"
	for _, tc := range []struct {
		where string
		s3    core.S3
		want  string
	}{
		{"s3://nosuch/photos", s3, `there is no bucket "nosuch"`},
		{"s3://townline/photos", wrong, "signature"},
		{"s3://townline/photos", ftp, "is not an http(s) url"},
		{"s3://townline/photos", noHost, "is not an http(s) url"},
		{"s3:///photos", s3, "is not s3://bucket/prefix"},
		{"file://townline/photos", s3, "is neither postgres nor s3://bucket/prefix"},
	} {
		_, err = core.New(context.Background(), pool, core.Options{City: city, PublicURL: "http://311.test",
			Blobs: tc.where, S3: tc.s3, Logger: testenv.Logger(t)})
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), tc.want) {
			t.Errorf("%s: %v, want %q", tc.where, err, tc.want)
		}
	}
}
