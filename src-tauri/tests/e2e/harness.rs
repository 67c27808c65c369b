//! Drives the real desktop window: an Xvfb display of its own, `tauri-driver` in front of
//! Debian's `WebKitWebDriver`, and a WebDriver session whose application is the built
//! binary with a data folder and store of its own. Sessions run one at a time.
//!
//! Everything is stopped with SIGTERM, never SIGKILL: a killed tauri-driver orphans its
//! WebKitWebDriver child, which then holds the test's output open.
use conference_testkit::sync_server::{self, Serving};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use thirtyfour::prelude::*;

pub const APP: &str = env!("CARGO_BIN_EXE_conference-desktop");

/// One window at a time: WebKit sessions share the machine's two cores badly.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long anything may take before the test says what it was waiting for.
pub const PATIENCE: Duration = Duration::from_secs(45);

/// The right to open windows: one test at a time holds it, for one or more windows.
pub struct Turn(#[allow(dead_code)] tokio::sync::MutexGuard<'static, ()>);

/// Waits until no other test has windows open.
pub async fn turn() -> std::sync::Arc<Turn> {
    std::sync::Arc::new(Turn(ONE_AT_A_TIME.lock().await))
}

pub struct Session {
    pub driver: Option<WebDriver>,
    _data: tempfile::TempDir,
    pub started: Instant,
    tauri_driver: Child,
    xvfb: Child,
    _turn: std::sync::Arc<Turn>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

fn terminate(child: &mut Child, what: &str) {
    if conference_testkit::process::terminate(child, Duration::from_secs(15)).is_none() {
        eprintln!("e2e: {what} did not stop after SIGTERM within 15 s");
    }
}

/// Whether WebKitWebDriver lost an element to a re-render (the page replaced it while the
/// driver found, read or clicked it): the element is looked up again.
fn is_stale(error: &WebDriverError) -> bool {
    matches!(
        **error,
        thirtyfour::error::WebDriverErrorInner::StaleElementReference(_)
    )
}

/// Waits until `check` holds, or fails with `what` after `PATIENCE`.
pub fn wait_sync(what: &str, check: impl FnMut() -> bool) {
    conference_testkit::process::wait_until(what, PATIENCE, check);
}

/// Starts Xvfb on a display number nobody uses and waits for its socket.
fn start_xvfb() -> (Child, String) {
    let base = 90 + (std::process::id() % 50);
    for n in base..base + 100 {
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        let lock = PathBuf::from(format!("/tmp/.X{n}-lock"));
        if socket.exists() || lock.exists() {
            continue;
        }
        let mut child = Command::new("Xvfb")
            .args([
                &format!(":{n}"),
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is installed (cargo xtask test installs it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if socket.exists() {
                return (child, format!(":{n}"));
            }
            if let Ok(Some(_)) = child.try_wait() {
                break; // lost a race for this display; try the next one
            }
            assert!(Instant::now() < deadline, "e2e: Xvfb :{n} did not start");
            std::thread::park_timeout(Duration::from_millis(25));
        }
    }
    panic!("e2e: no free X display between :{base} and :{}", base + 100);
}

/// The sync server for tests that need one: the `conference-sync` binary the workspace
/// builds (its own integration tests make cargo build it) as a child process on 127.0.0.1
/// with its own SQLite file (`conference_testkit::sync_server::Serving`), stopped with
/// SIGTERM and started again on the same address.
pub struct SyncServer {
    pub database: PathBuf,
    pub url: String,
    process: Option<Serving>,
    _dir: tempfile::TempDir,
}

fn sync_server_binary() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let binary = tmp
        .parent()
        .map_or_else(|| tmp.clone(), Path::to_path_buf)
        .join("debug/conference-sync");
    assert!(
        binary.exists(),
        "e2e: {} is missing; `cargo test --workspace` builds it (or `cargo build -p conference-sync-server`)",
        binary.display()
    );
    binary
}

impl SyncServer {
    pub fn start() -> SyncServer {
        let dir = tempfile::tempdir().expect("a folder for the server's database");
        let mut server = SyncServer {
            database: dir.path().join("server.db"),
            url: String::new(),
            process: None,
            _dir: dir,
        };
        server.launch("127.0.0.1:0");
        server
    }

    fn launch(&mut self, listen: &str) {
        let process = Serving::start(
            sync_server::command(&sync_server_binary()),
            &self.database,
            listen,
            &[],
        );
        // `listening on https://ADDRESS certificate-sha256 HEX`: TLS, as at a venue.
        self.url.clone_from(&process.url);
        assert!(self.url.starts_with("https://"), "e2e: {}", self.url);
        self.process = Some(process);
    }

    /// Stops the server (SIGTERM: it finishes requests in flight) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            if process.terminate(Duration::from_secs(15)).is_none() {
                eprintln!("e2e: conference-sync did not stop after SIGTERM within 15 s");
            }
            let _ = process.child.wait();
        }
    }

    /// Starts it again on the same database and address.
    pub fn restart(&mut self) {
        self.stop();
        let address = self.url.trim_start_matches("https://").to_string();
        self.launch(&address);
    }

    /// Registers a device the way the admin does; returns its enrollment code.
    pub fn add_device(&self, name: &str, role: &str, conferences: &[&str]) -> String {
        sync_server::add_device(
            &sync_server_binary(),
            &self.database,
            &self.url,
            name,
            role,
            conferences,
        )
        .code
    }
}

