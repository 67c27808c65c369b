//! `cargo xtask test`: everything CI checks, in the order that fails fastest. It installs
//! what it needs first (rustfmt and clippy; the desktop app's Debian packages, the wasm32
//! target and tauri-driver), builds the UI that the desktop app embeds, and runs every
//! test, the end-to-end ones through the real window under an Xvfb display of their own.
//! Every step uses the same flags, so nothing is built twice for different features.
//! Then the sync server's integration suite runs again against PostgreSQL: the database in
//! `CONFERENCE_SYNC_TEST_POSTGRES`, or else a throwaway cluster (see [`crate::postgres`]);
//! last, schemathesis checks a real server against its OpenAPI document
//! ([`crate::contract`]).
use crate::postgres;
use crate::util::{cargo, has_command, root, run, target_dir};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

pub fn test() -> Result<()> {
    ensure_components()?;
    run(cargo().args(["fmt", "--all", "--check"]))
        .context("formatting differs; run `cargo fmt --all`")?;
    crate::tidy::check()?;
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
    // This pass runs the sync server on SQLite whatever the environment says.
    println!("xtask: every test, the sync server's on SQLite");
    run(cargo()
        .args(["test", "--locked", "--workspace"])
        .env_remove(postgres::URL_VAR))
    .context("tests failed")?;
    sync_server_on_postgres()?;
    crate::contract::check()?;
    for file in ["timings.txt", "timings-orders.txt"] {
        let timings = target_dir().join("screenshots").join(file);
        if let Ok(text) = std::fs::read_to_string(&timings) {
            println!("\nDesktop timings (from the end-to-end run):\n{text}");
        }
    }
    Ok(())
}

/// The sync server's integration suite again, on PostgreSQL. It runs the test binary that
/// `cargo test --workspace` built: `cargo test -p conference-sync-server` would unify
/// features for that one package alone and build much of the tree a second time.
fn sync_server_on_postgres() -> Result<()> {
    let sync_server = root().join("sync-server");
    let binary = test_binary(&sync_server, "it")?;
    let database = postgres::test_database()?;
    println!(
        "xtask: the sync server's integration tests again, on PostgreSQL at {}",
        database.describe()
    );
    run(std::process::Command::new(&binary)
        .current_dir(&sync_server)
        .env("CARGO_MANIFEST_DIR", &sync_server)
        .env(postgres::URL_VAR, database.url()))
    .context("the sync server's integration tests failed on PostgreSQL")
    // `database` drops here, after the tests, and takes a cluster xtask started with it.
}

/// Where `cargo test --locked --workspace` put the test binary `test` of the package in
/// `package_dir` (building nothing when that command just ran).
fn test_binary(package_dir: &Path, test: &str) -> Result<PathBuf> {
    let manifest = package_dir.join("Cargo.toml");
    let manifest = manifest.canonicalize().unwrap_or(manifest);
    let output = cargo()
        .args(["test", "--locked", "--workspace", "--no-run"])
        .args(["--message-format", "json-render-diagnostics"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("could not run cargo to find the test binaries")?;
    anyhow::ensure!(
        output.status.success(),
        "`cargo test --no-run` failed with {}",
        output.status
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|message| {
            let target = &message["target"];
            let is_it = message["reason"] == "compiler-artifact"
                && target["name"] == test
                && target["kind"].as_array()?.iter().any(|kind| kind == "test")
                && message["manifest_path"]
                    .as_str()
                    .is_some_and(|path| Path::new(path) == manifest);
            is_it.then(|| message["executable"].as_str().map(PathBuf::from))?
        })
        .with_context(|| format!("cargo built no test `{test}` for {}", manifest.display()))
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
