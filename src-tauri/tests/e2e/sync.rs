//! Windows against a real sync server: two doors see each other's sales and the back office
//! reconciles them; a door keeps selling from its allotment while the server is down and
//! syncs when it is back.
use crate::harness::{self, Session, SyncServer};
use crate::{new_sale, set_quantity, wait_remaining};
use conference_app::http::HttpTransport;
use conference_app::{App, Ctx, NewConference, NewPromoCode};
use std::path::{Path, PathBuf};

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// DevConf with Full (120.00 × 20) and Student (40.00 × 10), and ONCE (50 % off, one use),
/// created on an organizer's store that then hands its pool to the server.
fn organizer(store: &Path, code: &str, name: &str) {
    let mut app = App::open(store).expect("open the organizer's store");
    app.init(name, now()).expect("init");
    let day = |d: u32| {
        chrono::NaiveDate::from_ymd_opt(2026, 12, d)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .expect("a day")
            .and_utc()
    };
    app.create_conference(
        &Ctx::new(now()),
        NewConference {
            slug: "devconf".into(),
            name: "DevConf 2026".into(),
            location: "Berlin".into(),
            start: Some(day(1)),
            end: Some(day(2)),
            owner_name: "Ada Lovelace".into(),
            owner_email: "ada@example.com".into(),
            currency: Some("EUR".into()),
            ..NewConference::default()
        },
    )
    .expect("create");
    app.add_seat_type(&Ctx::new(now()), "devconf", "Full", "", "120", 20)
        .expect("Full");
    app.add_seat_type(&Ctx::new(now()), "devconf", "Student", "", "40", 10)
        .expect("Student");
    app.add_promo_code(
        &Ctx::new(now()),
        "devconf",
        &NewPromoCode {
            code: "ONCE".into(),
            percent: Some("50".into()),
            max_uses: Some(1),
            ..NewPromoCode::default()
        },
    )
    .expect("ONCE");
    app.publish(&Ctx::new(now()), "devconf", true)
        .expect("publish");
    join(&mut app, code);
}

/// Enrolls a store with its code (pinning the server's certificate) and syncs once.
fn join(app: &mut App, code: &str) {
    let link = app.enroll(code, false).expect("enroll");
    let transport = HttpTransport::new(&link).expect("a transport");
    app.sync(&transport, now()).expect("the first sync");
}

fn door(store: &Path, code: &str, name: &str) {
    let mut app = App::open(store).expect("open the door's store");
    app.init(name, now()).expect("init");
    join(&mut app, code);
}

/// Blocking setup (the app's HTTP transport is blocking) off the test's async workers.
async fn off_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .expect("the setup step ran")
}

async fn sync_now(s: &Session) {
    s.click("#sync-now-header").await;
    s.text_until("#pending-count", |t| t == "0 pending").await;
    s.text_until("#online-state", |t| t == "Online").await;
}

/// Settings: asks the pool for `quantity` seats of `seat_type` and waits for the grant.
async fn request_allotment(s: &Session, seat_type: &str, quantity: u32) {
    s.click("#nav-settings").await;
    s.type_into(
        &format!("#allotment-table tr[data-seat-type='{seat_type}'] .allot-qty"),
        &quantity.to_string(),
    )
    .await;
    s.click("#allot-request").await;
    let expected = format!("Granted {quantity} {seat_type}.");
    s.text_until("#allot-done", move |t| t == expected).await;
    let mine = quantity.to_string();
    s.text_until(
        &format!("#allotment-table tr[data-seat-type='{seat_type}'] .mine"),
        move |t| t == mine,
    )
    .await;
}

