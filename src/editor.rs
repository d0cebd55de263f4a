//! The editor: intake, form, run bar, result and code view, and the run of one edit.

use std::rc::Rc;

use flexedit_api::{
    ApiError, EditOutcome, EditParams, EditRequest, Field, Mode, Problem, Problems, Stage,
};
use leptos::callback::UnsyncCallback;
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::config::Config;
use crate::form::{ParamsForm, random_seed};
use crate::run::{Failure, Phase, RunResult};
use crate::settings::{Settings, SettingsPanel};
use crate::source::{Origin, Source};
use crate::transport::{Cancel, Connection, Net, Network, Transport, Upload};

/// The asset path is known only after the upload; validation stands this in for it.
const PENDING_UPLOAD: &str = "images/pending-upload.png";

/// Upload attempts before giving up; an upload sends nothing billable.
const UPLOAD_ATTEMPTS: u32 = 3;

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_default()
}

/// The form's parameters with the image reference the request will carry.
fn params_for(source: Option<&Source>, params: &EditParams) -> EditParams {
    let image_url = match source.map(|s| &s.origin) {
        None => String::new(),
        Some(Origin::File { .. }) => PENDING_UPLOAD.to_owned(),
        Some(Origin::Url(url)) => url.clone(),
        Some(Origin::Asset { path }) => path.clone(),
    };
    EditParams {
        image_url,
        ..params.clone()
    }
}

