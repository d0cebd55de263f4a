//! History: every run recorded in IndexedDB the moment it starts, then its outcome with the
//! result's bytes; the form kept per tab so a reload restores it; other tabs told of new
//! entries over a BroadcastChannel. The editor reaches it through a few hooks in
//! `editor.rs`; the app provides it (tests mount the editor without one).
//!
//! - [`store`]: the IndexedDB database, its schema and migration
//! - [`panel`]: the list, a run's details, export, import and deletion

mod areas;
pub mod inflight;
pub mod panel;
pub mod store;

use std::collections::HashMap;
use std::rc::Rc;

use flexedit_api::history::{
    BundledRun, Outcome, RunRecord, Slot, SourceKind, SourceRecord, SuccessRecord, mime_of,
    storage_sentence,
};
use flexedit_api::{EditParams, Mode, Recipe};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

pub use crate::prepare::{blob_bytes, bytes_blob};

use crate::form::FormState;
use crate::run::{Events, Failure, RunEvent, RunResult};
use crate::source::{Origin, Source};
use crate::split::PartMissing;
use crate::transport::{Connection, Net};
pub use panel::HistoryPanel;
use store::{HistoryError, Store, form_image_key, image_key};

/// The channel tabs announce history changes on.
const CHANNEL: &str = "flexedit-history";
/// Where a tab keeps its id, which survives a reload of that tab only.
const TAB_KEY: &str = "flexedit.tab";
/// Set in localStorage once this browser has opened the history: a later visit opens it
/// at once (to restore the form and follow edits in flight), a first visit at first use.
const KEPT_KEY: &str = "flexedit.history";

/// Whether this browser has opened the history before (see [`KEPT_KEY`]).
pub fn kept_here() -> bool {
    crate::page::local_storage()
        .and_then(|storage| storage.get_item(KEPT_KEY).ok().flatten())
        .is_some()
}

fn note_kept() {
    if let Some(storage) = crate::page::local_storage() {
        // Without it a later visit opens the history at first use, as a first one does.
        let _ = storage.set_item(KEPT_KEY, "1");
    }
}
/// Another tab's saved form older than this is removed when a tab starts.
const FORM_LIFETIME_MS: f64 = 7.0 * 24.0 * 3600.0 * 1000.0;

type MessageListener = Closure<dyn Fn(web_sys::MessageEvent)>;

/// Whether the history works in this browser.
#[derive(Debug, Clone, PartialEq)]
pub enum Availability {
    Opening,
    On,
    /// Why it is off, as a sentence.
    Off(String),
}

/// The form as a tab last left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FormRecord {
    saved_at: f64,
    params: EditParams,
    seed_locked: bool,
    #[serde(default)]
    source: Option<FormSource>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FormSource {
    name: String,
    kind: SourceKind,
    /// The URL of a URL source, the asset path of an earlier result.
    reference: String,
}

/// The run this tab has under way, and what of it is already written.
struct Current {
    record: RunRecord,
    source: Option<web_sys::Blob>,
    source_written: bool,
}

/// Where the next run branches from: set when a past result becomes the source.
#[derive(Clone)]
struct Branch {
    parent: String,
    asset_path: Option<String>,
    preview_url: String,
    blob: Option<web_sys::Blob>,
}

/// An editor's form, for the history to restore and keep once its database is open.
pub struct KeptForm {
    state: FormState,
    /// The parameters the form started with: a form still at them is untouched.
    initial: EditParams,
    max_source_bytes: u64,
    max_upload_pixels: u64,
    /// The editor's owner: the effect that saves the form ends with the editor.
    owner: Owner,
}

impl KeptForm {
    /// Call in the editor, as it is made.
    pub fn new(state: FormState, config: &crate::config::Config) -> Self {
        Self {
            state,
            initial: state.params.get_untracked(),
            max_source_bytes: config.max_source_bytes,
            max_upload_pixels: config.max_upload_pixels,
            owner: Owner::current().unwrap_or_default(),
        }
    }
}

