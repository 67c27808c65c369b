//! Payments at the door (cash, card) and by invoice, and refunds.
use crate::support::*;
use conference_domain::Money;
use conference_domain::payment::*;
use std::collections::BTreeSet;

fn initiate(method: PaymentMethod, amount: &str) -> Command {
    Command::Initiate {
        order_id: order_id(),
        conference_id: conference_id(),
        amount: money(amount),
        method,
        description: "2 × General".into(),
    }
}

fn initiated(method: PaymentMethod) -> Event {
    PaymentInitiated {
        order_id: order_id(),
        conference_id: conference_id(),
        amount: money("45.50"),
        method,
        description: "2 × General".into(),
    }
    .into()
}

fn complete(tendered: Option<&str>, reference: Option<&str>) -> Command {
    Command::Complete {
        tendered: tendered.map(money),
        reference: reference.map(str::to_string),
    }
}

fn completed(method: PaymentMethod) -> Event {
    PaymentCompleted {
        order_id: order_id(),
        method,
        amount: money("45.50"),
        tendered: None,
        change: None,
        reference: None,
    }
    .into()
}

#[test]
fn initiating_records_amount_and_method() {
    let state = given_nothing::<Payment>()
        .when(initiate(PaymentMethod::Cash, "45.50"))
        .then([initiated(PaymentMethod::Cash)]);
    let Payment::Initiated(data) = state else {
        panic!("{state:?}")
    };
    assert_eq!(data.amount, money("45.5"));
    assert_eq!(data.method, PaymentMethod::Cash);
    assert_eq!(data.order_id, order_id());
}

#[test]
fn cash_gives_change_from_what_was_tendered() {
    let cases = [
        ("more than due", Some("50"), "50", "4.50"),
        ("exact", Some("45.50"), "45.50", "0"),
        ("nothing said: exact", None, "45.50", "0"),
    ];
    for (label, tendered, recorded, change) in cases {
        let state = given(vec![initiated(PaymentMethod::Cash)])
            .case(label)
            .when(complete(tendered, None))
            .then([PaymentCompleted {
                order_id: order_id(),
                method: PaymentMethod::Cash,
                amount: money("45.50"),
                tendered: Some(money(recorded)),
                change: Some(money(change)),
                reference: None,
            }
            .into()]);
        assert!(matches!(state, Payment::Completed(_)), "{label}");
    }
}

#[test]
fn card_keeps_the_trimmed_terminal_reference() {
    given(vec![initiated(PaymentMethod::Card)])
        .when(complete(None, Some("  T-1234 ")))
        .then([PaymentCompleted {
            order_id: order_id(),
            method: PaymentMethod::Card,
            amount: money("45.50"),
            tendered: None,
            change: None,
            reference: Some("T-1234".into()),
        }
        .into()]);
}

#[test]
fn an_invoice_needs_no_reference() {
    given(vec![initiated(PaymentMethod::Invoice)])
        .when(complete(None, Some("   ")))
        .then([completed(PaymentMethod::Invoice)]);
}

#[test]
fn a_pending_payment_can_be_rejected() {
    let state = given(vec![initiated(PaymentMethod::Card)])
        .when(Command::Reject {
            reason: "declined".into(),
        })
        .then([PaymentRejected {
            order_id: order_id(),
            reason: "declined".into(),
        }
        .into()]);
    assert!(matches!(state, Payment::Rejected(_)));
}

#[test]
fn a_completed_payment_can_be_refunded_once() {
    let state = given(vec![
        initiated(PaymentMethod::Invoice),
        completed(PaymentMethod::Invoice),
    ])
    .when(Command::Refund {
        reason: "order cancelled".into(),
    })
    .then([PaymentRefunded {
        order_id: order_id(),
        amount: money("45.50"),
        reason: "order cancelled".into(),
    }
    .into()]);
    assert!(matches!(state, Payment::Refunded(_)));
}

#[test]
fn method_names_are_stable() {
    let names: Vec<_> = [
        PaymentMethod::Cash,
        PaymentMethod::Card,
        PaymentMethod::Invoice,
    ]
    .into_iter()
    .map(PaymentMethod::as_str)
    .collect();
    assert_eq!(names, ["cash", "card", "invoice"]);
}

fn variant(e: &Error) -> &'static str {
    match e {
        Error::PaymentAlreadyInitiated => "PaymentAlreadyInitiated",
        Error::PaymentNotInitiated => "PaymentNotInitiated",
        Error::PaymentNotPending => "PaymentNotPending",
        Error::NothingToPay => "NothingToPay",
        Error::TenderedTooLow { .. } => "TenderedTooLow",
        Error::TenderedOnlyForCash => "TenderedOnlyForCash",
        Error::CardReferenceMissing => "CardReferenceMissing",
        Error::NothingToRefund => "NothingToRefund",
    }
}
const VARIANTS: usize = 8;

