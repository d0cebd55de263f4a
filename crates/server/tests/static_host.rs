//! The static host: types, compression, cache rules, and the headers the page runs under.

mod common;

use std::sync::Arc;

use common::{Running, TempDir, client};
use flexedit_server::{Config, Page, PageFiles};

const HASH: &str = "0123456789abcdef";

const PAGE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>flexedit</title>\n\
     <link rel=\"stylesheet\" href=\"./main-0123456789abcdef.css\">\n\
     <link rel=\"modulepreload\" href=\"./flexedit-0123456789abcdef.js\" crossorigin=\"anonymous\">\n\
     <script type=\"module\" src=\"./boot.js\"></script></head><body></body></html>\n";

fn dist() -> TempDir {
    let dir = TempDir::new("dist");
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.0.join(name), bytes).unwrap();
    write("index.html", PAGE.as_bytes());
    write("boot.js", b"import { mountPage } from './embed.js';\n");
    write(
        &format!("flexedit-{HASH}.js"),
        "export default function init() { return 'a loader that is long enough to compress'; }\n"
            .repeat(20)
            .as_bytes(),
    );
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.resize(4096, 0);
    write(&format!("flexedit-{HASH}_bg.wasm"), &wasm);
    write(&format!("main-{HASH}.css"), b"body { margin: 0; }\n");
    write("config.json", br#"{"endpoint": "/"}"#);
    dir
}

/// The same page served from its folder and from memory, as the built-in page is, each
/// with `adjust` applied to its configuration.
async fn servers(dist: &TempDir, adjust: impl Fn(&mut Config)) -> Vec<(&'static str, Running)> {
    let mut from_folder = Config::simulator(Some(dist.0.clone()));
    let mut from_memory = Config::simulator(None);
    from_memory.page = Page::Files(Arc::new(PageFiles::read_dir(&dist.0).unwrap()));
    adjust(&mut from_folder);
    adjust(&mut from_memory);
    vec![
        ("folder", Running::start(from_folder).await),
        ("memory", Running::start(from_memory).await),
    ]
}

