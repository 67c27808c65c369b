//! Schema migrations, from the numbered SQL files in `migrations/local/`. Files are only
//! ever added, never edited: a store written by any earlier release migrates forward.
use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

const INITIAL: &str = include_str!("../../../migrations/local/0001_initial.sql");
const SYNC: &str = include_str!("../../../migrations/local/0002_sync.sql");
const PAYMENTS_ON_ORDERS: &str =
    include_str!("../../../migrations/local/0003_payments_on_orders.sql");
const OUTBOX_READS: &str = include_str!("../../../migrations/local/0004_outbox_reads.sql");
const SET_ASIDE: &str = include_str!("../../../migrations/local/0005_set_aside.sql");
const SERVER_PIN: &str = include_str!("../../../migrations/local/0006_server_pin.sql");

/// Every migration's SQL, in order; `PRAGMA user_version` counts how many a store has.
pub(crate) const LOCAL: &[&str] = &[
    INITIAL,
    SYNC,
    PAYMENTS_ON_ORDERS,
    OUTBOX_READS,
    SET_ASIDE,
    SERVER_PIN,
];

const MIGRATIONS: &[M<'static>] = &[
    M::up(INITIAL),
    M::up(SYNC),
    M::up(PAYMENTS_ON_ORDERS),
    M::up(OUTBOX_READS),
    M::up(SET_ASIDE),
    M::up(SERVER_PIN),
];

/// Two processes opening a new store at once (the desktop app and the CLI) can both see
/// it unmigrated; the loser's attempt fails on what the winner created, and the next
/// attempt finds it migrated.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), rusqlite_migration::Error> {
    let migrations = Migrations::from_slice(MIGRATIONS);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match migrations.to_latest(conn) {
            Ok(()) => return Ok(()),
            Err(_) if attempt < 3 => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_migration_is_listed_for_v1_stores_too() {
        assert_eq!(super::LOCAL.len(), super::MIGRATIONS.len());
    }

    #[test]
    fn migrations_are_valid() {
        assert!(
            rusqlite_migration::Migrations::from_slice(super::MIGRATIONS)
                .validate()
                .is_ok()
        );
    }
}
