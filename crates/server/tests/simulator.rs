//! The simulator over real HTTP on loopback: every route, every fault, the contract's shapes.

mod common;

use std::time::{Duration, Instant};

use common::{Running, asset_form, client, edit_body, png, post_edit, upload_png};
use flexedit_api::{ApiError, EditOutcome, parse_edit_response};
use flexedit_server::{ApiKey, Config};
use serde_json::{Value, json};

async fn simulator() -> Running {
    Running::start(Config::simulator(None)).await
}

fn succeeded(status: u16, body: &str) -> flexedit_api::EditResult {
    match parse_edit_response(status, body) {
        EditOutcome::Succeeded(result) => result,
        other => panic!("{status} {body}: {other:?}"),
    }
}

fn failed(status: u16, body: &str) -> ApiError {
    match parse_edit_response(status, body) {
        EditOutcome::Failed(err) => err,
        other => panic!("{status} {body}: {other:?}"),
    }
}

async fn get_bytes(url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = client().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn an_upload_answers_in_the_providers_shape_and_is_recorded() {
    let server = simulator().await;
    let source = png(64, 48);
    let response = client()
        .post(server.at("/api/assets"))
        .header("API-KEY", "page-key")
        .multipart(asset_form(source.clone(), "my cat.png", "image/png"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let path = body["fileContent"]["path"].as_str().unwrap().to_owned();
    assert!(
        path.starts_with("images/") && path.ends_with("_my_cat.png"),
        "{path}"
    );
    assert_eq!(body["asset"]["key"], path.as_str());
    assert_eq!(body["asset"]["fieldname"], "asset");
    assert_eq!(body["asset"]["originalname"], "my cat.png");
    assert_eq!(body["asset"]["mimetype"], "image/png");
    assert_eq!(body["asset"]["size"], source.len());
    assert_eq!(body["fileContent"]["type"], "png");
    assert_eq!(
        flexedit_api::parse_asset_upload(200, &body.to_string())
            .unwrap()
            .as_str(),
        path
    );

    let log = server.requests_log().await;
    let asset = &log["assets"][0];
    assert_eq!(asset["path"], path.as_str());
    assert_eq!(asset["file_name"], "my_cat.png");
    assert_eq!(asset["content_type"], "image/png");
    assert_eq!(asset["size"], source.len());
    assert_eq!(
        (asset["width"].as_u64(), asset["height"].as_u64()),
        (Some(64), Some(48))
    );
    assert_eq!(asset["format"], "png");
    assert_eq!(asset["api_key"], "page-key");

    let (status, headers, stored) =
        get_bytes(&server.at(&format!("/__simulator/assets/{path}"))).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(stored, source);
}

#[tokio::test]
async fn jpeg_and_webp_are_taken_and_any_other_file_fails_at_the_edit() {
    let server = simulator().await;
    let response = client()
        .post(server.at("/api/assets"))
        .multipart(asset_form(common::jpeg(40, 30), "photo.png", "image/png"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    // The extension follows the bytes, not the name the browser gave.
    assert!(
        body["fileContent"]["path"]
            .as_str()
            .unwrap()
            .ends_with("_photo.jpg")
    );

    // The Asset API stores any file; a file the model cannot edit fails at the edit, in the
    // provider's wrapper of the host's refusal.
    for (bytes, name, mime, stored_as) in [
        (
            b"hello, not an image".to_vec(),
            "notes.png",
            "image/png",
            "_notes.png",
        ),
        (
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec(),
            "report.pdf",
            "application/pdf",
            "_report.pdf",
        ),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
            "logo.svg",
            "image/svg+xml",
            "_logo.svg",
        ),
        (
            b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(),
            "a.gif",
            "image/gif",
            "_a.gif",
        ),
    ] {
        let response = client()
            .post(server.at("/api/assets"))
            .multipart(asset_form(bytes, name, mime))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{name}");
        let body: Value = response.json().await.unwrap();
        let path = body["fileContent"]["path"].as_str().unwrap().to_owned();
        assert!(path.ends_with(stored_as), "{name}: {path}");
        let (status, text) = post_edit(&server.url, edit_body(&path, "x", json!({}))).await;
        assert_eq!(status, 400, "{name}: {text}");
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["context"]["service"], "black-forest-labs");
        assert_eq!(
            failed(status, &text).to_string(),
            "The model's host (black-forest-labs) refused the request: The input image could not be decoded; send a PNG, JPEG or WebP image.",
            "{name}"
        );
    }

    let empty = client()
        .post(server.at("/api/assets"))
        .multipart(asset_form(Vec::new(), "empty.png", "image/png"))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 400);

    let wrong_field = client()
        .post(server.at("/api/assets"))
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(png(4, 4)).file_name("a.png"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_field.status(), 400);
    let body: Value = wrong_field.json().await.unwrap();
    assert_eq!(body["errorCode"], "MISSING_REQUIRED_FIELDS");

    let not_multipart = client()
        .post(server.at("/api/assets"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(not_multipart.status(), 400);
    // The photo and the four other files were stored; the refused requests were not.
    assert_eq!(
        server.requests_log().await["assets"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test]
async fn oversized_uploads_are_refused_with_413_declared_or_streamed() {
    let mut config = Config::simulator(None);
    config.body_limit = 64 * 1024;
    let server = Running::start(config).await;
    let big = common::noisy_png(200, 200);
    assert!(big.len() > 64 * 1024, "{}", big.len());
    let response = client()
        .post(server.at("/api/assets"))
        .multipart(asset_form(big.clone(), "big.png", "image/png"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorCode"], "PAYLOAD_TOO_LARGE");

    // Without a Content-Length the cap applies while the body streams.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(8192).map(|c| Ok(c.to_vec())).collect();
    let form = reqwest::multipart::Form::new().part(
        "asset",
        reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .file_name("big.png")
        .mime_str("image/png")
        .unwrap(),
    );
    let response = client()
        .post(server.at("/api/assets"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(
        server.requests_log().await["assets"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_contract_fixture_round_trips_to_a_success_flexedit_api_parses() {
    let server = simulator().await;
    let path = upload_png(&server.url, 320, 240).await;
    let mut request: Value =
        serde_json::from_str(include_str!("fixtures/edit-request.json")).unwrap();
    request["promptObject"]["imageUrl"] = Value::String(path.clone());
    let body = request.to_string();
    let (status, text) = post_edit(&server.url, body.clone()).await;
    assert_eq!(status, 200, "{text}");
    let result = succeeded(status, &text);
    assert!(
        result
            .display_url
            .starts_with(&format!("{}/__results/images/", server.url))
    );
    assert!(result.display_url.contains("X-Amz-Expires=3600"));
    assert!(result.expires_at.is_some());
    assert_eq!(result.storage_paths.len(), 1);
    assert!(result.storage_paths[0].ends_with("_cat_edit.png"));
    let credits = result.credits.unwrap();
    // The first edit: what was used before it was charged.
    assert!(credits.used == 0.0 && credits.limit > 0.0);
    assert_eq!(
        result.prompt_object.as_ref().unwrap()["prompt"],
        "Add the text SALE 50% OFF in bold red letters at the top"
    );

    let (status, headers, bytes) = get_bytes(&result.display_url).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["access-control-allow-origin"], "*");
    let picture = image::load_from_memory(&bytes).unwrap();
    assert_eq!((picture.width(), picture.height()), (320, 240));

    // The log holds the body exactly as sent.
    let log = server.requests_log().await;
    assert_eq!(log["features"][0]["body"], body.as_str());
    assert_eq!(log["features"][0]["api_key"], Value::Null);

    // The result's path chains into the next edit, and so does its display URL.
    for image_url in [result.storage_paths[0].clone(), result.display_url.clone()] {
        let (status, text) = post_edit(
            &server.url,
            edit_body(&image_url, "\"AGAIN\"", json!({"aspect_ratio": "1:1"})),
        )
        .await;
        let chained = succeeded(status, &text);
        let (_, _, bytes) = get_bytes(&chained.display_url).await;
        let picture = image::load_from_memory(&bytes).unwrap();
        assert_eq!((picture.width(), picture.height()), (240, 240));
    }
}

#[tokio::test]
async fn edits_are_deterministic_and_vary_with_the_seed() {
    let server = simulator().await;
    let path = upload_png(&server.url, 120, 90).await;
    let mut results = Vec::new();
    for seed in [1, 1, 2] {
        let (status, text) = post_edit(
            &server.url,
            edit_body(&path, "Write \"HELLO\"", json!({"seed": seed})),
        )
        .await;
        let result = succeeded(status, &text);
        results.push(get_bytes(&result.display_url).await.2);
    }
    assert_eq!(results[0], results[1]);
    assert_ne!(results[0], results[2]);
}

#[tokio::test]
async fn format_quality_and_aspect_ratio_are_applied() {
    let server = simulator().await;
    let path = upload_png(&server.url, 300, 200).await;
    let mut sizes = Vec::new();
    for quality in [5, 95] {
        let (status, text) = post_edit(
            &server.url,
            edit_body(
                &path,
                "sky",
                json!({"output_format": "jpg", "output_quality": quality, "aspect_ratio": "16:9", "seed": 3}),
            ),
        )
        .await;
        let result = succeeded(status, &text);
        assert!(result.storage_paths[0].ends_with(".jpg"));
        let (_, headers, bytes) = get_bytes(&result.display_url).await;
        assert_eq!(headers["content-type"], "image/jpeg");
        let picture = image::load_from_memory(&bytes).unwrap();
        assert_eq!((picture.width(), picture.height()), (300, 168));
        sizes.push(bytes.len());
    }
    assert!(sizes[0] < sizes[1], "{sizes:?}");

    // A ratio far from the source's pads instead of cropping away most of it.
    let (status, text) = post_edit(
        &server.url,
        edit_body(&path, "x", json!({"aspect_ratio": "9:16"})),
    )
    .await;
    let result = succeeded(status, &text);
    let picture = image::load_from_memory(&get_bytes(&result.display_url).await.2).unwrap();
    assert_eq!((picture.width(), picture.height()), (300, 533));
}

#[tokio::test]
async fn invalid_requests_get_the_providers_error_shapes() {
    let server = simulator().await;
    let path = upload_png(&server.url, 16, 16).await;
    let cases = [
        (
            json!({"type": "IMAGE_EDITOR", "model": "black-forest-labs/flux-2-flex", "promptObject": {"imageUrl": path}}).to_string(),
            "MISSING_REQUIRED_FIELDS",
        ),
        (
            json!({"type": "IMAGE_EDITOR", "model": "this-model-does-not-exist", "promptObject": {"imageUrl": path, "prompt": "x"}}).to_string(),
            "UNSUPPORTED_MODEL",
        ),
        (
            json!({"type": "CHAT", "model": "black-forest-labs/flux-2-flex", "promptObject": {}}).to_string(),
            "UNSUPPORTED_TYPE",
        ),
        (
            edit_body(&path, "x", json!({"steps": 99})),
            "EXTERNAL_API_RESPONSE_WITH_ERROR",
        ),
        ("{not json".to_owned(), "INVALID_REQUEST"),
        (edit_body("images/never_uploaded.png", "x", json!({})), "ASSET_NOT_FOUND"),
        (
            edit_body("https://example.com/cat.png", "x", json!({})),
            "EXTERNAL_API_RESPONSE_WITH_ERROR",
        ),
    ];
    for (body, code) in cases {
        let (status, text) = post_edit(&server.url, body).await;
        assert_eq!(status, 400, "{text}");
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["errorCode"], code, "{text}");
        assert!(value["message"].as_str().is_some_and(|m| !m.is_empty()));
        failed(status, &text);
    }
    let (_, text) = post_edit(
        &server.url,
        json!({"type": "IMAGE_EDITOR", "model": "black-forest-labs/flux-2-flex", "promptObject": {"imageUrl": path}}).to_string(),
    )
    .await;
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["message"], "Missing required fields: prompt");
    let details: Value = serde_json::from_str(value["details"].as_str().unwrap()).unwrap();
    assert_eq!(details[0]["field"], "prompt");
    assert_eq!(
        failed(400, &text_of_unsupported_model(&server, &path).await),
        ApiError::UnsupportedModel {
            message: Some("Model x is not supported".into())
        }
    );
}

async fn text_of_unsupported_model(server: &Running, path: &str) -> String {
    post_edit(
        &server.url,
        json!({"type": "IMAGE_EDITOR", "model": "x", "promptObject": {"imageUrl": path, "prompt": "x"}}).to_string(),
    )
    .await
    .1
}

async fn edit_with_fault(server: &Running, path: &str, fault: &str) -> reqwest::Response {
    client()
        .post(server.at("/api/features"))
        .header("X-Simulator-Fault", fault)
        .body(edit_body(path, "x", json!({})))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_fault_answers_as_the_provider_would() {
    let server = simulator().await;
    let path = upload_png(&server.url, 16, 16).await;

    type Expectation = (&'static str, u16, fn(&ApiError) -> bool);
    let expectations: [Expectation; 8] = [
        ("unauthorized", 401, |e| *e == ApiError::Unauthorized),
        ("rate_limited", 429, |e| *e == ApiError::RateLimited),
        ("server_error", 500, |e| {
            matches!(e, ApiError::Server { status: 500, .. })
        }),
        ("bad_gateway_html", 502, |e| {
            matches!(e, ApiError::Server { status: 502, .. })
        }),
        ("gateway_timeout", 504, |e| {
            matches!(e, ApiError::Server { status: 504, .. })
        }),
        ("insufficient_credits", 200, |e| {
            *e == ApiError::InsufficientCredits
        }),
        ("missing_temporary_url", 200, |e| {
            *e == ApiError::MissingResult
        }),
        ("cloudflare_522", 522, |e| {
            matches!(e, ApiError::Gateway { status: 522, .. })
        }),
    ];
    for (fault, status, expected) in expectations {
        let response = edit_with_fault(&server, &path, fault).await;
        assert_eq!(response.status().as_u16(), status, "{fault}");
        let text = response.text().await.unwrap();
        let err = failed(status, &text);
        assert!(expected(&err), "{fault}: {err:?}");
    }

    let response = edit_with_fault(&server, &path, "bad_gateway_html").await;
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=UTF-8"
    );
    assert_eq!(
        response.text().await.unwrap(),
        include_str!("fixtures/error-502.html")
    );

    let response = edit_with_fault(&server, &path, "rate_limited").await;
    assert_eq!(response.headers()["retry-after"], "60");

    let response = edit_with_fault(&server, &path, "drop_connection").await;
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.is_err(), "the body must break off");

    // The server is still fine after a dropped connection.
    let (status, text) = post_edit(&server.url, edit_body(&path, "x", json!({}))).await;
    succeeded(status, &text);
}

/// What decides how the page treats an outcome: its kind, whether it is offered again,
/// whether it may have billed, and which of the provider's fields it carries.
#[derive(Debug, PartialEq)]
struct Treatment {
    kind: &'static str,
    retryable: bool,
    may_have_billed: bool,
    code: Option<String>,
    service: Option<String>,
    has_cause: bool,
    quotes_the_provider: bool,
}

fn treatment(outcome: &EditOutcome) -> Treatment {
    let none = |kind| Treatment {
        kind,
        retryable: false,
        may_have_billed: false,
        code: None,
        service: None,
        has_cause: false,
        quotes_the_provider: false,
    };
    match outcome {
        EditOutcome::Succeeded(_) => none("succeeded"),
        EditOutcome::Processing { .. } => none("processing"),
        EditOutcome::Failed(err) => {
            let (code, service, has_cause) = match err {
                ApiError::BadRequest {
                    code,
                    details,
                    service,
                    ..
                } => (code.clone(), service.clone(), details.is_some()),
                ApiError::ProviderFailure { code, message } => {
                    (code.clone(), None, message.is_some())
                }
                ApiError::UnsupportedModel { message } => (None, None, message.is_some()),
                _ => (None, None, false),
            };
            Treatment {
                kind: err.kind(),
                retryable: err.is_retryable(),
                may_have_billed: err.may_have_billed(),
                code,
                service,
                has_cause,
                quotes_the_provider: err.provider_words().is_some(),
            }
        }
    }
}

#[tokio::test]
async fn each_fault_parses_like_the_fixture_it_imitates() {
    let mut config = Config::simulator(None);
    config.simulator_mut().unwrap().fault_delay = Duration::from_millis(20);
    let server = Running::start(config).await;
    let path = upload_png(&server.url, 16, 16).await;
    let pairs: [(Option<&str>, u16, &str); 11] = [
        (None, 200, contract_fixture!("edit-success-credits.json")),
        (
            Some("completed"),
            200,
            contract_fixture!("edit-success-completed.json"),
        ),
        (
            Some("unauthorized"),
            401,
            contract_fixture!("error-plain-message.json"),
        ),
        (
            Some("bad_gateway_html"),
            502,
            contract_fixture!("error-502.html"),
        ),
        (
            Some("cloudflare_522"),
            522,
            contract_fixture!("error-522.html"),
        ),
        (
            Some("insufficient_credits"),
            200,
            contract_fixture!("edit-failure-credits.json"),
        ),
        (
            Some("failure_error_message"),
            200,
            contract_fixture!("edit-failure-error-message.json"),
        ),
        (
            Some("failure_result_message"),
            200,
            contract_fixture!("edit-failure-result-message.json"),
        ),
        (
            Some("bad_request_details"),
            400,
            contract_fixture!("error-400-details-nested.json"),
        ),
        (
            Some("unsupported_model"),
            400,
            contract_fixture!("error-400-unsupported-model.json"),
        ),
        (Some("drop_connection"), 200, "never read"),
    ];
    for (fault, status, fixture) in pairs {
        let mut request =
            client()
                .post(server.at("/api/features"))
                .body(edit_body(&path, "x", json!({})));
        if let Some(fault) = fault {
            request = request.header("X-Simulator-Fault", fault);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{fault:?}");
        let Ok(text) = response.text().await else {
            assert_eq!(fault, Some("drop_connection"));
            continue;
        };
        let answered = treatment(&parse_edit_response(status, &text));
        let imitated = treatment(&parse_edit_response(status, fixture));
        assert_eq!(answered, imitated, "{fault:?}: {text}");
    }

    // The simulator's validation refuses like the host does, wrapped like the fixture.
    let (status, text) = post_edit(&server.url, edit_body(&path, "x", json!({"steps": 99}))).await;
    assert_eq!(status, 400);
    assert_eq!(
        treatment(&parse_edit_response(status, &text)),
        treatment(&parse_edit_response(
            400,
            contract_fixture!("error-400-details-nested.json")
        ))
    );
    assert_eq!(
        failed(status, &text).to_string(),
        "The model's host (black-forest-labs) refused the request: Steps must be a whole number between 1 and 50."
    );
    let (status, text) = post_edit(
        &server.url,
        json!({"type": "IMAGE_EDITOR", "model": "black-forest-labs/flux-2-flex", "promptObject": {"imageUrl": path}}).to_string(),
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        serde_json::from_str::<Value>(contract_fixture!("error-400-missing-fields.json")).unwrap()
    );
    assert_eq!(
        treatment(&parse_edit_response(status, &text)),
        treatment(&parse_edit_response(
            400,
            contract_fixture!("error-400-missing-fields.json")
        ))
    );
}

#[tokio::test]
async fn used_credit_lags_one_edit() {
    let server = simulator().await;
    let path = upload_png(&server.url, 8, 8).await;
    let mut reported = Vec::new();
    for steps in [10, 20, 10] {
        let (status, text) =
            post_edit(&server.url, edit_body(&path, "x", json!({"steps": steps}))).await;
        reported.push(succeeded(status, &text).credits.unwrap().used);
    }
    // The first edit reports what was used before it: nothing yet.
    assert_eq!(reported[0], 0.0);
    // Then each reports the total of the edits before it, so an edit of the same steps
    // adds what the first one cost.
    let first_cost = reported[1];
    assert!(first_cost > 0.0);
    let second_cost = reported[2] - reported[1];
    assert!(second_cost > first_cost, "20 steps cost more than 10");
}

#[tokio::test]
async fn a_gateway_timeout_comes_after_the_delay() {
    let mut config = Config::simulator(None);
    config.simulator_mut().unwrap().fault_delay = Duration::from_millis(150);
    let server = Running::start(config).await;
    let path = upload_png(&server.url, 8, 8).await;
    let started = Instant::now();
    let response = edit_with_fault(&server, &path, "gateway_timeout").await;
    assert_eq!(response.status(), 504);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn an_armed_fault_applies_to_the_next_edit_only() {
    let server = simulator().await;
    let path = upload_png(&server.url, 8, 8).await;
    let arm = |fault: Value| {
        client()
            .post(server.at("/__simulator/fault"))
            .json(&json!({ "fault": fault }))
            .send()
    };
    let response = arm(json!("server_error")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap()["armed"],
        "server_error"
    );
    // Uploads do not use up the armed fault.
    upload_png(&server.url, 8, 8).await;
    let (status, _) = post_edit(&server.url, edit_body(&path, "x", json!({}))).await;
    assert_eq!(status, 500);
    let (status, _) = post_edit(&server.url, edit_body(&path, "x", json!({}))).await;
    assert_eq!(status, 200);

    arm(json!("unauthorized")).await.unwrap();
    arm(Value::Null).await.unwrap();
    let (status, _) = post_edit(&server.url, edit_body(&path, "x", json!({}))).await;
    assert_eq!(status, 200);

    let response = arm(json!("teapot")).await.unwrap();
    assert_eq!(response.status(), 400);
    let message = response.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("drop_connection"), "{message}");
}

#[tokio::test]
async fn a_slow_edit_is_held_until_released() {
    let server = simulator().await;
    let path = upload_png(&server.url, 8, 8).await;
    client()
        .post(server.at("/__simulator/fault"))
        .json(&json!({"fault": "slow"}))
        .send()
        .await
        .unwrap();
    let base = server.url.clone();
    let body = edit_body(&path, "x", json!({}));
    let edit = tokio::spawn(async move { post_edit(&base, body).await });
    let held: Value = client()
        .get(server.at("/__simulator/held?at_least=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(held["held"], 1);
    assert!(!edit.is_finished());
    let released: Value = client()
        .post(server.at("/__simulator/release"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(released["released"], 1);
    let (status, text) = edit.await.unwrap();
    succeeded(status, &text);
}

#[tokio::test]
async fn latency_grows_with_steps() {
    let mut config = Config::simulator(None);
    config.simulator_mut().unwrap().latency_per_step = Duration::from_millis(20);
    let server = Running::start(config).await;
    let path = upload_png(&server.url, 8, 8).await;
    let started = Instant::now();
    let (status, _) = post_edit(&server.url, edit_body(&path, "x", json!({"steps": 10}))).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn result_urls_expire_and_cannot_be_forged() {
    let mut config = Config::simulator(None);
    config.simulator_mut().unwrap().result_ttl = Duration::ZERO;
    let server = Running::start(config).await;
    let path = upload_png(&server.url, 8, 8).await;
    let (status, text) = post_edit(&server.url, edit_body(&path, "x", json!({}))).await;
    let result = succeeded(status, &text);
    let response = client().get(&result.display_url).send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(response.headers()["content-type"], "application/xml");
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("<Code>AccessDenied</Code>")
    );

    let server = simulator().await;
    let path = upload_png(&server.url, 8, 8).await;
    let (status, text) = post_edit(&server.url, edit_body(&path, "x", json!({}))).await;
    let result = succeeded(status, &text);
    let forged = result
        .display_url
        .replace("X-Amz-Expires=3600", "X-Amz-Expires=9999999");
    let response = client().get(&forged).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let bare = result.display_url.split('?').next().unwrap().to_owned();
    assert_eq!(client().get(&bare).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn the_result_fetch_route_serves_only_the_simulators_own_results() {
    let server = simulator().await;
    let path = upload_png(&server.url, 8, 8).await;
    let (status, text) = post_edit(&server.url, edit_body(&path, "x", json!({}))).await;
    let result = succeeded(status, &text);
    let fetch = |url: String| {
        client()
            .get(server.at("/api/result-image"))
            .query(&[("url", url)])
            .send()
    };
    let response = fetch(result.display_url.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    let direct = get_bytes(&result.display_url).await.2;
    assert_eq!(response.bytes().await.unwrap().to_vec(), direct);

    for foreign in [
        "https://s3.us-east-1.amazonaws.com/asset.1min.ai/images/a.png".to_owned(),
        format!("{}/__simulator/requests", server.url),
        "http://127.0.0.2:1/__results/images/a.png".to_owned(),
        "not a url".to_owned(),
    ] {
        let response = fetch(foreign.clone()).await.unwrap();
        assert_eq!(response.status(), 403, "{foreign}");
    }
    let missing = client()
        .get(server.at("/api/result-image"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
}

#[tokio::test]
async fn the_log_can_be_cleared() {
    let server = simulator().await;
    let path = upload_png(&server.url, 8, 8).await;
    post_edit(&server.url, edit_body(&path, "x", json!({}))).await;
    let log = server.requests_log().await;
    assert_eq!(log["assets"].as_array().unwrap().len(), 1);
    assert_eq!(log["features"].as_array().unwrap().len(), 1);
    let response = client()
        .delete(server.at("/__simulator/requests"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let log = server.requests_log().await;
    assert!(log["assets"].as_array().unwrap().is_empty());
    assert!(log["features"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn without_test_mode_there_are_no_faults_and_no_control_routes() {
    let mut config = Config::simulator(None);
    config.simulator_mut().unwrap().test_mode = false;
    config.simulator_mut().unwrap().latency_per_step = Duration::ZERO;
    let server = Running::start(config).await;
    for (method, route) in [
        (reqwest::Method::POST, "/__simulator/fault"),
        (reqwest::Method::POST, "/__simulator/release"),
        (reqwest::Method::GET, "/__simulator/requests"),
        (reqwest::Method::GET, "/__simulator/held"),
        (reqwest::Method::GET, "/__simulator/assets/images/a.png"),
    ] {
        let response = client()
            .request(method, server.at(route))
            .json(&json!({"fault": "server_error"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{route}");
    }
    let path = upload_png(&server.url, 8, 8).await;
    let response = edit_with_fault(&server, &path, "server_error").await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn direct_mode_checks_the_key_and_allows_the_configured_origin() {
    let mut config = Config::simulator(None);
    config.simulator_mut().unwrap().api_key = Some(ApiKey::new("right-key"));
    config.allowed_origins = vec!["http://dashboard.test".to_owned()];
    let server = Running::start(config).await;

    let upload = |key: Option<&'static str>| {
        let mut request = client()
            .post(server.at("/api/assets"))
            .multipart(asset_form(png(8, 8), "a.png", "image/png"));
        if let Some(key) = key {
            request = request.header("API-KEY", key);
        }
        request.send()
    };
    let missing = upload(None).await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.json::<Value>().await.unwrap(),
        json!({"message": "Unauthorized"})
    );
    let wrong = upload(Some("wrong-key")).await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.json::<Value>().await.unwrap()["success"], false);
    let right = upload(Some("right-key")).await.unwrap();
    assert_eq!(right.status(), 200);
    let body: Value = right.json().await.unwrap();
    let path = body["fileContent"]["path"].as_str().unwrap();

    let edit = |key: &'static str| {
        client()
            .post(server.at("/api/features"))
            .header("API-KEY", key)
            .header("Origin", "http://dashboard.test")
            .body(edit_body(path, "x", json!({})))
            .send()
    };
    let refused = edit("wrong-key").await.unwrap();
    assert_eq!(refused.status(), 401);
    let accepted = edit("right-key").await.unwrap();
    assert_eq!(accepted.status(), 200);
    assert_eq!(
        accepted.headers()["access-control-allow-origin"],
        "http://dashboard.test"
    );

    let preflight = |origin: &'static str| {
        client()
            .request(reqwest::Method::OPTIONS, server.at("/api/features"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "api-key, content-type")
            .send()
    };
    let allowed = preflight("http://dashboard.test").await.unwrap();
    assert!(allowed.status().is_success());
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://dashboard.test"
    );
    let allowed_headers = allowed.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed_headers.contains("api-key"), "{allowed_headers}");
    let other = preflight("http://evil.test").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn unknown_api_routes_are_404_in_json() {
    let server = simulator().await;
    for (method, route) in [
        (reqwest::Method::GET, "/api/features"),
        (reqwest::Method::GET, "/api/assets"),
        (reqwest::Method::POST, "/api/results/123"),
        (reqwest::Method::DELETE, "/api/features"),
        (reqwest::Method::GET, "/api"),
    ] {
        let response = client()
            .request(method, server.at(route))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{route}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errorCode"], "NOT_FOUND");
    }
}

#[tokio::test]
async fn shutdown_lets_an_edit_in_flight_finish() {
    let mut config = Config::simulator(None);
    // The edit holds itself for a moment; nothing releases it, so shutdown must wait.
    config.simulator_mut().unwrap().slow_hold = Duration::from_millis(300);
    let mut server = Running::start(config).await;
    let path = upload_png(&server.url, 8, 8).await;
    let base = server.url.clone();
    let edit = tokio::spawn(async move {
        client()
            .post(format!("{base}/api/features"))
            .header("X-Simulator-Fault", "slow")
            .body(edit_body(&path, "x", json!({})))
            .send()
            .await
            .unwrap()
            .text()
            .await
    });
    let held: Value = client()
        .get(server.at("/__simulator/held?at_least=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(held["held"], 1);
    let stopped = server.begin_shutdown();
    let text = edit.await.unwrap().unwrap();
    succeeded(200, &text);
    stopped.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_forgotten_result_is_gone_from_its_url_and_the_control_api() {
    let server = simulator().await;
    let path = upload_png(&server.url, 8, 8).await;
    let (status, text) = post_edit(&server.url, edit_body(&path, "x", json!({}))).await;
    let result = succeeded(status, &text);
    let result_path = result.storage_paths[0].clone();
    assert_eq!(
        client()
            .get(&result.display_url)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let forget = |p: String| {
        let url = server.at(&format!("/__simulator/assets/{p}"));
        async move { client().delete(url).send().await.unwrap().status() }
    };
    assert_eq!(forget(result_path.clone()).await, 204);
    let response = client().get(&result.display_url).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("NoSuchKey"));
    let (status, _, _) = get_bytes(&server.at(&format!("/__simulator/assets/{result_path}"))).await;
    assert_eq!(status, 404);
    assert_eq!(forget(result_path).await, 404);
}
