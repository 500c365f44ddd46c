-- How a resident with an account wants to hear about their requests: by
-- text or mail whichever way each came, or not at all. NULL: each
-- request's updates go back the way it came, as for guests.
ALTER TABLE accounts ADD COLUMN hear_back text CHECK (hear_back IN ('sms', 'email', 'none'));
