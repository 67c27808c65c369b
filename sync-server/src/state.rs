//! What every request shares: the writer, a few reading connections, the metrics, the head
//! position (for the live feed) and the shutdown signal.
use crate::error::{ApiError, DbError};
use crate::log::{StateCache, Unit};
use crate::metrics::Metrics;
use crate::store::{self, Conn, Database, Db, OpenReader};
use crate::writer::Writer;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use uuid::Uuid;

/// Live feeds one device may hold open at once, by default (the desktop app and the CLI
/// hold one each).
pub const MAX_FEEDS_PER_DEVICE: u32 = 4;
/// Live feeds the server holds open at once, by default.
pub const MAX_FEEDS: u32 = 1_000;

/// Requests per second and in one burst one device may make, by default.
pub const REQUESTS_PER_SECOND: u32 = 50;
pub const REQUEST_BURST: u32 = 500;
/// Events per second and in one burst one device may push, by default.
pub const PUSHED_EVENTS_PER_SECOND: u32 = 10_000;
pub const PUSHED_EVENT_BURST: u32 = 200_000;

/// A rate per device (keyed by its id).
type PerDevice = governor::DefaultKeyedRateLimiter<Uuid>;

fn per_device(per_second: u32, burst: u32) -> PerDevice {
    let one = std::num::NonZeroU32::MIN;
    let quota = governor::Quota::per_second(std::num::NonZeroU32::new(per_second).unwrap_or(one))
        .allow_burst(std::num::NonZeroU32::new(burst).unwrap_or(one));
    governor::RateLimiter::keyed(quota)
}

/// How the server runs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The SQLite file or the PostgreSQL database (created or migrated on first start).
    pub database: Database,
    /// Request bodies above this many bytes are refused with 413.
    pub max_body_bytes: usize,
    /// How often the live feed sends a keep-alive comment (and looks whether its device
    /// was revoked meanwhile).
    pub keep_alive: Duration,
    /// Live feeds open at once per device, and in all.
    pub max_feeds_per_device: u32,
    pub max_feeds: u32,
    /// Requests one device may make per second, and in one burst.
    pub requests_per_second: u32,
    pub request_burst: u32,
    /// Events one device may push per second, and in one burst (a door's day of offline
    /// sales fits in the burst).
    pub pushed_events_per_second: u32,
    pub pushed_event_burst: u32,
    /// TLS, or plain HTTP when `None` (`conference-sync serve` decides when that is allowed).
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    /// How connections are bounded.
    pub limits: crate::Limits,
}

impl Settings {
    #[must_use]
    pub fn new(database: impl Into<Database>) -> Self {
        Self {
            database: database.into(),
            max_body_bytes: 1024 * 1024,
            keep_alive: Duration::from_secs(15),
            max_feeds_per_device: MAX_FEEDS_PER_DEVICE,
            max_feeds: MAX_FEEDS,
            requests_per_second: REQUESTS_PER_SECOND,
            request_burst: REQUEST_BURST,
            pushed_events_per_second: PUSHED_EVENTS_PER_SECOND,
            pushed_event_burst: PUSHED_EVENT_BURST,
            tls: None,
            limits: crate::Limits::default(),
        }
    }
}

/// Reading connections, reused; a request takes one for the length of its query. At most
/// [`READERS`] queries run at once (the others wait their turn): more would not finish
/// sooner on a few cores, and every one holds a connection's cache and a page of events
/// in memory, so many devices pulling at once must not add up.
struct Readers {
    open: OpenReader,
    idle: Mutex<Vec<Box<dyn Conn>>>,
    turns: Arc<Semaphore>,
}

const READERS: usize = 4;

/// Pull pages read or on their way to a device at most (each holds a page's JSON, megabytes
/// for 5,000 events, until the device has it): the server's memory stays flat however many
/// devices pull at once. The others wait their turn.
const PAGES_IN_FLIGHT: usize = 6;

