-- What the city tells the public: public meetings, events, and emergency
-- notices, written by staff in English and (optionally) Spanish.
--
-- A meeting or an event runs from starts_at to ends_at (NULL: no set
-- end). An emergency notice is in force from starts_at until ends_at, its
-- expiry, which is required. Cancelling sets cancelled_at: a meeting stays
-- listed as cancelled (calendars that copied it learn so through the
-- feed), an emergency notice is no longer in force. revision counts the changes, as the
-- calendar's SEQUENCE.
CREATE TABLE announcements (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('meeting', 'event', 'emergency')),
    title_en     text NOT NULL CHECK (title_en <> ''),
    title_es     text NOT NULL DEFAULT '',  -- empty: Spanish readers get the English
    body_en      text NOT NULL DEFAULT '',
    body_es      text NOT NULL DEFAULT '',
    place        text NOT NULL DEFAULT '',
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz CHECK (ends_at > starts_at),
    agenda_url   text NOT NULL DEFAULT '',
    video_url    text NOT NULL DEFAULT '',
    severity     text CHECK (severity IN ('advisory', 'watch', 'warning')),
    area         text NOT NULL DEFAULT '',
    revision     integer NOT NULL DEFAULT 0,
    posted_at    timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    cancelled_at timestamptz,
    CHECK ((kind = 'emergency') = (severity IS NOT NULL)),
    CHECK (kind <> 'emergency' OR ends_at IS NOT NULL)
);
-- The calendar and the page read what ends (or, without an end, starts)
-- after a moment, in order.
CREATE INDEX announcements_when ON announcements (COALESCE(ends_at, starts_at), starts_at);
