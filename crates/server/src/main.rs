use std::process::ExitCode;

use clap::Parser;
use flexedit_server::cli::{Args, KEY_VARIABLE};
use flexedit_server::{Config, Role, Server};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logs(args.log_json);
    let address = args.address();
    let key = std::env::var(KEY_VARIABLE).ok();
    let config = match args.into_config(key) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("flexedit-server: {err}.");
            return ExitCode::FAILURE;
        }
    };
    if let Some(dist) = &config.dist
        && !dist.join("index.html").is_file()
    {
        eprintln!(
            "flexedit-server: no index.html in {}. Build the page first (trunk build --release), pass --dist, or --no-page to serve the API only.",
            dist.display()
        );
        return ExitCode::FAILURE;
    }
    let server = match Server::bind(address, &config).await {
        Ok(server) => server,
        Err(err) => {
            eprintln!("flexedit-server: {err}. Choose another address with --host and --port.");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = shutdown_signal();
    println!("{}", start_line(&server.url(), &config));
    if let Err(err) = server.run(shutdown).await {
        eprintln!("flexedit-server: {err}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Logs go to stderr, so stdout carries only the start line that scripts read.
fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "flexedit_server=info,tower_http=info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        logs.json().init();
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

/// Resolves on SIGINT or SIGTERM. The handlers are installed here, before the start line
/// is printed, so a signal sent as soon as the server says it runs is never missed.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let handlers = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (mut interrupt, mut terminate) = handlers;
            let interrupted = async {
                match interrupt.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let terminated = async {
                match terminate.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = interrupted => {},
                () = terminated => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        eprintln!("flexedit-server: shutting down; letting requests in flight finish");
    }
}
