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

use conference_app::conference_protocol::ErrorBody;
use conference_app::{App, AppError};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};
use tauri::{Emitter, Manager};

/// What every command shares: the application layer and whether a sync is running.
pub struct Shared {
    app: Mutex<App>,
    syncing: AtomicBool,
    /// Held for the length of one sync, so syncs run one after another.
    sync_gate: Mutex<()>,
}

impl Shared {
    #[must_use]
    pub fn new(app: App) -> Self {
        Self {
            app: Mutex::new(app),
            syncing: AtomicBool::new(false),
            sync_gate: Mutex::new(()),
        }
    }

    /// Runs `f` with the application layer. A panic in an earlier command must not lock
    /// the box office forever: the store's transactions keep it consistent either way.
    pub fn with_app<T>(
        &self,
        f: impl FnOnce(&mut App) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut app = self.app.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut app)
    }
}

/// Opens the store (creating and naming this device the first time).
pub fn open_app(path: &std::path::Path) -> Result<App, AppError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            AppError::Store(format!(
                "Could not create the data folder {}: {e}",
                dir.display()
            ))
        })?;
    }
    let mut app = App::open(path)?;
    if app.device().is_err() {
        let name = std::env::var("CONFERENCE_DEVICE_NAME")
            .ok()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "Desktop box office".to_string());
        app.init(&name, chrono::Utc::now())?;
    }
    Ok(app)
}

/// A failure outside the application layer, in the same shape.
fn internal(message: impl Into<String>) -> ErrorBody {
    ErrorBody {
        code: "internal".into(),
        message: message.into(),
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
            let app =
                open_app(&path).map_err(|e| Box::<dyn std::error::Error>::from(e.to_string()))?;
            let shared = Arc::new(Shared::new(app));
            tauri_app.manage(Arc::clone(&shared));
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
