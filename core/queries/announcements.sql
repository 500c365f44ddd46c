-- name: InsertAnnouncement :one
INSERT INTO announcements (kind, title_en, title_es, body_en, body_es, place, starts_at, ends_at,
    agenda_url, video_url, severity, area)
VALUES (@kind, @title_en, @title_es, @body_en, @body_es, @place, @starts_at, @ends_at,
    @agenda_url, @video_url, @severity, @area)
RETURNING *;

-- name: UpdateAnnouncement :one
-- A change: its kind stays what it was posted as.
UPDATE announcements SET title_en = @title_en, title_es = @title_es, body_en = @body_en, body_es = @body_es,
    place = @place, starts_at = @starts_at, ends_at = @ends_at, agenda_url = @agenda_url, video_url = @video_url,
    severity = @severity, area = @area, revision = revision + 1, updated_at = now()
WHERE id = @id AND kind = @kind
RETURNING *;

-- name: CancelAnnouncement :one
-- Its times stay: a cancelled meeting is still listed, marked; an ended
-- emergency notice is no longer in force (ActiveEmergencies).
UPDATE announcements SET cancelled_at = now(), revision = revision + 1, updated_at = now()
WHERE id = @id AND cancelled_at IS NULL
RETURNING *;

-- name: GetAnnouncement :one
SELECT * FROM announcements WHERE id = @id;

-- name: AnnouncementsEndingAfter :many
-- Those still to come or going on after a moment (without an end, those
-- starting after it), soonest first.
SELECT * FROM announcements WHERE COALESCE(ends_at, starts_at) > @after::timestamptz
ORDER BY starts_at, id LIMIT @max;

-- name: ActiveEmergencies :many
-- The emergency notices in force, the gravest and then the newest first.
SELECT * FROM announcements
WHERE kind = 'emergency' AND cancelled_at IS NULL AND starts_at <= @dated::timestamptz
    AND COALESCE(ends_at, starts_at) > @dated::timestamptz
ORDER BY array_position(ARRAY['warning', 'watch', 'advisory'], severity), starts_at DESC, id DESC;

-- name: RecentAnnouncements :many
-- The newest posted or changed first, for the feed.
SELECT * FROM announcements ORDER BY updated_at DESC, id DESC LIMIT @max;