impl Readers {
    fn with<T>(&self, f: impl FnOnce(&mut dyn Db) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let taken = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut conn = match taken {
            Some(conn) => conn,
            None => (self.open)()?,
        };
        let out = store::with(conn.as_mut(), f);
        if conn.is_usable()
            && let Ok(mut idle) = self.idle.lock()
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
    /// Turns for pull pages in flight.
    pages: Arc<Semaphore>,
    /// Turns to replay a request's commands ahead of the writer: one fewer than the
    /// machine has cores (at least one), so the single writer keeps a core of its own.
    replays: Arc<Semaphore>,
    /// Hears of other instances' commits (PostgreSQL); stops when dropped.
    listening: Mutex<Option<store::Listening>>,
    /// Live feeds open, per device.
    feeds: Arc<Mutex<HashMap<Uuid, u32>>>,
    /// Each device's request rate, and its pushed events'.
    requests: PerDevice,
    pushed_events: PerDevice,
    /// Aggregate states that replays ahead of the writer built from committed events, per
    /// device (a device pushes one request at a time, and its next one reads the same
    /// streams: its allotment, its conference and promo codes).
    replay_caches: Mutex<HashMap<Uuid, StateCache>>,
}

/// Replays ahead of the writer at once on a machine with `cores` cores.
fn replay_turns(cores: usize) -> usize {
    cores.saturating_sub(1).max(1)
}

/// Replay states kept per device at most (its allotment, conference, promo codes and the
/// orders it is busy with).
const REPLAY_STATES: usize = 64;

/// Devices whose replay states are kept at most; past that, the cache starts over.
const REPLAY_CACHES: usize = 256;

/// The server's shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

impl AppState {
    /// Opens (creating and migrating) the database and starts the writer thread. Blocks on
    /// the disk: call it before serving, or from `spawn_blocking`.
    pub fn open(settings: Settings) -> Result<Self, DbError> {
        let opened = store::open(&settings.database)?;
        let server_device = opened.server_device;
        let position = opened.head;
        let metrics = Arc::new(Metrics::default());
        metrics.set_head(position);
        let (head_tx, head) = watch::channel(position);
        let head_tx = Arc::new(head_tx);
        let listening = {
            let head_tx = Arc::clone(&head_tx);
            let metrics = Arc::clone(&metrics);
            (opened.listen_for_heads)(Box::new(move |position| {
                crate::writer::head_moved(&head_tx, &metrics, position);
            }))?
        };
        let writer = Writer::start(opened.writer, server_device, Arc::clone(&metrics), head_tx)?;
        let (shutdown, _) = watch::channel(false);
        let requests = per_device(settings.requests_per_second, settings.request_burst);
        let pushed_events = per_device(
            settings.pushed_events_per_second,
            settings.pushed_event_burst,
        );
        Ok(Self {
            inner: Arc::new(Inner {
                readers: Readers {
                    open: opened.open_reader,
                    idle: Mutex::new(Vec::new()),
                    turns: Arc::new(Semaphore::new(READERS)),
                },
                settings,
                writer,
                metrics,
                head,
                shutdown,
                server_device,
                pages: Arc::new(Semaphore::new(PAGES_IN_FLIGHT)),
                feeds: Arc::default(),
                requests,
                pushed_events,
                replays: Arc::new(Semaphore::new(replay_turns(
                    std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
                ))),
                listening: Mutex::new(Some(listening)),
                replay_caches: Mutex::new(HashMap::new()),
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

    pub(crate) fn metrics_handle(&self) -> Arc<Metrics> {
        self.inner.metrics.clone()
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
        let listening = self.inner.listening.lock().ok().and_then(|mut l| l.take());
        if let Some(listening) = listening {
            let _ = tokio::task::spawn_blocking(move || drop(listening)).await;
        }
        // Reading connections close with the pool.
        if let Ok(mut idle) = self.inner.readers.idle.lock() {
            idle.clear();
        }
    }

    /// The replay states kept for `device` (empty the first time); give them back with
    /// [`AppState::keep_replay_cache`].
    pub(crate) fn replay_cache(&self, device: Uuid) -> StateCache {
        self.inner
            .replay_caches
            .lock()
            .ok()
            .and_then(|mut caches| caches.remove(&device))
            .unwrap_or_else(|| StateCache::with_limit(REPLAY_STATES))
    }

    pub(crate) fn keep_replay_cache(&self, device: Uuid, cache: StateCache) {
        if let Ok(mut caches) = self.inner.replay_caches.lock() {
            if caches.len() >= REPLAY_CACHES {
                caches.clear();
            }
            caches.insert(device, cache);
        }
    }

    /// A turn to replay a request ahead of the writer; hold it while replaying.
    pub(crate) async fn replay_turn(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        Arc::clone(&self.inner.replays)
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Unavailable("The server is shutting down; try again".into()))
    }

    /// Counts a request of `device`; refused (429 `rate_limited`) past its rate.
    pub(crate) fn count_request(&self, device: Uuid) -> Result<(), ApiError> {
        self.inner.requests.check_key(&device).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            ApiError::TooMany {
                code: "rate_limited".into(),
                message: format!(
                    "This device sends more than {} requests a second; wait {} ms and send again",
                    self.inner.settings.requests_per_second,
                    wait.as_millis().max(1)
                ),
            }
        })
    }

    /// Counts `events` pushed by `device`; refused (429 `push_volume`) past its volume.
    pub(crate) fn count_pushed_events(&self, device: Uuid, events: usize) -> Result<(), ApiError> {
        let settings = &self.inner.settings;
        let too_many = || ApiError::TooMany {
            code: "push_volume".into(),
            message: format!(
                "This device pushes more than {} events a second (at most {} at once); send fewer commands per push and wait a moment",
                settings.pushed_events_per_second, settings.pushed_event_burst
            ),
        };
        let Some(n) = u32::try_from(events)
            .ok()
            .and_then(std::num::NonZeroU32::new)
        else {
            return if events == 0 { Ok(()) } else { Err(too_many()) };
        };
        match self.inner.pushed_events.check_key_n(&device, n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(too_many()),
        }
    }

    /// A live feed for `device`, counted until the guard is dropped; refused past the
    /// per-device or the total cap.
    pub(crate) fn open_feed(&self, device: Uuid) -> Result<OpenFeed, ApiError> {
        let settings = &self.inner.settings;
        let mut feeds = self
            .inner
            .feeds
            .lock()
            .map_err(|_| ApiError::Internal("the feed count was poisoned".into()))?;
        let total: u32 = feeds.values().sum();
        let mine = feeds.get(&device).copied().unwrap_or(0);
        if mine >= settings.max_feeds_per_device {
            return Err(ApiError::TooMany {
                code: "too_many_feeds".into(),
                message: format!(
                    "This device has {mine} live feeds open already (at most {}); close one first",
                    settings.max_feeds_per_device
                ),
            });
        }
        if total >= settings.max_feeds {
            return Err(ApiError::TooMany {
                code: "too_many_feeds".into(),
                message: format!(
                    "The server serves {total} live feeds already (its limit); sync by polling and try the feed again later"
                ),
            });
        }
        feeds.insert(device, mine + 1);
        Ok(OpenFeed {
            feeds: Arc::clone(&self.inner.feeds),
            device,
        })
    }

    /// A turn to read a pull page and send it; hold it until the page is sent.
    pub(crate) async fn page_turn(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        Arc::clone(&self.inner.pages)
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Unavailable("The server is shutting down; try again".into()))
    }

    /// Runs a query on a reading connection, off the async executor.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Db) -> Result<T, ApiError> + Send + 'static,
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

/// A live feed counted open; uncounted when dropped (the stream ended or the client left).
pub(crate) struct OpenFeed {
    feeds: Arc<Mutex<HashMap<Uuid, u32>>>,
    device: Uuid,
}

impl Drop for OpenFeed {
    fn drop(&mut self) {
        if let Ok(mut feeds) = self.feeds.lock()
            && let Some(count) = feeds.get_mut(&self.device)
        {
            *count -= 1;
            if *count == 0 {
                feeds.remove(&self.device);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replays_leave_the_writer_a_core() {
        assert_eq!(super::replay_turns(1), 1);
        assert_eq!(super::replay_turns(2), 1);
        assert_eq!(super::replay_turns(8), 7);
    }
}
