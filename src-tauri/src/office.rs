//! The back office's and the allotment's commands: totals and sales over time, the server's
//! reconciliation queue, CSV export to a file, and seats asked from or given back to the
//! pool. Like every command they only convert data and call the application layer.
use crate::Shared;
use crate::commands::{Reply, blocking, changing, ctx};
use conference_app::http::HttpTransport;
use conference_app::{App, AppError, ReconciliationEntry};
use conference_desktop_ipc::{
    AllotmentDone, AllotmentForm, BackOfficeView, ExportDone, ExportForm, ReconciliationView,
    SeatPick,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tauri::{AppHandle, Emitter, Manager, State};

/// The sync server this device talks to, trying each request a few times.
fn transport(app: &App) -> Result<HttpTransport, AppError> {
    let Some(link) = app.sync_settings()? else {
        return Err(AppError::invalid(
            "no_server",
            "This device has no sync server yet; paste the enrollment code from the server's admin in Settings",
        ));
    };
    Ok(HttpTransport::new(&link)?.with_attempts(2))
}

/// `{slug}-orders.csv` in the downloads folder (or documents, or home) when there is one.
fn default_export_path(handle: &AppHandle, slug: &str) -> String {
    let paths = handle.path();
    let folder = [paths.download_dir(), paths.document_dir(), paths.home_dir()]
        .into_iter()
        .flatten()
        .find(|dir| dir.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    folder
        .join(format!("{slug}-orders.csv"))
        .display()
        .to_string()
}

fn reconciliation_view(entry: ReconciliationEntry) -> ReconciliationView {
    let details = match &entry.item.detail {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(name, value)| {
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (name.clone(), text)
            })
            .collect(),
        serde_json::Value::Null => Vec::new(),
        other => vec![("detail".into(), other.to_string())],
    };
    ReconciliationView {
        id: entry.item.id,
        kind: entry.item.kind,
        conference: entry.conference,
        device_id: entry.item.device_id.to_string(),
        this_device: entry.this_device,
        access_code: entry.access_code,
        details,
        created_at: entry.item.created_at,
        resolved: entry.item.resolved,
    }
}

#[tauri::command(rename_all = "snake_case")]
pub async fn back_office(
    shared: State<'_, Arc<Shared>>,
    handle: AppHandle,
    slug: String,
) -> Reply<BackOfficeView> {
    let default_path = default_export_path(&handle, &slug);
    blocking(&shared, move |app| {
        Ok(BackOfficeView {
            summary: app.back_office(&slug)?,
            default_export_path: default_path,
        })
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn reconciliation(shared: State<'_, Arc<Shared>>) -> Reply<Vec<ReconciliationView>> {
    blocking(&shared, |app| {
        let transport = transport(app)?;
        Ok(app
            .reconciliation_queue(&transport)?
            .into_iter()
            .map(reconciliation_view)
            .collect())
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn resolve_reconciliation(shared: State<'_, Arc<Shared>>, id: i64) -> Reply<bool> {
    blocking(&shared, move |app| {
        let transport = transport(app)?;
        Ok(app.resolve_reconciliation(&transport, id)?.resolved)
    })
    .await
}

/// Writes `bytes` to `path` whole or not at all: a temporary file beside it, then a rename.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), AppError> {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    let Some(folder) = folder.filter(|f| f.is_dir()) else {
        return Err(AppError::invalid(
            "export_folder_missing",
            format!(
                "The folder of {} does not exist; choose a file in an existing folder",
                path.display()
            ),
        )
        .with_field("path"));
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = folder.join(format!(".{name}.partial"));
    let failed = |e: std::io::Error| {
        AppError::invalid(
            "export_failed",
            format!("Could not write {}: {e}", path.display()),
        )
        .with_field("path")
    };
    std::fs::write(&partial, bytes).map_err(failed)?;
    std::fs::rename(&partial, path).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        failed(e)
    })
}

pub(crate) fn export_path(text: &str) -> Result<PathBuf, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::invalid(
            "export_path",
            "Choose the file to export to, like /home/me/devconf-orders.csv",
        )
        .with_field("path"));
    }
    let path = PathBuf::from(text);
    if !path.is_absolute() {
        return Err(AppError::invalid(
            "export_path",
            format!("`{text}` is not a full path; start it at the top, like /home/me/{text}"),
        )
        .with_field("path"));
    }
    if path.is_dir() {
        return Err(AppError::invalid(
            "export_path",
            format!("{text} is a folder; add a file name like devconf-orders.csv"),
        )
        .with_field("path"));
    }
    Ok(path)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn export_orders(
    handle: AppHandle,
    shared: State<'_, Arc<Shared>>,
    form: ExportForm,
) -> Reply<ExportDone> {
    blocking(&shared, move |app| {
        let path = export_path(&form.path)?;
        // Told at each whole percent, so a long export shows a moving bar.
        let mut shown = None;
        let csv = app.export_orders_csv_with(&form.slug, &mut |done, total| {
            let percent = (done * 100).checked_div(total).unwrap_or(100);
            if shown != Some(percent) {
                shown = Some(percent);
                let view = conference_desktop_ipc::ExportProgressView { done, total };
                if let Err(error) = handle.emit(conference_desktop_ipc::EXPORT_PROGRESS, view) {
                    tracing::warn!(%error, "could not tell the window how far the export is");
                }
            }
        })?;
        write_whole(&path, csv.as_bytes())?;
        Ok(ExportDone {
            path: path.display().to_string(),
            rows: u32::try_from(csv.lines().count().saturating_sub(1)).unwrap_or(u32::MAX),
            bytes: csv.len() as u64,
        })
    })
    .await
}

/// The native "save as" dialog, starting at `suggested`; `None` when the person cancels.
#[tauri::command(rename_all = "snake_case")]
pub async fn choose_export_file(handle: AppHandle, suggested: String) -> Reply<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    let suggested = PathBuf::from(suggested.trim());
    tauri::async_runtime::spawn_blocking(move || {
        let mut dialog = handle
            .dialog()
            .file()
            .set_title("Export orders as CSV")
            .add_filter("CSV", &["csv"]);
        if let Some(folder) = suggested.parent().filter(|f| f.is_dir()) {
            dialog = dialog.set_directory(folder);
        }
        if let Some(name) = suggested.file_name() {
            dialog = dialog.set_file_name(name.to_string_lossy());
        }
        dialog
            .blocking_save_file()
            .map(|chosen| chosen.into_path().map(|p| p.display().to_string()))
            .transpose()
            .map_err(|e| {
                AppError::invalid("export_path", format!("That file cannot be used: {e}"))
                    .with_field("path")
                    .body()
            })
    })
    .await
    .map_err(|e| crate::internal(format!("The file dialog stopped unexpectedly ({e})")))?
}

fn specs(seats: &[SeatPick]) -> Vec<String> {
    seats
        .iter()
        .filter(|s| s.quantity > 0)
        .map(|s| format!("{}={}", s.name.trim(), s.quantity))
        .collect()
}

#[tauri::command(rename_all = "snake_case")]
pub async fn request_allotment(
    shared: State<'_, Arc<Shared>>,
    handle: AppHandle,
    form: AllotmentForm,
) -> Reply<AllotmentDone> {
    changing(&shared, &handle, move |app| {
        let transport = transport(app)?;
        let (granted, _) =
            app.request_allotment(&transport, &ctx(), &form.slug, &specs(&form.seats))?;
        let availability = app.seats(&form.slug)?;
        let seats = granted
            .seats
            .iter()
            .map(|g| SeatPick {
                name: availability
                    .seat_types
                    .iter()
                    .find(|s| s.seat_type_id == g.seat_type_id)
                    .map_or_else(|| g.seat_type_id.to_string(), |s| s.name.clone()),
                quantity: g.quantity,
            })
            .collect();
        Ok(AllotmentDone {
            seats,
            synced: true,
            availability,
        })
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn return_allotment(
    shared: State<'_, Arc<Shared>>,
    handle: AppHandle,
    form: AllotmentForm,
) -> Reply<AllotmentDone> {
    changing(&shared, &handle, move |app| {
        app.return_allotment(&ctx(), &form.slug, &specs(&form.seats))?;
        // The pool takes the seats when the return reaches the server; try now.
        let synced = transport(app)
            .and_then(|t| app.sync(&t, chrono::Utc::now()))
            .is_ok();
        Ok(AllotmentDone {
            seats: form.seats.into_iter().filter(|s| s.quantity > 0).collect(),
            synced,
            availability: app.seats(&form.slug)?,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_paths_are_whole_file_paths() {
        assert_eq!(export_path(" ").unwrap_err().code(), "export_path");
        assert_eq!(export_path(" ").unwrap_err().field(), Some("path"));
        assert_eq!(export_path("orders.csv").unwrap_err().code(), "export_path");
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            export_path(&dir.path().display().to_string())
                .unwrap_err()
                .code(),
            "export_path"
        );
        let file = dir.path().join("x.csv");
        assert_eq!(export_path(&file.display().to_string()).unwrap(), file);
    }

    #[test]
    fn an_export_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("orders.csv");
        write_whole(&file, b"a,b\r\n").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"a,b\r\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let missing = dir.path().join("nope/orders.csv");
        assert_eq!(
            write_whole(&missing, b"x").unwrap_err().code(),
            "export_folder_missing"
        );
    }

    #[test]
    fn seat_picks_become_specs_without_zeros() {
        let picks = [
            SeatPick {
                name: " Full ".into(),
                quantity: 5,
            },
            SeatPick {
                name: "Student".into(),
                quantity: 0,
            },
        ];
        assert_eq!(specs(&picks), vec!["Full=5".to_string()]);
    }
}
