//! `cargo xtask test`: everything CI checks, in the order that fails fastest. It installs
//! what it needs first (rustfmt and clippy), so it runs the same on a fresh machine.
use crate::util::{cargo, has_command, run};
use anyhow::{Context, Result};

pub fn test() -> Result<()> {
    ensure_components()?;
    run(cargo().args(["fmt", "--all", "--check"]))
        .context("formatting differs; run `cargo fmt --all`")?;
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
    run(cargo().args(["test", "--locked", "--workspace"])).context("tests failed")?;
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
