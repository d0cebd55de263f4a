//! The run itself: prepare and upload the image, submit the edit asynchronously, follow
//! its record until it is done, load the result, telling each step as an event.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use flexedit_api::{ApiError, EditOutcome, EditParams, EditRequest, Mode, RecordId, Stage};
use leptos::task::spawn_local;

use super::poll::{self, FirstAnswer, Followed, Following, InFlight, Pause, Policy, Waits};
use super::{Events, Failure, Phase, Place, RunEvent, RunResult, params_for};
use crate::source::{Origin, Source};
use crate::transport::{Cancel, Connection, LocalFuture, Net, Transport, Upload};

/// Upload attempts before giving up; an upload sends nothing billable.
const UPLOAD_ATTEMPTS: u32 = 3;

/// The longest the page sleeps between looks at its own state while it waits for a poll,
/// so coming back online, showing the tab or entering a key is noticed at once.
const LOOK_AGAIN_MS: f64 = 1_000.0;

/// Unix milliseconds.
pub fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now()
    }
    // Natively the views are only rendered to HTML at build time (src/prerender.rs).
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |elapsed| elapsed.as_secs_f64() * 1000.0)
    }
}

/// 128 random bits from the browser's generator, as 32 hex digits.
pub fn new_run_id() -> String {
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        for b in &mut bytes {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    flexedit_api::history::run_id_from(bytes)
}

/// What following a submitted edit again needs; the history keeps it with the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Resume {
    pub record: RecordId,
    /// Unix ms when the provider named the record.
    pub submitted_ms: f64,
    /// Exactly what was sent.
    pub request: EditRequest,
    /// The image the edit started from, for the before/after view.
    pub before_url: String,
}

/// Starts and resumes runs, and tells their events to whoever subscribed.
#[derive(Clone)]
pub struct Runner {
    net: Net,
    events: Events,
    in_flight: InFlight,
    uploads: SharedUploads,
    policy: Policy,
    /// A page that owns its tab stops polling while hidden; an embedded editor's host may
    /// be waiting for the result, so it goes on.
    pause_when_hidden: bool,
}

/// A run under way, to cancel it.
#[derive(Clone)]
pub struct RunHandle {
    pub id: String,
    cancel: Cancel,
    /// The edit was sent, so it may be billed whatever happens next.
    sent: Rc<Cell<bool>>,
    events: Events,
}

impl RunHandle {
    /// Stops the run where it is; an edit already sent goes on at the provider, and its
    /// record is kept so "Check again" can still fetch it.
    pub fn cancel(&self) {
        if self.cancel.is_cancelled() {
            return;
        }
        self.cancel.cancel();
        self.events.emit(
            &self.id,
            RunEvent::Cancelled {
                after_send: self.sent.get(),
            },
        );
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    fn emit(&self, event: RunEvent) {
        if !self.cancel.is_cancelled() {
            self.events.emit(&self.id, event);
        }
    }
}

impl Runner {
    pub fn new(net: Net, pause_when_hidden: bool) -> Self {
        Self {
            net,
            events: Events::default(),
            in_flight: InFlight::default(),
            uploads: SharedUploads::default(),
            policy: Policy::default(),
            pause_when_hidden,
        }
    }

    /// The same runner with another polling policy (tests poll at once).
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    pub fn events(&self) -> &Events {
        &self.events
    }

    fn handle(&self, id: String, sent: bool) -> RunHandle {
        RunHandle {
            id,
            cancel: Cancel::new(),
            sent: Rc::new(Cell::new(sent)),
            events: self.events.clone(),
        }
    }

    /// Starts an edit of `source` with `params`. Never sends an edit twice.
    pub fn start(
        &self,
        connection: Connection,
        source: Source,
        params: EditParams,
        max_pixels: u64,
    ) -> RunHandle {
        self.start_as(new_run_id(), connection, source, params, max_pixels, None)
    }

    /// [`Runner::start`] under the id `id`, as the job at `place` of a press.
    pub fn start_as(
        &self,
        id: String,
        connection: Connection,
        source: Source,
        params: EditParams,
        max_pixels: u64,
        place: Option<Place>,
    ) -> RunHandle {
        let handle = self.handle(id, false);
        let job = Job::Start {
            runner: self.clone(),
            handle: handle.clone(),
            // Every request of the run carries its id, for the proxy's log.
            connection: connection.tagged(&handle.id),
            source,
            params,
            max_pixels,
            place,
        };
        spawn_run(job, &handle);
        handle
    }

