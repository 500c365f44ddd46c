-- name: DepartmentLoad :many
-- Open, overdue and closed-this-week requests per department ("" for the
-- triage queue). The week starts on Monday, in the city's time zone.
SELECT COALESCE(department_code, '')::text AS department,
    count(*) FILTER (WHERE status <> 'closed') AS open,
    count(*) FILTER (WHERE status <> 'closed' AND expected_at < now()) AS overdue,
    count(*) FILTER (WHERE status = 'closed' AND closed_at >= @week_start::timestamptz) AS closed_this_week
FROM requests
GROUP BY 1
ORDER BY 1;

-- name: ServiceTimes :many
-- Per service, for requests made within the window: how many, and the
-- median seconds to the first status change (acknowledged) and to closing;
-- -1 where none was.
WITH r AS (
    SELECT q.service_code, q.requested_at, q.closed_at,
        (SELECT min(e.at) FROM request_events e WHERE e.request_id = q.id AND e.from_status IS NOT NULL) AS acknowledged_at
    FROM requests q
    WHERE q.requested_at > now() - @within::interval AND q.duplicate_of IS NULL)
SELECT COALESCE(service_code, '')::text AS service,
    count(*) AS requests,
    COALESCE(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - requested_at))
        FILTER (WHERE acknowledged_at IS NOT NULL), -1)::float8 AS acknowledge_seconds,
    COALESCE(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - requested_at))
        FILTER (WHERE closed_at IS NOT NULL), -1)::float8 AS close_seconds
FROM r
GROUP BY 1
ORDER BY 1;

-- name: ChannelWeeks :many
-- Requests per channel per week, the last twelve weeks.
SELECT (date_trunc('week', requested_at AT TIME ZONE @zone::text) AT TIME ZONE @zone::text)::timestamptz AS week,
    channel, count(*) AS requests
FROM requests
WHERE requested_at > now() - interval '12 weeks'
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: Classification :many
-- Per channel, for requests made within the window from residents' own
-- words (texts, mail, the web): how many, how many townline filed with a
-- service, and how many of those staff then moved to another service.
SELECT channel, count(*) AS requests,
    count(*) FILTER (WHERE first_service <> '') AS classified,
    count(*) FILTER (WHERE first_service <> '' AND corrected) AS corrected
FROM (
    SELECT q.channel,
        COALESCE((SELECT COALESCE(e.from_service, '') FROM request_events e
            WHERE e.request_id = q.id AND e.to_service IS NOT NULL ORDER BY e.at, e.id LIMIT 1),
            q.service_code, '') AS first_service,
        EXISTS (SELECT 1 FROM request_events e WHERE e.request_id = q.id AND e.user_id IS NOT NULL
            AND e.from_service IS NOT NULL AND e.to_service IS NOT NULL) AS corrected
    FROM requests q
    WHERE q.requested_at > now() - @within::interval AND q.channel IN ('sms', 'email', 'web')
) r
GROUP BY channel
ORDER BY channel;
