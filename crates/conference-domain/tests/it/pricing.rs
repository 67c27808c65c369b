//! Pricing: seat lines, percent and fixed discounts, rounding half-up, free orders.
use crate::support::*;
use conference_domain::Money;
use conference_domain::discounts::{DiscountKind, PromoCodeDefinition, Scope};
use conference_domain::pricing::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn list(minor_units: u32, prices: &[(conference_domain::SeatTypeId, &str)]) -> PriceList {
    PriceList {
        minor_units,
        seat_types: prices
            .iter()
            .map(|(id, price)| PricedSeatType {
                id: *id,
                name: format!("Seat {}", id.as_uuid().as_u128()),
                price: money(price),
            })
            .collect(),
    }
}

/// General (A) at 100, Workshop (B) at 50, in euros.
fn conference_prices() -> PriceList {
    list(2, &[(seat_a(), "100"), (seat_b(), "50")])
}

fn percent(text: &str, p: Decimal, scope: Scope) -> PromoCodeDefinition {
    PromoCodeDefinition {
        code: code(text),
        discount: DiscountKind::Percent(p),
        scope,
        max_uses: None,
        exclusive: false,
    }
}

fn amount(text: &str, a: &str, scope: Scope) -> PromoCodeDefinition {
    PromoCodeDefinition {
        code: code(text),
        discount: DiscountKind::Amount(money(a)),
        scope,
        max_uses: None,
        exclusive: false,
    }
}

fn only_b() -> Scope {
    Scope::SeatTypes(vec![seat_b()])
}

/// The total as text (so the scale is checked too) and the discount lines' totals.
fn priced(
    prices: &PriceList,
    wanted: &[(conference_domain::SeatTypeId, u32)],
    discounts: &[PromoCodeDefinition],
) -> (String, Vec<String>, Totals) {
    let totals = price(prices, &seats(wanted), discounts).expect("every seat type is priced");
    let discount_lines = totals
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Discount)
        .map(|l| l.total.to_string())
        .collect();
    (totals.total.to_string(), discount_lines, totals)
}

#[test]
fn seat_lines_are_price_times_quantity_rounded_to_the_minor_unit() {
    let (total, discounts, totals) = priced(
        &conference_prices(),
        &[(seat_a(), 2), (seat_b(), 1), (seat_c(), 0)],
        &[],
    );
    assert_eq!(total, "250.00");
    assert!(discounts.is_empty());
    assert_eq!(totals.lines.len(), 2, "a zero line is left out");
    let a = &totals.lines[0];
    assert_eq!(
        (
            a.kind,
            a.seat_type,
            a.quantity,
            a.unit_price,
            a.total.to_string()
        ),
        (
            LineKind::Seat,
            Some(seat_a()),
            2,
            money("100"),
            "200.00".to_string()
        )
    );
    assert!(!totals.is_free_of_charge);
}

#[test]
fn rounding_is_half_up_not_to_even() {
    let cases = [
        (2, "0.125", 1, "0.13"),
        (2, "2.345", 1, "2.35"),
        (2, "0.005", 3, "0.02"),
        (2, "0.004", 1, "0.00"),
        (0, "2.5", 1, "3"),
        (0, "0.5", 5, "3"),
        (3, "1.0005", 1, "1.001"),
    ];
    for (minor, unit, quantity, expected) in cases {
        let (total, _, _) = priced(
            &list(minor, &[(seat_a(), unit)]),
            &[(seat_a(), quantity)],
            &[],
        );
        assert_eq!(total, expected, "{quantity} × {unit} at {minor} decimals");
    }
}

#[test]
fn a_percent_applies_to_the_in_scope_lines_only() {
    let (total, discounts, totals) = priced(
        &conference_prices(),
        &[(seat_a(), 2), (seat_b(), 1)],
        &[percent("WS10", dec!(10), only_b())],
    );
    assert_eq!(
        (total.as_str(), discounts),
        ("245.00", vec!["-5.00".to_string()])
    );
    let line = totals.lines.last().unwrap();
    assert_eq!(line.description, "Promo code WS10 (10% off)");
    assert_eq!(line.promo_code, Some(code("WS10")));
    assert_eq!((line.quantity, line.unit_price), (1, line.total));
    assert_eq!(line.seat_type, None);

    let (total, discounts, _) = priced(
        &conference_prices(),
        &[(seat_a(), 2), (seat_b(), 1)],
        &[percent("ALL10", dec!(10.50), Scope::All)],
    );
    assert_eq!(
        (total.as_str(), discounts),
        ("223.75", vec!["-26.25".to_string()])
    );
}

