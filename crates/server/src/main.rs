use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use flexedit_server::cli::{Args, KEY_VARIABLE, LogFormat};
use flexedit_server::{Config, Page, PageFiles, Readiness, Role, Server};

/// Long enough for a loaded server to answer, short enough for a container's health check.
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(3);

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logs(args.log_format());
    let address = args.address();
    if args.healthcheck {
        return match flexedit_server::health::check(address, HEALTHCHECK_TIMEOUT).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("flexedit-server: unhealthy: {err}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(dir) = &args.export_page {
        let page = PageFiles::embedded();
        return match page.export(dir) {
            Ok(()) => {
                println!("wrote the page's {} files to {}", page.len(), dir.display());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("flexedit-server: {err}.");
                ExitCode::FAILURE
            }
        };
    }
    let drain = Duration::from_secs(args.drain_seconds);
    let key = std::env::var(KEY_VARIABLE).ok();
    let config = match args.into_config(key) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("flexedit-server: {err}.");
            return ExitCode::FAILURE;
        }
    };
    match &config.page {
        Page::Folder(dist) if !dist.join("index.html").is_file() => {
            eprintln!(
                "flexedit-server: no index.html in {}. Build the page first (trunk build --release), or pass --no-page to serve the API only.",
                dist.display()
            );
            return ExitCode::FAILURE;
        }
        Page::Files(files) if files.is_empty() => {
            eprintln!(
                "flexedit-server: no page is built into this binary (it was built before the page). Pass --dist DIR to serve a built page, --no-page to serve the API only, or build the page (trunk build --release) and then the server again."
            );
            return ExitCode::FAILURE;
        }
        _ => {}
    }
    let server = match Server::bind(address, &config).await {
        Ok(server) => server,
        Err(err @ flexedit_server::ServerError::PageConfig { .. }) => {
            eprintln!("flexedit-server: {err}.");
            return ExitCode::FAILURE;
        }
        Err(err @ flexedit_server::ServerError::BindMetrics(_)) => {
            eprintln!("flexedit-server: {err}. Choose another address with --metrics-addr.");
            return ExitCode::FAILURE;
        }
        Err(err) => {
            eprintln!("flexedit-server: {err}. Choose another address with --host and --port.");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = shutdown_signal(server.readiness(), drain);
    println!("{}", start_line(&server.url(), &config));
    if let Some(metrics) = server.metrics_url() {
        eprintln!("flexedit-server: metrics at {metrics}");
    }
    if let Err(err) = server.run(shutdown).await {
        eprintln!("flexedit-server: {err}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Logs go to stderr, so stdout carries only the start line that scripts read.
fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "flexedit_server=info,tower_http=info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == LogFormat::Json {
        // Flat fields, and the request's span (its id, method and path) on every line.
        logs.json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
}

/// What the server says on start: where, and in which role. Never the key.
fn start_line(url: &str, config: &Config) -> String {
    let url = format!("{url}{}", config.base_path.trim_end_matches('/'));
    match &config.role {
        Role::Proxy(proxy) => format!(
            "flexedit is running at {url}/ as a proxy to {} (key from {KEY_VARIABLE})",
            proxy.upstream
        ),
        Role::Simulator(simulator) if simulator.test_mode => format!(
            "flexedit is running at {url}/ with the simulator in test mode (faults and /__simulator/ routes on)"
        ),
        Role::Simulator(_) => format!(
            "flexedit is running at {url}/ with the simulator (no {KEY_VARIABLE}: edits are simulated offline)"
        ),
    }
}

/// SIGINT and SIGTERM as one stream of requests to stop.
struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        {
            async fn recv(signal: Option<&mut tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = recv(self.interrupt.as_mut()) => {},
                () = recv(self.terminate.as_mut()) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Resolves when the server should stop taking requests: on SIGINT or SIGTERM, after
/// `drain` during which `/readyz` answers 503 and everything else is still served, or at
/// a second signal. The handlers are installed here, before the start line is printed, so
/// a signal sent as soon as the server says it runs is never missed.
fn shutdown_signal(
    readiness: Readiness,
    drain: Duration,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let mut signals = Signals::install();
    async move {
        signals.next().await;
        readiness.start_draining();
        if !drain.is_zero() {
            eprintln!(
                "flexedit-server: draining: /readyz answers 503 for {} s while requests are still served (a second signal stops sooner)",
                drain.as_secs()
            );
            tokio::select! {
                () = tokio::time::sleep(drain) => {},
                () = signals.next() => {},
            }
        }
        eprintln!("flexedit-server: shutting down; letting requests in flight finish");
    }
}
