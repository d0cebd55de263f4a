use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use flexedit_server::{Config, Server};

/// Serves the flexedit page.
#[derive(Debug, Parser)]
#[command(name = "flexedit-server", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "FLEXEDIT_HOST", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "FLEXEDIT_PORT", default_value_t = 8080)]
    port: u16,
    /// The built page to serve (trunk's output folder).
    #[arg(long, env = "FLEXEDIT_DIST", default_value = "dist")]
    dist: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "flexedit_server=info,tower_http=warn".into()),
        )
        .init();
    let args = Args::parse();
    if !args.dist.join("index.html").is_file() {
        eprintln!(
            "flexedit-server: no index.html in {}. Build the page first (trunk build --release) or pass --dist.",
            args.dist.display()
        );
        return ExitCode::FAILURE;
    }
    let config = Config { dist: args.dist };
    let server = match Server::bind(SocketAddr::new(args.host, args.port), &config).await {
        Ok(server) => server,
        Err(err) => {
            eprintln!(
                "flexedit-server: cannot listen on {}:{}: {err}. Choose another port with --port.",
                args.host, args.port
            );
            return ExitCode::FAILURE;
        }
    };
    match server.local_addr() {
        Ok(addr) => println!("flexedit is running at http://{addr}/"),
        Err(err) => eprintln!("flexedit-server: {err}"),
    }
    if let Err(err) = server.run(shutdown_signal()).await {
        eprintln!("flexedit-server: {err}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
