//! The desktop box office: a Tauri shell over the same application layer as the CLI.
//!
//! Commands here only convert data and call [`conference_app::App`]; they hold no rules.
//! The store is synchronous and owned by one `App` behind a std `Mutex`; every command runs
//! it on Tauri's blocking pool, never on the main (GTK) thread or the async executor.
//! Errors reach the UI as `{code, message}` ([`ErrorBody`]).
#![forbid(unsafe_code)]

mod commands;
mod office;
pub mod store_path;
mod sync_loop;

use conference_app::{App, AppError};
use conference_desktop_ipc::StartupView;
use conference_protocol::ErrorBody;
use conference_store::UpgradeProgress;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use tauri::{Emitter, Manager};

/// What every command shares: the application layer (once the store is open), how far
/// opening it is, and whether a sync is running.
pub struct Shared {
    app: Mutex<Slot>,
    /// Told when the slot stops being [`Slot::Opening`].
    opened: Condvar,
    startup: Mutex<StartupView>,
    syncing: AtomicBool,
    /// How far the running sync is (for the header's progress on a long first sync).
    sync_progress: Mutex<Option<conference_app::sync::SyncProgress>>,
    /// Held for the length of one sync, so syncs run one after another.
    sync_gate: Mutex<()>,
    /// Set when the sync server's settings changed: the feed listener stops pausing and
    /// dials the new one.
    settings_changed: (Mutex<bool>, Condvar),
}

enum Slot {
    Opening,
    Open(Box<App>),
    Failed(AppError),
}

impl Shared {
    /// Shared state around an open application layer.
    #[must_use]
    pub fn new(app: App) -> Self {
        let shared = Self::opening();
        shared.opened(Ok(app), false);
        shared
    }

    /// Shared state while the store is still opening: commands wait for [`Shared::opened`].
    #[must_use]
    pub fn opening() -> Self {
        Self {
            app: Mutex::new(Slot::Opening),
            opened: Condvar::new(),
            startup: Mutex::new(StartupView {
                state: "opening".into(),
                ..StartupView::default()
            }),
            syncing: AtomicBool::new(false),
            sync_progress: Mutex::new(None),
            sync_gate: Mutex::new(()),
            settings_changed: (Mutex::new(false), Condvar::new()),
        }
    }

    /// How far the running sync is, if one is running.
    pub fn sync_progress(&self) -> Option<conference_app::sync::SyncProgress> {
        *self
            .sync_progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn set_sync_progress(&self, progress: Option<conference_app::sync::SyncProgress>) {
        *self
            .sync_progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = progress;
    }

    /// How far opening the store is.
    pub fn startup(&self) -> StartupView {
        self.startup
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records upgrade progress; returns the view to show.
    fn upgrading(&self, progress: UpgradeProgress) -> StartupView {
        let mut startup = self.startup.lock().unwrap_or_else(PoisonError::into_inner);
        startup.state = "upgrading".into();
        startup.done = progress.done;
        startup.total = progress.total;
        startup.upgraded = true;
        startup.clone()
    }

    /// The store is open (or could not be opened): waiting commands go on.
    fn opened(&self, result: Result<App, AppError>, upgraded: bool) -> StartupView {
        let view = {
            let mut startup = self.startup.lock().unwrap_or_else(PoisonError::into_inner);
            startup.upgraded |= upgraded;
            match &result {
                Ok(_) => startup.state = "ready".into(),
                Err(e) => {
                    startup.state = "failed".into();
                    startup.error = Some(e.body());
                }
            }
            startup.clone()
        };
        *self.app.lock().unwrap_or_else(PoisonError::into_inner) = match result {
            Ok(app) => Slot::Open(Box::new(app)),
            Err(e) => Slot::Failed(e),
        };
        self.opened.notify_all();
        view
    }

    /// Runs `f` with the application layer, once the store is open. A panic in an earlier
    /// command must not lock the box office forever: the store's transactions keep it
    /// consistent either way.
    pub fn with_app<T>(
        &self,
        f: impl FnOnce(&mut App) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut slot = self.app.lock().unwrap_or_else(PoisonError::into_inner);
        while matches!(*slot, Slot::Opening) {
            slot = self
                .opened
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
        }
        match &mut *slot {
            Slot::Open(app) => f(app),
            Slot::Failed(e) => Err(e.clone()),
            Slot::Opening => unreachable!("waited until the store was opened"),
        }
    }
}

/// A sync takes the App for each store step only (see `conference_app::sync::sync_via`).
impl conference_app::sync::AppAccess for Shared {
    fn with_app<T>(&self, f: impl FnOnce(&mut App) -> Result<T, AppError>) -> Result<T, AppError> {
        Shared::with_app(self, f)
    }
}

/// Opens the store (upgrading a V1 store in place, with `progress` told how far it is;
/// creating and naming this device the first time).
pub fn open_app(
    path: &std::path::Path,
    progress: &mut dyn FnMut(UpgradeProgress),
) -> Result<App, AppError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            AppError::Store(format!(
                "Could not create the data folder {}: {e}",
                dir.display()
            ))
        })?;
    }
    let mut app = App::open_upgrading(path, progress)?;
    if app.device().is_err() {
        let name = std::env::var("CONFERENCE_DEVICE_NAME")
            .ok()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "Desktop box office".to_string());
        app.init(&name, chrono::Utc::now())?;
    }
    Ok(app)
}

