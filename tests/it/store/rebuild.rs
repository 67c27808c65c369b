//! Read models: the persisted read models equal a rebuild from the log after every kind
//! of use case.
use super::realistic_mix;
use crate::helpers::{event_count, read_models, rebuilt_read_models, temp_store};
use conference_store::Store;

#[test]
fn persisted_read_models_equal_a_rebuild_from_the_log_after_every_kind_of_use_case() {
    let ts = temp_store();
    let app = realistic_mix(&ts.path);

    // The mix really left every kind of row behind (so the comparison is not vacuous).
    let seats = app.seats("demo").unwrap();
    let student = seats
        .seat_types
        .iter()
        .find(|s| s.name == "Student")
        .unwrap();
    assert_eq!(
        (student.sold, student.reserved, student.remaining),
        (1, 2, 0)
    );
    let full = seats.seat_types.iter().find(|s| s.name == "Full").unwrap();
    assert_eq!((full.sold, full.reserved, full.remaining), (2, 1, 7));
    let early = app
        .conference("demo")
        .unwrap()
        .promo_codes
        .into_iter()
        .find(|p| p.code == "EARLY")
        .unwrap();
    assert_eq!((early.held, early.redeemed), (1, 0));
    let mut statuses: Vec<String> = app
        .orders(Some("demo"))
        .unwrap()
        .into_iter()
        .map(|o| o.status)
        .collect();
    statuses.sort();
    statuses.dedup();
    assert_eq!(
        statuses,
        [
            "cancelled",
            "confirmed",
            "expired",
            "partially_reserved",
            "reserved"
        ]
    );
    drop(app);

    let persisted = read_models(&ts.path);
    for table in [
        "rm_conferences",
        "rm_seat_types",
        "rm_seat_availability",
        "rm_pending_reservations",
        "rm_promo_codes",
        "rm_orders",
    ] {
        assert!(
            persisted
                .iter()
                .any(|l| l.starts_with(&format!("{table}:"))),
            "{table} has rows"
        );
    }
    assert_eq!(persisted, rebuilt_read_models(&ts.path));

    // Rebuilding in place replays every event and changes nothing.
    let mut store = Store::open(&ts.path).unwrap();
    let mut last_progress = (0, 0);
    let replayed = store
        .rebuild_read_models(|done, total| last_progress = (done, total))
        .unwrap();
    assert_eq!(replayed, event_count(&ts.path) as u64);
    assert_eq!(last_progress, (replayed, replayed));
    drop(store);
    assert_eq!(read_models(&ts.path), persisted);
}
