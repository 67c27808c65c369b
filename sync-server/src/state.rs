//! What every request shares: the writer, a few reading connections, the metrics, the head
//! position (for the live feed) and the shutdown signal.
use crate::db;
use crate::error::{ApiError, DbError};
use crate::log::Unit;
use crate::metrics::Metrics;
use crate::writer::Writer;
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use uuid::Uuid;

/// How the server runs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The SQLite file (created and migrated on first start).
    pub database: PathBuf,
    /// Request bodies above this many bytes are refused with 413.
    pub max_body_bytes: usize,
    /// How often the live feed sends a keep-alive comment.
    pub keep_alive: Duration,
}

impl Settings {
    #[must_use]
    pub fn new(database: impl Into<PathBuf>) -> Self {
        Self {
            database: database.into(),
            max_body_bytes: 1024 * 1024,
            keep_alive: Duration::from_secs(15),
        }
    }
}

/// Reading connections, reused; a request takes one for the length of its query. At most
/// [`READERS`] queries run at once (the others wait their turn): more would not finish
/// sooner on a few cores, and every one holds a connection's cache and a page of events
/// in memory, so many devices pulling at once must not add up.
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    turns: Arc<Semaphore>,
}

const READERS: usize = 4;

impl Readers {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let taken = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut conn = match taken {
            Some(conn) => conn,
            None => db::open_reader(&self.path)?,
        };
        let out = f(&mut conn);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < READERS
        {
            idle.push(conn);
        }
        out
    }
}

struct Inner {
    settings: Settings,
    writer: Writer,
    readers: Readers,
    metrics: Arc<Metrics>,
    head: watch::Receiver<i64>,
    shutdown: watch::Sender<bool>,
    server_device: Uuid,
}

/// The server's shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

impl AppState {
    /// Opens (creating and migrating) the database and starts the writer thread. Blocks on
    /// the disk: call it before serving, or from `spawn_blocking`.
    pub fn open(settings: Settings) -> Result<Self, DbError> {
        let conn = db::open_writer(&settings.database)?;
        let server_device = db::server_device_id(&conn)?;
        let position = db::head(&conn)?;
        let metrics = Arc::new(Metrics::default());
        metrics.set_head(position);
        let (head_tx, head) = watch::channel(position);
        let writer = Writer::start(conn, server_device, Arc::clone(&metrics), head_tx)?;
        let (shutdown, _) = watch::channel(false);
        Ok(Self {
            inner: Arc::new(Inner {
                readers: Readers {
                    path: settings.database.clone(),
                    idle: Mutex::new(Vec::new()),
                    turns: Arc::new(Semaphore::new(READERS)),
                },
                settings,
                writer,
                metrics,
                head,
                shutdown,
                server_device,
            }),
        })
    }

    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The device id of the events the server authors itself.
    #[must_use]
    pub fn server_device_id(&self) -> Uuid {
        self.inner.server_device
    }

    /// The newest position, and its changes.
    #[must_use]
    pub fn head(&self) -> watch::Receiver<i64> {
        self.inner.head.clone()
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }

    /// Ends the live feeds, so a graceful shutdown does not wait for them forever.
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// Lets the writer finish what is queued, then stops it.
    pub async fn close(&self) {
        self.inner.writer.stop().await;
    }

    /// Runs a query on a reading connection, off the async executor.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let turn = Arc::clone(&self.inner.readers.turns)
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Unavailable("The server is shutting down; try again".into()))?;
        let state = self.clone();
        // The turn ends with the query, even if the requester stops waiting for it.
        tokio::task::spawn_blocking(move || {
            let out = state.inner.readers.with(f);
            drop(turn);
            out
        })
        .await
        .map_err(|e| ApiError::Internal(format!("a read task failed: {e}")))?
    }

    /// Runs a change in the writer's next transaction; answers after the commit.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Unit<'_>) -> Result<T, ApiError> + Send + 'static,
    {
        self.inner.writer.run(f).await
    }
}
