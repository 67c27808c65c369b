//! Sections 5 to 7 of `cargo xtask bench`: the sync server with 20 devices at once.
//!
//! The `conference-sync` release binary runs as a child process on 127.0.0.1, so its CPU
//! time and peak memory are its own, with its SQLite file next to the devices' stores. An
//! organizer creates a conference; each of 20 doors takes an allotment while online, then
//! sells offline (these stores are built with `synchronous=OFF`, then reopened with
//! `FULL`). Then:
//! 5. ingest: the server's own rate. Each door's push requests are built from its store
//!    exactly as its sync would send them ([`PUSH_BATCH`] commands each), before the clock
//!    starts; then 20 clients, one per door with its own connection and one request in
//!    flight, send them all at once to a second server process on a copy of the server's
//!    file. The events stored over the wall time until the last answer is the ingest. On
//!    this 2-core machine the devices would otherwise share the cores with the server
//!    (their own store work costs about as much CPU as the server's), which real doors on
//!    their own laptops do not; that run is section 7, and its push phase is shown too;
//! 6. the raw baseline: the very rows the server stored in 5, written again into a bare
//!    SQLite file with the server's schema, one transaction per push request of the same
//!    size (WAL, `synchronous=FULL`), right after 5 with that server stopped;
//! 7. convergence: every door syncs once, all starting together, each on its own thread
//!    with its own [`App`] and [`HttpTransport`] against the first server: the time until
//!    every device holds every event of the server's log, all confirmed, and the server's
//!    peak RSS (`VmHWM`). A device's first pull waits until every device has pushed, so
//!    the push phase is timed on its own.
use super::{
    Latencies, SeatPlan, Table, door_sale, initialized, ms, now, progress, release_binary, timed,
    verdict,
};
use anyhow::{Context, Result, anyhow, bail, ensure};
use conference_app::App;
use conference_app::conference_protocol::sync::{
    AllotmentRequest, AllotmentResponse, DeviceRecord, PullResponse, PushRequest, PushResponse,
    PushStatus, ReconciliationItem, SCHEMA_HEADER,
};
use conference_app::conference_store::{Durability, Store};
use conference_app::http::HttpTransport;
use conference_app::sync::{PUSH_BATCH, SyncError, Transport};
use rusqlite::types::Value;
use rusqlite::{Connection, TransactionBehavior, params_from_iter};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::ScopedJoinHandle;
use std::time::{Duration, Instant};

/// Devices that sync at once.
const DEVICES: usize = 20;
const SLUG: &str = "sync";
/// The server's ingest against the raw baseline, at least.
const TARGET_INGEST_RATIO: f64 = 0.5;
/// The server's peak resident memory, below (in MB of 10^6 bytes).
const TARGET_PEAK_RSS_MB: f64 = 150.0;
/// Runs of the raw baseline (the median counts).
const BASELINE_RUNS: usize = 3;
/// How often long phases print where they are.
const TICK: Duration = Duration::from_secs(5);
/// The server's own schema: the baseline writes the same `events` table, indexes and all.
const SERVER_SCHEMA: &str = include_str!("../../../migrations/server/0001_initial.sql");
const EVENT_COLUMNS: &str = "stream_key, stream_version, conference_id, event_type, schema_version, payload, command_id, device_id, recorded_at";

/// What section 9 compares PostgreSQL with: the SQLite server of section 7 (the devices' own
/// sync).
pub(super) struct SqliteServer {
    binary: PathBuf,
    ingest: Ingest,
}

/// Builds and starts the server, runs the sync, and adds sections 5 to 7 to `table`.
pub(super) fn run(dir: &Path, sales: u64, table: &mut Table) -> Result<Option<SqliteServer>> {
    progress(format_args!("5-7/9 sync server: building conference-sync"));
    let binary = match release_binary("conference-sync-server", "conference-sync") {
        Ok(binary) => binary,
        Err(note) => {
            table.section(&format!("5-7. Sync server: {note}"));
            return Ok(None);
        }
    };
    let sqlite = measure(dir, &binary, sales)?;
    sqlite.report(table);
    Ok(Some(SqliteServer {
        binary,
        ingest: Ingest::of(&sqlite.sync),
    }))
}

/// Everything sections 5 to 7 print.
struct SyncRun {
    sales: u64,
    /// Section 5: the doors' push requests sent by plain clients.
    ingest: SyncAll,
    /// Transactions the ingest server committed.
    commits: i64,
    baseline: Latencies,
    /// The CPU time of each baseline run (this process), when there is `/proc`.
    baseline_cpu: Option<Latencies>,
    /// Section 7: the devices syncing themselves.
    sync: SyncAll,
    head: i64,
}

fn measure(dir: &Path, binary: &Path, sales: u64) -> Result<SyncRun> {
    let database = dir.join("server.db");
    let servers = [ServerProcess::start(
        binary,
        database.as_os_str(),
        &dir.join("server.log"),
    )?];
    let plan = organizer(dir, &servers[0], DEVICES as u64 * sales)?;
    let doors = prepare_doors(dir, &servers, &plan, sales)?;

    let copy = dir.join("ingest.db");
    copy_database(&database, &copy)?;
    let requests = push_requests(&doors)?;
    let ingest_server = ServerProcess::start(binary, copy.as_os_str(), &dir.join("ingest.log"))?;
    let before = ingest_server.metrics()?;
    let ingest = push_at_once(&ingest_server, &doors, requests)?;
    let after = ingest_server.metrics()?;
    drop(ingest_server);
    let rows = stored_rows(&copy, before.head)?;
    let (baseline, baseline_cpu) = baseline(dir, &rows, &ingest.pushes)?;
    drop(rows);

    let sync = sync_all(&servers, &doors)?;
    let head = servers[0].metrics()?.head;
    check_converged(&doors, head)?;
    Ok(SyncRun {
        sales,
        ingest,
        commits: after.commits - before.commits,
        baseline,
        baseline_cpu,
        sync,
        head,
    })
}

