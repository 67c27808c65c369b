//! The one execution of user commands (DESIGN.md §4, §7): what a [`UserCommand`] does to
//! the domain ([`run`]) and everything it causes in the same unit of work ([`Uow`]: the
//! seat-pool policy and the registration process manager, until nothing more happens).
//!
//! It runs over a [`Journal`]: a device's store (`conference-store`, one SQLite
//! transaction) or the sync server's replay of a pushed command. The server judges a
//! device's command by running it here, with the code the device ran, so there is no
//! second copy of any rule. This crate does no IO of its own and reads no clock.
#![forbid(unsafe_code)]

pub mod command;
pub mod error;
pub mod journal;
mod runner;
mod usecases;

pub use command::{Outcome, UserCommand};
pub use error::AppError;
pub use journal::{Journal, Recorded, ScheduledCommand};
pub use runner::{EXPIRE_REGISTRATION, ExpiryPayload, Uow, pool_policy};
pub use usecases::run;
