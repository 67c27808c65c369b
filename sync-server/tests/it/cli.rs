//! The `conference-sync` binary: admin commands, and serving until SIGTERM.
use crate::helpers::DEADLINE;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_conference-sync"));
    command.env_remove("CONFERENCE_SYNC_DATABASE");
    command
}

#[test]
fn admin_commands_add_list_and_revoke_devices() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let out = binary()
        .args(["device", "add", "--database"])
        .arg(&db)
        .args([
            "--name",
            "Door 1",
            "--role",
            "door",
            "--conference",
            "DevConf",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = added["token"].as_str().unwrap();
    assert_eq!(token.len(), 64);
    let id = added["device_id"].as_str().unwrap();

    let out = binary()
        .args(["device", "list", "--json", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["device_id"], id);
    assert_eq!(list[0]["role"], "door");
    assert_eq!(list[0]["conferences"], serde_json::json!(["devconf"]));
    assert_eq!(list[0]["revoked"], false);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(token),
        "tokens are never shown again"
    );

    let out = binary()
        .args(["device", "revoke", id, "--database"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = binary()
        .args(["device", "list", "--json", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["revoked"], true);

    let out = binary()
        .args([
            "device",
            "add",
            "--name",
            "x",
            "--role",
            "cashier",
            "--database",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());

    // A device registered under the id its store already has; only once.
    let own = uuid::Uuid::now_v7().to_string();
    for expect_success in [true, false] {
        let out = binary()
            .args([
                "device",
                "add",
                "--name",
                "Door 2",
                "--role",
                "back-office",
                "--json",
            ])
            .args(["--device-id", &own, "--database"])
            .arg(&db)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), expect_success, "{stderr}");
        if expect_success {
            let added: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(added["device_id"], own);
        } else {
            assert!(stderr.contains("already registered"), "{stderr}");
        }
    }

    let out = binary()
        .args(["reconciliation", "list", "--json", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        serde_json::json!([])
    );
}

#[test]
fn serve_prints_the_bound_address_first_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let mut child = binary()
        .args(["serve", "--listen", "127.0.0.1:0", "--database"])
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first}"))
        .to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );
    let health: Value = reqwest::blocking::get(format!("{url}/healthz"))
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert!(db.exists(), "the database was created");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not stop"
        );
        std::thread::yield_now();
    };
    assert!(status.success(), "{status:?}");
}
