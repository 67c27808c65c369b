//! The HTTP adapter: routes, extractors that turn every refusal into the JSON error shape,
//! and the middleware that counts responses. No rule lives here: handlers parse, check the
//! caller, and hand the work to the writer or a reader.
use crate::device::{self, Device};
use crate::error::ApiError;
use crate::pull::{self, PullParams};
use crate::state::AppState;
use crate::{allot, openapi, push, reconciliation, replay, wire};
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use conference_protocol::ErrorBody;
use conference_protocol::sync::{
    AllotmentRequest, AllotmentResponse, PushResponse, ReconciliationItem, SCHEMA_HEADER,
};
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::convert::Infallible;
use tokio_stream::wrappers::WatchStream;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

/// Every route of the server, as the OpenAPI document lists them: (method, path).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/v1/me"),
    ("post", "/v1/push"),
    ("get", "/v1/pull"),
    ("post", "/v1/allotments"),
    ("get", "/v1/reconciliation"),
    ("post", "/v1/reconciliation/{id}/resolve"),
    ("get", "/v1/feed"),
];

/// The server's routes over `state`, ready to serve (or to call in-process in tests).
pub fn router(state: AppState) -> Router {
    let limit = state.settings().max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_document))
        .route("/v1/me", get(me))
        .route("/v1/push", post(push_commands))
        .route("/v1/pull", get(pull_events))
        .route("/v1/allotments", post(request_allotment))
        .route("/v1/reconciliation", get(list_reconciliation))
        .route(
            "/v1/reconciliation/{id}/resolve",
            post(resolve_reconciliation),
        )
        .route("/v1/feed", get(feed))
        .fallback(unknown_route)
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            state.settings().limits.body_timeout,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

// ---------------------------------------------------------------- extractors

/// The calling device, from `Authorization: Bearer <token>`.
pub(crate) struct Authed(pub Device);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let missing = || {
            ApiError::Unauthorized(
                "Send the device token as `Authorization: Bearer TOKEN`; the server's admin issues tokens with `conference-sync device add`".into(),
            )
        };
        let token = bearer_token(&parts.headers).ok_or_else(missing)?;
        let device = state
            .read(move |db| device::authenticate(db, &token))
            .await?;
        state.count_request(device.id)?;
        Ok(Self(device))
    }
}

/// A JSON body whose every refusal (syntax, unknown or missing field, size, content type)
/// is the JSON error shape, naming what was wrong.
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !json_content_type(req.headers()) {
            return Err(not_json());
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    ApiError::BadRequest(rejection.body_text())
                }
            })?;
        // Read plainly first: axum's reader tracks the path of every value it reads (for
        // the message naming a bad field), which costs a third more on a push of 500
        // events. Only a body that does not read is read again to say where it is wrong.
        if let Ok(value) = serde_json::from_slice(&bytes) {
            return Ok(Self(value));
        }
        // JSON does not tell 7 from 7.0: a whole number written with a fraction (some
        // clients' only number type) is read as the integer it is.
        let mut bytes = bytes;
        if let Ok(mut tree) = serde_json::from_slice::<serde_json::Value>(&bytes)
            && whole_numbers(&mut tree)
            && let Ok(text) = serde_json::to_vec(&tree)
        {
            if let Ok(value) = serde_json::from_slice(&text) {
                return Ok(Self(value));
            }
            bytes = text.into();
        }
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

/// Writes every number of `value` that is whole but was written with a fraction (`7.0`)
/// as an integer; whether it changed any.
fn whole_numbers(value: &mut serde_json::Value) -> bool {
    /// Past 2^53 a float no longer holds every whole number exactly.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        serde_json::Value::Number(n) if !n.is_i64() && !n.is_u64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() <= EXACT => {
                #[allow(clippy::cast_possible_truncation)]
                let whole = f as i64;
                *value = serde_json::Value::from(whole);
                true
            }
            _ => false,
        },
        serde_json::Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| whole_numbers(v) | changed),
        serde_json::Value::Object(map) => map
            .values_mut()
            .fold(false, |changed, v| whole_numbers(v) | changed),
        _ => false,
    }
}

/// `Content-Type: application/json`, or any `application/…+json`, as axum's `Json` takes.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

fn not_json() -> ApiError {
    ApiError::UnsupportedMediaType(
        "Send the body as JSON with `Content-Type: application/json`".into(),
    )
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(
        "The request body is larger than the server takes (1 MiB); send fewer commands per push"
            .into(),
    )
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    match rejection {
        JsonRejection::MissingJsonContentType(_) => not_json(),
        JsonRejection::JsonDataError(e) => ApiError::BadRequest(e.body_text()),
        JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest(e.body_text()),
        other => ApiError::BadRequest(other.body_text()),
    }
}

