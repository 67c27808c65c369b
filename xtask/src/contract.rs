//! The OpenAPI document as the contract (DESIGN.md §7): schemathesis (from PyPI, pinned,
//! in a virtualenv under `target/`) generates requests from a real server's
//! `/openapi.json` with an organizer's token and runs every check — undocumented status
//! codes, answers that break their schema, schema-valid requests refused and invalid ones
//! taken, live-feed events — against that server. Any failure fails the run.
use crate::util::{run, target_dir};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The schemathesis release this contract is checked with.
const SCHEMATHESIS: &str = "4.32.5";
/// Examples per operation and phase, and the seed: the same cases on every run.
const EXAMPLES: &str = "50";
const SEED: &str = "1";

pub fn check() -> Result<()> {
    let schemathesis = install()?;
    let binary = target_dir().join("debug/conference-sync");
    let dir = tempfile::tempdir().context("a folder for the contract's server")?;
    let database = dir.path().join("server.db");
    let added = Command::new(&binary)
        .args([
            "device",
            "add",
            "--name",
            "contract",
            "--role",
            "organizer",
            "--json",
            "--database",
        ])
        .arg(&database)
        .output()
        .with_context(|| format!("could not run {}", binary.display()))?;
    anyhow::ensure!(
        added.status.success(),
        "device add failed: {}",
        String::from_utf8_lossy(&added.stderr)
    );
    let added: serde_json::Value = serde_json::from_slice(&added.stdout)?;
    let token = added["token"].as_str().context("a token")?.to_string();
    let mut server = Server::start(&binary, &database)?;
    println!(
        "xtask: the OpenAPI contract, checked by schemathesis {SCHEMATHESIS} against {}",
        server.url
    );
    // Its cache of found failures goes under `target/`, not into the checkout.
    let checked = run(Command::new(&schemathesis)
        .current_dir(target_dir())
        .arg("run")
        .arg(format!("{}/openapi.json", server.url))
        .args([
            "--checks",
            "all",
            "--max-examples",
            EXAMPLES,
            "--seed",
            SEED,
        ])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .env("SCHEMATHESIS_TELEMETRY", "false"));
    server.stop();
    checked.context("schemathesis found answers that break the OpenAPI document")
}

/// The schemathesis command, installed in `target/schemathesis` when missing.
fn install() -> Result<PathBuf> {
    let venv = target_dir().join("schemathesis");
    let command = venv.join("bin/schemathesis");
    let installed = Command::new(&command)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(SCHEMATHESIS));
    if installed {
        return Ok(command);
    }
    if !venv.join("bin/pip").exists() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))
            .context("could not make a Python virtualenv (python3-venv)")?;
    }
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("schemathesis=={SCHEMATHESIS}")))
    .context("could not install schemathesis from PyPI")?;
    Ok(command)
}

/// `conference-sync serve --plain-http` on a free port of 127.0.0.1.
struct Server {
    child: std::process::Child,
    url: String,
}

impl Server {
    fn start(binary: &Path, database: &Path) -> Result<Self> {
        let (child, url) =
            crate::util::serve_plain(binary, database.as_os_str(), Stdio::null(), String::new)?;
        Ok(Self { child, url })
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
