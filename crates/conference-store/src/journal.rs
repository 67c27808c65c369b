//! The device's store as the journal that user commands run on (`conference_exec`), and
//! its errors in the application's terms.
use crate::{Conflict, ExecuteError, Recorded, ScheduledCommand, StoreError, Tx};
use conference_domain::aggregate::{Aggregate, IntoDomainEvent};
use conference_domain::process::RegistrationProcess;
use conference_domain::stream::StreamId;
use conference_domain::{DeviceId, OrderId, Timestamp};
use conference_exec::{AppError, Journal};

impl Journal for Tx<'_> {
    fn now(&self) -> Timestamp {
        Tx::now(self)
    }

    fn device_id(&self) -> DeviceId {
        Tx::device_id(self)
    }

    fn load<A: Aggregate>(&mut self, stream: StreamId) -> Result<A, AppError> {
        Ok(Tx::load::<A>(self, stream)?.state)
    }

    fn execute<A: Aggregate>(
        &mut self,
        stream: StreamId,
        command: &A::Command,
    ) -> Result<Vec<Recorded>, AppError>
    where
        A::Event: IntoDomainEvent,
    {
        Ok(Tx::execute::<A>(self, stream, command)?)
    }

    fn recorded(&self) -> &[Recorded] {
        Tx::recorded(self)
    }

    fn load_process(&mut self, order_id: OrderId) -> Result<RegistrationProcess, AppError> {
        Ok(Tx::load_process(self, order_id.as_uuid())?)
    }

    fn save_process(
        &mut self,
        order_id: OrderId,
        state: &RegistrationProcess,
    ) -> Result<(), AppError> {
        Ok(Tx::save_process(self, order_id.as_uuid(), state)?)
    }

    fn forget_process(&mut self, order_id: OrderId) -> Result<(), AppError> {
        Ok(Tx::forget_process(self, order_id.as_uuid())?)
    }

    fn schedule(
        &mut self,
        due: Timestamp,
        kind: &str,
        key: uuid::Uuid,
        payload: &serde_json::Value,
    ) -> Result<(), AppError> {
        Ok(Tx::schedule(self, due, kind, key, payload)?)
    }

    fn cancel_scheduled(&mut self, key: uuid::Uuid) -> Result<(), AppError> {
        Ok(Tx::cancel_scheduled(self, key)?)
    }

    fn due_commands(
        &mut self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<ScheduledCommand>, AppError> {
        Ok(Tx::due_commands(self, now, limit)?)
    }

    fn mark_done(&mut self, scheduled_id: i64) -> Result<(), AppError> {
        Ok(Tx::mark_done(self, scheduled_id)?)
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(c) => c.into(),
            StoreError::NotInitialized => Self::invalid("not_initialized", error.to_string()),
            StoreError::AlreadyInitialized(_) => {
                Self::invalid("already_initialized", error.to_string())
            }
            other => Self::Store(other.to_string()),
        }
    }
}

impl From<Conflict> for AppError {
    fn from(c: Conflict) -> Self {
        Self::Conflict(c.to_string())
    }
}

impl<E: std::error::Error + conference_domain::ErrorCode> From<ExecuteError<E>> for AppError {
    fn from(error: ExecuteError<E>) -> Self {
        match error {
            ExecuteError::Domain(e) => Self::domain(e),
            ExecuteError::Store(e) => e.into(),
        }
    }
}
