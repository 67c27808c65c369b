//! Shared helpers: the server in-process on 127.0.0.1:0 with a temporary database, devices
//! registered with it, and local device stores (`conference_app::App`) whose outbox makes
//! realistic pushes.
//!
//! The database is a fresh SQLite file, or, when `CONFERENCE_SYNC_TEST_POSTGRES` holds the
//! URL of a PostgreSQL database whose user may create databases, a fresh PostgreSQL
//! database per server (dropped afterwards): the same suite runs against both backends
//! (`cargo xtask test` runs it twice).
//!
//! tidy: long because it is the suite's one helper module (the in-process server on either
//! database backend, and a device store that builds real pushes), used by every test file;
//! the process harness other crates share is in conference-testkit.
#![allow(dead_code)]

use conference_app::{App, Ctx, NewConference, PaymentInput, SaleInput};
use conference_domain::DeviceId;
use conference_domain::stream::StreamId;
use conference_domain::values::SeatQuantity;
use conference_protocol::sync::{
    PullResponse, PulledEvent, PushCommand, PushRequest, PushResponse, WireEvent,
};
use conference_sync_server::{Database, Role, ServeError, Settings, admin};
use conference_testkit::store::TestStore;
use reqwest::StatusCode;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// An outbox row: (device_seq, command_id, command_type, command), created_at, reads.
type OutboxRow = ((i64, Uuid, String, String), String, Option<String>);
use uuid::Uuid;

/// How long a test waits for something before it fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct TestServer {
    pub base: String,
    pub database: Database,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), ServeError>>>,
    /// The first instance owns the database (and its folder); another one shares it.
    _dir: Option<tempfile::TempDir>,
}

/// A device the server knows.
#[derive(Clone, Debug)]
pub struct TestDevice {
    pub id: Uuid,
    pub token: String,
}

/// The PostgreSQL server the suite runs against, when it does.
pub const POSTGRES_ENV: &str = "CONFERENCE_SYNC_TEST_POSTGRES";

/// Runs blocking database work off the async test runtime (the PostgreSQL client blocks
/// on a runtime of its own, which must not run inside another).
pub fn blocking<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| scope.spawn(f).join().expect("blocking work panicked"))
}

/// A new empty database: a file in `dir`, or a new PostgreSQL database.
pub fn fresh_database(dir: &std::path::Path) -> Database {
    let Ok(url) = std::env::var(POSTGRES_ENV) else {
        return Database::Sqlite(dir.join("server.db"));
    };
    let name = format!("conference_test_{}", Uuid::now_v7().simple());
    blocking(|| {
        let mut admin = postgres::Client::connect(&url, postgres::NoTls)
            .expect("connect to the test PostgreSQL");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a test database");
    });
    Database::Postgres(with_database_name(&url, &name))
}

/// `url` naming database `name` instead of its own.
pub fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// Drops a test's PostgreSQL database (its server's connections are cut).
fn drop_database(database: &Database) {
    let (Database::Postgres(url), Ok(admin_url)) = (database, std::env::var(POSTGRES_ENV)) else {
        return;
    };
    let Some(name) = url
        .rsplit('/')
        .next()
        .map(|n| n.split('?').next().unwrap_or(n).to_string())
    else {
        return;
    };
    blocking(|| {
        if let Ok(mut admin) = postgres::Client::connect(&admin_url, postgres::NoTls) {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    });
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if self._dir.is_some() {
            drop_database(&self.database);
        }
    }
}

/// Starts a server with a fresh database on a free port and waits until it answers.
pub async fn spawn_sync_server() -> TestServer {
    spawn_sync_server_with(|_| {}).await
}

/// A server whose settings `adjust` changes first (limits, the keep-alive interval).
pub async fn spawn_sync_server_with(adjust: impl FnOnce(&mut Settings)) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = fresh_database(dir.path());
    let mut settings = Settings::new(database);
    adjust(&mut settings);
    spawn_with(settings, Some(dir)).await
}

/// Starts a server on `database`; it owns (and drops) the database when given its folder.
async fn spawn_on(database: Database, dir: Option<tempfile::TempDir>) -> TestServer {
    spawn_with(Settings::new(database), dir).await
}

