//! Timings of the editor in headless Chromium, for `scripts/bench-editor`, which builds the
//! pages, serves each with flexedit-server, starts chromedriver, and passes their URLs:
//!
//! ```text
//! bench_editor load    --driver URL --editor URL --empty URL [--loads 31] [--max-seconds 900]
//! bench_editor load    --driver URL --editor URL --against URL [--loads 31] [--max-seconds 900]
//! bench_editor prepare --driver URL --editor URL [--runs 5] [--max-seconds 900]
//! ```
//!
//! `load`: milliseconds from navigation start to the interactive form, measured in the page
//! by `performance.now()`, for the editor and for an empty Leptos page built the same way.
//! Every sample is a new browser with a new profile (cold: nothing in the HTTP cache and no
//! compiled code cached), then, once that page has settled, one more load of the same page
//! in that browser (warm: a person coming back). Before each load the browser is left to go
//! idle: a person's browser has finished starting long before they open a page, while a new
//! one spends about half a second loading its own pages on both cores (watched through
//! /proc, so on Linux). The two pages alternate so that noise from
//! the shared machine lands on both. The ratio of the medians comes with a bootstrap
//! interval, so a verdict is only given when the noise allows one. The browser's marks and
//! the editor's own marks of its start (web/embed.js) say where its time went: when the HTML
//! arrived and first painted, when its module ran, when the wasm and the configuration were
//! ready, when the first render began and ended, and when the live editor took over.
//!
//! With `--against` in place of `--empty`, the second page is another build of the editor:
//! the same loads, interleaved the same way, give the ratio of the two builds (A/B), so a
//! change to the start is judged side by side rather than against an earlier run.
//!
//! `prepare`: the editor's "flexedit:prepare" measure (decode, downscale, re-encode) for a
//! 6000 × 4000 JPEG, one new browser per run. The editor prepares a file as soon as it is
//! chosen; the run that follows reuses it, so the figure is the last such measure.

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use serde_json::{Value, json};

/// The longest any single step may take before the run is called broken.
const PATIENCE: Duration = Duration::from_secs(30);

/// A whole edit against the simulator includes uploading and editing after the preparation.
const RUN_PATIENCE: Duration = Duration::from_secs(120);

/// The editor's form is interactive once a person can write the prompt and the other fields
/// and sees the run button: from index.html's first screen, whose fields take input that the
/// live editor carries over. Its buttons wait for the live editor, whose moment is the
/// `live` mark in the table of the editor's start.
const EDITOR_READY: &[&str] = &[
    "#flexedit:not([inert]) [data-testid='run']",
    "#flexedit:not([inert]) #field-prompt:not(:disabled)",
];
const EMPTY_READY: &[&str] = &["[data-testid='ready']"];

const LOAD_BUDGET_RATIO: f64 = 1.3;
const PREPARE_BUDGET_MS: f64 = 500.0;

/// Installed before any of the page's own scripts run, so the moment the controls appear is
/// seen however early it comes: an observer attached after navigation returns would miss a
/// page that rendered while WebDriver was still answering. A page is ready once its
/// controls exist and its stylesheets have loaded (a person sees the form styled or not at
/// all); a stylesheet that finishes last changes no node, so its load event is watched too.
const OBSERVE_READY: &str = r#"
(() => {
  const selectors = __SELECTORS__;
  window.__benchReady = new Promise((resolve) => {
    const styled = () =>
      [...document.querySelectorAll("link[rel=stylesheet]")].every((link) => link.sheet !== null);
    const ready = () => selectors.every((s) => document.querySelector(s) !== null) && styled();
    let answered = false;
    const check = () => {
      if (!answered && ready()) {
        answered = true;
        observer.disconnect();
        document.removeEventListener("load", check, true);
        resolve(performance.now());
      }
    };
    const observer = new MutationObserver(check);
    observer.observe(document, { childList: true, subtree: true });
    document.addEventListener("load", check, true);
  });
})();
"#;

const AWAIT_READY: &str = r#"
const done = arguments[arguments.length - 1];
if (window.__benchReady === undefined) {
  done(null);
} else {
  window.__benchReady.then(done);
}
"#;