/// The history, shared through context as a `Copy` handle.
#[derive(Clone, Copy)]
pub struct History {
    store: StoredValue<Option<Rc<Store>>, LocalStorage>,
    pub availability: RwSignal<Availability>,
    /// Every run, newest first.
    pub runs: RwSignal<Vec<RunRecord>>,
    /// The last thing that went wrong, as a sentence with a next step.
    pub problem: RwSignal<Option<String>>,
    /// The last thing that went right (imported, exported, deleted).
    pub message: RwSignal<Option<String>>,
    /// Storage used against the quota, and whether it is nearly full.
    pub storage: RwSignal<Option<(String, bool)>>,
    /// The person's own recipes, by name.
    pub recipes: RwSignal<Vec<Recipe>>,
    tab: StoredValue<String>,
    /// The database's name.
    name: StoredValue<String>,
    started: StoredValue<bool>,
    channel: StoredValue<Option<web_sys::BroadcastChannel>, LocalStorage>,
    listener: StoredValue<Option<MessageListener>, LocalStorage>,
    /// The runs under way in this tab, by id.
    current: StoredValue<HashMap<String, Current>, LocalStorage>,
    /// Told, once the database is open, of the runs whose edits are still at the provider.
    on_open: StoredValue<Option<Resumer>, LocalStorage>,
    branch: StoredValue<Option<Branch>, LocalStorage>,
    /// The preview of the source last saved with the form, to write its bytes only once.
    saved_source: StoredValue<Option<String>>,
    restored: StoredValue<bool>,
}

/// What a page does with the runs it finds still at the provider when it starts.
pub type Resumer = Rc<dyn Fn(Vec<RunRecord>)>;

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn new_run_id() -> String {
    crate::run::new_run_id()
}

fn tab_id() -> String {
    let storage = web_sys::window().and_then(|w| w.session_storage().ok().flatten());
    if let Some(id) = storage
        .as_ref()
        .and_then(|s| s.get_item(TAB_KEY).ok().flatten())
    {
        return id;
    }
    let id = new_run_id();
    if let Some(storage) = storage {
        let _ = storage.set_item(TAB_KEY, &id);
    }
    id
}

