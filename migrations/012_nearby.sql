-- Open requests by place, for the request page's "nearby, maybe the same
-- issue" list: a box around a point, among the open requests only.
CREATE INDEX requests_open_place ON requests (lat, lng) WHERE status <> 'closed' AND lat IS NOT NULL;
