//! A fault-injecting HTTP/1.1 proxy between devices and a real sync server, on
//! 127.0.0.1. It reads each request whole (Content-Length or chunked framing), decides a
//! fault from a seeded schedule, and forwards the request on a fresh connection to the
//! server (`Connection: close`, so the server's answer ends where its framing says or the
//! connection closes). Faults: the request is dropped, the answer is dropped or cut off
//! halfway, the request is sent twice, held back until another request passes, or
//! answered with a closed connection and delivered late (after the next request). A trap
//! stops a push halfway into the server so a test can kill the server under it. Counters
//! say which faults really happened, so a test cannot pass without them.
//!
//! tidy: long because it is one self-contained HTTP/1.1 proxy whose framing, fault
//! schedule, traps and counters work on the same connections and are read together.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread;
use std::time::Duration;

/// How long a delayed request waits for another one to overtake it before it goes anyway.
/// Only a bound on the fault: nothing depends on it for correctness.
const DELAY_BOUND: Duration = Duration::from_millis(200);
/// Upper bound on waiting for the server, so a broken test fails instead of hanging.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// The request never reaches the server: the device's connection closes unanswered.
    DropRequest,
    /// The server handles the request; its answer is lost (the connection closes).
    DropResponse,
    /// The server handles the request; its answer is cut off halfway.
    CutResponse,
    /// The request reaches the server twice, at once or one after the other (drawn from
    /// the seed); the device gets one of the two answers.
    Duplicate,
    /// The request is held until another request has passed (or [`DELAY_BOUND`]), then
    /// delivered and answered.
    Delay,
    /// The device's connection closes unanswered (it retries), and the request itself
    /// reaches the server late: right after the next request that passes.
    Late,
}

pub const ALL_FAULTS: [Fault; 6] = [
    Fault::DropRequest,
    Fault::DropResponse,
    Fault::CutResponse,
    Fault::Duplicate,
    Fault::Delay,
    Fault::Late,
];

/// Which requests get which fault: a pure function of the seed, the request's stream (the
/// client's name and the route: `Door 1 /v1/push`) and its number in that stream, so a
/// failing seed replays the same faults on the same requests. In every block of
/// `faults.len() × (1 + passes_per_fault)` requests of a stream, each fault kind lands
/// exactly once, at places drawn from the seed: pushes get every fault as surely as pulls.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub seed: u64,
    pub faults: Vec<Fault>,
    pub passes_per_fault: u64,
}

impl Schedule {
    pub fn new(seed: u64, faults: &[Fault], passes_per_fault: u64) -> Self {
        Self {
            seed,
            faults: faults.to_vec(),
            passes_per_fault,
        }
    }

    /// No faults: every request passes.
    pub fn none() -> Self {
        Self::new(0, &[], 0)
    }

    fn rng(&self, stream: &str, salt: u64) -> SplitMix64 {
        SplitMix64(self.seed ^ fnv1a(stream.as_bytes()) ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The fault for request number `n` (from 0) of `stream`, if any.
    pub fn decide(&self, stream: &str, n: u64) -> Option<Fault> {
        if self.faults.is_empty() {
            return None;
        }
        let kinds = self.faults.len() as u64;
        let block_len = kinds * (1 + self.passes_per_fault);
        let mut rng = self.rng(stream, n / block_len);
        let mut slots: Vec<u64> = (0..block_len).collect();
        for i in 0..self.faults.len() {
            let j = i + rng.below(block_len - i as u64) as usize;
            slots.swap(i, j);
        }
        let at = n % block_len;
        self.faults
            .iter()
            .zip(&slots)
            .find(|(_, slot)| **slot == at)
            .map(|(fault, _)| *fault)
    }

    /// Extra seeded bits for request number `n` of `stream` (how a duplicate is sent).
    fn variant(&self, stream: &str, n: u64) -> u64 {
        self.rng(stream, !n).next()
    }
}

struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What the proxy did, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests the devices sent.
    pub requests: u64,
    /// Requests answered whole (delayed ones included).
    pub passed: u64,
    pub dropped_requests: u64,
    pub dropped_responses: u64,
    pub cut_responses: u64,
    pub duplicated: u64,
    pub delayed: u64,
    /// Delayed requests released because another request passed them (timing-dependent,
    /// reported only).
    pub overtaken: u64,
    /// Requests held to be delivered late, and how many of them reached the server.
    pub late_held: u64,
    pub late_delivered: u64,
    /// Answers of 502 because the server was not there.
    pub unreachable: u64,
    /// Pushes stopped by a trap while the test killed the server.
    pub trapped_pushes: u64,
    /// Duplicates whose two copies were sent at once.
    pub duplicated_at_once: u64,
    /// Faults that really happened to push requests, by kind.
    pub on_pushes: BTreeMap<Fault, u64>,
}

impl Counts {
    /// How often a fault kind was injected.
    pub fn of(&self, fault: Fault) -> u64 {
        match fault {
            Fault::DropRequest => self.dropped_requests,
            Fault::DropResponse => self.dropped_responses,
            Fault::CutResponse => self.cut_responses,
            Fault::Duplicate => self.duplicated,
            Fault::Delay => self.delayed,
            Fault::Late => self.late_delivered,
        }
    }