/// A copy of the server's file as it is now (the server is idle; `VACUUM INTO` reads one
/// consistent snapshot of it anyway).
fn copy_database(from: &Path, to: &Path) -> Result<()> {
    let conn = Connection::open(from)?;
    conn.execute("VACUUM INTO ?1", [to.to_string_lossy()])
        .with_context(|| format!("could not copy {} to {}", from.display(), to.display()))?;
    Ok(())
}

/// Each door's push requests as JSON, built as its sync builds them: its pending commands
/// in order, [`PUSH_BATCH`] to a request.
fn push_requests(doors: &[Door]) -> Result<Vec<Vec<Vec<u8>>>> {
    progress(format_args!(
        "5-7/9 sync server: building the {DEVICES} doors' push requests"
    ));
    doors
        .iter()
        .map(|door| {
            let app = App::open(&door.store)?;
            let mut commands = app.store().pending_pushes(1_000_000)?;
            let mut bodies = Vec::new();
            while !commands.is_empty() {
                let rest = commands.split_off(commands.len().min(PUSH_BATCH));
                bodies.push(serde_json::to_vec(&PushRequest { commands })?);
                commands = rest;
            }
            Ok(bodies)
        })
        .collect()
}

/// Section 5: one client per door sends that door's requests in order, one in flight,
/// all doors starting together.
fn push_at_once(
    server: &ServerProcess,
    doors: &[Door],
    requests: Vec<Vec<Vec<u8>>>,
) -> Result<SyncAll> {
    let commands: usize = requests.iter().flatten().count() * PUSH_BATCH;
    progress(format_args!(
        "5-7/9 sync server: {DEVICES} clients push about {commands} commands at once"
    ));
    let servers = std::slice::from_ref(server);
    let start = Barrier::new(doors.len() + 1);
    std::thread::scope(|s| {
        let start = &start;
        let workers: Vec<_> = doors
            .iter()
            .zip(requests)
            .map(|(door, bodies)| s.spawn(move || send_pushes(&server.url, door, bodies, start)))
            .collect();
        start.wait();
        let began = Instant::now();
        let at_start = checkpoint(servers);
        let runs = workers
            .into_iter()
            .map(joined)
            .collect::<Result<Vec<_>>>()?;
        let finished = runs
            .iter()
            .map(|run| run.finished)
            .max()
            .context("no door pushed")?;
        let at_end = checkpoint(servers);
        Ok(SyncAll {
            push_phase: finished - began,
            converged: finished - began,
            pushes: runs.into_iter().flat_map(|run| run.pushes).collect(),
            checkpoints: [at_start, at_end, at_end],
        })
    })
}

/// One door's requests, in order, each answered before the next goes out.
fn send_pushes(url: &str, door: &Door, bodies: Vec<Vec<u8>>, start: &Barrier) -> Result<DeviceRun> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build();
    let reads = serde_json::to_string(&conference_domain::aggregate::schema_versions());
    start.wait();
    let (client, reads) = (client?, reads?);
    let push_url = format!("{url}/v1/push");
    let mut pushes = Vec::with_capacity(bodies.len());
    for body in bodies {
        let began = Instant::now();
        let response = client
            .post(&push_url)
            .bearer_auth(&door.token)
            .header(SCHEMA_HEADER, &reads)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()?;
        let status = response.status();
        let answer = response.bytes()?;
        let latency = began.elapsed();
        ensure!(
            status.is_success(),
            "{}: the server answered a push with {status}: {}",
            door.name,
            String::from_utf8_lossy(&answer)
        );
        let answer: PushResponse = serde_json::from_slice(&answer)?;
        ensure!(
            answer
                .results
                .iter()
                .all(|r| r.status == PushStatus::Applied),
            "{}: the server did not apply every command as written",
            door.name
        );
        pushes.push(PushSample {
            latency,
            commands: answer.results.len() as u64,
            events: answer
                .results
                .iter()
                .map(|r| r.positions.len() as u64)
                .sum(),
        });
    }
    Ok(DeviceRun {
        pushes,
        finished: Instant::now(),
    })
}

// ---------------------------------------------------------------- 9. on PostgreSQL

/// How many server instances section 9 runs on one PostgreSQL database, in turn.
const POSTGRES_INSTANCES: [usize; 2] = [1, 2];

/// The ingest of one run: events pushed over the push phase, and what it cost the server
/// processes.
pub(super) struct Ingest {
    events: u64,
    push_phase: Duration,
    converged: Duration,
    server_cpu: Option<Duration>,
}

impl Ingest {
    fn of(sync: &SyncAll) -> Self {
        let [start, pushed, _] = &sync.checkpoints;
        Self {
            events: sync.pushes.iter().map(|p| p.events).sum(),
            push_phase: sync.push_phase,
            converged: sync.converged,
            server_cpu: start
                .server
                .zip(pushed.server)
                .map(|(from, to)| to.cpu.saturating_sub(from.cpu)),
        }
    }

    fn per_second(&self) -> f64 {
        self.events as f64 / self.push_phase.as_secs_f64()
    }

    fn cpu_per_event(&self) -> String {
        self.server_cpu.map_or_else(
            || "n/a".into(),
            |cpu| format!("{:.1} µs", cpu.as_secs_f64() * 1e6 / self.events as f64),
        )
    }
}

