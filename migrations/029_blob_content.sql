-- The content of the photos and files townline keeps, in PostgreSQL (the
-- default store, TOWNLINE_BLOBS=postgres): every instance reads them, and
-- one pg_dump holds the whole city. Before, they were files under
-- $TOWNLINE_DATA/blobs; `townline blobs migrate` moves them here.
--
-- A table of its own, not a column of blobs: a blobs row is written with
-- the attachment that refers to it, in the transaction filing the report,
-- and the sweep takes a file without one for an upload nobody kept; the
-- content is stored before that (an upload is read before its report is
-- filed). And blobs keeps the same meaning whichever store holds the
-- content (an S3 bucket instead of this table), so moving content between
-- stores never touches it.
--
-- Keyed by the content's SHA-256: the same photo twice is one row.
-- stored_at is when the content was last stored, the sweep's clock.
CREATE TABLE blob_content (
    sha256    text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content   bytea NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now()
);
