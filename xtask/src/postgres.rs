//! A PostgreSQL database for the sync server's tests (and later its benchmarks).
//!
//! **An existing database.** When `CONFERENCE_SYNC_TEST_POSTGRES` is set to a URL,
//! `postgres://user:password@host:port/database`, that database is used as it is and
//! nothing is installed, created or started. Its role must be allowed to `CREATE DATABASE`:
//! the tests make one fresh database per test server.
//!
//! ```text
//! CONFERENCE_SYNC_TEST_POSTGRES=postgres://user:pass@host:5432/postgres cargo xtask test
//! ```
//!
//! **A throwaway cluster.** Otherwise xtask installs Debian's `postgresql` package when its
//! tools are missing (as root, or through sudo) and makes a cluster of its own with Debian's
//! cluster tools, named `conference-test`, for the newest major version in
//! `/usr/lib/postgresql`: data in `/var/lib/postgresql/<version>/conference-test`, settings
//! in `/etc/postgresql/<version>/conference-test`, log in
//! `/var/log/postgresql/postgresql-<version>-conference-test.log`. It runs as the `postgres`
//! system user, listens on 127.0.0.1 only, on port 55432 (or the next free one up to
//! 55451), never starts at boot, and lets any connection from 127.0.0.1 in without a
//! password (`trust`; Unix sockets keep `peer`). The tests reach it as
//! `postgres://postgres@127.0.0.1:55432/postgres`, a superuser. When the last xtask run
//! using it ends, successfully or not, the cluster is stopped and deleted
//! (`pg_dropcluster --stop`). A run that finds it already running reuses it. The runs using
//! it are listed in `conference-test-postgres.users` in the temporary directory (`/tmp`),
//! and `conference-test-postgres.lock` there keeps two runs from setting it up or taking it
//! down at once; a run that was killed no longer counts, so the next run cleans up after it.
//! A cluster of that name found stopped is deleted and made afresh.
//!
//! A run that was killed (Ctrl-C) leaves the cluster running until the next run; to remove
//! it by hand: `sudo pg_dropcluster --stop 15 conference-test` (`pg_lsclusters` shows the
//! version).
use crate::setup::{apt_install, is_root};
use crate::util::has_command;
use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The variable that names an existing database to test against instead.
pub const URL_VAR: &str = "CONFERENCE_SYNC_TEST_POSTGRES";
/// The name of xtask's cluster: xtask creates and deletes it at will.
pub const CLUSTER: &str = "conference-test";
/// The ports the cluster may listen on, the first free one taken.
const PORTS: std::ops::RangeInclusive<u16> = 55432..=55451;
/// How long a started cluster may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Where Debian installs each major version's server.
const SERVER_VERSIONS: &str = "/usr/lib/postgresql";
/// Debian's cluster tools (`postgresql-common`) and the client tools used here.
const TOOLS: &[&str] = &[
    "pg_lsclusters",
    "pg_createcluster",
    "pg_ctlcluster",
    "pg_dropcluster",
    "pg_isready",
    "psql",
];

/// A database to run tests against; holding it keeps xtask's cluster up, dropping it stops
/// and deletes the cluster unless another xtask run still uses it.
pub struct TestDatabase {
    url: String,
    cluster: Option<ClusterGuard>,
}

impl TestDatabase {
    /// The connection URL, with its password if it has one.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where it is, for a log line: the URL without its password.
    pub fn describe(&self) -> String {
        let url = redact_password(&self.url);
        match &self.cluster {
            Some(guard) => format!("{url} (xtask's cluster {}/{CLUSTER})", guard.version),
            None => format!("{url} (from {URL_VAR})"),
        }
    }
}

