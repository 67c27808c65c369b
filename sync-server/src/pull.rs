//! `GET /v1/pull`: events after a position, in global order, only of the conferences the
//! device may see, with the results of its own commands that the server rebased or
//! rejected. Runs on a reader connection inside one read transaction, so the page, the
//! head and the outcomes agree.
//!
//! The page is `conference_protocol::sync::PullResponse` in JSON, written here on the
//! reader's thread; payloads go out as the stored JSON text, never parsed into a tree.
use crate::device::Device;
use crate::error::{ApiError, DbError};
use conference_domain::stream::StreamId;
use conference_protocol::sync::PushResult;
use rusqlite::{Connection, params_from_iter, types::Value};
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
    conn: &mut Connection,
    device: &Device,
    params: &PullParams,
) -> Result<Vec<u8>, ApiError> {
    let page = pull(conn, device, params)?;
    serde_json::to_vec(&page)
        .map_err(|e| ApiError::Internal(format!("a pull page did not serialize: {e}")))
}

pub(crate) fn pull(
    conn: &mut Connection,
    device: &Device,
    params: &PullParams,
) -> Result<Page, ApiError> {
    let tx = conn.transaction()?;
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
            let id = crate::log::conference_by_slug(&tx, slug)?.ok_or_else(|| {
                ApiError::not_found(
                    "unknown_conference",
                    format!("The server has no conference with the slug `{slug}`"),
                )
            })?;
            Some(vec![id])
        }
        None => device
            .allowed_ids(&tx)?
            .map(|ids| ids.into_iter().collect()),
    };
    let head = crate::db::head(&tx)?;
    let limit = params.limit.clamp(1, MAX_LIMIT);
    let mut events = match &filter {
        Some(ids) if ids.is_empty() => vec![],
        _ => read_events(&tx, params.after, limit, filter.as_deref())?,
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
    }
    let outcomes = outcomes(&tx, device.id, params.after)?;
    drop(tx);
    Ok(Page {
        events,
        next_after,
        head,
        outcomes,
    })
}

fn read_events(
    conn: &Connection,
    after: i64,
    limit: u32,
    conferences: Option<&[Uuid]>,
) -> Result<Vec<PageEvent>, DbError> {
    const COLUMNS: &str = "SELECT position, stream_key, stream_version, event_type, schema_version, payload, command_id, device_id, recorded_at FROM events";
    let mut values: Vec<Value> = vec![Value::Integer(after), Value::Integer(i64::from(limit))];
    let sql = match conferences {
        None => format!("{COLUMNS} WHERE position > ?1 ORDER BY position LIMIT ?2"),
        Some(ids) => {
            let marks: Vec<String> = (0..ids.len()).map(|i| format!("?{}", i + 3)).collect();
            values.extend(ids.iter().map(|id| Value::Blob(id.as_bytes().to_vec())));
            format!(
                "{COLUMNS} WHERE conference_id IN ({}) AND position > ?1 ORDER BY position LIMIT ?2",
                marks.join(", ")
            )
        }
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(values))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let position: i64 = row.get(0)?;
        let key: Vec<u8> = row.get(1)?;
        let stream = StreamId::from_key(&key)
            .map_err(|e| DbError::corrupt(format!("event {position}"), e))?;
        let payload: String = row.get(5)?;
        out.push(PageEvent {
            position,
            command_id: row.get(6)?,
            device_id: row.get(7)?,
            stream: stream.to_string(),
            version: row.get(2)?,
            event_type: row.get(3)?,
            schema_version: row.get(4)?,
            payload: RawValue::from_string(payload)
                .map_err(|e| DbError::corrupt(format!("event {position}"), e))?,
            recorded_at: row.get(8)?,
        });
    }
    Ok(out)
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

fn outcomes(conn: &Connection, device: Uuid, after: i64) -> Result<Vec<PushResult>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT command_id, result FROM commands
         WHERE device_id = ?1 AND status IN ('rebased', 'rejected') AND recorded_position > ?2
         ORDER BY recorded_position, device_seq LIMIT ?3",
    )?;
    let mut rows = stmt.query(rusqlite::params![device, after, MAX_OUTCOMES])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let command_id: Uuid = row.get(0)?;
        let text: String = row.get(1)?;
        out.push(
            serde_json::from_str(&text)
                .map_err(|e| DbError::corrupt(format!("the result of command {command_id}"), e))?,
        );
    }
    Ok(out)
}

/// Parses the `x-conference-schema` header: a JSON object of event type → version.
pub(crate) fn parse_schema_header(text: &str) -> Result<HashMap<String, u32>, ApiError> {
    serde_json::from_str(text).map_err(|e| {
        ApiError::BadRequest(format!(
            "The {} header must be a JSON object of event type to highest schema version read, like {{\"OrderPlaced\": 1}}: {e}",
            conference_protocol::sync::SCHEMA_HEADER
        ))
    })
}
