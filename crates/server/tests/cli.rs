//! The binary: its help, its start-up line, its logs, its health check, the page it
//! carries, and a clean exit on SIGTERM, after a drain when asked.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use flexedit_server::PageFiles;

const BINARY: &str = env!("CARGO_BIN_EXE_flexedit-server");

#[test]
fn help_documents_every_option_and_where_the_key_comes_from() {
    let output = Command::new(BINARY).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for option in [
        "--host",
        "--port",
        "--dist",
        "--no-page",
        "--role",
        "--upstream",
        "--upstream-timeout",
        "--connect-timeout",
        "--body-limit",
        "--rate-limit",
        "--allow-origin",
        "--frame-ancestors",
        "--connect-src",
        "--result-host",
        "--result-limit",
        "--log-prompts",
        "--log-json",
        "--test-mode",
        "--step-latency-ms",
        "--fault-delay-ms",
        "--slow-hold",
        "--asset-capacity",
        "--result-ttl",
        "--record-ttl",
        "--upstream-budget",
        "--upstream-max-wait",
        "--simulator-key",
        "--config",
        "--metrics-addr",
        "--log-format",
        "--drain-seconds",
        "--healthcheck",
        "--export-page",
        "FLEXEDIT_PORT",
        "FLEXEDIT_CONFIG",
        "FLEXEDIT_METRICS_ADDR",
        "FLEXEDIT_LOG_FORMAT",
        "FLEXEDIT_DRAIN_SECONDS",
        "ONEMIN_API_KEY",
    ] {
        assert!(
            help.contains(option),
            "{option} missing from --help:\n{help}"
        );
    }
}

fn start(role_args: &[&str], key: Option<&str>) -> (std::process::Child, String) {
    let mut command = Command::new(BINARY);
    command
        .args(["--port", "0", "--no-page"])
        .args(role_args)
        .env_remove("ONEMIN_API_KEY")
        .env("RUST_LOG", "flexedit_server=debug,tower_http=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(key) = key {
        command.env("ONEMIN_API_KEY", key);
    }
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

fn terminate(mut child: std::process::Child) -> String {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    let mut output = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_string(&mut output).unwrap();
    }
    if let Some(mut stderr) = child.stderr.take() {
        stderr.read_to_string(&mut output).unwrap();
    }
    output
}

#[test]
fn with_a_key_it_says_proxy_and_never_prints_the_key() {
    let key = "sk-never-print-this-0123456789";
    let (child, line) = start(&["--upstream", "http://127.0.0.1:9"], Some(key));
    assert!(line.contains("http://127.0.0.1:"), "{line}");
    assert!(line.contains("proxy"), "{line}");
    let rest = terminate(child);
    assert!(!line.contains(key) && !rest.contains(key), "{line}{rest}");
}

#[test]
fn without_a_key_it_says_simulator_and_a_forced_proxy_refuses_to_start() {
    let (child, line) = start(&[], None);
    assert!(line.contains("simulator"), "{line}");
    terminate(child);

    let (child, line) = start(&["--role", "simulator"], Some("some-key"));
    assert!(line.contains("simulator"), "{line}");
    terminate(child);

    let output = Command::new(BINARY)
        .args(["--port", "0", "--no-page", "--role", "proxy"])
        .env_remove("ONEMIN_API_KEY")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("ONEMIN_API_KEY"));
}

/// The longest a test waits for the server to say something before failing.
const PATIENCE: Duration = Duration::from_secs(30);

