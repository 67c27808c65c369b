//! A real `conference-sync` server as a child process, the way a venue runs it: started
//! with `serve`, it prints `listening on URL [certificate-sha256 HEX]` as its first line
//! (the address it bound, and the fingerprint of its TLS certificate unless it speaks
//! plain HTTP), and devices are registered with its `device add` admin command, whose
//! enrollment code pins that certificate.
//!
//! The test crate names the binary: each builds it under its own name.
use crate::process;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// What a server's first line says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listening {
    pub url: String,
    /// The SHA-256 of its certificate (none over plain HTTP).
    pub fingerprint: Option<String>,
}

/// Reads `listening on URL [certificate-sha256 HEX]`; `None` for any other line.
#[must_use]
pub fn parse_listening(line: &str) -> Option<Listening> {
    match line.split_whitespace().collect::<Vec<_>>().as_slice() {
        ["listening", "on", url, rest @ ..] => Some(Listening {
            url: (*url).to_string(),
            fingerprint: match rest {
                ["certificate-sha256", sha256] => Some((*sha256).to_string()),
                _ => None,
            },
        }),
        _ => None,
    }
}

/// The binary as a command, without a database named by the environment.
#[must_use]
pub fn command(binary: &Path) -> Command {
    let mut command = Command::new(binary);
    command.env_remove("CONFERENCE_SYNC_DATABASE");
    command
}

/// A serving `conference-sync` process; killed (SIGKILL) when dropped.
pub struct Serving {
    pub child: Child,
    pub url: String,
    /// The certificate's SHA-256 it printed (none over plain HTTP).
    pub fingerprint: Option<String>,
}

impl Serving {
    /// Runs `command` (the binary, or a shell that sets limits first and runs it) with
    /// `serve --listen LISTEN --database DATABASE ARGS` and reads its first line.
    pub fn start(mut command: Command, database: &Path, listen: &str, args: &[&str]) -> Self {
        let mut child = command
            .args(["serve", "--listen", listen, "--database"])
            .arg(database)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start conference-sync");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("the server's output"))
            .read_line(&mut first)
            .expect("read the listening line");
        let Some(listening) = parse_listening(&first) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("unexpected first line from the server: {first:?}");
        };
        Self {
            child,
            url: listening.url,
            fingerprint: listening.fingerprint,
        }
    }

    /// The address it listens on, without the scheme: to start again on the same one.
    #[must_use]
    pub fn address(&self) -> &str {
        self.url
            .trim_start_matches("https://")
            .trim_start_matches("http://")
    }

    /// Kills it with SIGKILL (no graceful shutdown) and waits for it to be gone.
    pub fn kill_9(mut self) {
        process::kill_9(&mut self.child);
    }

    /// Stops it with SIGTERM (it finishes requests in flight); its exit status, or `None`
    /// when it is still running after `patience`.
    pub fn terminate(&mut self, patience: Duration) -> Option<ExitStatus> {
        process::terminate(&mut self.child, patience)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        // Make sure nothing is left running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A device the server knows: its id, its token and its enrollment code.
#[derive(Clone, Debug)]
pub struct Enrolled {
    pub device_id: String,
    pub token: String,
    pub code: String,
}

impl Enrolled {
    /// Where and how the device reaches the server, as its enrollment code says.
    #[must_use]
    pub fn link(&self) -> conference_app::ServerLink {
        let enrollment = conference_protocol::enrollment::Enrollment::decode(&self.code)
            .expect("an enrollment code");
        conference_app::ServerLink {
            url: enrollment.server,
            token: enrollment.token,
            pin: enrollment.sha256,
            insecure_http: false,
        }
    }
}

/// Registers a device the way the admin does (`device add --json` on the server's
/// database), with the enrollment code for `server_url`.
#[must_use]
pub fn add_device(
    binary: &Path,
    database: &Path,
    server_url: &str,
    name: &str,
    role: &str,
    conferences: &[&str],
) -> Enrolled {
    let mut command = command(binary);
    command
        .args(["device", "add", "--database"])
        .arg(database)
        .args([
            "--name", name, "--role", role, "--server", server_url, "--json",
        ]);
    for c in conferences {
        command.args(["--conference", c]);
    }
    let output = command.output().expect("device add");
    assert!(
        output.status.success(),
        "device add failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("device add --json");
    let text = |field: &str| {
        value[field]
            .as_str()
            .unwrap_or_else(|| panic!("device add --json printed no {field}"))
            .to_string()
    };
    Enrolled {
        device_id: text("device_id"),
        token: text("token"),
        code: text("enrollment_code"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_line_gives_the_url_and_the_certificate_when_there_is_one() {
        let tls = "listening on https://127.0.0.1:4242 certificate-sha256 ab12\n";
        assert_eq!(
            parse_listening(tls),
            Some(Listening {
                url: "https://127.0.0.1:4242".into(),
                fingerprint: Some("ab12".into()),
            })
        );
        let plain = parse_listening("listening on http://127.0.0.1:4242\n").expect("plain");
        assert_eq!(plain.fingerprint, None);
        assert_eq!(parse_listening("error: address in use"), None);
        assert_eq!(parse_listening(""), None);
    }
}
