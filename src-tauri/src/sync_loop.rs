//! Sync in the background: every so often, when this device has a sync server, push its
//! commands and pull everyone else's, then tell the screens. "Sync now" runs the same.
//!
//! `App::sync` needs the application layer for the whole exchange, so a sale waits while a
//! sync talks to the server; the background loop therefore tries each request once and
//! leaves retrying to its next round.
use crate::{Shared, store_changed};
use conference_app::AppError;
use conference_app::conference_protocol::ErrorBody;
use conference_app::http::HttpTransport;
use conference_desktop_ipc::SyncSummary;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tauri::AppHandle;

/// Seconds between background syncs (`CONFERENCE_SYNC_SECONDS`, default 30).
fn interval() -> Duration {
    let seconds = std::env::var("CONFERENCE_SYNC_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(30);
    Duration::from_secs(seconds)
}

pub fn start(handle: AppHandle, shared: Arc<Shared>) {
    let spawned = std::thread::Builder::new()
        .name("background-sync".into())
        .spawn(move || {
            loop {
                std::thread::sleep(interval());
                let configured = shared
                    .with_app(|app| app.sync_settings())
                    .is_ok_and(|s| s.is_some());
                if configured && let Err(error) = sync_once(&handle, &shared, 1) {
                    tracing::info!(code = %error.code, "background sync did not finish");
                }
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "could not start background sync; use Sync now");
    }
}

/// One sync: push, pull, record how it went. `attempts` per request.
pub fn sync_once(
    handle: &AppHandle,
    shared: &Shared,
    attempts: u32,
) -> Result<SyncSummary, ErrorBody> {
    if shared.syncing.swap(true, Ordering::AcqRel) {
        return Err(ErrorBody {
            code: "sync_running".into(),
            message: "A sync is already running; its result shows in the header shortly".into(),
        });
    }
    store_changed(handle);
    let result = shared
        .with_app(|app| {
            let Some((url, token)) = app.sync_settings()? else {
                return Err(AppError::invalid(
                    "no_server",
                    "This device has no sync server yet; enter its address and token in Settings",
                ));
            };
            let transport = HttpTransport::new(&url, &token)?.with_attempts(attempts);
            let report = app.sync(&transport, chrono::Utc::now())?;
            Ok(SyncSummary {
                pushed: report.pushed,
                pulled: report.pulled,
                rejected: report.rejected,
            })
        })
        .map_err(|e| e.body());
    shared.syncing.store(false, Ordering::Release);
    store_changed(handle);
    result
}