async fn spawn_with(settings: Settings, dir: Option<tempfile::TempDir>) -> TestServer {
    let database = settings.database.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(conference_sync_server::serve(settings, listener, async {
        let _ = stop.await;
    }));
    let client = reqwest::Client::builder()
        .timeout(DEADLINE)
        .build()
        .expect("client");
    let server = TestServer {
        base,
        database,
        client,
        shutdown: Some(shutdown),
        task: Some(task),
        _dir: dir,
    };
    wait_until_healthy(&server).await;
    server
}

async fn wait_until_healthy(server: &TestServer) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Ok(r) = server.client.get(server.url("/healthz")).send().await
            && r.status() == StatusCode::OK
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server did not answer /healthz in time"
        );
        tokio::task::yield_now().await;
    }
}

impl TestServer {
    /// Another server instance on the same database (drop it before this one).
    pub async fn another_instance(&self) -> TestServer {
        spawn_on(self.database.clone(), None).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Registers a device the way the admin does.
    pub fn add_device(&self, name: &str, role: Role, conferences: &[&str]) -> TestDevice {
        let conferences: Vec<String> = conferences.iter().map(ToString::to_string).collect();
        let device = blocking(|| admin::add_device(&self.database, name, role, &conferences))
            .expect("add device");
        TestDevice {
            id: device.device_id,
            token: device.token,
        }
    }

    pub async fn post(&self, device: &TestDevice, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url(path))
            .bearer_auth(&device.token)
            .json(body)
            .send()
            .await
            .expect("send");
        let status = response.status();
        (status, response.json().await.expect("a JSON body"))
    }

    pub async fn get(&self, device: &TestDevice, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(&device.token)
            .send()
            .await
            .expect("send");
        let status = response.status();
        (status, response.json().await.expect("a JSON body"))
    }

    pub async fn push(&self, device: &TestDevice, request: &PushRequest) -> (StatusCode, Value) {
        self.post(
            device,
            "/v1/push",
            &serde_json::to_value(request).expect("json"),
        )
        .await
    }

    /// The server's `/metrics` text, read with an organizer's or back office's token.
    pub async fn metrics(&self, device: &TestDevice) -> String {
        let response = self
            .client
            .get(self.url("/metrics"))
            .bearer_auth(&device.token)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.expect("the metrics text")
    }

    /// Pushes and expects success.
    pub async fn push_ok(&self, device: &TestDevice, request: &PushRequest) -> PushResponse {
        let (status, body) = self.push(device, request).await;
        assert_eq!(status, StatusCode::OK, "push refused: {body}");
        serde_json::from_value(body).expect("a PushResponse")
    }

    /// Pushes the device's commands not pushed yet, and expects success.
    pub async fn push_pending(&self, local: &mut Local) -> PushResponse {
        let request = local.pending();
        self.push_ok(&local.device, &request).await
    }

    pub async fn pull_page(
        &self,
        device: &TestDevice,
        after: i64,
        limit: u32,
        conference: Option<&str>,
    ) -> PullResponse {
        let mut path = format!("/v1/pull?after={after}&limit={limit}");
        if let Some(slug) = conference {
            path.push_str(&format!("&conference={slug}"));
        }
        // As a device of this build pulls: saying which event versions it reads.
        let response = self
            .client
            .get(self.url(&path))
            .bearer_auth(&device.token)
            .header(
                conference_protocol::sync::SCHEMA_HEADER,
                serde_json::to_string(&conference_domain::aggregate::schema_versions())
                    .expect("json"),
            )
            .send()
            .await
            .expect("send");
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON body");
        assert_eq!(status, StatusCode::OK, "pull refused: {body}");
        serde_json::from_value(body).expect("a PullResponse")
    }

    /// Every event the device may see, page by page.
    pub async fn pull_all(&self, device: &TestDevice) -> Vec<PulledEvent> {
        let mut after = 0;
        let mut events = Vec::new();
        loop {
            let page = self.pull_page(device, after, 500, None).await;
            if page.events.is_empty() {
                return events;
            }
            after = page.next_after;
            events.extend(page.events);
        }
    }

