package core

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 is how to reach an S3-compatible object store.
type S3 struct {
	Endpoint             string // its URL: https://s3.us-west-2.amazonaws.com, http://127.0.0.1:8333
	AccessKey, SecretKey string
}

// s3Blobs keeps files in an S3-compatible bucket, each an object named
// prefix + its name.
type s3Blobs struct {
	client         *minio.Client
	bucket, prefix string
}

// newS3Blobs opens the bucket of where, s3://bucket/prefix, and checks
// that it is there: a mistake is found at startup, not at the first photo.
func newS3Blobs(ctx context.Context, where string, s S3) (s3Blobs, error) {
	u, err := url.Parse(where)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return s3Blobs{}, fmt.Errorf("blob store %q is not s3://bucket/prefix", where)
	}
	ep, err := url.Parse(s.Endpoint)
	if err != nil || (ep.Scheme != "http" && ep.Scheme != "https") || ep.Host == "" {
		return s3Blobs{}, fmt.Errorf("S3 endpoint %q is not an http(s) URL", s.Endpoint)
	}
	client, err := minio.New(ep.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Secure: ep.Scheme == "https",
	})
	if err != nil {
		return s3Blobs{}, fmt.Errorf("S3 endpoint %s: %w", s.Endpoint, err)
	}
	store := s3Blobs{client: client, bucket: u.Host, prefix: strings.Trim(u.Path, "/")}
	if store.prefix != "" {
		store.prefix += "/"
	}
	ok, err := client.BucketExists(ctx, store.bucket)
	if err != nil {
		return s3Blobs{}, fmt.Errorf("S3 endpoint %s: %w", s.Endpoint, err)
	}
	if !ok {
		return s3Blobs{}, fmt.Errorf("there is no bucket %q at %s", store.bucket, s.Endpoint)
	}
	return store, nil
}

// put writes the object again when it is there already: its time, the
// sweep's clock, becomes now.
func (s s3Blobs) put(ctx context.Context, sha string, content []byte) error {
	_, err := s.client.PutObject(ctx, s.bucket, s.prefix+sha, bytes.NewReader(content), int64(len(content)),
		minio.PutObjectOptions{ContentType: "application/octet-stream"})
	return err
}

// open reads the object whole, as from PostgreSQL: files are bounded by
// the upload limits, and the object's reads would otherwise outlive the
// call's deadline.
func (s s3Blobs) open(ctx context.Context, sha string) (BlobReader, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+sha, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	content, err := io.ReadAll(obj)
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return storedBlob{bytes.NewReader(content)}, nil
}

// list skips objects under the prefix that are not stored files.
func (s s3Blobs) list(ctx context.Context, f func(sha string, stored time.Time) error) error {
	ctx, cancel := context.WithCancel(ctx) // stops the listing when f fails
	defer cancel()
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true}) {
		if obj.Err != nil {
			return obj.Err
		}
		sha := strings.TrimPrefix(obj.Key, s.prefix)
		if !validSHA(sha) {
			continue
		}
		if err := f(sha, obj.LastModified); err != nil {
			return err
		}
	}
	return nil
}

func (s s3Blobs) remove(ctx context.Context, sha string) error {
	return s.client.RemoveObject(ctx, s.bucket, s.prefix+sha, minio.RemoveObjectOptions{})
}

// openBlobStore opens the store named by where (TOWNLINE_BLOBS):
// "postgres" (or nothing), or s3://bucket/prefix.
func openBlobStore(ctx context.Context, c *Core, where string) (blobStore, error) {
	switch {
	case where == "" || where == "postgres":
		return pgBlobs{c.q}, nil
	case strings.HasPrefix(where, "s3://"):
		return newS3Blobs(ctx, where, c.opts.S3)
	}
	return nil, fmt.Errorf("blob store %q is neither postgres nor s3://bucket/prefix", where)
}
