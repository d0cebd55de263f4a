//! The editor: intake, form, run bar, result and code view. It shows the runs of
//! [`crate::run`] and starts them; the run's lifecycle lives there.

use std::rc::Rc;

use flexedit_api::history::{Outcome, RunRecord};
use flexedit_api::{EditParams, EditRequest, Field, Mode, Problem, Problems, RecordId};
use leptos::callback::UnsyncCallback;
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::config::Config;
use crate::form::{FormState, ParamsForm, random_seed};
use crate::jobs::Job;
use crate::page::IN_PAGE;
use crate::run::{
    Failure, JobSpec, Phase, Place, Queue, Resume, RunEvent, RunResult, Runner, params_for,
};
use crate::settings::{Settings, SettingsPanel};
use crate::source::{Origin, Source};
use crate::transport::{Connection, Net, Network};

fn now_ms() -> f64 {
    crate::run::now_ms()
}

/// Why the run button is disabled, in words; `None` when it is enabled. A run under way
/// does not disable it: another press adds its edits to the queue.
fn disabled_reason(
    has_source: bool,
    problems: Option<&Problems>,
    variations: Result<u32, String>,
    connection: &Connection,
) -> Option<String> {
    if !has_source {
        return Some("Choose an image to edit first.".into());
    }
    if let Some(problems) = problems.filter(|p| !p.is_empty()) {
        let fields: Vec<&str> = problems.fields().map(Field::label).collect();
        return Some(match problems.len() {
            1 => format!("Fix {} first.", fields.join("")),
            n => format!("Fix {n} problems first: {}.", fields.join(", ")),
        });
    }
    if let Err(problem) = variations {
        return Some(problem);
    }
    if connection.mode == flexedit_api::Mode::Direct && connection.key_header().is_none() {
        return Some("Enter your API key in Settings, or switch to proxy mode.".into());
    }
    None
}

/// The Variations field as typed: a whole number from 1 to `max`, or the sentence saying
/// what is wrong.
fn variations_from(text: &str, max: u64) -> Result<u32, String> {
    let problem = || format!("Variations must be a whole number from 1 to {max}.");
    let n = crate::form::parse_number(text).unwrap_or(1.0);
    if n.fract() != 0.0 || n < 1.0 || n > max as f64 {
        return Err(problem());
    }
    Ok(n as u32)
}

/// The whole state of one editor, passed to children as the pieces they need.
#[derive(Clone, Copy)]
pub struct EditorState {
    pub source: RwSignal<Option<Source>, LocalStorage>,
    /// Every image of a choice of several; one edit each. Empty for a single image.
    pub batch: RwSignal<Vec<Source>, LocalStorage>,
    pub params: RwSignal<EditParams>,
    pub seed_locked: RwSignal<bool>,
    /// The Variations field as typed.
    pub variations: RwSignal<String>,
    pub phase: RwSignal<Phase, LocalStorage>,
    pub result: RwSignal<Option<RunResult>, LocalStorage>,
    /// The provider's id of the shown run's edit, once it named one.
    pub record: RwSignal<Option<String>>,
    /// Every job of the presses so far, newest press first.
    pub jobs: RwSignal<Vec<Job>, LocalStorage>,
    /// The run shown and the record it follows, so "Check again" can follow it after a
    /// cancel.
    resumable: RwSignal<Option<(String, Resume)>, LocalStorage>,
    /// The job whose phase the run bar shows: the first of the latest press.
    shown: RwSignal<Option<String>>,
    /// The job whose result is the current one.
    pub current: RwSignal<Option<String>>,
    queue: StoredValue<Option<Queue>, LocalStorage>,
    /// Records runs and keeps the form, when the app provides a history.
    pub history: Option<crate::history::History>,
    /// Where the edit may change the image (src/mask.rs).
    pub area: crate::mask::Area,
    /// The connection results are fetched through, to lay them into their sources.
    network: StoredValue<Option<Network>, LocalStorage>,
}

impl EditorState {
    pub fn new(config: &Config) -> Self {
        Self {
            source: RwSignal::new_local(None),
            batch: RwSignal::new_local(Vec::new()),
            params: RwSignal::new(config.defaults.clone()),
            seed_locked: RwSignal::new(false),
            variations: RwSignal::new("1".into()),
            phase: RwSignal::new_local(Phase::Idle),
            result: RwSignal::new_local(None),
            record: RwSignal::new(None),
            jobs: RwSignal::new_local(Vec::new()),
            resumable: RwSignal::new_local(None),
            shown: RwSignal::new(None),
            current: RwSignal::new(None),
            queue: StoredValue::new_local(None),
            history: None,
            area: crate::mask::Area::new(),
            network: StoredValue::new_local(None),
        }
    }

    /// The parts of the state the person chose.
    pub fn form(&self) -> FormState {
        FormState {
            source: self.source,
            params: self.params,
            seed_locked: self.seed_locked,
            phase: self.phase,
            area: self.area,
        }
    }