/// `navigator.storage.estimate()`, where the browser has it: `(usage, quota)`.
async fn estimate() -> Option<(u64, u64)> {
    let navigator = web_sys::window()?.navigator();
    let storage = js_sys::Reflect::get(&navigator, &"storage".into()).ok()?;
    let estimate: js_sys::Function = js_sys::Reflect::get(&storage, &"estimate".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let promise: js_sys::Promise = estimate.call0(&storage).ok()?.dyn_into().ok()?;
    let result = JsFuture::from(promise).await.ok()?;
    let number = |name: &str| {
        js_sys::Reflect::get(&result, &name.into())
            .ok()
            .and_then(|v| v.as_f64())
            .map(|v| v.max(0.0) as u64)
    };
    Some((number("usage")?, number("quota").unwrap_or(0)))
}

impl History {
    /// The handle, with the database not opened yet: [`History::start`] opens it. The page
    /// opens it once the form is on screen, so the history's code and the database do not
    /// hold up the first paint.
    pub fn new(name: &str) -> History {
        History {
            store: StoredValue::new_local(None),
            availability: RwSignal::new(Availability::Opening),
            runs: RwSignal::new(Vec::new()),
            problem: RwSignal::new(None),
            message: RwSignal::new(None),
            storage: RwSignal::new(None),
            recipes: RwSignal::new(Vec::new()),
            // Read when the database opens (`open_part`), not while the form renders.
            tab: StoredValue::new(String::new()),
            name: StoredValue::new(name.to_owned()),
            started: StoredValue::new(false),
            channel: StoredValue::new_local(None),
            listener: StoredValue::new_local(None),
            current: StoredValue::new_local(HashMap::new()),
            on_open: StoredValue::new_local(None),
            branch: StoredValue::new_local(None),
            saved_source: StoredValue::new(None),
            restored: StoredValue::new(false),
        }
    }

    /// Opens the database (once; later calls do nothing), then restores and keeps `form`,
    /// and hands `resume` the runs whose edits the provider was still working on.
    pub fn start(&self, form: KeptForm, resume: Resumer) {
        if self.started.get_value() {
            return;
        }
        self.started.set_value(true);
        self.on_open.set_value(Some(resume));
        let history = *self;
        let name = self.name.get_value();
        spawn_local(async move {
            if let Err(missing) = open_part(history, name, form).await {
                history.off(missing.to_string());
            }
        });
    }

    /// Storage is off, for the reason given: nothing to restore, nothing kept.
    fn off(&self, why: String) {
        self.restored.set_value(true);
        self.availability.set(Availability::Off(why));
    }

    /// Shows a part of the history's code that could not be loaded as its problem.
    fn report(&self, loaded: Result<(), PartMissing>) {
        if let Err(missing) = loaded {
            self.problem.set(Some(missing.to_string()));
        }
    }

    fn listen(&self, name: &str) {
        let Ok(channel) = web_sys::BroadcastChannel::new(&format!("{CHANNEL}:{name}")) else {
            return;
        };
        let history = *self;
        let listener = MessageListener::new(move |_: web_sys::MessageEvent| {
            spawn_local(async move { history.refresh().await });
        });
        channel.set_onmessage(Some(listener.as_ref().unchecked_ref()));
        self.channel.set_value(Some(channel));
        self.listener.set_value(Some(listener));
    }

    fn announce(&self) {
        if let Some(channel) = self.channel.get_value() {
            let _ = channel.post_message(&JsValue::from_str("changed"));
        }
    }

    fn store(&self) -> Option<Rc<Store>> {
        self.store.get_value()
    }

    /// Makes the next write fail (tests only).
    pub fn inject(&self, fault: store::Fault) {
        if let Some(store) = self.store() {
            store.inject(fault);
        }
    }

    /// Reads the list again, and the storage estimate.
    pub async fn refresh(&self) {
        self.report(refresh_part(*self).await);
    }

    async fn refresh_now(&self) {
        let Some(store) = self.store() else {
            return;
        };
        match store.runs().await {
            Ok(runs) => self.runs.set(runs),
            Err(error) => self.problem.set(Some(error.to_string())),
        }
        match store.recipes().await {
            Ok(mut recipes) => {
                recipes.sort_by_key(|r| r.name.to_lowercase());
                self.recipes.set(recipes);
            }
            Err(error) => self.problem.set(Some(error.to_string())),
        }
        if let Some((usage, quota)) = estimate().await {
            self.storage.set(Some(storage_sentence(usage, quota)));
        }
    }

    /// Keeps a recipe of the person's; `replacing` names the one it renames. Without
    /// storage it is kept for this tab only.
    pub fn save_recipe(&self, recipe: Recipe, replacing: Option<String>) {
        let Some(store) = self.store() else {
            self.recipes.update(|all| {
                all.retain(|r| Some(&r.name) != replacing.as_ref() && r.name != recipe.name);
                all.push(recipe);
                all.sort_by_key(|r| r.name.to_lowercase());
            });
            return;
        };
        let history = *self;
        spawn_local(async move {
            history.report(save_recipe_part(history, store, recipe, replacing).await);
        });
    }

    pub fn delete_recipe(&self, name: String) {
        let Some(store) = self.store() else {
            self.recipes.update(|all| all.retain(|r| r.name != name));
            return;
        };
        let history = *self;
        spawn_local(async move {
            history.report(delete_recipe_part(history, store, name).await);
        });
    }

    /// Reports the outcome of a write, and on success tells the list and other tabs.
    async fn after_write(&self, written: Result<(), HistoryError>) -> bool {
        match written {
            Ok(()) => {
                self.refresh().await;
                self.announce();
                true
            }
            Err(error) => {
                self.problem.set(Some(error.to_string()));
                false
            }
        }
    }

    pub async fn image(&self, id: &str, slot: Slot) -> Option<web_sys::Blob> {
        self.store()?
            .image(&image_key(id, slot))
            .await
            .ok()
            .flatten()
    }

    // ---- Runs, kept from their events --------------------------------------------------

    /// Keeps every run `events` tells of; `net` fetches a result's bytes to keep them.
    pub fn keep_runs(&self, events: &Events, net: Net) {
        let history = *self;
        events.subscribe(Rc::new(move |id: &str, event: &RunEvent| {
            history.on_run_event(id, event, &net);
        }));
    }

    fn on_run_event(&self, id: &str, event: &RunEvent, net: &Net) {
        match event {
            RunEvent::Queued {
                source,
                params,
                connection,
                place,
            } => self.run_started(id, source, params, connection, Some(place), Outcome::Queued),
            RunEvent::Started {
                source,
                params,
                connection,
                place,
            } => self.run_started(
                id,
                source,
                params,
                connection,
                place.as_ref(),
                Outcome::Running,
            ),
            RunEvent::Prepared(blob) => self.update_current(id, |current| {
                current.source = Some(blob.clone());
                current.source_written = false;
                current.record.source.mime = Some(blob.type_()).filter(|t| !t.is_empty());
            }),
            RunEvent::Uploaded(path) => self.update_current(id, |current| {
                current.record.source.asset_path = Some(path.clone());
            }),
            // Written in one transaction with the run: from now on a reload finds it.
            RunEvent::Submitted(resume) => self.update_current(id, |current| {
                current.record.record = Some(resume.record.to_string());
                current.record.submitted_at = Some(resume.submitted_ms);
                current.record.outcome = Outcome::Submitted;
            }),
            RunEvent::Succeeded {
                result,
                took_ms,
                connection,
            } => self.run_succeeded(id, result, *took_ms, net.clone(), connection.clone()),
            RunEvent::Failed(failure) => self.run_failed(id, failure),
            RunEvent::Cancelled { after_send } => {
                self.finish(
                    id,
                    Outcome::Cancelled {
                        after_send: *after_send,
                    },
                );
            }
            RunEvent::Phase(_) | RunEvent::Shown(_) => {}
        }
    }

    /// A run is queued or starts: its record is written at once, with the source image.
    fn run_started(
        &self,
        id: &str,
        source: &Source,
        params: &EditParams,
        connection: &Connection,
        place: Option<&flexedit_api::history::Place>,
        outcome: Outcome,
    ) {
        if self.store().is_none() {
            return;
        }
        let (mut record, blob) = new_record(id, source, params, connection);
        record.place = place.cloned();
        if outcome == Outcome::Queued {
            record.queued_by = Some(self.tab.get_value());
        }
        record.outcome = outcome;
        // A job that waited keeps its place in the list, and the area it was limited to.
        let before = self
            .current
            .with_value(|current| current.get(id).map(|c| c.record.clone()))
            .or_else(|| {
                self.runs
                    .with_untracked(|runs| runs.iter().find(|r| r.id == id).cloned())
            });
        if let Some(before) = before {
            record.started_at = before.started_at;
            record.mask = before.mask;
            record.area_unfit = before.area_unfit;
        }
        let asset_path = record.source.asset_path.clone();
        let branch = self.branch.get_value().filter(|b| {
            b.preview_url == source.preview_url
                || (b.asset_path.is_some() && b.asset_path == asset_path)
        });
        record.parent = branch.as_ref().map(|b| b.parent.clone()).or_else(|| {
            let path = asset_path.as_ref()?;
            self.runs.with_untracked(|runs| {
                runs.iter()
                    .find(|r| r.success().and_then(|s| s.asset_path.as_ref()) == Some(path))
                    .map(|r| r.id.clone())
            })
        });
        let blob = blob.or_else(|| branch.and_then(|b| b.blob));
        if record.source.mime.is_none() {
            record.source.mime = blob.as_ref().map(|b| b.type_()).filter(|t| !t.is_empty());
        }
        self.current.update_value(|current| {
            current.insert(
                id.to_owned(),
                Current {
                    record,
                    source: blob,
                    source_written: false,
                },
            );
        });
        self.persist(id);
    }

    /// The provider answered with a result: record it, then fetch and store its bytes
    /// while the display link still works.
    fn run_succeeded(
        &self,
        id: &str,
        result: &RunResult,
        duration_ms: f64,
        transport: Net,
        connection: Connection,
    ) {
        let success = SuccessRecord {
            asset_path: result.asset_path.as_ref().map(|p| p.as_str().to_owned()),
            display_url: result.display_url.clone(),
            expires_at: result.expires_at,
            seed: result.seed,
            duration_ms,
            credits: result.credits,
            mime: None,
        };
        let Some(record) = self.finish(id, Outcome::Succeeded(success)) else {
            return;
        };
        let Some(store) = self.store() else {
            return;
        };
        let history = *self;
        spawn_local(async move {
            history.report(keep_result_part(history, store, record, transport, connection).await);
        });
    }

    fn run_failed(&self, id: &str, failure: &Failure) {
        self.finish(
            id,
            Outcome::Failed {
                kind: failure.kind.clone(),
                message: failure.message.clone(),
                next_step: failure.next_step.clone(),
                may_have_billed: failure.may_have_billed,
            },
        );
    }

    /// The run `id` as this tab holds it: one it started, or one found in the list (a run
    /// followed again after a reload).
    fn hold(&self, id: &str) -> bool {
        if self.current.with_value(|current| current.contains_key(id)) {
            return true;
        }
        let Some(record) = self
            .runs
            .with_untracked(|runs| runs.iter().find(|r| r.id == id).cloned())
        else {
            return false;
        };
        self.current.update_value(|current| {
            current.insert(
                id.to_owned(),
                Current {
                    record,
                    source: None,
                    source_written: true,
                },
            );
        });
        true
    }

    fn finish(&self, id: &str, outcome: Outcome) -> Option<RunRecord> {
        if !self.hold(id) {
            return None;
        }
        let mut finished = None;
        self.current.update_value(|current| {
            if let Some(run) = current.get_mut(id) {
                run.record.outcome = outcome;
                run.record.finished_at = Some(now_ms());
                finished = Some(run.record.clone());
            }
        });
        self.persist(id);
        self.current.update_value(|current| {
            current.remove(id);
        });
        finished
    }

    fn update_current(&self, id: &str, change: impl FnOnce(&mut Current)) {
        if !self.hold(id) {
            return;
        }
        self.current.update_value(|current| {
            if let Some(run) = current.get_mut(id) {
                change(run);
            }
        });
        self.persist(id);
    }

    /// Writes the run `id` as it stands. Transactions over the same stores run in the
    /// order they were created, so successive writes of a run land in order.
    fn persist(&self, id: &str) {
        let Some(store) = self.store() else {
            return;
        };
        let mut snapshot = None;
        self.current.update_value(|current| {
            if let Some(current) = current.get_mut(id) {
                let source = (!current.source_written)
                    .then(|| current.source.clone())
                    .flatten();
                current.source_written = true;
                snapshot = Some((current.record.clone(), source));
            }
        });
        let Some((record, source)) = snapshot else {
            return;
        };
        let history = *self;
        spawn_local(async move {
            history.report(write_run_part(history, store, record, source).await);
        });
    }

    /// The address of the image a run started from, for the before/after view of a run
    /// followed again: its kept bytes, else where it came from.
    pub async fn before_url(&self, run: &RunRecord) -> String {
        if let Some(blob) = self.image(&run.id, Slot::Source).await
            && let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob)
        {
            return url;
        }
        run.source.url.clone().unwrap_or_default()
    }

    // ---- What the panel does -----------------------------------------------------------

    /// Makes a past result the editor's image, so the next run branches from it.
    pub async fn edit_result(&self, state: FormState, run: &RunRecord) {
        let Some(success) = run.success() else {
            return;
        };
        let blob = self.shown_image(&run.id, Slot::Result).await;
        let expired = success
            .expires_at
            .is_some_and(|at| (now_ms() / 1000.0) as i64 >= at);
        let name = format!("result of {}", short_prompt(run.prompt()));
        let source = match (&blob, &success.asset_path) {
            // The link has expired (and the provider may have let the file go), or there is
            // no path: upload the kept bytes again.
            // Limited to an area: the composite exists only here.
            (Some(blob), path) if expired || path.is_none() || run.mask.is_some() => {
                // No limit known here: kept as it is, and prepared for the limit at run time.
                match crate::intake::source_from_blob(blob.clone(), name, u64::MAX, u64::MAX).await
                {
                    Ok(source) => source,
                    Err(error) => {
                        self.problem.set(Some(error.to_string()));
                        return;
                    }
                }
            }
            // The provider still has the result: reuse it by path, with no upload.
            (_, Some(path)) => {
                let preview_url = blob
                    .as_ref()
                    .and_then(|b| web_sys::Url::create_object_url_with_blob(b).ok())
                    .unwrap_or_else(|| success.display_url.clone());
                Source {
                    name,
                    origin: Origin::Asset { path: path.clone() },
                    preview_url,
                    size: blob.as_ref().map(|b| b.size() as u64),
                    dimensions: None,
                    recipe: None,
                }
            }
            _ => {
                self.problem.set(Some(
                    "This result's image was not kept and the provider gave no path to reuse it; run its edit again instead.".into(),
                ));
                return;
            }
        };
        self.branch.set_value(Some(Branch {
            parent: run.id.clone(),
            asset_path: success.asset_path.clone(),
            preview_url: source.preview_url.clone(),
            blob,
        }));
        state.area.restore(run.mask.clone());
        state.set_source(source);
    }

    pub async fn delete(&self, id: &str) {
        let Some(store) = self.store() else {
            return;
        };
        if self.after_write(store.delete_run(id).await).await {
            self.message.set(Some("Deleted the run.".into()));
        }
    }

    pub async fn delete_all(&self) {
        let Some(store) = self.store() else {
            return;
        };
        if self.after_write(store.clear_runs().await).await {
            self.message.set(Some("Deleted every run.".into()));
        }
    }

    /// The whole history as one zip: images and a JSON manifest.
    pub async fn export(&self) -> Result<(Vec<u8>, usize), HistoryError> {
        let store = self.store().ok_or(HistoryError::Unavailable)?;
        let runs = store.runs().await?;
        let mut bundled = Vec::with_capacity(runs.len());
        for record in runs.into_iter().rev() {
            let mut images = [None, None];
            for (i, slot) in [Slot::Source, Slot::Result].into_iter().enumerate() {
                if let Some(blob) = store.image(&image_key(&record.id, slot)).await? {
                    images[i] = blob_bytes(&blob).await;
                }
            }
            let [source, result] = images;
            bundled.push(BundledRun {
                record,
                source,
                result,
            });
        }
        let count = bundled.len();
        let recipes = store.recipes().await?;
        flexedit_api::history::write_bundle(&bundled, &recipes)
            .map(|zip| (zip, count))
            .map_err(|e| HistoryError::Write(e.to_string()))
    }

    /// Adds the runs of an exported zip; a run already here (same id) is replaced, so
    /// importing twice changes nothing.
    pub async fn import(&self, bytes: &[u8]) -> Result<usize, HistoryError> {
        let store = self.store().ok_or(HistoryError::Unavailable)?;
        let bundle = flexedit_api::history::read_bundle(bytes)
            .map_err(|e| HistoryError::Import(e.to_string()))?;
        let count = bundle.runs.len();
        // A recipe of the same name is replaced, as a run of the same id is.
        for recipe in &bundle.recipes {
            store.put_recipe(recipe, None).await?;
        }
        for run in bundle.runs {
            let blobs: Vec<(Slot, web_sys::Blob)> =
                [(Slot::Source, &run.source), (Slot::Result, &run.result)]
                    .into_iter()
                    .filter_map(|(slot, bytes)| {
                        let bytes = bytes.as_ref()?;
                        Some((slot, bytes_blob(bytes, mime_of(bytes))?))
                    })
                    .collect();
            let images: Vec<(Slot, &web_sys::Blob)> =
                blobs.iter().map(|(slot, blob)| (*slot, blob)).collect();
            store.put_run(&run.record, &images).await?;
        }
        self.refresh().await;
        self.announce();
        Ok(count)
    }

    // ---- The form ----------------------------------------------------------------------

    /// Restores the form once, then saves it whenever it changes. Called once the database
    /// is open (or failed to open).
    async fn keep_form(&self, form: KeptForm) {
        let history = *self;
        let KeptForm {
            state,
            initial,
            max_source_bytes,
            max_upload_pixels,
            owner,
        } = form;
        // The effect belongs to the editor, and ends with it.
        owner.with(|| {
            Effect::new(move |_| {
                let params = state.params.get();
                let seed_locked = state.seed_locked.get();
                let source = state.source.get();
                if history.restored.get_value() {
                    history.save_form(params, seed_locked, source);
                }
            })
        });
        history
            .restore_form(state, &initial, max_source_bytes, max_upload_pixels)
            .await;
        history.restored.set_value(true);
        // Save what was restored under this tab's own id.
        let (params, locked, source) = (
            state.params.get_untracked(),
            state.seed_locked.get_untracked(),
            state.source.get_untracked(),
        );
        history.save_form(params, locked, source);
    }

    fn save_form(&self, params: EditParams, seed_locked: bool, source: Option<Source>) {
        let Some(store) = self.store() else {
            return;
        };
        let form_source = source.as_ref().map(|s| {
            let (kind, reference) = match &s.origin {
                Origin::File { .. } => (SourceKind::File, String::new()),
                Origin::Url(url) => (SourceKind::Url, url.clone()),
                Origin::Asset { path } => (SourceKind::Result, path.clone()),
            };
            FormSource {
                name: s.name.clone(),
                kind,
                reference,
            }
        });
        let form = FormRecord {
            saved_at: now_ms(),
            params,
            seed_locked,
            source: form_source,
        };
        let preview = source.as_ref().map(|s| s.preview_url.clone());
        let image = if preview == self.saved_source.get_value() {
            None // unchanged: keep what is stored
        } else {
            match source.as_ref().map(|s| &s.origin) {
                Some(Origin::File { file, .. }) => Some(Some(file.clone())),
                _ => Some(None),
            }
        };
        self.saved_source.set_value(preview);
        let tab = self.tab.get_value();
        let history = *self;
        spawn_local(async move {
            history.report(save_form_part(history, store, tab, form, image).await);
        });
    }

    /// Puts back the form this tab had before a reload, or for a new tab the form last
    /// saved by any tab, unless the person has already started on the form.
    async fn restore_form(
        &self,
        state: FormState,
        initial: &EditParams,
        max_source_bytes: u64,
        max_upload_pixels: u64,
    ) {
        let Some(store) = self.store() else {
            return;
        };
        let Ok(forms) = store.forms().await else {
            return;
        };
        let own = self.tab.get_value();
        let mut forms: Vec<(String, FormRecord)> = forms
            .into_iter()
            .filter_map(|(tab, json)| Some((tab, serde_json::from_str(&json).ok()?)))
            .collect();
        forms.sort_by(|a, b| b.1.saved_at.total_cmp(&a.1.saved_at));
        for (tab, form) in &forms {
            if *tab != own && now_ms() - form.saved_at > FORM_LIFETIME_MS {
                let _ = store.delete_form(tab).await;
            }
        }
        let chosen = forms
            .iter()
            .find(|(tab, _)| *tab == own)
            .or_else(|| forms.first())
            .cloned();
        let Some((tab, form)) = chosen else {
            return;
        };
        let untouched = state.source.with_untracked(Option::is_none)
            && state.params.with_untracked(|p| p == initial);
        if !untouched {
            return;
        }
        state.params.set(form.params);
        state.seed_locked.set(form.seed_locked);
        let Some(saved) = form.source else {
            return;
        };
        let source = match saved.kind {
            SourceKind::File => {
                let Ok(Some(blob)) = store.image(&form_image_key(&tab)).await else {
                    return;
                };
                let restored = crate::intake::source_from_blob(
                    blob,
                    saved.name,
                    max_source_bytes,
                    max_upload_pixels,
                );
                match restored.await {
                    Ok(source) => source,
                    Err(_) => return,
                }
            }
            SourceKind::Url => Source {
                name: saved.name,
                origin: Origin::Url(saved.reference.clone()),
                preview_url: saved.reference,
                size: None,
                dimensions: None,
                recipe: None,
            },
            SourceKind::Result => {
                let run = self.runs.with_untracked(|runs| {
                    runs.iter()
                        .find(|r| {
                            r.success().and_then(|s| s.asset_path.as_deref())
                                == Some(saved.reference.as_str())
                        })
                        .cloned()
                });
                let Some(run) = run else {
                    return;
                };
                self.edit_result(state, &run).await;
                return;
            }
        };
        if state.source.with_untracked(Option::is_none) {
            state.set_source(source);
        }
    }
}

