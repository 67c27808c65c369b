//! What a unit of work runs on: the streams it reads and appends to, and the process
//! manager's bookkeeping. A device's store is one journal (`conference-store`, one SQLite
//! transaction); the sync server's replay of a pushed command is another (states folded at
//! the versions the device read, events kept in memory to compare with the pushed ones).
use crate::AppError;
use conference_domain::aggregate::{Aggregate, DomainEvent, IntoDomainEvent, StoredEvent};
use conference_domain::process::RegistrationProcess;
use conference_domain::stream::StreamId;
use conference_domain::{DeviceId, OrderId, Timestamp};

/// An event as a journal recorded it, decoded into the domain's terms.
pub type Recorded = StoredEvent<DomainEvent>;

/// A command scheduled to run once its time has come (a reservation's expiry).
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledCommand {
    pub id: i64,
    pub due: Timestamp,
    pub kind: String,
    pub payload: serde_json::Value,
}

/// One unit of work's view of the event log and of the process manager's state. Every
/// method sees what earlier calls in the same unit did.
pub trait Journal {
    /// The time the command runs at (data, never a clock read).
    fn now(&self) -> Timestamp;
    /// The device the command runs for.
    fn device_id(&self) -> DeviceId;
    /// An aggregate's state as this unit sees it.
    fn load<A: Aggregate>(&mut self, stream: StreamId) -> Result<A, AppError>;
    /// Loads, decides and appends: the events `command` caused on `stream` (none if it
    /// changed nothing), or the rule it broke as [`AppError::domain`].
    fn execute<A: Aggregate>(
        &mut self,
        stream: StreamId,
        command: &A::Command,
    ) -> Result<Vec<Recorded>, AppError>
    where
        A::Event: IntoDomainEvent;
    /// Every event this unit has appended so far, in order.
    fn recorded(&self) -> &[Recorded];

    /// A registration process's state as this journal kept it (the default when it kept
    /// none).
    fn load_process(&mut self, order_id: OrderId) -> Result<RegistrationProcess, AppError>;
    fn save_process(
        &mut self,
        order_id: OrderId,
        state: &RegistrationProcess,
    ) -> Result<(), AppError>;
    /// Drops a process's state (a completed one is implied by its confirmed order).
    fn forget_process(&mut self, order_id: OrderId) -> Result<(), AppError>;

    /// Schedules a command to run once `due` has passed.
    fn schedule(
        &mut self,
        due: Timestamp,
        kind: &str,
        key: uuid::Uuid,
        payload: &serde_json::Value,
    ) -> Result<(), AppError>;
    /// Drops the pending scheduled commands about `key` (they became moot).
    fn cancel_scheduled(&mut self, key: uuid::Uuid) -> Result<(), AppError>;
    /// Scheduled commands due at `now` or before, oldest first, not yet done.
    fn due_commands(
        &mut self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<ScheduledCommand>, AppError>;
    fn mark_done(&mut self, scheduled_id: i64) -> Result<(), AppError>;
}
