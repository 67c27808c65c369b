//! A real sync server for tests: the `conference-sync` binary (built in this package as
//! `conference-sync-under-test`) on 127.0.0.1 with its own SQLite file, killable at will.
//! It serves TLS with the certificate it makes beside its database, as at a venue; devices
//! enroll with the code `device add --server` prints, which pins that certificate. Tests
//! whose proxy reads HTTP start it with plain HTTP instead. The process itself is
//! `conference_testkit::sync_server::Serving`; this file adds the database, the restart on
//! the same address and this crate's admin calls.
#![allow(dead_code)]

use conference_testkit::sync_server::{self, Serving};
use std::path::{Path, PathBuf};

/// A device the server knows: its id, its token and its enrollment code.
pub use conference_testkit::sync_server::Enrolled as DeviceToken;

pub fn server_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_conference-sync-under-test"))
}

pub struct Server {
    pub database: PathBuf,
    pub url: String,
    /// The certificate's SHA-256 it printed (none over plain HTTP).
    pub fingerprint: Option<String>,
    plain: bool,
    process: Option<Serving>,
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
            process: None,
        };
        server.launch("127.0.0.1:0");
        server
    }

    fn launch(&mut self, listen: &str) {
        let args: &[&str] = if self.plain { &["--plain-http"] } else { &[] };
        let process = Serving::start(
            sync_server::command(&server_binary()),
            &self.database,
            listen,
            args,
        );
        self.url.clone_from(&process.url);
        self.fingerprint.clone_from(&process.fingerprint);
        self.process = Some(process);
    }

    /// Kills the server with SIGKILL (no graceful shutdown) and waits for it to be gone.
    pub fn kill_9(&mut self) {
        if let Some(process) = self.process.take() {
            process.kill_9();
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
        conference_protocol::enrollment::Enrollment {
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
        sync_server::add_device(
            &server_binary(),
            &self.database,
            &self.url,
            name,
            role,
            conferences,
        )
    }

    pub fn admin(&self, args: &[&str]) -> serde_json::Value {
        let output = sync_server::command(&server_binary())
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
