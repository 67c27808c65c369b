//! Installing what the desktop app and its tests need, only when it is missing, so every
//! task is safe to run twice: Debian packages, the wasm32 target, tauri-driver.
use crate::util::{has_command, run};
use anyhow::{Context, Result, bail};
use std::process::{Command, Stdio};

/// What building the desktop app and driving its window in tests needs on Debian.
pub const DEBIAN_PACKAGES: &[&str] = &[
    "libwebkit2gtk-4.1-dev",
    "libgtk-3-dev",
    "librsvg2-dev",
    "libayatana-appindicator3-dev",
    "libssl-dev",
    "pkg-config",
    "build-essential",
    "file",
    "xvfb",
    "webkit2gtk-driver",
    "imagemagick",
    // schemathesis, for the OpenAPI contract (`crate::contract`), in a virtualenv.
    "python3",
    "python3-venv",
];

/// The tauri-driver release the end-to-end tests are known to work with.
const TAURI_DRIVER_VERSION: &str = "2.1.0";

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

/// Whether this task runs as root (else system changes go through sudo).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs the Debian packages that are missing (with sudo when not root).
pub fn system_packages() -> Result<()> {
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .copied()
        .filter(|p| !installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !has_command("apt-get") {
        bail!(
            "the desktop app needs these system packages (Debian names): {}; install them with your package manager",
            missing.join(" ")
        );
    }
    apt_install(&missing).context("could not install the desktop app's system packages")
}

/// `apt-get install` of Debian packages, as root or through sudo, without questions. Only
/// call it with packages that are missing: it runs `apt-get update` first.
pub fn apt_install(packages: &[&str]) -> Result<()> {
    let apt = |args: &[&str]| -> Command {
        let mut command = if is_root() {
            let mut apt = Command::new("apt-get");
            apt.env("DEBIAN_FRONTEND", "noninteractive");
            apt
        } else {
            // sudo resets the environment: the variable goes on its command line.
            let mut sudo = Command::new("sudo");
            sudo.args(["DEBIAN_FRONTEND=noninteractive", "apt-get"]);
            sudo
        };
        command.args(args);
        command
    };
    eprintln!("xtask: installing {}", packages.join(" "));
    run(&mut apt(&["update", "-qq"])).context("apt-get update failed")?;
    run(apt(&["install", "-y", "-qq", "--no-install-recommends"]).args(packages))
}

/// `rustup target add wasm32-unknown-unknown` when it is not there yet.
pub fn wasm_target() -> Result<()> {
    let listed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match listed {
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains("wasm32-unknown-unknown") => {
            Ok(())
        }
        Ok(_) => run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
            .context("could not add the wasm32 target with rustup"),
        Err(_) => {
            eprintln!("xtask: rustup is not here; assuming the wasm32-unknown-unknown target is");
            Ok(())
        }
    }
}

/// `cargo install tauri-driver` when it is not on the path.
pub fn tauri_driver() -> Result<()> {
    let present = Command::new("tauri-driver")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return Ok(());
    }
    run(crate::util::cargo().args([
        "install",
        "--locked",
        "tauri-driver",
        "--version",
        TAURI_DRIVER_VERSION,
    ]))
    .context("could not install tauri-driver")
}