    /// How often a fault kind was injected into a push.
    pub fn on_pushes(&self, fault: Fault) -> u64 {
        self.on_pushes.get(&fault).copied().unwrap_or(0)
    }
}

/// One HTTP request as it goes to the server: the head rewritten to close the connection
/// after the answer, the body as the device framed it.
#[derive(Clone)]
struct Request {
    method: String,
    path: String,
    token: String,
    head: Vec<u8>,
    body: Vec<u8>,
}

impl Request {
    /// The path without the query.
    fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }

    fn is_push(&self) -> bool {
        self.method == "POST" && self.route() == "/v1/push"
    }
}

/// A push the proxy stops halfway: it writes the request (all of it, or the head and half
/// the body) to the server, says so on `reached`, and waits on `resume` before it reads
/// the server's answer, which it then throws away (as a crash would).
struct Trap {
    skip: u32,
    partial: bool,
    reached: mpsc::Sender<()>,
    resume: mpsc::Receiver<()>,
}

/// The test's side of a trap.
pub struct TrapHandle {
    pub reached: mpsc::Receiver<()>,
    pub resume: mpsc::Sender<()>,
}

#[derive(Default)]
struct State {
    names: HashMap<String, String>,
    request_numbers: HashMap<String, u64>,
    counts: Counts,
    late: Vec<Request>,
    /// Requests answered by the server so far; delayed requests wait for it to move.
    passes: u64,
    trap: Option<Trap>,
    /// Faults for given request numbers of given clients, before the schedule.
    scripted: HashMap<(String, u64), Fault>,
    log: Vec<String>,
}

struct Shared {
    upstream: String,
    schedule: Schedule,
    state: Mutex<State>,
    passed: Condvar,
    stopping: AtomicBool,
}

pub struct Proxy {
    /// `http://127.0.0.1:PORT`, for the devices.
    pub url: String,
    address: String,
    shared: Arc<Shared>,
    acceptor: Option<thread::JoinHandle<()>>,
}

