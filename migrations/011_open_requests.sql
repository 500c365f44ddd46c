-- The inbox's queue counts at a big city's size: the open requests are a
-- small part of every request ever filed, and each queue but "All" counts
-- only them, through this index alone. Flagged senders are few: the
-- "Flagged senders" queue starts from them.
CREATE INDEX requests_open ON requests (department_code, assignee_id) WHERE status <> 'closed';
CREATE INDEX contacts_flagged ON contacts (id) WHERE flagged_at IS NOT NULL;
