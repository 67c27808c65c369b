//! The Contoso conference domain at its V2 milestone, as pure code.
//!
//! Every aggregate has two functions: `handle(&self, command) -> Result<Vec<Event>, Error>`
//! holds all the rules, and `apply(&mut self, &Event)` folds an event into state and never
//! fails. The registration process manager is a pure reactor: event in, commands out.
//!
//! This crate must never do IO, read a clock or draw a random number: ids, access codes and
//! `now` come in with the commands, so every rule can be tested by moving data alone.
#![forbid(unsafe_code)]

pub mod aggregate;
pub mod assignments;
pub mod conference;
pub mod discounts;
pub mod error_code;
pub mod ids;
pub mod limits;
pub mod money;
pub mod neutralise;
pub mod order;
pub mod payment;
pub mod pricing;
pub mod process;
pub mod seats;
pub mod stream;
pub mod upcast;
pub mod values;

pub use aggregate::{
    Aggregate, DecodeError, DomainEvent, EventEnvelope, IntoDomainEvent, StoredEvent,
};
pub use error_code::ErrorCode;
pub use ids::*;
pub use money::{Currency, Money};
pub use stream::{Holder, StreamId, StreamKind};
pub use values::*;

/// A point in time, always UTC. It enters the domain as data.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// For the `events!` macro: it finds the fields a payload carries that its type does not
/// know.
#[doc(hidden)]
pub use serde_ignored as __serde_ignored;