/// Opens the store at `path` into `shared`, telling the window how far it is.
fn open_in_background(handle: &tauri::AppHandle, shared: &Shared, path: &std::path::Path) {
    open_into(shared, path, &mut |view| tell_startup(handle, view));
    store_changed(handle);
}

/// Opens the store at `path` into `shared`; `tell` hears each step of a V1 upgrade and
/// then the outcome.
fn open_into(shared: &Shared, path: &std::path::Path, tell: &mut dyn FnMut(&StartupView)) {
    let mut upgraded = false;
    // A panic while opening must not leave every command waiting for the store forever.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        open_app(path, &mut |progress| {
            upgraded = true;
            tell(&shared.upgrading(progress));
        })
    }))
    .unwrap_or_else(|_| {
        Err(AppError::Store(
            "Opening the store stopped unexpectedly; restart the app".into(),
        ))
    });
    if let Err(error) = &result {
        tracing::error!(%error, store = %path.display(), "could not open the store");
    }
    tell(&shared.opened(result, upgraded));
}

fn tell_startup(handle: &tauri::AppHandle, view: &StartupView) {
    if let Err(error) = handle.emit(conference_desktop_ipc::STARTUP_PROGRESS, view) {
        tracing::warn!(%error, "could not tell the window how far opening the store is");
    }
}

/// A failure outside the application layer, in the same shape.
fn internal(message: impl Into<String>) -> ErrorBody {
    ErrorBody {
        code: "internal".into(),
        message: message.into(),
        field: None,
    }
}

/// Starts the desktop app and blocks until its window closes.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(|tauri_app| {
            let path: PathBuf = store_path::resolve(tauri_app.path().app_data_dir().ok())
                .map_err(|e| Box::<dyn std::error::Error>::from(e.message))?;
            tracing::info!(store = %path.display(), "opening the store");
            // Opened off the main thread, so the window can show a V1 upgrade's progress;
            // commands wait until it is open.
            let shared = Arc::new(Shared::opening());
            tauri_app.manage(Arc::clone(&shared));
            let (handle, opening) = (tauri_app.handle().clone(), Arc::clone(&shared));
            std::thread::Builder::new()
                .name("open-store".into())
                .spawn(move || open_in_background(&handle, &opening, &path))?;
            sync_loop::start(tauri_app.handle().clone(), shared);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::header,
            commands::mark_rejections_read,
            commands::conferences,
            commands::create_conference,
            commands::add_seat_type,
            commands::update_seat_type,
            commands::add_promo_code,
            commands::set_published,
            commands::seats,
            commands::quote,
            commands::sell,
            commands::order,
            commands::find_orders,
            commands::cancel_order,
            commands::assign_seat,
            commands::save_server,
            commands::sync_now,
            commands::rename_device,
            commands::startup,
            office::back_office,
            office::reconciliation,
            office::resolve_reconciliation,
            office::export_orders,
            office::choose_export_file,
            office::request_allotment,
            office::return_allotment,
        ])
        .run(tauri::generate_context!("../tauri.conf.json"));
    if let Err(error) = result {
        eprintln!("error: the box office window could not run: {error}");
        std::process::exit(1);
    }
}

