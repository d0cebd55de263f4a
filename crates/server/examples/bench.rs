//! Load and memory figures for flexedit-server, driven by `scripts/bench-server`.
//!
//! `bench memory`: uploads one large image through the proxy while sampling the resident
//! memory of the proxy and of the simulator behind it.
//! `bench load`: small edits at a fixed concurrency; prints requests per second and the
//! latency percentiles. Every loop is bounded in count and time, and only loopback is used.

use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Peak memory of the proxy while a large upload streams through it.
    Memory {
        /// Base URL of the proxy.
        #[arg(long)]
        proxy: String,
        #[arg(long)]
        proxy_pid: u32,
        #[arg(long)]
        upstream_pid: u32,
        /// Size of the upload in bytes (a PNG of noise of about this size).
        #[arg(long, default_value_t = 25_000_000)]
        bytes: usize,
    },
    /// Requests per second and latency of small edits.
    Load {
        #[arg(long)]
        label: String,
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Stops early after this many seconds, whatever the count.
        #[arg(long, default_value_t = 60)]
        max_seconds: u64,
    },
}

fn loopback_only(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    match parsed.host_str() {
        Some("127.0.0.1" | "localhost" | "[::1]") => Ok(()),
        _ => Err(format!("{url}: the benchmark only talks to loopback")),
    }
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|line| line.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A PNG of noise: it does not compress, so its size follows the pixel count.
fn noise_png(bytes: usize) -> Vec<u8> {
    let side = (bytes as f64 / 3.0).sqrt().ceil() as u32;
    let mut state: u32 = 0x9e37_79b9;
    let picture = image::RgbImage::from_fn(side, side, |_, _| {
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        };
        image::Rgb([next(), next(), next()])
    });
    let mut out = Cursor::new(Vec::new());
    let encoder = image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::NoFilter,
    );
    picture.write_with_encoder(encoder).unwrap_or_else(|err| {
        eprintln!("bench: cannot encode the test image: {err}");
        std::process::exit(2);
    });
    out.into_inner()
}

fn small_png() -> Vec<u8> {
    let picture =
        image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 128]));
    let mut out = Cursor::new(Vec::new());
    picture
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap_or_else(|err| {
            eprintln!("bench: {err}");
            std::process::exit(2);
        });
    out.into_inner()
}

async fn upload(client: &reqwest::Client, base: &str, bytes: Vec<u8>) -> Result<String, String> {
    let form = Form::new().part(
        "asset",
        Part::bytes(bytes)
            .file_name("bench.png")
            .mime_str("image/png")
            .map_err(|e| e.to_string())?,
    );
    let response = client
        .post(format!("{base}/api/assets"))
        .multipart(form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    body["fileContent"]["path"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("upload answered {status}: {body}"))
}

async fn memory(
    proxy: String,
    proxy_pid: u32,
    upstream_pid: u32,
    bytes: usize,
) -> Result<(), String> {
    loopback_only(&proxy)?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    // Warm up so the baseline includes what any first request allocates.
    upload(&client, &proxy, small_png()).await?;
    let image = noise_png(bytes);
    let idle_proxy = status_kib(proxy_pid, "VmRSS:").unwrap_or(0);
    let idle_upstream = status_kib(upstream_pid, "VmRSS:").unwrap_or(0);

    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let (mut proxy_peak, mut upstream_peak) = (0, 0);
            let deadline = Instant::now() + Duration::from_secs(120);
            while !done.load(Ordering::Relaxed) && Instant::now() < deadline {
                proxy_peak = proxy_peak.max(status_kib(proxy_pid, "VmRSS:").unwrap_or(0));
                upstream_peak = upstream_peak.max(status_kib(upstream_pid, "VmRSS:").unwrap_or(0));
                std::thread::sleep(Duration::from_millis(2));
            }
            (proxy_peak, upstream_peak)
        })
    };
    let size = image.len();
    let started = Instant::now();
    let result = upload(&client, &proxy, image).await;
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let (proxy_peak, upstream_peak) = sampler.join().map_err(|_| "sampler failed".to_owned())?;
    let path = result?;
    let proxy_hwm = status_kib(proxy_pid, "VmHWM:").unwrap_or(0);
    println!("upload_bytes={size}");
    println!("upload_seconds={:.2}", elapsed.as_secs_f64());
    println!("uploaded_path={path}");
    println!("proxy_rss_idle_mib={:.1}", mib(idle_proxy));
    println!("proxy_rss_peak_mib={:.1}", mib(proxy_peak));
    println!(
        "proxy_rss_growth_mib={:.1}",
        mib(proxy_peak.saturating_sub(idle_proxy))
    );
    println!("proxy_hwm_mib={:.1}", mib(proxy_hwm));
    println!("simulator_rss_idle_mib={:.1}", mib(idle_upstream));
    println!("simulator_rss_peak_mib={:.1}", mib(upstream_peak));
    println!(
        "simulator_rss_growth_mib={:.1}",
        mib(upstream_peak.saturating_sub(idle_upstream))
    );
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn load(
    label: String,
    url: String,
    requests: usize,
    concurrency: usize,
    max_seconds: u64,
) -> Result<(), String> {
    loopback_only(&url)?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    let path = upload(&client, &url, small_png()).await?;
    let body = json!({
        "type": "IMAGE_EDITOR",
        "model": "black-forest-labs/flux-2-flex",
        "promptObject": {"imageUrl": path, "prompt": "Add the text \"SALE\" at the top", "steps": 6, "seed": 1},
    })
    .to_string();
    let send = |client: reqwest::Client, body: String, url: String| async move {
        let started = Instant::now();
        let response = client
            .post(format!("{url}/api/features"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let ok = response.status().is_success();
        let _ = response.bytes().await.map_err(|e| e.to_string())?;
        if !ok {
            return Err("an edit failed".to_owned());
        }
        Ok::<_, String>(started.elapsed())
    };
    for _ in 0..concurrency * 4 {
        send(client.clone(), body.clone(), url.clone()).await?;
    }

    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(max_seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, body, url, next) = (client.clone(), body.clone(), url.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            while next.fetch_add(1, Ordering::Relaxed) < requests && Instant::now() < deadline {
                match send(client.clone(), body.clone(), url.clone()).await {
                    Ok(latency) => latencies.push(latency),
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (mut part, failed) = worker.await.map_err(|e| e.to_string())?;
        latencies.append(&mut part);
        errors += failed;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "{label}: requests={} errors={errors} concurrency={concurrency} seconds={:.2} rps={:.1} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 50.0).as_secs_f64() * 1000.0,
        percentile(&latencies, 99.0).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );
    Ok(())
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let result = match args.command {
        Command::Memory {
            proxy,
            proxy_pid,
            upstream_pid,
            bytes,
        } => memory(proxy, proxy_pid, upstream_pid, bytes).await,
        Command::Load {
            label,
            url,
            requests,
            concurrency,
            max_seconds,
        } => load(label, url, requests, concurrency, max_seconds).await,
    };
    if let Err(err) = result {
        eprintln!("bench: {err}");
        std::process::exit(1);
    }
}
