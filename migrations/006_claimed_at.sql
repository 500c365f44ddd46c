-- When a delivery attempt claimed an outbound message: after a crash, the
-- provider is asked about the message from that moment on.
ALTER TABLE messages ADD COLUMN claimed_at timestamptz;
