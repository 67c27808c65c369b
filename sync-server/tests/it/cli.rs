//! The `conference-sync` binary: admin commands, and serving until SIGTERM.
use crate::helpers::DEADLINE;
use serde_json::Value;
use std::process::Command;

pub(crate) fn binary() -> Command {
    conference_testkit::sync_server::command(std::path::Path::new(env!(
        "CARGO_BIN_EXE_conference-sync"
    )))
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
    let mut serving = serve(&db, &["--plain-http"]);
    let url = serving.url.clone();
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
        .args(["-TERM", &serving.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = serving.child.try_wait().unwrap() {
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

/// The server process: `conference_testkit::sync_server::Serving`.
pub(crate) use conference_testkit::sync_server::Serving;

/// A server started with `args` on a free port of 127.0.0.1 (TLS unless they say
/// otherwise).
pub(crate) fn serve(db: &std::path::Path, args: &[&str]) -> Serving {
    serve_with(binary(), db, args)
}

/// Starts `command` (the binary, or a shell that sets limits first and runs it).
pub(crate) fn serve_with(command: Command, db: &std::path::Path, args: &[&str]) -> Serving {
    Serving::start(command, db, "127.0.0.1:0", args)
}

fn link(serving: &Serving, pin: Option<&str>) -> conference_app::ServerLink {
    conference_app::ServerLink {
        url: serving.url.clone(),
        token: "none".into(),
        pin: pin.map(String::from),
        insecure_http: false,
    }
}

/// `/healthz` through a device's client that trusts what `pin` says.
fn health(serving: &Serving, pin: Option<&str>) -> Result<u16, conference_app::sync::SyncError> {
    let client = conference_app::http::client(
        &link(serving, pin),
        reqwest::blocking::Client::builder().timeout(DEADLINE),
    )?;
    client
        .get(format!("{}/healthz", serving.url))
        .send()
        .map(|r| r.status().as_u16())
        .map_err(|e| conference_app::http::not_sent(&e))
}

/// With no certificate given, the server makes one on its first start, beside its
/// database, prints its fingerprint on the first line, and serves the same one on every
/// start after; a device pinned to it is served, one pinned to another is refused, and so
/// is one that would trust the public authorities only.
#[test]
fn serve_makes_its_certificate_once_and_devices_pin_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let first = serve(&db, &[]);
    assert!(first.url.starts_with("https://127.0.0.1:"), "{}", first.url);
    let pin = first
        .fingerprint
        .clone()
        .expect("a fingerprint on the first line");
    assert_eq!(health(&first, Some(&pin)).expect("pinned"), 200);
    let other = "0".repeat(64);
    let refused = health(&first, Some(&other)).expect_err("another pin");
    assert!(
        matches!(&refused, conference_app::sync::SyncError::Untrusted(why)
            if why.contains("other than the one this device was enrolled with")),
        "{refused:?}"
    );
    assert!(
        health(&first, None).is_err(),
        "a self-signed certificate is no authority's"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let key = dir.path().join("conference-sync-key.pem");
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key is its owner's only");
    }
    drop(first);
    let again = serve(&db, &[]);
    assert_eq!(again.fingerprint.as_deref(), Some(pin.as_str()));
    drop(again);

    // A certificate given with --tls-cert/--tls-key is served as it is.
    let other_db = dir.path().join("other.db");
    let given = serve(
        &other_db,
        &[
            "--tls-cert",
            dir.path()
                .join("conference-sync-cert.pem")
                .to_str()
                .unwrap(),
            "--tls-key",
            dir.path().join("conference-sync-key.pem").to_str().unwrap(),
        ],
    );
    assert_eq!(given.fingerprint.as_deref(), Some(pin.as_str()));
    assert_eq!(health(&given, Some(&pin)).expect("pinned"), 200);
}

/// Plain HTTP is served on loopback only when asked for, and beyond it only when the
/// operator insists (`--insecure-http`).
#[test]
fn plain_http_beyond_this_machine_needs_insisting() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let out = binary()
        .args([
            "serve",
            "--plain-http",
            "--listen",
            "0.0.0.0:0",
            "--database",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("--insecure-http"), "{said}");
    let plain = serve(&db, &["--plain-http"]);
    assert!(plain.url.starts_with("http://127.0.0.1:"), "{}", plain.url);
    assert_eq!(plain.fingerprint, None);
    assert_eq!(health(&plain, None).expect("loopback"), 200);
}

/// `device add --server` prints the enrollment code: the address, the token and the
/// fingerprint of the certificate the server serves; before the server made one, it says
/// how to get one.
#[test]
fn device_add_prints_an_enrollment_code_that_pins_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let add = |server: &str| {
        binary()
            .args(["device", "add", "--database"])
            .arg(&db)
            .args([
                "--name", "Door", "--role", "door", "--server", server, "--json",
            ])
            .output()
            .unwrap()
    };
    let early = add("https://10.0.0.5:8443");
    assert!(!early.status.success());
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("start the server once"),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );
    let serving = serve(&db, &[]);
    let out = add(&serving.url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    let code = added["enrollment_code"].as_str().expect("a code");
    let enrollment = conference_protocol::enrollment::Enrollment::decode(code).unwrap();
    assert_eq!(enrollment.server, serving.url);
    assert_eq!(enrollment.token, added["token"].as_str().unwrap());
    assert_eq!(enrollment.sha256, serving.fingerprint);
}
