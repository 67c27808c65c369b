//! A real sync server for tests: the `conference-sync` binary (built in this package as
//! `conference-sync-under-test`) on 127.0.0.1 with its own SQLite file, killable at will.
//! It serves TLS with the certificate it makes beside its database, as at a venue; devices
//! enroll with the code `device add --server` prints, which pins that certificate. Tests
//! whose proxy reads HTTP start it with plain HTTP instead.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub fn server_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_conference-sync-under-test"))
}

pub struct Server {
    pub database: PathBuf,
    pub url: String,
    /// The certificate's SHA-256 it printed (none over plain HTTP).
    pub fingerprint: Option<String>,
    plain: bool,
    child: Option<Child>,
}

/// A device the server knows: its id, its token and its enrollment code.
#[derive(Clone, Debug)]
pub struct DeviceToken {
    pub device_id: String,
    pub token: String,
    pub code: String,
}

impl DeviceToken {
    /// Where and how the device reaches the server, as its enrollment code says.
    pub fn link(&self) -> conference_app::ServerLink {
        let enrollment =
            conference_app::conference_protocol::enrollment::Enrollment::decode(&self.code)
                .expect("an enrollment code");
        conference_app::ServerLink {
            url: enrollment.server,
            token: enrollment.token,
            pin: enrollment.sha256,
            insecure_http: false,
        }
    }
}

impl Server {
    /// Starts a server on a fresh port with the database in `dir`.
    pub fn start(dir: &Path) -> Self {
        Self::start_with(dir, false)
    }

    /// A server speaking plain HTTP on loopback (`--plain-http`), for a proxy that reads
    /// the requests it passes on.
    pub fn start_plain(dir: &Path) -> Self {
        Self::start_with(dir, true)
    }

    fn start_with(dir: &Path, plain: bool) -> Self {
        let database = dir.join("server.db");
        let mut server = Self {
            database,
            url: String::new(),
            fingerprint: None,
            plain,
            child: None,
        };
        server.launch("127.0.0.1:0");
        server
    }

    fn launch(&mut self, listen: &str) {
        let mut command = Command::new(server_binary());
        command
            .args(["serve", "--database"])
            .arg(&self.database)
            .args(["--listen", listen]);
        if self.plain {
            command.arg("--plain-http");
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start conference-sync");
        let stdout = child.stdout.take().expect("stdout");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("read the listening line");
        // `listening on URL [certificate-sha256 HEX]`
        let words: Vec<&str> = first.split_whitespace().collect();
        match words.as_slice() {
            ["listening", "on", url, rest @ ..] => {
                self.url = (*url).to_string();
                self.fingerprint = match rest {
                    ["certificate-sha256", sha256] => Some((*sha256).to_string()),
                    _ => None,
                };
            }
            _ => panic!("unexpected first line from the server: {first:?}"),
        }
        self.child = Some(child);
    }

    /// Kills the server with SIGKILL (no graceful shutdown) and waits for it to be gone.
    pub fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
        }
    }

    /// Starts the server again on the same database and the same address.
    pub fn restart(&mut self) {
        self.kill_9();
        let address = self
            .url
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .to_string();
        self.launch(&address);
    }

    /// The enrollment code of a device whose token this server knows (a V1 fixture's).
    pub fn code_for(&self, token: &str) -> String {
        conference_app::conference_protocol::enrollment::Enrollment {
            server: self.url.clone(),
            token: token.to_string(),
            sha256: self.fingerprint.clone(),
        }
        .encode()
    }

    /// Where and how a device with `token` reaches this server.
    pub fn link(&self, token: &str) -> conference_app::ServerLink {
        conference_app::ServerLink {
            url: self.url.clone(),
            token: token.to_string(),
            pin: self.fingerprint.clone(),
            insecure_http: false,
        }
    }

    pub fn add_device(&self, name: &str, role: &str, conferences: &[&str]) -> DeviceToken {
        let mut command = Command::new(server_binary());
        command
            .args(["device", "add", "--database"])
            .arg(&self.database)
            .args([
                "--name", name, "--role", role, "--server", &self.url, "--json",
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
        DeviceToken {
            device_id: value["device_id"].as_str().expect("device_id").to_string(),
            token: value["token"].as_str().expect("token").to_string(),
            code: value["enrollment_code"]
                .as_str()
                .expect("enrollment_code")
                .to_string(),
        }
    }

    pub fn admin(&self, args: &[&str]) -> serde_json::Value {
        let output = Command::new(server_binary())
            .args(args)
            .arg("--database")
            .arg(&self.database)
            .arg("--json")
            .output()
            .expect("admin command");
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("admin --json")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM-like stop is not needed for tests; make sure nothing is left running.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
