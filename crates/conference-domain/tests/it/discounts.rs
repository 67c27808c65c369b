//! Promo codes: definitions, validation, and the hold → commit / release of limited codes.
use crate::support::*;
use conference_domain::Aggregate;
use conference_domain::discounts::*;
use conference_domain::{OrderId, PromoCode, SeatTypeId};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::BTreeSet;

pub fn percent(text: &str, p: Decimal) -> PromoCodeDefinition {
    PromoCodeDefinition {
        code: code(text),
        discount: DiscountKind::Percent(p),
        scope: Scope::All,
        max_uses: None,
        exclusive: false,
    }
}

fn limited(text: &str, max: u32) -> PromoCodeDefinition {
    PromoCodeDefinition {
        max_uses: Some(max),
        ..percent(text, dec!(10))
    }
}

fn added(definition: PromoCodeDefinition) -> Event {
    PromoCodeAdded { definition }.into()
}

fn held(order: OrderId, codes: &[&str]) -> Event {
    PromoRedemptionsHeld {
        order_id: order,
        codes: codes.iter().map(|c| code(c)).collect(),
    }
    .into()
}

fn committed(order: OrderId, codes: &[&str]) -> Event {
    PromoRedemptionsCommitted {
        order_id: order,
        codes: codes.iter().map(|c| code(c)).collect(),
    }
    .into()
}

fn released(order: OrderId, codes: &[&str], was_committed: bool) -> Event {
    PromoRedemptionsReleased {
        order_id: order,
        codes: codes.iter().map(|c| code(c)).collect(),
        committed: was_committed,
    }
    .into()
}

fn hold(order: OrderId, codes: &[&str], seat_types: &[SeatTypeId]) -> Command {
    Command::HoldRedemptions {
        order_id: order,
        codes: codes.iter().map(|c| code(c)).collect(),
        seat_types: seat_types.to_vec(),
    }
}

fn release(order: OrderId, codes: &[&str], was_committed: bool) -> Command {
    Command::ReleaseRedemptions {
        order_id: order,
        codes: codes.iter().map(|c| code(c)).collect(),
        committed: was_committed,
    }
}

fn uses_left(state: &Promotions, text: &str) -> Option<u32> {
    state.codes[&code(text)].uses_left()
}

/// LIMITED (2 uses), FREE (unlimited), SOLO (exclusive), WORKSHOP (only seat B).
fn catalogue() -> Vec<Event> {
    vec![
        added(limited("LIMITED", 2)),
        added(percent("FREE", dec!(100))),
        added(PromoCodeDefinition {
            exclusive: true,
            ..percent("SOLO", dec!(50))
        }),
        added(PromoCodeDefinition {
            scope: Scope::SeatTypes(vec![seat_b()]),
            discount: DiscountKind::Amount(money("15")),
            ..percent("WORKSHOP", dec!(1))
        }),
    ]
}

fn with(mut history: Vec<Event>, more: impl IntoIterator<Item = Event>) -> Vec<Event> {
    history.extend(more);
    history
}

#[test]
fn a_code_is_added_with_its_definition() {
    let definition = PromoCodeDefinition {
        code: code("early-bird"),
        discount: DiscountKind::Amount(money("25")),
        scope: Scope::SeatTypes(vec![seat_a(), seat_b()]),
        max_uses: Some(100),
        exclusive: true,
    };
    let state = given_nothing::<Promotions>()
        .when(Command::AddPromoCode(definition.clone()))
        .then([added(definition.clone())]);
    let s = &state.codes[&code("EARLY-BIRD")];
    assert_eq!(s.definition, definition);
    assert_eq!((s.redeemed, s.uses_left()), (0, Some(100)));
}

#[test]
fn percent_limits_are_inclusive_at_one_hundred() {
    for p in [dec!(0.01), dec!(100)] {
        given_nothing::<Promotions>()
            .when(Command::AddPromoCode(percent("OK", p)))
            .then([added(percent("OK", p))]);
    }
}

#[test]
fn a_limited_code_is_held_while_reserved_and_counted_when_confirmed() {
    let state = given(catalogue())
        .when(hold(order_id(), &["LIMITED", "FREE"], &[seat_a()]))
        // Only limited codes are held; unlimited ones need no bookkeeping.
        .then([held(order_id(), &["LIMITED"])]);
    assert_eq!(uses_left(&state, "LIMITED"), Some(1));
    assert_eq!(uses_left(&state, "FREE"), None);

    let state = given(with(catalogue(), [held(order_id(), &["LIMITED"])]))
        .when(Command::CommitRedemptions {
            order_id: order_id(),
        })
        .then([committed(order_id(), &["LIMITED"])]);
    let s = &state.codes[&code("LIMITED")];
    assert_eq!((s.redeemed, s.held.len(), s.uses_left()), (1, 0, Some(1)));
}