#[test]
fn a_percent_cut_is_rounded_half_up() {
    // 50% of 10.01 is 5.005: the buyer gets 5.01 off.
    let (total, discounts, _) = priced(
        &list(2, &[(seat_a(), "10.01")]),
        &[(seat_a(), 1)],
        &[percent("HALF", dec!(50), Scope::All)],
    );
    assert_eq!(
        (total.as_str(), discounts),
        ("5.00", vec!["-5.01".to_string()])
    );
    // In yen: 33.33% of 3000 is 999.9, so 1000 off.
    let (total, discounts, _) = priced(
        &list(0, &[(seat_a(), "1000")]),
        &[(seat_a(), 3)],
        &[percent("THIRD", dec!(33.33), Scope::All)],
    );
    assert_eq!(
        (total.as_str(), discounts),
        ("2000", vec!["-1000".to_string()])
    );
}

#[test]
fn a_fixed_amount_applies_once_per_order() {
    let (total, discounts, totals) = priced(
        &conference_prices(),
        &[(seat_a(), 3)],
        &[amount("FLAT30", "30", Scope::All)],
    );
    assert_eq!(
        (total.as_str(), discounts),
        ("270.00", vec!["-30.00".to_string()])
    );
    assert_eq!(totals.lines[1].description, "Promo code FLAT30 (30 off)");
}

#[test]
fn a_fixed_amount_is_capped_at_the_in_scope_subtotal() {
    let (total, discounts, _) = priced(
        &conference_prices(),
        &[(seat_a(), 2), (seat_b(), 1)],
        &[amount("WS80", "80", only_b())],
    );
    assert_eq!(
        (total.as_str(), discounts),
        ("200.00", vec!["-50.00".to_string()])
    );
    // Spread over several in-scope lines, still once.
    let (total, discounts, _) = priced(
        &conference_prices(),
        &[(seat_a(), 1), (seat_b(), 1)],
        &[amount("BIG", "120", Scope::All)],
    );
    assert_eq!(
        (total.as_str(), discounts),
        ("30.00", vec!["-120.00".to_string()])
    );
}

#[test]
fn each_applied_code_is_one_line_and_codes_never_go_below_zero() {
    let (total, discounts, totals) = priced(
        &conference_prices(),
        &[(seat_a(), 1), (seat_b(), 2)],
        &[
            percent("TEN", dec!(10), Scope::All),
            amount("WS", "95", only_b()),
            amount("REST", "500", Scope::All),
        ],
    );
    // 200 → 10% off is 20 → WS takes the 90 left of the workshops → REST takes the last 90.
    assert_eq!(discounts, ["-20.00", "-90.00", "-90.00"]);
    assert_eq!(total, "0.00");
    assert!(totals.is_free_of_charge);
    let codes: Vec<_> = totals
        .lines
        .iter()
        .filter_map(|l| l.promo_code.as_ref().map(|c| c.as_str().to_string()))
        .collect();
    assert_eq!(codes, ["TEN", "WS", "REST"]);
}

#[test]
fn two_percent_codes_add_up_on_the_line_and_stop_at_zero() {
    // Each percent is of the seat line; together they never take more than the line.
    let (total, discounts, _) = priced(
        &conference_prices(),
        &[(seat_a(), 1)],
        &[
            percent("SIXTY", dec!(60), Scope::All),
            percent("SIXTY2", dec!(60), Scope::All),
        ],
    );
    assert_eq!(
        (total.as_str(), discounts),
        ("0.00", vec!["-60.00".to_string(), "-40.00".to_string()])
    );
}

#[test]
fn a_code_that_takes_nothing_adds_no_line() {
    let (total, discounts, _) = priced(
        &conference_prices(),
        &[(seat_a(), 1)],
        &[percent("WS", dec!(10), only_b())],
    );
    assert_eq!((total.as_str(), discounts.len()), ("100.00", 0));
}

#[test]
fn a_zero_total_is_free_of_charge() {
    let cases: Vec<(&str, PriceList, Vec<PromoCodeDefinition>)> = vec![
        ("free seats", list(2, &[(seat_a(), "0")]), vec![]),
        (
            "100% off",
            conference_prices(),
            vec![percent("ALL", dec!(100), Scope::All)],
        ),
        (
            "amount over the total",
            conference_prices(),
            vec![amount("GIFT", "1000", Scope::All)],
        ),
        ("rounds to zero", list(2, &[(seat_a(), "0.004")]), vec![]),
    ];
    for (label, prices, discounts) in cases {
        let totals = price(&prices, &seats(&[(seat_a(), 1)]), &discounts).unwrap();
        assert!(totals.total.is_zero(), "{label}: {}", totals.total);
        assert!(totals.is_free_of_charge, "{label}");
    }
    let one_cent = price(
        &list(2, &[(seat_a(), "0.005")]),
        &seats(&[(seat_a(), 1)]),
        &[],
    )
    .unwrap();
    assert_eq!(one_cent.total, money("0.01"));
    assert!(!one_cent.is_free_of_charge);
}

