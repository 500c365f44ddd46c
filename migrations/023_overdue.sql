-- When the schedule found a request past its due time and said so in its
-- history; a new due time (a new service) clears it.
ALTER TABLE requests ADD COLUMN overdue_at timestamptz;
CREATE INDEX requests_unmarked_due ON requests (expected_at) WHERE status <> 'closed' AND overdue_at IS NULL;