    /// The events of this editor's runs, for a host to hear.
    pub fn events(&self) -> Option<crate::run::Events> {
        self.queue
            .with_value(|q| q.as_ref().map(|q| q.runner().events().clone()))
    }

    /// Replaces the source image, releasing the old preview; a single image ends a batch.
    pub fn set_source(&self, source: Source) {
        self.set_batch(Vec::new());
        self.form().set_source(source);
    }

    /// Several images, one edit each; the first becomes the source shown.
    pub fn set_sources(&self, mut sources: Vec<Source>) {
        if sources.is_empty() {
            return;
        }
        let first = sources.remove(0);
        let kept = first.clone();
        self.form().set_source(first);
        sources.insert(0, kept);
        self.set_batch(if sources.len() > 1 {
            sources
        } else {
            Vec::new()
        });
    }

    fn set_batch(&self, sources: Vec<Source>) {
        let shown = self
            .source
            .with_untracked(|s| s.as_ref().map(|s| s.preview_url.clone()));
        let old = self
            .batch
            .try_update(|batch| std::mem::replace(batch, sources));
        // The source shown is released when it is replaced, not here.
        for source in old.into_iter().flatten() {
            if Some(&source.preview_url) != shown.as_ref() {
                source.release();
            }
        }
    }

    /// Stops the job shown. An edit already sent goes on at the provider: its record is
    /// kept, so "Check again" can still fetch it.
    pub fn cancel(&self) {
        let (Some(id), Some(queue)) = (self.shown.get_untracked(), self.queue.get_value()) else {
            return;
        };
        if self.phase.get_untracked().is_busy() {
            queue.cancel(&id);
        }
    }

    /// Cancels one job of the sheet.
    pub fn cancel_job(&self, id: &str) {
        if let Some(queue) = self.queue.get_value() {
            queue.cancel(id);
        }
    }

    /// Cancels every queued job and stops waiting for the others.
    pub fn cancel_all(&self) {
        if let Some(queue) = self.queue.get_value() {
            queue.cancel_all();
        }
    }

    /// Makes a finished job's result the current one.
    pub fn pick(&self, id: &str) {
        let result = self.jobs.with_untracked(|jobs| {
            jobs.iter()
                .find(|j| j.id == id)
                .and_then(|j| j.result.clone())
        });
        if let Some(result) = result {
            self.current.set(Some(id.to_owned()));
            self.result.set(Some(result));
        }
    }

    /// Shows what runs tell: every job on the sheet, the shown one in the run bar.
    fn show(&self, id: &str, event: &RunEvent) {
        self.jobs.update(|jobs| match event {
            RunEvent::Queued {
                source,
                params,
                place,
                ..
            } => {
                let seed = params.seed.map(|s| s as u32);
                // Newest press first; within a press, in order: after its last job so far.
                let at = jobs
                    .iter()
                    .rposition(|j| j.place.as_ref().is_some_and(|p| p.batch == place.batch))
                    .map_or(0, |last| last + 1);
                jobs.insert(at, Job::queued(id, source, seed, place, now_ms()));
            }
            _ => {
                if let Some(job) = jobs.iter_mut().find(|j| j.id == id) {
                    job.apply(event);
                }
            }
        });
        if let RunEvent::Shown(result) = event {
            self.lay_in(id, result);
        }
        if self.shown.get_untracked().as_deref() != Some(id) {
            if let RunEvent::Shown(result) = event
                && self.current.with_untracked(Option::is_none)
            {
                self.current.set(Some(id.to_owned()));
                self.result.set(Some(result.clone()));
            }
            return;
        }
        match event {
            RunEvent::Queued { .. } => self.phase.set(Phase::Queued),
            RunEvent::Phase(phase) => self.phase.set(phase.clone()),
            RunEvent::Submitted(resume) => {
                self.record.set(Some(resume.record.to_string()));
                self.resumable.set(Some((id.to_owned(), resume.clone())));
            }
            RunEvent::Shown(result) => {
                self.current.set(Some(id.to_owned()));
                self.result.set(Some(result.clone()));
                self.phase.set(Phase::Done);
            }
            RunEvent::Failed(failure) => self.phase.set(Phase::Failed(failure.clone())),
            RunEvent::Cancelled { after_send } => self.phase.set(Phase::Cancelled {
                after_send: *after_send,
            }),
            RunEvent::Started { .. }
            | RunEvent::Prepared(_)
            | RunEvent::Uploaded(_)
            | RunEvent::Succeeded { .. } => {}
        }
    }

    /// Lays a job's result into its own source when its press had an area, for its tile,
    /// Show this result and Download all. The result about to be shown is laid in by the
    /// result panel itself, with the feather as it stands.
    fn lay_in(&self, id: &str, result: &RunResult) {
        let becomes_current = self.shown.get_untracked().as_deref() == Some(id)
            || self.current.with_untracked(Option::is_none);
        if becomes_current {
            return;
        }
        let area = self.area;
        let network = self.network.get_value();
        let result = result.clone();
        spawn_local(async move {
            // A failure leaves the tile on the model's result; the panel says why if shown.
            let _ = lay_in_part(area, result, network).await;
        });
    }