/// A new run's record, and the bytes of the image it starts from when the page has them.
pub fn new_record(
    id: &str,
    source: &Source,
    params: &EditParams,
    connection: &Connection,
) -> (RunRecord, Option<web_sys::Blob>) {
    let (kind, url, asset_path, blob) = match &source.origin {
        Origin::File { file, .. } => (SourceKind::File, None, None, Some(file.clone())),
        Origin::Url(url) => (SourceKind::Url, Some(url.clone()), None, None),
        Origin::Asset { path } => (SourceKind::Result, None, Some(path.clone()), None),
    };
    let record = RunRecord {
        id: id.to_owned(),
        parent: None,
        started_at: now_ms(),
        finished_at: None,
        endpoint: connection.endpoint.clone(),
        mode: match connection.mode {
            Mode::Direct => "direct",
            Mode::Proxy => "proxy",
        }
        .into(),
        params: params.clone(),
        source: SourceRecord {
            name: source.name.clone(),
            kind,
            asset_path,
            url,
            mime: blob.as_ref().map(|b| b.type_()).filter(|t| !t.is_empty()),
        },
        outcome: Outcome::Running,
        record: None,
        submitted_at: None,
        place: None,
        queued_by: None,
        mask: None,
        area_unfit: false,
    };
    (record, blob)
}

