//! The `conference-sync` release binary as a child process on a free port of 127.0.0.1
//! (killed when dropped), its `/metrics`, and the CPU time and peak memory of it and of
//! this process, read from `/proc`.
use crate::bench::progress;
use anyhow::{Context, Result, ensure};
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

// ---------------------------------------------------------------- the server process

/// `conference-sync serve` on a free port of 127.0.0.1; killed when dropped.
pub(super) struct ServerProcess {
    pub(super) binary: PathBuf,
    /// A file path or a `postgres://` URL.
    pub(super) database: OsString,
    pub(super) address: String,
    pub(super) url: String,
    pub(super) child: Child,
    /// A back-office token to read `/metrics` with (made on first use).
    pub(super) monitor: std::sync::OnceLock<String>,
}

impl ServerProcess {
    pub(super) fn start(binary: &Path, database: &OsStr, log: &Path) -> Result<Self> {
        let (child, url) =
            crate::util::serve_plain(binary, database, std::fs::File::create(log)?.into(), || {
                std::fs::read_to_string(log).unwrap_or_default()
            })?;
        let url = url.as_str();
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
    pub(super) fn add_device(
        &self,
        name: &str,
        role: &str,
        conference: Option<&str>,
    ) -> Result<String> {
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

    pub(super) fn metrics(&self) -> Result<ServerMetrics> {
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
pub(super) fn checkpoint(servers: &[ServerProcess]) -> Checkpoint {
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

pub(super) struct ServerMetrics {
    /// The newest position in the server's log.
    pub(super) head: i64,
    /// Transactions the server's writer committed (group commit: one or more requests).
    pub(super) commits: i64,
    /// Time its writer spent in transactions so far.
    pub(super) writer_busy: Option<Duration>,
    /// Of that, the time it spent replaying pushed commands.
    pub(super) replay: Option<Duration>,
}

/// The value of an unlabelled metric in the Prometheus text.
pub(super) fn metric<T: std::str::FromStr>(text: &str, name: &str) -> Option<T> {
    text.lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// A plain HTTP/1.1 GET; the body of a 200 answer.
pub(super) fn http_get(address: &str, path: &str, token: &str) -> Result<String> {
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
pub(super) struct Checkpoint {
    pub(super) server: Option<Usage>,
    pub(super) devices: Option<Usage>,
    /// The servers' writers' time in transactions so far (from `/metrics`).
    pub(super) writer_busy: Option<Duration>,
    /// Of that, the time spent replaying pushed commands.
    pub(super) replay: Option<Duration>,
}

/// A process's CPU time (user and system, all threads) and peak RSS so far.
#[derive(Clone, Copy)]
pub(super) struct Usage {
    pub(super) cpu: Duration,
    pub(super) peak_rss: u64,
}

/// From `/proc/<pid>`; `None` where there is no such thing (not Linux).
pub(super) fn usage(pid: &str) -> Option<Usage> {
    let read = |file: &str| std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok();
    Some(Usage {
        cpu: cpu_time(&read("stat")?)?,
        peak_rss: peak_rss(&read("status")?)?,
    })
}

/// User plus system time from `/proc/<pid>/stat`, counted in ticks of 1/100 s (USER_HZ).
pub(super) fn cpu_time(stat: &str) -> Option<Duration> {
    // Fields after the command name, which is in parentheses: the state is field 3, the
    // user time field 14 and the system time field 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |field: usize| fields.get(field - 3)?.parse::<u64>().ok();
    Some(Duration::from_millis((ticks(14)? + ticks(15)?) * 10))
}

/// `VmHWM` from `/proc/<pid>/status`, in bytes.
pub(super) fn peak_rss(status: &str) -> Option<u64> {
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
