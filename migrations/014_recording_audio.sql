-- A recording's message keeps the URL its audio is fetched from, as the
-- phone menu now stores it: Twilio's recording URL with ".mp3", which asks
-- for MP3. Recordings stored before kept the bare URL.
UPDATE messages SET body = regexp_replace(body, '^Recording: (\S+)', 'Recording: \1.mp3')
WHERE channel = 'voice' AND direction = 'in' AND body ~ '^Recording: \S' AND body !~ '^Recording: \S+\.mp3(\s|$)';
