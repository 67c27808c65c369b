//! Conference management: create, update, seat types, publish.
use crate::support::*;
use conference_domain::Aggregate;
use conference_domain::conference::*;
use conference_domain::{Currency, Email, Slug};
use std::collections::BTreeSet;

fn details() -> ConferenceDetails {
    ConferenceDetails {
        slug: Slug::parse("devconf-2026").unwrap(),
        name: "DevConf".into(),
        description: "Two days of talks".into(),
        location: "Brno".into(),
        start: at(0),
        end: at(60 * 24 * 2),
        owner_name: "Ada Organizer".into(),
        owner_email: Email::parse("ada@example.org").unwrap(),
    }
}

fn created() -> Event {
    ConferenceCreated {
        id: conference_id(),
        details: details(),
        currency: Currency::parse("EUR").unwrap(),
    }
    .into()
}

fn seat_type(
    id: conference_domain::SeatTypeId,
    name: &str,
    price: &str,
    quantity: u32,
) -> SeatType {
    SeatType {
        id,
        name: name.into(),
        description: String::new(),
        price: money(price),
        quantity,
    }
}

fn general_added() -> Event {
    SeatTypeCreated {
        seat_type: seat_type(seat_a(), "General", "120", 100),
    }
    .into()
}

fn workshop_added() -> Event {
    SeatTypeCreated {
        seat_type: seat_type(seat_b(), "Workshop", "50", 20),
    }
    .into()
}

fn add(name: &str, description: &str, price: &str, quantity: u32) -> Command {
    Command::AddSeatType {
        seat_type: seat_c(),
        name: name.into(),
        description: description.into(),
        price: money(price),
        quantity,
    }
}

fn update_seat(name: Option<&str>, price: Option<&str>, quantity: Option<u32>) -> Command {
    Command::UpdateSeatType {
        seat_type: seat_a(),
        name: name.map(str::to_string),
        description: None,
        price: price.map(money),
        quantity,
    }
}

#[test]
fn create_records_the_conference_as_a_draft() {
    let state = given_nothing::<Conference>()
        .when(Command::Create {
            id: conference_id(),
            details: details(),
            currency: Currency::parse("eur").unwrap(),
        })
        .then([created()]);
    let data = state.data().unwrap();
    assert_eq!(data.publication, Publication::Draft);
    assert!(!data.is_published());
    assert_eq!(data.currency.code(), "EUR");
    assert!(data.seat_types.is_empty());
}

#[test]
fn a_conference_may_end_on_the_minute_it_starts() {
    let mut same_day = details();
    same_day.end = same_day.start;
    given([created()])
        .when(Command::Update {
            details: same_day.clone(),
        })
        .then([ConferenceUpdated { details: same_day }.into()]);
}

#[test]
fn seat_types_are_added_trimmed_and_found_by_name_ignoring_case() {
    let state = given([created()])
        .when(add("  VIP  ", " front row ", "499.99", 10))
        .then([SeatTypeCreated {
            seat_type: SeatType {
                id: seat_c(),
                name: "VIP".into(),
                description: "front row".into(),
                price: money("499.99"),
                quantity: 10,
            },
        }
        .into()]);
    let data = state.data().unwrap();
    assert_eq!(data.seat_type_named("vip").unwrap().id, seat_c());
    assert_eq!(data.seat_type(seat_c()).unwrap().quantity, 10);
}

#[test]
fn seat_type_limits_are_inclusive() {
    let longest = "x".repeat(70);
    let description = "d".repeat(250);
    for (label, command) in [
        ("shortest name, free", add("AB", "", "0", 0)),
        ("longest name", add(&longest, "", "1", 1)),
        ("longest description", add("Room", &description, "1", 1)),
        (
            "highest price and quantity",
            add("Gold", "", "50000", 100_000),
        ),
    ] {
        let events = given([created()]).case(label).when(command).events();
        assert_eq!(events.len(), 1, "{label}");
    }
}

#[test]
fn updating_a_seat_type_records_the_previous_quantity() {
    let state = given([created(), general_added()])
        .when(update_seat(None, Some("99.5"), Some(150)))
        .then([SeatTypeUpdated {
            seat_type: seat_type(seat_a(), "General", "99.5", 150),
            previous_quantity: 100,
        }
        .into()]);
    let general = state.data().unwrap().seat_type(seat_a()).unwrap();
    assert_eq!((general.price, general.quantity), (money("99.5"), 150));
}