/// Why the run button is disabled, in words; `None` when it is enabled.
fn disabled_reason(
    phase: &Phase,
    has_source: bool,
    problems: Option<&Problems>,
    connection: &Connection,
) -> Option<String> {
    if phase.is_busy() {
        return Some("An edit is running. Press Esc or Cancel to stop it.".into());
    }
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
    if connection.mode == flexedit_api::Mode::Direct && connection.key_header().is_none() {
        return Some("Enter your API key in Settings, or switch to proxy mode.".into());
    }
    None
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

/// The whole state of one editor, passed to children as the pieces they need.
#[derive(Clone, Copy)]
pub struct EditorState {
    pub source: RwSignal<Option<Source>, LocalStorage>,
    pub params: RwSignal<EditParams>,
    pub seed_locked: RwSignal<bool>,
    pub phase: RwSignal<Phase, LocalStorage>,
    pub result: RwSignal<Option<RunResult>, LocalStorage>,
    cancel: StoredValue<Option<Cancel>, LocalStorage>,
    /// Records runs and keeps the form, when the app provides a history.
    pub history: Option<crate::history::History>,
    /// Where the edit may change the image (src/mask.rs).
    pub area: crate::mask::Area,
}

impl EditorState {
    pub fn new(config: &Config) -> Self {
        Self {
            source: RwSignal::new_local(None),
            params: RwSignal::new(config.defaults.clone()),
            seed_locked: RwSignal::new(false),
            phase: RwSignal::new_local(Phase::Idle),
            result: RwSignal::new_local(None),
            cancel: StoredValue::new_local(None),
            history: None,
            area: crate::mask::Area::new(),
        }
    }

    /// Replaces the source image, releasing the old preview.
    pub fn set_source(&self, source: Source) {
        crate::intake::replace_source(self.source, source);
        if !self.phase.get_untracked().is_busy() {
            self.phase.set(Phase::Idle);
        }
    }

    pub fn cancel(&self) {
        let phase = self.phase.get_untracked();
        if !phase.is_busy() {
            return;
        }
        if let Some(cancel) = self.cancel.get_value() {
            cancel.cancel();
        }
        let after_send = matches!(phase, Phase::Editing { .. } | Phase::LoadingResult);
        self.phase.set(Phase::Cancelled { after_send });
        if let Some(history) = self.history {
            history.run_cancelled(after_send);
        }
    }

    /// Starts an edit with the current source and parameters. Never retries an edit.
    pub fn run(&self, transport: Net, connection: Connection, max_pixels: u64) {
        if self.phase.get_untracked().is_busy() {
            return;
        }
        let Some(source) = self.source.get_untracked() else {
            return;
        };
        if !self.seed_locked.get_untracked() {
            self.params.update(|p| p.seed = Some(random_seed()));
        }
        let params = self.params.get_untracked();
        // Checked before anything is sent, so a bad value costs no upload.
        if let Err(problems) = params_for(Some(&source), &params).validate() {
            self.phase.set(Phase::Failed(Failure::invalid(&problems)));
            return;
        }
        let cancel = Cancel::new();
        self.cancel.set_value(Some(cancel.clone()));
        let job = RunJob {
            state: *self,
            transport,
            connection,
            source,
            params,
            max_pixels,
            cancel: cancel.clone(),
            started: now_ms(),
        };
        let state = *self;
        spawn_local(async move {
            if let Err(missing) = run_job(job).await {
                if cancel.is_cancelled() {
                    return;
                }
                let failure = Failure::part_missing(missing);
                if let Some(history) = state.history {
                    history.run_failed(&failure);
                }
                state.phase.set(Phase::Failed(failure));
            }
        });
    }

    async fn execute(
        &self,
        transport: &dyn Transport,
        connection: &Connection,
        source: &Source,
        mut params: EditParams,
        max_pixels: u64,
        cancel: &Cancel,
    ) -> Result<RunResult, Failure> {
        params.image_url = match &source.origin {
            Origin::File { file, prepared, .. } => {
                // Prepared when it was chosen, unless the upload limit changed since.
                let prepared = match prepared.as_ref().filter(|p| p.max_pixels == max_pixels) {
                    Some(prepared) => prepared.clone(),
                    None => {
                        self.phase.set(Phase::Preparing);
                        crate::prepare::prepare_measured(file, &source.name, max_pixels)
                            .await
                            .map_err(|e| Failure::prepare(&e))?
                    }
                };
                if let Some(history) = self.history {
                    history.run_prepared(&prepared.blob);
                }
                let upload = Upload {
                    blob: prepared.blob,
                    file_name: prepared.file_name,
                };
                let path = self.upload(transport, connection, upload, cancel).await?;
                if let Some(history) = self.history {
                    history.run_uploaded(&path);
                }
                path
            }
            Origin::Url(url) => url.clone(),
            Origin::Asset { path } => path.clone(),
        };
        let request = params.validate().map_err(|p| Failure::invalid(&p))?;
        if cancel.is_cancelled() {
            return Err(ApiError::Cancelled { stage: Stage::Edit }.into());
        }
        self.phase.set(Phase::Editing {
            started_ms: now_ms(),
        });
        match transport.edit(connection, request.to_json(), cancel).await {
            EditOutcome::Succeeded(edit) => Ok(RunResult {
                asset_path: edit.asset_path(),
                seed: request.prompt_object.seed,
                display_url: edit.display_url,
                request,
                dimensions: None,
                duration_ms: 0.0,
                credits: edit.credits,
                expires_at: edit.expires_at,
                before_url: source.preview_url.clone(),
            }),
            EditOutcome::Processing { .. } => Err(Failure::still_processing()),
            EditOutcome::Failed(error) => Err(error.into()),
        }
    }

    async fn upload(
        &self,
        transport: &dyn Transport,
        connection: &Connection,
        upload: Upload,
        cancel: &Cancel,
    ) -> Result<String, Failure> {
        let phase = self.phase;
        let mut attempt = 1;
        loop {
            phase.set(Phase::Uploading { percent: 0 });
            let progress = Rc::new(move |percent: u8| phase.set(Phase::Uploading { percent }));
            match transport
                .upload(connection, upload.clone(), progress, cancel)
                .await
            {
                Ok(path) => return Ok(path.into_string()),
                Err(error)
                    if attempt < UPLOAD_ATTEMPTS
                        && error.is_retryable()
                        && !cancel.is_cancelled() =>
                {
                    attempt += 1;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// One edit on its way, from preparation to the loaded result.
struct RunJob {
    state: EditorState,
    transport: Net,
    connection: Connection,
    source: Source,
    params: EditParams,
    max_pixels: u64,
    cancel: Cancel,
    /// `performance.now()` when the person started it; the time taken counts from here.
    started: f64,
}

crate::split::part! {
    run:
    /// The run's code loads with its part, fetched while the person fills in the form.
    async fn run_job(job: RunJob) -> () {
        job.go().await
    }
}

crate::split::part! {
    run:
    /// Fetches the run's part ahead of the first run; calling it does nothing else.
    fn preload_run() -> () {}
}

impl RunJob {
    async fn go(self) {
        let RunJob {
            state,
            transport,
            connection,
            source,
            params,
            max_pixels,
            cancel,
            started,
        } = self;
        // Recorded here, in the run's part, so the history's hooks load with it. A run
        // cancelled while the part loaded has nothing to record.
        if let Some(history) = state.history.filter(|_| !cancel.is_cancelled()) {
            history.run_started(&source, &params_for(Some(&source), &params), &connection);
        }
        state.area.run_started(&source, &params, state.history);
        let outcome = state
            .execute(
                &*transport.transport(),
                &connection,
                &source,
                params,
                max_pixels,
                &cancel,
            )
            .await;
        if cancel.is_cancelled() {
            return;
        }
        match outcome {
            Ok(mut result) => {
                if let Some(history) = state.history {
                    let took = now_ms() - started;
                    history.run_succeeded(&result, took, transport.clone(), connection.clone());
                }
                state.phase.set(Phase::LoadingResult);
                result.dimensions = load_image(&result.display_url).await;
                if cancel.is_cancelled() {
                    return;
                }
                result.duration_ms = now_ms() - started;
                state.result.set(Some(result));
                state.phase.set(Phase::Done);
            }
            Err(failure) => {
                if let Some(history) = state.history {
                    history.run_failed(&failure);
                }
                state.phase.set(Phase::Failed(failure))
            }
        }
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
    /// Called once the editor exists, with the handles an embedding page uses.
    #[prop(optional_no_strip)]
    on_ready: Option<UnsyncCallback<Wiring>>,
) -> impl IntoView {
    let settings = Settings::new(&config);
    // Queued first: the saved settings are in place before any other task of the start.
    set_timeout(move || settings.restore(), std::time::Duration::ZERO);
    let mut state = EditorState::new(&config);
    state.history = use_context::<crate::history::History>();
    provide_context(state.area);
    if let Some(history) = state.history {
        // After this render: the form is on screen before the history's part loads, and
        // the history keeps the form from then on.
        let form = crate::history::KeptForm::new(state, &config);
        set_timeout(move || history.start(form), std::time::Duration::ZERO);
    }
    // Also after this render: the parts that take an image in and run the edit load while
    // the person picks an image and fills in the form. A failed fetch is not lost: the
    // loader tries again when the code is called, and the caller reports it then.
    set_timeout(
        || {
            spawn_local(async { _ = crate::prepare::preload().await });
            spawn_local(async { _ = preload_run().await });
        },
        std::time::Duration::ZERO,
    );
    let connection = Signal::derive(move || settings.connection());
    provide_context(Network::new(transport.clone(), connection));
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
    let disabled = Signal::derive(move || {
        let has_source = state.source.with(Option::is_some);
        state.phase.with(|phase| {
            disabled_reason(
                phase,
                has_source,
                problems.get().as_ref(),
                &connection.get(),
            )
        })
    });

    // A Copy handle, so every callback can reach the transport without cloning it around.
    let transport = StoredValue::new_local(transport);
    let run = move || {
        settings.restore();
        if disabled.get_untracked().is_none() {
            state.run(
                transport.get_value(),
                connection.get_untracked(),
                max_pixels.get_untracked(),
            );
        }
    };

    let ours = move |event: &web_sys::Event| is_ours(event, root.get_untracked().as_ref(), page);
    let keys = window_event_listener(ev::keydown, move |event| {
        if !ours(&event) {
            return;
        }
        if event.key() == "Enter" && (event.ctrl_key() || event.meta_key()) {
            event.prevent_default();
            run();
        } else if event.key() == "Escape" {
            state.cancel();
        }
    });
    // A file dropped beside the drop zone would otherwise replace the page with itself.
    let drops = page.then(|| {
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
        keys.remove();
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
        code_request,
        code_endpoint,
        code_mode,
    };
    let output = Suspend::new(async move {
        crate::split::next_task().await;
        output_pane(output).await.unwrap_or_else(part_missing)
    });
    let settings_panel = Suspend::new(async move {
        crate::split::next_task().await;
        settings_pane(settings).await.unwrap_or_else(part_missing)
    });

    view! {
        <div class="editor-grid" node_ref=root>
            <section class="pane pane-input" aria-label="Image and parameters">
                <crate::intake::Intake
                    source=state.source
                    max_source_bytes=max_source_bytes
                    max_upload_pixels=max_pixels
                    on_source=Callback::new(move |source| state.set_source(source))
                    pastes=Callback::new(move |event: web_sys::Event| ours(&event))
                    on_recipe=Callback::new(move |params: EditParams| {
                        // A recipe's seed is what made the image: kept, not re-rolled.
                        state.seed_locked.set(params.seed.is_some());
                        state.params.set(params);
                    })
                />
                {crate::mask::area_pane(state.area, state.source, state.params)}
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
                <div class="run-bar">
                    <button
                        type="button"
                        class="run"
                        data-testid="run"
                        aria-describedby="run-disabled-reason"
                        disabled=move || disabled.get().is_some()
                        on:click=move |_| run()
                    >
                        "Edit image"
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
                        {move || disabled.get().unwrap_or_else(|| "Ctrl+Enter runs, Esc cancels.".into())}
                    </p>
                </div>
                <PhaseLine phase=state.phase/>
                {move || state.phase.with(|p| match p {
                    Phase::Failed(failure) => Some(view! { <FailureView failure=failure.clone()/> }),
                    _ => None,
                })}
                {settings_panel}
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

/// Where a part of the editor would be, when it could not be loaded.
fn part_missing(missing: crate::split::PartMissing) -> AnyView {
    view! { <p class="notice" role="alert" data-testid="part-missing">{missing.to_string()}</p> }
        .into_any()
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
            code_request,
            code_endpoint,
            code_mode,
        } = args;
        view! {
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
            request=code_request
            upload_file_name=Signal::derive(move || state.source.with(|s| s.as_ref().and_then(upload_name)))
            endpoint=code_endpoint
            mode=code_mode
        />
        {state.history.map(|history| view! { <crate::history::HistoryPanel history state/> })}
        }
        .into_any()
    }
}
