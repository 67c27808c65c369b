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
const ORDER_SEARCH: &str = include_str!("../../../migrations/local/0007_order_search.sql");

/// Every migration's SQL, in order; `PRAGMA user_version` counts how many a store has.
pub(crate) const LOCAL: &[&str] = &[
    INITIAL,
    SYNC,
    PAYMENTS_ON_ORDERS,
    OUTBOX_READS,
    SET_ASIDE,
    SERVER_PIN,
    ORDER_SEARCH,
];

const MIGRATIONS: &[M<'static>] = &[
    M::up(INITIAL),
    M::up(SYNC),
    M::up(PAYMENTS_ON_ORDERS),
    M::up(OUTBOX_READS),
    M::up(SET_ASIDE),
    M::up(SERVER_PIN),
    M::up(ORDER_SEARCH),
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

    /// A store written before seat counts were a column gets them from its orders' seats:
    /// per seat type those reserved, or those asked for before anything is reserved.
    #[test]
    fn seat_counts_are_filled_in_for_orders_written_before_them() {
        let mut conn = rusqlite::Connection::open_in_memory().expect("memory");
        rusqlite_migration::Migrations::from_slice(&super::MIGRATIONS[..6])
            .to_latest(&mut conn)
            .expect("the schema before seat counts");
        let seats = r#"[{"seat_type_id":"00000000-0000-0000-0000-000000000001","requested":3,"reserved":2},
                        {"seat_type_id":"00000000-0000-0000-0000-000000000002","requested":4,"reserved":0}]"#;
        for (id, seats) in [(1u8, seats), (2, "[]")] {
            conn.execute(
                "INSERT INTO rm_orders (id, conference_id, access_code, status, expires_at, placed_at, updated_at, device_id, holder, seats)
                 VALUES (?1, x'02', 'ABC123', 'confirmed', 't', 't', 't', x'03', 'pool', ?2)",
                rusqlite::params![vec![id], seats],
            )
            .expect("an order row");
        }
        super::migrate(&mut conn).expect("migrate");
        let counts: Vec<u32> = conn
            .prepare("SELECT seat_count FROM rm_orders ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(counts, vec![6, 0]);
    }
}
