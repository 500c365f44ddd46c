-- name: TakeRate :one
-- One more event for a key, if fewer than @per_hour happened in the last
-- hour; true when taken.
WITH taken AS (
    INSERT INTO rate_events (bucket, key)
    SELECT @bucket::text, @key::text
    WHERE (SELECT count(*) FROM rate_events
           WHERE bucket = @bucket::text AND key = @key::text AND at > now() - interval '1 hour') < @per_hour::int
    RETURNING 1)
SELECT EXISTS (SELECT 1 FROM taken);

-- name: SweepRates :exec
DELETE FROM rate_events WHERE at < now() - interval '1 hour';
