-- What the outside geocoder (GEOCODER_URL) answered, by the address as
-- asked: each address is asked once a month at most. found is false for
-- an address it did not know.
CREATE TABLE geocode_cache (
    query text PRIMARY KEY,
    found boolean NOT NULL,
    lat double precision NOT NULL DEFAULT 0,
    lng double precision NOT NULL DEFAULT 0,
    address text NOT NULL DEFAULT '',
    at timestamptz NOT NULL DEFAULT now()
);
