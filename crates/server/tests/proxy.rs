//! The proxy in front of a second, in-process server running the simulator: the key is
//! added, the browser's credentials dropped, only the page's routes pass, limits hold.

mod common;

use std::time::Duration;

use common::{Running, asset_form, client, edit_body, noisy_png, png, post_edit, upload_png};
use flexedit_api::{ApiError, EditOutcome, parse_edit_response};
use flexedit_server::{AssetHost, Config, Url};
use serde_json::{Value, json};

const SERVER_KEY: &str = "server-side-key";

async fn upstream() -> Running {
    Running::start(Config::simulator(None)).await
}

async fn proxy_to(upstream: &Running, tweak: impl FnOnce(&mut Config)) -> Running {
    upstream.proxy_in_front(SERVER_KEY, tweak).await
}

async fn arm(upstream: &Running, fault: &str) {
    let response = client()
        .post(upstream.at("/__simulator/fault"))
        .json(&json!({ "fault": fault }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_key_is_added_and_the_browsers_credentials_dropped() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, |_| {}).await;

    let response = client()
        .post(proxy.at("/api/assets"))
        .header("API-KEY", "key-typed-into-the-page")
        .header("Authorization", "Bearer page-token")
        .header("Cookie", "session=abc")
        .header("X-Api-Key", "another")
        .multipart(asset_form(png(32, 24), "cat.png", "image/png"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("set-cookie").is_none());
    let body: Value = response.json().await.unwrap();
    let path = body["fileContent"]["path"].as_str().unwrap().to_owned();

    let edit = edit_body(&path, "Add \"PROXY\"", json!({"seed": 9}));
    let response = client()
        .post(proxy.at("/api/features"))
        .header("content-type", "application/json")
        .header("api-key", "key-typed-into-the-page")
        .header("cookie", "session=abc")
        .body(edit.clone())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert!(
        matches!(
            parse_edit_response(status, &text),
            EditOutcome::Succeeded(_)
        ),
        "{text}"
    );

    let log = upstream.requests_log().await;
    for entry in [&log["assets"][0], &log["features"][0]] {
        assert_eq!(entry["api_key"], SERVER_KEY);
        let names: Vec<&str> = entry["header_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        for dropped in ["cookie", "authorization", "x-api-key", "origin", "referer"] {
            assert!(
                !names.contains(&dropped),
                "{dropped} reached upstream: {names:?}"
            );
        }
    }
    assert_eq!(
        log["features"][0]["body"],
        edit.as_str(),
        "the body passes unchanged"
    );
    assert_eq!(log["assets"][0]["width"], 32);
}

#[tokio::test]
async fn the_contract_fixture_round_trips_through_the_proxy() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, |_| {}).await;
    let path = upload_png(&proxy.url, 200, 100).await;
    let mut request: Value =
        serde_json::from_str(include_str!("fixtures/edit-request.json")).unwrap();
    request["promptObject"]["imageUrl"] = Value::String(path);
    let (status, text) = post_edit(&proxy.url, request.to_string()).await;
    let EditOutcome::Succeeded(result) = parse_edit_response(status, &text) else {
        panic!("{status} {text}");
    };
    assert!(result.display_url.starts_with(&upstream.url));
}

#[tokio::test]
async fn only_the_pages_routes_are_forwarded() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, |_| {}).await;
    for (method, route) in [
        (reqwest::Method::GET, "/api/assets"),
        (reqwest::Method::GET, "/api/features"),
        (reqwest::Method::PUT, "/api/features"),
        (reqwest::Method::POST, "/api/results/1234"),
        (reqwest::Method::POST, "/api/users/me"),
        (reqwest::Method::GET, "/__simulator/requests"),
        (reqwest::Method::POST, "/__simulator/fault"),
        (reqwest::Method::GET, "/__results/images/a.png"),
        (reqwest::Method::GET, "/https://api.1min.ai/api/features"),
    ] {
        let response = client()
            .request(method.clone(), proxy.at(route))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{method} {route}");
    }
    let log = upstream.requests_log().await;
    assert!(log["assets"].as_array().unwrap().is_empty());
    assert!(log["features"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused_before_they_reach_upstream() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, |config| config.body_limit = 256 * 1024).await;
    let big = noisy_png(300, 300);
    assert!(big.len() > 256 * 1024);

    let declared = client()
        .post(proxy.at("/api/assets"))
        .multipart(asset_form(big.clone(), "big.png", "image/png"))
        .send()
        .await
        .unwrap();
    assert_eq!(declared.status(), 413);
    let text = declared.text().await.unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["errorCode"], "PAYLOAD_TOO_LARGE");
    assert_eq!(
        flexedit_api::parse_asset_upload(413, &text).unwrap_err(),
        ApiError::TooLarge
    );

    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(16 * 1024).map(|c| Ok(c.to_vec())).collect();
    let streamed = client()
        .post(proxy.at("/api/features"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await;
    // The proxy answers 413 as soon as the cap is crossed; the client may still be
    // sending, so it can also see the connection close instead.
    if let Ok(response) = streamed {
        assert_eq!(response.status(), 413);
    }
    let log = upstream.requests_log().await;
    assert!(log["assets"].as_array().unwrap().is_empty());
    assert!(
        log["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["body"].as_str().unwrap().len() <= 256 * 1024)
    );

    // Under the cap everything passes.
    let small = client()
        .post(proxy.at("/api/assets"))
        .multipart(asset_form(noisy_png(100, 100), "ok.png", "image/png"))
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), 200);
}