/// Section 9: the same 20 devices and sales on PostgreSQL, with 1 and then 2 server
/// instances on one database (doors split between them), next to the SQLite server.
pub(super) fn run_postgres(
    dir: &Path,
    sqlite: &SqliteServer,
    sales: u64,
    table: &mut Table,
) -> Result<()> {
    progress(format_args!("9/9 PostgreSQL: starting a database"));
    let database = crate::postgres::test_database()?;
    progress(format_args!("9/9 PostgreSQL: {}", database.describe()));
    let mut runs = Vec::new();
    for instances in POSTGRES_INSTANCES {
        let name = format!("conference_bench_{instances}_{}", std::process::id());
        psql(database.url(), &format!("DROP DATABASE IF EXISTS {name}"))?;
        psql(database.url(), &format!("CREATE DATABASE {name}"))?;
        let url = with_database_name(database.url(), &name);
        let run_dir = dir.join(format!("postgres-{instances}"));
        std::fs::create_dir_all(&run_dir)?;
        let measured = measure_on_postgres(&run_dir, &sqlite.binary, &url, instances, sales);
        psql(
            database.url(),
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )?;
        runs.push((instances, measured?));
    }
    table.section(&format!(
        "9. Sync server on PostgreSQL ({}): {DEVICES} devices push {sales} offline sales each at once (their own sync, as in section 7), next to the SQLite server of section 7",
        database.describe()
    ));
    let row = |table: &mut Table, label: &str, ingest: &Ingest| {
        table.row(
            &format!("{label}: events/s (push phase), server CPU per event"),
            &format!(
                "{:.0} ({}), {}",
                ingest.per_second(),
                secs(ingest.push_phase),
                ingest.cpu_per_event()
            ),
            "",
        );
    };
    row(table, "SQLite, 1 instance", &sqlite.ingest);
    for (instances, ingest) in &runs {
        row(
            table,
            &format!(
                "PostgreSQL, {instances} instance{}",
                if *instances == 1 { "" } else { "s" }
            ),
            ingest,
        );
    }
    let converged: Vec<String> = std::iter::once(&sqlite.ingest)
        .chain(runs.iter().map(|(_, ingest)| ingest))
        .map(|ingest| secs(ingest.converged))
        .collect();
    table.row(
        "all devices converged after: SQLite / PostgreSQL 1 / 2 instances",
        &converged.join(" / "),
        "",
    );
    Ok(())
}

