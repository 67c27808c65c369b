//! End-to-end tests through the real desktop window (Xvfb + tauri-driver + WebKitWebDriver).
//! Each test opens the built app on a store of its own; screenshots of each screen land in
//! `target/screenshots/`. `cargo xtask test` installs what these need.
mod harness;
mod large;
mod sync;

use conference_app::{App, Ctx, NewConference, NewPromoCode};
use harness::Session;
use std::path::Path;
use std::time::Instant;
use thirtyfour::prelude::*;

/// The number a seat card shows as left for `seat_type`.
async fn remaining(s: &Session, seat_type: &str) -> String {
    s.find(&format!("[data-seat-type='{seat_type}'] .remaining"))
        .await
        .attr("data-remaining")
        .await
        .expect("read data-remaining")
        .unwrap_or_default()
}

async fn wait_remaining(s: &Session, seat_type: &str, expected: &str) {
    let shown = if expected == "0" {
        "Sold out".to_string()
    } else {
        format!("{expected} left")
    };
    s.text_until(
        &format!("[data-seat-type='{seat_type}'] .remaining"),
        move |t| t == shown,
    )
    .await;
    assert_eq!(remaining(s, seat_type).await, expected);
}

async fn set_quantity(s: &Session, seat_type: &str, quantity: u32) {
    s.type_into(
        &format!("[data-seat-type='{seat_type}'] input.qty"),
        &quantity.to_string(),
    )
    .await;
}

