-- Events pulled from the sync server that this device keeps but does not show: they could
-- not be read, carry values the domain never writes, or could not be taken into the log
-- or the read models. Sync goes on past them; `conference status` and the desktop header
-- list them with the reason.
CREATE TABLE set_aside (
    server_position INTEGER PRIMARY KEY,
    stream          TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    reason          TEXT NOT NULL,
    set_aside_at    TEXT NOT NULL
);