/// Tells every screen that the store changed.
fn store_changed(handle: &tauri::AppHandle) {
    if let Err(error) = handle.emit(conference_desktop_ipc::STORE_CHANGED, ()) {
        tracing::warn!(%error, "could not tell the window that the store changed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A V1 store file, built from the frozen fixture's SQL dump.
    fn v1_store(path: &std::path::Path) {
        let sql = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/v1/store.sql"
        ))
        .expect("the V1 fixture");
        rusqlite::Connection::open(path)
            .and_then(|c| c.execute_batch(&sql))
            .expect("a V1 store file");
    }

    #[test]
    fn opening_a_v1_store_reports_its_upgrade_and_then_serves_commands() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        v1_store(&path);
        let shared = Arc::new(Shared::opening());
        assert_eq!(shared.startup().state, "opening");

        // A command sent while the store opens waits for it.
        let waiting = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || shared.with_app(|app| app.conferences()))
        };
        let mut heard = Vec::new();
        open_into(&shared, &path, &mut |view| heard.push(view.clone()));

        let (last, steps) = heard.split_last().expect("something was told");
        assert_eq!(last.state, "ready");
        assert!(last.upgraded && last.error.is_none());
        assert!(steps.len() >= 2, "a start and an end at least: {steps:?}");
        assert!(steps.iter().all(|v| v.state == "upgrading" && v.total > 0));
        assert!(steps.windows(2).all(|w| w[0].done <= w[1].done));
        let end = steps.last().unwrap();
        assert_eq!(end.done, end.total, "the upgrade reports its end");
        assert_eq!(shared.startup(), *last);

        let slugs: Vec<String> = waiting
            .join()
            .unwrap()
            .expect("the waiting command ran")
            .into_iter()
            .map(|c| c.slug)
            .collect();
        assert!(slugs.contains(&"cqrs-summit".to_string()), "{slugs:?}");
        assert!(slugs.contains(&"es-days".to_string()), "{slugs:?}");
    }

    #[test]
    fn a_new_store_opens_without_an_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let shared = Shared::opening();
        let mut heard = Vec::new();
        open_into(&shared, &dir.path().join("new.db"), &mut |view| {
            heard.push(view.clone());
        });
        assert_eq!(heard.len(), 1);
        assert_eq!(heard[0].state, "ready");
        assert!(!heard[0].upgraded);
        let name = shared.with_app(|app| app.device()).unwrap().name;
        assert!(!name.is_empty());
    }

    #[test]
    fn a_store_that_cannot_open_says_why_to_every_command() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not-a-store.db");
        std::fs::write(
            &path,
            "this is not SQLite, and it is long enough to be read as a header",
        )
        .unwrap();
        let shared = Shared::opening();
        let mut heard = Vec::new();
        open_into(&shared, &path, &mut |view| heard.push(view.clone()));
        let last = heard.last().unwrap();
        assert_eq!(last.state, "failed");
        let error = last.error.clone().expect("the reason");
        assert_eq!(
            shared.with_app(|app| app.conferences()).unwrap_err().body(),
            error
        );
    }
}
