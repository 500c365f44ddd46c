-- A request as every reader sees it: its service's name, how many reports
-- the issue gathers (itself and its duplicates), its latest public note
-- and its first public photo. One definition instead of a column list
-- repeated in every query.
CREATE VIEW request_details AS
SELECT r.id, r.token, r.service_code, r.description, r.attributes, r.lat, r.lng,
    r.address, r.address_id, r.zipcode, r.media_url, r.status, r.close_reason,
    r.department_code, r.assignee_id, r.duplicate_of, r.channel, r.contact_id,
    r.device_id, r.requested_at, r.updated_at, r.expected_at, r.closed_at,
    COALESCE(s.name, '')::text AS service_name,
    (1 + (SELECT count(*) FROM requests d WHERE d.duplicate_of = r.id))::bigint AS reports,
    COALESCE((SELECT e.note FROM request_events e WHERE e.request_id = r.id AND e.public AND e.note <> ''
        ORDER BY e.at DESC, e.id DESC LIMIT 1), '')::text AS status_notes,
    COALESCE((SELECT a.id FROM attachments a WHERE a.request_id = r.id AND a.public
        AND a.content_type IN ('image/jpeg', 'image/png') ORDER BY a.id LIMIT 1), 0)::bigint AS photo_id
FROM requests r LEFT JOIN services s ON s.code = r.service_code;

-- Delivery receipts in core's words (queued, sending, sent, delivered,
-- read, failed) rather than a provider's, and whether the provider said
-- the recipient unsubscribed.
ALTER TABLE delivery_events ADD COLUMN opted_out boolean NOT NULL DEFAULT false;
UPDATE delivery_events SET opted_out = true WHERE error_code = '21610';
INSERT INTO delivery_events (channel, provider_id, status, error_code, at, opted_out)
SELECT channel, provider_id,
    CASE status WHEN 'accepted' THEN 'queued' WHEN 'scheduled' THEN 'queued'
        WHEN 'partially_delivered' THEN 'sent' WHEN 'undelivered' THEN 'failed'
        WHEN 'canceled' THEN 'failed' END,
    error_code, at, opted_out
FROM delivery_events
WHERE status IN ('accepted', 'scheduled', 'partially_delivered', 'undelivered', 'canceled')
ON CONFLICT DO NOTHING;
DELETE FROM delivery_events
WHERE status NOT IN ('queued', 'sending', 'sent', 'delivered', 'read', 'failed');