    /// Adds the edits of one press to the queue: every image of the batch (or the source),
    /// each in as many variations as asked, with distinct seeds. Never retries an edit.
    pub fn run(&self, connection: Connection, max_pixels: u64, max_variations: u64) {
        let (Some(source), Some(queue)) = (self.source.get_untracked(), self.queue.get_value())
        else {
            return;
        };
        let Ok(variations) = variations_from(&self.variations.get_untracked(), max_variations)
        else {
            return;
        };
        let locked = self.seed_locked.get_untracked();
        if !locked {
            self.params.update(|p| p.seed = Some(random_seed()));
        }
        let params = self.params.get_untracked();
        // Checked before anything is sent, so a bad value costs no upload.
        if let Err(problems) = params_for(Some(&source), &params).validate() {
            self.phase.set(Phase::Failed(Failure::invalid(&problems)));
            return;
        }
        let source_shown = source.clone();
        let sources = self.batch.with_untracked(|batch| {
            if batch.len() > 1 {
                batch.clone()
            } else {
                vec![source]
            }
        });
        let first_seed = params.seed.map_or(0, |s| s as u32);
        let seeds = crate::run::queue::seeds(first_seed, variations as usize, locked, || {
            random_seed() as u32
        });
        let batch = crate::run::new_run_id();
        let of = sources.len() * seeds.len();
        let mut jobs = Vec::with_capacity(of);
        for source in &sources {
            for seed in &seeds {
                let index = jobs.len();
                jobs.push(JobSpec {
                    source: source.clone(),
                    params: EditParams {
                        seed: Some(f64::from(*seed)),
                        ..params.clone()
                    },
                    place: Place {
                        batch: batch.clone(),
                        index,
                        of,
                    },
                });
            }
        }
        self.record.set(None);
        self.resumable.set(None);
        self.shown.set(None);
        let sources: Vec<Source> = jobs.iter().map(|job| job.source.clone()).collect();
        let ids = queue.push(jobs, connection, max_pixels);
        // The area painted applies to the jobs of this press, each laid into its own image.
        let started: Vec<(String, Source)> = ids.iter().cloned().zip(sources).collect();
        self.area
            .run_started(&source_shown, &started, &params, self.history);
        // The first job's own events come in later tasks; one that waits says so now.
        if ids.first().is_some_and(|id| queue.is_waiting(id)) {
            self.phase.set(Phase::Queued);
        }
        self.shown.set(ids.first().cloned());
    }

    /// Follows `id`'s record again and shows it. `connection` is asked before each poll.
    fn follow(
        &self,
        id: String,
        resume: Resume,
        place: Option<Place>,
        connection: Rc<dyn Fn() -> Connection>,
    ) {
        let Some(queue) = self.queue.get_value() else {
            return;
        };
        // A run shown before goes on; the sheet and the history keep its outcome.
        self.record.set(Some(resume.record.to_string()));
        self.resumable.set(Some((id.clone(), resume.clone())));
        self.jobs.update(|jobs| {
            jobs.retain(|j| j.id != id);
            jobs.insert(0, Job::followed(&id, &resume, place));
        });
        self.shown.set(Some(id.clone()));
        let run = queue.runner().resume(id, resume, connection);
        queue.adopt(run);
    }

    /// "Check again": follows the record of the run shown, cancelled after it was sent.
    pub fn check_again(&self, connection: Rc<dyn Fn() -> Connection>) {
        if self.phase.get_untracked().is_busy() {
            return;
        }
        if let Some((id, resume)) = self.resumable.get_untracked() {
            let place = self.jobs.with_untracked(|jobs| {
                jobs.iter()
                    .find(|j| j.id == id)
                    .and_then(|j| j.place.clone())
            });
            self.follow(id, resume, place, connection);
        }
    }

    /// Puts back in the queue a job that waited when the page closed.
    fn requeue(&self, id: String, spec: JobSpec, connection: Connection, max_pixels: u64) {
        if let Some(queue) = self.queue.get_value() {
            queue.restore(id, spec, connection, max_pixels);
        }
    }
}

/// A kept run whose edit the provider was working on, ready to follow again.
fn resumable(run: &RunRecord, before_url: String) -> Option<Resume> {
    Some(Resume {
        record: RecordId::parse(run.record.as_deref()?).ok()?,
        submitted_ms: run.submitted_at.unwrap_or(run.started_at),
        request: run.params.validate().ok()?,
        before_url,
    })
}

/// Where a kept run's requests go: its own endpoint and mode (never the key, which the
/// history does not keep), with the key the person has entered now.
fn kept_connection(endpoint: &str, mode: &str, settings: Settings) -> Connection {
    Connection {
        endpoint: endpoint.to_owned(),
        mode: if mode == "direct" {
            Mode::Direct
        } else {
            Mode::Proxy
        },
        key: settings.connection().key,
        request_id: None,
    }
}

