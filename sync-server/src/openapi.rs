//! The OpenAPI 3.1 description of every route, written by hand from the protocol types in
//! `conference_protocol::sync` (a test checks it lists every route of the router).
use serde_json::{Value, json};

/// The largest whole number every JSON reader holds exactly (2^53 − 1): the bound of
/// positions, versions and sequence numbers in this document.
pub(crate) const MAX_WHOLE: u64 = 9_007_199_254_740_991;

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn body(name: &str) -> Value {
    json!({ "content": { "application/json": { "schema": schema(name) } } })
}

fn error(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema("ErrorBody") } } })
}

fn ok(description: &str, name: &str) -> Value {
    let mut response = body(name);
    response["description"] = json!(description);
    response
}

/// Errors every authenticated route can answer.
fn common_errors(mut responses: Value) -> Value {
    let map = responses.as_object_mut().expect("responses are an object");
    map.insert(
        "401".into(),
        error("Missing, unknown or revoked device token (`unauthorized`)."),
    );
    map.insert(
        "500".into(),
        error("The server failed; nothing of the request was stored (`internal_error`)."),
    );
    map.entry("400").or_insert_with(|| {
        error("A query parameter, header or body that does not read (`bad_request`).")
    });
    map.entry("415").or_insert_with(|| {
        error("A body sent as anything but `application/json` (`unsupported_media_type`).")
    });
    map.entry("429").or_insert_with(|| {
        error("Over a limit: this device's request rate (`rate_limited`), its pushed events (`push_volume`) or live feeds (`too_many_feeds`); wait and send again.")
    });
    responses
}

