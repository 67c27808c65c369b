//! Schema migrations, from the numbered SQL files in `migrations/local/`. Files are only
//! ever added, never edited: a store written by any earlier release migrates forward.
use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../../../migrations/local/0001_initial.sql")),
    M::up(include_str!("../../../migrations/local/0002_sync.sql")),
];

pub(crate) fn migrate(conn: &mut Connection) -> Result<(), rusqlite_migration::Error> {
    Migrations::from_slice(MIGRATIONS).to_latest(conn)
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(
            rusqlite_migration::Migrations::from_slice(super::MIGRATIONS)
                .validate()
                .is_ok()
        );
    }
}
