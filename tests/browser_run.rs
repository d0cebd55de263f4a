//! Browser tests of the run's lifecycle through a scripted fake transport, at a pace that
//! polls at once: every event a run emits, in order, for a result, a failure, a lost poll
//! asked again, a cancel after the edit was sent, and a record followed again.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use flexedit::run::poll::{Policy, Polled};
use flexedit::run::{Phase, Resume, RunEvent, Runner};
use flexedit::source::{Origin, Source};
use flexedit::transport::{Cancel, Connection, LocalFuture, Progress, Transport, Upload};
use flexedit_api::{
    ApiError, AssetPath, EditOutcome, EditParams, EditResult, Mode, RecordId, Stage,
};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

mod dom;
use dom::until;

wasm_bindgen_test_configure!(run_in_browser);

const UUID: &str = "5b0e8f3c-1d2a-4e6b-9c7d-0a1b2c3d4e5f";
/// A 1×1 PNG, so the result "loads".
const PIXEL: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

/// Answers the edit with `first`, then each poll with the next of `polls`.
#[derive(Default)]
struct Script {
    first: RefCell<Option<EditOutcome>>,
    polls: RefCell<VecDeque<Polled>>,
    bodies: RefCell<Vec<String>>,
    polled: RefCell<Vec<String>>,
}

#[derive(Clone, Default)]
struct Fake(Rc<Script>);

impl Transport for Fake {
    fn upload(
        &self,
        _connection: &Connection,
        _upload: Upload,
        progress: Progress,
        _cancel: &Cancel,
    ) -> LocalFuture<Result<AssetPath, ApiError>> {
        progress(100);
        Box::pin(async { Ok(AssetPath::new("images/uploaded.png")) })
    }

    fn edit(&self, _c: &Connection, body: String, _cancel: &Cancel) -> LocalFuture<EditOutcome> {
        self.0.bodies.borrow_mut().push(body);
        let first = self.0.first.borrow_mut().take().unwrap_or_else(processing);
        Box::pin(async move { first })
    }

    fn poll(&self, _c: &Connection, record: &RecordId, _cancel: &Cancel) -> LocalFuture<Polled> {
        self.0.polled.borrow_mut().push(record.to_string());
        let next = self
            .0
            .polls
            .borrow_mut()
            .pop_front()
            .unwrap_or_else(|| processing().into());
        Box::pin(async move { next })
    }

    fn fetch_image(
        &self,
        _c: &Connection,
        _url: &str,
    ) -> LocalFuture<Result<web_sys::Blob, ApiError>> {
        Box::pin(async {
            Err(ApiError::Network {
                stage: Stage::Result,
            })
        })
    }
}

fn processing() -> EditOutcome {
    EditOutcome::Processing {
        uuid: Some(UUID.into()),
    }
}

fn done() -> EditOutcome {
    EditOutcome::Succeeded(EditResult {
        uuid: Some(UUID.into()),
        display_url: PIXEL.into(),
        storage_paths: vec!["images/result.png".into()],
        credits: None,
        expires_at: None,
        prompt_object: None,
    })
}

fn connection() -> Connection {
    Connection {
        endpoint: String::new(),
        mode: Mode::Proxy,
        key: None,
        request_id: None,
    }
}

fn source() -> Source {
    Source {
        name: "shop.png".into(),
        origin: Origin::Url("https://127.0.0.1:9/shop.png".into()),
        preview_url: "https://127.0.0.1:9/shop.png".into(),
        size: None,
        dimensions: None,
        recipe: None,
    }
}

fn params() -> EditParams {
    EditParams {
        prompt: "Add a red hat".into(),
        seed: Some(7.0),
        ..EditParams::default()
    }
}