/// Before the warm load: waits until the cold page has loaded nothing new over three idle
/// periods in a row, each a whole idle frame, so the warm load measures a person coming back
/// rather than the first visit's own background loading (the editor fetches and compiles
/// its parts once the form is on screen). Answers whether the page settled within 10 s.
const AWAIT_SETTLED: &str = r#"
const done = arguments[arguments.length - 1];
const start = performance.now();
let seen = -1;
let calm = 0;
const check = (deadline) => {
  const loaded = performance.getEntriesByType("resource").length;
  calm = loaded === seen && deadline.timeRemaining() >= 45 ? calm + 1 : 0;
  seen = loaded;
  if (calm >= 3) {
    done(true);
  } else if (performance.now() - start > 10000) {
    done(false);
  } else {
    requestIdleCallback(check, { timeout: 1000 });
  }
};
requestIdleCallback(check, { timeout: 1000 });
"#;

/// Where a load's time went, in ms from navigation start: the browser's marks (index.html
/// has arrived, the first paint), then the editor's own (see web/embed.js): its loading
/// begins, the wasm is instantiated, the configuration has arrived, the first render begins
/// and ends, and the live editor has taken over index.html's first screen. Waits for the
/// first paint and, on a page with the editor, for the takeover (10 s at most); null where
/// a mark is missing (the empty page has only the browser's).
const START_MARKS: &str = r#"
const done = arguments[arguments.length - 1];
const entry = (name) => performance.getEntriesByName(name)[0];
const editor = document.getElementById("flexedit") !== null;
let answered = false;
const answer = () => {
  if (answered) return;
  answered = true;
  observer.disconnect();
  clearTimeout(limit);
  const render = entry("flexedit:render");
  done([
    performance.getEntriesByType("navigation")[0]?.responseEnd,
    entry("first-contentful-paint")?.startTime,
    entry("flexedit:start")?.startTime,
    entry("flexedit:wasm")?.startTime,
    entry("flexedit:config")?.startTime,
    render?.startTime,
    render === undefined ? undefined : render.startTime + render.duration,
    entry("flexedit:live")?.startTime,
  ]);
};
const complete = () =>
  entry("first-contentful-paint") !== undefined && (!editor || entry("flexedit:live") !== undefined);
// The browser says when a paint or mark is recorded; nothing polls the page it measures.
const observer = new PerformanceObserver(() => complete() && answer());
observer.observe({ entryTypes: ["paint", "mark"] });
const limit = setTimeout(answer, 10000);
if (complete()) answer();
"#;

/// What each of `START_MARKS` stands for, in the table of a page's start.
const START_PHASES: [&str; 8] = [
    "html", "paint", "module", "wasm", "config", "render", "rendered", "live",
];

/// One load's `START_MARKS`, in the order of `START_PHASES`; none where a mark is missing.
type StartMarks = [Option<f64>; START_PHASES.len()];

const PREPARE_DURATIONS: &str =
    "return performance.getEntriesByName('flexedit:prepare', 'measure').map((e) => e.duration);";

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let options = Options::parse(args);
    match command.as_str() {
        "load" => load(&options).await,
        "prepare" => prepare(&options).await,
        _ => {
            eprintln!("usage: bench_editor load|prepare --driver URL --editor URL [...]");
            std::process::exit(2);
        }
    }
}

struct Options {
    driver: String,
    editor: String,
    baseline: Option<Baseline>,
    loads: usize,
    runs: usize,
    deadline: Instant,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Options {
        let mut driver = None;
        let mut editor = None;
        let mut baseline = None;
        let mut loads = 31;
        let mut runs = 5;
        let mut max_seconds = 900;
        while let Some(name) = args.next() {
            let value = args
                .next()
                .unwrap_or_else(|| panic!("{name} needs a value"));
            let count = || -> usize {
                value
                    .parse()
                    .unwrap_or_else(|_| panic!("{name} takes a count, not {value:?}"))
            };
            match name.as_str() {
                "--driver" => driver = Some(value.trim_end_matches('/').to_owned()),
                "--editor" => editor = Some(value),
                "--empty" => baseline = Some(Baseline::Empty(value)),
                "--against" => baseline = Some(Baseline::Editor(value)),
                "--loads" => loads = count(),
                "--runs" => runs = count(),
                "--max-seconds" => max_seconds = count() as u64,
                _ => panic!("unknown option {name}"),
            }
        }
        Options {
            driver: driver.expect("--driver: chromedriver's URL"),
            editor: editor.expect("--editor: the URL of the editor"),
            baseline,
            loads,
            runs,
            deadline: Instant::now() + Duration::from_secs(max_seconds),
        }
    }

