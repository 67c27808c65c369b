//! `cargo xtask run`: the product as a person meets it. Builds the UI and the desktop app,
//! sets up a demo store under `target/demo/` with a published demo conference (the first
//! time), and opens the app on it.
use crate::util::{cargo, root, run, target_dir};
use anyhow::{Context, Result};
use conference_app::{App, Ctx, NewConference, NewPromoCode};
use std::path::Path;
use std::process::Command;

pub fn run_app(no_server: bool) -> Result<()> {
    crate::setup::system_packages()?;
    crate::ui::build()?;
    run(cargo().args(["build", "--locked", "-p", "conference-desktop"]))
        .context("building the desktop app")?;
    let store = root().join("target/demo/desktop-store.db");
    seed_demo(&store)?;
    if !no_server {
        // TODO(issue 4): start the local sync server with demo devices here once
        // `sync-server/` can be started from a library call (settings, listener, shutdown),
        // and connect this store to it with `App::connect(url, token)`.
        eprintln!(
            "xtask: the sync server is not ready yet; the app runs standalone on a local store (same as --no-server)"
        );
    }
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        anyhow::bail!(
            "there is no display to open the window on; run this from a desktop session, or under `xvfb-run -a cargo xtask run`"
        );
    }
    let binary = target_dir().join("debug/conference-desktop");
    eprintln!("xtask: opening the box office on {}", store.display());
    let status = Command::new(&binary)
        .env("CONFERENCE_STORE", &store)
        .status()
        .with_context(|| format!("could not start {}", binary.display()))?;
    anyhow::ensure!(status.success(), "the desktop app exited with {status}");
    Ok(())
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