#[component]
fn PhaseLine(phase: RwSignal<Phase, LocalStorage>) -> impl IntoView {
    // Ticks once a second while editing, so the elapsed time moves.
    let now = RwSignal::new(now_ms());
    let ticking = StoredValue::new_local(None::<IntervalHandle>);
    Effect::new(move |_| {
        let editing = matches!(phase.get(), Phase::Editing { .. });
        if let Some(handle) = ticking.get_value() {
            handle.clear();
            ticking.set_value(None);
        }
        if editing {
            now.set(now_ms());
            if let Ok(handle) = set_interval_with_handle(
                move || now.set(now_ms()),
                std::time::Duration::from_millis(1000),
            ) {
                ticking.set_value(Some(handle));
            }
        }
    });
    on_cleanup(move || {
        if let Some(handle) = ticking.get_value() {
            handle.clear();
        }
    });
    let text = move || phase.with(|p| p.describe(now.get()));
    view! {
        <p class="phase" role="status" aria-live="polite" data-testid="phase">
            {text}
        </p>
    }
}

#[component]
fn FailureView(failure: Failure) -> impl IntoView {
    view! {
        <div class="run-error" role="alert" data-testid="run-error" data-kind=failure.kind>
            <p class="run-error-message">{failure.message}</p>
            <p class="run-error-next">{failure.next_step}</p>
            {failure
                .provider_words
                .map(|words| {
                    view! {
                        <p class="run-error-provider">
                            "The provider said: " <q data-testid="provider-words">{words}</q>
                        </p>
                    }
                })}
            {failure
                .may_have_billed
                .then(|| {
                    view! {
                        <p class="run-error-billing">
                            "The edit may still have been billed. Retrying may cost credits again."
                        </p>
                    }
                })}
        </div>
    }
}

/// What a page embedding the editor reaches it through (see `crate::embed`).
#[derive(Clone, Copy)]
pub struct Wiring {
    pub state: EditorState,
    pub settings: Settings,
    /// The configuration in force; a host may change it while the editor runs.
    pub config: RwSignal<Config, LocalStorage>,
    /// The editor's outermost element, to tell its own events from the host page's.
    pub root: NodeRef<leptos::html::Div>,
}

impl Wiring {
    /// Applies a new configuration: endpoint, mode, locks and limits at once; new
    /// parameter defaults replace the form's values, keeping a prompt the defaults lack.
    pub fn apply_config(&self, config: Config) {
        let Some(previous) = self.config.try_get_untracked() else {
            return;
        };
        self.settings.apply_config(&previous, &config);
        if config.defaults != previous.defaults {
            let mut params = config.defaults.clone();
            if params.prompt.is_empty() {
                params.prompt = self.state.params.get_untracked().prompt;
            }
            self.state.params.set(params);
        }
        self.config.set(config);
    }
}

/// Whether a window event concerns this editor: the editor owns the page, or the event
/// happened inside it (shadow roots included: the composed path crosses them).
fn is_ours(event: &web_sys::Event, root: Option<&web_sys::HtmlDivElement>, page: bool) -> bool {
    page || root.is_some_and(|root| event.composed_path().includes(root, 0))
}

