//! Several proxies behind one load balancer: none keeps state between requests, so the
//! calls of one edit can land on any of them.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Running, client, edit_body, post_edit, upload_png};
use flexedit_server::{Config, Url};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

/// A round-robin TCP balancer on loopback: each new connection goes to the next backend.
async fn balancer(backends: Vec<SocketAddr>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut incoming, _)) = listener.accept().await {
            let backend = backends[next.fetch_add(1, Ordering::SeqCst) % backends.len()];
            tokio::spawn(async move {
                if let Ok(mut outgoing) = TcpStream::connect(backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut incoming, &mut outgoing).await;
                }
            });
        }
    });
    format!("http://{address}")
}

fn result_url(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if text.starts_with("http") && text.contains("/__results/") => {
            Some(text.clone())
        }
        Value::Array(items) => items.iter().find_map(result_url),
        Value::Object(fields) => fields.values().find_map(result_url),
        _ => None,
    }
}

/// How many times `instance` answered `method route` with 200, from its own metrics.
async fn answered(instance: &Running, method: &str, route: &str) -> u64 {
    let text = client()
        .get(instance.at("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sample = format!(
        "flexedit_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"200\"}} "
    );
    text.lines()
        .find_map(|line| line.strip_prefix(&sample))
        .map_or(0, |count| count.parse().unwrap())
}

#[tokio::test]
async fn one_edit_is_served_across_two_proxies_behind_a_round_robin_balancer() {
    let provider = Running::start(Config::simulator(None)).await;
    let proxy = || {
        let mut config = Config::proxy(None, Url::parse(&provider.url).unwrap(), "k");
        config.result_hosts = vec![provider.addr.to_string().parse().unwrap()];
        if let Some(proxy) = config.proxy_mut() {
            proxy.allow_insecure_result_urls = true;
        }
        Running::start(config)
    };
    let first = proxy().await;
    let second = proxy().await;
    let entry = balancer(vec![first.addr, second.addr]).await;

    // Each helper call opens a new connection, so the balancer alternates.
    let asset = upload_png(&entry, 64, 48).await;
    let (status, text) = post_edit(
        &entry,
        edit_body(
            &asset,
            "Add the text \"SALE\"",
            json!({"aspect_ratio": "16:9"}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let url = result_url(&answer).unwrap_or_else(|| panic!("no result address in {text}"));
    let mut images = Vec::new();
    for _ in 0..2 {
        let response = client()
            .get(format!("{entry}/api/result-image"))
            .query(&[("url", &url)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        images.push(response.bytes().await.unwrap());
    }
    assert_eq!(images[0], images[1], "both instances fetch the same result");
    let image = image::load_from_memory(&images[0]).unwrap();
    assert_eq!(image.width() * 9, image.height() * 16, "the 16:9 result");

    assert_eq!(answered(&first, "POST", "/api/assets").await, 1);
    assert_eq!(answered(&first, "POST", "/api/features").await, 0);
    assert_eq!(answered(&first, "GET", "/api/result-image").await, 1);
    assert_eq!(answered(&second, "POST", "/api/assets").await, 0);
    assert_eq!(answered(&second, "POST", "/api/features").await, 1);
    assert_eq!(answered(&second, "GET", "/api/result-image").await, 1);
}
