-- name: LockPlaces :exec
-- One load at a time (instances starting together load the sample at
-- once): each replaces its source whole.
SELECT pg_advisory_xact_lock(7311002);

-- name: DeletePlaceAddresses :exec
DELETE FROM place_addresses WHERE source = $1;

-- name: DeletePlaceSegments :exec
DELETE FROM place_segments WHERE source = $1;

-- name: InsertPlaceAddresses :copyfrom
INSERT INTO place_addresses (source, number, street, street_key, lat, lng) VALUES ($1, $2, $3, $4, $5, $6);

-- name: InsertPlaceSegments :copyfrom
INSERT INTO place_segments (source, street, street_key, from_number, to_number, line) VALUES ($1, $2, $3, $4, $5, $6);

-- name: ClearPlaceStreets :exec
DELETE FROM place_streets;

-- name: FillPlaceStreets :exec
INSERT INTO place_streets (street_key, street)
SELECT DISTINCT ON (street_key) street_key, street FROM (
    SELECT street_key, street FROM place_addresses
    UNION ALL
    SELECT street_key, street FROM place_segments
) s
ORDER BY street_key, street;

-- name: PlaceStreet :one
-- The street a resident meant: the same key, or the one whose key reads
-- most alike (a misspelling, a missing suffix), if alike enough.
SELECT street_key, street FROM place_streets
WHERE street_key = sqlc.arg(key) OR street_key % sqlc.arg(key)
ORDER BY street_key = sqlc.arg(key) DESC, similarity(street_key, sqlc.arg(key)) DESC, street_key
LIMIT 1;

-- name: PlaceAddress :one
SELECT lat, lng FROM place_addresses WHERE street_key = $1 AND number = $2 LIMIT 1;

-- name: PlaceSegments :many
SELECT street, from_number, to_number, line FROM place_segments WHERE street_key = $1 ORDER BY id;

-- name: NearestPlaceAddress :one
SELECT number, street, lat, lng FROM place_addresses
ORDER BY point(lng, lat) <-> point(sqlc.arg(lng)::float8, sqlc.arg(lat)::float8)
LIMIT 1;

-- name: CountPlaces :one
SELECT (SELECT count(*) FROM place_addresses) AS addresses, (SELECT count(*) FROM place_segments) AS segments;

-- name: CachedGeocode :one
SELECT found, lat, lng, address FROM geocode_cache WHERE query = $1 AND at > now() - @within::interval;

-- name: CacheGeocode :exec
INSERT INTO geocode_cache (query, found, lat, lng, address) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (query) DO UPDATE SET found = EXCLUDED.found, lat = EXCLUDED.lat, lng = EXCLUDED.lng,
    address = EXCLUDED.address, at = now();