#[test]
fn every_rule_is_refused_with_its_error() {
    use PaymentMethod::*;
    let cash = vec![initiated(Cash)];
    let card = vec![initiated(Card)];
    let paid = vec![initiated(Card), completed(Card)];
    let rejected = vec![
        initiated(Card),
        PaymentRejected {
            order_id: order_id(),
            reason: "declined".into(),
        }
        .into(),
    ];
    let refunded = vec![
        initiated(Card),
        completed(Card),
        PaymentRefunded {
            order_id: order_id(),
            amount: money("45.50"),
            reason: "x".into(),
        }
        .into(),
    ];
    let refund = || Command::Refund { reason: "x".into() };
    let reject = || Command::Reject { reason: "x".into() };

    let cases: Vec<(&str, Vec<Event>, Command, Error)> = vec![
        (
            "initiate twice",
            cash.clone(),
            initiate(Cash, "1"),
            Error::PaymentAlreadyInitiated,
        ),
        (
            "initiate after completion",
            paid.clone(),
            initiate(Cash, "1"),
            Error::PaymentAlreadyInitiated,
        ),
        (
            "complete unknown",
            vec![],
            complete(None, None),
            Error::PaymentNotInitiated,
        ),
        (
            "reject unknown",
            vec![],
            reject(),
            Error::PaymentNotInitiated,
        ),
        (
            "refund unknown",
            vec![],
            refund(),
            Error::PaymentNotInitiated,
        ),
        (
            "complete twice",
            paid.clone(),
            complete(None, Some("T")),
            Error::PaymentNotPending,
        ),
        (
            "reject a completed payment",
            paid.clone(),
            reject(),
            Error::PaymentNotPending,
        ),
        (
            "complete a rejected payment",
            rejected.clone(),
            complete(None, Some("T")),
            Error::PaymentNotPending,
        ),
        (
            "reject a refunded payment",
            refunded.clone(),
            reject(),
            Error::PaymentNotPending,
        ),
        ("pay zero", vec![], initiate(Cash, "0"), Error::NothingToPay),
        (
            "pay a negative amount",
            vec![],
            initiate(Card, "-5"),
            Error::NothingToPay,
        ),
        (
            "too little cash",
            cash.clone(),
            complete(Some("45.49"), None),
            Error::TenderedTooLow {
                tendered: money("45.49"),
                amount: money("45.50"),
            },
        ),
        (
            "tendered on card",
            card.clone(),
            complete(Some("50"), Some("T")),
            Error::TenderedOnlyForCash,
        ),
        (
            "tendered on invoice",
            vec![initiated(Invoice)],
            complete(Some("50"), None),
            Error::TenderedOnlyForCash,
        ),
        (
            "card without reference",
            card.clone(),
            complete(None, None),
            Error::CardReferenceMissing,
        ),
        (
            "card with a blank reference",
            card.clone(),
            complete(None, Some("  ")),
            Error::CardReferenceMissing,
        ),
        (
            "refund a pending payment",
            card,
            refund(),
            Error::NothingToRefund,
        ),
        (
            "refund a rejected payment",
            rejected,
            refund(),
            Error::NothingToRefund,
        ),
        ("refund twice", refunded, refund(), Error::NothingToRefund),
    ];
    let mut covered = BTreeSet::new();
    for (label, history, command, error) in cases {
        covered.insert(variant(&error));
        given(history).case(label).when(command).then_err(error);
    }
    assert_eq!(covered.len(), VARIANTS, "{covered:?}");
}

/// The cash rule the door's screen asks as the cashier types, and the payment decides
/// with when it completes: change is what was handed over beyond the amount.
#[test]
fn cash_change_is_what_was_handed_over_beyond_the_amount() {
    let amount = money("204.00");
    assert_eq!(
        cash_change(amount, Some(money("250"))),
        Ok((money("250"), money("46.00")))
    );
    assert_eq!(
        cash_change(amount, Some(money("204.00"))),
        Ok((money("204.00"), Money::ZERO))
    );
    assert_eq!(cash_change(amount, None), Ok((amount, Money::ZERO)));
    assert_eq!(
        cash_change(amount, Some(money("200"))),
        Err(Error::TenderedTooLow {
            tendered: money("200"),
            amount,
        })
    );
}
