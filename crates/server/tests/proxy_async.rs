//! The proxy and asynchronous edits, in front of an in-process simulator: the poll route
//! is forwarded with the key and nothing else under it, an invalid edit never costs an
//! upstream request, and the upstream budget holds however many people poll.

mod common;

use std::time::Duration;

use common::{Running, client, edit_body, upload_png};
use flexedit_api::{ApiError, EditOutcome, parse_edit_response, parse_result_response};
use flexedit_server::Config;
use serde_json::{Value, json};

const SERVER_KEY: &str = "server-side-key";
const ID: &str = "b7c8d9e0-1111-4000-8000-00000000a51c";

async fn upstream() -> Running {
    Running::start(Config::simulator(None)).await
}

async fn proxy_to(upstream: &Running, tweak: impl FnOnce(&mut Config)) -> Running {
    upstream.proxy_in_front(SERVER_KEY, tweak).await
}

async fn get(url: String) -> (u16, Option<String>, String) {
    let response = client()
        .get(url)
        .header("API-KEY", "key-typed-into-the-page")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, response.text().await.unwrap())
}

#[tokio::test]
async fn the_result_route_is_forwarded_with_the_key_and_nothing_else_under_it() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, |_| {}).await;
    let path = upload_png(&proxy.url, 8, 8).await;
    let mut body: Value = serde_json::from_str(&edit_body(&path, "x", json!({}))).unwrap();
    body["async"] = Value::Bool(true);
    let response = client()
        .post(proxy.at("/api/features"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let EditOutcome::Processing { uuid: Some(uuid) } = parse_edit_response(status, &text) else {
        panic!("{status} {text}")
    };
    client()
        .get(upstream.at("/__simulator/finished?at_least=1"))
        .send()
        .await
        .unwrap();
    let (status, _, text) = get(proxy.at(&format!("/api/results/{uuid}"))).await;
    assert!(
        matches!(
            parse_result_response(status, &text),
            EditOutcome::Succeeded(_)
        ),
        "{status} {text}"
    );
    let (status, _, text) = get(proxy.at(&format!("/api/results/{ID}"))).await;
    assert_eq!((status, text.as_str()), (200, r#"{"aiRecord":null}"#));

    let log = upstream.requests_log().await;
    let polls = log["polls"].as_array().unwrap();
    assert_eq!(polls.len(), 2);
    for poll in polls {
        assert_eq!(poll["api_key"], SERVER_KEY);
    }
    assert_eq!(polls[0]["uuid"], uuid);

    for other in [
        "/api/results".to_owned(),
        "/api/results/".to_owned(),
        "/api/results/not-a-uuid".to_owned(),
        format!("/api/results/{ID}/extra"),
        format!("/api/results/{ID}x"),
        "/api/results/..%2Ffeatures".to_owned(),
        format!("/api/results/%7B{ID}%7D"),
    ] {
        let (status, _, _) = get(proxy.at(&other)).await;
        assert_eq!(status, 404, "{other}");
    }
    let posted = client()
        .post(proxy.at(&format!("/api/results/{ID}")))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 404);
    assert_eq!(
        upstream.requests_log().await["polls"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn an_invalid_edit_is_refused_without_calling_upstream() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, |_| {}).await;
    let bodies = [
        edit_body("images/a.png", "x", json!({"steps": 0})),
        edit_body("images/a.png", "", json!({})),
        r#"{"type":"IMAGE_EDITOR","model":"some-other-model","promptObject":{}}"#.to_owned(),
        "not json".to_owned(),
    ];
    for body in bodies {
        let expected = flexedit_api::EditRequest::from_json(&body).unwrap_err();
        let response = client()
            .post(proxy.at("/api/features"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), expected.status(), "{body}");
        assert_eq!(response.text().await.unwrap(), expected.error_body());
    }
    let log = upstream.requests_log().await;
    assert_eq!(log["features"].as_array().unwrap().len(), 0, "{log}");
}

#[tokio::test]
async fn the_upstream_budget_holds_under_ten_concurrent_pollers() {
    let upstream = upstream().await;
    // Six a minute and no waiting: the refill is a minute away, so what passes while the
    // test runs is exactly the budget.
    let proxy = proxy_to(&upstream, |config| {
        let proxy = config.proxy_mut().unwrap();
        proxy.upstream_per_minute = 6;
        proxy.upstream_max_wait = Duration::ZERO;
    })
    .await;
    let pollers: Vec<_> = (0..10)
        .map(|_| {
            let url = proxy.at(&format!("/api/results/{ID}"));
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for _ in 0..3 {
                    answers.push(get(url.clone()).await);
                }
                answers
            })
        })
        .collect();
    let mut passed = 0;
    let mut refused = 0;
    for poller in pollers {
        for (status, retry_after, text) in poller.await.unwrap() {
            match status {
                200 => passed += 1,
                429 => {
                    refused += 1;
                    let wait: u64 = retry_after.expect("Retry-After").parse().unwrap();
                    assert!((1..=60).contains(&wait), "{wait}");
                    let EditOutcome::Failed(e) = parse_result_response(status, &text) else {
                        panic!("{text}")
                    };
                    assert_eq!(e, ApiError::RateLimited);
                    assert!(e.poll_again());
                }
                other => panic!("{other} {text}"),
            }
        }
    }
    assert_eq!((passed, refused), (6, 24));
    let reached = upstream.requests_log().await["polls"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(reached, 6);

    // The spent budget shows in readiness and metrics: this instance cannot forward now.
    let (status, _, text) = get(proxy.at("/readyz")).await;
    assert_eq!(status, 503, "{text}");
    let ready: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ready["reason"], "upstream budget exhausted");
    assert_eq!(
        ready["upstreamBudget"],
        json!({"perMinute": 6, "available": 0})
    );
    let (_, _, metrics) = get(proxy.at("/metrics")).await;
    for line in [
        "flexedit_upstream_budget_per_minute 6",
        "flexedit_upstream_budget_available 0",
        "flexedit_rate_limit_refusals_total{reason=\"budget\"} 24",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} not in\n{metrics}"
        );
    }
}

#[tokio::test]
async fn readiness_reports_a_budget_with_room() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, |config| {
        config.proxy_mut().unwrap().upstream_per_minute = 5;
    })
    .await;
    let (status, _, text) = get(proxy.at("/readyz")).await;
    assert_eq!(status, 200, "{text}");
    let ready: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ready["ready"], true);
    assert_eq!(
        ready["upstreamBudget"],
        json!({"perMinute": 5, "available": 5})
    );
    assert!(!text.contains(SERVER_KEY));
}
