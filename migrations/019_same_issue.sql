-- The same issue reported twice: a new report of a service within a few
-- dozen meters of an open one joins it. The lookup is a box around the
-- point in a GiST index over the open requests' positions (built in: no
-- PostGIS to install, and a box is all a radius of meters needs).
CREATE INDEX requests_open_position ON requests USING gist (point(lng, lat))
    WHERE status <> 'closed' AND lat IS NOT NULL;

-- How many people reported an issue: the request and its duplicates, one
-- per contact (someone who reported it twice counts once), each anonymous
-- report one.
CREATE OR REPLACE VIEW request_details AS
SELECT r.id, r.token, r.service_code, r.description, r.attributes, r.lat, r.lng,
    r.address, r.address_id, r.zipcode, r.media_url, r.status, r.close_reason,
    r.department_code, r.assignee_id, r.duplicate_of, r.channel, r.contact_id,
    r.device_id, r.requested_at, r.updated_at, r.expected_at, r.closed_at,
    COALESCE(s.name, '')::text AS service_name,
    (SELECT count(DISTINCT d.contact_id) + count(*) FILTER (WHERE d.contact_id IS NULL)
        FROM requests d WHERE d.id = r.id OR d.duplicate_of = r.id)::bigint AS reports,
    COALESCE((SELECT e.note FROM request_events e WHERE e.request_id = r.id AND e.public AND e.note <> ''
        ORDER BY e.at DESC, e.id DESC LIMIT 1), '')::text AS status_notes,
    COALESCE((SELECT a.id FROM attachments a WHERE a.request_id = r.id AND a.public
        AND a.content_type IN ('image/jpeg', 'image/png') ORDER BY a.id LIMIT 1), 0)::bigint AS photo_id
FROM requests r LEFT JOIN services s ON s.code = r.service_code;