/// The database from `CONFERENCE_SYNC_TEST_POSTGRES`, or else xtask's own cluster: created
/// and started when needed (installing PostgreSQL first when it is missing), reused when
/// another run has it up already. Stays usable until the returned value is dropped.
pub fn test_database() -> Result<TestDatabase> {
    if let Some(url) = std::env::var(URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
    {
        ensure!(
            url.starts_with("postgres://") || url.starts_with("postgresql://"),
            "{URL_VAR} should be a URL like postgres://user:password@host:5432/database, not `{}`",
            redact_password(&url)
        );
        return Ok(TestDatabase { url, cluster: None });
    }
    ensure_installed()?;
    let version = server_version()?;
    // One run at a time sets the cluster up or takes it down.
    let _lock = SetupLock::acquire()?;
    // Registered first, so that the guard deregisters this run on every way out.
    let mut guard = ClusterGuard::register(version.clone());
    let port = match find_cluster(&version)? {
        Some(cluster) if cluster.online => {
            eprintln!(
                "xtask: reusing the running PostgreSQL cluster {version}/{CLUSTER} on port {}",
                cluster.port
            );
            cluster.port
        }
        existing => {
            if existing.is_some() {
                // Left behind by a run that was killed; its state is unknown, start afresh.
                eprintln!("xtask: deleting the stopped cluster {version}/{CLUSTER} left behind");
                pg_tool("pg_dropcluster")
                    .args([&version, CLUSTER])
                    .run_checked()?;
            }
            let port = free_port(&version)?;
            create_cluster(&version, port)?;
            eprintln!("xtask: starting PostgreSQL {version}/{CLUSTER} on 127.0.0.1:{port}");
            pg_tool("pg_ctlcluster")
                .args([&version, CLUSTER, "start"])
                .run_checked()
                .with_context(|| {
                    format!(
                        "the cluster did not start; its log is \
                         /var/log/postgresql/postgresql-{version}-{CLUSTER}.log"
                    )
                })?;
            port
        }
    };
    guard.started = true;
    wait_until_ready(&version, port)?;
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    check_connection(&url)?;
    Ok(TestDatabase {
        url,
        cluster: Some(guard),
    })
}

/// Installs Debian's `postgresql` package when the server or Debian's cluster tools are
/// missing; does nothing when they are there, so it is safe to run twice.
pub fn ensure_installed() -> Result<()> {
    if installed() {
        return Ok(());
    }
    if !has_command("apt-get") {
        bail!(
            "the sync server's PostgreSQL tests need a PostgreSQL server and Debian's cluster \
             tools (pg_createcluster, pg_ctlcluster), and there is no apt-get here to install \
             them; set {URL_VAR}=postgres://user:password@host:port/database to use a \
             database you run yourself"
        );
    }
    apt_install(&["postgresql"]).with_context(|| {
        format!(
            "could not install PostgreSQL (Debian's `postgresql` package); install it yourself \
             or set {URL_VAR} to an existing database"
        )
    })?;
    ensure!(
        installed(),
        "the `postgresql` package is installed but {} or a server in {SERVER_VERSIONS}/*/bin is \
         still missing",
        TOOLS.join(", ")
    );
    Ok(())
}

fn installed() -> bool {
    TOOLS.iter().all(|tool| on_path(tool)) && server_version().is_ok()
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        // sudo's secure_path: the tools are in /usr/bin even when PATH lacks it.
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .any(|dir| dir.join(program).is_file())
}

/// The newest PostgreSQL major version installed the Debian way.
fn server_version() -> Result<String> {
    let entries = std::fs::read_dir(SERVER_VERSIONS)
        .with_context(|| format!("no PostgreSQL server in {SERVER_VERSIONS}"))?;
    entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let number: f64 = name.parse().ok()?;
            let server = entry.path().join("bin/postgres");
            server.is_file().then_some((number, name))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name)
        .with_context(|| format!("no PostgreSQL server in {SERVER_VERSIONS}/*/bin/postgres"))
}

/// One line of `pg_lsclusters`.
struct Cluster {
    port: u16,
    online: bool,
}

fn find_cluster(version: &str) -> Result<Option<Cluster>> {
    let listed = Command::new("pg_lsclusters")
        .arg("--no-header")
        .output_checked()?;
    Ok(String::from_utf8_lossy(&listed.stdout)
        .lines()
        .find_map(|line| parse_cluster_line(line, version)))
}

/// `Ver Cluster Port Status Owner Data-directory Log-file`, whitespace-separated.
fn parse_cluster_line(line: &str, version: &str) -> Option<Cluster> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    match fields.as_slice() {
        [ver, name, port, status, ..] if *ver == version && *name == CLUSTER => Some(Cluster {
            port: port.parse().ok()?,
            online: status.starts_with("online"),
        }),
        _ => None,
    }
}

/// The first port of [`PORTS`] that nothing listens on and no other cluster claims.
fn free_port(version: &str) -> Result<u16> {
    let listed = Command::new("pg_lsclusters")
        .arg("--no-header")
        .output_checked()?;
    let claimed: Vec<u16> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2)?.parse().ok())
        .collect();
    PORTS
        .clone()
        .find(|port| {
            !claimed.contains(port) && std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok()
        })
        .with_context(|| {
            format!(
                "ports {}-{} on 127.0.0.1 are all taken, so there is no room for the test \
                 cluster {version}/{CLUSTER}; free one, or set {URL_VAR} to an existing database",
                PORTS.start(),
                PORTS.end()
            )
        })
}