async fn new_sale(s: &Session) {
    s.click("#new-sale").await;
    s.find("#seat-cards").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organizer_sets_up_a_conference_and_the_door_sells_it() {
    let s = Session::start(|_| {}).await;

    // An empty store: the door says where to start.
    s.find("#door-empty").await;
    s.screenshot("01-door-empty").await;

    // Setup: a wrong email is refused at its field, then the conference is created.
    s.click("#nav-setup").await;
    s.type_into("#conf-name", "RustConf Berlin").await;
    s.type_into("#conf-slug", "rustconf").await;
    s.type_into("#conf-start", "2026-12-01").await;
    s.type_into("#conf-end", "2026-12-02").await;
    s.type_into("#conf-location", "Berlin").await;
    s.type_into("#conf-owner-name", "Ada Lovelace").await;
    s.type_into("#conf-owner-email", "ada-at-example.com").await;
    s.click("#conf-create").await;
    let error = s.text_until("#conf-email-error", |t| !t.is_empty()).await;
    assert!(error.contains("not an email address"), "{error}");
    s.screenshot("02-setup-field-error").await;
    s.type_into("#conf-owner-email", "ada@example.com").await;
    s.click("#conf-create").await;
    s.find("#conference-detail[data-slug='rustconf']").await;

    // Two seat types (one free) and a promo code; a bad quantity is refused at its field.
    s.type_into("#seat-name", "Full").await;
    s.type_into("#seat-price", "120").await;
    s.type_into("#seat-quantity", "ten").await;
    s.click("#seat-add").await;
    s.text_until("#seat-quantity-error", |t| t.contains("whole number"))
        .await;
    s.type_into("#seat-quantity", "10").await;
    s.click("#seat-add").await;
    s.find("#seat-types tr[data-seat-type='Full']").await;
    s.type_into("#seat-name", "Speaker").await;
    s.type_into("#seat-price", "0").await;
    s.type_into("#seat-quantity", "3").await;
    s.click("#seat-add").await;
    s.find("#seat-types tr[data-seat-type='Speaker']").await;
    s.type_into("#promo-code", "EARLY").await;
    s.type_into("#promo-value", "15").await;
    s.click("#promo-add").await;
    s.find("#promo-codes tr[data-code='EARLY']").await;
    assert_eq!(s.find("#publication").await.text().await.unwrap(), "draft");
    s.click("#publish-toggle").await;
    s.text_until("#publication", |t| t == "published").await;
    s.screenshot("03-setup-published").await;

    // Door: a paid cash order; remaining seats drop on screen.
    s.click("#nav-door").await;
    wait_remaining(&s, "Full", "10").await;
    wait_remaining(&s, "Speaker", "3").await;
    set_quantity(&s, "Full", 2).await;
    s.text_until("#quote-total", |t| t == "EUR 240.00").await;
    s.type_into("#first-name", "Grace").await;
    s.type_into("#last-name", "Hopper").await;
    s.type_into("#email", "grace@example.com").await;
    s.type_into("#tendered", "250").await;
    s.text_until("#change", |t| t == "Change: EUR 10.00").await;
    s.screenshot("04-door-cash-order").await;
    s.click("#complete-sale").await;
    let code = s.text_until("#access-code", |t| t.len() == 6).await;
    s.text_until("#receipt-payment", |t| t.contains("change EUR 10.00"))
        .await;
    s.find("#qr svg").await;
    s.screenshot("05-receipt-cash").await;
    new_sale(&s).await;
    wait_remaining(&s, "Full", "8").await;

    // A zero-cost order goes straight to confirmation.
    set_quantity(&s, "Speaker", 1).await;
    s.find("#free-note").await;
    s.text_until("#complete-sale", |t| t == "Confirm free order")
        .await;
    s.click("#complete-sale").await;
    s.text_until("#receipt-payment", |t| t.contains("free of charge"))
        .await;
    s.text_until("#receipt h2", |t| t == "Sale complete").await;
    s.screenshot("06-receipt-free").await;
    new_sale(&s).await;
    wait_remaining(&s, "Speaker", "2").await;

    // A promo code: a wrong one is refused with its reason, the right one adds a line.
    set_quantity(&s, "Full", 1).await;
    s.type_into("#promo", "LATE").await;
    s.find("#promo").await.send_keys(Key::Enter).await.unwrap();
    let refused = s.text_until("#promo-error", |t| !t.is_empty()).await;
    assert!(refused.contains("does not exist"), "{refused}");
    s.text_until("#quote-total", |t| t == "EUR 120.00").await;
    s.click(".chip[data-code='LATE'] .chip-x").await;
    s.gone("#promo-error").await;
    s.type_into("#promo", "early").await;
    s.click("#promo-apply").await;
    s.text_until("#quote-lines tr.discount", |t| {
        t.contains("EARLY") && t.contains("EUR 18.00")
    })
    .await;
    s.text_until("#quote-total", |t| t == "EUR 102.00").await;
    s.click("#method-card").await;
    s.type_into("#reference", "T-4711").await;
    s.screenshot("07-door-promo-card").await;
    s.click("#complete-sale").await;
    s.text_until("#receipt-total", |t| t == "EUR 102.00").await;
    s.text_until("#receipt-payment", |t| t.contains("T-4711"))
        .await;
    new_sale(&s).await;
    wait_remaining(&s, "Full", "7").await;

    // Partial availability: 5 Speaker seats asked, 2 left; the sale takes 2 and says so.
    set_quantity(&s, "Speaker", 5).await;
    let short = s.text_until(".shortage", |t| !t.is_empty()).await;
    assert_eq!(
        short,
        "Only 2 of the 5 Speaker seats are left; the sale takes 2"
    );
    s.screenshot("08-door-partial").await;
    s.click("#complete-sale").await;
    s.text_until("#partial-note", |t| {
        t == "2 of 5 Speaker seats could be reserved"
    })
    .await;
    s.screenshot("09-receipt-partial").await;
    new_sale(&s).await;
    wait_remaining(&s, "Speaker", "0").await;
    wait_remaining(&s, "Full", "7").await;
    s.text_until("#pending-count", |t| t == "9 pending").await;
    s.screenshot("10-door-after-sales").await;

    // Orders: the first sale is found by its access code.
    s.click("#nav-orders").await;
    s.type_into("#order-search", &code).await;
    s.click(&format!("tr[data-access-code='{code}'] .open-order"))
        .await;
    s.text_until("#order-status", |t| t == "confirmed").await;
    s.screenshot("11-orders").await;
    s.stop().await;
}

/// A published conference with plenty of seats, written straight into the store.
fn seed(store: &Path) {
    let mut app = App::open(store).expect("open the store");
    let now = chrono::Utc::now();
    app.init("Timing door", now).expect("init");
    let day = |d: &str| {
        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap()
            .and_utc()
    };
    app.create_conference(
        &Ctx::new(now),
        NewConference {
            slug: "devconf".into(),
            name: "DevConf 2026".into(),
            start: Some(day("2026-12-01")),
            end: Some(day("2026-12-02")),
            owner_name: "Ada Lovelace".into(),
            owner_email: "ada@example.com".into(),
            currency: Some("EUR".into()),
            ..NewConference::default()
        },
    )
    .unwrap();
    app.add_seat_type(&Ctx::new(now), "devconf", "Full", "", "120", 500)
        .unwrap();
    app.add_seat_type(&Ctx::new(now), "devconf", "Student", "", "40", 100)
        .unwrap();
    app.add_promo_code(
        &Ctx::new(now),
        "devconf",
        &NewPromoCode {
            code: "EARLY".into(),
            percent: Some("15".into()),
            ..NewPromoCode::default()
        },
    )
    .unwrap();
    app.publish(&Ctx::new(now), "devconf", true).unwrap();
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Ten sales with the keyboard alone (type, Enter to move on, Enter to sell, Enter for the
/// next sale). Prints cold start to an interactive door screen, the median time from
/// "Complete sale" to the receipt, and the app's peak memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn door_sells_with_the_keyboard_alone_and_reports_timings() {
    let s = Session::start(seed).await;
    s.find("[data-seat-type='Full'] input.qty").await;
    let cold_start = s.started.elapsed();
    let mut receipt_ms = Vec::new();
    for sale in 0..10u32 {
        let first = s.find("[data-seat-type='Full'] input.qty").await;
        first.focus().await.expect("focus the first quantity");
        first.clear().await.unwrap();
        first.send_keys("1").await.unwrap();
        s.text_until("#quote-total", |t| t == "EUR 120.00").await;
        // Enter moves on through Student, promo, names and payment; the last Enter sells.
        let keys = [
            "" + Key::Enter,                                // → Student quantity
            "" + Key::Enter,                                // → promo
            "" + Key::Enter,                                // → first name
            "Alan" + Key::Enter,                            // → last name
            "Turing" + Key::Enter,                          // → email
            format!("alan{sale}@example.com") + Key::Enter, // → cash
            "" + Key::Enter,                                // → tendered
        ];
        for key in keys {
            let active = s.driver().active_element().await.unwrap();
            active.send_keys(key).await.unwrap();
        }
        let tendered = s.driver().active_element().await.unwrap();
        assert_eq!(tendered.id().await.unwrap().as_deref(), Some("tendered"));
        let clicked = Instant::now();
        tendered.send_keys("200" + Key::Enter).await.unwrap();
        s.text_until("#access-code", |t| t.len() == 6).await;
        let in_page: f64 = s
            .find("#receipt")
            .await
            .attr("data-elapsed-ms")
            .await
            .unwrap()
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN);
        receipt_ms.push(in_page);
        eprintln!(
            "e2e: sale {sale}: {in_page:.1} ms in the page, {:.1} ms seen by the driver",
            clicked.elapsed().as_secs_f64() * 1000.0
        );
        if sale == 0 {
            s.screenshot("12-receipt-keyboard").await;
        }
        // The receipt focuses "New sale": Enter starts the next one.
        let active = s.driver().active_element().await.unwrap();
        assert_eq!(active.id().await.unwrap().as_deref(), Some("new-sale"));
        active.send_keys("" + Key::Enter).await.unwrap();
        s.find("#seat-cards").await;
    }
    wait_remaining(&s, "Full", "490").await;
    let rss = s.peak_rss_mib();
    let report = format!(
        "cold start to an interactive door-sales screen: {:.0} ms\n\
         \"Complete sale\" to the receipt, median of 10 keyboard-only sales: {:.1} ms\n\
         peak RSS of the app and its WebKit processes: {rss:.0} MiB\n",
        cold_start.as_secs_f64() * 1000.0,
        median(receipt_ms)
    );
    println!("{report}");
    std::fs::write(harness::screenshot_dir().join("timings.txt"), report).expect("save timings");
    s.stop().await;
}

/// Writes a store as box office V1 left it: the frozen fixture's SQL dump
/// (`tests/fixtures/v1/store.sql`, never edited) played into a new file.
fn v1_store(path: &Path) {
    let sql = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/v1/store.sql"
    ))
    .expect("the V1 fixture");
    rusqlite::Connection::open(path)
        .and_then(|c| c.execute_batch(&sql))
        .expect("a V1 store file");
}

