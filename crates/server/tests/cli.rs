//! The binary: its help, its start-up line, and a clean exit on SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

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
        "FLEXEDIT_PORT",
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
