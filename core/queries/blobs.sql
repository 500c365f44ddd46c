-- name: PutBlobContent :exec
-- The same content again is stored once, and counts as stored now.
INSERT INTO blob_content (sha256, content) VALUES (@sha256, @content)
ON CONFLICT (sha256) DO UPDATE SET stored_at = now();

-- name: BlobContent :one
SELECT content FROM blob_content WHERE sha256 = $1;

-- name: BlobContentPage :many
-- The stored files named after a name, in name order: one page of a
-- listing that removing files as it goes does not disturb.
SELECT sha256, stored_at FROM blob_content
WHERE sha256 > @after ORDER BY sha256 LIMIT @page;

-- name: DeleteBlobContent :exec
DELETE FROM blob_content WHERE sha256 = $1;
