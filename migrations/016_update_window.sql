-- Open311 clients that follow requests (mySociety's servicerequestupdates,
-- FixMyStreet's every few minutes) ask for the public changes of a time
-- window across every request: read by when they were made, not by
-- request, and only the public ones (status changes and public notes).
CREATE INDEX request_events_public_at ON request_events (at) WHERE public OR to_status IS NOT NULL;