#[test]
fn an_update_that_changes_nothing_records_nothing() {
    given([created(), general_added()])
        .when(update_seat(Some(" General "), Some("120"), Some(100)))
        .then([]);
}

#[test]
fn a_seat_type_may_keep_its_own_name_in_other_case() {
    given([created(), general_added()])
        .when(update_seat(Some("GENERAL"), None, None))
        .then([SeatTypeUpdated {
            seat_type: seat_type(seat_a(), "GENERAL", "120", 100),
            previous_quantity: 100,
        }
        .into()]);
}

#[test]
fn publish_unpublish_and_publish_again() {
    let published = given([created()])
        .when(Command::Publish)
        .then([ConferencePublished {}.into()]);
    assert!(published.data().unwrap().is_published());
    let unpublished = given([created(), ConferencePublished {}.into()])
        .when(Command::Unpublish)
        .then([ConferenceUnpublished {}.into()]);
    assert_eq!(
        unpublished.data().unwrap().publication,
        Publication::Unpublished
    );
    given([
        created(),
        ConferencePublished {}.into(),
        ConferenceUnpublished {}.into(),
    ])
    .when(Command::Publish)
    .then([ConferencePublished {}.into()]);
}

#[test]
fn events_before_creation_change_nothing() {
    let state = Conference::fold(&[ConferencePublished {}.into(), general_added()]);
    assert_eq!(state, Conference::NotCreated);
    // A second creation is not a fact the aggregate would produce; applying it is a no-op.
    let mut other = details();
    other.name = "Other".into();
    let state = Conference::fold(&[
        created(),
        ConferenceCreated {
            id: conference_id(),
            details: other,
            currency: Currency::default(),
        }
        .into(),
    ]);
    assert_eq!(state.data().unwrap().details.name, "DevConf");
}

/// Which variant an error is. The match has no wildcard, so a new variant does not compile
/// until the table below covers it.
fn variant(e: &Error) -> &'static str {
    match e {
        Error::ConferenceAlreadyExists => "ConferenceAlreadyExists",
        Error::ConferenceNotFound => "ConferenceNotFound",
        Error::EndBeforeStart => "EndBeforeStart",
        Error::Required { .. } => "Required",
        Error::SeatTypeNameLength(_) => "SeatTypeNameLength",
        Error::SeatTypeDescriptionTooLong => "SeatTypeDescriptionTooLong",
        Error::SeatTypeNameTaken(_) => "SeatTypeNameTaken",
        Error::SeatTypeNotFound => "SeatTypeNotFound",
        Error::PriceOutOfRange(_) => "PriceOutOfRange",
        Error::QuantityOutOfRange(_) => "QuantityOutOfRange",
        Error::AlreadyPublished => "AlreadyPublished",
        Error::NotPublished => "NotPublished",
        Error::NotOnSale(_) => "NotOnSale",
    }
}
const VARIANTS: usize = 13;

