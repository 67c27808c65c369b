-- The sync server's store: the global event log of every device, the devices and their
-- tokens, the outcome of every pushed command, and the reconciliation queue.
-- Ids are 16-byte UUID blobs. Times are RFC 3339 UTC text with a fixed width.

-- The server's own identity: the device id of the events it authors (pool policy,
-- over-allotment cover, accepted returns).
CREATE TABLE server (
    singleton         INTEGER PRIMARY KEY CHECK (singleton = 1),
    server_device_id  BLOB NOT NULL,
    created_at        TEXT NOT NULL
);

CREATE TABLE devices (
    device_id    BLOB PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('organizer', 'door', 'back_office')),
    -- SHA-256 of the token; the token itself is shown once and never stored.
    token_hash   BLOB NOT NULL UNIQUE,
    -- JSON list of the conference slugs the device may see; empty means all.
    conferences  TEXT NOT NULL DEFAULT '[]',
    revoked_at   TEXT,
    created_at   TEXT NOT NULL,
    -- The device sequence number the server expects next from this device.
    next_seq     INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID;

-- The global log. Positions come from one writer, so a reader never skips an event that
-- commits later under a lower position.
CREATE TABLE events (
    position        INTEGER PRIMARY KEY,
    stream_key      BLOB NOT NULL,             -- conference_domain::StreamId::key()
    stream_version  INTEGER NOT NULL,          -- first event of a stream is 1
    conference_id   BLOB,                      -- whose conference the event belongs to
    event_type      TEXT NOT NULL,
    schema_version  INTEGER NOT NULL,
    payload         TEXT NOT NULL,             -- JSON, stored as the device sent it
    command_id      BLOB NOT NULL,
    device_id       BLOB NOT NULL,
    recorded_at     TEXT NOT NULL,
    UNIQUE (stream_key, stream_version)
);
CREATE INDEX events_by_conference ON events (conference_id, position);

-- Every command id the server took, with its first result, forever. Allotment requests
-- are here too (device_seq NULL, status 'granted', result an AllotmentResponse).
CREATE TABLE commands (
    command_id         BLOB PRIMARY KEY,
    device_id          BLOB NOT NULL,
    device_seq         INTEGER,
    status             TEXT NOT NULL,          -- applied, rebased, rejected or granted
    result             TEXT NOT NULL,          -- JSON PushResult (or AllotmentResponse)
    -- Pull outcomes after this position: the command's last event, or (when it stored
    -- none) the position the next event would take.
    recorded_position  INTEGER NOT NULL,
    recorded_at        TEXT NOT NULL,
    UNIQUE (device_id, device_seq)
) WITHOUT ROWID;
CREATE INDEX commands_outcomes ON commands (device_id, recorded_position)
    WHERE status IN ('rebased', 'rejected');

-- What the back office must look at: over-allotment sales the pool could not cover,
-- rejected commands.
CREATE TABLE reconciliation (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL,              -- over_allotment, promo_overuse, rejected_command
    conference_id  BLOB,
    device_id      BLOB NOT NULL,
    command_id     BLOB,
    detail         TEXT NOT NULL,              -- JSON
    created_at     TEXT NOT NULL,
    resolved_at    TEXT
);

-- The conference of order, payment and assignments streams (their ids are not the
-- conference's), learned from OrderPlaced and PaymentInitiated.
CREATE TABLE stream_conferences (
    stream_key     BLOB PRIMARY KEY,
    conference_id  BLOB NOT NULL
) WITHOUT ROWID;

-- Conference slugs, kept from ConferenceCreated and ConferenceUpdated, so a device's
-- `--conference SLUG` list resolves to ids.
CREATE TABLE conferences (
    id    BLOB PRIMARY KEY,
    slug  TEXT NOT NULL UNIQUE
) WITHOUT ROWID;