#[component]
pub fn Editor(
    config: Config,
    /// The browser's network unless given another (tests give a fake).
    #[prop(into)]
    transport: Net,
    /// The editor owns the page: it answers keys pressed anywhere and keeps files dropped
    /// beside the drop zone from replacing the page. Embedded editors answer only events
    /// inside themselves.
    #[prop(optional)]
    page: bool,
    /// An embedded editor's element id: its edits at the provider are kept under the host
    /// page and this id, and followed again after a reload.
    #[prop(optional_no_strip)]
    in_flight: Option<String>,
    /// Called once the editor exists, with the handles an embedding page uses.
    #[prop(optional_no_strip)]
    on_ready: Option<UnsyncCallback<Wiring>>,
) -> impl IntoView {
    let settings = Settings::new(&config);
    // Queued first: the saved settings are in place before any other task of the start.
    if IN_PAGE {
        set_timeout(move || settings.restore(), std::time::Duration::ZERO);
    }
    let mut state = EditorState::new(&config);
    state.history = use_context::<crate::history::History>();
    // A page that owns its tab stops asking about its edits while hidden; an embedded
    // editor's host may be waiting for the result.
    let runner = Runner::new(transport.clone(), page);
    runner
        .events()
        .subscribe(Rc::new(move |id: &str, event: &RunEvent| {
            state.show(id, event)
        }));
    let queue = Queue::new(runner.clone(), config.max_in_flight as usize);
    state.queue.set_value(Some(queue));
    let limits = (config.max_source_bytes, config.max_upload_pixels);
    provide_context(state.area);
    if let Some(history) = state.history.filter(|_| IN_PAGE) {
        history.keep_runs(runner.events(), transport.clone());
        // After this render: the form is on screen before the history's part loads, and
        // the history keeps the form from then on.
        let form = crate::history::KeptForm::new(state.form(), &config);
        let resume: crate::history::Resumer = Rc::new(move |runs: Vec<RunRecord>| {
            spawn_local(async move {
                let mut followed = Vec::with_capacity(runs.len());
                let mut waiting = Vec::new();
                for run in runs {
                    if run.outcome == Outcome::Queued {
                        if let Some(source) = queued_source(history, &run, limits).await {
                            waiting.push((run, source));
                        }
                    } else {
                        let before_url = history.before_url(&run).await;
                        followed.push((run, before_url));
                    }
                }
                // Those at the provider count first against the queue's limit.
                resume_runs(state, settings, followed);
                requeue_runs(state, settings, waiting, limits.1);
            });
        });
        // A browser that has kept a history opens it at once: it restores the form and
        // follows the edits still at the provider. A first visit opens it at first use.
        if !page || crate::history::kept_here() {
            set_timeout(
                move || history.start(form, resume),
                std::time::Duration::ZERO,
            );
        } else {
            spawn_local(async move {
                crate::page::first_use().await;
                history.start(form, resume);
            });
        }
    } else if let Some(id) = in_flight.filter(|_| !page && IN_PAGE) {
        // An embedded editor keeps no history, but its edits at the provider are kept and
        // followed again after the host page reloads.
        let resume = Rc::new(move |runs| resume_runs(state, settings, runs));
        let prefix = crate::history::inflight::host_key(&id);
        let events = runner.events().clone();
        set_timeout(
            move || crate::history::inflight::keep(&events, prefix, resume),
            std::time::Duration::ZERO,
        );
    }
    // Also after this render: the parts that take an image in and run the edit load while
    // the person picks an image and fills in the form. A failed fetch is not lost: the
    // loader tries again when the code is called, and the caller reports it then.
    // index.html's editor loads them at the person's first sign of use (src/page.rs), and
    // so do the result, code view and settings below: a first visit that only looks
    // fetches the form alone.
    let later = move || async move {
        if page {
            crate::page::first_use().await;
        }
    };
    if IN_PAGE {
        set_timeout(
            move || {
                spawn_local(async move {
                    later().await;
                    _ = crate::prepare::preload().await;
                });
                spawn_local(async move {
                    later().await;
                    crate::run::preload().await;
                });
            },
            std::time::Duration::ZERO,
        );
        // Something to show (an image, or a run the history follows again) needs them now.
        Effect::new(move |_| {
            if state.source.with(Option::is_some)
                || state.result.with(Option::is_some)
                || state.jobs.with(|jobs| !jobs.is_empty())
                || state.phase.with(Phase::is_busy)
            {
                crate::page::mark_used();
            }
        });
    }
    let connection = Signal::derive(move || settings.connection());
    let network = Network::new(transport.clone(), connection);
    state.network.set_value(Some(network.clone()));
    provide_context(network);
    let config = RwSignal::new_local(config);
    let root = NodeRef::<leptos::html::Div>::new();
    let max_pixels = Signal::derive(move || config.with(|c| c.max_upload_pixels));
    let max_source_bytes = Signal::derive(move || config.with(|c| c.max_source_bytes));

    // Memos: validated once per change of the image or a parameter, however many
    // controls, problem lines and reasons read the outcome.
    let problems = Memo::new(move |_| {
        let source = state.source.get();
        state
            .params
            .with(|p| params_for(source.as_ref(), p).validate().err())
    });
    let form_problems = Memo::new(move |_| {
        // The image has its own place in the intake; the form shows the rest.
        problems.get().map(|p| {
            Problems::new(
                p.into_iter()
                    .filter(|p| p.field != Field::ImageUrl)
                    .collect::<Vec<Problem>>(),
            )
        })
    });
    let max_variations = Signal::derive(move || config.with(|c| c.max_variations));
    let variations = Memo::new(move |_| {
        state
            .variations
            .with(|text| variations_from(text, max_variations.get()))
    });
    // How many edits (and so charges) one press starts.
    let edits_per_press = Signal::derive(move || {
        let images = state.batch.with(|b| b.len().max(1));
        images * variations.get().map_or(1, |n| n as usize)
    });
    let disabled = Signal::derive(move || {
        let has_source = state.source.with(Option::is_some);
        disabled_reason(
            has_source,
            problems.get().as_ref(),
            variations.get(),
            &connection.get(),
        )
    });
    // The queue follows the configuration a host may change while the editor runs.
    Effect::new(move |_| {
        let limit = config.with(|c| c.max_in_flight) as usize;
        if let Some(queue) = state.queue.get_value() {
            queue.set_limit(limit);
        }
    });

    let run = move || {
        settings.restore();
        if disabled.get_untracked().is_none() {
            state.run(
                connection.get_untracked(),
                max_pixels.get_untracked(),
                max_variations.get_untracked(),
            );
        }
    };

    let ours = move |event: &web_sys::Event| is_ours(event, root.get_untracked().as_ref(), page);
    let keys = IN_PAGE.then(|| {
        window_event_listener(ev::keydown, move |event| {
            if !ours(&event) {
                return;
            }
            if event.key() == "Enter" && (event.ctrl_key() || event.meta_key()) {
                event.prevent_default();
                run();
            } else if event.key() == "Escape" {
                state.cancel_all();
            }
        })
    });
    // A file dropped beside the drop zone would otherwise replace the page with itself.
    let drops = (page && IN_PAGE).then(|| {
        let guard = |event: ev::DragEvent| {
            if event
                .data_transfer()
                .is_some_and(|d| d.types().includes(&"Files".into(), 0))
            {
                event.prevent_default();
            }
        };
        (
            window_event_listener(ev::dragover, guard),
            window_event_listener(ev::drop, guard),
        )
    });
    on_cleanup(move || {
        if let Some(keys) = keys {
            keys.remove();
        }
        if let Some((over, drop)) = drops {
            over.remove();
            drop.remove();
        }
    });

    let code_request = Signal::derive(move || {
        let source = state.source.get();
        state
            .params
            .with(|p| params_for(source.as_ref(), p).validate().ok())
    });
    if let Some(on_ready) = on_ready {
        on_ready.run(Wiring {
            state,
            settings,
            config,
            root,
        });
    }

    let code_endpoint = Signal::derive(move || {
        let endpoint = settings.endpoint.get();
        if endpoint.is_empty() {
            web_sys::window()
                .and_then(|w| w.location().origin().ok())
                .unwrap_or_default()
        } else {
            endpoint
        }
    });
    let code_mode = Signal::derive(move || settings.mode.get());

    let retry = Callback::new(move |()| run());
    // The result, the code view, the history and the settings load after the form
    // (src/split.rs).
    let output = OutputArgs {
        state,
        retry,
        edits_per_press,
        code_request,
        code_endpoint,
        code_mode,
    };
    let output = IN_PAGE.then(|| {
        Suspend::new(async move {
            later().await;
            crate::split::next_task().await;
            output_pane(output).await.unwrap_or_else(part_missing)
        })
    });
    let settings_panel = IN_PAGE.then(|| {
        Suspend::new(async move {
            later().await;
            crate::split::next_task().await;
            settings_pane(settings).await.unwrap_or_else(part_missing)
        })
    });

    // index.html's editor renders in three tasks (see `Takeover`): the shell and the result
    // side, then the intake, then the form below it, which completes the editor. Elsewhere
    // the editor renders whole at once.
    let takeover = use_context::<crate::page::Takeover>();
    let upper = move || {
        view! {
            <crate::intake::Intake
                source=state.source
                max_source_bytes=max_source_bytes
                max_upload_pixels=max_pixels
                on_source=Callback::new(move |source| state.set_source(source))
                on_sources=Callback::new(move |sources| state.set_sources(sources))
                batch=state.batch
                pastes=Callback::new(move |event: web_sys::Event| ours(&event))
                on_recipe=Callback::new(move |params: EditParams| {
                    // A recipe's seed is what made the image: kept, not re-rolled.
                    state.seed_locked.set(params.seed.is_some());
                    state.params.set(params);
                })
            />
            {crate::mask::area_pane(state.area, state.source, state.params)}
        }
    };
    let upper = piece(takeover, 1, false, upper);
    let lower = move || {
        view! {
            <crate::recipes::Recipes
                shipped=Signal::derive(move || config.with(|c| c.recipes.clone()))
                own=Signal::derive(move || {
                    state.history.map(|h| h.recipes.get()).unwrap_or_default()
                })
                keeping=state.history.map(|history| crate::recipes::Keeping {
                    save: Callback::new(move |(recipe, replacing)| {
                        history.save_recipe(recipe, replacing)
                    }),
                    delete: Callback::new(move |name| history.delete_recipe(name)),
                })
                params=state.params
                seed_locked=state.seed_locked
            />
            <ParamsForm params=state.params problems=Signal::from(form_problems) seed_locked=state.seed_locked/>
            <div class="field field-variations">
                <label for="variations">"Variations"</label>
                <input
                    id="variations"
                    type="number"
                    inputmode="numeric"
                    min="1"
                    max=move || max_variations.get().to_string()
                    step="1"
                    data-testid="variations"
                    aria-describedby="variations-hint"
                    aria-invalid=move || variations.get().is_err().to_string()
                    value=state.variations.get_untracked()
                    prop:value=move || state.variations.get()
                    on:input=move |ev| state.variations.set(event_target_value(&ev))
                />
                <p class="field-hint" id="variations-hint" data-testid="variations-hint">
                    {move || match variations.get() {
                        Ok(_) => format!(
                            "Edits of the same image and prompt, each with its own seed (1–{}).",
                            max_variations.get()
                        ),
                        Err(problem) => problem,
                    }}
                </p>
            </div>
            <div class="run-bar">
                <button
                    type="button"
                    class="run"
                    data-testid="run"
                    aria-describedby="run-disabled-reason"
                    disabled=move || disabled.get().is_some()
                    on:click=move |_| run()
                >
                    {move || match edits_per_press.get() {
                        1 => "Edit image".to_owned(),
                        n => format!("Edit image ({n} edits)"),
                    }}
                </button>
                <button
                    type="button"
                    class="cancel"
                    data-testid="cancel"
                    disabled=move || !state.phase.with(Phase::is_busy)
                    on:click=move |_| state.cancel()
                >
                    "Cancel"
                </button>
                <p class="run-hint" id="run-disabled-reason" data-testid="run-disabled-reason">
                    {move || {
                        disabled
                            .get()
                            .unwrap_or_else(|| match edits_per_press.get() {
                                1 => "Ctrl+Enter runs, Esc cancels.".into(),
                                n => format!(
                                    "Starts {n} edits, each charged. Ctrl+Enter runs, Esc cancels all."
                                ),
                            })
                    }}
                </p>
            </div>
            <PhaseLine phase=state.phase/>
            {move || {
                let cancelled_after_send = state
                    .phase
                    .with(|p| matches!(p, Phase::Cancelled { after_send: true }));
                (cancelled_after_send && state.resumable.with(Option::is_some))
                    .then(|| {
                        view! {
                            <p class="check-again">
                                "The provider may still finish this edit. "
                                <button
                                    type="button"
                                    data-testid="check-again"
                                    on:click=move |_| {
                                        state.check_again(Rc::new(move || settings.connection()))
                                    }
                                >
                                    "Check again"
                                </button>
                            </p>
                        }
                    })
            }}
            {move || state.phase.with(|p| match p {
                Phase::Failed(failure) => Some(view! { <FailureView failure=failure.clone()/> }),
                _ => None,
            })}
            {settings_panel}
        }
    };
    let lower = piece(takeover, 2, true, lower);

    view! {
        <div class="editor-grid" node_ref=root>
            <section class="pane pane-input" aria-label="Image and parameters">
                {upper}
                {lower}
            </section>
            <section class="pane pane-output" aria-label="Result">
                {move || state.result.with(Option::is_none).then(|| view! {
                    <p class="result-placeholder" data-testid="result-placeholder">
                        "The edited image appears here."
                    </p>
                })}
                {output}
            </section>
        </div>
    }
}

