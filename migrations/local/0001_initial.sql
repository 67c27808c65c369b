-- The local store of one device: the event log, the command log, aggregate snapshots,
-- process-manager state, scheduled commands, the sync outbox and the read models.
-- Ids are 16-byte UUIDv7 blobs (time-ordered, so index pages fill in order).
-- Times are RFC 3339 UTC text with a fixed width, so text order is time order.

CREATE TABLE device (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    device_id   BLOB NOT NULL,
    name        TEXT NOT NULL,
    -- 1 while this store has never been connected to a sync server: it owns its seat pool.
    owns_pool   INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL
);

CREATE TABLE events (
    position        INTEGER PRIMARY KEY,       -- global order in this store, from one writer
    -- The stream: aggregate UUID (16 bytes), kind code (1 byte) and, for a device's seat
    -- allotment, the device UUID. Id-first keys keep one command's new streams together.
    stream_key      BLOB NOT NULL,
    stream_version  INTEGER NOT NULL,          -- first event of a stream is 1
    event_type      TEXT NOT NULL,             -- explicit, frozen name
    schema_version  INTEGER NOT NULL,
    payload         TEXT NOT NULL,             -- JSON in the shape of (event_type, schema_version)
    command_id      BLOB NOT NULL,
    device_id       BLOB NOT NULL,
    recorded_at     TEXT NOT NULL,
    UNIQUE (stream_key, stream_version)        -- also gives each stream's current version
);

-- A snapshot of an aggregate at some version, taken every few events so that a command
-- never folds a long stream. A cache: the log is the truth, and a missing, stale or
-- unreadable snapshot only means folding more events.
CREATE TABLE snapshots (
    stream_key  BLOB PRIMARY KEY,
    version     INTEGER NOT NULL,
    schema      INTEGER NOT NULL,              -- the aggregate's SNAPSHOT_VERSION
    state       TEXT NOT NULL
) WITHOUT ROWID;

-- Every command id ever executed here, with its first outcome (success or rejection).
CREATE TABLE command_log (
    command_id    BLOB PRIMARY KEY,
    command_type  TEXT NOT NULL,
    succeeded     INTEGER NOT NULL,
    outcome       TEXT NOT NULL,
    recorded_at   TEXT NOT NULL
) WITHOUT ROWID;

-- Commands this device made, in its own order, for the sync server. Rows are never
-- deleted (pushed ones are marked), so a plain rowid key never reuses a number.
CREATE TABLE outbox (
    device_seq    INTEGER PRIMARY KEY,
    command_id    BLOB NOT NULL,               -- unique: command_log holds every id once
    command_type  TEXT NOT NULL,
    command       TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    pushed_at     TEXT
);

-- The registration process manager's state, one row per order.
CREATE TABLE process_state (
    order_id  BLOB PRIMARY KEY,
    state     TEXT NOT NULL
) WITHOUT ROWID;

-- Commands to run at a time (reservation expiry); `tick` runs the due ones.
CREATE TABLE scheduled_commands (
    id        INTEGER PRIMARY KEY,
    due_at    TEXT NOT NULL,
    kind      TEXT NOT NULL,
    -- What the command is about (an order id), so it can be dropped once moot.
    key       BLOB NOT NULL,
    payload   TEXT NOT NULL,
    done_at   TEXT
);
CREATE INDEX scheduled_commands_due ON scheduled_commands (due_at) WHERE done_at IS NULL;
CREATE INDEX scheduled_commands_key ON scheduled_commands (key) WHERE done_at IS NULL;

-- Read models. All rebuildable from the log; persisted so startup never replays it.
CREATE TABLE rm_conferences (
    id           BLOB PRIMARY KEY,
    slug         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    location     TEXT NOT NULL,
    start_at     TEXT NOT NULL,
    end_at       TEXT NOT NULL,
    owner_name   TEXT NOT NULL,
    owner_email  TEXT NOT NULL,
    currency     TEXT NOT NULL,
    publication  TEXT NOT NULL
);

