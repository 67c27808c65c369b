//! `cargo xtask ui`: builds the Yew UI for wasm32 and bundles it into `ui/dist` with
//! wasm-bindgen (the library, at exactly the version of the `wasm-bindgen` crate in
//! Cargo.lock), next to `ui/static/`. Files are only rewritten when they change, so the
//! desktop app, which embeds `ui/dist`, is not rebuilt for nothing.
use crate::util::{cargo, root, run, target_dir};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

const WASM_TARGET: &str = "wasm32-unknown-unknown";

pub fn build() -> Result<PathBuf> {
    crate::setup::wasm_target()?;
    run(cargo().args([
        "build",
        "--locked",
        "--release",
        "-p",
        "conference-ui",
        "--lib",
        "--target",
        WASM_TARGET,
    ]))
    .context("building the UI for wasm32")?;
    let wasm = target_dir()
        .join(WASM_TARGET)
        .join("release/conference_ui.wasm");
    let staging = target_dir().join("ui-bindgen");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    std::fs::create_dir_all(&staging)?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)?
        .typescript(false)
        .out_name("conference_ui")
        .generate(&staging)
        .map_err(|e| anyhow::anyhow!("wasm-bindgen failed on {}: {e:#}", wasm.display()))?;
    let dist = root().join("ui/dist");
    std::fs::create_dir_all(&dist)?;
    let mut wanted = Vec::new();
    for dir in [staging.as_path(), root().join("ui/static").as_path()] {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_file() {
                let name = path.file_name().map(PathBuf::from).unwrap_or_default();
                write_if_changed(&dist.join(&name), &std::fs::read(&path)?)?;
                wanted.push(name);
            }
        }
    }
    for entry in std::fs::read_dir(&dist)? {
        let path = entry?.path();
        let name = path.file_name().map(PathBuf::from).unwrap_or_default();
        if path.is_file() && !wanted.contains(&name) {
            std::fs::remove_file(&path)?;
        }
    }
    eprintln!("xtask: the UI is in {}", dist.display());
    Ok(dist)
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
