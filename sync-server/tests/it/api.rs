//! Health, metrics, the OpenAPI document and the request-shape errors.
use crate::helpers::{Local, organizer_with_conference, spawn_sync_server};
use conference_sync_server::{ROUTES, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Health needs no token; the metrics (business volume) need an organizer's or back
/// office's.
#[tokio::test(flavor = "multi_thread")]
async fn health_needs_no_token_and_metrics_an_organizer_or_back_office() {
    let server = spawn_sync_server().await;
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({ "status": "ok" })
    );
    let anonymous = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let door = server.add_device("door", Role::Door, &[]);
    let (status, body) = server.get(&door, "/metrics").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden_metrics");
    let office = server.add_device("office", Role::BackOffice, &[]);
    assert!(
        server
            .metrics(&office)
            .await
            .contains("conference_sync_head_position 0")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_lists_every_route() {
    let server = spawn_sync_server().await;
    let device = server.add_device("back office", Role::BackOffice, &[]);
    let (status, doc) = server.get(&device, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    for (method, path) in ROUTES {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        assert!(operation["responses"]["200"].is_object(), "{method} {path}");
    }
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(
        paths.len(),
        ROUTES.len(),
        "no undocumented extras: {paths:?}"
    );
    // Every $ref points at a schema that exists.
    let text = doc.to_string();
    for piece in text.split("#/components/schemas/").skip(1) {
        let name: String = piece.chars().take_while(|c| c.is_alphanumeric()).collect();
        assert!(doc["components"]["schemas"][&name].is_object(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_pushes_commands_events_pulls_and_responses() {
    let server = spawn_sync_server().await;
    let organizer = organizer_with_conference(&server, "demo", &[("Full", "100", 10)]).await;
    let head = server
        .pull_all(&organizer.device)
        .await
        .last()
        .unwrap()
        .position;
    let _ = server
        .get(&organizer.device, "/v1/pull?after=nonsense")
        .await;
    let text = server.metrics(&organizer.device).await;
    let value = |name: &str| -> i64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("{name} missing in\n{text}"))
            .parse()
            .unwrap()
    };
    assert_eq!(value("conference_sync_pushes_total"), 1);
    // create, add seat type, publish
    assert_eq!(
        value("conference_sync_commands_total{status=\"applied\"}"),
        3
    );
    assert_eq!(
        value("conference_sync_commands_total{status=\"rejected\"}"),
        0
    );
    assert_eq!(value("conference_sync_events_stored_total"), head);
    assert!(value("conference_sync_pulls_total") >= 2);
    assert!(value("conference_sync_http_responses_total{class=\"2xx\"}") >= 3);
    assert_eq!(
        value("conference_sync_http_responses_total{class=\"4xx\"}"),
        1
    );
    assert_eq!(value("conference_sync_head_position"), head);
    assert!(text.contains("# TYPE conference_sync_head_position gauge"));
    assert!(text.contains("# TYPE conference_sync_pushes_total counter"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_one_mebibyte_is_413() {
    let server = spawn_sync_server().await;
    let device = server.add_device("organizer", Role::Organizer, &[]);
    let big = format!(
        r#"{{"commands": [], "padding": "{}"}}"#,
        "x".repeat(1024 * 1024 + 1)
    );
    let response = server
        .client
        .post(server.url("/v1/push"))
        .bearer_auth(&device.token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "payload_too_large", "{body}");
    assert!(body["message"].as_str().unwrap().contains("1 MiB"));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_fields_and_bad_json_are_400_naming_the_problem() {
    let server = spawn_sync_server().await;
    let device = server.add_device("organizer", Role::Organizer, &[]);
    let (status, body) = server
        .post(
            &device,
            "/v1/push",
            &json!({ "commands": [], "surprise": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "bad_request");
    assert!(
        body["message"].as_str().unwrap().contains("surprise"),
        "{body}"
    );

    // Deep inside a command, the path to the field is named too.
    let mut local = Local::new(&device, true);
    local.create_conference("demo", &[]);
    let mut request = serde_json::to_value(local.pending()).unwrap();
    request["commands"][0]["events"][0]["colour"] = json!("red");
    let (status, body) = server.post(&device, "/v1/push", &request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("colour"), "{message}");
    assert!(message.contains("commands[0].events[0]"), "{message}");

    let (status, body) = server
        .post(
            &device,
            "/v1/allotments",
            &json!({ "command_id": "not a uuid" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "bad_request");

    let response = server
        .client
        .post(server.url("/v1/push"))
        .bearer_auth(&device.token)
        .header("content-type", "application/json")
        .body("{\"commands\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "bad_request"
    );
    assert_eq!(server.count("SELECT COUNT(*) FROM events"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_is_not_labelled_json_is_415_and_json_with_parameters_is_taken() {
    let server = spawn_sync_server().await;
    let device = server.add_device("organizer", Role::Organizer, &[]);
    let push = |content_type: Option<&'static str>| {
        let mut request = server
            .client
            .post(server.url("/v1/push"))
            .bearer_auth(&device.token)
            .body(r#"{"commands": []}"#);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send()
    };
    for refused in [
        None,
        Some("text/plain"),
        Some("application/xml"),
        Some("json"),
    ] {
        let response = push(refused).await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{refused:?}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "unsupported_media_type", "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "{body}"
        );
    }
    for taken in [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/vnd.conference+json",
    ] {
        let response = push(Some(taken)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{taken}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let server = spawn_sync_server().await;
    let device = server.add_device("organizer", Role::Organizer, &[]);
    let (status, body) = server.get(&device, "/v1/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");
    let (status, body) = server.get(&device, "/v1/push").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["code"], "method_not_allowed");
    let (status, body) = server
        .post(&device, "/v1/reconciliation/x/resolve", &json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "bad_request");
    let (status, body) = server
        .post(&device, "/v1/reconciliation/999/resolve", &json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");
}
