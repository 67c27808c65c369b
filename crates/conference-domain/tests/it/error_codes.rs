//! Every domain error's code and field. The codes are a public API: the list here is
//! compared with `docs/error-codes.md`, so renaming a code is a conscious change to that
//! file. Each `*_errors` function builds one error per variant; its match has no wildcard,
//! so a new variant does not compile until it is listed (with its field) here.
use crate::support::{at, code, money, seat_a};
use conference_domain::money::{InvalidCurrency, InvalidMoney};
use conference_domain::pricing::PricingError;
use conference_domain::seats::QuantityBelowTaken;
use conference_domain::values::{InvalidValue, field_of_label};
use conference_domain::{ErrorCode, assignments, conference, discounts, order, payment, seats};
use rust_decimal::Decimal;
use std::collections::BTreeSet;

/// The list in the docs, between its markers.
const LISTED: &str = include_str!("../../../../docs/error-codes.md");

type Case = (Box<dyn ErrorCode>, Option<&'static str>);

fn case(error: impl ErrorCode + 'static, field: Option<&'static str>) -> Case {
    (Box::new(error), field)
}

fn conference_errors() -> Vec<Case> {
    use conference::Error as E;
    let cases = vec![
        case(E::ConferenceAlreadyExists, None),
        case(E::ConferenceNotFound, None),
        case(E::EndBeforeStart, Some("end")),
        case(
            E::Required {
                field: "conference name",
            },
            Some("name"),
        ),
        case(
            E::Required {
                field: "owner name",
            },
            Some("owner_name"),
        ),
        case(E::SeatTypeNameLength(1), Some("name")),
        case(E::SeatTypeDescriptionTooLong, Some("description")),
        case(E::SeatTypeNameTaken("Full".into()), Some("name")),
        case(E::SeatTypeNotFound, Some("seat_type")),
        case(E::PriceOutOfRange(money("-1")), Some("price")),
        case(E::QuantityOutOfRange(100_001), Some("quantity")),
        case(E::AlreadyPublished, None),
        case(E::NotPublished, None),
        case(E::NotOnSale("devconf".into()), None),
    ];
    let _: fn(&E) = |e| match e {
        E::ConferenceAlreadyExists
        | E::ConferenceNotFound
        | E::EndBeforeStart
        | E::Required { .. }
        | E::SeatTypeNameLength(_)
        | E::SeatTypeDescriptionTooLong
        | E::SeatTypeNameTaken(_)
        | E::SeatTypeNotFound
        | E::PriceOutOfRange(_)
        | E::QuantityOutOfRange(_)
        | E::AlreadyPublished
        | E::NotPublished
        | E::NotOnSale(_) => {}
    };
    cases
}

fn seats_errors() -> Vec<Case> {
    use seats::Error as E;
    let cases = vec![
        case(E::UnknownSeatType(seat_a()), Some("seat_type")),
        case(E::NoSeatsRequested, Some("quantity")),
        case(
            QuantityBelowTaken {
                name: "Full".into(),
                taken: 3,
            },
            Some("quantity"),
        ),
    ];
    let _: fn(&E) = |e| match e {
        E::UnknownSeatType(_) | E::NoSeatsRequested => {}
    };
    cases
}

fn order_errors() -> Vec<Case> {
    use order::Error as E;
    let cases = vec![
        case(E::NoSeatsRequested, Some("quantity")),
        case(E::OrderAlreadyPlaced, None),
        case(E::OrderNotFound, None),
        case(E::OrderAlreadyConfirmed, None),
        case(E::OrderExpired, None),
        case(E::ReservationTimedOut(at(0)), None),
        case(E::OrderCancelled, None),
        case(E::SeatsNotReserved, None),
        case(E::OrderNotFreeOfCharge(money("10")), None),
        case(E::Pricing(PricingError::TotalOutOfRange), None),
        case(E::OrderIsFree, None),
        case(PricingError::UnpricedSeatType(seat_a()), None),
        case(PricingError::TotalOutOfRange, None),
    ];
    let _: fn(&E) = |e| match e {
        E::NoSeatsRequested
        | E::OrderAlreadyPlaced
        | E::OrderNotFound
        | E::OrderAlreadyConfirmed
        | E::OrderExpired
        | E::ReservationTimedOut(_)
        | E::OrderCancelled
        | E::SeatsNotReserved
        | E::OrderNotFreeOfCharge(_)
        | E::Pricing(_)
        | E::OrderIsFree => {}
    };
    let _: fn(&PricingError) = |e| match e {
        PricingError::UnpricedSeatType(_) | PricingError::TotalOutOfRange => {}
    };
    cases
}

fn payment_errors() -> Vec<Case> {
    use payment::Error as E;
    let cases = vec![
        case(E::PaymentAlreadyInitiated, None),
        case(E::PaymentNotInitiated, None),
        case(E::PaymentNotPending, None),
        case(E::NothingToPay, None),
        case(
            E::TenderedTooLow {
                tendered: money("5"),
                amount: money("10"),
            },
            Some("tendered"),
        ),
        case(E::TenderedOnlyForCash, Some("tendered")),
        case(E::CardReferenceMissing, Some("reference")),
        case(E::NothingToRefund, None),
    ];
    let _: fn(&E) = |e| match e {
        E::PaymentAlreadyInitiated
        | E::PaymentNotInitiated
        | E::PaymentNotPending
        | E::NothingToPay
        | E::TenderedTooLow { .. }
        | E::TenderedOnlyForCash
        | E::CardReferenceMissing
        | E::NothingToRefund => {}
    };
    cases
}

fn discounts_errors() -> Vec<Case> {
    use discounts::Error as E;
    let cases = vec![
        case(E::PromoCodeAlreadyExists(code("EARLY")), Some("promo_code")),
        case(E::PercentOutOfRange(Decimal::ZERO), Some("percent")),
        case(E::AmountNotPositive, Some("amount")),
        case(E::MaxUsesZero, Some("max_uses")),
        case(E::EmptyScope, Some("scope")),
        case(E::UnknownPromoCode(code("EARLY")), Some("promo_code")),
        case(E::PromoCodeNotApplicable(code("EARLY")), Some("promo_code")),
        case(
            E::PromoCodeNotCombinable {
                code: code("EARLY"),
                other: code("LATE"),
            },
            Some("promo_code"),
        ),
        case(E::PromoCodeExhausted(code("EARLY")), Some("promo_code")),
    ];
    let _: fn(&E) = |e| match e {
        E::PromoCodeAlreadyExists(_)
        | E::PercentOutOfRange(_)
        | E::AmountNotPositive
        | E::MaxUsesZero
        | E::EmptyScope
        | E::UnknownPromoCode(_)
        | E::PromoCodeNotApplicable(_)
        | E::PromoCodeNotCombinable { .. }
        | E::PromoCodeExhausted(_) => {}
    };
    cases
}

fn assignments_errors() -> Vec<Case> {
    use assignments::Error as E;
    let cases = vec![
        case(E::AssignmentsAlreadyCreated, None),
        case(E::AssignmentsNotCreated, None),
        case(
            E::UnknownPosition {
                position: 3,
                last: 1,
            },
            Some("position"),
        ),
    ];
    let _: fn(&E) = |e| match e {
        E::AssignmentsAlreadyCreated | E::AssignmentsNotCreated | E::UnknownPosition { .. } => {}
    };
    cases
}

fn value_errors() -> Vec<Case> {
    use InvalidValue as E;
    let mut cases = vec![
        case(E::Email("x".into()), Some("email")),
        case(E::Slug("a b".into()), Some("slug")),
        case(E::AccessCode("x".into()), Some("access_code")),
        case(E::PromoCode("x".into()), Some("promo_code")),
        case(InvalidCurrency("EURO".into()), Some("currency")),
        case(InvalidMoney::NotANumber("x".into()), None),
        case(InvalidMoney::Negative("-1".into()), None),
    ];
    for (label, field) in [
        ("conference name", "name"),
        ("owner name", "owner_name"),
        ("first name", "first_name"),
        ("last name", "last_name"),
        ("device name", "device_name"),
    ] {
        cases.push(case(E::Empty { field: label }, Some(field)));
        cases.push(case(
            E::TooLong {
                field: label,
                len: 300,
                max: 200,
            },
            Some(field),
        ));
    }
    let _: fn(&E) = |e| match e {
        E::Email(_)
        | E::Slug(_)
        | E::AccessCode(_)
        | E::PromoCode(_)
        | E::Empty { .. }
        | E::TooLong { .. } => {}
    };
    cases
}

fn every_case() -> Vec<Case> {
    [
        conference_errors(),
        seats_errors(),
        order_errors(),
        payment_errors(),
        discounts_errors(),
        assignments_errors(),
        value_errors(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The codes listed in `text` between `<!-- {name}: start -->` and `<!-- {name}: end -->`,
/// one `- \`code\`` per line, in the order written.
fn listed(text: &str, name: &str) -> Vec<String> {
    let start = format!("<!-- {name}: start -->");
    let end = format!("<!-- {name}: end -->");
    let section = text
        .split(start.as_str())
        .nth(1)
        .and_then(|rest| rest.split(end.as_str()).next())
        .unwrap_or_else(|| panic!("docs/error-codes.md has no {start} … {end} section"));
    section
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- `"))
        .filter_map(|rest| rest.split('`').next())
        .map(String::from)
        .collect()
}

#[test]
fn every_domain_error_has_its_listed_code() {
    let codes: BTreeSet<String> = every_case()
        .iter()
        .map(|(error, _)| error.code().to_string())
        .collect();
    let listed = listed(LISTED, "domain-codes");
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "docs/error-codes.md lists the codes sorted");
    assert_eq!(
        codes.into_iter().collect::<Vec<_>>(),
        listed,
        "the domain's codes differ from docs/error-codes.md (domain-codes); a code is a public API: change the list only on purpose"
    );
}

#[test]
fn every_domain_error_names_its_field() {
    for (error, field) in every_case() {
        assert_eq!(error.field(), field, "{}", error.code());
    }
}

#[test]
fn codes_are_snake_case() {
    for (error, _) in every_case() {
        let code = error.code();
        assert!(
            !code.is_empty()
                && !code.starts_with('_')
                && !code.ends_with('_')
                && code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{code}"
        );
    }
}

#[test]
fn a_label_no_input_has_names_no_field() {
    assert_eq!(field_of_label("owner name"), Some("owner_name"));
    assert_eq!(field_of_label("favourite colour"), None);
    assert_eq!(
        conference::Error::Required { field: "venue" }.field(),
        None,
        "an unknown label"
    );
}
