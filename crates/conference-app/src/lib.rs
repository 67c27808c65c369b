//! The application layer: every use case and query of the product, over the local store.
//!
//! The CLI, the desktop app and the sync server are thin adapters over [`App`]: they turn
//! their input into calls here and print or send what comes back. A use case resolves what
//! a person typed (slugs, seat type names, codes) into a [`UserCommand`] with every id and
//! time chosen, then [`App::execute`] runs it in one transaction with its whole cascade,
//! remembers its outcome under its command id, and queues it for sync.
//!
//! `lib.rs` holds the facade (opening a store, the device, [`App::execute`]); the use cases
//! and queries live by topic: `resolve` (names typed → ids), `organizer`, `orders`,
//! `reads`, `order_search`, `quote`, `back_office`, `export`, `sync` and `feed`.
#![forbid(unsafe_code)]

mod back_office;
pub use conference_exec::command;
mod device_name;
pub mod error;
mod export;
#[cfg(feature = "http")]
pub mod feed;
#[cfg(feature = "http")]
pub mod http;
pub mod input;
mod order_search;
mod orders;
mod organizer;
mod quote;
mod reads;
mod resolve;
pub mod sync;
mod transport;

pub use back_office::ReconciliationEntry;
use command::{Outcome, UserCommand};
use conference_domain::stream::Holder;
use conference_domain::values::AccessCode;
use conference_domain::{CommandId, DeviceId, Timestamp};
use conference_exec::Uow;
use conference_protocol as p;
use conference_store::Store;
pub use conference_store::sync::ServerLink;
pub use error::AppError;
use std::path::Path;
use uuid::Uuid;

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// Who is asking and when: the command id (for idempotency) and the clock reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ctx {
    pub command_id: CommandId,
    pub now: Timestamp,
}

impl Ctx {
    /// A fresh, time-ordered command id at `now`.
    #[must_use]
    pub fn new(now: Timestamp) -> Self {
        Self {
            command_id: new_command_id(),
            now,
        }
    }
}

#[must_use]
pub fn new_command_id() -> CommandId {
    CommandId::from_uuid(Uuid::now_v7())
}

fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// A fresh access code (the only randomness in the product, drawn here, not in the domain).
fn new_access_code() -> AccessCode {
    use rand::Rng;
    let mut rng = rand::rng();
    let mut indices = [0u8; 6];
    for i in &mut indices {
        *i = rng.random_range(0..AccessCode::ALPHABET.len() as u8);
    }
    AccessCode::from_indices(indices)
}

/// What an organizer types to create a conference.
#[derive(Clone, Debug, Default)]
pub struct NewConference {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub location: String,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub owner_name: String,
    pub owner_email: String,
    pub currency: Option<String>,
}

/// What a promo code is, as typed.
#[derive(Clone, Debug, Default)]
pub struct NewPromoCode {
    pub code: String,
    pub percent: Option<String>,
    pub amount: Option<String>,
    pub scope: Vec<String>,
    pub max_uses: Option<u32>,
    pub exclusive: bool,
}

/// How an order is paid, as typed.
#[derive(Clone, Debug, Default)]
pub struct PaymentInput {
    pub method: String,
    pub tendered: Option<String>,
    pub reference: Option<String>,
}

/// A door sale, as typed.
#[derive(Clone, Debug, Default)]
pub struct SaleInput {
    pub slug: String,
    pub seats: Vec<String>,
    pub promo_codes: Vec<String>,
    pub registrant: Option<(String, String, String)>,
    pub payment: Option<PaymentInput>,
    pub allow_override: bool,
}

pub struct App {
    store: Store,
}