/// The app starts on a store V1 wrote: it upgrades it in place (showing its progress while
/// it works), says so once the store is open, and the door sells V1's conferences.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v1_store_is_upgraded_at_start_and_the_door_shows_its_conferences() {
    // What the upgraded store holds, read through the app layer from a second copy.
    let dir = tempfile::tempdir().expect("a folder");
    let copy = dir.path().join("v1-copy.db");
    v1_store(&copy);
    let mut steps = 0;
    let app = App::open_upgrading(&copy, &mut |_| steps += 1).expect("upgrade the copy");
    assert!(steps > 0, "the copy was a V1 store");
    let device = app.device().expect("V1's device").name;
    let conferences = app.conferences().expect("conferences");
    let first = conferences
        .iter()
        .find(|c| c.published)
        .expect("a published V1 conference")
        .clone();
    let seats = app.seats(&first.slug).expect("its seats");
    drop(app);

    let s = Session::start(v1_store).await;
    s.find("#upgraded-note").await;
    s.screenshot("30-v1-upgraded").await;
    s.text_until("#device-name", move |t| t == device).await;
    let name = first.name.clone();
    s.text_until("#conference-name", move |t| t == name).await;
    let options: Vec<String> = {
        let mut texts = Vec::new();
        for option in s
            .driver()
            .find_all(By::Css("#door-conference option"))
            .await
            .expect("the conference picker")
        {
            texts.push(option.text().await.expect("an option's text"));
        }
        texts
    };
    for c in conferences.iter().filter(|c| c.published) {
        assert!(options.contains(&c.name), "{} in {options:?}", c.name);
    }
    for seat_type in &seats.seat_types {
        wait_remaining(&s, &seat_type.name, &seat_type.remaining.to_string()).await;
    }
    s.click("#upgraded-dismiss").await;
    s.gone("#upgraded-note").await;
    s.stop().await;
}