    fn time_left(&self) -> bool {
        Instant::now() < self.deadline
    }
}

impl<'a> Page<'a> {
    fn new(label: &'static str, url: &'a str, ready: &'static [&'static str]) -> Self {
        Page {
            label,
            url,
            ready,
            samples: Default::default(),
            marks: Default::default(),
            unsettled: 0,
            busy: 0,
        }
    }
}

/// What the editor's loads are compared with.
enum Baseline {
    /// An empty Leptos page built the same way: the ratio is held to the budget.
    Empty(String),
    /// Another build of the editor (A/B): the ratio is only reported.
    Editor(String),
}

impl Baseline {
    fn page(&self) -> Page<'_> {
        let (label, url, ready) = match self {
            Baseline::Empty(url) => ("empty Leptos page", url, EMPTY_READY),
            Baseline::Editor(url) => ("flexedit (against)", url, EDITOR_READY),
        };
        Page::new(label, url, ready)
    }

    /// How the ratio's line names the baseline, and what it says of the budget given the
    /// ratio's interval.
    fn judge(&self, low: f64, high: f64) -> (&'static str, String) {
        match self {
            Baseline::Editor(_) => ("against", String::new()),
            Baseline::Empty(_) => {
                let verdict = if high <= LOAD_BUDGET_RATIO {
                    "within"
                } else if low > LOAD_BUDGET_RATIO {
                    "OVER"
                } else {
                    "undecided: the interval spans the budget; run more loads"
                };
                (
                    "empty",
                    format!(" (budget {LOAD_BUDGET_RATIO}×: {verdict})"),
                )
            }
        }
    }
}

/// Each page is loaded first with an empty cache, then again with everything cached.
const CACHES: [&str; 2] = ["cold", "warm"];

struct Page<'a> {
    label: &'static str,
    url: &'a str,
    ready: &'static [&'static str],
    /// Milliseconds per load, one list per entry of `CACHES`.
    samples: [Vec<f64>; 2],
    /// The page's `START_MARKS` per load, where it has them, one list per entry of `CACHES`.
    marks: [Vec<StartMarks>; 2],
    /// Cold loads whose page was still loading after 10 s, so its warm load overlapped it.
    unsettled: usize,
    /// Samples whose browser was still busy after 10 s, so a load overlapped its own work.
    busy: usize,
}

async fn load(options: &Options) {
    let baseline = options
        .baseline
        .as_ref()
        .expect("--empty: the URL of the empty page (or --against: another build's)");
    let mut pages = [
        Page::new("flexedit", &options.editor, EDITOR_READY),
        baseline.page(),
    ];
    // Unrecorded: the first browser start and first reads of the files are slower than any
    // after them, and would otherwise land on whichever page goes first.
    for page in &pages {
        time_to_form(&options.driver, page).await;
    }
    for round in 0..options.loads {
        if !options.time_left() {
            eprintln!(
                "bench_editor: time is up after {round} of {} rounds",
                options.loads
            );
            break;
        }
        // Alternating which page goes first cancels any drift within a round too.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for index in order {
            let (times, marks, settled) = time_to_form(&options.driver, &pages[index]).await;
            for (samples, time) in pages[index].samples.iter_mut().zip(times) {
                samples.push(time);
            }
            for (list, marks) in pages[index].marks.iter_mut().zip(marks) {
                list.extend(marks);
            }
            if !settled.page {
                pages[index].unsettled += 1;
            }
            if !settled.browser {
                pages[index].busy += 1;
            }
        }
    }

    let [editor, other] = &pages;
    println!(
        "time to an interactive form, ms from navigation start ({} loads each, interleaved)",
        editor.samples[0].len()
    );
    println!(
        "{:<20} {:<6} {:>9} {:>9} {:>9}",
        "page", "cache", "median", "p90", "max"
    );
    for (c, cache) in CACHES.iter().enumerate() {
        for page in &pages {
            let samples = &page.samples[c];
            println!(
                "{:<20} {:<6} {:>9.1} {:>9.1} {:>9.1}",
                page.label,
                cache,
                percentile(samples, 0.5),
                percentile(samples, 0.9),
                percentile(samples, 1.0),
            );
        }
    }
    for page in &pages {
        println!(
            "{}'s start, medians of its marks, ms from navigation start ({} and {} loads; - where it has no such mark)",
            page.label,
            page.marks[0].len(),
            page.marks[1].len()
        );
        print!("{:<6}", "cache");
        for phase in START_PHASES {
            print!(" {phase:>9}");
        }
        println!();
        for (cache, marks) in CACHES.iter().zip(&page.marks) {
            print!("{cache:<6}");
            for phase in 0..START_PHASES.len() {
                let times: Vec<f64> = marks.iter().filter_map(|m| m[phase]).collect();
                if times.is_empty() {
                    print!(" {:>9}", "-");
                } else {
                    print!(" {:>9.1}", percentile(&times, 0.5));
                }
            }
            println!();
        }
    }
    for page in &pages {
        if page.busy > 0 {
            println!(
                "note: in {} of {}'s samples the browser was still busy after 10 s; its loads overlapped that work",
                page.busy, page.label
            );
        }
        if page.unsettled > 0 {
            println!(
                "note: {} of {}'s cold loads were still loading after 10 s; their warm loads overlapped them",
                page.unsettled, page.label
            );
        }
    }
    for (c, cache) in CACHES.iter().enumerate() {
        let (a, b) = (&editor.samples[c], &other.samples[c]);
        let median = percentile(a, 0.5) / percentile(b, 0.5);
        let p90 = percentile(a, 0.9) / percentile(b, 0.9);
        let (low, high) = ratio_interval(a, b);
        let (name, verdict) = baseline.judge(low, high);
        println!(
            "ratio flexedit/{name}, {cache}: median {median:.2}× (90 % interval {low:.2}–{high:.2}×), p90 {p90:.2}×{verdict}"
        );
    }
}

