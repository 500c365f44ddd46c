-- The city's own GIS layers, for the offline geocoder (`townline places
-- load`): address points and street centerlines. Streets are matched by a
-- key (folded, suffix abbreviated: "montgomery st"); a misspelled one
-- through trigrams. Loading a file again replaces what it loaded before.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE place_addresses (
    id bigserial PRIMARY KEY,
    source text NOT NULL,
    number integer NOT NULL,
    street text NOT NULL,
    street_key text NOT NULL,
    lat double precision NOT NULL,
    lng double precision NOT NULL
);
CREATE INDEX place_addresses_street ON place_addresses (street_key, number);
-- The nearest address to a point (a photo's GPS), found by the index.
CREATE INDEX place_addresses_position ON place_addresses USING gist (point(lng, lat));
CREATE INDEX place_addresses_source ON place_addresses (source);

-- A centerline segment and the house numbers along it, low to high: a
-- number between is placed by interpolation, and two streets' segments
-- meet at their intersection.
CREATE TABLE place_segments (
    id bigserial PRIMARY KEY,
    source text NOT NULL,
    street text NOT NULL,
    street_key text NOT NULL,
    from_number integer,
    to_number integer,
    line jsonb NOT NULL -- [[lng, lat], ...]
);
CREATE INDEX place_segments_street ON place_segments (street_key);
CREATE INDEX place_segments_source ON place_segments (source);

-- Every street either layer names, for matching a resident's spelling:
-- made again after each load (a few hundred rows for a city).
CREATE TABLE place_streets (
    street_key text PRIMARY KEY,
    street text NOT NULL
);
CREATE INDEX place_streets_trgm ON place_streets USING gist (street_key gist_trgm_ops);