/// A piece of index.html's editor: rendered `turn` tasks after the editor's first when it
/// renders in pieces (`takeover`), the piece that `completes` it handing it over; rendered
/// at once elsewhere.
fn piece<V>(
    takeover: Option<crate::page::Takeover>,
    turn: u32,
    completes: bool,
    view: impl FnOnce() -> V + Send + 'static,
) -> leptos::either::Either<Suspend<V>, V>
where
    V: IntoView + Send + 'static,
{
    match takeover {
        Some(takeover) => leptos::either::Either::Left(Suspend::new(async move {
            for _ in 0..turn {
                crate::split::next_task().await;
            }
            if completes {
                takeover.done();
            }
            view()
        })),
        None => leptos::either::Either::Right(view()),
    }
}

/// Follows again the runs the provider was still working on when the page last closed,
/// each with the address of the image it started from; the newest is shown. A direct-mode
/// key is asked for before each poll, so one entered after a reload is used.
fn resume_runs(state: EditorState, settings: Settings, mut runs: Vec<(RunRecord, String)>) {
    runs.retain(|(run, _)| run.outcome == Outcome::Submitted);
    runs.sort_by(|a, b| a.0.started_at.total_cmp(&b.0.started_at));
    for (run, before_url) in runs {
        let Some(resume) = resumable(&run, before_url) else {
            continue;
        };
        let (endpoint, mode) = (run.endpoint.clone(), run.mode.clone());
        let connection: Rc<dyn Fn() -> Connection> =
            Rc::new(move || kept_connection(&endpoint, &mode, settings));
        state.follow(run.id, resume, run.place, connection);
    }
}