/// One new browser: a load with an empty cache, then, once that page has settled, one with
/// everything cached. The second goes to a different URL so Chromium treats it as a
/// navigation, not a reload (which would revalidate every file). Also answers whether its
/// waits ended as they should (see [`Settled`]).
async fn time_to_form(
    driver: &str,
    page: &Page<'_>,
) -> ([f64; 2], [Option<StartMarks>; 2], Settled) {
    let browser = Browser::start(driver).await;
    let observer = OBSERVE_READY.replace(
        "__SELECTORS__",
        &serde_json::to_string(page.ready).expect("selectors as JSON"),
    );
    browser.on_every_document(&observer).await;
    // A person's first visit happens in a browser that is already running: a not-found
    // answer from the same server starts the page's renderer and connection without
    // caching anything the page loads.
    browser
        .client
        .goto(&format!("{}bench-warm-up.txt", page.url))
        .await
        .expect("open a not-found page");
    // Chromium's own start-up work (its new-tab page and the address bar's pages, on both
    // cores for about half a second) would otherwise run through the first load.
    let mut quiet = browser.wait_until_quiet().await;
    let cold = browser.ready_at(page.url).await;
    let cold_marks = browser.start_marks().await;
    let settled = browser
        .client
        .execute_async(AWAIT_SETTLED, Vec::new())
        .await
        .unwrap_or_else(|err| panic!("{}: waiting for the page to settle failed: {err}", page.url))
        .as_bool()
        .unwrap_or(false);
    quiet &= browser.wait_until_quiet().await;
    let warm = browser.ready_at(&format!("{}?warm", page.url)).await;
    let warm_marks = browser.start_marks().await;
    browser.close().await;
    (
        [cold, warm],
        [cold_marks, warm_marks],
        Settled {
            page: settled,
            browser: quiet,
        },
    )
}

/// Whether a sample's waits ended as they should rather than at their time limit.
struct Settled {
    /// The cold page loaded nothing new before the warm load.
    page: bool,
    /// The browser was idle before each load.
    browser: bool,
}