#[test]
fn every_rule_is_refused_with_its_error() {
    let mut ends_early = details();
    ends_early.end = ends_early.start - chrono::Duration::minutes(1);
    let mut no_name = details();
    no_name.name = "   ".into();
    let mut no_owner = details();
    no_owner.owner_name = String::new();
    let create = |details: ConferenceDetails| Command::Create {
        id: conference_id(),
        details,
        currency: Currency::default(),
    };
    let base = vec![created(), general_added(), workshop_added()];
    let published = {
        let mut h = base.clone();
        h.push(ConferencePublished {}.into());
        h
    };

    let cases: Vec<(&str, Vec<Event>, Command, Error)> = vec![
        (
            "create twice",
            base.clone(),
            create(details()),
            Error::ConferenceAlreadyExists,
        ),
        (
            "update before create",
            vec![],
            Command::Update { details: details() },
            Error::ConferenceNotFound,
        ),
        (
            "add seat type before create",
            vec![],
            add("VIP", "", "1", 1),
            Error::ConferenceNotFound,
        ),
        (
            "update seat type before create",
            vec![],
            update_seat(None, Some("1"), None),
            Error::ConferenceNotFound,
        ),
        (
            "publish before create",
            vec![],
            Command::Publish,
            Error::ConferenceNotFound,
        ),
        (
            "unpublish before create",
            vec![],
            Command::Unpublish,
            Error::ConferenceNotFound,
        ),
        (
            "create ending before start",
            vec![],
            create(ends_early.clone()),
            Error::EndBeforeStart,
        ),
        (
            "update ending before start",
            base.clone(),
            Command::Update {
                details: ends_early,
            },
            Error::EndBeforeStart,
        ),
        (
            "blank name",
            vec![],
            create(no_name.clone()),
            Error::Required {
                field: "conference name",
            },
        ),
        (
            "blank name on update",
            base.clone(),
            Command::Update { details: no_name },
            Error::Required {
                field: "conference name",
            },
        ),
        (
            "no owner",
            vec![],
            create(no_owner),
            Error::Required {
                field: "owner name",
            },
        ),
        (
            "one-letter seat type",
            base.clone(),
            add(" A ", "", "1", 1),
            Error::SeatTypeNameLength(1),
        ),
        (
            "71-letter seat type",
            base.clone(),
            add(&"x".repeat(71), "", "1", 1),
            Error::SeatTypeNameLength(71),
        ),
        (
            "rename to one letter",
            base.clone(),
            update_seat(Some("Z"), None, None),
            Error::SeatTypeNameLength(1),
        ),
        (
            "251-char description",
            base.clone(),
            add("VIP", &"d".repeat(251), "1", 1),
            Error::SeatTypeDescriptionTooLong,
        ),
        (
            "name taken, other case",
            base.clone(),
            add(" general ", "", "1", 1),
            Error::SeatTypeNameTaken("general".into()),
        ),
        (
            "rename onto another",
            base.clone(),
            update_seat(Some("Workshop"), None, None),
            Error::SeatTypeNameTaken("Workshop".into()),
        ),
        (
            "update unknown seat type",
            base.clone(),
            Command::UpdateSeatType {
                seat_type: seat_c(),
                name: None,
                description: None,
                price: None,
                quantity: Some(1),
            },
            Error::SeatTypeNotFound,
        ),
        (
            "price above 50000",
            base.clone(),
            add("VIP", "", "50000.01", 1),
            Error::PriceOutOfRange(money("50000.01")),
        ),
        (
            "negative price",
            base.clone(),
            add("VIP", "", "-1", 1),
            Error::PriceOutOfRange(money("-1")),
        ),
        (
            "negative price on update",
            base.clone(),
            update_seat(None, Some("-0.01"), None),
            Error::PriceOutOfRange(money("-0.01")),
        ),
        (
            "quantity above 100000",
            base.clone(),
            add("VIP", "", "1", 100_001),
            Error::QuantityOutOfRange(100_001),
        ),
        (
            "quantity above 100000 on update",
            base.clone(),
            update_seat(None, None, Some(100_001)),
            Error::QuantityOutOfRange(100_001),
        ),
        (
            "publish twice",
            published.clone(),
            Command::Publish,
            Error::AlreadyPublished,
        ),
        (
            "unpublish a draft",
            base.clone(),
            Command::Unpublish,
            Error::NotPublished,
        ),
        (
            "unpublish twice",
            {
                let mut h = published.clone();
                h.push(ConferenceUnpublished {}.into());
                h
            },
            Command::Unpublish,
            Error::NotPublished,
        ),
    ];

    let mut covered = BTreeSet::new();
    for (label, history, command, error) in cases {
        covered.insert(variant(&error));
        given(history).case(label).when(command).then_err(error);
    }
    // Asked before a sale, not by a command: only a published conference sells.
    let unpublished = Conference::fold(&base);
    let refused = unpublished.data().unwrap().check_on_sale().unwrap_err();
    assert_eq!(
        refused.to_string(),
        format!(
            "conference `{}` is not published, so it cannot sell seats; publish it first",
            details().slug
        )
    );
    covered.insert(variant(&refused));
    assert_eq!(
        Conference::fold(&published).data().unwrap().check_on_sale(),
        Ok(())
    );
    assert_eq!(
        covered.len(),
        VARIANTS,
        "every error variant has a case: {covered:?}"
    );
}
