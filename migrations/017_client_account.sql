-- The reporter's account id at the Open311 client that filed for them
-- (GeoReport's account_id), for staff: the latest a client gave.
ALTER TABLE contacts ADD COLUMN client_account text NOT NULL DEFAULT '';
