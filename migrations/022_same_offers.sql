-- A report that may be the same issue as an open request too far away to
-- join it at once (of its service or its group, within 150 m): its
-- reporter was asked whether to follow that one instead, and has not
-- answered yet. The answer (or a staff merge) takes the row away.
CREATE TABLE same_offers (
    request_id bigint PRIMARY KEY REFERENCES requests (id),
    parent_id  bigint NOT NULL REFERENCES requests (id),
    meters     integer NOT NULL,
    offered_at timestamptz NOT NULL DEFAULT now()
);
