-- A request carries its reporter's name and email address, read only to
-- mask them where the reporter wrote them into their own words (a mail's
-- signature, "Quentin here"): never shown.
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
        AND a.content_type IN ('image/jpeg', 'image/png') ORDER BY a.id LIMIT 1), 0)::bigint AS photo_id,
    COALESCE((SELECT c.name || ' ' || COALESCE(c.email, '') FROM contacts c WHERE c.id = r.contact_id), '')::text AS reporter
FROM requests r LEFT JOIN services s ON s.code = r.service_code;
