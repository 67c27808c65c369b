//! The single writer: one thread owns the only writing connection and takes jobs from a
//! channel. It takes every job that is queued (up to a limit) and runs them in ONE
//! transaction, each in its own savepoint (group commit): under load, many pushes share
//! one disk sync, and one refused request still stores nothing. Replies go out only after
//! the commit, so an acknowledged push is durable. Positions come from this one writer, so
//! a reader never sees a later position commit before an earlier one.
use crate::db;
use crate::error::ApiError;
use crate::log::{StateCache, Unit};
use crate::metrics::{Metrics, Stats};
use crate::store::{Db, WriterConn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

/// Jobs committed together at most.
const MAX_BATCH: usize = 128;
/// Jobs waiting at most; further requests wait for room.
const QUEUE: usize = 1024;

trait Job: Send {
    /// Runs the job inside its savepoint; false when it failed (its savepoint is undone).
    fn run(&mut self, unit: &mut Unit<'_>) -> bool;
    /// Answers once the transaction's fate is known.
    fn finish(self: Box<Self>, committed: Result<(), ApiError>, metrics: &Metrics);
}

enum Msg {
    Job(Box<dyn Job>),
    Stop,
}

struct Typed<T, F> {
    work: Option<F>,
    out: Option<Result<T, ApiError>>,
    stats: Stats,
    reply: oneshot::Sender<Result<T, ApiError>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send,
    F: FnOnce(&mut Unit<'_>) -> Result<T, ApiError> + Send,
{
    fn run(&mut self, unit: &mut Unit<'_>) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        // A bug in one job must not take the writer (and every later push) down with it.
        let out = catch_unwind(AssertUnwindSafe(|| work(unit))).unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(ApiError::Internal(format!("a write job panicked: {what}")))
        });
        self.stats = unit.stats;
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn finish(self: Box<Self>, committed: Result<(), ApiError>, metrics: &Metrics) {
        let answer = match (self.out, committed) {
            (Some(Ok(value)), Ok(())) => {
                metrics.add(&self.stats);
                Ok(value)
            }
            (Some(Err(error)), _) | (_, Err(error)) => Err(error),
            (None, Ok(())) => Err(ApiError::Internal("a write job never ran".into())),
        };
        // The requester may have gone away (client disconnected); the work stands.
        let _ = self.reply.send(answer);
    }
}

pub(crate) struct Writer {
    queue: mpsc::Sender<Msg>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub(crate) fn start(
        conn: Box<dyn WriterConn>,
        server_device: Uuid,
        metrics: Arc<Metrics>,
        head: Arc<watch::Sender<i64>>,
    ) -> std::io::Result<Self> {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("sync-writer".into())
            .spawn(move || writer_loop(conn, jobs, server_device, &metrics, &head))?;
        Ok(Self {
            queue,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Runs `work` in the writer's next transaction and answers after it committed.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Unit<'_>) -> Result<T, ApiError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Typed {
            work: Some(work),
            out: None,
            stats: Stats::default(),
            reply,
        };
        let stopped = || ApiError::Unavailable("The server is shutting down; try again".into());
        self.queue
            .send(Msg::Job(Box::new(job)))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Finishes the queued jobs, then stops the thread and waits for it.
    pub(crate) async fn stop(&self) {
        let _ = self.queue.send(Msg::Stop).await;
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

fn writer_loop(
    mut conn: Box<dyn WriterConn>,
    mut jobs: mpsc::Receiver<Msg>,
    server_device: Uuid,
    metrics: &Metrics,
    head: &watch::Sender<i64>,
) {
    let mut cache = StateCache::default();
    let mut stop = false;
    while !stop {
        let mut batch: Vec<Box<dyn Job>> = Vec::new();
        match jobs.blocking_recv() {
            None | Some(Msg::Stop) => stop = true,
            Some(Msg::Job(job)) => batch.push(job),
        }
        while !stop && batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(Msg::Job(job)) => batch.push(job),
                Ok(Msg::Stop) => stop = true,
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        let began = std::time::Instant::now();
        let committed =
            conn.transaction(&mut |db| run_batch(db, &mut cache, &mut batch, server_device));
        metrics.writer_busy(began.elapsed());
        match &committed {
            Ok(()) => metrics.committed_batch(batch.len()),
            Err(error) => {
                tracing::error!(%error, jobs = batch.len(), "a write transaction failed");
                cache.clear();
            }
        }
        // The head moves before anyone hears back, so a device that reads the metrics or
        // the feed right after its push already sees its own events counted.
        match conn.head() {
            Ok(position) => head_moved(head, metrics, position),
            Err(error) => tracing::error!(%error, "could not read the head position"),
        }
        for job in batch {
            job.finish(committed.clone(), metrics);
        }
    }
    tracing::info!("writer stopped");
}

fn run_batch(
    db: &mut dyn Db,
    cache: &mut StateCache,
    batch: &mut [Box<dyn Job>],
    server_device: Uuid,
) -> Result<(), ApiError> {
    for job in batch.iter_mut() {
        db.savepoint("job")?;
        let ok = {
            let mut unit = Unit {
                db: &mut *db,
                cache: &mut *cache,
                server_device,
                now: db::now_text(),
                stats: Stats::default(),
            };
            job.run(&mut unit)
        };
        if ok {
            db.release("job")?;
        } else {
            db.rollback_to("job")?;
            cache.clear();
        }
    }
    Ok(())
}

/// Moves the head forward (never back: instances may report out of order), for the feed
/// and the metrics.
pub(crate) fn head_moved(head: &watch::Sender<i64>, metrics: &Metrics, position: i64) {
    head.send_if_modified(|current| {
        let moved = position > *current;
        if moved {
            *current = position;
        }
        moved
    });
    metrics.set_head(*head.borrow());
}
