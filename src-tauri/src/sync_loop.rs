//! Sync in the background, when this device has a sync server: push its commands and pull
//! everyone else's, then tell the screens. "Sync now" runs the same.
//!
//! Two threads do it. The **feed listener** follows the server's live feed (`/v1/feed`,
//! `conference_app::feed::listen`) and passes on every head position it hears; it never touches the store except
//! to read the server and token before (re)connecting. The **sync worker** syncs as soon as
//! a head is past what this device has pulled, and otherwise every `CONFERENCE_SYNC_SECONDS`
//! (30 s) as a fallback, so its own new commands go out and a lost feed costs at most one
//! interval. Other devices' sales therefore show within a second while the feed is up.
//!
//! One sync runs at a time (`Shared::sync_gate`): "Sync now" during a background sync waits
//! for it and then syncs again, so it never misses what arrived meanwhile.
//!
//! `App::sync` needs the application layer for the whole exchange, so a sale waits while a
//! sync talks to the server; the background worker therefore tries each request once and
//! leaves retrying to the next news or interval.
use crate::{Shared, store_changed};
use conference_app::AppError;
use conference_app::feed::{self, Heard};
use conference_app::http::HttpTransport;
use conference_desktop_ipc::SyncSummary;
use conference_protocol::ErrorBody;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};
use tauri::AppHandle;

/// Seconds between fallback syncs (`CONFERENCE_SYNC_SECONDS`, default 30).
fn interval() -> Duration {
    let seconds = std::env::var("CONFERENCE_SYNC_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(30);
    Duration::from_secs(seconds)
}

pub fn start(handle: AppHandle, shared: Arc<Shared>) {
    let (heard, hear) = mpsc::channel();
    let worker = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("background-sync".into())
            .spawn(move || work(&handle, &shared, &hear))
    };
    if let Err(error) = worker {
        tracing::warn!(%error, "could not start background sync; use Sync now");
        return;
    }
    let listener = std::thread::Builder::new()
        .name("live-feed".into())
        .spawn(move || listen(&shared, &heard));
    if let Err(error) = listener {
        tracing::warn!(%error, "could not follow the live feed; syncing every interval");
    }
}

/// What the worker decides after hearing (or not hearing) from the feed.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    Sync,
    Wait,
}

/// Whether to sync now: when the interval ran out, or when the newest head heard is past
/// what this device has pulled ([`feed::is_news`]).
fn decide(heard: Option<i64>, pulled: Option<i64>, interval_over: bool) -> Next {
    let news = heard.is_some_and(|head| feed::is_news(head, pulled));
    if interval_over || news {
        Next::Sync
    } else {
        Next::Wait
    }
}

/// The sync worker: waits for a head from the listener or for the interval, then syncs.
fn work(handle: &AppHandle, shared: &Shared, hear: &mpsc::Receiver<Heard>) {
    let mut due = Instant::now() + interval();
    loop {
        let (heard, interval_over) =
            match hear.recv_timeout(due.saturating_duration_since(Instant::now())) {
                Ok(first) => {
                    // Only the newest of the heads waiting matters.
                    let newest = std::iter::once(first)
                    .chain(hear.try_iter())
                    .filter_map(|heard| match heard {
                        Heard::Head(head) => Some(head),
                        Heard::Lost(reason) | Heard::Refused(reason) => {
                            tracing::info!(%reason, "the live feed is not connected; trying again");
                            None
                        }
                    })
                    .max();
                    (newest, false)
                }
                Err(RecvTimeoutError::Timeout) => (None, true),
                // The listener is gone (it could not start, or panicked): poll only.
                Err(RecvTimeoutError::Disconnected) => {
                    poll_only(handle, shared);
                    return;
                }
            };
        let pulled = shared
            .with_app(|app| Ok(app.store().sync_state()?.map(|s| s.pulled_after)))
            .ok()
            .flatten();
        if decide(heard, pulled, interval_over) == Next::Sync {
            background_sync(handle, shared);
            due = Instant::now() + interval();
        }
    }
}

/// The old loop, for when the feed cannot be followed at all.
fn poll_only(handle: &AppHandle, shared: &Shared) {
    loop {
        // Not a synchronisation: the fallback interval itself.
        std::thread::sleep(interval());
        background_sync(handle, shared);
    }
}

fn background_sync(handle: &AppHandle, shared: &Shared) {
    let configured = shared
        .with_app(|app| app.sync_settings())
        .is_ok_and(|s| s.is_some());
    if configured && let Err(error) = sync_once(handle, shared, 1) {
        tracing::info!(code = %error.code, "background sync did not finish");
    }
}