/// Door: sells one order of `quantity` Full seats with ONCE; returns its access code.
async fn sell_full_with_once(s: &Session, quantity: u32, card: bool) -> String {
    s.click("#nav-door").await;
    s.find("#seat-cards").await;
    set_quantity(s, "Full", quantity).await;
    s.type_into("#promo", "ONCE").await;
    s.click("#promo-apply").await;
    let total = format!("EUR {}.00", 60 * quantity);
    s.text_until("#quote-total", move |t| t == total).await;
    if card {
        s.click("#method-card").await;
        s.type_into("#reference", "T-77").await;
    }
    s.click("#complete-sale").await;
    let code = s.text_until("#access-code", |t| t.len() == 6).await;
    new_sale(s).await;
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_windows_see_each_others_sales_and_the_back_office_reconciles_them() {
    let server = SyncServer::start();
    let front_token = server.add_device("Front door", "organizer", &[]);
    let side_token = server.add_device("Side door", "door", &["devconf"]);
    let dir = tempfile::tempdir().expect("a folder for the stores");
    let (front, side) = (dir.path().join("front.db"), dir.path().join("side.db"));
    let (f, s) = (front.clone(), side.clone());
    off_thread(move || {
        organizer(&f, &front_token, "Front door");
        door(&s, &side_token, "Side door");
    })
    .await;

    let turn = harness::turn().await;
    let a = Session::start_on(&turn, &front, "Front door").await;
    let b = Session::start_on(&turn, &side, "Side door").await;

    // Connected, a door sells only from its allotment: none yet, so the card says where
    // to get one.
    let hint = a
        .text_until("[data-seat-type='Full'] .remaining", |t| {
            t.contains("request an allotment")
        })
        .await;
    assert_eq!(
        hint,
        "None on this device: request an allotment in Settings"
    );
    a.screenshot("20-door-needs-allotment").await;

    // Settings: a new device name, and seats from the pool.
    a.click("#nav-settings").await;
    a.type_into("#device-name-input", "Front door (office)")
        .await;
    a.click("#rename-save").await;
    a.text_until("#device-name", |t| t == "Front door (office)")
        .await;
    request_allotment(&a, "Full", 5).await;
    a.screenshot("21-settings-allotment").await;
    request_allotment(&b, "Full", 5).await;

    // The side door watches its cards while the front door sells and syncs: the server's
    // live feed brings the sale over without anyone pressing Sync now at the side door
    // (the harness sets the fallback poll to an hour, so only the feed can do it).
    b.click("#nav-door").await;
    b.text_until("[data-seat-type='Full'] .allotment", |t| {
        t == "This device: 5 of 20 left overall"
    })
    .await;

    // Each door sells with ONCE (one use only); both sales stand, the second to reach the
    // server goes to the reconciliation queue.
    let code_a = sell_full_with_once(&a, 1, false).await;
    wait_remaining(&a, "Full", "4").await;
    sync_now(&a).await;
    b.text_until("[data-seat-type='Full'] .allotment", |t| {
        t == "This device: 5 of 19 left overall"
    })
    .await;
    wait_remaining(&b, "Full", "5").await;
    b.screenshot("26-door-live-update").await;
    let code_b = sell_full_with_once(&b, 2, true).await;
    sync_now(&b).await;
    sync_now(&a).await;
    sync_now(&b).await;

    // The side door sees the front door's sale.
    b.click("#nav-orders").await;
    b.type_into("#order-search", &code_a).await;
    b.find(&format!("#orders-table tr[data-access-code='{code_a}']"))
        .await;

    // The back office sees both, adds them up per device and method, and shows the queue.
    a.click("#nav-office").await;
    a.find(&format!("#office-orders tr[data-access-code='{code_b}']"))
        .await;
    a.find(&format!("#office-orders tr[data-access-code='{code_a}']"))
        .await;
    a.text_until("#grand-total", |t| t == "EUR 180.00").await;
    a.text_until("#device-totals tr.mine .cash-amount", |t| t == "EUR 60.00")
        .await;
    a.text_until("#device-totals tr:not(.mine):not(.sum) .card-amount", |t| {
        t == "EUR 120.00"
    })
    .await;
    a.text_until("#method-totals tr[data-method='card'] .total", |t| {
        t == "EUR 120.00"
    })
    .await;
    a.find("#sales-chart .bar rect").await;
    let mut charted = 0;
    for bar in a
        .driver()
        .find_all(thirtyfour::By::Css("#sales-chart .bar"))
        .await
        .expect("the chart's bars")
    {
        let seats = bar.attr("data-seats").await.expect("data-seats");
        charted += seats.and_then(|s| s.parse::<u32>().ok()).unwrap_or(0);
    }
    assert_eq!(charted, 3, "the chart shows every seat sold");
    let item = a
        .text_until("#queue-items li[data-kind='promo_overuse']", |t| {
            t.contains("ONCE")
        })
        .await;
    assert!(item.contains("Promo code used past its limit"), "{item}");
    a.screenshot("22-back-office").await;

    // Export: every device's orders to a chosen file, one row per order line.
    let csv_path: PathBuf = dir.path().join("devconf-orders.csv");
    a.type_into("#export-path", &csv_path.display().to_string())
        .await;
    a.click("#export-run").await;
    a.text_until("#export-done", |t| t.starts_with("Wrote 4 rows"))
        .await;
    let csv = std::fs::read_to_string(&csv_path).expect("the exported file");
    assert!(csv.contains(&code_a) && csv.contains(&code_b), "{csv}");

    // Resolving the item takes it off the queue.
    a.click("#queue-items li[data-kind='promo_overuse'] button.resolve")
        .await;
    a.find("#queue-empty").await;
    a.screenshot("23-back-office-resolved").await;

    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_door_sells_from_its_allotment_while_the_server_is_down_and_syncs_when_it_returns() {
    let mut server = SyncServer::start();
    let office_token = server.add_device("Office", "organizer", &[]);
    let door_token = server.add_device("Door 3", "door", &["devconf"]);
    let dir = tempfile::tempdir().expect("a folder for the stores");
    let (office, door_store) = (dir.path().join("office.db"), dir.path().join("door.db"));
    let (o, d) = (office.clone(), door_store.clone());
    off_thread(move || {
        organizer(&o, &office_token, "Office");
        let mut app = App::open(&d).expect("open the door's store");
        app.init("Door 3", now()).expect("init");
    })
    .await;

    // The door is enrolled as a person does it: the admin's code pasted in Settings (it
    // pins the server's certificate; the server speaks TLS).
    let turn = harness::turn().await;
    let s = Session::start_on(&turn, &door_store, "Door 3").await;
    s.click("#nav-settings").await;
    s.type_into("#server-code", &door_token).await;
    s.click("#server-save").await;
    s.text_until("#server-saved", |t| {
        t == "Enrolled. Sync runs in the background."
    })
    .await;
    let left = s
        .find("#server-code")
        .await
        .prop("value")
        .await
        .expect("the code field's value");
    assert_eq!(
        left.as_deref(),
        Some(""),
        "the code (it holds the token) is cleared"
    );
    s.find("#allotment-table tr[data-seat-type='Full']").await;
    s.screenshot("settings-enrolled").await;
    request_allotment(&s, "Full", 3).await;
    s.text_until("#online-state", |t| t == "Online").await;

    // The server goes away: the next sync says so, and the door keeps selling.
    server.stop();
    s.click("#sync-now-header").await;
    s.text_until("#online-state", |t| t == "Offline").await;
    s.click("#nav-door").await;
    wait_remaining(&s, "Full", "3").await;
    let mut codes = Vec::new();
    for _ in 0..2 {
        set_quantity(&s, "Full", 1).await;
        s.text_until("#quote-total", |t| t == "EUR 120.00").await;
        s.click("#complete-sale").await;
        codes.push(s.text_until("#access-code", |t| t.len() == 6).await);
        new_sale(&s).await;
    }
    wait_remaining(&s, "Full", "1").await;
    let pending = s.text_until("#pending-count", |t| t != "0 pending").await;
    assert!(pending.ends_with(" pending"), "{pending}");
    s.screenshot("24-door-offline").await;

    // Back on the same address: one sync sends everything.
    server.restart();
    sync_now(&s).await;
    s.screenshot("25-door-synced").await;

    // The last unsold seat goes back to the pool; the door then says where to get more.
    s.click("#nav-settings").await;
    s.type_into("#allotment-table tr[data-seat-type='Full'] .allot-qty", "1")
        .await;
    s.click("#allot-return").await;
    s.text_until("#allot-done", |t| {
        t == "Gave back 1 Full; the pool has them again."
    })
    .await;
    s.text_until("#allotment-table tr[data-seat-type='Full'] .mine", |t| {
        t == "0"
    })
    .await;
    s.click("#nav-door").await;
    s.text_until("[data-seat-type='Full'] .remaining", |t| {
        t.contains("request an allotment in Settings")
    })
    .await;

    // The organizer's store sees both sales after its own sync.
    let orders = off_thread(move || {
        let mut app = App::open(&office).expect("open the office store");
        let link = app.sync_settings().expect("settings").expect("a server");
        let transport = HttpTransport::new(&link).expect("a transport");
        app.sync(&transport, now()).expect("the office syncs");
        app.orders(Some("devconf")).expect("orders")
    })
    .await;
    for code in &codes {
        let order = orders
            .iter()
            .find(|o| &o.access_code == code)
            .unwrap_or_else(|| panic!("the office has order {code}"));
        assert_eq!(order.status, "confirmed");
    }
    s.stop().await;
}
