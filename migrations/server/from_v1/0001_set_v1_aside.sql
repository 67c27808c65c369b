-- Opening a V1 server database (see tests/fixtures/v1/README.md): its tables step aside
-- under v1_ names, the V2 schema is created beside them (migrations/server/0001…), devices,
-- the log and command results are copied across (ids and stream ids from text to bytes,
-- each event's conference worked out from its stream, payloads as they are: old event
-- shapes are upcast on read), the conference slugs are built from the log, and the v1_
-- tables go (0002_drop_v1.sql). All in one transaction: a crash leaves the V1 database as
-- it was, and the next start upgrades it again.
ALTER TABLE devices RENAME TO v1_devices;
ALTER TABLE events RENAME TO v1_events;
ALTER TABLE commands RENAME TO v1_commands;