async fn get(server: &Running, path: &str, encoding: Option<&str>) -> reqwest::Response {
    let mut request = client().get(server.at(path));
    if let Some(encoding) = encoding {
        request = request.header("Accept-Encoding", encoding);
    }
    request.send().await.unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_page_is_served_with_a_strict_policy_that_lets_it_run() {
    let dist = dist();
    for (source, server) in servers(&dist, |_| {}).await {
        let response = get(&server, "/", None).await;
        assert_eq!(response.status(), 200, "{source}");
        assert!(header(&response, "content-type").starts_with("text/html"));
        assert_eq!(header(&response, "cache-control"), "no-cache");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert_eq!(header(&response, "referrer-policy"), "no-referrer");
        assert_eq!(header(&response, "x-frame-options"), "SAMEORIGIN");
        let csp = header(&response, "content-security-policy");
        assert!(
        csp.starts_with("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob: https://asset.1min.ai"),
        "{csp}"
    );
        assert!(csp.contains("connect-src 'self' blob: data:;"), "{csp}");
        assert!(csp.contains("object-src 'none'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(!csp.contains("'unsafe-eval'"), "{csp}");
        // The loader scripts are not hashed, so hosts can link to them; they are revalidated.
        let boot = get(&server, "/boot.js", None).await;
        assert!(header(&boot, "content-type").contains("javascript"));
        assert_eq!(header(&boot, "cache-control"), "no-cache");
    }
}

#[tokio::test]
async fn a_revalidated_page_keeps_its_policy() {
    let dist = dist();
    for (source, server) in servers(&dist, |_| {}).await {
        let first = get(&server, "/", None).await;
        let policy = header(&first, "content-security-policy");
        let modified = header(&first, "last-modified");
        assert!(!modified.is_empty());
        let again = client()
            .get(server.at("/"))
            .header("If-Modified-Since", &modified)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{source}");
        // Browsers merge a 304's headers into the cached page: any policy here must be the
        // page's own, or a reload would run the page under another one.
        let revalidated = header(&again, "content-security-policy");
        assert!(
            revalidated.is_empty() || revalidated == policy,
            "{revalidated}"
        );
    }
}

#[tokio::test]
async fn under_a_base_path_the_page_lives_there_and_the_api_stays_at_the_root() {
    let dist = dist();
    let adjust = |config: &mut Config| config.base_path = "/tools/editor/".to_owned();
    for (source, server) in servers(&dist, adjust).await {
        let page = get(&server, "/tools/editor/", None).await;
        assert_eq!(page.status(), 200, "{source}");
        assert_eq!(page.text().await.unwrap(), PAGE);
        let config_json = get(&server, "/tools/editor/config.json", None).await;
        assert_eq!(config_json.status(), 200);
        assert_eq!(config_json.text().await.unwrap(), r#"{"endpoint": "/"}"#);
        let wasm = get(
            &server,
            &format!("/tools/editor/flexedit-{HASH}_bg.wasm"),
            None,
        )
        .await;
        assert_eq!(header(&wasm, "content-type"), "application/wasm");
        for bare in ["/tools/editor", "/"] {
            let redirect = reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .get(server.at(bare))
                .send()
                .await
                .unwrap();
            assert_eq!(redirect.status(), 308, "{bare}");
            assert_eq!(header(&redirect, "location"), "/tools/editor/", "{bare}");
        }
        assert_eq!(get(&server, "/config.json", None).await.status(), 404);
        let upload = client()
            .post(server.at("/api/assets"))
            .multipart(reqwest::multipart::Form::new())
            .send()
            .await
            .unwrap();
        assert_ne!(
            upload.status(),
            404,
            "the API answers at /api under a base path"
        );
    }
}

#[tokio::test]
async fn files_get_their_types_and_cache_rules() {
    let dist = dist();
    for (source, server) in servers(&dist, |_| {}).await {
        let wasm = get(&server, &format!("/flexedit-{HASH}_bg.wasm"), None).await;
        assert_eq!(wasm.status(), 200, "{source}");
        assert_eq!(header(&wasm, "content-type"), "application/wasm");
        assert_eq!(
            header(&wasm, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        let js = get(&server, &format!("/flexedit-{HASH}.js"), None).await;
        assert!(header(&js, "content-type").contains("javascript"));
        assert_eq!(
            header(&js, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        let css = get(&server, &format!("/main-{HASH}.css"), None).await;
        assert!(header(&css, "content-type").starts_with("text/css"));
        let config = get(&server, "/config.json", None).await;
        assert_eq!(header(&config, "content-type"), "application/json");
        assert_eq!(header(&config, "cache-control"), "no-cache");
        let index = get(&server, "/index.html", None).await;
        assert_eq!(header(&index, "cache-control"), "no-cache");
    }
}

#[tokio::test]
async fn responses_are_compressed_with_gzip_or_brotli() {
    let dist = dist();
    for (source, server) in servers(&dist, |_| {}).await {
        let path = format!("/flexedit-{HASH}.js");
        let plain_len = get(&server, &path, None).await.bytes().await.unwrap().len();
        for (accept, expected) in [("gzip", "gzip"), ("br", "br"), ("br, gzip", "br")] {
            let response = get(&server, &path, Some(accept)).await;
            assert_eq!(
                header(&response, "content-encoding"),
                expected,
                "{source} {accept}"
            );
            assert!(
                header(&response, "vary")
                    .to_ascii_lowercase()
                    .contains("accept-encoding")
            );
            let compressed_len = response.bytes().await.unwrap().len();
            assert!(
                compressed_len < plain_len / 4,
                "{compressed_len} vs {plain_len}"
            );
        }
        let wasm = get(&server, &format!("/flexedit-{HASH}_bg.wasm"), Some("gzip")).await;
        assert_eq!(header(&wasm, "content-encoding"), "gzip");
    }
}

#[tokio::test]
async fn page_routes_fall_back_to_the_page_and_missing_files_are_404() {
    let dist = dist();
    for (source, server) in servers(&dist, |_| {}).await {
        let route = get(&server, "/history/42", None).await;
        assert_eq!(route.status(), 200, "{source}");
        assert!(header(&route, "content-type").starts_with("text/html"));
        assert_eq!(header(&route, "cache-control"), "no-cache");
        assert_eq!(
            get(&server, "/missing-0123456789abcdef.js", None)
                .await
                .status(),
            404
        );
        for escape in [
            "/../../etc/passwd",
            "/%2e%2e/%2e%2e/etc/hostname",
            "/..%2f..%2fetc/hostname",
        ] {
            let response = get(&server, escape, None).await;
            let body = response.text().await.unwrap();
            assert!(
                body.is_empty()
                    || body.contains("<title>flexedit</title>")
                    || body == "Not found\n",
                "{escape}: {body}"
            );
        }
    }
}

#[tokio::test]
async fn embedding_origins_and_endpoints_are_configurable() {
    let dist = dist();
    let mut config = Config::simulator(Some(dist.0.clone()));
    config.frame_ancestors = vec!["'self'".to_owned(), "https://dash.example".to_owned()];
    config.connect_src = vec!["https://api.1min.ai".to_owned()];
    let server = Running::start(config).await;
    let response = get(&server, "/", None).await;
    let csp = header(&response, "content-security-policy");
    assert!(
        csp.contains("frame-ancestors 'self' https://dash.example"),
        "{csp}"
    );
    assert!(
        csp.contains("connect-src 'self' blob: data: https://api.1min.ai;"),
        "{csp}"
    );
    assert!(response.headers().get("x-frame-options").is_none());
}

#[tokio::test]
async fn api_answers_carry_the_security_headers_too() {
    let server = Running::start(Config::simulator(None)).await;
    let response = client()
        .post(server.at("/api/features"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    assert_eq!(
        header(&response, "content-security-policy"),
        "default-src 'none'; frame-ancestors 'none'"
    );
    let page = get(&server, "/", None).await;
    assert_eq!(page.status(), 404, "no page configured");
}

#[tokio::test]
async fn the_builds_compressed_copies_are_sent_as_they_are() {
    let dist = dist();
    let name = format!("flexedit-{HASH}.js");
    // Not real compressed data: only the build's own copies could be sent with these bytes.
    std::fs::write(dist.0.join(format!("{name}.br")), b"the brotli copy").unwrap();
    std::fs::write(dist.0.join(format!("{name}.gz")), b"the gzip copy").unwrap();
    for (source, server) in servers(&dist, |_| {}).await {
        for (accept, encoding, body) in [
            ("br, gzip", "br", "the brotli copy"),
            ("gzip", "gzip", "the gzip copy"),
            ("gzip;q=1, br;q=0.5", "gzip", "the gzip copy"),
        ] {
            let response = get(&server, &format!("/{name}"), Some(accept)).await;
            assert_eq!(response.status(), 200, "{source} {accept}");
            assert_eq!(header(&response, "content-encoding"), encoding, "{source}");
            assert!(header(&response, "content-type").contains("javascript"));
            assert_eq!(
                header(&response, "cache-control"),
                "public, max-age=31536000, immutable"
            );
            assert!(
                header(&response, "vary")
                    .to_ascii_lowercase()
                    .contains("accept-encoding"),
                "{source}"
            );
            assert_eq!(response.text().await.unwrap(), body, "{source} {accept}");
        }
        let plain = get(&server, &format!("/{name}"), None).await;
        assert_eq!(header(&plain, "content-encoding"), "", "{source}");
        assert!(plain.text().await.unwrap().starts_with("export default"));
    }
}

#[tokio::test]
async fn a_page_in_memory_revalidates_by_its_etag() {
    let dist = dist();
    let mut config = Config::simulator(None);
    config.page = Page::Files(Arc::new(PageFiles::read_dir(&dist.0).unwrap()));
    let server = Running::start(config).await;
    let first = get(&server, "/config.json", None).await;
    let etag = header(&first, "etag");
    assert!(etag.starts_with('"') && etag.len() > 2, "{etag}");
    let again = client()
        .get(server.at("/config.json"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "etag"), etag);
    let changed = client()
        .get(server.at("/config.json"))
        .header("If-None-Match", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let head = client().head(server.at("/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "content-length"), PAGE.len().to_string());
    let post = client()
        .post(server.at("/index.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
}

#[tokio::test]
async fn an_operators_config_json_replaces_the_pages_own() {
    let dist = dist();
    let operator = TempDir::new("operator-config");
    let file = operator.0.join("flexedit.json");
    let settings = r#"{"mode": "proxy", "lockEndpoint": true}"#;
    std::fs::write(&file, settings).unwrap();
    let adjust = |config: &mut Config| {
        config.page_config = Some(file.clone());
        config.base_path = "/editor/".to_owned();
    };
    for (source, server) in servers(&dist, adjust).await {
        let response = get(&server, "/editor/config.json", None).await;
        assert_eq!(response.status(), 200, "{source}");
        assert_eq!(header(&response, "content-type"), "application/json");
        assert_eq!(header(&response, "cache-control"), "no-cache");
        assert_eq!(response.text().await.unwrap(), settings, "{source}");
        let page = get(&server, "/editor/", None).await;
        assert_eq!(page.text().await.unwrap(), PAGE, "{source}");
    }
}

#[tokio::test]
async fn a_broken_operator_config_stops_the_server_at_start() {
    let dist = dist();
    let operator = TempDir::new("broken-config");
    for (name, text) in [("broken.json", "{\"mode\": "), ("list.json", "[1, 2]")] {
        let file = operator.0.join(name);
        std::fs::write(&file, text).unwrap();
        let mut config = Config::simulator(Some(dist.0.clone()));
        config.page_config = Some(file.clone());
        let error = flexedit_server::Server::bind("127.0.0.1:0".parse().unwrap(), &config)
            .await
            .err()
            .unwrap();
        assert!(error.to_string().contains(name), "{error}");
    }
    let mut config = Config::simulator(Some(dist.0.clone()));
    config.page_config = Some(operator.0.join("missing.json"));
    assert!(
        flexedit_server::Server::bind("127.0.0.1:0".parse().unwrap(), &config)
            .await
            .is_err()
    );
}