#[test]
fn holding_again_for_the_same_order_keeps_the_one_hold() {
    given(with(catalogue(), [held(order_id(), &["LIMITED"])]))
        .when(hold(order_id(), &["LIMITED", "limited"], &[seat_a()]))
        .then([]);
}

#[test]
fn holding_other_codes_releases_the_ones_no_longer_wanted() {
    let state = given(with(
        with(catalogue(), [added(limited("OTHER", 1))]),
        [held(order_id(), &["LIMITED"])],
    ))
    .when(hold(order_id(), &["OTHER"], &[seat_a()]))
    .then([
        released(order_id(), &["LIMITED"], false),
        held(order_id(), &["OTHER"]),
    ]);
    assert_eq!(uses_left(&state, "LIMITED"), Some(2));
    assert_eq!(uses_left(&state, "OTHER"), Some(0));
}

#[test]
fn the_last_redemption_is_held_by_one_order_only() {
    let one_left = with(
        catalogue(),
        [
            held(other_order(), &["LIMITED"]),
            committed(other_order(), &["LIMITED"]),
        ],
    );
    let state = given(one_left.clone())
        .when(hold(order_id(), &["LIMITED"], &[seat_a()]))
        .then([held(order_id(), &["LIMITED"])]);
    assert_eq!(uses_left(&state, "LIMITED"), Some(0));
    let third = OrderId::from_uuid(uuid(0x0F));
    given(with(one_left, [held(order_id(), &["LIMITED"])]))
        .when(hold(third, &["LIMITED"], &[seat_a()]))
        .then_err(Error::PromoCodeExhausted(code("LIMITED")));
}

#[test]
fn releasing_a_held_code_frees_it_again() {
    let history = with(catalogue(), [held(order_id(), &["LIMITED"])]);
    let state = given(history.clone())
        .when(release(order_id(), &["LIMITED"], false))
        .then([released(order_id(), &["LIMITED"], false)]);
    assert_eq!(uses_left(&state, "LIMITED"), Some(2));
    // Releasing what the order does not hold records nothing.
    given(history)
        .when(release(other_order(), &["LIMITED"], false))
        .then([]);
    given(catalogue())
        .when(Command::CommitRedemptions {
            order_id: order_id(),
        })
        .then([]);
}

#[test]
fn releasing_a_confirmed_orders_code_gives_the_redemption_back() {
    let history = with(
        catalogue(),
        [
            held(order_id(), &["LIMITED"]),
            committed(order_id(), &["LIMITED"]),
        ],
    );
    let state = given(history.clone())
        // Unlimited codes have nothing to give back.
        .when(release(order_id(), &["LIMITED", "FREE"], true))
        .then([released(order_id(), &["LIMITED"], true)]);
    let s = &state.codes[&code("LIMITED")];
    assert_eq!((s.redeemed, s.uses_left()), (0, Some(2)));
    given(catalogue())
        .when(release(order_id(), &["LIMITED"], true))
        .then([]);
}

#[test]
fn validate_returns_each_code_once_in_the_order_given() {
    let state = Promotions::fold(&catalogue());
    let codes: Vec<PromoCode> = ["WORKSHOP", "LIMITED", "workshop", "FREE"]
        .into_iter()
        .map(code)
        .collect();
    let definitions = state.validate(&codes, &[seat_a(), seat_b()]).unwrap();
    let names: Vec<_> = definitions.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(names, ["WORKSHOP", "LIMITED", "FREE"]);
    // An exclusive code alone is fine.
    assert_eq!(
        state.validate(&[code("SOLO")], &[seat_a()]).unwrap().len(),
        1
    );
    assert!(state.validate(&[], &[seat_a()]).unwrap().is_empty());
}

#[test]
fn scope_covers_listed_seat_types_only() {
    assert!(Scope::All.covers(seat_c()));
    let listed = Scope::SeatTypes(vec![seat_a()]);
    assert!(listed.covers(seat_a()));
    assert!(!listed.covers(seat_b()));
}

