-- Sync with a server (V2): which local events the server has confirmed, what happened to
-- each pushed command, where pulling stands, and rejections a person must see.

-- The server's global position of an event, once the server has it. NULL marks a
-- tentative event: written here, not yet confirmed. Only tentative events of a command the
-- server rebased or rejected are ever removed (the server's outcome replaces them).
ALTER TABLE events ADD COLUMN server_position INTEGER;
CREATE UNIQUE INDEX events_by_server_position ON events (server_position)
    WHERE server_position IS NOT NULL;

-- The events a command wrote are the consecutive positions first..last.
ALTER TABLE outbox ADD COLUMN first_position INTEGER;
ALTER TABLE outbox ADD COLUMN last_position INTEGER;
-- pending, applied, rebased or rejected.
ALTER TABLE outbox ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE outbox ADD COLUMN result TEXT;
-- The server takes commands strictly in device order, so the pending ones are always the
-- newest: they are found from `sync_state.pushed_seq` on, with no index of their own.

CREATE TABLE sync_state (
    singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
    server_url    TEXT NOT NULL,
    token         TEXT NOT NULL,
    pulled_after  INTEGER NOT NULL DEFAULT 0,
    pushed_seq    INTEGER NOT NULL DEFAULT 0,     -- every outbox row up to here is answered
    -- 1 once the server confirmed which device this store is (see `device_id`).
    identified    INTEGER NOT NULL DEFAULT 0,
    last_sync_at  TEXT,
    last_error    TEXT
);

-- Commands the server refused, until someone has read them.
CREATE TABLE rejections (
    command_id    BLOB PRIMARY KEY,
    command_type  TEXT NOT NULL,
    code          TEXT NOT NULL,
    message       TEXT NOT NULL,
    recorded_at   TEXT NOT NULL,
    seen          INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