/// The first words of a prompt, for names and labels.
pub fn short_prompt(prompt: &str) -> String {
    let mut words = String::new();
    for word in prompt.split_whitespace() {
        if words.len() + word.len() > 40 {
            words.push('…');
            break;
        }
        if !words.is_empty() {
            words.push(' ');
        }
        words.push_str(word);
    }
    words
}

crate::split::part! {
    history:
    /// Fetches a result's bytes while its link works and writes them with the run.
    async fn keep_result_part(
        history: History,
        store: Rc<Store>,
        record: RunRecord,
        transport: Net,
        connection: Connection,
    ) -> () {
        let mut record = record;
        let Ok(blob) = transport
            .transport()
            .fetch_image(
                &connection,
                &record
                    .success()
                    .map(|s| s.display_url.clone())
                    .unwrap_or_default(),
            )
            .await
        else {
            history.problem.set(Some(
                "The result image could not be fetched to keep in the history; its record is kept, and the image shows only while its link works."
                    .into(),
            ));
            return;
        };
        let mime = match blob.type_() {
            t if t.starts_with("image/") => t,
            _ => blob_bytes(&blob)
                .await
                .map(|b| mime_of(&b).to_owned())
                .unwrap_or_default(),
        };
        if let Outcome::Succeeded(success) = &mut record.outcome {
            success.mime = Some(mime);
            history.branch.set_value(Some(Branch {
                parent: record.id.clone(),
                asset_path: success.asset_path.clone(),
                preview_url: success.display_url.clone(),
                blob: Some(blob.clone()),
            }));
        }
        // The area as it may have changed since the run finished (a feather set again, a
        // source found to be of another shape): the list holds it.
        if let Some((mask, unfit)) = history.runs.with_untracked(|runs| {
            runs.iter()
                .find(|r| r.id == record.id)
                .map(|r| (r.mask.clone(), r.area_unfit))
        }) {
            record.mask = mask;
            record.area_unfit = unfit;
        }
        let written = store.put_run(&record, &[(Slot::Result, &blob)]).await;
        history.after_write(written).await;
    }
}