impl Proxy {
    /// Listens on a fresh port of 127.0.0.1 and forwards to `upstream_url`
    /// (`http://HOST:PORT`), which may come and go while the proxy stays.
    pub fn start(upstream_url: &str, schedule: Schedule) -> Self {
        let upstream = upstream_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let address = listener.local_addr().expect("proxy address").to_string();
        let shared = Arc::new(Shared {
            upstream,
            schedule,
            state: Mutex::new(State::default()),
            passed: Condvar::new(),
            stopping: AtomicBool::new(false),
        });
        let accepting = Arc::clone(&shared);
        let acceptor = thread::spawn(move || {
            for connection in listener.incoming() {
                if accepting.stopping.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(connection) = connection else { continue };
                let shared = Arc::clone(&accepting);
                thread::spawn(move || serve(&shared, connection));
            }
        });
        Self {
            url: format!("http://{address}"),
            address,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// Names the client that uses `token`, so the schedule does not depend on the
    /// (random) token itself.
    pub fn register(&self, token: &str, name: &str) {
        self.state()
            .names
            .insert(token.to_string(), name.to_string());
    }

    pub fn counts(&self) -> Counts {
        self.state().counts.clone()
    }

    /// The seed, the counts and every fault decided, for a failure message.
    pub fn report(&self) -> String {
        let state = self.state();
        format!(
            "seed {} ({:?}); {:?}\n{}",
            self.shared.schedule.seed,
            self.shared.schedule.faults,
            state.counts,
            state.log.join("\n")
        )
    }

    /// Stops the push after the next `skip` pushes (from any device) halfway into the
    /// server: see [`Trap`].
    pub fn trap_push(&self, skip: u32, partial: bool) -> TrapHandle {
        let (reached_tx, reached) = mpsc::channel();
        let (resume, resume_rx) = mpsc::channel();
        self.state().trap = Some(Trap {
            skip,
            partial,
            reached: reached_tx,
            resume: resume_rx,
        });
        TrapHandle { reached, resume }
    }

    /// How many requests the client `name` has sent to `route` so far (the next one's
    /// number).
    pub fn requests_from(&self, name: &str, route: &str) -> u64 {
        let stream = format!("{name} {route}");
        self.state()
            .request_numbers
            .get(&stream)
            .copied()
            .unwrap_or(0)
    }

    /// Injects `fault` into request number `n` that the client `name` sends to `route`,
    /// whatever the schedule says.
    pub fn script(&self, name: &str, route: &str, n: u64, fault: Fault) {
        self.state()
            .scripted
            .insert((format!("{name} {route}"), n), fault);
    }

    /// Delivers the requests still held to arrive late (none is left behind at the end).
    pub fn release_late(&self) {
        self.shared.release_late();
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().expect("proxy state")
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees `stopping`.
        let _ = TcpStream::connect(&self.address);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

enum Decision {
    Pass,
    Fault(Fault, u64),
    Trapped(Trap),
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("proxy state")
    }

    fn decide(&self, request: &Request) -> Decision {
        let mut state = self.lock();
        state.counts.requests += 1;
        let client = state
            .names
            .get(&request.token)
            .cloned()
            .unwrap_or_else(|| format!("token {}", request.token));
        let stream = format!("{client} {}", request.route());
        let number = state.request_numbers.entry(stream.clone()).or_insert(0);
        let n = *number;
        *number += 1;
        if request.is_push()
            && let Some(trap) = state.trap.as_mut()
        {
            if trap.skip == 0 {
                let trap = state.trap.take().expect("the trap");
                state.counts.trapped_pushes += 1;
                let line = format!(
                    "{stream} #{n} {} {} -> trapped",
                    request.method, request.path
                );
                state.log.push(line);
                return Decision::Trapped(trap);
            }
            trap.skip -= 1;
        }
        let scripted = state.scripted.remove(&(stream.clone(), n));
        match scripted.or_else(|| self.schedule.decide(&stream, n)) {
            None => Decision::Pass,
            Some(fault) => {
                let line = format!(
                    "{stream} #{n} {} {} -> {fault:?}",
                    request.method, request.path
                );
                state.log.push(line);
                Decision::Fault(fault, self.schedule.variant(&stream, n))
            }
        }
    }

    fn count(&self, f: impl FnOnce(&mut Counts)) {
        f(&mut self.lock().counts);
    }

    /// Counts a fault that really happened to `request`.
    fn happened(&self, fault: Fault, request: &Request) {
        let mut state = self.lock();
        let counts = &mut state.counts;
        match fault {
            Fault::DropRequest => counts.dropped_requests += 1,
            Fault::DropResponse => counts.dropped_responses += 1,
            Fault::CutResponse => counts.cut_responses += 1,
            Fault::Duplicate => counts.duplicated += 1,
            Fault::Delay => counts.delayed += 1,
            Fault::Late => counts.late_delivered += 1,
        }
        if request.is_push() {
            *counts.on_pushes.entry(fault).or_default() += 1;
        }
    }

    /// Sends one request to the server on a fresh connection and reads its whole answer.
    fn forward(&self, request: &Request) -> io::Result<Vec<u8>> {
        let mut server = connect(&self.upstream)?;
        server.write_all(&request.head)?;
        server.write_all(&request.body)?;
        server.flush()?;
        read_response(&mut BufReader::new(server))
    }

    /// After a request reached the server: wake delayed requests and deliver the late ones.
    fn passed_one(&self) {
        self.lock().passes += 1;
        self.passed.notify_all();
        self.release_late();
    }

    fn release_late(&self) {
        let late = std::mem::take(&mut self.lock().late);
        for request in late {
            if self.forward(&request).is_ok() {
                self.happened(Fault::Late, &request);
            }
        }
    }

    /// Forwards a request; on success wakes the others and returns the answer.
    fn deliver(&self, request: &Request) -> Option<Vec<u8>> {
        let answer = self.forward(request).ok();
        if answer.is_some() {
            self.passed_one();
        }
        answer
    }

    fn wait_for_a_pass(&self) {
        let state = self.lock();
        let before = state.passes;
        let (mut state, _) = self
            .passed
            .wait_timeout_while(state, DELAY_BOUND, |s| s.passes == before)
            .expect("proxy state");
        if state.passes != before {
            state.counts.overtaken += 1;
        }
    }

    fn spring(&self, trap: &Trap, request: &Request) {
        if let Ok(mut server) = connect(&self.upstream) {
            let body = if trap.partial {
                &request.body[..request.body.len() / 2]
            } else {
                &request.body[..]
            };
            let _ = server
                .write_all(&request.head)
                .and_then(|()| server.write_all(body))
                .and_then(|()| server.flush());
            let _ = trap.reached.send(());
            let _ = trap.resume.recv();
            // Whatever the dying server said is lost with it.
            let _ = read_response(&mut BufReader::new(server));
        } else {
            let _ = trap.reached.send(());
            let _ = trap.resume.recv();
        }
    }
}

fn connect(address: &str) -> io::Result<TcpStream> {
    let address = address
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::other("no address"))?;
    let stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(UPSTREAM_TIMEOUT))?;
    stream.set_write_timeout(Some(UPSTREAM_TIMEOUT))?;
    Ok(stream)
}

/// Serves one device connection: request after request until it closes or a fault closes
/// it.
fn serve(shared: &Shared, client: TcpStream) {
    let Ok(reading) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reading);
    let mut writer = client;
    while let Ok(Some(request)) = read_request(&mut reader) {
        let keep_open = match shared.decide(&request) {
            Decision::Pass => answer(shared, &request, &mut writer),
            Decision::Trapped(trap) => {
                shared.spring(&trap, &request);
                false
            }
            Decision::Fault(fault, variant) => {
                inject(shared, fault, variant, &request, &mut writer);
                false
            }
        };
        if !keep_open {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

/// Forwards and answers; a server that is not there is a 502, as from any proxy.
fn answer(shared: &Shared, request: &Request, writer: &mut TcpStream) -> bool {
    match shared.deliver(request) {
        Some(response) => {
            shared.count(|c| c.passed += 1);
            writer.write_all(&response).is_ok()
        }
        None => {
            shared.count(|c| c.unreachable += 1);
            let body = r#"{"code":"bad_gateway","message":"the sync server is not there"}"#;
            let _ = write!(
                writer,
                "HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            false
        }
    }
}

fn inject(shared: &Shared, fault: Fault, variant: u64, request: &Request, writer: &mut TcpStream) {
    match fault {
        Fault::DropRequest => shared.happened(fault, request),
        Fault::DropResponse => {
            if shared.deliver(request).is_some() {
                shared.happened(fault, request);
            }
        }
        Fault::CutResponse => {
            if let Some(response) = shared.deliver(request) {
                shared.happened(fault, request);
                let _ = writer.write_all(&response[..response.len() / 2]);
            }
        }
        Fault::Duplicate => {
            let (first, second) = if variant & 1 == 0 {
                thread::scope(|s| {
                    let other = s.spawn(|| shared.forward(request).ok());
                    let first = shared.forward(request).ok();
                    (first, other.join().expect("duplicate"))
                })
            } else {
                let first = shared.forward(request).ok();
                (first, shared.forward(request).ok())
            };
            if first.is_some() || second.is_some() {
                shared.passed_one();
            }
            if first.is_some() && second.is_some() {
                shared.happened(fault, request);
                if variant & 1 == 0 {
                    shared.count(|c| c.duplicated_at_once += 1);
                }
            }
            let chosen = if variant & 2 == 0 {
                first.or(second)
            } else {
                second.or(first)
            };
            if let Some(response) = chosen {
                let _ = writer.write_all(&response);
            }
        }
        Fault::Delay => {
            shared.wait_for_a_pass();
            shared.happened(fault, request);
            answer(shared, request, writer);
        }
        Fault::Late => {
            let mut state = shared.lock();
            state.counts.late_held += 1;
            state.late.push(request.clone());
        }
    }
}

/// An HTTP message's start line and headers.
type Head = (String, Vec<(String, String)>);

/// Reads the head of an HTTP/1.1 message: the start line and the headers, lower-cased
/// names. `None` at a clean end of the connection.
fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut start = String::new();
    if reader.read_line(&mut start)? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| io::Error::other(format!("bad header line {line:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(Some((start.trim_end().to_string(), headers)))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Reads a body framed by Content-Length or chunked encoding, as raw bytes; with neither,
/// `to_end` says whether the body runs to the end of the connection.
fn read_body(
    reader: &mut impl BufRead,
    headers: &[(String, String)],
    to_end: bool,
) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if header(headers, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line)?;
            body.extend_from_slice(size_line.as_bytes());
            let size =
                usize::from_str_radix(size_line.trim().split(';').next().unwrap_or_default(), 16)
                    .map_err(|e| io::Error::other(format!("bad chunk size {size_line:?}: {e}")))?;
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line)? == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                    body.extend_from_slice(line.as_bytes());
                    if line.trim().is_empty() {
                        return Ok(body);
                    }
                }
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
        }
    } else if let Some(length) = header(headers, "content-length") {
        let length: usize = length
            .parse()
            .map_err(|e| io::Error::other(format!("bad content-length: {e}")))?;
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    } else if to_end {
        reader.read_to_end(&mut body)?;
    }
    Ok(body)
}

fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let Some((start, headers)) = read_head(reader)? else {
        return Ok(None);
    };
    let mut parts = start.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let body = read_body(reader, &headers, false)?;
    let token = header(&headers, "authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    let mut head = format!("{start}\r\n");
    for (name, value) in &headers {
        if !matches!(
            name.as_str(),
            "connection" | "keep-alive" | "proxy-connection"
        ) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("connection: close\r\n\r\n");
    Ok(Some(Request {
        method,
        path,
        token,
        head: head.into_bytes(),
        body,
    }))
}

fn read_response(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let (start, headers) = read_head(reader)?.ok_or(io::ErrorKind::UnexpectedEof)?;
    let status: u16 = start
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {start:?}")))?;
    let no_body = status < 200 || status == 204 || status == 304;
    let body = if no_body {
        Vec::new()
    } else {
        read_body(reader, &headers, true)?
    };
    let mut message = format!("{start}\r\n");
    for (name, value) in &headers {
        message.push_str(&format!("{name}: {value}\r\n"));
    }
    message.push_str("\r\n");
    let mut message = message.into_bytes();
    message.extend_from_slice(&body);
    Ok(message)
}

#[test]
fn the_schedule_is_a_function_of_the_seed_and_puts_every_fault_in_every_block() {
    let schedule = Schedule::new(7, &ALL_FAULTS, 2);
    let again = Schedule::new(7, &ALL_FAULTS, 2);
    let block = 18;
    for client in ["Door 1 /v1/push", "Organizer /v1/pull"] {
        let faults: Vec<_> = (0..block * 3).map(|n| schedule.decide(client, n)).collect();
        let replayed: Vec<_> = (0..block * 3).map(|n| again.decide(client, n)).collect();
        assert_eq!(faults, replayed);
        for chunk in faults.chunks(block as usize) {
            for fault in ALL_FAULTS {
                assert_eq!(chunk.iter().filter(|f| **f == Some(fault)).count(), 1);
            }
            assert_eq!(chunk.iter().filter(|f| f.is_none()).count(), 12);
        }
    }
    let other: Vec<_> = (0..block)
        .map(|n| Schedule::new(8, &ALL_FAULTS, 2).decide("Door 1 /v1/push", n))
        .collect();
    let first: Vec<_> = (0..block)
        .map(|n| schedule.decide("Door 1 /v1/push", n))
        .collect();
    assert_ne!(other, first, "another seed, other places");
}