#[must_use]
pub fn document() -> Value {
    let bearer = json!([{ "bearer": [] }]);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Conference sync server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Devices push their commands in device order and pull everyone's events in global order. Every request is safe to repeat. Every error body is an ErrorBody {code, message, field?}."
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "The device token (64 hex characters) issued by `conference-sync device add`." }
            },
            "schemas": schemas()
        },
        "paths": {
            "/healthz": {
                "get": {
                    "summary": "Liveness check (no token needed)",
                    "responses": {
                        "200": { "description": "The server is up.", "content": { "application/json": { "schema": {
                            "type": "object", "required": ["status"], "properties": { "status": { "const": "ok" } }
                        } } } }
                    }
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (an organizer's or back office's token)",
                    "security": bearer,
                    "responses": common_errors(json!({
                        "200": { "description": "Counters (pushes, commands by status, events stored, pulls, HTTP responses by class, connections refused) and the head position gauge.", "content": { "text/plain": { "schema": { "type": "string" } } } },
                        "403": error("A door's token (`forbidden_metrics`).")
                    }))
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": bearer,
                    "responses": common_errors(json!({
                        "200": { "description": "The OpenAPI 3.1 document.", "content": { "application/json": { "schema": { "type": "object" } } } }
                    }))
                }
            },
            "/v1/push": {
                "post": {
                    "summary": "Push this device's commands, in device order",
                    "description": "Known command ids return their stored result. Unknown ones must continue the device sequence. The server replays every command with the domain code, reading each stream at the version the command read (`reads`), at the time it ran (`now`): when its written streams continue the server's and the same events come out, they are stored as sent (applied); events the command does not produce are rejected (`events_do_not_match_command`), as are writes the device's role may not make to a stream (`forbidden_stream`) and seats received without a grant of the server's pool (`grant_unknown`). On a version mismatch organizer commands are re-run on the server's newest state (rebased) and others rejected (`stream_conflict`). A rejected command's reason has one of these codes, or a domain rule's (`slug_taken`, `quantity_below_taken`, …), `bad_command`, `unknown_event`, `invalid_event`, `unknown_conference`, `read_version_unknown`; the back office's queue gets an item naming the device. The whole request is one transaction.",
                    "security": bearer,
                    "requestBody": { "required": true, "content": { "application/json": { "schema": schema("PushRequest") } } },
                    "responses": common_errors(json!({
                        "200": ok("One result per command, in order.", "PushResponse"),
                        "400": error("Malformed JSON or an unknown field (`bad_request`); the message names it."),
                        "403": error("The device's role may not push a command (`forbidden_command`) or it touches a conference the device was not given (`forbidden_conference`); nothing was stored."),
                        "409": { "description": "A gap in device sequence numbers (`sequence_gap`, with the next expected number), or a command id that belongs to another device's command or an allotment request (`command_id_reused`); nothing was stored.", "content": { "application/json": { "schema": { "anyOf": [schema("SequenceGap"), schema("ErrorBody")] } } } },
                        "413": error("The body is over 1 MiB (`payload_too_large`)."),
                        "415": error("The body is not sent as JSON (`unsupported_media_type`).")
                    }))
                }
            },
            "/v1/pull": {
                "get": {
                    "summary": "Pull events after a position, in global order",
                    "security": bearer,
                    "parameters": [
                        { "name": "after", "in": "query", "schema": { "type": "integer", "minimum": 0, "maximum": MAX_WHOLE, "default": 0 }, "description": "The last position already pulled." },
                        { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 5000, "default": 500 } },
                        { "name": "conference", "in": "query", "schema": { "type": "string" }, "description": "Only this conference (by slug)." },
                        { "name": "x-conference-schema", "in": "header", "content": { "application/json": { "schema": { "type": "object", "additionalProperties": { "type": "integer", "minimum": 0, "maximum": 4294967295u64 } } } }, "description": "JSON object: event type → highest schema version this device reads." }
                    ],
                    "responses": common_errors(json!({
                        "200": ok("A page of events (at most `limit`, and at most 4 MiB of payloads: ask again from `next_after`), the head, and this device's rebased or rejected command results.", "PullResponse"),
                        "400": error("A bad parameter or schema header (`bad_request`)."),
                        "403": error("The device was not given that conference (`forbidden_conference`)."),
                        "404": error("No conference has that slug (`unknown_conference`)."),
                        "426": error("An event is newer than this device reads, or neutralises another and the device does not say it reads `EventNeutralised` (`upgrade_required`).")
                    }))
                }
            },
            "/v1/me": {
                "get": {
                    "summary": "The device this token belongs to",
                    "description": "A device adopts this id on its first sync, so grants and its allotment stream name the same device.",
                    "security": bearer,
                    "responses": common_errors(json!({
                        "200": ok("The device's id, name, role, conferences and next sequence number.", "DeviceRecord")
                    }))
                }
            },
            "/v1/allotments": {
                "post": {
                    "summary": "Move seats from the conference pool to this device",
                    "description": "Door and organizer devices only. Never more than the free pool. Idempotent by command_id.",
                    "security": bearer,
                    "requestBody": { "required": true, "content": { "application/json": { "schema": schema("AllotmentRequest") } } },
                    "responses": common_errors(json!({
                        "200": ok("What the pool gave, and the position of the pool event.", "AllotmentResponse"),
                        "400": error("Malformed JSON or an unknown field (`bad_request`)."),
                        "403": error("The role gets no allotments (`forbidden_role`) or the conference was not given (`forbidden_conference`)."),
                        "404": error("The server has no such conference (`unknown_conference`)."),
                        "409": error("The command id was used for a pushed command (`command_id_reused`)."),
                        "413": error("The body is over 1 MiB (`payload_too_large`)."),
                        "422": error("The pool does not sell a seat type asked for (`unknown_seat_type`).")
                    }))
                }
            },
            "/v1/reconciliation": {
                "get": {
                    "summary": "The back office's reconciliation queue",
                    "description": "Organizer and back-office devices only; open items unless `all=true`. A page of at most `limit` items after item `after`, oldest first: ask again from the last id until a page comes back short.",
                    "security": bearer,
                    "parameters": [
                        { "name": "all", "in": "query", "schema": { "type": "boolean", "default": false } },
                        { "name": "after", "in": "query", "schema": { "type": "integer", "minimum": 0, "maximum": MAX_WHOLE, "default": 0 }, "description": "The last item id already read." },
                        { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 500 } }
                    ],
                    "responses": common_errors(json!({
                        "200": { "description": "Items, oldest first.", "content": { "application/json": { "schema": { "type": "array", "items": schema("ReconciliationItem") } } } },
                        "403": error("The role does not reconcile (`forbidden_role`).")
                    }))
                }
            },
            "/v1/reconciliation/{id}/resolve": {
                "post": {
                    "summary": "Mark a reconciliation item resolved",
                    "security": bearer,
                    "parameters": [
                        { "name": "id", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 1, "maximum": MAX_WHOLE } }
                    ],
                    "responses": common_errors(json!({
                        "200": ok("The item, resolved.", "ReconciliationItem"),
                        "400": error("The id is not a number (`bad_request`)."),
                        "403": error("The role does not reconcile (`forbidden_role`)."),
                        "404": error("No such item (`not_found`).")
                    }))
                }
            },
            "/v1/feed": {
                "get": {
                    "summary": "Live head position (Server-Sent Events)",
                    "description": "An event `head` with data {\"head\": POS} at once and whenever the head moves; keep-alive comments in between. The stream ends when the server stops or the device is revoked.",
                    "security": bearer,
                    "responses": common_errors(json!({
                        "200": { "description": "An event stream: each event is `head`, its data the JSON {\"head\": POS}.", "content": { "text/event-stream": { "schema": {
                            "type": "object", "required": ["event", "data"],
                            "properties": { "event": { "const": "head" }, "data": { "type": "string", "contentMediaType": "application/json" } }
                        } } } },
                        "429": error("The device, or the server in all, has as many live feeds open as it may (`too_many_feeds`).")
                    }))
                }
            }
        }
    })
}

