-- The sync server's store on PostgreSQL: the same tables as migrations/server/ (SQLite),
-- in PostgreSQL's types. Several server instances share one database; every writer takes
-- the log's advisory lock before it reads the head, so positions are gap-free and commit
-- in order (see sync-server/src/store/postgres.rs). Times are RFC 3339 UTC text with a
-- fixed width, as on SQLite, so both backends answer byte for byte alike.

-- The server's own identity: the device id of the events it authors (pool policy,
-- over-allotment cover, accepted returns). Every instance uses the same one.
CREATE TABLE server (
    singleton         INTEGER PRIMARY KEY CHECK (singleton = 1),
    server_device_id  UUID NOT NULL,
    created_at        TEXT NOT NULL
);

CREATE TABLE devices (
    device_id    UUID PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('organizer', 'door', 'back_office')),
    -- SHA-256 of the token; the token itself is shown once and never stored.
    token_hash   BYTEA NOT NULL UNIQUE,
    -- JSON list of the conference slugs the device may see; empty means all.
    conferences  TEXT NOT NULL DEFAULT '[]',
    revoked_at   TEXT,
    created_at   TEXT NOT NULL,
    -- The device sequence number the server expects next from this device.
    next_seq     BIGINT NOT NULL DEFAULT 1
);

-- The global log. A position is taken under the log's advisory lock, held until commit.
CREATE TABLE events (
    position        BIGINT PRIMARY KEY,
    stream_key      BYTEA NOT NULL,            -- conference_domain::StreamId::key()
    stream_version  BIGINT NOT NULL,           -- first event of a stream is 1
    conference_id   UUID,                      -- whose conference the event belongs to
    event_type      TEXT NOT NULL,
    schema_version  INTEGER NOT NULL,
    payload         TEXT NOT NULL,             -- JSON, stored as the device sent it
    command_id      UUID NOT NULL,
    device_id       UUID NOT NULL,
    recorded_at     TEXT NOT NULL,
    UNIQUE (stream_key, stream_version)
);
CREATE INDEX events_by_conference ON events (conference_id, position);

-- Every command id the server took, with its first result, forever. Allotment requests
-- are here too (device_seq NULL, status 'granted', result an AllotmentResponse).
CREATE TABLE commands (
    command_id         UUID PRIMARY KEY,
    device_id          UUID NOT NULL,
    device_seq         BIGINT,
    status             TEXT NOT NULL,          -- applied, rebased, rejected or granted
    result             TEXT NOT NULL,          -- JSON PushResult (or AllotmentResponse)
    recorded_position  BIGINT NOT NULL,
    recorded_at        TEXT NOT NULL,
    UNIQUE (device_id, device_seq)
);
CREATE INDEX commands_outcomes ON commands (device_id, recorded_position)
    WHERE status IN ('rebased', 'rejected');

-- What the back office must look at.
CREATE TABLE reconciliation (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           TEXT NOT NULL,              -- over_allotment, promo_overuse, rejected_command
    conference_id  UUID,
    device_id      UUID NOT NULL,
    command_id     UUID,
    detail         TEXT NOT NULL,              -- JSON
    created_at     TEXT NOT NULL,
    resolved_at    TEXT
);

-- Conference slugs, kept from ConferenceCreated and ConferenceUpdated.
CREATE TABLE conferences (
    id    UUID PRIMARY KEY,
    slug  TEXT NOT NULL UNIQUE
);