/// A runner over `fake` that polls at once, and the names of the events it emits.
fn runner(fake: &Fake) -> (Runner, Rc<RefCell<Vec<String>>>) {
    // Runs are tasks of the page's executor, which mounting starts: an empty view will do.
    let detached: web_sys::HtmlElement = dom::document()
        .create_element("div")
        .expect("a div")
        .unchecked_into();
    drop(leptos::mount::mount_to(detached, || ()));
    let policy = Policy {
        first_ms: 0.0,
        interval_ms: 0.0,
        proportion: 0.0,
        max_interval_ms: 0.0,
        error_ms: 0.0,
        max_error_ms: 0.0,
        page_polls_per_minute: f64::INFINITY,
    };
    let net: Rc<dyn Transport> = Rc::new(fake.clone());
    let runner = Runner::new(net.into(), false).with_policy(policy);
    let seen = Rc::new(RefCell::new(Vec::<String>::new()));
    let log = seen.clone();
    runner
        .events()
        .subscribe(Rc::new(move |_id: &str, event: &RunEvent| {
            let name = match event {
                RunEvent::Queued { place, .. } => {
                    format!("queued {} of {}", place.index + 1, place.of)
                }
                RunEvent::Started { .. } => "started".to_owned(),
                RunEvent::Prepared(_) => "prepared".to_owned(),
                RunEvent::Uploaded(path) => format!("uploaded {path}"),
                RunEvent::Submitted(resume) => format!("submitted {}", resume.record),
                RunEvent::Phase(Phase::Editing { resumed, .. }) => {
                    format!("editing resumed={resumed}")
                }
                RunEvent::Phase(phase) => format!("phase {}", phase.describe(0.0)),
                RunEvent::Succeeded { result, .. } => {
                    format!(
                        "succeeded {}",
                        result
                            .record
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default()
                    )
                }
                RunEvent::Shown(result) => format!("shown {:?}", result.dimensions),
                RunEvent::Failed(failure) => format!("failed {}", failure.kind),
                RunEvent::Cancelled { after_send } => format!("cancelled after_send={after_send}"),
            };
            // Repeated phases (each wait tells it again only when it changes) are one line.
            let mut log = log.borrow_mut();
            let once_per_run = name.starts_with("queued") || name.starts_with("cancelled");
            if once_per_run || log.last() != Some(&name) {
                log.push(name);
            }
        }));
    (runner, seen)
}

fn ended(seen: &RefCell<Vec<String>>) -> bool {
    seen.borrow().last().is_some_and(|e| {
        e.starts_with("shown") || e.starts_with("failed") || e.starts_with("cancelled")
    })
}

