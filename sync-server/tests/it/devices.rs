//! The device side of sync (`conference_app`'s sync over its HTTP transport) against this
//! server: what a real box office does, end to end.
use crate::helpers::{Local, minute, spawn_sync_server};
use conference_app::App;
use conference_app::http::HttpTransport;
use conference_sync_server::Role;

/// Runs a blocking sync step off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking step")
}

/// A server on this machine over plain HTTP, as the test server serves.
fn link(base: &str, token: &str) -> conference_app::ServerLink {
    conference_app::ServerLink {
        url: base.to_string(),
        token: token.to_string(),
        pin: None,
        insecure_http: false,
    }
}

fn sync(app: &mut App, base: &str, token: &str, at: i64) -> conference_app::sync::SyncReport {
    let transport = HttpTransport::new(&link(base, token)).expect("transport");
    app.sync(&transport, minute(at)).expect("sync")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organizer_and_two_doors_sell_from_their_allotments_and_agree() {
    let server = spawn_sync_server().await;
    let base = server.base.clone();
    let mut organizer = Local::new(&server.add_device("organizer", Role::Organizer, &[]), true);
    organizer.create_conference("demo", &[("Full", "100", 5)]);
    let token = organizer.device.token.clone();
    let (organizer, report) = blocking({
        let base = base.clone();
        move || {
            let mut organizer = organizer;
            let report = sync(&mut organizer.app, &base, &token, 0);
            (organizer, report)
        }
    })
    .await;
    assert_eq!(
        (report.pushed, report.applied, report.rejected),
        (3, 3, 0),
        "{report:?}"
    );

    let mut doors = Vec::new();
    for (name, seats) in [("door 1", "Full=3"), ("door 2", "Full=3")] {
        let local = Local::new(&server.add_device(name, Role::Door, &["demo"]), true);
        let base = base.clone();
        let seats = seats.to_string();
        doors.push(
            blocking(move || {
                let mut local = local;
                let token = local.device.token.clone();
                sync(&mut local.app, &base, &token, 1);
                let transport = HttpTransport::new(&link(&base, &token)).unwrap();
                let (granted, _) = local
                    .app
                    .request_allotment(&transport, &crate::helpers::ctx(2), "demo", &[seats])
                    .expect("allotment");
                (local, granted)
            })
            .await,
        );
    }
    let granted: Vec<u32> = doors
        .iter()
        .map(|(_, g)| g.seats.iter().map(|s| s.quantity).sum())
        .collect();
    assert_eq!(granted, [3, 2], "the pool had 5");

    // Both doors sell offline what they hold, then sync.
    let mut sold = Vec::new();
    for ((mut local, granted), at) in doors.into_iter().zip([3, 4]) {
        let base = base.clone();
        let quantity: u32 = granted.seats.iter().map(|s| s.quantity).sum();
        sold.push(
            blocking(move || {
                let token = local.device.token.clone();
                for _ in 0..quantity {
                    local.sell("demo", &["Full=1"], false);
                }
                let report = sync(&mut local.app, &base, &token, at);
                assert_eq!(report.rejected, 0, "{report:?}");
                (local, report)
            })
            .await,
        );
    }

    // Everyone agrees on what was sold, and nothing is left anywhere.
    let (organizer, _) = blocking({
        let base = base.clone();
        move || {
            let mut organizer = organizer;
            let token = organizer.device.token.clone();
            let report = sync(&mut organizer.app, &base, &token, 5);
            (organizer, report)
        }
    })
    .await;
    let orders = organizer.app.orders(Some("demo")).expect("orders");
    assert_eq!(orders.len(), 5);
    assert!(orders.iter().all(|o| o.status == "confirmed"), "{orders:?}");
    let seats = organizer.app.seats("demo").expect("seats");
    assert_eq!(seats.seat_types[0].sold, 5);
    assert_eq!(seats.seat_types[0].remaining, 0);
    assert!(server.reconciliation(&organizer.device).await.is_empty());
}