impl App {
    /// Opens (and migrates) the store at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            store: Store::open(path)?,
        })
    }

    /// Opens the store at `path`; a store written by V1 is upgraded in place first, with
    /// `progress` told how far it is.
    pub fn open_upgrading(
        path: impl AsRef<Path>,
        progress: &mut dyn FnMut(conference_store::UpgradeProgress),
    ) -> Result<Self> {
        Ok(Self {
            store: Store::open_upgrading(path, conference_store::Durability::Full, progress)?,
        })
    }

    #[must_use]
    pub fn from_store(store: Store) -> Self {
        Self { store }
    }

    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store to change below the application layer: for tests only (feature
    /// `test-support`); everything else changes it through use cases.
    #[cfg(any(test, feature = "test-support"))]
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// The store, for tools and tests that work below the application layer.
    #[must_use]
    pub fn into_store(self) -> Store {
        self.store
    }

    /// Marks every rejection the server sent as read; how many were unread.
    pub fn mark_rejections_read(&mut self) -> Result<usize> {
        Ok(self.store.mark_rejections_seen()?)
    }

    /// Sets up a new store for this device. Safe to call twice: the second call says so.
    pub fn init(&mut self, name: &str, now: Timestamp) -> Result<p::DeviceView> {
        let name = conference_domain::values::required_text("device name", name, 100)?;
        self.store
            .init_device(DeviceId::from_uuid(new_id()), &name, now)?;
        self.device()
    }

    /// Sets up a new store for this device, or, when it is set up already, says which
    /// device it is.
    pub fn init_or_open(&mut self, name: &str, now: Timestamp) -> Result<p::DeviceView> {
        let name = conference_domain::values::required_text("device name", name, 100)?;
        match self
            .store
            .init_device(DeviceId::from_uuid(new_id()), &name, now)
        {
            Ok(_) | Err(conference_store::StoreError::AlreadyInitialized(_)) => self.device(),
            Err(e) => Err(e.into()),
        }
    }

    pub fn device(&self) -> Result<p::DeviceView> {
        let d = self.store.device()?.ok_or_else(|| {
            AppError::invalid(
                "not_initialized",
                format!(
                    "The store {} is not set up yet; run `conference init` first",
                    self.store.path().display()
                ),
            )
        })?;
        Ok(p::DeviceView {
            device_id: d.device_id.as_uuid(),
            name: d.name,
            owns_pool: d.owns_pool,
            store: self.store.path().display().to_string(),
        })
    }

    fn holder(&self) -> Result<Holder> {
        let d = self.device()?;
        Ok(if d.owns_pool {
            Holder::Pool
        } else {
            Holder::Device(DeviceId::from_uuid(d.device_id))
        })
    }

    // ---------------------------------------------------------------- execution

    /// Runs a command with everything it causes in one transaction. The same command id
    /// returns the first outcome (or the first rejection) and writes nothing new.
    pub fn execute(&mut self, ctx: &Ctx, command: &UserCommand) -> Result<Outcome> {
        let span = tracing::info_span!("command", name = command.name(), id = %ctx.command_id);
        let _entered = span.enter();
        let owns_pool = self.device()?.owns_pool;
        let tx = self.store.begin(ctx.command_id, ctx.now)?;
        if let Some((succeeded, outcome)) = tx.command_outcome(ctx.command_id)? {
            drop(tx);
            tracing::info!("command id seen before; returning its first outcome");
            return if succeeded {
                serde_json::from_value(outcome).map_err(|e| AppError::Store(e.to_string()))
            } else {
                let body: p::ErrorBody =
                    serde_json::from_value(outcome).map_err(|e| AppError::Store(e.to_string()))?;
                Err(AppError::Rejected {
                    code: body.code,
                    message: body.message,
                    field: body.field,
                })
            };
        }
        let mut uow = Uow::new(tx, owns_pool);
        match conference_exec::run(&mut uow, command) {
            Ok(outcome) => {
                let mut tx = uow.finish()?;
                let json =
                    serde_json::to_value(&outcome).map_err(|e| AppError::Store(e.to_string()))?;
                tx.record_outcome(command.name(), true, &json)?;
                let command_json =
                    serde_json::to_value(command).map_err(|e| AppError::Store(e.to_string()))?;
                tx.push_outbox(command.name(), &command_json)?;
                tx.commit()?;
                Ok(outcome)
            }
            Err(error) => {
                drop(uow);
                if error.is_final() {
                    let mut tx = self.store.begin(ctx.command_id, ctx.now)?;
                    let body = serde_json::to_value(error.body())
                        .map_err(|e| AppError::Store(e.to_string()))?;
                    tx.record_outcome(command.name(), false, &body)?;
                    tx.commit()?;
                }
                tracing::info!(code = error.code(), "command refused");
                Err(error)
            }
        }
    }

    pub(crate) fn seen(&self, ctx: &Ctx) -> Result<bool> {
        Ok(self.store.command_seen(ctx.command_id)?)
    }

    pub(crate) fn conference_outcome(&self, outcome: Outcome) -> Result<p::ConferenceView> {
        match outcome {
            Outcome::Conference { conference_id } => self.conference_view(conference_id),
            other => Err(AppError::Store(format!("unexpected outcome {other:?}"))),
        }
    }

    pub(crate) fn order_outcome(&self, outcome: Outcome) -> Result<p::OrderView> {
        match outcome {
            Outcome::Order { order_id } => self.order(order_id),
            other => Err(AppError::Store(format!("unexpected outcome {other:?}"))),
        }
    }
}