CREATE TABLE rm_seat_types (
    id             BLOB PRIMARY KEY,
    conference_id  BLOB NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL,
    price          TEXT NOT NULL,
    quantity       INTEGER NOT NULL,
    created_seq    INTEGER NOT NULL
);
CREATE INDEX rm_seat_types_by_conference ON rm_seat_types (conference_id, created_seq);

-- Seats per conference, seat type and holder ('pool' or a device id).
CREATE TABLE rm_seat_availability (
    conference_id  BLOB NOT NULL,
    seat_type_id   BLOB NOT NULL,
    holder         TEXT NOT NULL,
    remaining      INTEGER NOT NULL DEFAULT 0,
    reserved       INTEGER NOT NULL DEFAULT 0,
    sold           INTEGER NOT NULL DEFAULT 0,
    overridden     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conference_id, seat_type_id, holder)
) WITHOUT ROWID;

-- Pending (not yet committed or cancelled) reservations, to keep `reserved` exact.
CREATE TABLE rm_pending_reservations (
    order_id      BLOB NOT NULL,
    seat_type_id  BLOB NOT NULL,
    quantity      INTEGER NOT NULL,
    PRIMARY KEY (order_id, seat_type_id)
) WITHOUT ROWID;

CREATE TABLE rm_promo_codes (
    conference_id  BLOB NOT NULL,
    code           TEXT NOT NULL,
    definition     TEXT NOT NULL,
    max_uses       INTEGER,
    held           INTEGER NOT NULL DEFAULT 0,
    redeemed       INTEGER NOT NULL DEFAULT 0,
    created_seq    INTEGER NOT NULL,
    PRIMARY KEY (conference_id, code)
) WITHOUT ROWID;

CREATE TABLE rm_orders (
    id                BLOB PRIMARY KEY,
    conference_id     BLOB NOT NULL,
    access_code       TEXT NOT NULL,
    status            TEXT NOT NULL,
    total             TEXT NOT NULL DEFAULT '0',
    is_free_of_charge INTEGER NOT NULL DEFAULT 0,
    promo_codes       TEXT NOT NULL DEFAULT '[]',
    registrant_first  TEXT,
    registrant_last   TEXT,
    registrant_email  TEXT,
    expires_at        TEXT NOT NULL,
    placed_at         TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    device_id         BLOB NOT NULL,
    holder            TEXT NOT NULL,
    allow_override    INTEGER NOT NULL DEFAULT 0,
    payment_id        BLOB,
    cancel_reason     TEXT,
    -- An order's seats ([{seat_type_id, requested, reserved}]), priced lines
    -- ([{kind, description, quantity, unit_price, total}]) and seat assignments as JSON:
    -- always read and replaced whole, so a sale writes one row instead of four tables.
    seats             TEXT NOT NULL DEFAULT '[]',
    lines             TEXT NOT NULL DEFAULT '[]',
    -- Seat assignments once confirmed: [{position, seat_type_id, attendee}].
    assignments       TEXT NOT NULL DEFAULT '[]'
) WITHOUT ROWID;
CREATE INDEX rm_orders_by_conference ON rm_orders (conference_id, placed_at);
CREATE INDEX rm_orders_by_email ON rm_orders (registrant_email COLLATE NOCASE)
    WHERE registrant_email IS NOT NULL;
CREATE INDEX rm_orders_by_access_code ON rm_orders (access_code);

CREATE TABLE rm_payments (
    id           BLOB PRIMARY KEY,
    order_id     BLOB NOT NULL,
    method       TEXT NOT NULL,
    status       TEXT NOT NULL,
    amount       TEXT NOT NULL,
    tendered     TEXT,
    change_given TEXT,
    reference    TEXT,
    reason       TEXT,
    device_id    BLOB NOT NULL,
    updated_at   TEXT NOT NULL
) WITHOUT ROWID;
