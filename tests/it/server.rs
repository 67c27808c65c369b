//! A real sync server for tests: the `conference-sync` binary (built in this package as
//! `conference-sync-under-test`) on 127.0.0.1 with its own SQLite file, killable at will.
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
    child: Option<Child>,
}

/// A device the server knows: its id and its token.
#[derive(Clone, Debug)]
pub struct DeviceToken {
    pub device_id: String,
    pub token: String,
}

impl Server {
    /// Starts a server on a fresh port with the database in `dir`.
    pub fn start(dir: &Path) -> Self {
        let database = dir.join("server.db");
        let mut server = Self {
            database,
            url: String::new(),
            child: None,
        };
        server.launch("127.0.0.1:0");
        server
    }

    fn launch(&mut self, listen: &str) {
        let mut child = Command::new(server_binary())
            .args(["serve", "--database"])
            .arg(&self.database)
            .args(["--listen", listen])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start conference-sync");
        let stdout = child.stdout.take().expect("stdout");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("read the listening line");
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the server: {first:?}"))
            .to_string();
        self.url = url;
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
        let address = self.url.trim_start_matches("http://").to_string();
        self.launch(&address);
    }

    pub fn add_device(&self, name: &str, role: &str, conferences: &[&str]) -> DeviceToken {
        let mut command = Command::new(server_binary());
        command
            .args(["device", "add", "--database"])
            .arg(&self.database)
            .args(["--name", name, "--role", role, "--json"]);
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
