//! `cargo xtask test`: everything CI checks, in the order that fails fastest. It installs
//! what it needs first (rustfmt and clippy; the desktop app's Debian packages, the wasm32
//! target and tauri-driver), builds the UI that the desktop app embeds, and runs every
//! test, the end-to-end ones through the real window under an Xvfb display of their own.
//! Every step uses the same flags, so nothing is built twice for different features.
use crate::util::{cargo, has_command, run, target_dir};
use anyhow::{Context, Result};

pub fn test() -> Result<()> {
    ensure_components()?;
    run(cargo().args(["fmt", "--all", "--check"]))
        .context("formatting differs; run `cargo fmt --all`")?;
    crate::setup::system_packages()?;
    crate::setup::wasm_target()?;
    crate::setup::tauri_driver()?;
    crate::ui::build()?;
    run(cargo().args([
        "clippy",
        "--locked",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
    .context("clippy found problems")?;
    run(cargo().args([
        "clippy",
        "--locked",
        "-p",
        "conference-ui",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]))
    .context("clippy found problems in the UI's wasm32 code")?;
    run(cargo().args(["test", "--locked", "--workspace"])).context("tests failed")?;
    let timings = target_dir().join("screenshots/timings.txt");
    if let Ok(text) = std::fs::read_to_string(&timings) {
        println!("\nDesktop timings (from the end-to-end run):\n{text}");
    }
    Ok(())
}

/// rustfmt and clippy come with most toolchains; a minimal rustup profile lacks them.
fn ensure_components() -> Result<()> {
    let missing: Vec<&str> = [("rustfmt", "rustfmt"), ("cargo-clippy", "clippy")]
        .into_iter()
        .filter(|(binary, _)| !has_command(binary))
        .map(|(_, component)| component)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    anyhow::ensure!(
        has_command("rustup"),
        "the Rust components {missing:?} are missing and rustup is not here to add them"
    );
    let mut rustup = std::process::Command::new("rustup");
    rustup.args(["component", "add"]).args(&missing);
    run(&mut rustup).context("could not add rustfmt/clippy with rustup")
}