async fn prepare(options: &Options) {
    let images = TempDir::new("flexedit-bench-images");
    let started = Instant::now();
    let photo = write_photo(images.path(), 6000, 4000);
    let bytes = std::fs::metadata(&photo).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "bench_editor: wrote a 6000 × 4000 JPEG of {:.1} MB in {:.1} s",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let mut durations = Vec::new();
    for run in 0..options.runs {
        if !options.time_left() {
            eprintln!(
                "bench_editor: time is up after {run} of {} runs",
                options.runs
            );
            break;
        }
        durations.push(prepare_once(options, &photo).await);
    }
    let median = percentile(&durations, 0.5);
    let max = percentile(&durations, 1.0);
    println!(
        "prepare a 6000 × 4000 JPEG ({:.1} MB) for upload, {} runs",
        bytes as f64 / 1e6,
        durations.len()
    );
    println!(
        "median {median:.0} ms, max {max:.0} ms (budget {PREPARE_BUDGET_MS:.0} ms: {})",
        verdict(max <= PREPARE_BUDGET_MS)
    );
}

async fn prepare_once(options: &Options, photo: &Path) -> f64 {
    let browser = Browser::start(&options.driver).await;
    let client = &browser.client;
    client.goto(&options.editor).await.expect("open the editor");
    client
        .wait()
        .at_most(PATIENCE)
        // The live editor's, not the first screen's that index.html arrives with.
        .for_element(Locator::Css(
            "#flexedit:not([aria-busy]) [data-testid='file-input']",
        ))
        .await
        .expect("the file input")
        .send_keys(&photo.display().to_string())
        .await
        .expect("choose the photo");
    browser
        .wait_for_text("source-info", "6000 × 4000", PATIENCE)
        .await;
    let prompt = client
        .find(Locator::Id("field-prompt"))
        .await
        .expect("the prompt field");
    prompt
        .send_keys("Add the text \"SALE\" at the top")
        .await
        .expect("type the prompt");
    client
        .find(Locator::Css("[data-testid='run']"))
        .await
        .expect("the run button")
        .click()
        .await
        .expect("press the run button");
    browser.wait_for_text("phase", "Done", RUN_PATIENCE).await;
    let durations = client
        .execute(PREPARE_DURATIONS, Vec::new())
        .await
        .expect("read the performance timeline");
    let duration = durations
        .as_array()
        .and_then(|all| all.last())
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no flexedit:prepare measure in the page: {durations}"));
    browser.close().await;
    duration
}

/// A photo-like JPEG: smooth light with fine grain, at a camera's usual quality, so the
/// decoder does the work a real photo costs rather than racing through flat colour.
fn write_photo(dir: &Path, width: u32, height: u32) -> PathBuf {
    let image = RgbImage::from_fn(width, height, |x, y| {
        let grain = (x.wrapping_mul(73_856_093) ^ y.wrapping_mul(19_349_663)) % 24;
        let shade = |v: u32| (v + grain).min(255) as u8;
        Rgb([
            shade(x * 220 / width),
            shade(y * 220 / height),
            shade((x + y) * 110 / (width + height) + 60),
        ])
    });
    let path = dir.join("photo-6000x4000.jpg");
    let file = std::fs::File::create(&path).expect("create the photo");
    JpegEncoder::new_with_quality(BufWriter::new(file), 90)
        .encode_image(&image)
        .expect("encode the photo");
    path
}

/// Headless Chromium with the end-to-end tests' flags and a profile of its own.
struct Browser {
    client: Client,
    driver: String,
    profile: TempDir,
}