fn measure_on_postgres(
    dir: &Path,
    binary: &Path,
    url: &str,
    instances: usize,
    sales: u64,
) -> Result<Ingest> {
    progress(format_args!(
        "9/9 PostgreSQL: {instances} server instance(s) on one database"
    ));
    let servers = (0..instances)
        .map(|n| {
            ServerProcess::start(
                binary,
                OsStr::new(url),
                &dir.join(format!("server-{n}.log")),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let plan = organizer(dir, &servers[0], DEVICES as u64 * sales)?;
    let doors = prepare_doors(dir, &servers, &plan, sales)?;
    let sync = sync_all(&servers, &doors)?;
    // The head as the first instance heard it from every writer.
    let head = servers[0].metrics()?.head;
    check_converged(&doors, head)?;
    Ok(Ingest::of(&sync))
}

/// Runs one statement with `psql` (it comes with Debian's PostgreSQL).
fn psql(url: &str, sql: &str) -> Result<()> {
    let output = Command::new("psql")
        .args([
            "--no-psqlrc",
            "--quiet",
            "-v",
            "ON_ERROR_STOP=1",
            url,
            "-c",
            sql,
        ])
        .output()
        .context("could not run psql")?;
    ensure!(
        output.status.success(),
        "psql `{sql}` failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

/// `url` naming database `name` instead of its own.
fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = base[scheme_end..]
        .find('/')
        .map_or(base, |slash| &base[..scheme_end + slash]);
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

// ---------------------------------------------------------------- the server process

/// `conference-sync serve` on a free port of 127.0.0.1; killed when dropped.
struct ServerProcess {
    binary: PathBuf,
    /// A file path or a `postgres://` URL.
    database: OsString,
    address: String,
    url: String,
    child: Child,
    /// A back-office token to read `/metrics` with (made on first use).
    monitor: std::sync::OnceLock<String>,
}

impl ServerProcess {
    fn start(binary: &Path, database: &OsStr, log: &Path) -> Result<Self> {
        let mut child = Command::new(binary)
            .args([
                "serve",
                "--plain-http",
                "--listen",
                "127.0.0.1:0",
                "--database",
            ])
            .arg(database)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log)?)
            .spawn()
            .with_context(|| format!("could not start {}", binary.display()))?;
        // Its first line says where it listens (or nothing, when it could not start).
        let mut first = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout).read_line(&mut first)?;
        }
        let Some(url) = first.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            let output = std::fs::read_to_string(log).unwrap_or_default();
            bail!("the sync server did not start: {}", output.trim());
        };
        progress(format_args!("sync server: serving on {url}"));
        Ok(Self {
            binary: binary.to_path_buf(),
            database: database.to_os_string(),
            address: url.trim_start_matches("http://").to_string(),
            url: url.to_string(),
            child,
            monitor: std::sync::OnceLock::new(),
        })
    }

    /// Registers a device with the admin command; its token.
    fn add_device(&self, name: &str, role: &str, conference: Option<&str>) -> Result<String> {
        let mut command = Command::new(&self.binary);
        command
            .args(["device", "add", "--json", "--name", name, "--role", role])
            .arg("--database")
            .arg(&self.database);
        if let Some(slug) = conference {
            command.args(["--conference", slug]);
        }
        let output = command.output().context("could not run `device add`")?;
        ensure!(
            output.status.success(),
            "`conference-sync device add` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        let added: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        added["token"]
            .as_str()
            .map(ToString::to_string)
            .context("`device add --json` printed no token")
    }

    fn metrics(&self) -> Result<ServerMetrics> {
        let token = match self.monitor.get() {
            Some(token) => token.clone(),
            None => {
                let token = self.add_device("bench metrics", "back-office", None)?;
                self.monitor.get_or_init(|| token).clone()
            }
        };
        let text = http_get(&self.address, "/metrics", &token)?;
        let value = |name: &str| {
            metric(&text, name).with_context(|| format!("the server's /metrics has no {name}"))
        };
        Ok(ServerMetrics {
            head: value("conference_sync_head_position")?,
            commits: value("conference_sync_write_batches_total")?,
            writer_busy: metric(&text, "conference_sync_writer_busy_seconds_total")
                .map(Duration::from_secs_f64),
            replay: metric(&text, "conference_sync_replay_seconds_total")
                .map(Duration::from_secs_f64),
        })
    }
}

/// What the servers (together) and this process (the devices) have used so far.
fn checkpoint(servers: &[ServerProcess]) -> Checkpoint {
    let server = servers
        .iter()
        .map(|s| usage(&s.child.id().to_string()))
        .try_fold(None::<Usage>, |sum, one| {
            let one = one?;
            Some(Some(match sum {
                None => one,
                Some(sum) => Usage {
                    cpu: sum.cpu + one.cpu,
                    peak_rss: sum.peak_rss + one.peak_rss,
                },
            }))
        })
        .flatten();
    // Older servers do not say how busy their writer was: then it is left out.
    let metrics: Vec<Option<ServerMetrics>> = servers.iter().map(|s| s.metrics().ok()).collect();
    let writer_busy = metrics
        .iter()
        .map(|m| m.as_ref()?.writer_busy)
        .sum::<Option<Duration>>();
    // Servers before the replay (issue 12) do not say how long it took.
    let replay = metrics
        .iter()
        .map(|m| m.as_ref()?.replay)
        .sum::<Option<Duration>>();
    Checkpoint {
        server,
        devices: usage("self"),
        writer_busy,
        replay,
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct ServerMetrics {
    /// The newest position in the server's log.
    head: i64,
    /// Transactions the server's writer committed (group commit: one or more requests).
    commits: i64,
    /// Time its writer spent in transactions so far.
    writer_busy: Option<Duration>,
    /// Of that, the time it spent replaying pushed commands.
    replay: Option<Duration>,
}

/// The value of an unlabelled metric in the Prometheus text.
fn metric<T: std::str::FromStr>(text: &str, name: &str) -> Option<T> {
    text.lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// A plain HTTP/1.1 GET; the body of a 200 answer.
fn http_get(address: &str, path: &str, token: &str) -> Result<String> {
    let mut stream =
        TcpStream::connect(address).with_context(|| format!("could not connect to {address}"))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .with_context(|| format!("GET {path}: not an HTTP answer"))?;
    ensure!(
        head.starts_with("HTTP/1.1 200"),
        "GET {path}: {}",
        head.lines().next().unwrap_or_default()
    );
    Ok(body.to_string())
}

/// The CPU time and peak memory of the server and of this process at one moment.
#[derive(Clone, Copy)]
struct Checkpoint {
    server: Option<Usage>,
    devices: Option<Usage>,
    /// The servers' writers' time in transactions so far (from `/metrics`).
    writer_busy: Option<Duration>,
    /// Of that, the time spent replaying pushed commands.
    replay: Option<Duration>,
}

/// A process's CPU time (user and system, all threads) and peak RSS so far.
#[derive(Clone, Copy)]
struct Usage {
    cpu: Duration,
    peak_rss: u64,
}

/// From `/proc/<pid>`; `None` where there is no such thing (not Linux).
fn usage(pid: &str) -> Option<Usage> {
    let read = |file: &str| std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok();
    Some(Usage {
        cpu: cpu_time(&read("stat")?)?,
        peak_rss: peak_rss(&read("status")?)?,
    })
}

/// User plus system time from `/proc/<pid>/stat`, counted in ticks of 1/100 s (USER_HZ).
fn cpu_time(stat: &str) -> Option<Duration> {
    // Fields after the command name, which is in parentheses: the state is field 3, the
    // user time field 14 and the system time field 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |field: usize| fields.get(field - 3)?.parse::<u64>().ok();
    Some(Duration::from_millis((ticks(14)? + ticks(15)?) * 10))
}

/// `VmHWM` from `/proc/<pid>/status`, in bytes.
fn peak_rss(status: &str) -> Option<u64> {
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

// ---------------------------------------------------------------- setting up the devices

/// A door device's store, ready to sync its offline sales.
struct Door {
    name: String,
    store: PathBuf,
    token: String,
    /// The server instance it talks to.
    url: String,
}

/// The organizer's conference with `seats` seats, synced: the server now holds the pool.
fn organizer(dir: &Path, server: &ServerProcess, seats: u64) -> Result<SeatPlan> {
    progress(format_args!(
        "5-7/9 sync server: the organizer creates a conference of {seats} seats"
    ));
    let token = server.add_device("Organizer", "organizer", None)?;
    let mut app = initialized(unsafe_app(&dir.join("organizer.db"))?)?;
    let plan = SeatPlan::create(&mut app, SLUG, seats, "100")?;
    connect(&mut app, &server.url, &token)?;
    Ok(plan)
}

/// A store with `synchronous=OFF`: only to set up throwaway stores fast.
fn unsafe_app(path: &Path) -> Result<App> {
    Ok(App::from_store(Store::open_with(path, Durability::Unsafe)?))
}

/// The bench's server on this machine, over plain HTTP (as `--plain-http` serves it).
fn link(url: &str, token: &str) -> conference_app::ServerLink {
    conference_app::ServerLink {
        url: url.to_string(),
        token: token.to_string(),
        pin: None,
        insecure_http: false,
    }
}

/// Remembers the server and token, and syncs once.
fn connect(app: &mut App, url: &str, token: &str) -> Result<HttpTransport> {
    app.connect(url, token)?;
    let transport = HttpTransport::new(&link(url, token))?;
    app.sync(&transport, chrono::Utc::now())?;
    Ok(transport)
}

/// Registers the doors, then sets them up side by side: allotments, then offline sales.
/// Door `n` talks to server instance `n % servers.len()`.
fn prepare_doors(
    dir: &Path,
    servers: &[ServerProcess],
    plan: &SeatPlan,
    sales: u64,
) -> Result<Vec<Door>> {
    let doors = (0..DEVICES)
        .map(|n| {
            let name = format!("Door {}", n + 1);
            Ok(Door {
                token: servers[0].add_device(&name, "door", Some(SLUG))?,
                store: dir.join(format!("door-{}.db", n + 1)),
                url: servers[n % servers.len()].url.clone(),
                name,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let total = DEVICES as u64 * sales;
    progress(format_args!(
        "5-7/9 sync server: {DEVICES} doors take an allotment of {sales} seats each and sell them offline"
    ));
    let sold = AtomicU64::new(0);
    let status = || {
        let sold = sold.load(Ordering::Relaxed);
        format!("5-7/9 sync server: {sold}/{total} offline sales made")
    };
    let took = timed(|| {
        with_ticker(status, || {
            std::thread::scope(|s| {
                let sold = &sold;
                let workers: Vec<_> = (0..)
                    .zip(&doors)
                    .map(|(n, door)| {
                        let sales = n * sales..(n + 1) * sales;
                        s.spawn(move || prepare_door(&door.url, plan, door, sales, sold))
                    })
                    .collect();
                workers.into_iter().try_for_each(joined)
            })
        })
    })?;
    progress(format_args!(
        "5-7/9 sync server: {total} offline sales made in {:.0} s",
        took.as_secs_f64()
    ));
    Ok(doors)
}

/// One door: connects, takes an allotment for `sales` (global sale numbers), sells them.
fn prepare_door(
    url: &str,
    plan: &SeatPlan,
    door: &Door,
    sales: Range<u64>,
    sold: &AtomicU64,
) -> Result<()> {
    let mut app = unsafe_app(&door.store)?;
    app.init(&door.name, chrono::Utc::now())?;
    let transport = connect(&mut app, url, &door.token)?;
    let seats = allotment(plan, &sales);
    let (granted, _) = app.request_allotment(&transport, &now(), &plan.slug, &seats)?;
    let granted: u64 = granted.seats.iter().map(|s| u64::from(s.quantity)).sum();
    let wanted = sales.end - sales.start;
    ensure!(
        granted == wanted,
        "{} was granted {granted} seats, not {wanted}",
        door.name
    );
    for sale in sales {
        app.sell(&now(), &door_sale(plan, sale))?;
        sold.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// The seats of the sales numbered `sales`, as seat specs (`Pass1=500`).
fn allotment(plan: &SeatPlan, sales: &Range<u64>) -> Vec<String> {
    let mut seats: BTreeMap<&str, u64> = BTreeMap::new();
    for sale in sales.clone() {
        *seats.entry(plan.seat_type_for(sale)).or_default() += 1;
    }
    seats
        .into_iter()
        .map(|(name, quantity)| format!("{name}={quantity}"))
        .collect()
}

// ---------------------------------------------------------------- 5 and 7. syncing at once

/// What the devices' syncs measured, from the moment they all started.
struct SyncAll {
    push_phase: Duration,
    converged: Duration,
    pushes: Vec<PushSample>,
    /// At the start, when the last device had pushed, and when all had converged.
    checkpoints: [Checkpoint; 3],
}

/// One push request: how long it took and what the server stored for it.
struct PushSample {
    latency: Duration,
    commands: u64,
    events: u64,
}

/// One device's sync.
struct DeviceRun {
    pushes: Vec<PushSample>,
    finished: Instant,
}

/// Every door syncs once, all starting together; their pulls begin once all have pushed.
fn sync_all(servers: &[ServerProcess], doors: &[Door]) -> Result<SyncAll> {
    progress(format_args!(
        "5-7/9 sync server: {DEVICES} devices sync at once"
    ));
    let start = Barrier::new(doors.len() + 1);
    let gate = PullGate::new(doors.len());
    let gauges = Gauges::default();
    let status = || {
        format!(
            "5-7/9 sync server: {} commands pushed, {} events pulled",
            gauges.pushed.load(Ordering::Relaxed),
            gauges.pulled.load(Ordering::Relaxed)
        )
    };
    with_ticker(status, || {
        std::thread::scope(|s| {
            let (start, gate, gauges) = (&start, &gate, &gauges);
            let workers: Vec<_> = doors
                .iter()
                .map(|door| s.spawn(move || sync_door(&door.url, door, start, gate, gauges)))
                .collect();
            start.wait();
            let began = Instant::now();
            let at_start = checkpoint(servers);
            let pushed = gate.wait_open();
            let at_pushed = checkpoint(servers);
            let runs = workers
                .into_iter()
                .map(joined)
                .collect::<Result<Vec<_>>>()?;
            let at_end = checkpoint(servers);
            let pushed = pushed.context("the devices' pulls never began")?;
            let finished = runs.iter().map(|run| run.finished).max();
            Ok(SyncAll {
                push_phase: pushed - began,
                converged: finished.context("no device synced")? - began,
                pushes: runs.into_iter().flat_map(|run| run.pushes).collect(),
                checkpoints: [at_start, at_pushed, at_end],
            })
        })
    })
}

/// Opens the door's store (`synchronous=FULL`), waits for the others, and syncs once.
fn sync_door(
    url: &str,
    door: &Door,
    start: &Barrier,
    gate: &PullGate,
    gauges: &Gauges,
) -> Result<DeviceRun> {
    let _leaving = Leaving(gate);
    let opened = App::open(&door.store)
        .map_err(anyhow::Error::from)
        .and_then(|app| Ok((app, HttpTransport::new(&link(url, &door.token))?)));
    start.wait();
    let (mut app, http) = opened?;
    let transport = Measured::new(http, gate, gauges);
    let report = app.sync(&transport, chrono::Utc::now())?;
    let finished = Instant::now();
    ensure!(
        report.pushed > 0 && report.applied == report.pushed,
        "{}: the server did not store every command as written: {report:?}",
        door.name
    );
    Ok(DeviceRun {
        pushes: transport.pushes.into_inner(),
        finished,
    })
}

fn joined<T>(worker: ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    worker
        .join()
        .map_err(|_| anyhow!("a device thread panicked"))?
}

/// Counts for the progress lines.
#[derive(Default)]
struct Gauges {
    pushed: AtomicU64,
    pulled: AtomicU64,
}

/// The HTTP transport, timing pushes and holding back the first pull until every device
/// has pushed.
struct Measured<'a> {
    http: HttpTransport,
    gate: &'a PullGate,
    gauges: &'a Gauges,
    arrived: Cell<bool>,
    pushes: RefCell<Vec<PushSample>>,
}

impl<'a> Measured<'a> {
    fn new(http: HttpTransport, gate: &'a PullGate, gauges: &'a Gauges) -> Self {
        Self {
            http,
            gate,
            gauges,
            arrived: Cell::new(false),
            pushes: RefCell::new(Vec::new()),
        }
    }
}

impl Transport for Measured<'_> {
    fn push(&self, request: &PushRequest) -> Result<PushResponse, SyncError> {
        let start = Instant::now();
        let response = self.http.push(request)?;
        let latency = start.elapsed();
        let commands = response.results.len() as u64;
        let events = response.results.iter().map(|r| r.positions.len() as u64);
        self.pushes.borrow_mut().push(PushSample {
            latency,
            commands,
            events: events.sum(),
        });
        self.gauges.pushed.fetch_add(commands, Ordering::Relaxed);
        Ok(response)
    }

    fn pull(&self, after: i64, limit: u32) -> Result<PullResponse, SyncError> {
        if !self.arrived.replace(true) {
            self.gate.arrive()?;
        }
        let page = self.http.pull(after, limit)?;
        let events = page.events.len() as u64;
        self.gauges.pulled.fetch_add(events, Ordering::Relaxed);
        Ok(page)
    }

    fn request_allotment(
        &self,
        request: &AllotmentRequest,
    ) -> Result<AllotmentResponse, SyncError> {
        self.http.request_allotment(request)
    }

    fn me(&self) -> Result<DeviceRecord, SyncError> {
        self.http.me()
    }

    fn reconciliation(&self) -> Result<Vec<ReconciliationItem>, SyncError> {
        self.http.reconciliation()
    }
}

/// Holds every device's first pull until all devices have arrived (pushed everything).
struct PullGate {
    devices: usize,
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Default)]
struct GateState {
    arrived: usize,
    opened_at: Option<Instant>,
    /// A device left without arriving: the gate will never open.
    abandoned: bool,
}

impl PullGate {
    fn new(devices: usize) -> Self {
        Self {
            devices,
            state: Mutex::default(),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for the other devices; an error when one of them left without arriving.
    fn arrive(&self) -> Result<(), SyncError> {
        let mut state = self.lock();
        state.arrived += 1;
        if state.arrived == self.devices {
            state.opened_at = Some(Instant::now());
            self.changed.notify_all();
        }
        drop(state);
        match self.wait_open() {
            Some(_) => Ok(()),
            None => Err(SyncError::Unreachable(
                "another device failed before it had pushed everything".into(),
            )),
        }
    }

    /// When the last device arrived; `None` when one left without arriving.
    fn wait_open(&self) -> Option<Instant> {
        self.changed
            .wait_while(self.lock(), |s| s.opened_at.is_none() && !s.abandoned)
            .unwrap_or_else(PoisonError::into_inner)
            .opened_at
    }
}

/// A device's thread is done with the gate, by success, error or panic: if the gate is
/// still closed, it will never open, and the waiting devices fail instead of hanging.
struct Leaving<'a>(&'a PullGate);

impl Drop for Leaving<'_> {
    fn drop(&mut self) {
        self.0.lock().abandoned = true;
        self.0.changed.notify_all();
    }
}

/// Every door holds every event of the server's log, all confirmed by the server.
fn check_converged(doors: &[Door], head: i64) -> Result<()> {
    for door in doors {
        let conn = Connection::open(&door.store)?;
        let (confirmed, last, tentative): (i64, i64, i64) = conn.query_row(
            "SELECT COUNT(server_position), COALESCE(MAX(server_position), 0),
                    COUNT(*) - COUNT(server_position) FROM events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        ensure!(
            confirmed == head && last == head && tentative == 0,
            "{} did not converge: it holds {confirmed} confirmed events up to position {last} \
             and {tentative} tentative ones, and the server's log ends at {head}",
            door.name
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- 6. the raw baseline

/// The event rows the server stored after position `after`, in order.
fn stored_rows(database: &Path, after: i64) -> Result<Vec<Vec<Value>>> {
    let conn = Connection::open(database)?;
    let mut select = conn.prepare(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE position > ?1 ORDER BY position"
    ))?;
    let rows = select
        .query_map([after], |row| {
            (0..row.as_ref().column_count())
                .map(|i| row.get::<_, Value>(i))
                .collect()
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Durations of [`BASELINE_RUNS`] raw ingests of `rows`, each into a fresh file, and the
/// CPU time each took (the process's: nothing else in it works meanwhile).
fn baseline(
    dir: &Path,
    rows: &[Vec<Value>],
    pushes: &[PushSample],
) -> Result<(Latencies, Option<Latencies>)> {
    let pushed: u64 = pushes.iter().map(|p| p.events).sum();
    ensure!(
        rows.len() as u64 == pushed,
        "the server stored {} events during the pushes, but answered the pushes with {pushed}",
        rows.len()
    );
    progress(format_args!(
        "5-7/9 sync server: the raw baseline, {BASELINE_RUNS} runs of {pushed} rows"
    ));
    let mut cpu = Vec::with_capacity(BASELINE_RUNS);
    let runs = (0..BASELINE_RUNS)
        .map(|run| {
            let mut conn = raw_server_log(&dir.join(format!("raw-server-{run}.db")))?;
            let before = usage("self");
            let took = timed(|| raw_ingest(&mut conn, rows, pushes))?;
            if let (Some(before), Some(after)) = (before, usage("self")) {
                cpu.push(after.cpu.saturating_sub(before.cpu));
            }
            Ok(took)
        })
        .collect::<Result<_>>()?;
    let cpu = (cpu.len() == BASELINE_RUNS).then(|| Latencies::new(cpu));
    Ok((Latencies::new(runs), cpu))
}

/// A bare SQLite file with the server's schema, WAL and `synchronous=FULL`.
fn raw_server_log(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(SERVER_SCHEMA)?;
    Ok(conn)
}

/// `rows` in order, one durable transaction per push request with as many rows as it had.
fn raw_ingest(conn: &mut Connection, rows: &[Vec<Value>], pushes: &[PushSample]) -> Result<()> {
    let sql =
        format!("INSERT INTO events ({EVENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    let mut rows = rows.iter();
    for push in pushes {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(&sql)?;
            for row in rows.by_ref().take(usize::try_from(push.events)?) {
                insert.execute(params_from_iter(row))?;
            }
        }
        tx.commit()?;
    }
    Ok(())
}

// ---------------------------------------------------------------- reporting

impl SyncRun {
    fn report(&self, table: &mut Table) {
        let events: u64 = self.ingest.pushes.iter().map(|p| p.events).sum();
        let ingest = events as f64 / self.ingest.push_phase.as_secs_f64();
        self.report_ingest(table, events, ingest);
        self.report_baseline(table, events, ingest);
        self.report_convergence(table);
    }

    fn report_ingest(&self, table: &mut Table, events: u64, ingest: f64) {
        let pushes = &self.ingest.pushes;
        table.section(&format!(
            "5. Sync server ingest: the {DEVICES} doors' push requests ({} offline sales each, built beforehand), sent at once by {DEVICES} clients, server process on 127.0.0.1, FULL",
            self.sales
        ));
        table.row(
            "events stored / push phase",
            &format!("{events} / {}", secs(self.ingest.push_phase)),
            "",
        );
        table.row("events/s", &format!("{ingest:.0}"), "");
        table.row(
            "push requests / server commits (group commit)",
            &format!("{} / {}", pushes.len(), self.commits),
            "",
        );
        let commands: u64 = pushes.iter().map(|p| p.commands).sum();
        let per_push = |n: u64| n as f64 / pushes.len() as f64;
        let latencies = Latencies::new(pushes.iter().map(|p| p.latency).collect());
        table.row(
            &format!(
                "push request ({:.0} commands, {:.0} events) p50 / p99",
                per_push(commands),
                per_push(events)
            ),
            &format!(
                "{} / {}",
                ms(latencies.percentile(50.0)),
                ms(latencies.percentile(99.0))
            ),
            "",
        );
        let [start, pushed, _] = &self.ingest.checkpoints;
        cpu_row(table, "", "clients", start, pushed);
        writer_row(table, "", start, pushed, self.ingest.push_phase);
        replay_row(table, start, pushed, events);
    }

    fn report_baseline(&self, table: &mut Table, events: u64, ingest: f64) {
        table.section(&format!(
            "6. Raw SQLite baseline: the same {events} rows into the server's schema, 1 tx per push request ({} tx), WAL, FULL",
            self.ingest.pushes.len()
        ));
        let raw = events as f64 / self.baseline.median().as_secs_f64();
        table.row(
            &format!("events/s, median of {BASELINE_RUNS}"),
            &format!("{raw:.0}"),
            "",
        );
        let ratio = ingest / raw;
        table.row(
            "server ingest (5) / baseline (events/s)",
            &format!("{ratio:.2}"),
            &verdict(
                ratio >= TARGET_INGEST_RATIO,
                &format!(">= {TARGET_INGEST_RATIO}"),
            ),
        );
        // The same pushes made by the devices themselves (section 7), whose own work
        // shares the 2 cores with the server here.
        let synced: u64 = self.sync.pushes.iter().map(|p| p.events).sum();
        let synced = synced as f64 / self.sync.push_phase.as_secs_f64();
        table.row(
            "devices pushing themselves (7's push phase) / baseline",
            &format!("{:.2} ({synced:.0} events/s)", synced / raw),
            "",
        );
        // CPU time, unlike wall time, hardly depends on what else the machine runs: the
        // server's whole process over the push phase (HTTP and JSON included) against the
        // baseline's inserts and commits.
        let [start, pushed, _] = &self.ingest.checkpoints;
        let server_cpu = start
            .server
            .zip(pushed.server)
            .map(|(from, to)| to.cpu.saturating_sub(from.cpu));
        let per_event =
            |cpu: Duration| format!("{:.1} µs", cpu.as_secs_f64() * 1e6 / events as f64);
        table.row(
            &format!("CPU per event: server (5) / baseline (median of {BASELINE_RUNS})"),
            &format!(
                "{} / {}",
                server_cpu.map_or_else(|| "n/a".into(), per_event),
                self.baseline_cpu
                    .as_ref()
                    .map_or_else(|| "n/a".into(), |cpu| per_event(cpu.median())),
            ),
            "",
        );
    }

    fn report_convergence(&self, table: &mut Table) {
        table.section(&format!(
            "7. Convergence: that sync until all {DEVICES} devices hold all {} events (pulls begin once all pushed)",
            self.head
        ));
        let pull_phase = self.sync.converged - self.sync.push_phase;
        table.row(
            "all devices converged after",
            &secs(self.sync.converged),
            "",
        );
        table.row(
            "push phase / pull phase",
            &format!("{} / {}", secs(self.sync.push_phase), secs(pull_phase)),
            "",
        );
        let [start, pushed, end] = &self.sync.checkpoints;
        cpu_row(table, "push phase: ", "devices", start, pushed);
        writer_row(table, "push phase: ", start, pushed, self.sync.push_phase);
        let pulled = DEVICES as f64 * self.head as f64;
        table.row(
            "events pulled per second, all devices",
            &format!("{:.0}", pulled / pull_phase.as_secs_f64()),
            "",
        );
        cpu_row(table, "pull phase: ", "devices", pushed, end);
        let peak = |checkpoint: &Checkpoint| checkpoint.server.map(|u| u.peak_rss as f64 / 1e6);
        let target = format!("< {TARGET_PEAK_RSS_MB:.0} MB");
        let met = |mb: f64| verdict(mb < TARGET_PEAK_RSS_MB, &target);
        for (label, checkpoint) in [
            ("server peak RSS (VmHWM) after the push phase", pushed),
            ("server peak RSS (VmHWM) overall", end),
        ] {
            match peak(checkpoint) {
                Some(mb) => table.row(label, &format!("{mb:.0} MB"), &met(mb)),
                None => table.row(label, "n/a (no /proc)", &target),
            }
        }
    }
}

/// The CPU time the server and this process (the devices, or the clients) used between
/// two checkpoints.
fn cpu_row(table: &mut Table, phase: &str, this: &str, from: &Checkpoint, to: &Checkpoint) {
    let used = |from: Option<Usage>, to: Option<Usage>| match (from, to) {
        (Some(from), Some(to)) => secs(to.cpu.saturating_sub(from.cpu)),
        _ => "n/a".into(),
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    table.row(
        &format!("{phase}CPU time of server / {this} ({cores} cores)"),
        &format!(
            "{} / {}",
            used(from.server, to.server),
            used(from.devices, to.devices)
        ),
        "",
    );
}

/// How much of `phase` the server's single writer spent in transactions.
fn writer_row(table: &mut Table, label: &str, from: &Checkpoint, to: &Checkpoint, phase: Duration) {
    if let (Some(from), Some(to)) = (from.writer_busy, to.writer_busy) {
        let busy = to.saturating_sub(from);
        table.row(
            &format!("{label}writer busy (transactions and commits)"),
            &format!(
                "{} ({:.0} %)",
                secs(busy),
                100.0 * busy.as_secs_f64() / phase.as_secs_f64()
            ),
            "",
        );
    }
}

/// The writer's time replaying pushed commands (the server checking that each command
/// produces the events pushed), per event stored, next to its whole busy time per event.
fn replay_row(table: &mut Table, from: &Checkpoint, to: &Checkpoint, events: u64) {
    let (Some(replay), Some(busy)) = (
        to.replay
            .zip(from.replay)
            .map(|(to, from)| to.saturating_sub(from)),
        to.writer_busy
            .zip(from.writer_busy)
            .map(|(to, from)| to.saturating_sub(from)),
    ) else {
        return;
    };
    let per_event = |d: Duration| d.as_secs_f64() * 1e6 / events.max(1) as f64;
    table.row(
        "replay of pushed commands / writer busy, per event",
        &format!(
            "{:.1} µs / {:.1} µs ({:.0} %)",
            per_event(replay),
            per_event(busy),
            100.0 * replay.as_secs_f64() / busy.as_secs_f64().max(1e-9)
        ),
        "",
    );
}

fn secs(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

// ---------------------------------------------------------------- progress

/// Runs `work`, printing `status()` to stderr every few seconds until it returns.
fn with_ticker<T>(status: impl Fn() -> String + Send, work: impl FnOnce() -> T) -> T {
    std::thread::scope(|s| {
        let (done, finished) = mpsc::channel::<()>();
        s.spawn(move || {
            while finished.recv_timeout(TICK) == Err(mpsc::RecvTimeoutError::Timeout) {
                progress(format_args!("{}", status()));
            }
        });
        let out = work();
        drop(done);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_read_by_exact_name() {
        let text = "# TYPE conference_sync_head_position gauge\n\
                    conference_sync_head_position_old 1\n\
                    conference_sync_head_position 42\n";
        assert_eq!(metric(text, "conference_sync_head_position"), Some(42));
        assert_eq!(metric::<i64>(text, "conference_sync_pulls_total"), None);
        let busy = "conference_sync_writer_busy_seconds_total 1.500250\n";
        assert_eq!(
            metric(busy, "conference_sync_writer_busy_seconds_total"),
            Some(1.50025_f64)
        );
    }

    #[test]
    fn cpu_time_adds_user_and_system_ticks() {
        let stat =
            "4242 (conference sync) S 1 4242 4242 0 -1 4194560 900 0 0 0 150 25 0 0 20 0 9 0";
        assert_eq!(cpu_time(stat), Some(Duration::from_millis(1750)));
    }

    #[test]
    fn peak_rss_is_vm_hwm_in_bytes() {
        let status = "Name:\tconference-sync\nVmPeak:\t  900000 kB\nVmHWM:\t   51200 kB\n";
        assert_eq!(peak_rss(status), Some(51200 * 1024));
    }
}
