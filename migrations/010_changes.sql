-- Live staff pages: every change to a request — filed, acted on, a message
-- on it received, sent or delivered — is noted here and announced with
-- NOTIFY, so every instance's open inbox and request pages hear of it,
-- whoever made the change. The notes are kept a day, so that a page that
-- lost its connection asks what it missed (Last-Event-ID) instead of
-- reloading.

CREATE TABLE request_changes (
    at                  timestamptz NOT NULL DEFAULT clock_timestamp(),
    request_id          bigint NOT NULL,
    department_code     text NOT NULL DEFAULT '',  -- '' is the triage queue
    previous_department text                       -- when the change moved it
);
CREATE INDEX request_changes_at ON request_changes (at);

CREATE FUNCTION note_request_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t    timestamptz := clock_timestamp();
    rid  bigint;
    dept text;
    prev text;
BEGIN
    IF TG_TABLE_NAME = 'requests' THEN
        rid := NEW.id;
        dept := COALESCE(NEW.department_code, '');
        IF TG_OP = 'UPDATE' AND OLD.department_code IS DISTINCT FROM NEW.department_code THEN
            prev := COALESCE(OLD.department_code, '');
        END IF;
    ELSE
        rid := NEW.request_id;
        SELECT COALESCE(department_code, '') INTO dept FROM requests WHERE id = rid;
    END IF;
    INSERT INTO request_changes (at, request_id, department_code, previous_department)
    VALUES (t, rid, dept, prev);
    PERFORM pg_notify('request_changes', json_build_object(
        'at', (extract(epoch FROM t) * 1000000)::bigint, 'request', rid,
        'department', dept, 'previous', prev)::text);
    RETURN NULL;
END $$;

CREATE TRIGGER requests_changed AFTER INSERT OR UPDATE ON requests
    FOR EACH ROW EXECUTE FUNCTION note_request_change();
CREATE TRIGGER messages_changed AFTER INSERT OR UPDATE OF state, request_id ON messages
    FOR EACH ROW WHEN (NEW.request_id IS NOT NULL) EXECUTE FUNCTION note_request_change();
