//! The store file itself: WAL mode with full sync, migrations that run once and again
//! without change, and a unit of work that needs an initialized store.
use crate::helpers::{cash, ctx, demo_app, event_count, minute, read_models, sale, temp_store};
use conference_app::{App, new_command_id};
use conference_store::{Store, StoreError};

#[test]
fn the_store_file_runs_in_wal_mode_with_full_sync_and_migrates_idempotently() {
    let ts = temp_store();
    let schema = |store: &Store| -> Vec<(String, String)> {
        store
            .reader()
            .prepare("SELECT name, COALESCE(sql, '') FROM sqlite_master ORDER BY type, name")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let user_version = |store: &Store| -> i64 {
        store
            .reader()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    };
    let (schema_first, version_first) = {
        let store = Store::open(&ts.path).expect("first open");
        let journal: String = store
            .reader()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(journal.to_ascii_lowercase(), "wal");
        let synchronous: i64 = store
            .reader()
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(synchronous, 2, "synchronous=FULL");
        (schema(&store), user_version(&store))
    };
    assert!(version_first >= 1, "migrations ran");
    assert!(schema_first.iter().any(|(name, _)| name == "events"));

    // WAL is a property of the file: a plain connection sees it too.
    let plain = rusqlite::Connection::open(&ts.path).unwrap();
    let journal: String = plain
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(journal.to_ascii_lowercase(), "wal");
    drop(plain);

    // Opening again (also while another handle is open, with data in it) changes nothing.
    let mut app = demo_app(&ts.path);
    app.sell(&ctx(1), &sale(&["Full=1"], &[], cash("100")))
        .expect("sell");
    let events = event_count(&ts.path);
    let models = read_models(&ts.path);
    for _ in 0..2 {
        let again = Store::open(&ts.path).expect("reopen");
        assert_eq!(schema(&again), schema_first);
        assert_eq!(user_version(&again), version_first);
        assert_eq!(again.event_count().unwrap(), events as u64);
        assert!(again.device().unwrap().is_some());
    }
    drop(app);
    let app = App::open(&ts.path).expect("reopen the app");
    assert_eq!(app.device().unwrap().name, "test device");
    assert_eq!(event_count(&ts.path), events);
    assert_eq!(read_models(&ts.path), models);
}

#[test]
fn beginning_a_unit_needs_an_initialized_store() {
    let ts = temp_store();
    let mut store = Store::open(&ts.path).unwrap();
    assert!(matches!(
        store.begin(new_command_id(), minute(0)),
        Err(StoreError::NotInitialized)
    ));
}