/// Starts the binary with `args` and returns it with its base URL, read from the start line.
fn start_with(args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(BINARY)
        .args(["--port", "0"])
        .args(args)
        .env_remove("ONEMIN_API_KEY")
        .env("RUST_LOG", "flexedit_server=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    (child, url)
}

/// A plain HTTP/1.1 request; returns the status and the whole answer.
fn http(url: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let authority = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    (status, answer)
}

fn signal(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Hands the child's stderr lines to a channel, so a test can wait for one with a limit.
fn stderr_lines(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let (send, lines) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

fn wait_for_line(lines: &mpsc::Receiver<String>, wanted: &str) -> String {
    loop {
        match lines.recv_timeout(PATIENCE) {
            Ok(line) if line.contains(wanted) => return line,
            Ok(_) => {}
            Err(error) => panic!("no line with {wanted:?}: {error}"),
        }
    }
}

#[test]
fn access_lines_in_json_carry_the_path_without_its_query_and_the_request_id() {
    let (mut child, url) = start_with(&["--no-page", "--log-format", "json"]);
    let lines = stderr_lines(&mut child);
    let (status, answer) = http(
        &url,
        "/favicon.ico?token=secret-in-query",
        &[("x-request-id", "find-me-1")],
    );
    assert_eq!(status, 404);
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-request-id: find-me-1"),
        "{answer}"
    );
    let line = wait_for_line(&lines, "find-me-1");
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(entry["span"]["path"], "/favicon.ico", "{line}");
    assert_eq!(entry["span"]["request_id"], "find-me-1", "{line}");
    assert_eq!(entry["span"]["method"], "GET", "{line}");
    assert_eq!(entry["status"], 404, "{line}");
    assert_eq!(entry["route"], "(page)", "{line}");
    assert!(entry["duration_ms"].is_number(), "{line}");
    assert!(!line.contains("secret-in-query"), "{line}");
    signal(&child);
    assert!(child.wait().unwrap().success());
}

#[test]
fn on_sigterm_it_drains_as_not_ready_then_a_second_signal_stops_it() {
    let (mut child, url) = start_with(&["--no-page", "--drain-seconds", "3600"]);
    let lines = stderr_lines(&mut child);
    assert_eq!(http(&url, "/readyz", &[]).0, 200);
    signal(&child);
    wait_for_line(&lines, "draining");
    let (status, answer) = http(&url, "/readyz", &[]);
    assert_eq!(status, 503, "{answer}");
    assert!(answer.contains("\"reason\":\"draining\""), "{answer}");
    assert_eq!(http(&url, "/healthz", &[]).0, 200);
    assert_eq!(http(&url, "/api/nothing-here", &[]).0, 404, "still serving");
    signal(&child);
    wait_for_line(&lines, "shutting down");
    let (done, exited) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait());
    });
    let status = exited.recv_timeout(PATIENCE).unwrap().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn the_healthcheck_option_says_whether_a_server_answers() {
    let (child, url) = start_with(&["--no-page"]);
    let port = url.rsplit(':').next().unwrap().to_owned();
    let check = |port: &str| {
        Command::new(BINARY)
            .args(["--healthcheck", "--host", "0.0.0.0", "--port", port])
            .output()
            .unwrap()
    };
    let healthy = check(&port);
    assert!(healthy.status.success(), "{healthy:?}");
    signal(&child);
    terminate_wait(child);
    let gone = check(&port);
    assert!(!gone.status.success());
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("unhealthy"),
        "{gone:?}"
    );
}

fn terminate_wait(mut child: std::process::Child) {
    assert!(child.wait().unwrap().success());
}

#[test]
fn without_dist_it_serves_the_page_it_carries_or_says_it_has_none() {
    let carried = PageFiles::embedded();
    if carried.is_empty() {
        let output = Command::new(BINARY)
            .args(["--port", "0"])
            .env_remove("ONEMIN_API_KEY")
            .output()
            .unwrap();
        assert!(!output.status.success());
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(said.contains("no page is built into this binary"), "{said}");
        assert!(said.contains("--dist"), "{said}");
        let export = Command::new(BINARY)
            .args(["--export-page", "/nonexistent-flexedit-export"])
            .output()
            .unwrap();
        assert!(!export.status.success());
    } else {
        let (child, url) = start_with(&[]);
        let (status, answer) = http(&url, "/", &[]);
        assert_eq!(status, 200);
        let index = carried.get("index.html").unwrap();
        let html = String::from_utf8_lossy(&index.bytes);
        assert!(answer.ends_with(html.as_ref()), "{answer}");
        signal(&child);
        terminate_wait(child);
    }
}

#[test]
fn a_dist_without_a_page_or_a_config_without_a_page_are_refused() {
    let output = Command::new(BINARY)
        .args(["--port", "0", "--dist", "/nonexistent-flexedit-dist"])
        .env_remove("ONEMIN_API_KEY")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no index.html"));
    let output = Command::new(BINARY)
        .args(["--port", "0", "--no-page", "--config", "config.json"])
        .output()
        .unwrap();
    assert!(!output.status.success());
}