#[wasm_bindgen_test]
async fn an_edit_is_sent_once_asynchronously_and_followed_to_its_result() {
    let fake = Fake::default();
    fake.0.polls.borrow_mut().extend([
        processing().into(),
        EditOutcome::Failed(ApiError::Gateway {
            status: 502,
            stage: Stage::Poll,
        })
        .into(),
        done().into(),
    ]);
    let (runner, seen) = runner(&fake);
    runner.start(connection(), source(), params(), 4_000_000);
    until("the run ends", || ended(&seen)).await;
    assert_eq!(
        *seen.borrow(),
        vec![
            "started".to_owned(),
            "editing resumed=false".into(),
            format!("submitted {UUID}"),
            // Following the record, from when the provider named it.
            "editing resumed=false".into(),
            format!("succeeded {UUID}"),
            "phase Loading the result…".into(),
            "shown Some((1, 1))".into(),
        ]
    );
    let bodies = fake.0.bodies.borrow();
    assert_eq!(bodies.len(), 1, "sent once");
    assert!(bodies[0].ends_with(r#","async":true}"#), "{}", bodies[0]);
    assert_eq!(
        fake.0.polled.borrow().len(),
        3,
        "the lost poll was asked again"
    );
}

#[wasm_bindgen_test]
async fn a_definite_failure_of_the_record_ends_the_run() {
    let fake = Fake::default();
    fake.0
        .polls
        .borrow_mut()
        .push_back(EditOutcome::Failed(ApiError::UnknownRecord).into());
    let (runner, seen) = runner(&fake);
    runner.start(connection(), source(), params(), 4_000_000);
    until("the run ends", || ended(&seen)).await;
    assert_eq!(
        seen.borrow().last().map(String::as_str),
        Some("failed unknown_record")
    );
    assert_eq!(fake.0.bodies.borrow().len(), 1);
}

#[wasm_bindgen_test]
async fn a_provider_that_ignores_async_gives_the_result_at_once() {
    let fake = Fake::default();
    *fake.0.first.borrow_mut() = Some(done());
    let (runner, seen) = runner(&fake);
    runner.start(connection(), source(), params(), 4_000_000);
    until("the run ends", || ended(&seen)).await;
    assert!(fake.0.polled.borrow().is_empty(), "nothing to follow");
    assert_eq!(
        seen.borrow().last().map(String::as_str),
        Some("shown Some((1, 1))")
    );
}

#[wasm_bindgen_test]
async fn cancel_after_the_edit_was_sent_stops_polling_and_says_it_may_be_billed() {
    let fake = Fake::default();
    let (runner, seen) = runner(&fake);
    let run = runner.start(connection(), source(), params(), 4_000_000);
    until("the provider names the record", || {
        seen.borrow().iter().any(|e| e.starts_with("submitted"))
    })
    .await;
    until("a poll is sent", || !fake.0.polled.borrow().is_empty()).await;
    run.cancel();
    let polled = fake.0.polled.borrow().len();
    dom::settle().await;
    dom::settle().await;
    assert_eq!(
        seen.borrow().last().map(String::as_str),
        Some("cancelled after_send=true")
    );
    assert!(
        fake.0.polled.borrow().len() <= polled + 1,
        "polling went on"
    );
}

#[wasm_bindgen_test]
async fn a_record_followed_again_sends_no_edit_and_ends_with_its_result() {
    let fake = Fake::default();
    fake.0.polls.borrow_mut().push_back(done().into());
    let (runner, seen) = runner(&fake);
    let resume = Resume {
        record: RecordId::parse(UUID).expect("uuid"),
        submitted_ms: js_sys::Date::now() - 120_000.0,
        request: params_with_image().validate().expect("valid"),
        before_url: PIXEL.into(),
    };
    runner.resume(
        "0123456789abcdef0123456789abcdef".into(),
        resume,
        Rc::new(connection),
    );
    until("the run ends", || ended(&seen)).await;
    assert_eq!(
        *seen.borrow(),
        vec![
            "editing resumed=true".to_owned(),
            format!("succeeded {UUID}"),
            "phase Loading the result…".into(),
            "shown Some((1, 1))".into(),
        ]
    );
    assert!(fake.0.bodies.borrow().is_empty(), "an edit was sent");
}

fn params_with_image() -> EditParams {
    EditParams {
        image_url: "images/source.png".into(),
        ..params()
    }
}

fn job(index: usize, of: usize) -> flexedit::run::JobSpec {
    flexedit::run::JobSpec {
        source: source(),
        params: EditParams {
            seed: Some(index as f64),
            ..params()
        },
        place: flexedit::run::Place {
            batch: "press".into(),
            index,
            of,
        },
    }
}

#[wasm_bindgen_test]
async fn the_queue_keeps_at_most_its_limit_at_the_provider_and_cancels_alone_or_all() {
    let fake = Fake::default();
    let (runner, seen) = runner(&fake);
    let queue = flexedit::run::Queue::new(runner, 2);
    let ids = queue.push((0..4).map(|i| job(i, 4)).collect(), connection(), 4_000_000);
    assert_eq!(ids.len(), 4);
    until("two edits are sent", || fake.0.bodies.borrow().len() == 2).await;
    dom::settle().await;
    assert_eq!(
        fake.0.bodies.borrow().len(),
        2,
        "more than the limit went out"
    );
    assert_eq!(queue.counts(), (2, 2));
    assert_eq!(
        seen.borrow()
            .iter()
            .filter(|e| e.starts_with("queued"))
            .count(),
        4,
        "every job is told as queued at once: {:?}",
        seen.borrow()
    );

    // Cancelling one job at the provider frees its place for the next.
    queue.cancel(&ids[0]);
    until("the third is sent", || fake.0.bodies.borrow().len() == 3).await;
    let seeds: Vec<u64> = fake
        .0
        .bodies
        .borrow()
        .iter()
        .map(|b| {
            serde_json::from_str::<serde_json::Value>(b).expect("json")["promptObject"]["seed"]
                .as_u64()
                .expect("seed")
        })
        .collect();
    assert_eq!(seeds, vec![0, 1, 2], "in order, each with its own seed");

    // Cancel all: the waiting one is never sent, the others stop being waited for.
    queue.cancel_all();
    dom::settle().await;
    assert_eq!(fake.0.bodies.borrow().len(), 3);
    assert_eq!(queue.counts(), (0, 0));
    let cancelled: Vec<String> = seen
        .borrow()
        .iter()
        .filter(|e| e.starts_with("cancelled"))
        .cloned()
        .collect();
    assert_eq!(
        cancelled
            .iter()
            .filter(|e| e.ends_with("after_send=false"))
            .count(),
        1,
        "{cancelled:?}"
    );
    assert_eq!(cancelled.len(), 4, "{cancelled:?}");
}

#[wasm_bindgen_test]
fn locked_seeds_of_variations_count_up() {
    assert_eq!(
        flexedit::run::queue::seeds(10, 3, true, || 0),
        vec![10, 11, 12]
    );
}