fn create_cluster(version: &str, port: u16) -> Result<()> {
    eprintln!("xtask: creating the throwaway PostgreSQL cluster {version}/{CLUSTER}");
    pg_tool("pg_createcluster")
        .args([version, CLUSTER])
        .args(["--port", &port.to_string()])
        // Only xtask starts it, never the boot.
        .args(["--start-conf", "manual"])
        .args(["--locale", "C.UTF-8", "--encoding", "UTF8"])
        // The leading space makes pg_createcluster quote the value, which it leaves bare,
        // and so broken, when it looks like a number; the server ignores the space.
        .args(["-o", "listen_addresses= 127.0.0.1"])
        // initdb's options: no password over TCP, which only 127.0.0.1 can reach.
        .args(["--", "--auth-host=trust", "--auth-local=peer"])
        .run_checked()
        .with_context(|| format!("could not create the PostgreSQL cluster {version}/{CLUSTER}"))
}

/// Polls `pg_isready` until the server accepts connections, up to [`READY_TIMEOUT`].
fn wait_until_ready(version: &str, port: u16) -> Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let ready = Command::new("pg_isready")
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--timeout", "2", "--quiet"])
            .status()
            .context("could not run pg_isready")?
            .success();
        if ready {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "PostgreSQL {version}/{CLUSTER} did not accept connections on 127.0.0.1:{port} \
                 within {}s; its log is /var/log/postgresql/postgresql-{version}-{CLUSTER}.log",
                READY_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One query through the URL, so a refusal shows here rather than in every test.
fn check_connection(url: &str) -> Result<()> {
    Command::new("psql")
        .args([url, "--no-psqlrc", "--quiet", "--tuples-only"])
        .args(["--command", "select 1"])
        .output_checked()
        .with_context(|| {
            format!(
                "PostgreSQL is up but `psql {url}` failed; look at pg_hba.conf in the \
                 cluster's settings in /etc/postgresql"
            )
        })
        .map(drop)
}

/// Debian's cluster tools as root: directly when this runs as root, else through sudo.
/// They run the server itself as the `postgres` system user either way.
fn pg_tool(program: &str) -> Command {
    if is_root() {
        Command::new(program)
    } else {
        let mut sudo = Command::new("sudo");
        sudo.arg(program);
        sudo
    }
}

trait RunChecked {
    /// Runs with inherited output; an unsuccessful exit is an error.
    fn run_checked(&mut self) -> Result<()>;
    /// Runs with captured output; an unsuccessful exit is an error that quotes stderr.
    fn output_checked(&mut self) -> Result<Output>;
}

impl RunChecked for Command {
    fn run_checked(&mut self) -> Result<()> {
        crate::util::run(self)
    }

    fn output_checked(&mut self) -> Result<Output> {
        let shown = describe(self);
        let output = self
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("could not run `{shown}`"))?;
        ensure!(
            output.status.success(),
            "`{shown}` failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok(output)
    }
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|arg| redact_password(&arg.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

/// This run's claim on xtask's cluster. Every run that uses the cluster writes its process
/// id into a shared list; dropping the guard takes it out again, and the last live run out
/// stops and deletes the cluster, also when the tests failed.
struct ClusterGuard {
    version: String,
    /// Whether the cluster got as far as existing; before that there is nothing to delete.
    started: bool,
}

impl ClusterGuard {
    fn register(version: String) -> ClusterGuard {
        let mut users = live_users();
        users.push(std::process::id());
        write_users(&users);
        ClusterGuard {
            version,
            started: false,
        }
    }
}

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        let _lock = SetupLock::acquire().unwrap_or_else(|error| {
            eprintln!("xtask: {error:#}; going ahead without it");
            None
        });
        let me = std::process::id();
        let others: Vec<u32> = live_users().into_iter().filter(|pid| *pid != me).collect();
        write_users(&others);
        if !others.is_empty() {
            eprintln!(
                "xtask: leaving PostgreSQL {}/{CLUSTER} up for the xtask run(s) {others:?} that \
                 still use it",
                self.version
            );
            return;
        }
        let exists = find_cluster(&self.version).is_ok_and(|cluster| cluster.is_some());
        if !self.started && !exists {
            return;
        }
        eprintln!(
            "xtask: stopping and deleting PostgreSQL {}/{CLUSTER}",
            self.version
        );
        let dropped = pg_tool("pg_dropcluster")
            .args(["--stop", &self.version, CLUSTER])
            .run_checked();
        if let Err(error) = dropped {
            eprintln!(
                "xtask: could not delete the test cluster ({error:#}); remove it with \
                 `sudo pg_dropcluster --stop {} {CLUSTER}`",
                self.version
            );
        }
    }
}

/// A file that exists while one xtask run sets up or takes down the cluster, holding its
/// process id, so that two runs never create the cluster, or list their claims, at once.
struct SetupLock(PathBuf);

impl SetupLock {
    /// Waits for the lock; `None` when it is not possible to make one here (an unwritable
    /// temporary directory), and the run goes ahead unguarded.
    fn acquire() -> Result<Option<SetupLock>> {
        const PATIENCE: Duration = Duration::from_secs(300);
        let path = std::env::temp_dir().join(format!("{CLUSTER}-postgres.lock"));
        let deadline = Instant::now() + PATIENCE;
        loop {
            let created = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path);
            match created {
                Ok(mut file) => {
                    use std::io::Write as _;
                    // Best effort: an empty lock file counts as stale after a few seconds.
                    let _ = write!(file, "{}", std::process::id());
                    return Ok(Some(SetupLock(path)));
                }
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(error) => {
                    eprintln!("xtask: cannot create {}: {error}", path.display());
                    return Ok(None);
                }
            }
            let holder = std::fs::read_to_string(&path)
                .ok()
                .and_then(|text| text.trim().parse::<u32>().ok());
            if holder == Some(std::process::id()) {
                // This run holds it already (a guard dropped while setting up failed).
                return Ok(None);
            }
            let stale = match holder {
                Some(pid) => !is_xtask(pid),
                None => std::fs::metadata(&path)
                    .and_then(|meta| meta.modified())
                    .is_ok_and(|at| at.elapsed().unwrap_or_default() > Duration::from_secs(5)),
            };
            if stale {
                // Left by a run that was killed while it held the lock.
                let _ = std::fs::remove_file(&path);
                continue;
            }
            ensure!(
                Instant::now() < deadline,
                "another xtask run ({}) has been setting up PostgreSQL for {}s; if no xtask is \
                 running, delete {}",
                holder.map_or_else(|| "unknown".to_owned(), |pid| format!("process {pid}")),
                PATIENCE.as_secs(),
                path.display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for SetupLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The file listing the xtask runs that use the cluster, one process id a line.
fn users_file() -> PathBuf {
    std::env::temp_dir().join(format!("{CLUSTER}-postgres.users"))
}

/// The listed runs that are still alive: a process of that id that is an xtask.
fn live_users() -> Vec<u32> {
    let listed = std::fs::read_to_string(users_file()).unwrap_or_default();
    listed
        .lines()
        .filter_map(|line| line.trim().parse::<u32>().ok())
        .filter(|pid| is_xtask(*pid))
        .collect()
}

fn is_xtask(pid: u32) -> bool {
    let comm = Path::new("/proc").join(pid.to_string()).join("comm");
    std::fs::read_to_string(comm).is_ok_and(|name| name.trim() == "xtask")
}

fn write_users(users: &[u32]) {
    let path = users_file();
    let result = if users.is_empty() {
        std::fs::remove_file(&path).or_else(|error| match error.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(error),
        })
    } else {
        let text: String = users.iter().map(|pid| format!("{pid}\n")).collect();
        std::fs::write(&path, text)
    };
    if let Err(error) = result {
        eprintln!("xtask: could not update {}: {error}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(
            redact_password("postgres://u:secret@db:5432/x"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(
            redact_password("postgres://postgres@127.0.0.1:55432/postgres"),
            "postgres://postgres@127.0.0.1:55432/postgres"
        );
        assert_eq!(redact_password("not a url"), "not a url");
    }

    #[test]
    fn reads_pg_lsclusters() {
        let line = "15  conference-test 55432 online postgres /var/lib/postgresql/15/conference-test /var/log/postgresql/postgresql-15-conference-test.log";
        let cluster = parse_cluster_line(line, "15").expect("our cluster");
        assert_eq!(cluster.port, 55432);
        assert!(cluster.online);
        assert!(parse_cluster_line(line, "16").is_none());
        let main = "15  main    5432 down   postgres /var/lib/postgresql/15/main /var/log/x.log";
        assert!(parse_cluster_line(main, "15").is_none());
    }
}
