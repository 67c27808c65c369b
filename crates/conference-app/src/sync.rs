//! The device side of sync: push this device's commands in order, pull everyone else's
//! events, react to what concerns this device (seats granted to it), and remember where it
//! stands. The transport is a trait so tests can put faults between device and server;
//! [`crate::http::HttpTransport`] is the real one.
use crate::command::UserCommand;
use crate::{App, AppError, Ctx, Result};
use conference_domain::aggregate::DomainEvent;
use conference_domain::seats;
use conference_domain::stream::{Holder, StreamKind};
use conference_domain::values::SeatQuantity;
use conference_domain::{ConferenceId, DeviceId, SeatTypeId, Timestamp};
use conference_protocol::sync::{
    AllotmentRequest, AllotmentResponse, PushRequest, PushStatus, ReconciliationItem, SeatCount,
};
use conference_store::sync::ServerLink;
use serde::{Deserialize, Serialize};

pub use crate::transport::{SyncError, Transport};

/// Commands per push request, and events per pull page.
/// A door sale pushes about 4 KB, so this stays well under the server's 1 MiB body limit;
/// a batch the server still finds too large is halved.
pub const PUSH_BATCH: usize = 50;
const PULL_PAGE: u32 = 5000;
/// A sync that keeps finding new work stops after this many rounds (and says so).
const MAX_ROUNDS: usize = 1_000;

/// What one sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub pushed: u32,
    pub applied: u32,
    pub rebased: u32,
    pub rejected: u32,
    pub pulled: u32,
    pub position: i64,
    /// Rejections nobody has read yet, newest last.
    pub rejections: Vec<conference_store::sync::Rejection>,
}

/// Where this device stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    pub device: conference_protocol::DeviceView,
    pub server_url: Option<String>,
    pub pending_commands: u64,
    pub last_sync_at: Option<String>,
    pub last_error: Option<String>,
    pub pulled_position: i64,
    pub allotments: Vec<AllotmentView>,
    pub rejections: Vec<conference_store::sync::Rejection>,
    /// Events from the server this device keeps but does not show, and why.
    #[serde(default)]
    pub set_aside: Vec<conference_store::sync::SetAside>,
}