    /// Follows the record of an edit sent earlier (before a reload, or cancelled) until it
    /// is done. `connection` is asked before each poll: a key entered meanwhile is used.
    pub fn resume(
        &self,
        id: String,
        resume: Resume,
        connection: Rc<dyn Fn() -> Connection>,
    ) -> RunHandle {
        let handle = self.handle(id, true);
        let run = handle.id.clone();
        let job = Job::Resume {
            runner: self.clone(),
            handle: handle.clone(),
            resume,
            connection: Rc::new(move || connection().tagged(&run)),
        };
        spawn_run(job, &handle);
        handle
    }

    /// Asks about `resume`'s record until a definite answer; `None` when cancelled.
    async fn follow(
        &self,
        handle: &RunHandle,
        resume: &Resume,
        connection: Rc<dyn Fn() -> Connection>,
        resumed: bool,
    ) -> Option<EditOutcome> {
        let _counted = self.in_flight.enter();
        let waits = BrowserWaits {
            cancel: handle.cancel.clone(),
            pause_when_hidden: self.pause_when_hidden,
            connection: connection.clone(),
        };
        let transport = self.net.transport();
        let cancel = handle.cancel.clone();
        let poll = |record: &RecordId| transport.poll(&connection(), record, &cancel);
        let since_ms = resume.submitted_ms;
        let tell = |following: Following| {
            let paused = match following {
                Following::Waiting => None,
                Following::Paused(why) => Some(why),
            };
            handle.emit(RunEvent::Phase(Phase::Editing {
                since_ms,
                resumed,
                paused,
            }));
        };
        let in_flight = || self.in_flight.count();
        match poll::follow(
            &resume.record,
            resume.submitted_ms,
            self.policy,
            &waits,
            &in_flight,
            &poll,
            &tell,
        )
        .await
        {
            Followed::Done(outcome) => Some(outcome),
            Followed::Cancelled => None,
        }
    }
}

fn spawn_run(job: Job, handle: &RunHandle) {
    let handle = handle.clone();
    spawn_local(async move {
        if let Err(missing) = run_part(job).await {
            handle.emit(RunEvent::Failed(Failure::part_missing(missing)));
        }
    });
}

/// A run to carry out, in the run's part.
// Made once per run and moved straight into its task: its size costs nothing.
#[allow(clippy::large_enum_variant)]
enum Job {
    Start {
        runner: Runner,
        handle: RunHandle,
        connection: Connection,
        source: Source,
        params: EditParams,
        max_pixels: u64,
        place: Option<Place>,
    },
    Resume {
        runner: Runner,
        handle: RunHandle,
        resume: Resume,
        connection: Rc<dyn Fn() -> Connection>,
    },
}

crate::split::part! {
    run:
    /// The run's code loads with its part, fetched while the person fills in the form.
    async fn run_part(job: Job) -> () {
        job.go().await
    }
}

crate::split::part! {
    run:
    /// Fetches the run's part ahead of the first run; calling it does nothing else.
    fn preload_part() -> () {}
}

/// Fetches the run's code ahead of the first run. A failed fetch is not lost: the loader
/// tries again when a run starts, and the run reports it then.
pub async fn preload() {
    let _ = preload_part().await;
}

impl Job {
    async fn go(self) {
        match self {
            Job::Start {
                runner,
                handle,
                connection,
                source,
                params,
                max_pixels,
                place,
            } => {
                if handle.is_cancelled() {
                    return;
                }
                let started = now_ms();
                handle.emit(RunEvent::Started {
                    source: source.clone(),
                    params: params_for(Some(&source), &params),
                    connection: connection.clone(),
                    place: place.clone(),
                });
                let outcome = execute(
                    &runner,
                    &handle,
                    &connection,
                    &source,
                    params,
                    max_pixels,
                    place.as_ref(),
                )
                .await
                .map(|mut result| {
                    result.place = place;
                    result
                });
                finish(&handle, outcome, started, connection).await;
            }
            Job::Resume {
                runner,
                handle,
                resume,
                connection,
            } => {
                handle.emit(RunEvent::Phase(Phase::Editing {
                    since_ms: resume.submitted_ms,
                    resumed: true,
                    paused: None,
                }));
                let Some(outcome) = runner
                    .follow(&handle, &resume, connection.clone(), true)
                    .await
                else {
                    return;
                };
                let result = to_result(outcome, &resume);
                finish(&handle, result, resume.submitted_ms, connection()).await;
            }
        }
    }
}

/// Tells how a run ended; a result is loaded before the run is done.
async fn finish(
    handle: &RunHandle,
    outcome: Result<RunResult, Failure>,
    started: f64,
    connection: Connection,
) {
    if handle.is_cancelled() {
        return;
    }
    match outcome {
        Ok(mut result) => {
            handle.emit(RunEvent::Succeeded {
                result: result.clone(),
                took_ms: now_ms() - started,
                connection,
            });
            handle.emit(RunEvent::Phase(Phase::LoadingResult));
            result.dimensions = load_image(&result.display_url).await;
            result.duration_ms = now_ms() - started;
            handle.emit(RunEvent::Shown(result));
        }
        Err(failure) => handle.emit(RunEvent::Failed(failure)),
    }
}

#[allow(clippy::too_many_arguments)]
async fn execute(
    runner: &Runner,
    handle: &RunHandle,
    connection: &Connection,
    source: &Source,
    mut params: EditParams,
    max_pixels: u64,
    place: Option<&Place>,
) -> Result<RunResult, Failure> {
    let transport = runner.net.transport();
    // The jobs of one press that edit the same image upload it once.
    let shared = place.map(|p| format!("{}|{}|{max_pixels}", p.batch, source.preview_url));
    let mut first = None;
    let mut uploaded = None;
    if let (Origin::File { .. }, Some(key)) = (&source.origin, &shared) {
        match runner.uploads.join(key).await {
            Joined::Uploaded(path) => {
                handle.emit(RunEvent::Uploaded(path.clone()));
                uploaded = Some(path);
            }
            Joined::First(settle) => first = Some(settle),
            Joined::Alone => {}
        }
    }
    params.image_url = match &source.origin {
        Origin::File { .. } if uploaded.is_some() => uploaded.unwrap_or_default(),
        Origin::File { file, prepared, .. } => {
            // Prepared when it was chosen, unless the upload limit changed since.
            let prepared = match prepared.as_ref().filter(|p| p.max_pixels == max_pixels) {
                Some(prepared) => prepared.clone(),
                None => {
                    handle.emit(RunEvent::Phase(Phase::Preparing));
                    crate::prepare::prepare_measured(file, &source.name, max_pixels)
                        .await
                        .map_err(|e| Failure::prepare(&e))?
                }
            };
            handle.emit(RunEvent::Prepared(prepared.blob.clone()));
            let upload = Upload {
                blob: prepared.blob,
                file_name: prepared.file_name,
            };
            let path = upload_with_retries(&*transport, handle, connection, upload).await;
            if let (Some(settle), Some(key)) = (first.take(), &shared) {
                runner.uploads.settle(key, settle, path.as_ref().ok());
            }
            let path = path?;
            handle.emit(RunEvent::Uploaded(path.clone()));
            path
        }
        Origin::Url(url) => url.clone(),
        Origin::Asset { path } => path.clone(),
    };
    let request = params.validate().map_err(|p| Failure::invalid(&p))?;
    if handle.is_cancelled() {
        return Err(ApiError::Cancelled { stage: Stage::Edit }.into());
    }
    let since_ms = now_ms();
    handle.emit(RunEvent::Phase(Phase::Editing {
        since_ms,
        resumed: false,
        paused: None,
    }));
    handle.sent.set(true);
    let first = transport
        .edit(connection, request.to_json_async(), &handle.cancel)
        .await;
    let resume = |record| Resume {
        record,
        submitted_ms: now_ms(),
        request: request.clone(),
        before_url: source.preview_url.clone(),
    };
    match poll::first_answer(first) {
        FirstAnswer::Record(record) => {
            let resume = resume(record);
            handle.emit(RunEvent::Submitted(resume.clone()));
            let fixed = connection.clone();
            let outcome = runner
                .follow(handle, &resume, Rc::new(move || fixed.clone()), false)
                .await
                .ok_or(Failure::from(ApiError::Cancelled { stage: Stage::Poll }))?;
            to_result(outcome, &resume)
        }
        FirstAnswer::Final(outcome) => {
            let record = match &outcome {
                EditOutcome::Succeeded(edit) => {
                    edit.uuid.as_deref().and_then(|u| RecordId::parse(u).ok())
                }
                _ => None,
            };
            match record {
                Some(record) => to_result(outcome, &resume(record)),
                None => to_result_without_record(outcome, &request, &source.preview_url),
            }
        }
    }
}

fn to_result(outcome: EditOutcome, resume: &Resume) -> Result<RunResult, Failure> {
    let mut result = to_result_without_record(outcome, &resume.request, &resume.before_url)?;
    result.record = Some(resume.record.clone());
    Ok(result)
}

fn to_result_without_record(
    outcome: EditOutcome,
    request: &EditRequest,
    before_url: &str,
) -> Result<RunResult, Failure> {
    match outcome {
        EditOutcome::Succeeded(edit) => Ok(RunResult {
            asset_path: edit.asset_path(),
            seed: request.prompt_object.seed,
            display_url: edit.display_url,
            request: request.clone(),
            dimensions: None,
            duration_ms: 0.0,
            credits: edit.credits,
            expires_at: edit.expires_at,
            before_url: before_url.to_owned(),
            record: None,
            place: None,
        }),
        // Following a record ends only on a definite answer; an unfinished one here has
        // nothing to follow, and may still run and bill.
        EditOutcome::Processing { .. } => Err(ApiError::Network { stage: Stage::Edit }.into()),
        EditOutcome::Failed(error) => Err(error.into()),
    }
}

async fn upload_with_retries(
    transport: &dyn Transport,
    handle: &RunHandle,
    connection: &Connection,
    upload: Upload,
) -> Result<String, Failure> {
    let mut attempt = 1;
    loop {
        handle.emit(RunEvent::Phase(Phase::Uploading { percent: 0 }));
        let progress_handle = handle.clone();
        let progress = Rc::new(move |percent: u8| {
            progress_handle.emit(RunEvent::Phase(Phase::Uploading { percent }));
        });
        match transport
            .upload(connection, upload.clone(), progress, &handle.cancel)
            .await
        {
            Ok(path) => return Ok(path.into_string()),
            Err(error)
                if attempt < UPLOAD_ATTEMPTS && error.is_retryable() && !handle.is_cancelled() =>
            {
                attempt += 1;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// Loads an image element and waits until it has decoded, to learn its size.
async fn load_image(url: &str) -> Option<(u32, u32)> {
    let image = web_sys::HtmlImageElement::new().ok()?;
    image.set_cross_origin(None);
    image.set_src(url);
    wasm_bindgen_futures::JsFuture::from(image.decode())
        .await
        .ok()?;
    Some((image.natural_width(), image.natural_height()))
}

/// Uploads of one image shared by the jobs of a press that edit it.
#[derive(Clone, Default)]
struct SharedUploads(Rc<RefCell<HashMap<String, SharedUpload>>>);

enum SharedUpload {
    /// Under way: settles with the asset path, or null when it failed.
    Pending(js_sys::Promise),
    Done(String),
}

/// What a job finds when it joins the uploads of its press.
enum Joined {
    /// Another job uploaded the image: its path.
    Uploaded(String),
    /// This job uploads it, and settles it for the others with the function.
    First(js_sys::Function),
    /// The other job's upload failed: this one tries on its own.
    Alone,
}

impl SharedUploads {
    async fn join(&self, key: &str) -> Joined {
        let pending = match self.0.borrow().get(key) {
            Some(SharedUpload::Done(path)) => return Joined::Uploaded(path.clone()),
            Some(SharedUpload::Pending(promise)) => Some(promise.clone()),
            None => None,
        };
        if let Some(promise) = pending {
            let settled = wasm_bindgen_futures::JsFuture::from(promise).await;
            return match settled.ok().and_then(|v| v.as_string()) {
                Some(path) => Joined::Uploaded(path),
                None => Joined::Alone,
            };
        }
        let mut settle = None;
        let promise = js_sys::Promise::new(&mut |resolve, _reject| settle = Some(resolve));
        let Some(settle) = settle else {
            return Joined::Alone;
        };
        self.0
            .borrow_mut()
            .insert(key.to_owned(), SharedUpload::Pending(promise));
        Joined::First(settle)
    }

    fn settle(&self, key: &str, settle: js_sys::Function, path: Option<&String>) {
        let value = match path {
            Some(path) => {
                self.0
                    .borrow_mut()
                    .insert(key.to_owned(), SharedUpload::Done(path.clone()));
                wasm_bindgen::JsValue::from_str(path)
            }
            None => {
                self.0.borrow_mut().remove(key);
                wasm_bindgen::JsValue::NULL
            }
        };
        let _ = settle.call1(&wasm_bindgen::JsValue::NULL, &value);
    }
}

/// The browser's clock and state, for following a record.
struct BrowserWaits {
    cancel: Cancel,
    pause_when_hidden: bool,
    connection: Rc<dyn Fn() -> Connection>,
}

impl Waits for BrowserWaits {
    fn now_ms(&self) -> f64 {
        now_ms()
    }

    fn wait(&self, ms: f64) -> LocalFuture<()> {
        let ms = ms.clamp(0.0, LOOK_AGAIN_MS) as i32;
        Box::pin(async move {
            let promise = js_sys::Promise::new(&mut |resolve, _reject| {
                let queued = web_sys::window().is_some_and(|window| {
                    window
                        .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
                        .is_ok()
                });
                if !queued {
                    let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
                }
            });
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        })
    }

    fn paused(&self) -> Option<Pause> {
        let window = web_sys::window()?;
        if !window.navigator().on_line() {
            return Some(Pause::Offline);
        }
        if self.pause_when_hidden && window.document().is_some_and(|d| d.hidden()) {
            return Some(Pause::Hidden);
        }
        let connection = (self.connection)();
        if connection.mode == Mode::Direct && connection.key_header().is_none() {
            return Some(Pause::NeedsKey);
        }
        None
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}
