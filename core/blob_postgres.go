package core

import (
	"bytes"
	"context"
	"time"

	"townline/core/internal/db"
)

// pgBlobs keeps files in PostgreSQL (blob_content), the default store:
// nothing to run beside the database, and one pg_dump holds them.
type pgBlobs struct{ q *db.Queries }

func (s pgBlobs) put(ctx context.Context, sha string, content []byte) error {
	return dbErr(s.q.PutBlobContent(ctx, db.PutBlobContentParams{Sha256: sha, Content: content}))
}

// open reads the file whole: pgx reads a bytea value whole anyway, and
// files are bounded by the upload limits.
func (s pgBlobs) open(ctx context.Context, sha string) (BlobReader, error) {
	content, err := s.q.BlobContent(ctx, sha)
	if err != nil {
		return nil, dbErr(notFound(err))
	}
	return storedBlob{bytes.NewReader(content)}, nil
}

func (s pgBlobs) list(ctx context.Context, f func(sha string, stored time.Time) error) error {
	after := ""
	for {
		page, err := s.q.BlobContentPage(ctx, db.BlobContentPageParams{After: after, Page: 1000})
		if err != nil {
			return dbErr(err)
		}
		for _, b := range page {
			if err := f(b.Sha256, b.StoredAt); err != nil {
				return err
			}
		}
		if len(page) < 1000 {
			return nil
		}
		after = page[len(page)-1].Sha256
	}
}

func (s pgBlobs) remove(ctx context.Context, sha string) error {
	return dbErr(s.q.DeleteBlobContent(ctx, sha))
}
