//! The static host: types, compression, cache rules, and the headers the page runs under.

mod common;

use common::{Running, TempDir, client};
use flexedit_server::Config;

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
    let server = Running::start(Config::simulator(Some(dist.0.clone()))).await;
    let response = get(&server, "/", None).await;
    assert_eq!(response.status(), 200);
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

#[tokio::test]
async fn a_revalidated_page_keeps_its_policy() {
    let dist = dist();
    let server = Running::start(Config::simulator(Some(dist.0.clone()))).await;
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
    assert_eq!(again.status(), 304);
    // Browsers merge a 304's headers into the cached page: any policy here must be the
    // page's own, or a reload would run the page under another one.
    let revalidated = header(&again, "content-security-policy");
    assert!(
        revalidated.is_empty() || revalidated == policy,
        "{revalidated}"
    );
}

#[tokio::test]
async fn under_a_base_path_the_page_lives_there_and_the_api_stays_at_the_root() {
    let dist = dist();
    let mut config = Config::simulator(Some(dist.0.clone()));
    config.base_path = "/tools/editor/".to_owned();
    let server = Running::start(config).await;
    let page = get(&server, "/tools/editor/", None).await;
    assert_eq!(page.status(), 200);
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

#[tokio::test]
async fn files_get_their_types_and_cache_rules() {
    let dist = dist();
    let server = Running::start(Config::simulator(Some(dist.0.clone()))).await;
    let wasm = get(&server, &format!("/flexedit-{HASH}_bg.wasm"), None).await;
    assert_eq!(wasm.status(), 200);
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

#[tokio::test]
async fn responses_are_compressed_with_gzip_or_brotli() {
    let dist = dist();
    let server = Running::start(Config::simulator(Some(dist.0.clone()))).await;
    let path = format!("/flexedit-{HASH}.js");
    let plain_len = get(&server, &path, None).await.bytes().await.unwrap().len();
    for (accept, expected) in [("gzip", "gzip"), ("br", "br"), ("br, gzip", "br")] {
        let response = get(&server, &path, Some(accept)).await;
        assert_eq!(header(&response, "content-encoding"), expected, "{accept}");
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

#[tokio::test]
async fn page_routes_fall_back_to_the_page_and_missing_files_are_404() {
    let dist = dist();
    let server = Running::start(Config::simulator(Some(dist.0.clone()))).await;
    let route = get(&server, "/history/42", None).await;
    assert_eq!(route.status(), 200);
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
            body.is_empty() || body.contains("<title>flexedit</title>") || body == "Not found\n",
            "{escape}: {body}"
        );
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