impl StatusView {
    /// Whether the device is in touch with its server: it has one, has synced with it, and
    /// its last attempt did not fail.
    #[must_use]
    pub fn is_online(&self) -> bool {
        self.server_url.is_some() && self.last_sync_at.is_some() && self.last_error.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllotmentView {
    pub conference: String,
    pub seat_type: String,
    pub remaining: i64,
}

impl From<SyncError> for AppError {
    fn from(e: SyncError) -> Self {
        match &e {
            SyncError::Unreachable(_) => AppError::rejected("server_unreachable", e.to_string()),
            SyncError::SequenceGap { .. } => AppError::rejected("sequence_gap", e.to_string()),
            SyncError::Refused { body, .. } => AppError::rejected(&body.code, e.to_string()),
            SyncError::Untrusted(_) => AppError::rejected("server_untrusted", e.to_string()),
        }
    }
}

impl App {
    /// Remembers the server and token (the first time, the server takes over the seat pool),
    /// with no certificate pinned: for a server on this machine, or one whose certificate
    /// a public authority signed. Devices at a venue are enrolled instead ([`App::enroll`]).
    pub fn connect(&mut self, server_url: &str, token: &str) -> Result<()> {
        self.link(ServerLink {
            url: server_url.trim().trim_end_matches('/').to_string(),
            token: token.trim().to_string(),
            pin: None,
            insecure_http: false,
        })
    }

    /// Enrolls this device with the code its server's admin printed (`conference-sync
    /// device add`): the server's address, this device's token, and the server
    /// certificate's fingerprint, which is pinned. `insecure_http` allows a plain-HTTP
    /// address beyond this machine.
    pub fn enroll(&mut self, code: &str, insecure_http: bool) -> Result<ServerLink> {
        let enrollment =
            conference_protocol::enrollment::Enrollment::decode(code).map_err(|e| {
                AppError::invalid("invalid_enrollment_code", e.to_string())
                    .with_field("enrollment_code")
            })?;
        let link = ServerLink {
            url: enrollment.server.trim_end_matches('/').to_string(),
            token: enrollment.token,
            pin: enrollment.sha256,
            insecure_http,
        };
        self.link(link.clone())?;
        Ok(link)
    }

    fn link(&mut self, link: ServerLink) -> Result<()> {
        if !(link.url.starts_with("http://") || link.url.starts_with("https://")) {
            return Err(AppError::invalid(
                "invalid_server_url",
                format!(
                    "`{}` is not a server address; write it like https://10.0.0.5:8443",
                    link.url
                ),
            )
            .with_field("server"));
        }
        if link.token.is_empty() {
            return Err(AppError::invalid(
                "missing_token",
                "No device token: enroll with the code the server's admin gave you (`conference enroll CODE`)",
            )
            .with_field("token"));
        }
        #[cfg(feature = "http")]
        crate::http::check(&link)?;
        self.device()?;
        Ok(self.store.connect(&link)?)
    }

    /// The server, token and trust remembered at enrollment.
    pub fn sync_settings(&self) -> Result<Option<ServerLink>> {
        Ok(self.store().sync_state()?.map(|s| s.link))
    }

    /// Pushes every pending command, then pulls until caught up; repeats while pulling made
    /// new local commands (seats granted to this device). Resumable at any point.
    pub fn sync(&mut self, transport: &dyn Transport, now: Timestamp) -> Result<SyncReport> {
        sync_via(&Exclusive(std::cell::RefCell::new(self)), transport, now)
    }

    /// Seats the pool granted to this device become part of its own allotment.
    fn react_to_pulled(
        &mut self,
        event: &conference_store::Recorded,
        server_position: i64,
        now: Timestamp,
    ) -> Result<bool> {
        let me = self.device()?.device_id;
        let DomainEvent::Seats(seats::Event::SeatsAllotted(grant)) = &event.event else {
            return Ok(false);
        };
        if event.stream.kind != StreamKind::Seats
            || event.stream.holder != Holder::Pool
            || grant.device.as_uuid() != me
        {
            return Ok(false);
        }
        let ctx = Ctx {
            command_id: conference_exec::command::receive_allotment_id(
                DeviceId::from_uuid(me),
                server_position,
            ),
            now,
        };
        self.execute(
            &ctx,
            &UserCommand::ReceiveAllotment {
                conference_id: ConferenceId::from_uuid(event.stream.id),
                seats: grant.seats.clone(),
            },
        )?;
        Ok(true)
    }

    fn seat_counts(
        &self,
        slug: &str,
        seats: &[String],
    ) -> Result<(ConferenceId, Vec<SeatQuantity>)> {
        let conference_id = self.conference_id(slug)?;
        let conference = self.conference(slug)?;
        let mut out: Vec<SeatQuantity> = Vec::new();
        for spec in seats {
            let (name, quantity) = crate::input::parse_seat_spec(spec)?;
            let seat_type = conference
                .seat_types
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(&name))
                .map(|s| SeatTypeId::from_uuid(s.id))
                .ok_or_else(|| {
                    AppError::invalid(
                        "unknown_seat_type",
                        format!("Conference `{slug}` has no seat type `{name}`"),
                    )
                    .with_field("seat_type")
                })?;
            out.push(SeatQuantity::new(seat_type, quantity));
        }
        if out.iter().all(|s| s.quantity == 0) {
            return Err(
                AppError::invalid("no_seats", "Ask for at least one seat").with_field("seats")
            );
        }
        Ok((conference_id, out))
    }

    /// Asks the server's pool for seats for this device, then syncs so they arrive here.
    pub fn request_allotment(
        &mut self,
        transport: &dyn Transport,
        ctx: &Ctx,
        slug: &str,
        seats: &[String],
    ) -> Result<(AllotmentResponse, SyncReport)> {
        let (conference_id, seats) = self.seat_counts(slug, seats)?;
        let request = AllotmentRequest {
            command_id: ctx.command_id.as_uuid(),
            conference_id: conference_id.as_uuid(),
            seats: seats
                .iter()
                .map(|s| SeatCount {
                    seat_type_id: s.seat_type.as_uuid(),
                    quantity: s.quantity,
                })
                .collect(),
        };
        let granted = transport.request_allotment(&request)?;
        let report = self.sync(transport, ctx.now)?;
        Ok((granted, report))
    }

    /// Gives unsold seats of this device's allotment back to the pool (synced when online).
    pub fn return_allotment(&mut self, ctx: &Ctx, slug: &str, seats: &[String]) -> Result<()> {
        let (conference_id, seats) = self.seat_counts(slug, seats)?;
        self.execute(
            ctx,
            &UserCommand::ReturnAllotment {
                conference_id,
                seats,
            },
        )?;
        Ok(())
    }

    /// What the back office must look at, as the server has it now.
    pub fn reconciliation(&self, transport: &dyn Transport) -> Result<Vec<ReconciliationItem>> {
        Ok(transport.reconciliation()?)
    }

    pub fn status(&self) -> Result<StatusView> {
        let device = self.device()?;
        let state = self.store().sync_state()?;
        let mut allotments = Vec::new();
        if !device.owns_pool {
            for conference in self.conferences()? {
                for row in self.seats(&conference.slug)?.seat_types {
                    if let Some(remaining) = row.allotment_remaining {
                        allotments.push(AllotmentView {
                            conference: conference.slug.clone(),
                            seat_type: row.name,
                            remaining,
                        });
                    }
                }
            }
        }
        Ok(StatusView {
            device,
            server_url: state.as_ref().map(|s| s.link.url.clone()),
            pending_commands: self.store().pending_count()?,
            last_sync_at: state.as_ref().and_then(|s| s.last_sync_at.clone()),
            last_error: state.as_ref().and_then(|s| s.last_error.clone()),
            pulled_position: state.map_or(0, |s| s.pulled_after),
            allotments,
            rejections: self.store().rejections(false)?,
            set_aside: self.store().set_aside()?,
        })
    }
}

/// How a sync reaches the [`App`]: only for the store work between network calls, never
/// across one, so a shell shared by several threads (the desktop) goes on selling while the
/// server answers. [`App::sync`] holds the App throughout.
pub trait AppAccess {
    fn with_app<T>(&self, f: impl FnOnce(&mut App) -> Result<T>) -> Result<T>;
}

/// One caller's App, held for the whole sync.
struct Exclusive<'a>(std::cell::RefCell<&'a mut App>);