/// The image a job that waited when the page closed will edit: its kept bytes, its address
/// or the earlier result it edits.
async fn queued_source(
    history: crate::history::History,
    run: &RunRecord,
    (max_source_bytes, max_upload_pixels): (u64, u64),
) -> Option<Source> {
    use flexedit_api::history::{Slot, SourceKind};
    let name = run.source.name.clone();
    match run.source.kind {
        SourceKind::File => {
            let blob = history.image(&run.id, Slot::Source).await?;
            crate::intake::source_from_blob(blob, name, max_source_bytes, max_upload_pixels)
                .await
                .ok()
        }
        SourceKind::Url => {
            let url = run.source.url.clone()?;
            Some(Source {
                name,
                origin: Origin::Url(url.clone()),
                preview_url: url,
                size: None,
                dimensions: None,
                recipe: None,
            })
        }
        SourceKind::Result => Some(Source {
            name,
            origin: Origin::Asset {
                path: run.source.asset_path.clone()?,
            },
            preview_url: String::new(),
            size: None,
            dimensions: None,
            recipe: None,
        }),
    }
}

/// Puts the jobs that waited when the page closed back in the queue, in their order.
fn requeue_runs(
    state: EditorState,
    settings: Settings,
    mut runs: Vec<(RunRecord, Source)>,
    max_pixels: u64,
) {
    runs.sort_by(|a, b| {
        a.0.started_at.total_cmp(&b.0.started_at).then(
            a.0.place
                .as_ref()
                .map(|p| p.index)
                .cmp(&b.0.place.as_ref().map(|p| p.index)),
        )
    });
    for (run, source) in runs {
        let Some(place) = run.place.clone() else {
            continue;
        };
        let connection = kept_connection(&run.endpoint, &run.mode, settings);
        let spec = JobSpec {
            source,
            params: run.params.clone(),
            place,
        };
        state.requeue(run.id, spec, connection, max_pixels);
    }
}