impl Drop for SyncServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where screenshots go: `target/screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp
        .parent()
        .map_or_else(|| tmp.clone(), Path::to_path_buf)
        .join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

impl Session {
    /// Opens the app with a fresh data folder. `prepare` may fill its store first.
    pub async fn start(prepare: impl FnOnce(&Path)) -> Session {
        let turn = turn().await;
        let data = tempfile::tempdir().expect("a temporary data folder");
        let store = data.path().join("store.db");
        prepare(&store);
        Self::open(turn, data, &store, "Test door").await
    }

    /// Opens the app on `store` (set up by the test) while the test holds `turn`; several
    /// windows may be open in one turn, each on a display of its own.
    pub async fn start_on(turn: &std::sync::Arc<Turn>, store: &Path, device_name: &str) -> Session {
        let data = tempfile::tempdir().expect("a temporary data folder");
        Self::open(std::sync::Arc::clone(turn), data, store, device_name).await
    }

    async fn open(
        turn: std::sync::Arc<Turn>,
        data: tempfile::TempDir,
        store: &Path,
        device_name: &str,
    ) -> Session {
        let (xvfb, display) = start_xvfb();
        let (port, native_port) = (free_port(), free_port());
        let tauri_driver = Command::new("tauri-driver")
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
                "--native-driver",
                "/usr/bin/WebKitWebDriver",
            ])
            .env("DISPLAY", &display)
            .env("XDG_DATA_HOME", data.path().join("xdg"))
            .env("CONFERENCE_STORE", store)
            .env("CONFERENCE_DEVICE_NAME", device_name)
            // Background syncs come from the server's live feed; a 30 s poll would hide a
            // feed that does not work.
            .env("CONFERENCE_SYNC_SECONDS", "3600")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver is installed (cargo xtask test installs it)");
        // Both ports must answer: tauri-driver's alone races its WebKitWebDriver.
        wait_sync("tauri-driver and WebKitWebDriver to listen", || {
            [port, native_port]
                .iter()
                .all(|p| TcpStream::connect(("127.0.0.1", *p)).is_ok())
        });
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), serde_json::json!("wry"));
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": APP }),
        );
        let started = Instant::now();
        let driver = WebDriver::new(format!("http://127.0.0.1:{port}"), caps)
            .await
            .expect("a WebDriver session on the app");
        Session {
            driver: Some(driver),
            _data: data,
            started,
            tauri_driver,
            xvfb,
            _turn: turn,
        }
    }

    pub fn driver(&self) -> &WebDriver {
        self.driver.as_ref().expect("an open session")
    }

    /// The first element matching `css`, once it is there.
    pub async fn find(&self, css: &str) -> WebElement {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self
                .driver()
                .query(By::Css(css))
                .wait(PATIENCE, Duration::from_millis(50))
                .first()
                .await
            {
                Ok(element) => return element,
                Err(e) if is_stale(&e) && Instant::now() < deadline => {}
                Err(e) => panic!("e2e: no element `{css}`: {e}"),
            }
        }
    }

    /// Waits until `css` matches nothing. An element that goes stale while it is being
    /// looked at is on its way out: look again (within `PATIENCE`).
    pub async fn gone(&self, css: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self
                .driver()
                .query(By::Css(css))
                .wait(PATIENCE, Duration::from_millis(50))
                .not_exists()
                .await
            {
                Ok(gone) => {
                    assert!(gone, "e2e: `{css}` did not go away");
                    return;
                }
                Err(e) if is_stale(&e) && Instant::now() < deadline => {}
                Err(e) => panic!("e2e: could not look for `{css}`: {e}"),
            }
        }
    }

    /// Waits until the text of `css` satisfies `check`, and returns it. The waiting is
    /// WebDriver's own query waiter, bounded by `PATIENCE`.
    pub async fn text_until(
        &self,
        css: &str,
        check: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> String {
        let deadline = Instant::now() + PATIENCE;
        let check = std::sync::Arc::new(check);
        let last = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        loop {
            let (check, seen) = (check.clone(), last.clone());
            let found = self
                .driver()
                .query(By::Css(css))
                .wait(
                    deadline.saturating_duration_since(Instant::now()),
                    Duration::from_millis(50),
                )
                .with_filter(move |element: WebElement| {
                    let check = check.clone();
                    let seen = seen.clone();
                    async move {
                        let text = match element.text().await {
                            Ok(text) => text,
                            // Re-rendered while being read: look again at the next poll.
                            Err(e) if is_stale(&e) => return Ok(false),
                            Err(e) => return Err(e),
                        };
                        let matches = check(&text);
                        if let Ok(mut last) = seen.lock() {
                            *last = text;
                        }
                        Ok(matches)
                    }
                })
                .first()
                .await;
            match found.map(|element| async move { element.text().await }) {
                Ok(text) => match text.await {
                    Ok(text) => return text,
                    Err(e) if is_stale(&e) && Instant::now() < deadline => {}
                    Err(e) => panic!("e2e: could not read `{css}`: {e}"),
                },
                Err(e) if is_stale(&e) && Instant::now() < deadline => {}
                Err(_) => panic!(
                    "e2e: `{css}` never showed the expected text; last it said {:?}",
                    last.lock().map(|l| l.clone()).unwrap_or_default()
                ),
            }
        }
    }

    /// Clicks `css` once it is there and enabled.
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let clicked = match self
                .driver()
                .query(By::Css(css))
                .wait(PATIENCE, Duration::from_millis(50))
                .and_enabled()
                .first()
                .await
            {
                Ok(element) => element.click().await,
                Err(e) => Err(e),
            };
            match clicked {
                Ok(()) => return,
                // Re-rendered between finding and clicking: the click did not happen.
                Err(e) if is_stale(&e) && Instant::now() < deadline => {}
                Err(e) => panic!("e2e: could not click `{css}` (there and enabled): {e}"),
            }
        }
    }

    /// Replaces the text of an input.
    pub async fn type_into(&self, css: &str, text: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let element = self.find(css).await;
            let typed = match element.clear().await {
                Ok(()) => element.send_keys(text).await,
                Err(e) => Err(e),
            };
            match typed {
                Ok(()) => return,
                Err(e) if is_stale(&e) && Instant::now() < deadline => {}
                Err(e) => panic!("e2e: could not type into `{css}`: {e}"),
            }
        }
    }

    /// Saves what the window shows as `target/screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) {
        // Wait until what the DOM holds now has been painted (two animation frames).
        self.driver()
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                Vec::new(),
            )
            .await
            .expect("wait for a painted frame");
        let png = self
            .driver()
            .screenshot_as_png()
            .await
            .expect("a screenshot of the window");
        std::fs::write(screenshot_dir().join(format!("{name}.png")), png).expect("save it");
    }

    /// Peak resident memory of the app and its WebKit processes, in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        let mut total_kib = 0u64;
        for pid in app_processes() {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
                total_kib += line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
        total_kib as f64 / 1024.0
    }

    pub async fn stop(mut self) {
        if let Some(driver) = self.driver.take() {
            let _ = driver.quit().await;
        }
        terminate(&mut self.tauri_driver, "tauri-driver");
        terminate(&mut self.xvfb, "Xvfb");
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // A failed test still stops what it started (the driver session ends with them).
        terminate(&mut self.tauri_driver, "tauri-driver");
        terminate(&mut self.xvfb, "Xvfb");
    }
}

/// The app's processes: the binary itself and everything it started (WebKit's web and
/// network processes).
fn app_processes() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut parents: Vec<(u32, u32)> = Vec::new();
    let mut roots = Vec::new();
    let app = std::fs::canonicalize(APP).unwrap_or_else(|_| PathBuf::from(APP));
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == app) {
            roots.push(pid);
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if let Some((_, rest)) = stat.rsplit_once(')')
            && let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok())
        {
            parents.push((pid, ppid));
        }
    }
    let mut all = roots.clone();
    let mut i = 0;
    while i < all.len() {
        let parent = all[i];
        for (pid, ppid) in &parents {
            if *ppid == parent && !all.contains(pid) {
                all.push(*pid);
            }
        }
        i += 1;
    }
    all
}