#[tokio::test]
async fn a_slow_provider_times_out_with_504() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, |config| {
        config.proxy_mut().unwrap().upstream_timeout = Duration::from_millis(300);
    })
    .await;
    let path = upload_png(&proxy.url, 8, 8).await;
    arm(&upstream, "slow").await;
    let (status, text) = post_edit(&proxy.url, edit_body(&path, "x", json!({}))).await;
    assert_eq!(status, 504, "{text}");
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["errorCode"], "UPSTREAM_TIMEOUT");
    client()
        .post(upstream.at("/__simulator/release"))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unreachable_provider_is_502() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let mut config = Config::proxy(
        None,
        Url::parse(&format!("http://{closed}")).unwrap(),
        SERVER_KEY,
    );
    config.proxy_mut().unwrap().connect_timeout = Duration::from_secs(2);
    let proxy = Running::start(config).await;
    let (status, text) = post_edit(&proxy.url, edit_body("images/a.png", "x", json!({}))).await;
    assert_eq!(status, 502, "{text}");
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["errorCode"], "UPSTREAM_UNREACHABLE");
}

#[tokio::test]
async fn provider_errors_are_relayed_as_they_are() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, |_| {}).await;
    let path = upload_png(&proxy.url, 8, 8).await;

    arm(&upstream, "bad_gateway_html").await;
    let response = client()
        .post(proxy.at("/api/features"))
        .body(edit_body(&path, "x", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(
        response.text().await.unwrap(),
        include_str!("fixtures/error-502.html")
    );

    arm(&upstream, "insufficient_credits").await;
    let (status, text) = post_edit(&proxy.url, edit_body(&path, "x", json!({}))).await;
    assert_eq!(
        parse_edit_response(status, &text),
        EditOutcome::Failed(ApiError::InsufficientCredits)
    );

    // Cloudflare's own status and page, the host's nested refusal and the failed records
    // reach the page unchanged, so it reads them as it would read the provider.
    for (fault, status) in [
        ("cloudflare_522", 522),
        ("bad_request_details", 400),
        ("unsupported_model", 400),
        ("failure_error_message", 200),
        ("failure_result_message", 200),
    ] {
        let direct = client()
            .post(upstream.at("/api/features"))
            .header("X-Simulator-Fault", fault)
            .body(edit_body(&path, "x", json!({})))
            .send()
            .await
            .unwrap();
        let direct_status = direct.status().as_u16();
        let direct = direct.text().await.unwrap();
        arm(&upstream, fault).await;
        let (relayed_status, relayed) =
            post_edit(&proxy.url, edit_body(&path, "x", json!({}))).await;
        assert_eq!((relayed_status, direct_status), (status, status), "{fault}");
        let kind = |text: &str| match parse_edit_response(status, text) {
            EditOutcome::Failed(err) => err.kind(),
            other => panic!("{fault}: {other:?}"),
        };
        assert_eq!(kind(&relayed), kind(&direct), "{fault}");
        if fault == "cloudflare_522" {
            assert_eq!(relayed, direct, "the page is relayed byte for byte");
        }
    }

    arm(&upstream, "rate_limited").await;
    let response = client()
        .post(proxy.at("/api/features"))
        .body(edit_body(&path, "x", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "60");

    arm(&upstream, "drop_connection").await;
    let broken = client()
        .post(proxy.at("/api/features"))
        .body(edit_body(&path, "x", json!({})))
        .send()
        .await;
    // A broken body, or with unlucky timing a broken response: either way, no success.
    if let Ok(response) = broken {
        assert!(response.bytes().await.is_err(), "the body must break off");
    }
    let (status, _) = post_edit(&proxy.url, edit_body(&path, "x", json!({}))).await;
    assert_eq!(status, 200, "the proxy keeps working");
}

#[tokio::test]
async fn cors_only_for_allowed_origins_and_foreign_pages_refused() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, |config| {
        config.allowed_origins = vec!["http://dashboard.test".to_owned()];
    })
    .await;
    let path = upload_png(&upstream.url, 8, 8).await;

    let preflight = |origin: &'static str| {
        client()
            .request(reqwest::Method::OPTIONS, proxy.at("/api/features"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let allowed = preflight("http://dashboard.test").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://dashboard.test"
    );
    let foreign = preflight("http://evil.test").await.unwrap();
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let post_from = |origin: String| {
        client()
            .post(proxy.at("/api/features"))
            .header("Origin", origin)
            .body(edit_body(&path, "x", json!({})))
            .send()
    };
    let response = post_from("http://dashboard.test".to_owned()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://dashboard.test"
    );
    let same_origin = post_from(proxy.url.clone()).await.unwrap();
    assert_eq!(same_origin.status(), 200);
    assert!(
        same_origin
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    for origin in ["http://evil.test", "null"] {
        let response = post_from(origin.to_owned()).await.unwrap();
        assert_eq!(response.status(), 403, "{origin}");
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
    }
    // Refused requests never reached the provider.
    assert_eq!(
        upstream.requests_log().await["features"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn each_client_is_rate_limited() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, |config| config.rate_limit_per_minute = Some(3)).await;
    for _ in 0..3 {
        let (status, _) = post_edit(&proxy.url, "{}".to_owned()).await;
        assert_eq!(
            status, 400,
            "forwarded to the simulator, which refuses the body"
        );
    }
    let response = client()
        .post(proxy.at("/api/features"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "20");
    let text = response.text().await.unwrap();
    assert_eq!(
        parse_edit_response(429, &text),
        EditOutcome::Failed(ApiError::RateLimited)
    );
}

async fn simulated_result(upstream: &Running) -> String {
    let path = upload_png(&upstream.url, 16, 16).await;
    let (status, text) = post_edit(&upstream.url, edit_body(&path, "x", json!({}))).await;
    let EditOutcome::Succeeded(result) = parse_edit_response(status, &text) else {
        panic!("{text}");
    };
    result.display_url
}

async fn fetch_result(proxy: &Running, url: &str) -> reqwest::Response {
    client()
        .get(proxy.at("/api/result-image"))
        .query(&[("url", url)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_result_fetch_route_refuses_foreign_hosts() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, |_| {}).await;
    let result = simulated_result(&upstream).await;
    for url in [
        result.as_str(),
        "https://evil.example/asset.1min.ai/a.png",
        "https://s3.amazonaws.com/other-bucket/a.png",
        "http://asset.1min.ai/a.png",
        "https://asset.1min.ai.evil.example/a.png",
        "file:///etc/passwd",
        "https://169.254.169.254/latest/meta-data",
        "not a url",
    ] {
        let response = fetch_result(&proxy, url).await;
        assert_eq!(response.status(), 403, "{url}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errorCode"], "RESULT_HOST_NOT_ALLOWED");
    }
}

#[tokio::test]
async fn the_result_fetch_route_streams_allowed_images_with_a_cap_and_no_foreign_redirects() {
    let upstream = upstream().await;
    let upstream_host: AssetHost = upstream.addr.to_string().parse().unwrap();

    // A host on the list that redirects to one that is not.
    let redirector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirector_addr = redirector.local_addr().unwrap();
    let target = simulated_result(&upstream).await;
    let location = target.clone();
    let app = axum::Router::new().route(
        "/result.png",
        axum::routing::get(move || {
            let location = location.clone();
            async move { axum::response::Redirect::temporary(&location) }
        }),
    );
    let redirect_server = tokio::spawn(async move { axum::serve(redirector, app).await });

    let proxy = proxy_to(&upstream, |config| {
        config.result_hosts = vec![
            upstream_host.clone(),
            redirector_addr.to_string().parse().unwrap(),
        ];
        config.proxy_mut().unwrap().allow_insecure_result_urls = true;
    })
    .await;
    let response = fetch_result(&proxy, &target).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    let bytes = response.bytes().await.unwrap();
    image::load_from_memory(&bytes).unwrap();

    // Redirects are followed only to allowed hosts: here the target is allowed...
    let via_redirect = fetch_result(&proxy, &format!("http://{redirector_addr}/result.png")).await;
    assert_eq!(via_redirect.status(), 200);

    // ...and here it is not.
    let strict = proxy_to(&upstream, |config| {
        config.result_hosts = vec![redirector_addr.to_string().parse().unwrap()];
        config.proxy_mut().unwrap().allow_insecure_result_urls = true;
    })
    .await;
    let refused = fetch_result(&strict, &format!("http://{redirector_addr}/result.png")).await;
    assert_eq!(refused.status(), 403);

    let capped = proxy_to(&upstream, |config| {
        config.result_hosts = vec![upstream_host.clone()];
        config.proxy_mut().unwrap().allow_insecure_result_urls = true;
        config.result_size_limit = 100;
    })
    .await;
    let too_big = fetch_result(&capped, &target).await;
    assert_eq!(too_big.status(), 502);
    redirect_server.abort();
}