impl AppAccess for Exclusive<'_> {
    fn with_app<T>(&self, f: impl FnOnce(&mut App) -> Result<T>) -> Result<T> {
        f(&mut self.0.borrow_mut())
    }
}

impl AppAccess for std::sync::Mutex<App> {
    fn with_app<T>(&self, f: impl FnOnce(&mut App) -> Result<T>) -> Result<T> {
        f(&mut self
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

/// How far a running sync is: commands pushed, events pulled, and where pulling stands
/// against the server's head (a long first sync shows a bar with these).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    pub pushed: u32,
    pub pulled: u32,
    pub position: i64,
    pub head: i64,
}

/// [`App::sync`] for an App that others use meanwhile: `access` is taken for each store
/// step and let go during every request to the server.
pub fn sync_via(
    access: &impl AppAccess,
    transport: &dyn Transport,
    now: Timestamp,
) -> Result<SyncReport> {
    sync_via_reporting(access, transport, now, &mut |_| {})
}

/// [`sync_via`], telling `progress` after every request.
pub fn sync_via_reporting(
    access: &impl AppAccess,
    transport: &dyn Transport,
    now: Timestamp,
    progress: &mut dyn FnMut(SyncProgress),
) -> Result<SyncReport> {
    let mut report = SyncReport::default();
    let result = sync_rounds(access, transport, now, &mut report, progress);
    let error = result.as_ref().err().map(ToString::to_string);
    access.with_app(|app| Ok(app.store.record_sync(now, error.as_deref())?))?;
    result?;
    access.with_app(|app| {
        report.rejections = app.store().rejections(true)?;
        report.position = app.store().sync_state()?.map_or(0, |s| s.pulled_after);
        Ok(())
    })?;
    Ok(report)
}

fn sync_rounds(
    access: &impl AppAccess,
    transport: &dyn Transport,
    now: Timestamp,
    report: &mut SyncReport,
    progress: &mut dyn FnMut(SyncProgress),
) -> Result<()> {
    if !access.with_app(|app| Ok(app.store().identified()?))? {
        let me = transport.me()?;
        access.with_app(|app| {
            Ok(app
                .store
                .adopt_device_id(conference_domain::DeviceId::from_uuid(me.device_id))?)
        })?;
    }
    for _ in 0..MAX_ROUNDS {
        push_all(access, transport, now, report, progress)?;
        let made_commands = pull_all(access, transport, now, report, progress)?;
        if !made_commands && access.with_app(|app| Ok(app.store().pending_count()?))? == 0 {
            return Ok(());
        }
    }
    Err(AppError::rejected(
        "sync_unfinished",
        "Sync kept finding new work; run it again",
    ))
}

fn push_all(
    access: &impl AppAccess,
    transport: &dyn Transport,
    now: Timestamp,
    report: &mut SyncReport,
    progress: &mut dyn FnMut(SyncProgress),
) -> Result<()> {
    let mut batch = PUSH_BATCH;
    loop {
        let commands = access.with_app(|app| Ok(app.store().pending_pushes(batch)?))?;
        if commands.is_empty() {
            return Ok(());
        }
        let span = tracing::info_span!("push", commands = commands.len());
        let _entered = span.enter();
        let response = match transport.push(&PushRequest { commands }) {
            Err(SyncError::Refused { status: 413, .. }) if batch > 1 => {
                batch /= 2;
                continue;
            }
            other => other?,
        };
        for result in &response.results {
            report.pushed += 1;
            match result.status {
                PushStatus::Applied => report.applied += 1,
                PushStatus::Rebased => report.rebased += 1,
                PushStatus::Rejected => report.rejected += 1,
            }
        }
        if response.results.is_empty() {
            return Err(AppError::Store(
                "the server took none of the pushed commands".into(),
            ));
        }
        access.with_app(|app| Ok(app.store.record_push_results(&response.results, now)?))?;
        progress(SyncProgress {
            pushed: report.pushed,
            pulled: report.pulled,
            ..SyncProgress::default()
        });
    }
}

/// Pulls until caught up. Returns whether reacting to pulled events made new commands.
fn pull_all(
    access: &impl AppAccess,
    transport: &dyn Transport,
    now: Timestamp,
    report: &mut SyncReport,
    progress: &mut dyn FnMut(SyncProgress),
) -> Result<bool> {
    let mut made_commands = false;
    loop {
        let after =
            access.with_app(|app| Ok(app.store().sync_state()?.map_or(0, |s| s.pulled_after)))?;
        let page = transport.pull(after, PULL_PAGE)?;
        report.pulled += u32::try_from(page.events.len()).unwrap_or(u32::MAX);
        made_commands |= access.with_app(|app| {
            let applied = app.store.apply_pull(&page)?;
            let mut made = false;
            for (event, at) in applied.inserted.iter().zip(&applied.inserted_at) {
                made |= app.react_to_pulled(event, *at, now)?;
            }
            Ok(made)
        })?;
        progress(SyncProgress {
            pushed: report.pushed,
            pulled: report.pulled,
            position: page.next_after,
            head: page.head,
        });
        if page.events.is_empty() || page.next_after >= page.head {
            return Ok(made_commands);
        }
    }
}
