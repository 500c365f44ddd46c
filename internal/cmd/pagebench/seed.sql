-- A big city's history, made up: requests over three years (most closed,
-- a few thousand open), each with a resident's message, the city's
-- acknowledgment and one more exchange, and its history. Statements are
-- separated by blank-line-terminated "-- step:" comments; $1 is the
-- number of requests.

-- step: contacts, about two requests each
INSERT INTO contacts (phone, email, name, language, created_at)
SELECT '+1530' || (2000000 + g)::text,
    CASE WHEN g % 3 = 0 THEN 'resident' || g || '@example.com' END,
    'Resident ' || g, CASE WHEN g % 5 = 0 THEN 'es' ELSE 'en' END, now() - interval '3 years'
FROM generate_series(1, greatest($1::int / 2, 1)) g;

-- step: requests, oldest first, every one a mix of common and rare words
INSERT INTO requests (id, token, service_code, description, lat, lng, address, status, close_reason,
    department_code, assignee_id, channel, contact_id, requested_at, updated_at, expected_at, closed_at)
SELECT 1000 + g, md5(g::text), svc, descr, lat, lng, addr,
    CASE WHEN closed THEN 'closed' ELSE (ARRAY['new', 'acknowledged', 'in_progress'])[1 + g % 3] END,
    CASE WHEN closed THEN 'resolved' END,
    CASE WHEN NOT closed AND g % 301 = 0 THEN NULL ELSE dept END,
    CASE WHEN g % 5 < 3 THEN staff[1 + g % array_length(staff, 1)] END,
    (ARRAY['sms', 'sms', 'sms', 'email', 'email', 'voice', 'open311', 'open311', 'web', 'web'])[1 + g % 10],
    first_contact + g % greatest($1::int / 2, 1), at, at, at + interval '5 days',
    CASE WHEN closed THEN at + interval '3 days' END
FROM (
    SELECT g, at, svc.codes[1 + h % svc.n] AS svc, svc.depts[1 + h % svc.n] AS dept,
        at < now() - interval '60 days' AND g % 40 <> 0 OR g % 3 = 0 AS closed,
        initcap(w[1 + (h >> 2) % 40]) || ' ' || w[1 + (h >> 5) % 40] || ' ' || w[1 + (h >> 8) % 40] || ' on ' ||
            streets[1 + (h >> 11) % 15] || ', ' || w[1 + (h >> 14) % 40] || ' ' || w[1 + (h >> 17) % 40] ||
            ' report ' || g AS descr,
        (100 + (h >> 3) % 3000)::text || ' ' || streets[1 + (h >> 11) % 15] AS addr,
        39.48 + (h % 700) / 10000.0 AS lat, -121.58 + ((h >> 4) % 700) / 10000.0 AS lng,
        staff, first_contact
    FROM (
        SELECT g, now() - interval '3 years' * (1 - g::float8 / $1::int) AS at, abs(hashint4(g)) AS h
        FROM generate_series(1, $1::int) g
    ) base,
    (SELECT array_agg(code ORDER BY code) AS codes, array_agg(department_code ORDER BY code) AS depts,
        count(*)::int AS n FROM services WHERE active AND department_code IS NOT NULL) svc,
    (SELECT array_agg(id ORDER BY id) AS staff FROM users WHERE role = 'staff') u,
    (SELECT min(id) AS first_contact FROM contacts) c,
    (SELECT ARRAY['pothole', 'graffiti', 'streetlight', 'trash', 'dumping', 'sign', 'tree', 'branch', 'dog',
        'cat', 'car', 'camp', 'water', 'leak', 'noise', 'sidewalk', 'crack', 'hole', 'bench', 'park', 'alley',
        'mattress', 'couch', 'tires', 'paint', 'fence', 'broken', 'big', 'huge', 'deep', 'dangerous', 'again',
        'still', 'near', 'corner', 'school', 'library', 'store', 'church', 'river'] AS w,
        ARRAY['Montgomery St', 'Oro Dam Blvd', 'Bird St', 'Myers St', 'Lincoln St', 'Feather River Blvd',
        'Olive Hwy', '5th Ave', 'Washington Ave', 'Spencer Ave', 'Table Mountain Blvd', 'Grand Ave',
        'Mitchell Ave', 'Baggett Marysville Rd', 'High St'] AS streets) words
) r;

-- step: the request numbers go on after the made-up ones
SELECT setval('request_id_seq', (SELECT max(id) FROM requests));

-- step: three messages a request: the report, the acknowledgment, one more
INSERT INTO messages (request_id, contact_id, direction, channel, provider_id, body, language, state,
    created_at, sent_at)
SELECT r.id, r.contact_id, m.dir,
    CASE WHEN m.dir = 'in' OR r.channel IN ('sms', 'email') THEN r.channel
        WHEN r.channel = 'voice' THEN 'sms' ELSE 'email' END,
    'P' || r.id || '-' || m.k,
    CASE m.k WHEN 1 THEN r.description
        WHEN 2 THEN 'Oroville 311 #' || r.id || ': received, thank you. We will text you when it changes.'
        ELSE CASE WHEN r.id % 2 = 0 THEN 'Any news? It is still there, near the corner.'
            ELSE 'A crew is scheduled for this week.' END END,
    'en', CASE m.dir WHEN 'in' THEN 'received' ELSE 'delivered' END,
    r.requested_at + (m.k - 1) * interval '1 hour', CASE m.dir WHEN 'out' THEN r.requested_at END
FROM requests r,
    (VALUES (1, 'in'), (2, 'out'), (3, 'in'), (4, 'out')) m (k, dir)
WHERE m.k < 3 OR m.k = 3 + r.id % 2;

-- step: the history: filed, and closed
INSERT INTO request_events (request_id, at, actor, to_status, department_code)
SELECT id, requested_at, 'system', 'new', department_code FROM requests;

-- step:
INSERT INTO request_events (request_id, at, actor, from_status, to_status, close_reason, note, public)
SELECT id, closed_at, 'crew@oroville.test', 'in_progress', 'closed', 'resolved', 'Fixed.', true
FROM requests WHERE status = 'closed';

-- step: a few senders flagged by staff
UPDATE contacts SET flagged_at = now(), flag_reason = 'abusive', flagged_by = (SELECT min(id) FROM users)
WHERE id % 20000 = 0;