/// The feed listener ([`feed::listen`]) for the server in the settings at each
/// connection; its pauses end early when Settings saves another server. It holds the
/// application layer only to read the server and token.
fn listen(shared: &Shared, heard: &mpsc::Sender<Heard>) {
    feed::listen(
        || shared.with_app(|app| app.sync_settings()).ok().flatten(),
        heard,
        |pause| wait_for_new_settings(shared, pause),
    );
}

/// Tells the feed listener that the server or token changed.
pub fn settings_changed(shared: &Shared) {
    let (changed, wake) = &shared.settings_changed;
    *changed.lock().unwrap_or_else(PoisonError::into_inner) = true;
    wake.notify_all();
}

/// Waits up to `pause`; true when the settings changed meanwhile (or before).
fn wait_for_new_settings(shared: &Shared, pause: Duration) -> bool {
    let (changed, wake) = &shared.settings_changed;
    let guard = changed.lock().unwrap_or_else(PoisonError::into_inner);
    let (mut guard, _) = wake
        .wait_timeout_while(guard, pause, |changed| !*changed)
        .unwrap_or_else(PoisonError::into_inner);
    std::mem::take(&mut *guard)
}

/// One sync: push, pull, record how it went. `attempts` per request. Waits while another
/// sync runs, then runs its own, so it always includes what arrived meanwhile.
pub fn sync_once(
    handle: &AppHandle,
    shared: &Shared,
    attempts: u32,
) -> Result<SyncSummary, ErrorBody> {
    let _one_at_a_time = shared
        .sync_gate
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    shared.syncing.store(true, Ordering::Release);
    store_changed(handle);
    // The store is held for each step of the sync only, never while the server answers:
    // sales go on meanwhile.
    let result = shared
        .with_app(|app| {
            app.sync_settings()?.ok_or_else(|| {
                AppError::invalid(
                    "no_server",
                    "This device has no sync server yet; paste the enrollment code from the server's admin in Settings",
                )
            })
        })
        .and_then(|link| {
            let transport = HttpTransport::new(&link)?.with_attempts(attempts);
            // A long catch-up shows in the header: told at each whole percent pulled.
            let mut shown = None;
            let report = conference_app::sync::sync_via_reporting(
                shared,
                &transport,
                chrono::Utc::now(),
                &mut |progress| {
                    let percent = pulled_percent(progress.position, progress.head);
                    if progress.head > 0 && shown != Some(percent) {
                        shown = Some(percent);
                        shared.set_sync_progress(Some(progress));
                        store_changed(handle);
                    }
                },
            )?;
            Ok(SyncSummary {
                pushed: report.pushed,
                pulled: report.pulled,
                rejected: report.rejected,
            })
        })
        .map_err(|e| e.body());
    shared.syncing.store(false, Ordering::Release);
    shared.set_sync_progress(None);
    store_changed(handle);
    result
}

/// Whole percent of the server's log pulled (0 to 100).
fn pulled_percent(position: i64, head: i64) -> i64 {
    if head <= 0 {
        return 100;
    }
    (position.clamp(0, head) * 100) / head
}

#[cfg(test)]
mod tests {
    use super::{Next, decide, settings_changed, wait_for_new_settings};
    use crate::Shared;
    use std::time::Duration;

    #[test]
    fn pulled_percent_is_whole_and_bounded() {
        assert_eq!(super::pulled_percent(0, 200), 0);
        assert_eq!(super::pulled_percent(99, 200), 49);
        assert_eq!(super::pulled_percent(200, 200), 100);
        assert_eq!(super::pulled_percent(250, 200), 100);
        assert_eq!(super::pulled_percent(5, 0), 100);
    }

    #[test]
    fn saved_settings_end_the_listeners_pause_once() {
        let shared = Shared::opening();
        settings_changed(&shared);
        assert!(wait_for_new_settings(&shared, Duration::from_secs(60)));
        // Taken: the next pause runs its course.
        assert!(!wait_for_new_settings(&shared, Duration::from_millis(1)));
    }

    #[test]
    fn a_head_past_what_was_pulled_syncs_at_once() {
        assert_eq!(decide(Some(12), Some(10), false), Next::Sync);
        assert_eq!(decide(Some(3), None, false), Next::Sync);
    }

    #[test]
    fn a_head_already_pulled_waits_for_the_interval() {
        assert_eq!(decide(Some(10), Some(10), false), Next::Wait);
        assert_eq!(decide(Some(9), Some(10), false), Next::Wait);
        assert_eq!(decide(None, Some(10), true), Next::Sync);
        assert_eq!(decide(None, None, true), Next::Sync);
    }
}