crate::split::part! {
    history:
    /// Opens the database, listens to other tabs and reads the list: the history's code
    /// loads with it, after the form is on screen (src/split.rs).
    async fn open_part(history: History, name: String, form: KeptForm) -> () {
        history.tab.set_value(tab_id());
        match Store::open(&name).await {
            Ok(store) => {
                note_kept();
                history.store.set_value(Some(Rc::new(store)));
                history.listen(&name);
                history.refresh().await;
                history.availability.set(Availability::On);
                // Edits at the provider are followed by every tab (asking costs nothing
                // twice); a queued job is started only by the tab that queued it.
                let own_tab = history.tab.get_value();
                let submitted: Vec<RunRecord> = history.runs.with_untracked(|runs| {
                    runs.iter()
                        .filter(|r| {
                            (r.outcome == Outcome::Submitted && r.record.is_some())
                                || (r.outcome == Outcome::Queued
                                    && r.queued_by.as_deref() == Some(own_tab.as_str()))
                        })
                        .cloned()
                        .collect()
                });
                if let Some(resume) = history.on_open.get_value()
                    && !submitted.is_empty()
                {
                    resume(submitted);
                }
            }
            Err(error) => history.off(error.to_string()),
        }
        history.keep_form(form).await;
    }
}

crate::split::part! {
    history:
    async fn save_recipe_part(
        history: History,
        store: Rc<Store>,
        recipe: Recipe,
        replacing: Option<String>,
    ) -> () {
        let written = store.put_recipe(&recipe, replacing.as_deref()).await;
        history.after_write(written).await;
    }
}

