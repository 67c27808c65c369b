//! `cargo xtask run`: the product as a person meets it. Builds the UI, the desktop app and
//! the sync server, sets up a demo store under `target/demo/` with a published demo
//! conference (the first time), starts a sync server on embedded SQLite with the demo store
//! as its organizer device and a door device, and opens the app connected to it.
//! `--no-server` opens the app alone.
use crate::util::{cargo, root, run, target_dir};
use anyhow::{Context, Result};
use conference_app::{App, Ctx, NewConference, NewPromoCode};
use std::path::Path;
use std::process::Command;

/// Where the demo's sync server listens: fixed, so the demo store remembers it across runs.
const DEMO_SERVER: &str = "127.0.0.1:8787";

pub fn run_app(no_server: bool) -> Result<()> {
    crate::setup::system_packages()?;
    crate::ui::build()?;
    run(cargo().args([
        "build",
        "--locked",
        "-p",
        "conference-desktop",
        "-p",
        "conference-sync-server",
    ]))
    .context("building the desktop app and the sync server")?;
    let store = root().join("target/demo/desktop-store.db");
    seed_demo(&store)?;
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        anyhow::bail!(
            "there is no display to open the window on; run this from a desktop session, or under `xvfb-run -a cargo xtask run`"
        );
    }
    let server = if no_server {
        None
    } else {
        Some(DemoServer::start(&store)?)
    };
    let binary = target_dir().join("debug/conference-desktop");
    eprintln!("xtask: opening the box office on {}", store.display());
    let status = Command::new(&binary)
        .env("CONFERENCE_STORE", &store)
        .status()
        .with_context(|| format!("could not start {}", binary.display()));
    drop(server);
    let status = status?;
    anyhow::ensure!(status.success(), "the desktop app exited with {status}");
    Ok(())
}

/// The demo's sync server on embedded SQLite, with the demo store as its organizer device
/// and a door device for a second window. Stopped (SIGTERM) when dropped.
struct DemoServer {
    child: std::process::Child,
}

impl DemoServer {
    fn start(store: &Path) -> Result<Self> {
        let binary = target_dir().join("debug/conference-sync");
        let database = root().join("target/demo/server.db");
        let mut child = Command::new(&binary)
            .args(["serve", "--database"])
            .arg(&database)
            .args(["--listen", DEMO_SERVER])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .with_context(|| format!("could not start {}", binary.display()))?;
        let mut first = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().context("the server's output")?),
            &mut first,
        )?;
        // `listening on https://ADDRESS certificate-sha256 HEX`
        let (url, pin) = match first.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["listening", "on", url, "certificate-sha256", pin] => {
                ((*url).to_string(), (*pin).to_string())
            }
            _ => anyhow::bail!("the sync server did not start (is {DEMO_SERVER} in use?): {first}"),
        };
        let server = Self { child };
        let mut app = App::open(store)?;
        let first_time = app.sync_settings()?.is_none();
        if first_time {
            let organizer =
                server.add_device(&database, &url, &app.device()?.device_id.to_string())?;
            app.enroll(&organizer, false)?;
            let door = server.add_door(&database, &url)?;
            eprintln!(
                "xtask: a door device for a second window: paste this enrollment code in its Settings:\n{door}"
            );
        }
        let mut link = app
            .sync_settings()?
            .context("the demo store's sync settings")?;
        if link.url != url || link.pin.as_deref() != Some(pin.as_str()) {
            // A demo store from before the server spoke TLS, or a server folder made anew.
            let code = conference_protocol::enrollment::Enrollment {
                server: url.clone(),
                token: link.token.clone(),
                sha256: Some(pin.clone()),
            }
            .encode();
            link = app.enroll(&code, false)?;
        }
        let transport =
            conference_app::http::HttpTransport::new(&link).map_err(|e| anyhow::anyhow!("{e}"))?;
        let report = app
            .sync(&transport, chrono::Utc::now())
            .map_err(|e| anyhow::anyhow!("the first sync failed: {e}"))?;
        if first_time {
            // A connected device sells from its allotment: give the demo door some seats.
            let seats = ["Full=20", "Student=5", "Speaker=3"].map(String::from);
            app.request_allotment(&transport, &Ctx::new(chrono::Utc::now()), "devconf", &seats)
                .map_err(|e| anyhow::anyhow!("the demo allotment failed: {e}"))?;
        }
        eprintln!(
            "xtask: sync server at {url}; the demo store pushed {} command(s)",
            report.pushed
        );
        Ok(server)
    }

    /// Registers a device; its enrollment code.
    fn device_add(&self, database: &Path, url: &str, args: &[&str]) -> Result<String> {
        let output = Command::new(target_dir().join("debug/conference-sync"))
            .args(["device", "add", "--database"])
            .arg(database)
            .args(["--server", url])
            .args(args)
            .arg("--json")
            .output()?;
        anyhow::ensure!(
            output.status.success(),
            "could not add a demo device: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let value: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        Ok(value["enrollment_code"]
            .as_str()
            .context("an enrollment code")?
            .to_string())
    }

    fn add_device(&self, database: &Path, url: &str, device_id: &str) -> Result<String> {
        self.device_add(
            database,
            url,
            &[
                "--name",
                "Front door (organizer)",
                "--role",
                "organizer",
                "--device-id",
                device_id,
            ],
        )
    }

    fn add_door(&self, database: &Path, url: &str) -> Result<String> {
        self.device_add(
            database,
            url,
            &[
                "--name",
                "Door 2",
                "--role",
                "door",
                "--conference",
                "devconf",
            ],
        )
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        // SIGTERM lets the server finish in-flight requests; then wait for it.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// A published demo conference with three seat types and a promo code. Safe to run twice.
pub fn seed_demo(store: &Path) -> Result<()> {
    if let Some(dir) = store.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut app = App::open(store)?;
    let now = chrono::Utc::now();
    if app.device().is_err() {
        app.init("Front door", now)?;
    }
    if app.conference("devconf").is_ok() {
        return Ok(());
    }
    let day = |d: &str| -> Result<_> {
        Ok(chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")?
            .and_hms_opt(9, 0, 0)
            .context("a demo date")?
            .and_utc())
    };
    app.create_conference(
        &Ctx::new(now),
        NewConference {
            slug: "devconf".into(),
            name: "DevConf 2026".into(),
            description: "Two days of talks on building software that keeps working offline."
                .into(),
            location: "Berlin".into(),
            start: Some(day("2026-12-01")?),
            end: Some(day("2026-12-02")?),
            owner_name: "Ada Lovelace".into(),
            owner_email: "ada@example.com".into(),
            currency: Some("EUR".into()),
        },
    )?;
    for (name, price, quantity) in [
        ("Full", "120", 50),
        ("Student", "40", 10),
        ("Speaker", "0", 5),
    ] {
        app.add_seat_type(&Ctx::new(now), "devconf", name, "", price, quantity)?;
    }
    app.add_promo_code(
        &Ctx::new(now),
        "devconf",
        &NewPromoCode {
            code: "EARLY".into(),
            percent: Some("15".into()),
            ..NewPromoCode::default()
        },
    )?;
    app.publish(&Ctx::new(now), "devconf", true)?;
    Ok(())
}