/// Query parameters whose refusals are the JSON error shape.
pub(crate) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

// ---------------------------------------------------------------- handlers

/// Who the token belongs to: a device adopts this id on its first sync, so the server's
/// grants and the device's own allotment stream name the same device.
async fn me(
    State(state): State<AppState>,
    Authed(device): Authed,
) -> Result<Json<conference_protocol::sync::DeviceRecord>, ApiError> {
    let id = device.id;
    let record = state
        .read(move |db| {
            device::list(db)?
                .into_iter()
                .find(|d| d.device_id == id)
                .ok_or_else(|| ApiError::Unauthorized("This device is no longer registered".into()))
        })
        .await?;
    Ok(Json(record))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// The server's counters: business volume, so only for organizer and back-office tokens
/// (a door's token, or none, is refused).
async fn metrics(
    State(state): State<AppState>,
    Authed(device): Authed,
) -> Result<impl IntoResponse, ApiError> {
    if device.role == crate::device::Role::Door {
        return Err(ApiError::forbidden(
            "forbidden_metrics",
            "The server's metrics are for organizer and back-office tokens; give the scraper one of those",
        ));
    }
    Ok((
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics().render(),
    ))
}

async fn openapi_document(_: Authed) -> Json<serde_json::Value> {
    Json(openapi::document())
}

async fn push_commands(
    State(state): State<AppState>,
    Authed(device): Authed,
    ApiJson(body): ApiJson<wire::PushBody>,
) -> Result<Json<PushResponse>, ApiError> {
    wire::within_range(&body)?;
    state.count_pushed_events(
        device.id,
        body.commands.iter().map(|c| c.events.len()).sum(),
    )?;
    let span = tracing::info_span!("push", device = %device.id, commands = body.commands.len());
    // Decoding needs no database, and replaying the commands (DESIGN.md §7) reads history
    // that never changes: both happen here, so the one writer thread mostly writes.
    let mut request = wire::prepare(body);
    let device_id = device.id;
    let server_device = state.server_device_id();
    let shared = state.clone();
    let turn = state.replay_turn().await?;
    let request = state
        .read(move |db| {
            let began = std::time::Instant::now();
            let mut cache = shared.replay_cache(device_id);
            replay::ahead_of_writer(
                db,
                &mut cache,
                server_device,
                device_id,
                &mut request.commands,
            );
            shared.keep_replay_cache(device_id, cache);
            shared.metrics().replayed(began.elapsed());
            Ok(request)
        })
        .await?;
    drop(turn);
    let (response, request) = state
        .write(move |unit| {
            let _entered = span.enter();
            let mut request = request;
            push::push(unit, &device, &mut request).map(|response| (response, request))
        })
        .await?;
    // The request comes back to be freed here, off the writer thread.
    drop(request);
    Ok(Json(response))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PullQuery {
    #[serde(default)]
    after: i64,
    limit: Option<u32>,
    conference: Option<String>,
}

async fn pull_events(
    State(state): State<AppState>,
    Authed(device): Authed,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PullQuery>,
) -> Result<Response, ApiError> {
    let schema = match headers.get(SCHEMA_HEADER) {
        None => None,
        Some(value) => Some(pull::parse_schema_header(value.to_str().map_err(
            |_| ApiError::BadRequest(format!("The {SCHEMA_HEADER} header must be UTF-8 JSON")),
        )?)?),
    };
    if !(0..=crate::openapi::MAX_WHOLE as i64).contains(&query.after) {
        return Err(ApiError::BadRequest(format!(
            "`after` is a position: 0 to {}",
            crate::openapi::MAX_WHOLE
        )));
    }
    if let Some(limit) = query.limit
        && !(1..=pull::MAX_LIMIT).contains(&limit)
    {
        return Err(ApiError::BadRequest(format!(
            "`limit` is how many events to send: 1 to {}",
            pull::MAX_LIMIT
        )));
    }
    let params = PullParams {
        after: query.after,
        limit: query.limit.unwrap_or(pull::DEFAULT_LIMIT),
        conference: query.conference.map(|c| c.trim().to_ascii_lowercase()),
        schema,
    };
    let turn = state.page_turn().await?;
    let body = state
        .read(move |db| pull::pull_json(db, &device, &params))
        .await?;
    state.metrics().pulled();
    let length = HeaderValue::from(body.len());
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (CONTENT_LENGTH, length),
        ],
        axum::body::Body::from_stream(HeldPage {
            page: Some(body.into()),
            _turn: turn,
        }),
    )
        .into_response())
}