crate::split::part! {
    history:
    async fn delete_recipe_part(history: History, store: Rc<Store>, name: String) -> () {
        let written = store.delete_recipe(&name).await;
        history.after_write(written).await;
    }
}

crate::split::part! {
    history:
    async fn refresh_part(history: History) -> () {
        history.refresh_now().await
    }
}

crate::split::part! {
    history:
    /// Writes a run as it stands, with its source image the first time.
    async fn write_run_part(
        history: History,
        store: Rc<Store>,
        record: RunRecord,
        source: Option<web_sys::Blob>,
    ) -> () {
        let images: Vec<(Slot, &web_sys::Blob)> =
            source.iter().map(|blob| (Slot::Source, blob)).collect();
        let written = store.put_run(&record, &images).await;
        history.after_write(written).await;
    }
}

crate::split::part! {
    history:
    /// Saves this tab's form; `image`: `None` keeps the stored one, `Some(None)` removes it.
    async fn save_form_part(
        history: History,
        store: Rc<Store>,
        tab: String,
        form: FormRecord,
        image: Option<Option<web_sys::Blob>>,
    ) -> () {
        let Ok(json) = serde_json::to_string(&form) else {
            return;
        };
        if let Err(error) = store
            .put_form(&tab, &json, image.as_ref().map(Option::as_ref))
            .await
        {
            history.problem.set(Some(error.to_string()));
        }
    }
}
