//! Small helpers for running commands from tasks.
use anyhow::{Result, bail};
use std::path::PathBuf;
use std::process::Command;

/// The repository root (xtask lives one level below it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The cargo that runs this task.
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

pub fn has_command(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs a command with inherited output; an unsuccessful exit is an error.
pub fn run(command: &mut Command) -> Result<()> {
    eprintln!("$ {}", describe(command));
    let status = command.status()?;
    if !status.success() {
        bail!("`{}` failed with {status}", describe(command));
    }
    Ok(())
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where cargo puts builds: `$CARGO_TARGET_DIR`, else `target/` at the root.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

/// Starts `conference-sync serve --plain-http` on a free port of 127.0.0.1 with `database`
/// and its log going to `stderr`; the child and the URL its first line says it serves on.
/// `describe` reads what went wrong when it did not start (the log, say).
pub fn serve_plain(
    binary: &std::path::Path,
    database: &std::ffi::OsStr,
    stderr: std::process::Stdio,
    describe: impl FnOnce() -> String,
) -> Result<(std::process::Child, String)> {
    use anyhow::Context;
    use std::io::BufRead;
    let mut child = Command::new(binary)
        .args([
            "serve",
            "--plain-http",
            "--listen",
            "127.0.0.1:0",
            "--database",
        ])
        .arg(database)
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("could not start {}", binary.display()))?;
    // Its first line says where it listens (or nothing, when it could not start).
    let mut first = String::new();
    if let Some(stdout) = child.stdout.take() {
        std::io::BufReader::new(stdout).read_line(&mut first)?;
    }
    match first.split_whitespace().collect::<Vec<_>>().as_slice() {
        ["listening", "on", url, ..] => Ok((child, (*url).to_string())),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "the sync server did not start: {} {}",
                first.trim(),
                describe()
            );
        }
    }
}
