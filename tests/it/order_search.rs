//! Orders found and summed by the store: a search by the prefix of an access code, email,
//! first or last name ("first last"), or an order id, a page at a time, equals filtering
//! and sorting every order by hand; the back office's totals, grouped in SQL, equal adding
//! up every order by hand.
use crate::helpers::{card, cash, ctx, demo_app, sale, temp_store};
use conference_app::App;
use conference_protocol::{OrderQuery, OrderSummary};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

const FIRST: [&str; 5] = ["Ada", "Alan", "alana", "Grace", "Gráinne"];
const LAST: [&str; 4] = ["Lovelace", "Turing", "Hopper", "Hop"];

/// `demo` with a seat type of 1,000 seats, and `orders` sales of one or two of them with
/// registrants whose names and emails share prefixes; some cancelled, some by card, some
/// free (the Speaker seats).
fn store_with_orders(orders: usize) -> (crate::helpers::TestStore, App) {
    let store = temp_store();
    let mut app = demo_app(&store.path);
    app.add_seat_type(&ctx(1), "demo", "Bulk", "", "35.50", 1000)
        .expect("seat type");
    for i in 0..orders {
        let first = FIRST[i % FIRST.len()];
        let last = LAST[i / FIRST.len() % LAST.len()];
        let seats = if i % 7 == 0 { "Bulk=2" } else { "Bulk=1" };
        let payment = if i % 3 == 0 { card("ref") } else { cash("100") };
        let mut input = sale(&[seats], &[], payment);
        input.registrant = Some((
            first.into(),
            last.into(),
            format!(
                "{}.{}{i}@Example.com",
                first.to_lowercase(),
                last.to_lowercase()
            ),
        ));
        let order = app
            .sell(&ctx(2 + i64::try_from(i).unwrap() * 3), &input)
            .expect("sale");
        if i % 11 == 5 {
            app.cancel(
                &ctx(3 + i64::try_from(i).unwrap() * 3),
                &order.id.to_string(),
                None,
            )
            .expect("cancel");
        }
    }
    for i in 0..2 {
        let mut input = sale(&["Speaker=1"], &[], None);
        input.registrant = Some((
            "Ken".into(),
            "Thompson".into(),
            format!("ken{i}@example.com"),
        ));
        app.sell(&ctx(400 + i), &input).expect("free sale");
    }
    (store, app)
}

/// Every order with its registrant, read one by one.
fn every_order(app: &App) -> Vec<(OrderSummary, String, String)> {
    app.orders(None)
        .expect("orders")
        .into_iter()
        .map(|summary| {
            let full = app.order_by_text(&summary.id.to_string()).expect("order");
            let r = full.registrant.expect("a registrant");
            (summary, r.first_name, r.last_name)
        })
        .collect()
}

/// What a search for `text` must find, in order: every order whose access code, email,
/// first or last name starts with it (ASCII case ignored), or whose first name is its first
/// word and last name starts with the rest, or whose id it is; each order once, at the
/// smallest of the keys it matched by (a first name's key is "first last"), then by id.
fn by_hand(orders: &[(OrderSummary, String, String)], text: &str) -> Vec<String> {
    let text = text.trim().to_ascii_lowercase();
    let mut found: Vec<(String, uuid::Uuid, String)> = Vec::new();
    for (o, first, last) in orders {
        let email = o
            .registrant_email
            .clone()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let (first, last) = (first.to_ascii_lowercase(), last.to_ascii_lowercase());
        let full = format!("{first} {last}");
        let mut keys = Vec::new();
        let code = o.access_code.to_ascii_lowercase();
        // Each matched field, keyed as the store orders it: a first name with its last name.
        for (field, key) in [
            (&code, &code),
            (&email, &email),
            (&first, &full),
            (&last, &last),
        ] {
            if field.starts_with(&text) {
                keys.push(key.clone());
            }
        }
        if let Some((f, l)) = text.split_once(' ') {
            if first == f && last.starts_with(l.trim()) {
                keys.push(full.clone());
            }
        }
        if o.id.to_string() == text {
            keys.push(String::new());
        }
        if let Some(key) = keys.into_iter().min() {
            found.push((key, o.id, o.access_code.clone()));
        }
    }
    found.sort();
    found.into_iter().map(|(_, _, code)| code).collect()
}

