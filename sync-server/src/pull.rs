//! `GET /v1/pull`: events after a position, in global order, only of the conferences the
//! device may see, with the results of its own commands that the server rebased or
//! rejected. Runs on a reader connection inside one read transaction, so the page, the
//! head and the outcomes agree.
//!
//! The page is `conference_protocol::sync::PullResponse` in JSON, written here on the
//! reader's thread; payloads go out as the stored JSON text, never parsed into a tree.
use crate::device::Device;
use crate::error::{ApiError, DbError};
use crate::store::{self, Db};
use conference_domain::stream::StreamId;
use conference_protocol::sync::PushResult;
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::HashMap;
use uuid::Uuid;

pub(crate) const DEFAULT_LIMIT: u32 = 500;
pub(crate) const MAX_LIMIT: u32 = 5000;
/// Outcomes per page; more arrive with the next pulls.
const MAX_OUTCOMES: i64 = 1000;

#[derive(Clone, Debug, Default)]
pub(crate) struct PullParams {
    pub after: i64,
    pub limit: u32,
    pub conference: Option<String>,
    /// Highest schema version per event type the device reads (the `x-conference-schema`
    /// header); `None` when it did not say.
    pub schema: Option<HashMap<String, u32>>,
}

/// `PullResponse`, field for field.
#[derive(Debug, Serialize)]
pub(crate) struct Page {
    events: Vec<PageEvent>,
    next_after: i64,
    head: i64,
    outcomes: Vec<PushResult>,
}

/// `PulledEvent` (with its `WireEvent` flattened), the payload as stored.
#[derive(Debug, Serialize)]
struct PageEvent {
    position: i64,
    device_id: Uuid,
    command_id: Uuid,
    stream: String,
    version: u64,
    event_type: String,
    schema_version: u32,
    payload: Box<RawValue>,
    recorded_at: String,
}

/// A page as the JSON body of the answer.
pub(crate) fn pull_json(
    db: &mut dyn Db,
    device: &Device,
    params: &PullParams,
) -> Result<Vec<u8>, ApiError> {
    let page = store::in_snapshot(db, |db| pull(db, device, params))?;
    // Sized up front: a page of 5,000 events is megabytes, and a buffer grown by doubling
    // would hold up to twice that (and copy it on every step) while devices pull at once.
    let mut body = Vec::with_capacity(page.serialized_size_hint());
    serde_json::to_writer(&mut body, &page)
        .map_err(|e| ApiError::Internal(format!("a pull page did not serialize: {e}")))?;
    Ok(body)
}

impl Page {
    /// About the length of the page's JSON: its payloads, streams and times, and a little
    /// for each event's other fields (ids, numbers, names, punctuation).
    fn serialized_size_hint(&self) -> usize {
        const PER_EVENT: usize = 220;
        const PER_OUTCOME: usize = 300;
        let events: usize = self
            .events
            .iter()
            .map(|e| {
                e.payload.get().len()
                    + e.stream.len()
                    + e.event_type.len()
                    + e.recorded_at.len()
                    + PER_EVENT
            })
            .sum();
        events + self.outcomes.len() * PER_OUTCOME + 128
    }
}