    /// The first column of each row `sql` returns, read straight from the server's
    /// database (SQL both backends take).
    pub fn numbers(&self, sql: &str) -> Vec<i64> {
        blocking(|| match &self.database {
            Database::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).expect("open server db");
                let mut stmt = conn.prepare(sql).expect("prepare");
                stmt.query_map([], |r| r.get(0))
                    .expect("query")
                    .collect::<Result<_, _>>()
                    .expect("rows")
            }
            Database::Postgres(url) => {
                let mut client =
                    postgres::Client::connect(url, postgres::NoTls).expect("open server db");
                client
                    .query(sql, &[])
                    .expect("query")
                    .iter()
                    .map(|row| {
                        row.try_get::<_, i64>(0)
                            .or_else(|_| row.try_get::<_, i32>(0).map(i64::from))
                            .expect("a number")
                    })
                    .collect()
            }
        })
    }

    /// Runs `sql` straight on the server's database (SQL both backends take), as a
    /// database written by an older release could hold.
    pub fn execute(&self, sql: &str) {
        blocking(|| match &self.database {
            Database::Sqlite(path) => {
                rusqlite::Connection::open(path)
                    .expect("open server db")
                    .execute_batch(sql)
                    .expect("execute");
            }
            Database::Postgres(url) => {
                postgres::Client::connect(url, postgres::NoTls)
                    .expect("open server db")
                    .batch_execute(sql)
                    .expect("execute");
            }
        });
    }

    /// An id as a SQL literal of the server's database.
    pub fn id_literal(&self, id: Uuid) -> String {
        match &self.database {
            Database::Sqlite(_) => format!("x'{}'", id.simple()),
            Database::Postgres(_) => format!("'{id}'"),
        }
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.numbers(sql)[0]
    }

    /// The conference an event was stored under.
    pub fn event_conference(&self, position: i64) -> Option<Uuid> {
        blocking(|| match &self.database {
            Database::Sqlite(path) => rusqlite::Connection::open(path)
                .expect("open server db")
                .query_row(
                    "SELECT conference_id FROM events WHERE position = ?1",
                    [position],
                    |r| r.get(0),
                )
                .expect("the event"),
            Database::Postgres(url) => postgres::Client::connect(url, postgres::NoTls)
                .expect("open server db")
                .query_one(
                    "SELECT conference_id FROM events WHERE position = $1",
                    &[&position],
                )
                .expect("the event")
                .get(0),
        })
    }

    /// The device id of the events the server authors.
    pub fn server_device_id(&self) -> Uuid {
        blocking(|| match &self.database {
            Database::Sqlite(path) => rusqlite::Connection::open(path)
                .expect("open server db")
                .query_row("SELECT server_device_id FROM server", [], |r| r.get(0))
                .expect("the server row"),
            Database::Postgres(url) => postgres::Client::connect(url, postgres::NoTls)
                .expect("open server db")
                .query_one("SELECT server_device_id FROM server", &[])
                .expect("the server row")
                .get(0),
        })
    }

    pub async fn reconciliation(&self, device: &TestDevice) -> Vec<Value> {
        let (status, body) = self.get(device, "/v1/reconciliation").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().expect("a list").clone()
    }

    /// Stops the server gracefully and checks that it stopped cleanly.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(DEADLINE, task)
                .await
                .expect("the server stops in time")
                .expect("the server task")
                .expect("the server ran without error");
        }
    }
}

// ---------------------------------------------------------------- local devices

pub use conference_testkit::clock::{at, ctx, minute};

/// A device's own store, with the device id the server gave it.
pub struct Local {
    pub app: App,
    pub path: PathBuf,
    pub device: TestDevice,
    /// The last device_seq handed out by `pending`.
    pushed: i64,
    _store: TestStore,
}

impl Local {
    /// A store for `device`. A connected store sells from its allotment and leaves the pool
    /// to the server; a standalone one owns its pool (as before it ever synced).
    pub fn new(device: &TestDevice, connected: bool) -> Self {
        let store = TestStore::named("device.db");
        let path = store.path.clone();
        let mut app = App::open(&path).expect("open store");
        app.store_mut()
            .init_device(DeviceId::from_uuid(device.id), "test device", minute(0))
            .expect("init");
        if connected {
            app.connect("http://127.0.0.1:9", &device.token)
                .expect("connect");
        }
        Self {
            app,
            path,
            device: device.clone(),
            pushed: 0,
            _store: store,
        }
    }

