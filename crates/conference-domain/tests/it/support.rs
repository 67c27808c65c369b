//! Shared helpers: the given/when/then harness every aggregate table uses, and fixtures.
use chrono::{DateTime, Duration, TimeZone, Utc};
use conference_domain::aggregate::{Aggregate, EventEnvelope};
use conference_domain::assignments::{self, SeatAssignments};
use conference_domain::conference::{self, Conference};
use conference_domain::discounts::{self, Promotions};
use conference_domain::order::{self, Order};
use conference_domain::payment::{self, Payment};
use conference_domain::seats::{self, SeatsAvailability};
use conference_domain::{
    AccessCode, ConferenceId, DeviceId, Money, OrderId, PaymentId, PersonalInfo, PromoCode,
    SeatDelta, SeatQuantity, SeatTypeId, Timestamp,
};
use rust_decimal::Decimal;
use std::fmt::Debug;
use std::str::FromStr;
use uuid::Uuid;

/// Names the aggregate an event enum belongs to, so `given([...])` needs no turbofish.
pub trait EventOf: EventEnvelope {
    type Aggregate: Aggregate<Event = Self>;
}

macro_rules! event_of {
    ($($module:ident => $aggregate:ty),+ $(,)?) => {
        $(impl EventOf for $module::Event {
            type Aggregate = $aggregate;
        })+
    };
}
event_of!(
    conference => Conference,
    seats => SeatsAvailability,
    order => Order,
    payment => Payment,
    discounts => Promotions,
    assignments => SeatAssignments,
);

/// The history an aggregate is folded from before the command under test.
pub struct Given<A: Aggregate> {
    history: Vec<A::Event>,
    label: String,
}

/// `given([events])`: the aggregate's state is the fold of these events.
pub fn given<E: EventOf>(events: impl IntoIterator<Item = E>) -> Given<E::Aggregate> {
    Given {
        history: events.into_iter().collect(),
        label: String::new(),
    }
}

/// An aggregate with no history yet.
pub fn given_nothing<A: Aggregate>() -> Given<A> {
    Given {
        history: vec![],
        label: String::new(),
    }
}

impl<A: Aggregate + Debug + PartialEq> Given<A> {
    /// Names the case, so a failing row of a table says which row it was.
    pub fn case(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn when(self, command: A::Command) -> When<A> {
        let state = A::fold(&self.history);
        let result = state.handle(&command);
        When {
            history: self.history,
            state,
            result,
            label: self.label,
        }
    }
}

pub struct When<A: Aggregate> {
    history: Vec<A::Event>,
    state: A,
    result: Result<Vec<A::Event>, A::Error>,
    label: String,
}

impl<A: Aggregate + Debug + PartialEq> When<A> {
    /// Asserts the command's events, and returns the state after them. Also checks that
    /// applying them one by one gives the same state as folding the whole history.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = A::Event>) -> A {
        let expected: Vec<A::Event> = expected.into_iter().collect();
        let label = self.label.clone();
        let events = match self.result {
            Ok(events) => events,
            Err(e) => panic!("[{label}] expected {expected:?}, got error {e:?}"),
        };
        assert_eq!(events, expected, "[{label}] events differ");
        let mut state = self.state;
        for e in &events {
            state.apply(e);
        }
        let all: Vec<_> = self.history.iter().chain(&events).collect();
        assert_eq!(state, A::fold(all), "[{label}] replay differs from fold");
        state
    }

    /// Asserts the command is refused with exactly `expected`.
    #[track_caller]
    pub fn then_err(self, expected: A::Error) {
        let label = &self.label;
        match self.result {
            Ok(events) => panic!("[{label}] expected error {expected:?}, got events {events:?}"),
            Err(e) => assert_eq!(e, expected, "[{label}] wrong error"),
        }
    }

    /// The events, for cases that look at them in detail.
    #[track_caller]
    pub fn events(self) -> Vec<A::Event> {
        match self.result {
            Ok(events) => events,
            Err(e) => panic!("[{}] expected events, got error {e:?}", self.label),
        }
    }
}

// ---- fixtures ----

pub fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub fn conference_id() -> ConferenceId {
    ConferenceId::from_uuid(uuid(0xC0))
}

/// Seat types sort by id: A < B < C.
pub fn seat_a() -> SeatTypeId {
    SeatTypeId::from_uuid(uuid(0xA1))
}
pub fn seat_b() -> SeatTypeId {
    SeatTypeId::from_uuid(uuid(0xB2))
}
pub fn seat_c() -> SeatTypeId {
    SeatTypeId::from_uuid(uuid(0xC3))
}

pub fn order_id() -> OrderId {
    OrderId::from_uuid(uuid(0x0D))
}
pub fn other_order() -> OrderId {
    OrderId::from_uuid(uuid(0x0E))
}
pub fn payment_id() -> PaymentId {
    PaymentId::from_uuid(uuid(0xFA))
}
pub fn device() -> DeviceId {
    DeviceId::from_uuid(uuid(0xDE))
}

pub fn seats(list: &[(SeatTypeId, u32)]) -> Vec<SeatQuantity> {
    list.iter()
        .map(|(t, q)| SeatQuantity::new(*t, *q))
        .collect()
}

pub fn delta(seat_type: SeatTypeId, quantity: i64) -> SeatDelta {
    SeatDelta {
        seat_type,
        quantity,
    }
}

pub fn money(text: &str) -> Money {
    Money::new(Decimal::from_str(text).expect("test amounts are decimals"))
}

pub fn code(text: &str) -> PromoCode {
    PromoCode::parse(text).expect("test promo codes are valid")
}

pub fn access_code() -> AccessCode {
    AccessCode::from_indices([0, 1, 2, 3, 4, 5])
}

pub fn person(first: &str, last: &str, email: &str) -> PersonalInfo {
    PersonalInfo::parse(first, last, email).expect("test people are valid")
}

/// A fixed clock: `at(0)` is 2026-03-01 09:00 UTC, `at(n)` is n minutes later.
pub fn at(minutes: i64) -> Timestamp {
    base_time() + Duration::minutes(minutes)
}

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
        .single()
        .expect("a valid date")
}