fn variant(e: &Error) -> &'static str {
    match e {
        Error::PromoCodeAlreadyExists(_) => "PromoCodeAlreadyExists",
        Error::PercentOutOfRange(_) => "PercentOutOfRange",
        Error::AmountNotPositive => "AmountNotPositive",
        Error::MaxUsesZero => "MaxUsesZero",
        Error::EmptyScope => "EmptyScope",
        Error::UnknownPromoCode(_) => "UnknownPromoCode",
        Error::PromoCodeNotApplicable(_) => "PromoCodeNotApplicable",
        Error::PromoCodeNotCombinable { .. } => "PromoCodeNotCombinable",
        Error::PromoCodeExhausted(_) => "PromoCodeExhausted",
    }
}
const VARIANTS: usize = 9;

#[test]
fn every_rule_is_refused_with_its_error() {
    let add = |definition: PromoCodeDefinition| Command::AddPromoCode(definition);
    let amount = |a: &str| PromoCodeDefinition {
        discount: DiscountKind::Amount(money(a)),
        ..percent("AMOUNT", dec!(1))
    };
    let used_up = with(
        catalogue(),
        [
            held(other_order(), &["LIMITED"]),
            held(OrderId::from_uuid(uuid(0x0F)), &["LIMITED"]),
        ],
    );

    let cases: Vec<(&str, Vec<Event>, Command, Error)> = vec![
        (
            "add twice",
            catalogue(),
            add(percent("limited", dec!(5))),
            Error::PromoCodeAlreadyExists(code("LIMITED")),
        ),
        (
            "zero percent",
            vec![],
            add(percent("PCT", dec!(0))),
            Error::PercentOutOfRange(dec!(0)),
        ),
        (
            "negative percent",
            vec![],
            add(percent("PCT", dec!(-5))),
            Error::PercentOutOfRange(dec!(-5)),
        ),
        (
            "over one hundred percent",
            vec![],
            add(percent("PCT", dec!(100.01))),
            Error::PercentOutOfRange(dec!(100.01)),
        ),
        (
            "zero amount",
            vec![],
            add(amount("0")),
            Error::AmountNotPositive,
        ),
        (
            "negative amount",
            vec![],
            add(amount("-1")),
            Error::AmountNotPositive,
        ),
        (
            "zero uses",
            vec![],
            add(limited("ZERO", 0)),
            Error::MaxUsesZero,
        ),
        (
            "empty scope",
            vec![],
            add(PromoCodeDefinition {
                scope: Scope::SeatTypes(vec![]),
                ..percent("EMPTY", dec!(5))
            }),
            Error::EmptyScope,
        ),
        (
            "unknown code",
            catalogue(),
            hold(order_id(), &["NOPE"], &[seat_a()]),
            Error::UnknownPromoCode(code("NOPE")),
        ),
        (
            "scope matches nothing",
            catalogue(),
            hold(order_id(), &["WORKSHOP"], &[seat_a(), seat_c()]),
            Error::PromoCodeNotApplicable(code("WORKSHOP")),
        ),
        (
            "no seats at all",
            catalogue(),
            hold(order_id(), &["FREE"], &[]),
            Error::PromoCodeNotApplicable(code("FREE")),
        ),
        (
            "exclusive first",
            catalogue(),
            hold(order_id(), &["SOLO", "FREE"], &[seat_a()]),
            Error::PromoCodeNotCombinable {
                code: code("SOLO"),
                other: code("FREE"),
            },
        ),
        (
            "exclusive second",
            catalogue(),
            hold(order_id(), &["LIMITED", "SOLO"], &[seat_a()]),
            Error::PromoCodeNotCombinable {
                code: code("SOLO"),
                other: code("LIMITED"),
            },
        ),
        (
            "used up by holds",
            used_up,
            hold(order_id(), &["LIMITED"], &[seat_a()]),
            Error::PromoCodeExhausted(code("LIMITED")),
        ),
    ];
    let mut covered = BTreeSet::new();
    for (label, history, command, error) in cases {
        covered.insert(variant(&error));
        given(history).case(label).when(command).then_err(error);
    }
    assert_eq!(covered.len(), VARIANTS, "{covered:?}");
}

#[test]
fn a_refused_hold_changes_nothing() {
    // The exhausted code is refused as a whole: the other code is not held either.
    let history = with(
        with(catalogue(), [added(limited("ONE", 1))]),
        [held(other_order(), &["ONE"])],
    );
    given(history.clone())
        .when(hold(order_id(), &["LIMITED", "ONE"], &[seat_a()]))
        .then_err(Error::PromoCodeExhausted(code("ONE")));
    let state = Promotions::fold(&history);
    assert_eq!(uses_left(&state, "LIMITED"), Some(2));
}