/// Where a part of the editor would be, when it could not be loaded.
fn part_missing(missing: crate::split::PartMissing) -> AnyView {
    view! { <p class="notice" role="alert" data-testid="part-missing">{missing.to_string()}</p> }
        .into_any()
}

crate::split::part! {
    output:
    /// A job's composite is made with the result panel's code, which the page has loaded by
    /// the time a job has a result to show.
    async fn lay_in_part(area: crate::mask::Area, result: RunResult, network: Option<Network>) -> () {
        let _ = crate::composite::lay_in(area, &result, network.as_ref()).await;
    }
}

crate::split::part! {
    output:
    /// The settings, closed until opened: they load with the result side.
    fn settings_pane(settings: Settings) -> AnyView {
        view! { <SettingsPanel settings/> }.into_any()
    }
}

/// The name the source's upload is sent under, when it is uploaded (a file is; an image
/// address or a previous result is not).
fn upload_name(source: &Source) -> Option<String> {
    let Origin::File { mime, .. } = &source.origin else {
        return None;
    };
    let format = if mime == "image/png" {
        flexedit_api::OutputFormat::Png
    } else {
        flexedit_api::OutputFormat::Jpg
    };
    Some(flexedit_api::upload_file_name(&source.name, format))
}

/// What the result side of the editor is drawn from.
pub struct OutputArgs {
    state: EditorState,
    retry: Callback<()>,
    edits_per_press: Signal<usize>,
    code_request: Signal<Option<EditRequest>>,
    code_endpoint: Signal<String>,
    code_mode: Signal<Mode>,
}

crate::split::part! {
    output:
    /// The result with its comparison and actions, the requests as code, and the history.
    fn output_pane(args: OutputArgs) -> AnyView {
        let OutputArgs {
            state,
            retry,
            edits_per_press,
            code_request,
            code_endpoint,
            code_mode,
        } = args;
        let download_status = RwSignal::new(None::<String>);
        let network = use_context::<Network>();
        // Ticks once a second while jobs run, so their times move.
        let now = RwSignal::new(now_ms());
        if let Ok(ticking) = set_interval_with_handle(
            move || {
                if state.jobs.with_untracked(|jobs| jobs.iter().any(|j| j.phase.is_busy())) {
                    now.set(now_ms());
                }
            },
            std::time::Duration::from_millis(1000),
        ) {
            on_cleanup(move || ticking.clear());
        }
        let actions = crate::jobs::SheetActions {
            pick: Callback::new(move |id: String| state.pick(&id)),
            cancel: Callback::new(move |id: String| state.cancel_job(&id)),
            cancel_all: Callback::new(move |()| state.cancel_all()),
            download_all: Callback::new(move |()| {
                let jobs = state.jobs.get_untracked();
                let network = network.clone();
                download_status.set(Some("Fetching the results…".into()));
                spawn_local(async move {
                    let said = crate::jobs::download_all(jobs, network, Some(state.area)).await;
                    download_status.try_set(Some(said));
                });
            }),
        };
        view! {
        <crate::jobs::ContactSheet
            jobs=state.jobs
            current=state.current
            actions
            status=download_status
            now_ms=now
        />
        <crate::result::ResultView
            result=Signal::derive(move || state.result.get())
            on_edit_this=Callback::new(move |result: RunResult| {
                if state.area.edit_composite(&result, |source| state.set_source(source)) {
                    return;
                }
                if let Some(path) = result.asset_path.clone() {
                    state.set_source(Source {
                        name: "previous result".into(),
                        origin: Origin::Asset { path: path.into_string() },
                        preview_url: result.display_url.clone(),
                        size: None,
                        dimensions: result.dimensions,
                        recipe: None,
                    });
                }
            })
            on_reuse_seed=Callback::new(move |seed: u32| {
                state.params.update(|p| p.seed = Some(f64::from(seed)));
                state.seed_locked.set(true);
            })
            on_retry=retry
        />
        <crate::code_view::CodeView
            edits=edits_per_press
            request=code_request
            upload_file_name=Signal::derive(move || state.source.with(|s| s.as_ref().and_then(upload_name)))
            endpoint=code_endpoint
            mode=code_mode
        />
        {state.history.map(|history| view! { <crate::history::HistoryPanel history state=state.form()/> })}
        }
        .into_any()
    }
}
