//! Many edits at once, measured against the simulator with a 10-second edit, for
//! `scripts/bench-batch` (which builds the release page and the server first):
//!
//! 1. wall time of one edit, of 4 variations and of a batch of 12 images (4 at once), side
//!    by side in one run, as ratios to the one edit;
//! 2. the page's main-thread long tasks (over 50 ms) while 8 jobs run: count and longest;
//! 3. IndexedDB bytes per job, from the browser's storage estimate around the batch;
//! 4. the resident memory of a proxy process (the release `flexedit-server`) while 12
//!    uploads of about 4 MB go through it with 8 edits in flight: before and at its peak.
//!
//! ```text
//! bench_batch --server target/release/flexedit-server
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use image::{ImageFormat, Rgb, RgbImage};
use serde_json::Value;
use support::{Session, TempDir};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Long enough for 12 edits four at a time, with the polls between them.
const RUN_PATIENCE: Duration = Duration::from_secs(300);
/// 25 steps (the default) at this pace make the 10-second edit the figures are for.
const STEP_LATENCY: Duration = Duration::from_millis(400);

/// Waits until the newest press's summary says `done`, and returns how long that took.
async fn until_summary(session: &Session, done: &str, started: Instant) -> Duration {
    let xpath =
        format!("//*[@data-testid='jobs-summary'][starts-with(normalize-space(.), '{done}')]");
    session
        .browser
        .wait()
        .at_most(RUN_PATIENCE)
        .every(Duration::from_millis(50))
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("the press never reached “{done}”: {e}"));
    started.elapsed()
}

async fn js(session: &Session, script: &str) -> Value {
    session
        .browser
        .execute_async(
            &format!(
                "const done = arguments[arguments.length - 1];
                 (async () => {{ {script} }})().then(done, (e) => done({{ error: String(e) }}));"
            ),
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}"))
}

/// An image that does not compress, so its PNG weighs about `width * height * 3` bytes.
fn noise_png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let image = RgbImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [a, b, c, _] = state.to_le_bytes();
        Rgb([a, b, c])
    });
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, ImageFormat::Png)
        .expect("encode a PNG");
    out.into_inner()
}

fn write_images(dir: &Path, count: u32, make: impl Fn(u32) -> Vec<u8>) -> Vec<PathBuf> {
    (0..count)
        .map(|i| support::images::write(dir, &format!("banner-{i:02}.png"), &make(i)))
        .collect()
}

