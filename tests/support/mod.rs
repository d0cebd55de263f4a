//! The end-to-end harness: flexedit-server in-process on a free loopback port serving the
//! release build in `dist/`, and headless Chromium driven through chromedriver's WebDriver
//! protocol. Every test gets its own server, driver and browser profile.

// Shared by several test binaries, each of which uses a part of it.
#![allow(dead_code)]

pub mod images;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

/// How long a person would wait for something to show before calling it broken.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct Session {
    pub browser: Client,
    pub base_url: String,
    /// Where the browser saves downloads.
    pub downloads: TempDir,
    driver: Child,
    _profile: TempDir,
    stop_server: Option<oneshot::Sender<()>>,
}

impl Session {
    /// Starts the simulator on `dist/`, chromedriver, and a headless Chromium on the page.
    pub async fn start() -> Session {
        Session::start_with(flexedit_server::Config::simulator(Some(dist()))).await
    }

    /// The same with a server configured by the test.
    pub async fn start_with(config: flexedit_server::Config) -> Session {
        let server =
            flexedit_server::Server::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), &config)
                .await
                .expect("bind a loopback port");
        let addr = server.local_addr().expect("server address");
        let (stop_server, stopped) = oneshot::channel::<()>();
        tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));

        let driver_port = free_port();
        let mut driver = Command::new(chromedriver())
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Its own process group, which the browser it starts joins: see `Drop`.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        wait_until_listening(&mut driver).await;
        let profile = TempDir::new("flexedit-e2e-profile");
        let downloads = TempDir::new("flexedit-e2e-downloads");
        let browser = connect(driver_port, &profile.0, &downloads.0).await;
        browser
            .set_window_size(1280, 900)
            .await
            .expect("size the window");
        Session {
            browser,
            base_url: format!("http://{addr}/"),
            downloads,
            driver,
            _profile: profile,
            stop_server: Some(stop_server),
        }
    }

    /// Opens the editor and waits until it is ready for an image: the wasm app has
    /// rendered its shell, read config.json and shown the intake.
    pub async fn open_editor(&self) {
        self.open("").await;
        self.wait_for_editor().await;
    }

    /// Waits until the live editor has taken over index.html's first screen (which the
    /// build renders, marked busy, before any script runs).
    pub async fn wait_for_editor(&self) -> fantoccini::elements::Element {
        self.browser
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::XPath(
                "//*[@id='flexedit'][not(@aria-busy)]//*[@data-testid='drop-zone']",
            ))
            .await
            .unwrap_or_else(|err| panic!("the editor never took over the page: {err}"))
    }

    /// Moves the pointer over the page, as a person does before anything else: the parts the
    /// first screen does not show load at this first sign of use.
    pub async fn use_page(&self) {
        use fantoccini::actions::{InputSource, MouseActions, PointerAction};
        let moves = MouseActions::new("mouse".to_owned())
            .then(PointerAction::MoveTo {
                duration: None,
                x: 200.0,
                y: 200.0,
            })
            .then(PointerAction::MoveTo {
                duration: None,
                x: 220.0,
                y: 210.0,
            });
        self.browser
            .perform_actions(moves)
            .await
            .expect("move the pointer");
    }

    /// Opens a page of the server, `path` relative to its root.
    pub async fn open(&self, path: &str) {
        let url = format!("{}{}", self.base_url, path.trim_start_matches('/'));
        self.browser
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Everything the page wrote to the browser's console, errors and CSP reports
    /// included, since the last call.
    pub async fn console(&self) -> Vec<String> {
        let entries = self
            .browser
            .issue_cmd(BrowserLog)
            .await
            .expect("read the browser's console log");
        entries
            .as_array()
            .map(|all| {
                all.iter()
                    .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until the element with `data-testid=id` shows text containing `text`.
    pub async fn wait_for_text(&self, id: &str, text: &str) -> fantoccini::elements::Element {
        let xpath = format!(
            "//*[@data-testid='{id}'][contains(normalize-space(.), {})]",
            xpath_literal(text)
        );
        match self
            .browser
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::XPath(&xpath))
            .await
        {
            Ok(element) => element,
            Err(err) => {
                let shown = match self
                    .browser
                    .find(Locator::Css(&format!("[data-testid='{id}']")))
                    .await
                {
                    Ok(el) => el.text().await.unwrap_or_default(),
                    Err(_) => "(not on the page)".into(),
                };
                panic!("data-testid={id} never showed {text:?}; it shows {shown:?} ({err})")
            }
        }
    }

    pub async fn by_test_id(&self, id: &str) -> fantoccini::elements::Element {
        self.wait_for_test_id(id).await
    }

    /// Clicks the element with this `data-testid` once it is on the page.
    pub async fn click(&self, id: &str) {
        self.by_test_id(id)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {id}: {e}"));
    }

    /// Types into the control labelled `label` (by its `for`/`id` pairing), replacing it.
    pub async fn fill(&self, id: &str, text: &str) {
        let input = self
            .browser
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no control #{id}: {e}"));
        input.clear().await.expect("clear the field");
        input.send_keys(text).await.expect("type into the field");
    }

    /// Picks the option `value` in the select with id `id`, as a person's click does.
    pub async fn select(&self, id: &str, value: &str) {
        self.browser
            .find(Locator::Css(&format!("#{id} option[value='{value}']")))
            .await
            .unwrap_or_else(|e| panic!("no option {value} in #{id}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("choose {value} in #{id}: {e}"));
    }

    /// What the control with id `id` holds now (its `value` property).
    pub async fn value_of(&self, id: &str) -> String {
        self.browser
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no control #{id}: {e}"))
            .prop("value")
            .await
            .unwrap_or_else(|e| panic!("read #{id}: {e}"))
            .unwrap_or_default()
    }

    /// Picks a file through the intake's file input.
    pub async fn choose_file(&self, path: &Path) {
        let input = self
            .browser
            .find(Locator::Css("[data-testid='file-input']"))
            .await
            .expect("the file input");
        input
            .send_keys(&path.display().to_string())
            .await
            .expect("choose the file");
    }

    /// Picks several files at once through the intake's file input.
    pub async fn choose_files(&self, paths: &[PathBuf]) {
        let input = self
            .browser
            .find(Locator::Css("[data-testid='file-input']"))
            .await
            .expect("the file input");
        let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        // WebDriver takes several files as one text, a path a line.
        input
            .send_keys(&list.join("\n"))
            .await
            .expect("choose the files");
    }

    /// Asynchronous edits at the provider now, and the most there were at once.
    pub async fn concurrency(&self) -> (u64, u64) {
        let answer: serde_json::Value = self
            .simulator(reqwest::Method::GET, "__simulator/concurrency", None)
            .await
            .json()
            .await
            .expect("the simulator's concurrency");
        (
            answer["now"].as_u64().unwrap_or_default(),
            answer["max"].as_u64().unwrap_or_default(),
        )
    }

    /// Waits until the browser has finished saving a download, and returns its name and
    /// bytes. Chromium writes a hidden temporary file, then `*.crdownload`, until the file
    /// is complete under its own name.
    pub async fn downloaded_file(&self) -> (String, Vec<u8>) {
        let dir = self.downloads.path().to_owned();
        let finished = async {
            loop {
                let done = std::fs::read_dir(&dir).ok().and_then(|entries| {
                    entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
                        let hidden = p
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                        !hidden && p.extension().is_none_or(|ext| ext != "crdownload")
                    })
                });
                if let Some(path) = done {
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let bytes = std::fs::read(&path).expect("read the download");
                    return (name, bytes);
                }
                // The file system gives no event to wait on here; look again shortly.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(PATIENCE, finished)
            .await
            .unwrap_or_else(|_| panic!("no download finished within {PATIENCE:?}"))
    }

    /// Calls the simulator's test-control API.
    pub async fn simulator(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let url = format!("{}{}", self.base_url, path.trim_start_matches('/'));
        let mut request = reqwest::Client::new().request(method, &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request
            .send()
            .await
            .unwrap_or_else(|e| panic!("simulator {path}: {e}"))
    }

    /// Arms the next edit response with a fault.
    pub async fn arm(&self, fault: &str) {
        let status = self
            .simulator(
                reqwest::Method::POST,
                "__simulator/fault",
                Some(json!({ "fault": fault })),
            )
            .await
            .status();
        assert!(status.is_success(), "arming {fault} answered {status}");
    }

    /// Has the next edit answered with exactly this status, content type and body.
    pub async fn arm_reply(&self, status: u16, content_type: &str, body: &str) {
        let answered = self
            .simulator(
                reqwest::Method::POST,
                "__simulator/reply",
                Some(json!({ "status": status, "contentType": content_type, "body": body })),
            )
            .await
            .status();
        assert!(answered.is_success(), "arming a reply answered {answered}");
    }

    /// Takes the browser offline, or brings it back.
    pub async fn set_offline(&self, offline: bool) {
        self.browser
            .issue_cmd(NetworkConditions {
                offline,
                latency: 0,
            })
            .await
            .unwrap_or_else(|e| panic!("set the network offline={offline}: {e}"));
    }

    /// Makes every request of the browser wait `latency` first (none: zero).
    pub async fn set_latency(&self, latency: Duration) {
        let latency = latency.as_millis() as u64;
        self.browser
            .issue_cmd(NetworkConditions {
                offline: false,
                latency,
            })
            .await
            .unwrap_or_else(|e| panic!("set the network's latency to {latency} ms: {e}"));
    }

    /// Makes the browser refuse requests whose URL matches one of `patterns` (`*` is any
    /// text); none blocks nothing.
    pub async fn block_urls(&self, patterns: &[&str]) {
        for (cmd, params) in [
            ("Network.enable", json!({})),
            ("Network.setBlockedURLs", json!({ "urls": patterns })),
        ] {
            self.browser
                .issue_cmd(Cdp { cmd, params })
                .await
                .unwrap_or_else(|e| panic!("{cmd}: {e}"));
        }
    }

    /// Arms the next poll of a record (`GET /api/results/{uuid}`) with a fault.
    pub async fn arm_poll(&self, fault: &str) {
        let status = self
            .simulator(
                reqwest::Method::POST,
                "__simulator/poll-fault",
                Some(json!({ "fault": fault })),
            )
            .await
            .status();
        assert!(
            status.is_success(),
            "arming poll fault {fault} answered {status}"
        );
    }

    /// Frees the edits the `slow` fault holds (or the next one, when none is held yet).
    pub async fn release(&self) {
        let status = self
            .simulator(reqwest::Method::POST, "__simulator/release", None)
            .await
            .status();
        assert!(status.is_success(), "release answered {status}");
    }

    /// How many edits and polls the simulator has received.
    pub async fn edits_and_polls(&self) -> (usize, usize) {
        let received = self.received().await;
        let count = |name: &str| received[name].as_array().map_or(0, Vec::len);
        (count("features"), count("polls"))
    }

    /// Waits until the simulator has received more than `polls` polls; returns how many.
    pub async fn wait_for_polls(&self, polls: usize) -> usize {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let (_, now) = self.edits_and_polls().await;
            if now > polls {
                return now;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no poll after the {polls}th arrived"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the simulator has received so far.
    pub async fn received(&self) -> serde_json::Value {
        self.simulator(reqwest::Method::GET, "__simulator/requests", None)
            .await
            .json()
            .await
            .expect("the simulator's request log")
    }

    /// The stored bytes of an uploaded asset or a result.
    pub async fn stored_asset(&self, path: &str) -> Vec<u8> {
        let response = self
            .simulator(
                reqwest::Method::GET,
                &format!("__simulator/assets/{path}"),
                None,
            )
            .await;
        assert!(response.status().is_success(), "no stored asset {path}");
        response.bytes().await.expect("asset bytes").to_vec()
    }

    pub async fn wait_for_test_id(&self, id: &str) -> fantoccini::elements::Element {
        self.browser
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(&format!("[data-testid='{id}']")))
            .await
            .unwrap_or_else(|err| panic!("nothing with data-testid={id} appeared: {err}"))
    }

    /// Saves a screenshot under target/screenshots/ for a person to review.
    pub async fn screenshot(&self, name: &str) {
        let png = self.browser.screenshot().await.expect("take a screenshot");
        let dir = repo_root().join("target").join("screenshots");
        std::fs::create_dir_all(&dir).expect("create target/screenshots");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write the screenshot");
    }

    pub async fn close(mut self) {
        let _ = self.browser.clone().close().await;
        if let Some(stop) = self.stop_server.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Session {
    /// Ends chromedriver's process group, the browser with it, before the profile folder
    /// goes: a test that failed before `close()` would otherwise leave a headless browser
    /// running and its files behind.
    fn drop(&mut self) {
        if let Some(pid) = self.driver.id() {
            // The shell's own kill, which every machine has.
            let _ = std::process::Command::new("sh")
                .args(["-c", &format!("kill -KILL -{pid}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// chromedriver's log command (outside the W3C protocol, so fantoccini has no method).
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// chromedriver's network emulation (outside the W3C protocol): offline makes the page's
/// `navigator.onLine` false and its requests fail, as a dropped connection does.
#[derive(Debug)]
struct NetworkConditions {
    offline: bool,
    /// Added to every request, in milliseconds.
    latency: u64,
}

impl fantoccini::wd::WebDriverCompatibleCommand for NetworkConditions {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/chromium/network_conditions",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({
            "network_conditions": {
                "offline": self.offline,
                "latency": self.latency,
                "download_throughput": -1,
                "upload_throughput": -1,
            }
        });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// A command of the DevTools protocol, through chromedriver (outside the W3C protocol).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// A copy of the release build in `dist/` under `sub` of a new directory, with `files`
/// (path, contents) written over it: for pages around the editor and other configs.
pub fn site(sub: &str, files: &[(&str, &[u8])]) -> TempDir {
    let root = TempDir::new("flexedit-e2e-site");
    let target = root.path().join(sub);
    copy_dir(&dist(), &target);
    for (path, bytes) in files {
        let path = root.path().join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create a folder of the site");
        }
        std::fs::write(&path, bytes).expect("write a file of the site");
    }
    root
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the site folder");
    for entry in std::fs::read_dir(from).expect("read dist/").flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy a file of dist/");
        }
    }
}

async fn connect(driver_port: u16, profile: &Path, downloads: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium(),
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--no-first-run",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
            },
        }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .unwrap_or_else(|err| panic!("chromedriver did not start a browser session: {err}"))
}

/// chromedriver says on stdout when it listens; read until then instead of guessing.
async fn wait_until_listening(driver: &mut Child) {
    let stdout = driver.stdout.take().expect("chromedriver's stdout");
    let mut lines = BufReader::new(stdout).lines();
    let ready = async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("started successfully") {
                return true;
            }
        }
        false
    };
    match tokio::time::timeout(PATIENCE, ready).await {
        Ok(true) => {}
        Ok(false) => panic!("chromedriver exited before it listened"),
        Err(_) => panic!("chromedriver did not listen within {PATIENCE:?}"),
    }
    // Keep draining its output so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
}

/// The release build the tests serve.
pub fn dist() -> PathBuf {
    let dist = repo_root().join("dist");
    assert!(
        dist.join("index.html").is_file(),
        "no release build in {}: run `trunk build --release` first",
        dist.display()
    );
    dist
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn chromedriver() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free loopback port")
}

/// A fresh folder removed when the test ends.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create a temporary folder");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An XPath string literal for any text.
fn xpath_literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else {
        let parts: Vec<String> = text.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}