/// Every page of a search, `size` orders at a time, until a page says there is no more.
fn paged(app: &App, text: &str, conference: Option<&str>, size: u32) -> Vec<String> {
    let mut codes = Vec::new();
    let mut offset = 0;
    loop {
        let page = app
            .search_orders(&OrderQuery {
                text: text.into(),
                conference: conference.map(str::to_string),
                offset,
                limit: size,
            })
            .expect("search");
        assert_eq!(page.offset, offset);
        assert!(page.orders.len() <= size as usize);
        assert!(
            offset == 0 || !page.orders.is_empty(),
            "{text:?}: the page before said more, this one is empty"
        );
        codes.extend(page.orders.iter().map(|o| o.access_code.clone()));
        if !page.more {
            return codes;
        }
        assert_eq!(
            page.orders.len(),
            size as usize,
            "a page before the last is full"
        );
        offset += size;
    }
}

#[test]
fn a_search_a_page_at_a_time_finds_what_filtering_every_order_finds() {
    let (_store, app) = store_with_orders(60);
    let orders = every_order(&app);
    assert_eq!(orders.len(), 62);
    let some_code = orders[17].0.access_code.clone();
    let some_id = orders[23].0.id.to_string();
    let queries = [
        "a",
        "A",
        "al",
        "alan",
        "ALANA",
        "alan.",
        "g",
        "gr",
        "gra",
        "grá",
        "Grace H",
        "grace hop",
        "grace hopper",
        "alan tu",
        "ada lovelace",
        "ken",
        "ken0",
        "hop",
        "t",
        "zzz",
        " ada ",
        &some_code[..2],
        &some_code,
        &some_id,
        "@",
        "ken1@example.com",
    ];
    for text in queries {
        let want = by_hand(&orders, text);
        for size in [1, 7, 50] {
            assert_eq!(
                paged(&app, text, None, size),
                want,
                "{text:?} in pages of {size}"
            );
        }
    }
    // The id and the whole access code find exactly their order.
    assert_eq!(paged(&app, &some_id, None, 50).len(), 1);
    assert!(paged(&app, &some_code, None, 50).contains(&some_code));
}

#[test]
fn without_search_text_the_newest_come_first_counted_and_a_conference_filters() {
    let (_store, mut app) = store_with_orders(12);
    let newest: Vec<String> = app
        .orders(None)
        .expect("orders")
        .into_iter()
        .map(|o| o.access_code)
        .collect();
    assert_eq!(paged(&app, "", None, 5), newest);
    let page = app
        .search_orders(&OrderQuery {
            offset: 5,
            limit: 5,
            ..OrderQuery::default()
        })
        .expect("page");
    assert_eq!(page.total, Some(14));
    assert!(page.more);
    assert_eq!(page.orders[0].access_code, newest[5]);
    // A page size of 0 is the default page; too large is cut to the most a page holds.
    let default = app.search_orders(&OrderQuery::default()).expect("page");
    assert_eq!(default.orders.len(), 14.min(OrderQuery::PAGE as usize));

    // Another conference's orders are not in this one's list, nor in its search.
    app.create_conference(
        &ctx(900),
        conference_app::NewConference {
            slug: "other".into(),
            name: "Other".into(),
            start: Some(crate::helpers::minute(0)),
            end: Some(crate::helpers::minute(1440)),
            owner_name: "Ada Lovelace".into(),
            owner_email: "ada@example.com".into(),
            ..conference_app::NewConference::default()
        },
    )
    .expect("other conference");
    app.add_seat_type(&ctx(901), "other", "Day", "", "10", 10)
        .expect("seat type");
    app.publish(&ctx(902), "other", true).expect("publish");
    let mut input = sale(&["Day=1"], &[], cash("10"));
    input.slug = "other".into();
    let other = app.sell(&ctx(903), &input).expect("sale");
    assert_eq!(paged(&app, "", Some("demo"), 5), newest);
    assert_eq!(
        paged(&app, "", Some("other"), 5),
        vec![other.access_code.clone()]
    );
    assert_eq!(
        paged(&app, "grace", Some("other"), 5),
        vec![other.access_code.clone()]
    );
    assert!(!paged(&app, "grace", Some("demo"), 5).contains(&other.access_code));
    assert_eq!(
        paged(&app, "", None, 5)[0],
        other.access_code,
        "the newest first"
    );
    let unknown = app
        .search_orders(&OrderQuery {
            conference: Some("nope".into()),
            ..OrderQuery::default()
        })
        .unwrap_err();
    assert_eq!(unknown.code(), "unknown_conference");
}

