//! The sync server: devices push their commands in their own order and pull everyone's
//! events in the server's global order (DESIGN.md §4).
//!
//! The server keeps the global log in SQLite with one writer thread (group commit), runs
//! the same domain code as the devices to rebase organizer commands and to keep the
//! conference pools, and queues what people must reconcile.
//!
//! Start it with [`serve`] (settings, a bound listener, a shutdown future); tests may also
//! build [`router`] over an [`AppState`]. Admin tasks are in [`admin`].
//!
//! What it must never do:
//! - decide a domain rule of its own: rules live in `conference-domain`, and the organizer
//!   use cases it re-runs mirror `conference-app`'s;
//! - rewrite or drop a stored event, or store part of a refused request;
//! - answer a write before it committed, or touch rusqlite on the async executor (reads
//!   go through `spawn_blocking`, writes through the writer thread);
//! - show an internal error to a device: every refusal is an `ErrorBody` with its status.
#![forbid(unsafe_code)]

pub mod admin;
mod allot;
pub mod cli;
mod db;
pub mod device;
pub mod error;
mod follow;
mod http;
mod listen;
mod log;
pub mod metrics;
pub mod migrate;
pub mod openapi;
mod pull;
mod push;
mod reconciliation;
mod replay;
mod rights;
mod state;
pub mod store;
pub mod tls;
mod v1;
mod verdict;
pub mod verify;
mod wire;
mod writer;

pub use db::format_time;
pub use device::Role;
pub use error::{ApiError, DbError};
pub use http::{ROUTES, router};
pub use listen::Limits;
pub use state::{AppState, Settings};
pub use store::{Database, prepare as prepare_database};

use std::future::Future;
use tokio::net::TcpListener;

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server could not start: {0}")]
    Start(String),
}

/// Opens the database (creating and migrating it), serves on `listener` until `shutdown`
/// completes, then finishes the requests in flight and stops the writer.
pub async fn serve(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let state = tokio::task::spawn_blocking(move || AppState::open(settings))
        .await
        .map_err(|e| ServeError::Start(e.to_string()))??;
    tracing::info!(
        address = %listener.local_addr()?,
        server_device = %state.server_device_id(),
        "serving"
    );
    let stopping = state.clone();
    let refused = state.metrics_handle();
    let limits = state.settings().limits.clone();
    let tls = state.settings().tls.clone();
    listen::serve(
        listener,
        tls,
        router(state.clone()),
        limits,
        refused,
        async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight");
            stopping.begin_shutdown();
        },
    )
    .await;
    state.close().await;
    Ok(())
}