fn schemas() -> Value {
    let uuid = json!({ "type": "string", "format": "uuid" });
    json!({
        "ErrorBody": {
            "type": "object", "required": ["code", "message"],
            "properties": {
                "code": { "type": "string", "description": "A stable snake-case code (docs/error-codes.md lists them)." },
                "message": { "type": "string" },
                "field": { "type": "string", "description": "The input the error is about, in neutral terms (`email`, `quantity`, `promo_code`, …); absent when it is about none." }
            }
        },
        "SequenceGap": {
            "type": "object", "required": ["code", "message", "next_expected"],
            "properties": { "code": { "const": "sequence_gap" }, "message": { "type": "string" }, "next_expected": { "type": "integer", "minimum": 1 } }
        },
        "WireEvent": {
            "type": "object", "additionalProperties": false,
            "required": ["stream", "version", "event_type", "schema_version", "payload", "recorded_at"],
            "properties": {
                "stream": { "type": "string", "description": "order/<uuid>, seats/<conference>, seats/<conference>/<device>, …" },
                "version": { "type": "integer", "minimum": 1, "maximum": crate::wire::MAX_COUNT },
                "event_type": { "type": "string" },
                "schema_version": { "type": "integer", "minimum": 1, "maximum": crate::wire::MAX_COUNT },
                "payload": { "type": "object" },
                "recorded_at": { "type": "string", "description": "RFC 3339. In a push, another text rejects the command (in its result)." }
            }
        },
        "PushCommand": {
            "type": "object", "additionalProperties": false,
            "required": ["device_seq", "command_id", "command_type", "command", "events"],
            "properties": {
                "device_seq": { "type": "integer", "minimum": 1, "maximum": crate::wire::MAX_COUNT },
                "command_id": uuid,
                "command_type": { "type": "string" },
                "command": { "type": "object", "description": "The user command, tagged by `type`." },
                "events": { "type": "array", "items": schema("WireEvent") },
                "now": { "type": ["string", "null"], "description": "When the command ran on the device (RFC 3339); the server replays it at that time (else at its events' recorded_at). Another text rejects the command (`invalid_command` in its result)." },
                "reads": { "type": "array", "items": schema("StreamRead"), "description": "Every stream the command read or wrote, at the version the device had before it ran." }
            }
        },
        "StreamRead": {
            "type": "object", "additionalProperties": false, "required": ["stream", "version"],
            "properties": { "stream": { "type": "string" }, "version": { "type": "integer", "minimum": 0, "maximum": crate::wire::MAX_COUNT } }
        },
        "PushRequest": {
            "type": "object", "additionalProperties": false, "required": ["commands"],
            "properties": { "commands": { "type": "array", "items": schema("PushCommand") } }
        },
        "PushResult": {
            "type": "object", "required": ["command_id", "device_seq", "status", "positions"],
            "properties": {
                "command_id": uuid,
                "device_seq": { "type": "integer" },
                "status": { "enum": ["applied", "rebased", "rejected"] },
                "reason": schema("ErrorBody"),
                "positions": { "type": "array", "items": { "type": "integer" } }
            }
        },
        "PushResponse": {
            "type": "object", "required": ["results", "next_seq"],
            "properties": {
                "results": { "type": "array", "items": schema("PushResult") },
                "next_seq": { "type": "integer" }
            }
        },
        "PulledEvent": {
            "allOf": [
                schema("WireEvent"),
                {
                    "type": "object", "required": ["position", "device_id", "command_id"],
                    "properties": { "position": { "type": "integer" }, "device_id": uuid, "command_id": uuid }
                }
            ]
        },
        "PullResponse": {
            "type": "object", "required": ["events", "next_after", "head", "outcomes"],
            "properties": {
                "events": { "type": "array", "items": schema("PulledEvent") },
                "next_after": { "type": "integer" },
                "head": { "type": "integer" },
                "outcomes": { "type": "array", "items": schema("PushResult") }
            }
        },
        "SeatCount": {
            "type": "object", "additionalProperties": false, "required": ["seat_type_id", "quantity"],
            "properties": { "seat_type_id": uuid, "quantity": { "type": "integer", "minimum": 0, "maximum": 4_294_967_295_u64 } }
        },
        "AllotmentRequest": {
            "type": "object", "additionalProperties": false, "required": ["command_id", "conference_id", "seats"],
            "properties": {
                "command_id": uuid,
                "conference_id": uuid,
                "seats": { "type": "array", "items": schema("SeatCount") }
            }
        },
        "AllotmentResponse": {
            "type": "object", "required": ["seats", "position"],
            "properties": {
                "seats": { "type": "array", "items": schema("SeatCount") },
                "position": { "type": "integer" }
            }
        },
        "DeviceRecord": {
            "type": "object",
            "required": ["device_id", "name", "role", "conferences", "revoked", "next_seq"],
            "properties": {
                "device_id": { "type": "string", "format": "uuid" },
                "name": { "type": "string" },
                "role": { "enum": ["organizer", "door", "back_office"] },
                "conferences": { "type": "array", "items": { "type": "string" } },
                "revoked": { "type": "boolean" },
                "next_seq": { "type": "integer" }
            }
        },
        "ReconciliationItem": {
            "type": "object",
            "required": ["id", "kind", "conference_id", "device_id", "command_id", "detail", "created_at", "resolved"],
            "properties": {
                "id": { "type": "integer" },
                "kind": { "enum": ["over_allotment", "promo_overuse", "rejected_command", "event_neutralised"] },
                "conference_id": { "type": ["string", "null"], "format": "uuid" },
                "device_id": uuid,
                "command_id": { "type": ["string", "null"], "format": "uuid" },
                "detail": { "type": "object" },
                "created_at": { "type": "string", "format": "date-time" },
                "resolved": { "type": "boolean" }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn documents_every_route_of_the_router() {
        let doc = super::document();
        for (method, path) in crate::http::ROUTES {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is missing"
            );
        }
    }
}
