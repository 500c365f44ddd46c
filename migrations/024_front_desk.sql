-- How a resident who reported through the front desk (a call to City
-- Hall, the counter, a crew member) wants to hear back: by text, by mail,
-- by a call, or not at all. NULL: over the channel they used themselves.
ALTER TABLE contacts ADD COLUMN reply_by text CHECK (reply_by IN ('sms', 'email', 'voice', 'none'));
