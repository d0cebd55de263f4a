//! Asynchronous edits against the simulator over real HTTP: accepted at once, finished by
//! the simulator on its own, polled at `GET /api/results/{uuid}` in the provider's shapes.

mod common;

use common::{Running, client, edit_body, upload_png};
use flexedit_api::{ApiError, EditOutcome, parse_edit_response, parse_result_response};
use flexedit_server::{ApiKey, Config};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn simulator() -> Running {
    Running::start(Config::simulator(None)).await
}

/// The body of an asynchronous edit: the page's body with `"async": true` on top.
fn async_body(image_url: &str, extra: Value) -> String {
    let mut body: Value = serde_json::from_str(&edit_body(image_url, "x", extra)).unwrap();
    body["async"] = Value::Bool(true);
    body.to_string()
}

/// Submits; a `fault` header applies to the edit.
async fn submit(server: &Running, body: String, fault: Option<&str>) -> (u16, String) {
    let mut request = client()
        .post(server.at("/api/features"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(fault) = fault {
        request = request.header("x-simulator-fault", fault);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

fn accepted_uuid(status: u16, body: &str) -> String {
    match parse_edit_response(status, body) {
        EditOutcome::Processing { uuid: Some(uuid) } => uuid,
        other => panic!("{status} {body}: {other:?}"),
    }
}

async fn poll(
    server: &Running,
    uuid: &str,
    key: Option<&str>,
    fault: Option<&str>,
) -> (u16, String) {
    let mut request = client().get(server.at(&format!("/api/results/{uuid}")));
    if let Some(key) = key {
        request = request.header("API-KEY", key);
    }
    if let Some(fault) = fault {
        request = request.header("x-simulator-fault", fault);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    if status == 429 {
        assert!(retry_after.is_some(), "429 without Retry-After");
    }
    (status, text)
}

async fn control(server: &Running, path: &str, body: Value) -> Value {
    client()
        .post(server.at(path))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits, through the control route, until `count` records have finished.
async fn finished(server: &Running, count: u64) {
    let answer: Value = client()
        .get(server.at(&format!("/__simulator/finished?at_least={count}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(answer["finished"].as_u64().unwrap() >= count, "{answer}");
}

async fn polls_logged(server: &Running) -> usize {
    server.requests_log().await["polls"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn an_async_edit_is_processing_at_once_then_succeeds_on_a_poll() {
    let server = simulator().await;
    let path = upload_png(&server.url, 8, 8).await;
    // Held, so the record is certainly still running when polled.
    let (status, body) = submit(&server, async_body(&path, json!({"seed": 3})), Some("slow")).await;
    assert_eq!(status, 200);
    let uuid = accepted_uuid(status, &body);
    let accepted: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(accepted["aiRecord"]["status"], "PROCESSING");
    assert_eq!(
        accepted["aiRecord"]["aiRecordDetail"]["resultObject"],
        json!([])
    );
    assert_eq!(
        accepted["aiRecord"]["aiRecordDetail"]["promptObject"]["seed"],
        3
    );

    let (status, body) = poll(&server, &uuid, None, None).await;
    assert_eq!(
        parse_result_response(status, &body),
        EditOutcome::Processing {
            uuid: Some(uuid.clone())
        }
    );
    control(&server, "/__simulator/release", json!({})).await;
    finished(&server, 1).await;
    let (status, body) = poll(&server, &uuid, None, None).await;
    let EditOutcome::Succeeded(result) = parse_result_response(status, &body) else {
        panic!("{status} {body}")
    };
    assert_eq!(result.uuid.as_deref(), Some(uuid.as_str()));
    let image = client().get(&result.display_url).send().await.unwrap();
    assert_eq!(image.status(), 200);
    // Polls are idempotent: the finished record answers the same again.
    assert_eq!(poll(&server, &uuid, None, None).await, (status, body));
}

#[tokio::test]
async fn the_synchronous_call_is_unchanged() {
    let server = simulator().await;
    let path = upload_png(&server.url, 8, 8).await;
    let (status, body) = submit(&server, edit_body(&path, "x", json!({})), None).await;
    assert!(matches!(
        parse_edit_response(status, &body),
        EditOutcome::Succeeded(_)
    ));
    assert_eq!(
        client()
            .get(server.at("/__simulator/finished"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["finished"],
        0
    );
}

#[tokio::test]
async fn an_unknown_record_is_null_and_a_wrong_key_is_401() {
    let mut config = Config::simulator(None);
    config.simulator_mut().unwrap().api_key = Some(ApiKey::new("right-key"));
    let server = Running::start(config).await;
    let unknown = "b7c8d9e0-1111-4000-8000-00000000a51c";
    let (status, body) = poll(&server, unknown, Some("right-key"), None).await;
    assert_eq!((status, body.as_str()), (200, r#"{"aiRecord":null}"#));
    assert_eq!(
        parse_result_response(status, &body),
        EditOutcome::Failed(ApiError::UnknownRecord)
    );
    let (status, body) = poll(&server, unknown, Some("wrong-key"), None).await;
    assert_eq!(status, 401);
    assert_eq!(
        parse_result_response(status, &body),
        EditOutcome::Failed(ApiError::Unauthorized)
    );
    let (status, _) = poll(&server, unknown, None, None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn faults_that_make_records_show_up_through_the_poll() {
    let server = simulator().await;
    let path = upload_png(&server.url, 8, 8).await;
    let cases = [
        ("insufficient_credits", "insufficient_credits"),
        ("failure_error_message", "provider_failure"),
        ("failure_result_message", "provider_failure"),
        ("missing_temporary_url", "missing_result"),
    ];
    for (n, (fault, kind)) in cases.iter().enumerate() {
        let (status, body) = submit(&server, async_body(&path, json!({})), Some(fault)).await;
        let uuid = accepted_uuid(status, &body);
        finished(&server, n as u64 + 1).await;
        let (status, body) = poll(&server, &uuid, None, None).await;
        match parse_result_response(status, &body) {
            EditOutcome::Failed(e) => assert_eq!(e.kind(), *kind, "{fault}: {body}"),
            other => panic!("{fault}: {other:?}"),
        }
    }
    let (status, body) = submit(&server, async_body(&path, json!({})), Some("completed")).await;
    let uuid = accepted_uuid(status, &body);
    finished(&server, cases.len() as u64 + 1).await;
    let (status, body) = poll(&server, &uuid, None, None).await;
    assert!(body.contains("\"COMPLETED\""), "{body}");
    assert!(matches!(
        parse_result_response(status, &body),
        EditOutcome::Succeeded(_)
    ));
}

#[tokio::test]
async fn poll_faults_are_lost_polls_and_a_vanished_record_ends_the_run() {
    let server = simulator().await;
    let path = upload_png(&server.url, 8, 8).await;
    let (status, body) = submit(&server, async_body(&path, json!({})), None).await;
    let uuid = accepted_uuid(status, &body);
    finished(&server, 1).await;

    // Each fault once by header, once armed; the record is there after each.
    for fault in ["bad_gateway_html", "rate_limited"] {
        let (status, body) = poll(&server, &uuid, None, Some(fault)).await;
        let EditOutcome::Failed(e) = parse_result_response(status, &body) else {
            panic!("{fault}: {status} {body}")
        };
        assert!(e.poll_again(), "{fault}: {e:?}");
        control(&server, "/__simulator/poll-fault", json!({"fault": fault})).await;
        let (again, _) = poll(&server, &uuid, None, None).await;
        assert_eq!(again, status, "{fault} armed");
        let (status, body) = poll(&server, &uuid, None, None).await;
        assert!(matches!(
            parse_result_response(status, &body),
            EditOutcome::Succeeded(_)
        ));
    }
    // A reset: the answer starts and breaks off, which a client sees as a failed read.
    control(
        &server,
        "/__simulator/poll-fault",
        json!({"fault": "drop_connection"}),
    )
    .await;
    let broken = async {
        let response = client()
            .get(server.at(&format!("/api/results/{uuid}")))
            .send()
            .await?;
        response.text().await
    }
    .await;
    assert!(broken.is_err(), "{broken:?}");

    control(
        &server,
        "/__simulator/poll-fault",
        json!({"fault": "vanished_record"}),
    )
    .await;
    for _ in 0..2 {
        let (status, body) = poll(&server, &uuid, None, None).await;
        assert_eq!(
            parse_result_response(status, &body),
            EditOutcome::Failed(ApiError::UnknownRecord)
        );
    }
    assert_eq!(polls_logged(&server).await, 9);
}

#[tokio::test]
async fn a_record_finishes_although_the_client_hung_up() {
    let server = simulator().await;
    let path = upload_png(&server.url, 8, 8).await;
    let body = async_body(&path, json!({}));
    // A raw connection that reads the acceptance and is closed at once, the edit held.
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "POST /api/features HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nX-Simulator-Fault: slow\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    drop(socket);
    let json_start = answer.find("{\"aiRecord\"").unwrap();
    let uuid = accepted_uuid(200, &answer[json_start..]);

    control(&server, "/__simulator/release", json!({})).await;
    finished(&server, 1).await;
    let (status, body) = poll(&server, &uuid, None, None).await;
    assert!(
        matches!(
            parse_result_response(status, &body),
            EditOutcome::Succeeded(_)
        ),
        "{body}"
    );
}
