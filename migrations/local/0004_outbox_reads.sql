-- The streams each queued command read, at the versions it read them (JSON, a list of
-- {stream, version}): the sync server replays the command at those versions. Commands
-- queued before this migration have none; the server then replays them at its own.
ALTER TABLE outbox ADD COLUMN reads TEXT;
