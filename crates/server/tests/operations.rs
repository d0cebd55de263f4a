//! What an operator runs the server with: health and readiness, metrics, request ids.

mod common;

use std::collections::BTreeMap;

use common::{Running, TempDir, client, edit_body, upload_png};
use flexedit_server::{Config, Server, Url};
use serde_json::{Value, json};

/// Every sample of a scrape, by its name with labels as written.
type Samples = BTreeMap<String, f64>;

async fn scrape(url: &str) -> Samples {
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (name, value) = line.rsplit_once(' ').unwrap();
            (name.to_owned(), value.parse::<f64>().unwrap())
        })
        .collect()
}

fn value(samples: &Samples, name: &str) -> f64 {
    samples.get(name).copied().unwrap_or(0.0)
}

/// What changed between two scrapes, for the samples whose name starts with `prefix`.
fn changes(before: &Samples, after: &Samples, prefix: &str) -> BTreeMap<String, f64> {
    after
        .iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .map(|(name, now)| (name.clone(), now - value(before, name)))
        .filter(|(_, change)| *change != 0.0)
        .collect()
}

fn requests(route: &str, method: &str, status: u16) -> String {
    format!(
        "flexedit_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}}"
    )
}

fn page() -> TempDir {
    let dir = TempDir::new("operations-page");
    std::fs::write(
        dir.0.join("index.html"),
        "<!DOCTYPE html><title>flexedit</title>",
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn health_and_readiness_answer_small_json_and_never_the_key() {
    let key = "sk-never-show-this-0123456789";
    let upstream = Running::start(Config::simulator(None)).await;
    let proxy = Running::start(Config::proxy(None, Url::parse(&upstream.url).unwrap(), key)).await;
    let health = client().get(proxy.at("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.headers()["cache-control"], "no-store");
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
    let ready = client().get(proxy.at("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<Value>().await.unwrap(),
        json!({
            "ready": true,
            "role": "proxy",
            "page": "none",
            "configuration": "loaded",
            "upstreamBudget": {"perMinute": 180, "available": 180},
        })
    );
    for path in ["/healthz", "/readyz", "/metrics"] {
        let body = client().get(proxy.at(path)).send().await.unwrap();
        let text = body.text().await.unwrap();
        assert!(!text.contains(key), "{path}: {text}");
    }
}

#[tokio::test]
async fn while_draining_readiness_says_no_and_everything_else_is_still_served() {
    let dist = page();
    let server = Server::bind(
        "127.0.0.1:0".parse().unwrap(),
        &Config::simulator(Some(dist.0.clone())),
    )
    .await
    .unwrap();
    let base = server.url();
    let readiness = server.readiness();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let ready = client().get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    readiness.start_draining();
    let draining = client().get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(draining.status(), 503);
    let body = draining.json::<Value>().await.unwrap();
    assert_eq!(body["ready"], false);
    assert_eq!(body["reason"], "draining");
    assert_eq!(body["role"], "simulator");
    let health = client()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the process still serves");
    let page = client().get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    upload_png(&base, 8, 8).await;

    let _ = stop.send(());
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn metrics_count_exactly_the_requests_made() {
    let dist = page();
    let server = Running::start(Config::simulator(Some(dist.0.clone()))).await;
    let metrics = server.at("/metrics");
    let before = scrape(&metrics).await;

    for _ in 0..2 {
        let page = client().get(server.at("/")).send().await.unwrap();
        assert_eq!(page.status(), 200);
    }
    let missing = client()
        .get(server.at("/favicon.ico"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let refused_body = "{\"type\": \"IMAGE_EDITOR\"}";
    let refused = client()
        .post(server.at("/api/features"))
        .header("content-type", "application/json")
        .body(refused_body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let health = client().get(server.at("/healthz")).send().await.unwrap();
    let health_len = health.bytes().await.unwrap().len();

    let after = scrape(&metrics).await;
    let counted = changes(&before, &after, "flexedit_http_requests_total");
    let expected: BTreeMap<String, f64> = [
        (requests("(page)", "GET", 200), 2.0),
        (requests("(page)", "GET", 404), 1.0),
        (requests("/api/features", "POST", 400), 1.0),
        (requests("/healthz", "GET", 200), 1.0),
        // The first scrape; the second counts once it has answered.
        (requests("/metrics", "GET", 200), 1.0),
    ]
    .into_iter()
    .collect();
    assert_eq!(counted, expected);
    assert_eq!(
        value(
            &after,
            "flexedit_http_request_body_bytes_total{route=\"/api/features\"}"
        ) - value(
            &before,
            "flexedit_http_request_body_bytes_total{route=\"/api/features\"}"
        ),
        refused_body.len() as f64
    );
    assert_eq!(
        value(
            &after,
            "flexedit_http_response_body_bytes_total{route=\"/healthz\"}"
        ) - value(
            &before,
            "flexedit_http_response_body_bytes_total{route=\"/healthz\"}"
        ),
        health_len as f64
    );
    assert_eq!(
        changes(
            &before,
            &after,
            "flexedit_simulator_edit_duration_seconds_count"
        ),
        [(
            "flexedit_simulator_edit_duration_seconds_count{status=\"400\"}".to_owned(),
            1.0
        )]
        .into_iter()
        .collect()
    );
    assert_eq!(
        value(
            &after,
            "flexedit_http_request_duration_seconds_count{route=\"(page)\",method=\"GET\"}"
        ),
        3.0
    );
    // The scrape itself is the one request in flight.
    assert_eq!(value(&after, "flexedit_http_requests_in_flight"), 1.0);
    assert_eq!(
        value(
            &after,
            &format!(
                "flexedit_build_info{{version=\"{}\",role=\"simulator\"}}",
                env!("CARGO_PKG_VERSION")
            )
        ),
        1.0
    );
}

#[tokio::test]
async fn a_held_edit_is_in_flight_until_it_is_answered() {
    let server = Running::start(Config::simulator(None)).await;
    let held = tokio::spawn({
        let url = server.at("/api/features");
        async move {
            client()
                .post(url)
                .header("x-simulator-fault", "slow")
                .body("{}")
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    let waited = client()
        .get(server.at("/__simulator/held?at_least=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(waited.json::<Value>().await.unwrap()["held"], 1);
    let during = scrape(&server.at("/metrics")).await;
    assert_eq!(value(&during, "flexedit_http_requests_in_flight"), 2.0);

    let released = client()
        .post(server.at("/__simulator/release"))
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), 200);
    assert_eq!(held.await.unwrap(), 400);
    let after = scrape(&server.at("/metrics")).await;
    assert_eq!(value(&after, "flexedit_http_requests_in_flight"), 1.0);
}

#[tokio::test]
async fn the_proxy_counts_its_upstream_calls_and_each_reason_to_refuse() {
    let upstream = Running::start(Config::simulator(None)).await;
    let mut config = Config::proxy(None, Url::parse(&upstream.url).unwrap(), "k");
    config.rate_limit_per_minute = Some(2);
    let proxy = Running::start(config).await;
    let edit = || async {
        client()
            .post(proxy.at("/api/features"))
            .header("content-type", "application/json")
            .body(edit_body(
                "images/missing.png",
                "Add the text SALE",
                json!({}),
            ))
            .send()
            .await
            .unwrap()
            .status()
    };
    let before = scrape(&proxy.at("/metrics")).await;
    let first = edit().await;
    assert_ne!(first, 429);
    let armed = client()
        .post(upstream.at("/__simulator/fault"))
        .json(&json!({"fault": "rate_limited"}))
        .send()
        .await
        .unwrap();
    assert!(armed.status().is_success());
    assert_eq!(edit().await, 429, "the provider's refusal, relayed");
    assert_eq!(edit().await, 429, "this server's own limit");
    let after = scrape(&proxy.at("/metrics")).await;

    assert_eq!(
        changes(&before, &after, "flexedit_rate_limit_refusals_total"),
        [
            (
                "flexedit_rate_limit_refusals_total{reason=\"client\"}".to_owned(),
                1.0
            ),
            (
                "flexedit_rate_limit_refusals_total{reason=\"provider\"}".to_owned(),
                1.0
            ),
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(
        changes(&before, &after, "flexedit_upstream_request_duration_seconds_count"),
        [
            (
                format!(
                    "flexedit_upstream_request_duration_seconds_count{{route=\"/api/features\",outcome=\"{}\"}}",
                    first.as_u16()
                ),
                1.0
            ),
            (
                "flexedit_upstream_request_duration_seconds_count{route=\"/api/features\",outcome=\"429\"}"
                    .to_owned(),
                1.0
            ),
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(value(&after, &requests("/api/features", "POST", 429)), 2.0);
}

#[tokio::test]
async fn metrics_on_their_own_address_leave_the_main_one() {
    let mut config = Config::simulator(None);
    config.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), &config)
        .await
        .unwrap();
    let base = server.url();
    let metrics = server.metrics_url().unwrap();
    assert_ne!(metrics, format!("{base}/metrics"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    let on_main = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(on_main.status(), 404);
    let samples = scrape(&metrics).await;
    assert_eq!(value(&samples, &requests("/metrics", "GET", 404)), 1.0);
    // Scrapes on the metrics address are not requests to the service.
    let again = scrape(&metrics).await;
    assert_eq!(value(&again, &requests("/metrics", "GET", 200)), 0.0);

    let _ = stop.send(());
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_request_id_round_trips_and_is_made_when_absent() {
    let upstream = Running::start(Config::simulator(None)).await;
    let proxy = Running::start(Config::proxy(None, Url::parse(&upstream.url).unwrap(), "k")).await;
    let id_of = |response: &reqwest::Response| {
        response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned()
    };

    let sent = client()
        .get(proxy.at("/healthz"))
        .header("x-request-id", "edit-7.upload")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&sent), "edit-7.upload");

    let made = client().get(proxy.at("/healthz")).send().await.unwrap();
    let other = client().get(proxy.at("/healthz")).send().await.unwrap();
    for id in [id_of(&made), id_of(&other)] {
        assert_eq!(id.len(), 32, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
    assert_ne!(id_of(&made), id_of(&other));

    let unfit = client()
        .get(proxy.at("/healthz"))
        .header("x-request-id", "two words")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&unfit).len(), 32);

    // Errors carry it too, and the proxy keeps it to itself: the provider gets only the
    // headers it always got.
    let forwarded = client()
        .post(proxy.at("/api/features"))
        .header("x-request-id", "edit-7.edit")
        .header("content-type", "application/json")
        .body(edit_body(
            "images/missing.png",
            "Add the text SALE",
            json!({}),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&forwarded), "edit-7.edit");
    let seen = client()
        .get(upstream.at("/__simulator/requests"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let names = &seen["features"][0]["header_names"];
    assert!(
        names.as_array().is_some_and(|names| !names.is_empty()),
        "{seen}"
    );
    let seen = seen.to_string();
    assert!(!seen.contains("edit-7"), "{seen}");
    assert!(
        !seen.to_ascii_lowercase().contains("x-request-id"),
        "{seen}"
    );
}

#[tokio::test]
async fn a_page_from_an_allowed_origin_may_send_and_read_the_request_id() {
    let mut config = Config::simulator(None);
    config.allowed_origins = vec!["http://dashboard.test".to_owned()];
    let server = Running::start(config).await;
    let preflight = client()
        .request(reqwest::Method::OPTIONS, server.at("/api/features"))
        .header("Origin", "http://dashboard.test")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "content-type, x-request-id",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("x-request-id"), "{allowed}");
    let edit = client()
        .post(server.at("/api/features"))
        .header("Origin", "http://dashboard.test")
        .header("x-request-id", "dash-1")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(edit.headers()["x-request-id"], "dash-1");
    let exposed = edit.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");
}