/// A pull page's body, holding its turn until the server is done sending it (the body is
/// dropped then).
struct HeldPage {
    page: Option<axum::body::Bytes>,
    _turn: tokio::sync::OwnedSemaphorePermit,
}

impl Stream for HeldPage {
    type Item = Result<axum::body::Bytes, Infallible>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(self.page.take().map(Ok))
    }
}

async fn request_allotment(
    State(state): State<AppState>,
    Authed(device): Authed,
    ApiJson(request): ApiJson<AllotmentRequest>,
) -> Result<Json<AllotmentResponse>, ApiError> {
    state
        .write(move |unit| allot::grant(unit, &device, &request))
        .await
        .map(Json)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReconciliationQuery {
    /// Also list items already resolved.
    #[serde(default)]
    all: bool,
    /// The last item id already read.
    #[serde(default)]
    after: i64,
    limit: Option<u32>,
}

async fn list_reconciliation(
    State(state): State<AppState>,
    Authed(device): Authed,
    ApiQuery(query): ApiQuery<ReconciliationQuery>,
) -> Result<Json<Vec<ReconciliationItem>>, ApiError> {
    if !(0..=crate::openapi::MAX_WHOLE as i64).contains(&query.after) {
        return Err(ApiError::BadRequest(format!(
            "`after` is an item id: 0 to {}",
            crate::openapi::MAX_WHOLE
        )));
    }
    let limit = query.limit.unwrap_or(reconciliation::PAGE);
    if !(1..=reconciliation::MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "`limit` is how many items to send: 1 to {}",
            reconciliation::MAX_PAGE
        )));
    }
    state
        .read(move |db| reconciliation::list_for(db, &device, query.all, query.after, limit))
        .await
        .map(Json)
}

async fn resolve_reconciliation(
    State(state): State<AppState>,
    Authed(device): Authed,
    Path(id): Path<String>,
) -> Result<Json<ReconciliationItem>, ApiError> {
    let id: i64 = id.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "`{id}` is not a reconciliation item id; ids are whole numbers"
        ))
    })?;
    state
        .write(move |unit| reconciliation::resolve(&mut *unit.db, &device, id, &unit.now))
        .await
        .map(Json)
}

/// Server-Sent Events: `head` with `{"head": POS}` now and whenever the head moves, so an
/// online device pulls within a second of someone else's push.
async fn feed(
    State(state): State<AppState>,
    Authed(device): Authed,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let open = state.open_feed(device.id)?;
    let mut shutdown = state.shutdown_signal();
    // The feed ends when the server stops, or once its token no longer works (the device
    // was revoked): looked at every keep-alive interval.
    let token = bearer_token(&headers).unwrap_or_default();
    let watcher = state.clone();
    let every = state.settings().keep_alive;
    let ended = async move {
        let revoked = async {
            let mut ticks = tokio::time::interval(every);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let token = token.clone();
                // A database that does not answer now is no revocation: look again later.
                if let Err(ApiError::Unauthorized(_)) = watcher
                    .read(move |db| device::authenticate(db, &token))
                    .await
                {
                    return;
                }
            }
        };
        tokio::select! {
            _ = shutdown.wait_for(|stopping| *stopping) => {}
            () = revoked => {}
        }
    };
    let events = WatchStream::new(state.head())
        .map(move |head| {
            let _counted = &open;
            Ok(Event::default()
                .event("head")
                .data(serde_json::json!({ "head": head }).to_string()))
        })
        .take_until(ended);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(state.settings().keep_alive)))
}

/// The token of `Authorization: Bearer TOKEN`.
fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let text = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    text.strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
}

async fn unknown_route() -> ApiError {
    ApiError::not_found(
        "not_found",
        "No such route; GET /openapi.json lists the routes",
    )
}

// ---------------------------------------------------------------- middleware

/// Counts responses by status class and gives every error the JSON error shape, also the
/// ones made below the handlers (405, a bad path parameter, a body over the limit).
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    state.metrics().responded(status.as_u16());
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => conference_protocol::sync::UNAUTHORIZED,
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal_error",
        _ => "http_error",
    };
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            "The request body is larger than the server takes (1 MiB); send fewer commands per push"
                .to_string()
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            "This route does not take that method; GET /openapi.json lists the routes".to_string()
        }
        _ if !text.is_empty() => text,
        _ => status
            .canonical_reason()
            .unwrap_or("The request failed")
            .to_string(),
    };
    let body = serde_json::to_vec(&ErrorBody {
        code: code.into(),
        message,
        field: None,
    })
    .unwrap_or_default();
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, axum::body::Body::from(body))
}