fn amount(text: &str) -> Decimal {
    Decimal::from_str(text).expect("an amount")
}

#[test]
fn the_back_office_totals_are_every_order_added_up() {
    let (_store, app) = store_with_orders(40);
    let summary = app.back_office("demo").expect("back office");
    let orders = app.orders(Some("demo")).expect("orders");

    let confirmed: Vec<&OrderSummary> = orders.iter().filter(|o| o.status == "confirmed").collect();
    let not_counted = orders
        .iter()
        .filter(|o| o.status == "cancelled" || o.status == "expired")
        .count();
    assert!(not_counted > 0, "the store has cancelled orders");
    assert_eq!(summary.devices.len(), 1);
    let device = &summary.devices[0];
    assert!(device.this_device);
    assert_eq!(device.orders as usize, confirmed.len());
    assert_eq!(device.not_counted as usize, not_counted);
    assert_eq!(device.seats, confirmed.iter().map(|o| o.seats).sum::<u32>());
    let sum = |method: Option<&str>| -> Decimal {
        confirmed
            .iter()
            .filter(|o| method.is_none() || o.payment_method.as_deref() == method)
            .map(|o| amount(&o.total))
            .sum()
    };
    assert_eq!(amount(&device.cash), sum(Some("cash")));
    assert_eq!(amount(&device.card), sum(Some("card")));
    assert_eq!(amount(&device.total), sum(None));
    assert_eq!(amount(&summary.total), sum(None));
    assert_eq!(
        summary.total,
        format!("{:.2}", sum(None)),
        "two decimals, as EUR"
    );

    let mut methods: BTreeMap<String, (u32, Decimal)> = BTreeMap::new();
    for o in &confirmed {
        let method = o.payment_method.clone().unwrap_or_else(|| "free".into());
        let entry = methods.entry(method).or_default();
        entry.0 += 1;
        entry.1 += amount(&o.total);
    }
    let shown: BTreeMap<String, (u32, Decimal)> = summary
        .methods
        .iter()
        .map(|m| (m.method.clone(), (m.orders, amount(&m.total))))
        .collect();
    assert_eq!(shown, methods);
    assert!(
        shown.contains_key("free"),
        "the free orders are counted as free"
    );

    // Sales over time: every confirmed order in one bucket, the buckets consecutive.
    let buckets = &summary.sales_over_time;
    assert_eq!(
        buckets.iter().map(|b| b.orders).sum::<u32>() as usize,
        confirmed.len()
    );
    assert_eq!(buckets.iter().map(|b| b.seats).sum::<u32>(), device.seats);
    assert_eq!(
        buckets.iter().map(|b| amount(&b.amount)).sum::<Decimal>(),
        sum(None)
    );
    assert!(buckets.len() <= 24);
    let first = confirmed.iter().map(|o| o.placed_at.clone()).min().unwrap();
    assert!(
        first.starts_with(&buckets[0].start[..13]),
        "{first} in {}",
        buckets[0].start
    );
    assert_eq!(
        summary.bucket_minutes, 30,
        "a 6-hour day in 30-minute buckets"
    );
}