impl Browser {
    async fn start(driver: &str) -> Browser {
        let profile = TempDir::new("flexedit-bench-profile");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
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
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(driver)
            .await
            .unwrap_or_else(|err| panic!("chromedriver did not start a browser: {err}"));
        client
            .set_window_size(1280, 900)
            .await
            .expect("size the window");
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(PATIENCE),
                Some(PATIENCE),
                Some(Duration::ZERO),
            ))
            .await
            .expect("set the timeouts");
        Browser {
            client,
            driver: driver.to_owned(),
            profile,
        }
    }

    /// Runs `script` in every document this browser opens from now on, before the page's
    /// own scripts. WebDriver has no such command; chromedriver passes this one to Chromium.
    async fn on_every_document(&self, script: &str) {
        let session = self
            .client
            .session_id()
            .await
            .expect("ask for the session id")
            .expect("a session id");
        let response = reqwest::Client::new()
            .post(format!(
                "{}/session/{session}/goog/cdp/execute",
                self.driver
            ))
            .json(&json!({
                "cmd": "Page.addScriptToEvaluateOnNewDocument",
                "params": { "source": script },
            }))
            .timeout(PATIENCE)
            .send()
            .await
            .expect("reach chromedriver");
        assert!(
            response.status().is_success(),
            "chromedriver refused the script: {}",
            response.text().await.unwrap_or_default()
        );
    }

    /// Opens `url` and answers the page's `performance.now()` when its controls appeared.
    async fn ready_at(&self, url: &str) -> f64 {
        self.client.goto(url).await.expect("open the page");
        let at = self
            .client
            .execute_async(AWAIT_READY, Vec::new())
            .await
            .unwrap_or_else(|err| panic!("{url} never showed its controls: {err}"));
        at.as_f64()
            .unwrap_or_else(|| panic!("{url}: the timing script did not run in the page"))
    }

    /// The page's `START_MARKS`; none when the script could not run.
    async fn start_marks(&self) -> Option<StartMarks> {
        let marks = self
            .client
            .execute_async(START_MARKS, Vec::new())
            .await
            .ok()?;
        let marks: Vec<Option<f64>> = marks.as_array()?.iter().map(Value::as_f64).collect();
        marks.try_into().ok()
    }

    async fn wait_for_text(&self, id: &str, text: &str, patience: Duration) {
        let xpath = format!("//*[@data-testid='{id}'][contains(normalize-space(.), '{text}')]");
        if let Err(err) = self
            .client
            .wait()
            .at_most(patience)
            .for_element(Locator::XPath(&xpath))
            .await
        {
            let shown = match self
                .client
                .find(Locator::Css(&format!("[data-testid='{id}']")))
                .await
            {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => "(not on the page)".into(),
            };
            panic!("data-testid={id} never showed {text:?}; it shows {shown:?} ({err})");
        }
    }

    /// Waits until this browser's processes have used no processor time for three looks in
    /// a row, 50 ms apart (Linux counts it in 10 ms ticks), or 10 s have passed. Answers
    /// whether it went quiet; without /proc there is nothing to watch, so never.
    async fn wait_until_quiet(&self) -> bool {
        let flag = format!("--user-data-dir={}", self.profile.path().display());
        let started = Instant::now();
        let mut last = None;
        let mut calm = 0;
        while started.elapsed() < Duration::from_secs(10) {
            let Some(ticks) = processor_ticks(&flag) else {
                return false;
            };
            calm = if last == Some(ticks) { calm + 1 } else { 0 };
            if calm >= 3 {
                return true;
            }
            last = Some(ticks);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// The user and system time, in clock ticks, of every process whose command line holds
/// `flag`: a browser started with its own profile passes that profile's flag to each of
/// its processes. `None` where /proc cannot be read.
fn processor_ticks(flag: &str) -> Option<u64> {
    let flag = flag.as_bytes();
    let mut total = 0;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let dir = entry.path();
        // Processes come and go while this reads; one that ended has nothing left to count.
        let Ok(cmdline) = std::fs::read(dir.join("cmdline")) else {
            continue;
        };
        if !cmdline.windows(flag.len()).any(|w| w == flag) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        // Fields after the command name, which is in parentheses and may hold spaces:
        // utime and stime are the 12th and 13th of them.
        let fields = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let mut fields = fields.split_whitespace().skip(11);
        let utime: u64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        let stime: u64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        total += utime + stime;
    }
    Some(total)
}

/// Nearest-rank percentile: a value that was measured, never an interpolation.
fn percentile(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A 90 % bootstrap interval for the ratio of the medians of `a` and `b`: both sets of loads
/// are resampled with replacement, 2000 times, by a fixed-seed generator so that a run can
/// be repeated exactly from its samples.
fn ratio_interval(a: &[f64], b: &[f64]) -> (f64, f64) {
    const ROUNDS: usize = 2000;
    if a.is_empty() || b.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    // xorshift64*: plenty for picking indices.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |len: usize| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % len
    };
    let mut resample = |samples: &[f64]| -> f64 {
        let drawn: Vec<f64> = (0..samples.len())
            .map(|_| samples[next(samples.len())])
            .collect();
        percentile(&drawn, 0.5)
    };
    let mut ratios: Vec<f64> = (0..ROUNDS).map(|_| resample(a) / resample(b)).collect();
    ratios.sort_by(f64::total_cmp);
    (percentile(&ratios, 0.05), percentile(&ratios, 0.95))
}

fn verdict(within: bool) -> &'static str {
    if within { "within" } else { "OVER" }
}

/// A fresh folder removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create a temporary folder");
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
