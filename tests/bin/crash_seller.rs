//! Sells seats at the door in a loop and prints each order id once its sale has committed,
//! so a test can kill -9 this process at any point and check that every printed sale
//! survived and nothing half-done remains.
//!
//! Usage: crash-seller STORE SLUG COUNT
use conference_app::{App, Ctx, PaymentInput, SaleInput};
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, store, slug, count] = &args[..] else {
        eprintln!("usage: crash-seller STORE SLUG COUNT");
        std::process::exit(2);
    };
    let count: u32 = count.parse().expect("COUNT is a number");
    let mut app = App::open(store).expect("open store");
    let mut out = std::io::stdout().lock();
    for i in 0..count {
        let sale = SaleInput {
            slug: slug.clone(),
            seats: vec!["Full=1".into()],
            promo_codes: if i % 3 == 0 {
                vec!["TENOFF".into()]
            } else {
                vec![]
            },
            registrant: Some((
                "Door".into(),
                format!("Buyer{i}"),
                format!("buyer{i}@example.com"),
            )),
            payment: Some(PaymentInput {
                method: "cash".into(),
                tendered: Some("200".into()),
                reference: None,
            }),
            allow_override: false,
        };
        let order = app
            .sell(&Ctx::new(chrono::Utc::now()), &sale)
            .expect("sale");
        writeln!(out, "{}", order.id).expect("stdout");
        out.flush().expect("stdout");
    }
}