#[test]
fn an_unpriced_seat_type_is_an_error() {
    assert_eq!(
        price(
            &conference_prices(),
            &seats(&[(seat_a(), 1), (seat_c(), 1)]),
            &[]
        ),
        Err(PricingError::UnpricedSeatType(seat_c()))
    );
    let empty = price(&conference_prices(), &[], &[]).unwrap();
    assert_eq!((empty.total, empty.lines.len()), (Money::ZERO, 0));
}

#[test]
fn rounded_cuts_never_show_more_discount_than_the_order() {
    // Found by `order_totals_are_never_negative`: an amount with more decimals than the
    // currency rounds up to 80349.59, so the next code may only take the 19650.41 left.
    let (total, discounts, totals) = priced(
        &list(2, &[(seat_b(), "50000")]),
        &[(seat_b(), 2)],
        &[
            amount("CODE0", "80349.585", Scope::All),
            amount("CODE1", "196505", Scope::All),
        ],
    );
    assert_eq!(discounts, ["-80349.59", "-19650.41"]);
    assert_eq!(total, "0.00");
    let lines: Money = totals.lines.iter().map(|l| l.total).sum();
    assert_eq!(lines, totals.total, "the lines add up to the total");
    // The same with percentages: 50% + 50% of 10.01 is 5.01 + 5.00, not 5.01 + 5.01.
    let (total, discounts, _) = priced(
        &list(2, &[(seat_a(), "10.01")]),
        &[(seat_a(), 1)],
        &[
            percent("HALF", dec!(50), Scope::All),
            percent("HALF2", dec!(50), Scope::All),
        ],
    );
    assert_eq!(
        (total.as_str(), discounts),
        ("0.00", vec!["-5.01".to_string(), "-5.00".to_string()])
    );
}

#[test]
fn prices_beyond_what_money_holds_are_an_error_never_a_panic() {
    // What a misbehaving server could put in a price list: the largest decimal.
    let absurd = "79228162514264337593543950335";
    assert_eq!(
        price(
            &list(2, &[(seat_a(), absurd)]),
            &seats(&[(seat_a(), 3)]),
            &[]
        ),
        Err(PricingError::TotalOutOfRange)
    );
    // Two lines that fit one by one but not together.
    let half = "50000000000000000000000000000";
    assert_eq!(
        price(
            &list(0, &[(seat_a(), half), (seat_b(), half)]),
            &seats(&[(seat_a(), 1), (seat_b(), 1)]),
            &[]
        ),
        Err(PricingError::TotalOutOfRange)
    );
    // A percentage no code could have, on a line that fits.
    let huge = percent("HUGE", Decimal::MAX, Scope::All);
    assert_eq!(
        price(&conference_prices(), &seats(&[(seat_a(), 1)]), &[huge]),
        Err(PricingError::TotalOutOfRange)
    );
    // At the largest price the domain accepts, a full house still prices.
    let dear = price(
        &list(2, &[(seat_a(), "50000")]),
        &seats(&[(seat_a(), 100_000)]),
        &[],
    )
    .unwrap();
    assert_eq!(dear.total, money("5000000000"));
}

#[test]
fn a_later_code_applies_only_to_what_earlier_codes_left_of_a_line() {
    // A (100) takes 80 off for A only; then 50 % off everything finds 20 of A left (not
    // 100) and 25 of B: 150 - 80 - 45 = 25.
    let totals = price(
        &conference_prices(),
        &seats(&[(seat_a(), 1), (seat_b(), 1)]),
        &[
            amount("EIGHTY", "80", Scope::SeatTypes(vec![seat_a()])),
            percent("HALF", dec!(50), Scope::All),
        ],
    )
    .unwrap();
    assert_eq!(totals.total, money("25.00"));
}

#[test]
fn money_saturates_at_zero_when_taken_away() {
    assert_eq!(money("5").saturating_sub(money("3")), money("2"));
    assert_eq!(money("3").saturating_sub(money("5")), Money::ZERO);
    assert_eq!(money("3").saturating_sub(money("3")), Money::ZERO);
}