/// One page; call it inside a snapshot ([`store::in_snapshot`]) so the page, the head and
/// the outcomes agree.
pub(crate) fn pull(
    db: &mut dyn Db,
    device: &Device,
    params: &PullParams,
) -> Result<Page, ApiError> {
    let filter: Option<Vec<Uuid>> = match &params.conference {
        Some(slug) => {
            if !device.may_see_slug(slug) {
                return Err(ApiError::forbidden(
                    "forbidden_conference",
                    format!(
                        "Device `{}` was not given conference `{slug}`; it may pull {}",
                        device.name,
                        device
                            .conferences
                            .iter()
                            .map(|c| format!("`{c}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            let id = db.conference_by_slug(slug)?.ok_or_else(|| {
                ApiError::not_found(
                    "unknown_conference",
                    format!("The server has no conference with the slug `{slug}`"),
                )
            })?;
            Some(vec![id])
        }
        None => device.allowed_ids(db)?.map(|ids| ids.into_iter().collect()),
    };
    let head = db.head()?;
    let limit = params.limit.clamp(1, MAX_LIMIT);
    let mut events = match &filter {
        Some(ids) if ids.is_empty() => vec![],
        _ => read_events(db, params.after, limit, filter.as_deref())?,
    };
    // Where the next page starts, whatever this device is shown of this one.
    let next_after = events.last().map_or(params.after, |e| e.position);
    if let Some(schema) = &params.schema {
        // A device that knows no allotments (V1) cannot name a device's allotment stream:
        // it sees the pool's side of each grant instead (a downcast).
        if !schema.contains_key("AllotmentReceived") {
            events.retain(|e| !is_allotment_stream(&e.stream));
        }
        for event in &mut events {
            for_reader(schema, event)?;
        }
    } else if let Some(marker) = events
        .iter()
        .find(|e| conference_domain::neutralise::is_marker(&e.event_type))
    {
        // A device that says nothing of what it reads predates markers: it would keep
        // showing the event the marker takes out.
        return Err(ApiError::UpgradeRequired(format!(
            "Event {} at position {} neutralises an earlier event, which this device cannot honour; upgrade the app on this device to sync",
            marker.stream, marker.position
        )));
    }
    let outcomes = outcomes(db, device.id, params.after)?;
    Ok(Page {
        events,
        next_after,
        head,
        outcomes,
    })
}

/// A page holds at most this many bytes of event payloads (and always one event at
/// least), however many events were asked for: a device's memory and the server's stay
/// bounded whatever the events weigh.
pub(crate) const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Events read per query while a page fills.
const CHUNK: u32 = 1_000;

fn read_events(
    db: &mut dyn Db,
    after: i64,
    limit: u32,
    conferences: Option<&[Uuid]>,
) -> Result<Vec<PageEvent>, DbError> {
    let mut events = Vec::new();
    let mut bytes = 0;
    let mut from = after;
    while (events.len() as u32) < limit {
        let want = CHUNK.min(limit - events.len() as u32);
        let rows = db.events_page(from, want, conferences)?;
        let read = rows.len();
        for row in rows {
            if !events.is_empty() && bytes + row.payload.len() > MAX_PAGE_BYTES {
                return Ok(events);
            }
            bytes += row.payload.len();
            from = row.position;
            events.push(page_event(row)?);
        }
        if (read as u32) < want {
            break;
        }
    }
    Ok(events)
}

fn page_event(row: crate::store::EventRow) -> Result<PageEvent, DbError> {
    let position = row.position;
    let stream = StreamId::from_key(&row.stream_key)
        .map_err(|e| DbError::corrupt(format!("event {position}"), e))?;
    Ok(PageEvent {
        position,
        command_id: row.command_id,
        device_id: row.device_id,
        stream: stream.to_string(),
        version: row.stream_version,
        event_type: row.event_type,
        schema_version: row.schema_version,
        payload: RawValue::from_string(row.payload)
            .map_err(|e| DbError::corrupt(format!("event {position}"), e))?,
        recorded_at: row.recorded_at,
    })
}

fn is_allotment_stream(stream: &str) -> bool {
    StreamId::parse(stream).is_ok_and(|s| s.holder != conference_domain::stream::Holder::Pool)
}

/// Serves `event` in a shape the device reads (it said which in the `x-conference-schema`
/// header): as stored, or walked back along the domain's downcasters during a rolling
/// upgrade; 426 when no shape it reads can say it.
fn for_reader(schema: &HashMap<String, u32>, event: &mut PageEvent) -> Result<(), ApiError> {
    let reads = |event_type: &str| schema.get(event_type).copied();
    if reads(&event.event_type).is_some_and(|max| max >= event.schema_version) {
        return Ok(());
    }
    let upgrade = |what: String| {
        ApiError::UpgradeRequired(format!(
            "Event {} at position {} is `{}` version {}, which {what}; upgrade the app on this device to sync",
            event.stream, event.position, event.event_type, event.schema_version
        ))
    };
    let payload: serde_json::Value = serde_json::from_str(event.payload.get())
        .map_err(|e| ApiError::Internal(format!("event {} is not JSON: {e}", event.position)))?;
    let (event_type, version, payload) = conference_domain::upcast::for_reader(
        reads,
        &event.event_type,
        event.schema_version,
        payload,
    )
    .map_err(|_| match reads(&event.event_type) {
        Some(max) => upgrade(format!("this device reads only up to version {max}")),
        None => upgrade("this device does not read".to_string()),
    })?;
    event.event_type = event_type;
    event.schema_version = version;
    event.payload = RawValue::from_string(payload.to_string())
        .map_err(|e| ApiError::Internal(format!("a served event did not serialize: {e}")))?;
    Ok(())
}

fn outcomes(db: &mut dyn Db, device: Uuid, after: i64) -> Result<Vec<PushResult>, DbError> {
    db.outcomes(device, after, MAX_OUTCOMES)?
        .into_iter()
        .map(|(command_id, text)| {
            serde_json::from_str(&text)
                .map_err(|e| DbError::corrupt(format!("the result of command {command_id}"), e))
        })
        .collect()
}

pub(crate) fn parse_schema_header(text: &str) -> Result<HashMap<String, u32>, ApiError> {
    serde_json::from_str(text).map_err(|e| {
        ApiError::BadRequest(format!(
            "The {} header must be a JSON object of event type to highest schema version read, like {{\"OrderPlaced\": 1}}: {e}",
            conference_protocol::sync::SCHEMA_HEADER
        ))
    })
}