/// A new press: the images (several, or one), the prompt and the variations.
async fn press(session: &Session, images: &[PathBuf], prompt: &str, variations: &str) -> Instant {
    if images.len() == 1 {
        session.choose_file(&images[0]).await;
    } else {
        session.choose_files(images).await;
    }
    let expected = if images.len() == 1 {
        "source-preview".to_owned()
    } else {
        "batch".to_owned()
    };
    session.wait_for_test_id(&expected).await;
    session.fill("field-prompt", prompt).await;
    session.fill("variations", variations).await;
    let started = Instant::now();
    session.click("run").await;
    started
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let server = args
        .iter()
        .position(|a| a == "--server")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .expect("--server PATH (the release flexedit-server)");

    let mut config = flexedit_server::Config::simulator(Some(support::dist()));
    if let Some(simulator) = config.simulator_mut() {
        simulator.latency_per_step = STEP_LATENCY;
    }
    let session = Session::start_with(config).await;
    let images = TempDir::new("flexedit-bench-images");
    let small = write_images(images.path(), 12, |i| support::images::png(64 + i, 48));

    // 1. One edit, four variations, a batch of twelve: side by side in one run.
    session.open_editor().await;
    let started = press(&session, &small[..1], "Add our logo", "1").await;
    session
        .browser
        .wait()
        .at_most(RUN_PATIENCE)
        .every(Duration::from_millis(50))
        .for_element(Locator::XPath(
            "//*[@data-testid='phase'][normalize-space(.)='Done.']",
        ))
        .await
        .expect("the one edit is done");
    let one = started.elapsed();
    let started = press(&session, &small[..1], "Add our logo", "4").await;
    let four = until_summary(&session, "4 of 4 done", started).await;

    let before = js(
        &session,
        "const e = await navigator.storage.estimate(); return e.usage;",
    )
    .await
    .as_f64()
    .unwrap_or(0.0);
    let started = press(&session, &small, "Add our logo", "1").await;
    let twelve = until_summary(&session, "12 of 12 done", started).await;
    // The kept result bytes are written after each result is shown.
    session
        .browser
        .wait()
        .at_most(RUN_PATIENCE)
        .for_element(Locator::XPath(
            "//ol[@data-testid='history-list'][count(li[@data-status='done'])>=17]",
        ))
        .await
        .expect("every run kept");
    let after = js(
        &session,
        "const e = await navigator.storage.estimate(); return e.usage;",
    )
    .await
    .as_f64()
    .unwrap_or(0.0);

    // 2. Long tasks while eight jobs run.
    js(
        &session,
        "window.longTasks = [];
         new PerformanceObserver((list) => {
           for (const entry of list.getEntries()) window.longTasks.push(entry.duration);
         }).observe({ type: 'longtask' });
         return true;",
    )
    .await;
    let started = press(&session, &small[..1], "Add our logo", "8").await;
    until_summary(&session, "8 of 8 done", started).await;
    let long = js(&session, "return window.longTasks;").await;
    let long: Vec<f64> = long
        .as_array()
        .map(|l| l.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();

    println!("== one edit takes 10 s at the simulator; each figure is from this one run");
    println!("one edit                     {:>6.1} s", one.as_secs_f64());
    println!(
        "4 variations                 {:>6.1} s  ({:.2} × one edit)",
        four.as_secs_f64(),
        four.as_secs_f64() / one.as_secs_f64()
    );
    println!(
        "batch of 12, 4 at once       {:>6.1} s  ({:.2} × one edit)",
        twelve.as_secs_f64(),
        twelve.as_secs_f64() / one.as_secs_f64()
    );
    println!(
        "long tasks while 8 jobs run  {} (longest {:.0} ms)",
        long.len(),
        long.iter().copied().fold(0.0, f64::max)
    );
    println!(
        "IndexedDB per job            {:>6.1} KB  (estimate, batch of 12 small images)",
        (after - before) / 12.0 / 1000.0
    );

    // 4. A proxy process in front of the simulator, 12 uploads of ~4 MB, 8 at once.
    let site = support::site("", &[("config.json", br#"{"maxInFlight": 8}"#)]);
    let mut proxy = tokio::process::Command::new(&server)
        .args(["--role", "proxy", "--host", "127.0.0.1", "--port", "0"])
        .arg("--upstream")
        .arg(session.base_url.trim_end_matches('/'))
        .arg("--dist")
        .arg(site.path())
        .env("ONEMIN_API_KEY", "bench-key")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the proxy");
    let pid = proxy.id().expect("the proxy's pid");
    let mut lines = BufReader::new(proxy.stdout.take().expect("its output")).lines();
    let mut url = None;
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(at) = line.find("http://127.0.0.1:") {
            let rest = &line[at..];
            let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
            url = Some(rest[..end].trim_end_matches('/').to_owned());
            break;
        }
    }
    let url = url.expect("the proxy's address");
    let heavy = write_images(images.path(), 12, |i| noise_png(1150, 1150, i + 1));
    let size = std::fs::metadata(&heavy[0]).map(|m| m.len()).unwrap_or(0);
    session
        .browser
        .goto(&format!("{url}/"))
        .await
        .expect("open the page through the proxy");
    session.wait_for_editor().await;
    let baseline = rss_kib(pid).unwrap_or(0);
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(baseline));
    let sampling = {
        let peak = peak.clone();
        tokio::spawn(async move {
            while let Some(now) = rss_kib(pid) {
                peak.fetch_max(now, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let started = press(&session, &heavy, "Add our logo", "1").await;
    let through_proxy = until_summary(&session, "12 of 12 done", started).await;
    sampling.abort();
    println!(
        "proxy resident memory        {:.1} MB before, {:.1} MB at the peak  (12 uploads of {:.1} MB, 8 edits in flight, {:.0} s)",
        baseline as f64 / 1024.0,
        peak.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1024.0,
        size as f64 / 1_000_000.0,
        through_proxy.as_secs_f64()
    );
    let _ = proxy.kill().await;
    session.close().await;
}