    /// Every outbox command after `after`, with the events it wrote, as the device pushes.
    pub fn commands_after(&self, after: i64) -> Vec<PushCommand> {
        let conn = rusqlite::Connection::open(&self.path).expect("open device store");
        let mut stmt = conn
            .prepare(
                "SELECT device_seq, command_id, command_type, command, created_at, reads FROM outbox WHERE device_seq > ?1 ORDER BY device_seq",
            )
            .expect("outbox");
        let rows: Vec<OutboxRow> = stmt
            .query_map([after], |r| {
                Ok((
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?),
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .expect("outbox rows")
            .collect::<Result<_, _>>()
            .expect("outbox rows");
        let mut events = conn
            .prepare(
                "SELECT stream_key, stream_version, event_type, schema_version, payload, recorded_at FROM events WHERE command_id = ?1 ORDER BY position",
            )
            .expect("events");
        rows.into_iter()
            .map(
                |((seq, command_id, command_type, command), now, reads)| PushCommand {
                    now: Some(now),
                    reads: reads
                        .map(|text| serde_json::from_str(&text).expect("outbox reads"))
                        .unwrap_or_default(),
                    device_seq: u64::try_from(seq).expect("positive"),
                    command_id,
                    command_type,
                    command: serde_json::value::RawValue::from_string(command)
                        .expect("command json"),
                    events: events
                        .query_map([command_id], |r| {
                            let key: Vec<u8> = r.get(0)?;
                            let payload: String = r.get(4)?;
                            Ok(WireEvent {
                                stream: StreamId::from_key(&key).expect("stream key").to_string(),
                                version: r.get(1)?,
                                event_type: r.get(2)?,
                                schema_version: r.get(3)?,
                                payload: serde_json::from_str(&payload).expect("payload"),
                                recorded_at: r.get(5)?,
                            })
                        })
                        .expect("events")
                        .collect::<Result<_, _>>()
                        .expect("events"),
                },
            )
            .collect()
    }

    /// The commands not handed out yet, as one push request.
    pub fn pending(&mut self) -> PushRequest {
        let commands = self.commands_after(self.pushed);
        if let Some(last) = commands.last() {
            self.pushed = i64::try_from(last.device_seq).expect("seq");
        }
        PushRequest { commands }
    }

    /// Every command of the outbox, as a device that lost its answers pushes again.
    pub fn pending_all(&self) -> PushRequest {
        PushRequest {
            commands: self.commands_after(0),
        }
    }

    /// Takes events the server sent into this store (as the device's sync does).
    pub fn apply(&mut self, events: Vec<PulledEvent>) {
        let next_after = events.last().map_or(0, |e| e.position);
        self.app
            .store_mut()
            .apply_pull(&PullResponse {
                events,
                next_after,
                head: next_after,
                outcomes: vec![],
            })
            .expect("apply pulled events");
    }

    /// A published conference with the given seat types (name, price, quantity).
    pub fn create_conference(&mut self, slug: &str, seat_types: &[(&str, &str, u32)]) {
        self.app
            .create_conference(
                &ctx(0),
                NewConference {
                    slug: slug.into(),
                    name: format!("{slug} conference"),
                    description: String::new(),
                    location: "Online".into(),
                    start: Some(at("2026-12-01T09:00:00Z")),
                    end: Some(at("2026-12-02T17:00:00Z")),
                    owner_name: "Ada Lovelace".into(),
                    owner_email: "ada@example.com".into(),
                    currency: Some("EUR".into()),
                },
            )
            .expect("create conference");
        for (name, price, quantity) in seat_types {
            self.add_seat_type(slug, name, price, *quantity);
        }
        self.app.publish(&ctx(0), slug, true).expect("publish");
    }

    pub fn add_seat_type(&mut self, slug: &str, name: &str, price: &str, quantity: u32) {
        self.app
            .add_seat_type(&ctx(0), slug, name, "", price, quantity)
            .expect("add seat type");
    }

    /// A promo code of `percent` % off every seat type.
    pub fn add_promo_code(&mut self, slug: &str, code: &str, percent: &str) {
        self.app
            .add_promo_code(
                &ctx(0),
                slug,
                &conference_app::NewPromoCode {
                    code: code.into(),
                    percent: Some(percent.into()),
                    amount: None,
                    scope: vec![],
                    max_uses: None,
                    exclusive: false,
                },
            )
            .expect("add promo code");
    }

    /// A door sale paid in cash; `allow_override` sells past the allotment.
    pub fn sell(&mut self, slug: &str, seats: &[&str], allow_override: bool) -> Uuid {
        self.app
            .sell(
                &ctx(1),
                &SaleInput {
                    slug: slug.into(),
                    seats: seats.iter().map(ToString::to_string).collect(),
                    promo_codes: vec![],
                    registrant: Some(("Grace".into(), "Hopper".into(), "grace@example.com".into())),
                    payment: Some(PaymentInput {
                        method: "cash".into(),
                        tendered: None,
                        reference: None,
                    }),
                    allow_override,
                },
            )
            .expect("sell")
            .id
    }

    /// Seats join this device's allotment as if the server had granted them (a command id
    /// of no grant: the server refuses it once it checks).
    pub fn receive(&mut self, slug: &str, seat_type: &str, quantity: u32) {
        self.receive_as(ctx(1), slug, seat_type, quantity);
    }

    /// Seats the server's pool granted at `grant_position` join this device's allotment,
    /// under the command id a device's sync gives that grant.
    pub fn receive_grant(
        &mut self,
        grant_position: i64,
        slug: &str,
        seat_type: &str,
        quantity: u32,
    ) {
        let device = DeviceId::from_uuid(self.device.id);
        let command_id = conference_app::command::receive_allotment_id(device, grant_position);
        self.receive_as(
            Ctx {
                command_id,
                now: minute(1),
            },
            slug,
            seat_type,
            quantity,
        );
    }

    fn receive_as(&mut self, ctx: Ctx, slug: &str, seat_type: &str, quantity: u32) {
        let conference_id = self.conference_id(slug).into();
        let seat_type = self.seat_type_id(slug, seat_type).into();
        self.app
            .execute(
                &ctx,
                &conference_app::command::UserCommand::ReceiveAllotment {
                    conference_id,
                    seats: vec![SeatQuantity::new(seat_type, quantity)],
                },
            )
            .expect("receive allotment");
    }

    pub fn conference_id(&self, slug: &str) -> Uuid {
        self.app.conference_id(slug).expect("conference").as_uuid()
    }

    pub fn seat_type_id(&self, slug: &str, name: &str) -> Uuid {
        self.app
            .conference(slug)
            .expect("conference")
            .seat_types
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no seat type {name}"))
            .id
    }
}

/// An organizer whose published conference `slug` the server already has (pushed).
pub async fn organizer_with_conference(
    server: &TestServer,
    slug: &str,
    seat_types: &[(&str, &str, u32)],
) -> Local {
    let device = server.add_device("organizer", Role::Organizer, &[]);
    let mut local = Local::new(&device, true);
    local.create_conference(slug, seat_types);
    all_applied(&server.push_ok(&device, &local.pending()).await);
    local
}

/// A door with `quantity` seats of `seat_type` from the pool, received in its own store
/// (the grant is pushed as its first command).
pub async fn door_with_allotment(
    server: &TestServer,
    organizer: &Local,
    conferences: &[&str],
    slug: &str,
    seat_type: &str,
    quantity: u32,
) -> Local {
    let door = server.add_device("door", Role::Door, conferences);
    let (status, body) = server
        .post(
            &door,
            "/v1/allotments",
            &serde_json::json!({
                "command_id": Uuid::now_v7(),
                "conference_id": organizer.conference_id(slug),
                "seats": [{ "seat_type_id": organizer.seat_type_id(slug, seat_type), "quantity": quantity }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut local = Local::new(&door, true);
    let pulled = server.pull_all(&door).await;
    let grant = of_type(&pulled, "SeatsAllotted")
        .into_iter()
        .rfind(|e| e.event.payload_value()["device"] == serde_json::json!(door.id))
        .expect("the grant")
        .position;
    local.apply(pulled);
    local.receive_grant(grant, slug, seat_type, quantity);
    local
}

/// Every command of a push was applied as pushed.
pub fn all_applied(response: &PushResponse) {
    assert!(
        response
            .results
            .iter()
            .all(|r| r.status == conference_protocol::sync::PushStatus::Applied),
        "{response:?}"
    );
}

/// Events of one type in a list of pulled events.
pub fn of_type<'a>(events: &'a [PulledEvent], event_type: &str) -> Vec<&'a PulledEvent> {
    events
        .iter()
        .filter(|e| e.event.event_type == event_type)
        .collect()
}
