//! The Orders screen and the back office with a real conference's orders: a store of
//! 100,000 door sales (`CONFERENCE_E2E_ORDERS` to change it), filled through `App::sell`
//! like the bench's large store, then opened in the real window. Prints how long the
//! first page of orders, each keystroke of a search, the next page and the back office
//! take, in the page and as the driver sees them (`target/screenshots/timings-orders.txt`).
//! Speed is judged by reading those numbers, not asserted here; what is asserted is what
//! a person sees: the right orders, the right page, the right totals.
use crate::harness::{self, Session};
use conference_app::{App, Ctx, NewConference, PaymentInput, SaleInput};
use conference_store::{Durability, Store};
use std::path::Path;
use std::time::{Duration, Instant};
use thirtyfour::prelude::*;

const FIRST: [&str; 10] = [
    "Ada",
    "Alan",
    "Barbara",
    "Donald",
    "Edsger",
    "Frances",
    "Grace",
    "John",
    "Katherine",
    "Ken",
];
const LAST: [&str; 10] = [
    "Lovelace", "Turing", "Liskov", "Knuth", "Dijkstra", "Allen", "Hopper", "Backus", "Johnson",
    "Thompson",
];

fn orders_wanted() -> u64 {
    std::env::var("CONFERENCE_E2E_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// Sale `i`'s registrant: ten first names by ten last names, and an email of their own.
fn registrant(i: u64) -> (String, String, String) {
    let first = FIRST[(i % 10) as usize];
    let last = LAST[(i / 10 % 10) as usize];
    let email = format!(
        "{}.{}{i}@example.com",
        first.to_lowercase(),
        last.to_lowercase()
    );
    (first.into(), last.into(), email)
}

/// `orders` cash sales of one seat each, placed a third of a second apart from 08:00.
fn fill(store: &Path, orders: u64) {
    let started = Instant::now();
    let store = Store::open_with(store, Durability::Unsafe).expect("open the store");
    let mut app = App::from_store(store);
    let opening = chrono::DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    app.init("Big door", opening).expect("init");
    let ctx = || Ctx::new(opening);
    app.create_conference(
        &ctx(),
        NewConference {
            slug: "big".into(),
            name: "Big Conference 2026".into(),
            start: Some(opening),
            end: Some(opening + chrono::Duration::days(1)),
            owner_name: "Ada Lovelace".into(),
            owner_email: "ada@example.com".into(),
            currency: Some("EUR".into()),
            ..NewConference::default()
        },
    )
    .expect("conference");
    // One seat each: a seat type holds at most 100,000.
    let seats = u32::try_from(orders).expect("seats fit");
    app.add_seat_type(&ctx(), "big", "Full", "", "120", seats)
        .expect("seat type");
    app.publish(&ctx(), "big", true).expect("publish");
    for i in 0..orders {
        let at = opening + chrono::Duration::milliseconds(i64::try_from(i).unwrap() * 333);
        app.sell(
            &Ctx::new(at),
            &SaleInput {
                slug: "big".into(),
                seats: vec!["Full=1".into()],
                promo_codes: Vec::new(),
                registrant: Some(registrant(i)),
                payment: Some(PaymentInput {
                    method: "cash".into(),
                    tendered: Some("120".into()),
                    reference: None,
                }),
                allow_override: false,
            },
        )
        .expect("sale");
        if (i + 1) % 10_000 == 0 {
            eprintln!(
                "e2e: large store: {} of {orders} sales, {:.0} s",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
}

/// Waits until `css` says it shows `what` (its `data-timing`, `what|ms`, written once it
/// is on screen) and returns the milliseconds the page measured.
async fn timed(s: &Session, css: &str, what: &str) -> f64 {
    let prefix = format!("{what}|");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(element) = s.driver().find(By::Css(css)).await
            && let Ok(Some(timing)) = element.attr("data-timing").await
            && let Some(ms) = timing.strip_prefix(&prefix)
        {
            return ms.parse().expect("milliseconds");
        }
        assert!(
            Instant::now() < deadline,
            "e2e: {css} never showed {what:?}"
        );
    }
}

/// [`timed`] for a list of orders: the page at `offset` of what a search for `query` finds.
async fn shown(s: &Session, css: &str, query: &str, offset: u32) -> f64 {
    timed(s, css, &format!("{query}|{offset}")).await
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_and_the_back_office_stay_quick_with_a_hundred_thousand_orders() {
    let orders = orders_wanted();
    let built = Instant::now();
    let s = Session::start(|store| fill(store, orders)).await;
    let build = built.elapsed();
    s.find("[data-seat-type='Full'] input.qty").await;

    // The Orders screen: the newest page, counted.
    let clicked = Instant::now();
    s.click("#nav-orders").await;
    let first_page = shown(&s, "#orders-table", "", 0).await;
    let first_page_driver = ms(clicked.elapsed());
    let range = s.text_until("#orders-table-range", |t| !t.is_empty()).await;
    assert_eq!(
        range.replace(',', ""),
        format!("1–50 of {orders}"),
        "the first page"
    );
    let newest = registrant(orders - 1).2;
    let top = s.find("#orders-table tbody tr td:nth-child(3)").await;
    assert_eq!(top.text().await.unwrap(), newest, "the newest order first");
    s.screenshot("30-orders-100k").await;

    // The next page.
    let clicked = Instant::now();
    s.click("#orders-table-next").await;
    let next_page = shown(&s, "#orders-table", "", 50).await;
    let next_page_driver = ms(clicked.elapsed());

    // A search, a keystroke at a time, down to one order.
    let wanted = registrant(orders / 2);
    let search = s.find("#order-search").await;
    search.focus().await.expect("focus the search");
    let mut typed = String::new();
    let (mut keystrokes, mut keystrokes_driver) = (Vec::new(), Vec::new());
    for c in wanted.2.chars() {
        typed.push(c);
        let pressed = Instant::now();
        search.send_keys(c.to_string()).await.expect("type");
        keystrokes.push(shown(&s, "#orders-table", &typed, 0).await);
        keystrokes_driver.push(ms(pressed.elapsed()));
    }
    let rows = s
        .driver()
        .find_all(By::Css("#orders-table tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one order has {}", wanted.2);
    let email = s.find("#orders-table tbody tr td:nth-child(3)").await;
    assert_eq!(email.text().await.unwrap(), wanted.2);
    s.screenshot("31-orders-search-100k").await;
    // By name: "grace hop" finds Grace Hopper's orders only.
    search.clear().await.unwrap();
    search.send_keys("grace hop").await.unwrap();
    shown(&s, "#orders-table", "grace hop", 0).await;
    for cell in s
        .driver()
        .find_all(By::Css("#orders-table tbody tr td:nth-child(3)"))
        .await
        .unwrap()
    {
        let text = cell.text().await.unwrap();
        assert!(text.starts_with("grace.hopper"), "{text}");
    }

    // The back office: totals over every order, and their first page.
    let clicked = Instant::now();
    s.click("#nav-office").await;
    let office = timed(&s, "#drawer-check", "big").await;
    let office_driver = ms(clicked.elapsed());
    let office_orders = shown(&s, "#office-orders", "", 0).await;
    let office_all_driver = ms(clicked.elapsed());
    let counted = s
        .text_until("#device-totals .orders", |t| !t.is_empty())
        .await;
    assert_eq!(counted, orders.to_string());
    let total = s.text_until("#grand-total", |t| !t.is_empty()).await;
    assert_eq!(
        total.replace(',', ""),
        format!("EUR {}.00", orders * 120),
        "every sale at 120"
    );
    s.screenshot("32-office-100k").await;

    let report = format!(
        "Orders screen and back office on a store of {orders} orders (built in {:.0} s)\n\
         Orders: first page {first_page:.1} ms in the page, {first_page_driver:.0} ms seen by the driver (target < 300 ms)\n\
         Orders: next page {next_page:.1} ms in the page, {next_page_driver:.0} ms seen by the driver\n\
         Orders: search keystroke, median / worst of {} in the page {:.1} / {:.1} ms, seen by the driver {:.0} / {:.0} ms (target < 100 ms)\n\
         Back office: totals {office:.1} ms in the page, {office_driver:.0} ms seen by the driver (target < 500 ms); its first page of orders {office_orders:.1} ms in the page, {office_all_driver:.0} ms seen by the driver\n\
         (\"in the page\": from asking the shell to the answer on screen, measured by the page; \"seen by the driver\": from the WebDriver click or key to the driver reading it, which adds its own round trips)\n",
        build.as_secs_f64(),
        keystrokes.len(),
        median(keystrokes.clone()),
        keystrokes.iter().copied().fold(0.0, f64::max),
        median(keystrokes_driver.clone()),
        keystrokes_driver.iter().copied().fold(0.0, f64::max),
    );
    println!("{report}");
    std::fs::write(harness::screenshot_dir().join("timings-orders.txt"), report)
        .expect("save timings");
    s.stop().await;
}
