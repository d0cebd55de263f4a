//! The result laid into the original through the painted area, and the original's full
//! size written with it. The pixels are combined by a worker (web/composite-worker.js), off
//! the page's main thread: a full-size photo takes long enough to freeze the page.
//!
//! The worker starts from a blob made of the script's text, not from a file: a page that
//! embeds the editor serves it from another origin, where a worker file would be refused.
//! The page's policy allows it with `worker-src blob:` (crates/server/src/headers.rs).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use flexedit_api::{ImageRecipe, Mask, OutputFormat, download_file_name};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::mask::{Applied, Area};
use crate::run::RunResult;
use crate::transport::Network;

const WORKER_SCRIPT: &str = include_str!("../web/composite-worker.js");

/// Why the result could not be combined with the original, with what to do instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompositeError {
    #[error(
        "This browser cannot combine images off the page (it has no workers or OffscreenCanvas), so the model's full result is shown. Use a current Chrome, Edge, Firefox or Safari to keep the original outside the area."
    )]
    Unsupported,
    #[error(
        "The result could not be combined with the original ({0}), so the model's full result is shown. Try again, or use the result as it is."
    )]
    Failed(String),
    #[error(
        "The original image could not be read again, so the result could not be laid into it. Choose the image again, then run the edit."
    )]
    Original,
}

/// What to combine: `original` outside the area, `result` scaled over it inside, written
/// at `size` (the original's own size when `None`), with `chunk` inserted after the PNG's
/// header when given. `layers` are laid in first, in order, each through its own area:
/// the earlier edits of a chain, when `original` is its first photo.
pub struct Job {
    pub original: web_sys::Blob,
    pub layers: Vec<(web_sys::Blob, Option<Mask>)>,
    pub result: web_sys::Blob,
    pub mask: Option<Mask>,
    pub size: Option<(u32, u32)>,
    pub chunk: Option<Vec<u8>>,
}

impl Job {
    /// `result` laid into `original` through `mask`, at the original's own size: what the
    /// screen shows, as against a full-size download.
    pub fn on_screen(original: web_sys::Blob, result: web_sys::Blob, mask: Mask) -> Self {
        Job {
            original,
            layers: Vec::new(),
            result,
            mask: Some(mask),
            size: None,
            chunk: None,
        }
    }
}

/// A finished composite: a PNG, its size, and how long the worker took, in milliseconds.
pub struct Made {
    pub blob: web_sys::Blob,
    pub size: Option<(u32, u32)>,
    pub worker_ms: f64,
}

type Replies = Rc<RefCell<HashMap<u32, js_sys::Function>>>;

struct Worker {
    worker: web_sys::Worker,
    replies: Replies,
    next: u32,
    _listener: Closure<dyn Fn(web_sys::MessageEvent)>,
}

thread_local! {
    // One worker for the page: it is idle between jobs and holds no images.
    static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
}

fn start_worker() -> Result<Worker, CompositeError> {
    let has = |name: &str| {
        js_sys::Reflect::get(&js_sys::global(), &name.into())
            .is_ok_and(|v| !v.is_undefined() && !v.is_null())
    };
    if !has("Worker") || !has("OffscreenCanvas") {
        return Err(CompositeError::Unsupported);
    }
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/javascript");
    let script = web_sys::Blob::new_with_str_sequence_and_options(
        &js_sys::Array::of1(&WORKER_SCRIPT.into()),
        &options,
    )
    .map_err(|_| CompositeError::Unsupported)?;
    let url = web_sys::Url::create_object_url_with_blob(&script)
        .map_err(|_| CompositeError::Unsupported)?;
    let worker = web_sys::Worker::new(&url);
    // The worker has read its script once it exists; the URL is not needed again.
    let _ = web_sys::Url::revoke_object_url(&url);
    let worker = worker.map_err(|_| CompositeError::Unsupported)?;
    let replies: Replies = Rc::default();
    let listener = {
        let replies = replies.clone();
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let data = event.data();
            let id = js_sys::Reflect::get(&data, &"id".into())
                .ok()
                .and_then(|v| v.as_f64())
                .map(|v| v as u32);
            let resolve = id.and_then(|id| replies.borrow_mut().remove(&id));
            if let Some(resolve) = resolve {
                let _ = resolve.call1(&JsValue::NULL, &data);
            }
        })
    };
    worker.set_onmessage(Some(listener.as_ref().unchecked_ref()));
    Ok(Worker {
        worker,
        replies,
        next: 0,
        _listener: listener,
    })
}

/// Posts `message` (its `id` is set here) and returns the promise of the worker's reply.
fn post(message: &js_sys::Object) -> Result<js_sys::Promise, CompositeError> {
    WORKER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(start_worker()?);
        }
        let Some(worker) = slot.as_mut() else {
            return Err(CompositeError::Unsupported);
        };
        worker.next = worker.next.wrapping_add(1);
        let id = worker.next;
        let replies = worker.replies.clone();
        let mut registered = false;
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            replies.borrow_mut().insert(id, resolve);
            registered = true;
        });
        let _ = js_sys::Reflect::set(message, &"id".into(), &id.into());
        worker
            .worker
            .post_message(message)
            .map_err(|e| CompositeError::Failed(describe(&e)))?;
        if !registered {
            return Err(CompositeError::Unsupported);
        }
        Ok(promise)
    })
}

fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "the browser gave no reason".to_owned())
}

/// A mask as the worker reads it; `null` lays the whole result in.
fn mask_value(mask: Option<&Mask>) -> JsValue {
    match mask {
        Some(mask) if mask.is_painted() => serde_json::to_string(mask)
            .ok()
            .and_then(|json| js_sys::JSON::parse(&json).ok())
            .unwrap_or(JsValue::NULL),
        _ => JsValue::NULL,
    }
}

/// Combines the images of `job` in the worker.
pub async fn composite(job: Job) -> Result<Made, CompositeError> {
    let message = js_sys::Object::new();
    let set = |name: &str, value: &JsValue| {
        let _ = js_sys::Reflect::set(&message, &name.into(), value);
    };
    set("original", &job.original);
    set("result", &job.result);
    set("mask", &mask_value(job.mask.as_ref()));
    let layers = js_sys::Array::new();
    for (result, mask) in &job.layers {
        let layer = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&layer, &"result".into(), result);
        let _ = js_sys::Reflect::set(&layer, &"mask".into(), &mask_value(mask.as_ref()));
        layers.push(&layer);
    }
    set("layers", &layers);
    let (width, height) = job.size.unwrap_or((0, 0));
    set("width", &width.into());
    set("height", &height.into());
    let chunk = job
        .chunk
        .as_deref()
        .map(|bytes| JsValue::from(js_sys::Uint8Array::from(bytes)))
        .unwrap_or(JsValue::NULL);
    set("chunk", &chunk);
    let reply = JsFuture::from(post(&message)?)
        .await
        .map_err(|e| CompositeError::Failed(describe(&e)))?;
    let field = |name: &str| js_sys::Reflect::get(&reply, &name.into()).ok();
    if let Some(error) = field("error").and_then(|e| e.as_string()) {
        return Err(CompositeError::Failed(error));
    }
    let blob = field("blob")
        .and_then(|b| b.dyn_into::<web_sys::Blob>().ok())
        .ok_or_else(|| CompositeError::Failed("the worker sent no image back".to_owned()))?;
    let worker_ms = field("ms").and_then(|m| m.as_f64()).unwrap_or_default();
    let side = |name: &str| field(name).and_then(|v| v.as_f64()).map(|v| v as u32);
    let size = side("width").zip(side("height"));
    Ok(Made {
        blob,
        size,
        worker_ms,
    })
}

/// The bytes behind a URL the page already shows (an object URL of the source, or an
/// image address that allows the page to read it).
pub async fn fetch_blob(url: &str) -> Result<web_sys::Blob, CompositeError> {
    let window = web_sys::window().ok_or(CompositeError::Original)?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|_| CompositeError::Original)?
        .dyn_into()
        .map_err(|_| CompositeError::Original)?;
    if !response.ok() {
        return Err(CompositeError::Original);
    }
    let blob = response.blob().map_err(|_| CompositeError::Original)?;
    JsFuture::from(blob)
        .await
        .map_err(|_| CompositeError::Original)?
        .dyn_into()
        .map_err(|_| CompositeError::Original)
}

/// The size to write the full-size image at: the original's, when the result has its
/// shape; otherwise the result keeps its own shape, scaled to as many pixels as the
/// original has, since stretching it to the original would distort it.
pub fn full_size(original: (u32, u32), result: Option<(u32, u32)>) -> (u32, u32) {
    let Some((rw, rh)) = result.filter(|(w, h)| *w > 0 && *h > 0) else {
        return original;
    };
    let shape = Mask {
        width: rw,
        height: rh,
        feather: 0.0,
        marks: Vec::new(),
    };
    if shape.fits(original.0, original.1) {
        return original;
    }
    let scale = ((f64::from(original.0) * f64::from(original.1)) / (f64::from(rw) * f64::from(rh)))
        .sqrt()
        .max(1.0);
    (
        (f64::from(rw) * scale).round() as u32,
        (f64::from(rh) * scale).round() as u32,
    )
}

/// The result's bytes, through the transport (the proxy reaches hosts the page cannot).
async fn result_blob(network: Option<&Network>, url: &str) -> Result<web_sys::Blob, String> {
    let Some(network) = network else {
        return Err("the page has no connection to fetch it with".to_owned());
    };
    let connection = network.connection.get_untracked();
    network
        .net
        .transport()
        .fetch_image(&connection, url)
        .await
        .map_err(|e| e.to_string())
}

/// The size of the image in `blob`, as decoded.
async fn measure(blob: &web_sys::Blob) -> Option<(u32, u32)> {
    let promise = web_sys::window()?
        .create_image_bitmap_with_blob(blob)
        .ok()?;
    let bitmap: web_sys::ImageBitmap = JsFuture::from(promise).await.ok()?.dyn_into().ok()?;
    let size = (bitmap.width(), bitmap.height());
    bitmap.close();
    Some(size)
}

/// The source a result was edited from and the model's result, fetched.
async fn images(
    applied: &Applied,
    result: &RunResult,
    network: Option<&Network>,
) -> Result<(web_sys::Blob, web_sys::Blob), String> {
    let source = fetch_blob(&applied.source_url)
        .await
        .map_err(|e| e.to_string())?;
    let made = result_blob(network, &result.display_url)
        .await
        .map_err(|e| CompositeError::Failed(e).to_string())?;
    Ok((source, made))
}

/// What became of a result whose run had an area.
pub enum Laid {
    /// Laid into its source; the area keeps the composite.
    Made(web_sys::Blob),
    /// Its source has another shape than the image the area was painted on.
    Unfit,
}

/// Lays a finished result into its own source through the area its run started with,
/// as it arrives, so the contact sheet, Show this result and Download all have it.
/// `None` when its run had no area.
pub async fn lay_in(
    area: Area,
    result: &RunResult,
    network: Option<&Network>,
) -> Option<Result<Laid, String>> {
    let applied = area.applied_for(&result.before_url)?;
    let mask = applied.mask.clone()?;
    if applied.unfit {
        return Some(Ok(Laid::Unfit));
    }
    if let Some(made) = area.composite_of(result) {
        return Some(Ok(Laid::Made(made.blob)));
    }
    let outcome = async {
        let (source, made) = images(&applied, result, network).await?;
        // A source of unknown size is measured now: the area is never stretched.
        if let Some((w, h)) = measure(&source).await
            && !mask.fits(w, h)
        {
            area.mark_unfit(result);
            return Ok(Laid::Unfit);
        }
        let composite = composite(Job::on_screen(source, made.clone(), mask.clone()))
            .await
            .map_err(|e| e.to_string())?;
        let blob = composite.blob.clone();
        area.keep_composite(result, (composite.blob, composite.size), made, &mask);
        Ok(Laid::Made(blob))
    };
    Some(outcome.await)
}

/// Where the composite of a result stands.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// No area was painted for this result: it is shown as the model made it.
    None,
    Working,
    Ready(String),
    Failed(String),
    /// The area was painted on an image of another shape: the model's whole edit.
    Unfit,
}

/// The result panel's view of the area: the composite to show and save, and the model's
/// untouched result on request. A `Copy` handle.
#[derive(Clone, Copy)]
pub struct Shown {
    area: Option<Area>,
    result: StoredValue<RunResult>,
    applied: StoredValue<Option<Applied>, LocalStorage>,
    network: StoredValue<Option<Network>, LocalStorage>,
    /// The images, fetched once and reused when the feather changes.
    images: StoredValue<Option<(web_sys::Blob, web_sys::Blob)>, LocalStorage>,
    generation: StoredValue<u32>,
    pub state: RwSignal<State>,
    pub show_full: RwSignal<bool>,
}

impl Shown {
    /// Starts compositing `result` when its run had an area; the result panel calls it.
    pub fn new(result: &RunResult, network: Option<Network>) -> Self {
        let area = use_context::<Area>();
        let applied = area.and_then(|a| a.applied_for(&result.before_url));
        let unfit = applied
            .as_ref()
            .is_some_and(|a| a.mask.is_some() && a.unfit);
        let shown = Self {
            area,
            result: StoredValue::new(result.clone()),
            applied: StoredValue::new_local(applied.clone()),
            network: StoredValue::new_local(network),
            images: StoredValue::new_local(None),
            generation: StoredValue::new(0),
            state: RwSignal::new(if unfit { State::Unfit } else { State::None }),
            show_full: RwSignal::new(false),
        };
        let mask = applied.as_ref().and_then(|a| a.area()).cloned();
        if let (Some(area), Some(mask)) = (area, mask) {
            // Again when the feather changes: the edge is the person's to tune.
            Effect::new(move |_| {
                let feather = area.feather.get();
                let result = shown.result.get_value();
                match area.composite_of(&result) {
                    // Made as the result arrived, with this feather.
                    Some(made) if made.feather == feather => {
                        shown.generation.update_value(|g| *g = g.wrapping_add(1));
                        shown.state.set(State::Ready(made.url));
                    }
                    _ => shown.start(Mask {
                        feather,
                        ..mask.clone()
                    }),
                }
            });
        }
        shown
    }

    fn start(&self, mask: Mask) {
        let shown = *self;
        let generation = self.generation.get_value().wrapping_add(1);
        self.generation.set_value(generation);
        self.state.set(State::Working);
        leptos::task::spawn_local(async move {
            let outcome = shown.make(&mask).await;
            if shown.generation.try_get_value() != Some(generation) {
                return; // a newer feather took over
            }
            match outcome {
                Ok((made, model)) => {
                    let result = shown.result.get_value();
                    if let Some(area) = shown.area {
                        area.keep_composite(&result, (made.blob, made.size), model, &mask);
                        if let Some(composite) = area.composite_of(&result) {
                            shown.state.set(State::Ready(composite.url));
                        }
                    }
                }
                Err(error) => shown.state.set(State::Failed(error)),
            }
        });
    }

    async fn images(&self) -> Result<(web_sys::Blob, web_sys::Blob), String> {
        if let Some(images) = self.images.get_value() {
            return Ok(images);
        }
        let result = self.result.get_value();
        let Some(applied) = self.applied.get_value() else {
            return Err(CompositeError::Original.to_string());
        };
        let network = self.network.get_value();
        let images = images(&applied, &result, network.as_ref()).await?;
        self.images.set_value(Some(images.clone()));
        Ok(images)
    }

    /// The composite with `mask`, and the model's result it was made from.
    async fn make(&self, mask: &Mask) -> Result<(Made, web_sys::Blob), String> {
        let (source, result) = self.images().await?;
        let made = composite(Job::on_screen(source, result.clone(), mask.clone()))
            .await
            .map_err(|e| e.to_string())?;
        Ok((made, result))
    }

    /// What the compare view shows as "after".
    pub fn after_url(&self) -> Signal<String> {
        let shown = *self;
        Signal::derive(move || match shown.state.get() {
            State::Ready(url) if !shown.show_full.get() => url,
            _ => shown.result.with_value(|r| r.display_url.clone()),
        })
    }

    /// The composite's bytes, when it is made: what Download saves.
    pub fn composite(&self) -> Option<web_sys::Blob> {
        let result = self.result.get_value();
        self.area?.composite_of(&result).map(|c| c.blob)
    }

    fn mask(&self) -> Option<Mask> {
        let mut mask = self.applied.get_value()?.area()?.clone();
        if let Some(area) = self.area {
            mask.feather = area.feather.get_untracked();
        }
        Some(mask)
    }

    /// The original's full size, with the result laid in, as a PNG carrying `recipe`.
    /// After "Edit this result" it is the first photo's size: the earlier edits are laid
    /// into it first, each through its own area, then this one.
    async fn full_size(&self, recipe: &ImageRecipe) -> Result<(Made, (u32, u32)), String> {
        let applied = self.applied.get_value();
        let result = self.result.get_value();
        let (source, made) = self.images().await?;
        let (original, original_size, layers) = match applied.as_ref().and_then(|a| a.root.clone())
        {
            Some(root) => (root.original, Some(root.size), root.layers),
            None => (
                applied
                    .as_ref()
                    .and_then(|a| a.original.clone())
                    .unwrap_or(source),
                applied.as_ref().and_then(|a| a.original_size),
                Vec::new(),
            ),
        };
        let size = original_size.map(|o| full_size(o, result.dimensions));
        let job = Job {
            original,
            layers,
            result: made,
            mask: self.mask(),
            size,
            chunk: Some(flexedit_api::png_recipe_chunk(recipe)),
        };
        let made = composite(job).await.map_err(|e| e.to_string())?;
        let written = size.or(original_size).unwrap_or_default();
        Ok((made, written))
    }
}

/// What "Download full size" writes, in a sentence.
fn full_size_sentence(applied: Option<&Applied>, painted: bool) -> String {
    let size = applied
        .and_then(|a| a.root.as_ref().map(|r| r.size).or(a.original_size))
        .map(|(w, h)| format!(" ({w} × {h} px)"))
        .unwrap_or_default();
    if applied.is_some_and(|a| a.original.is_none()) {
        return "The image was not a file from this device, so full size is the size it was sent at.".to_owned();
    }
    if applied.is_some_and(|a| a.unfit && a.mask.is_some()) {
        return format!(
            "The area does not fit this image's shape, so Download full size is the whole result scaled up to the original's size{size}; scaling up adds no detail."
        );
    }
    if applied.is_some_and(|a| a.root.is_some()) {
        return format!(
            "Download full size writes the first photo's size{size}: its own pixels outside every painted area of its edits, each edit's result scaled up inside its own area, the later on top."
        );
    }
    if painted {
        format!(
            "Download full size writes the original's size{size}: its own pixels outside the painted area, the result scaled up inside it."
        )
    } else {
        format!(
            "Nothing was painted, so Download full size is the whole result scaled up to the original's size{size}; scaling up adds no detail."
        )
    }
}

/// The area's controls on the result: the model's untouched result on request, and the
/// original's full size.
#[component]
pub fn AreaResult(shown: Shown, recipe: ImageRecipe) -> impl IntoView {
    let notice = RwSignal::new(None::<(String, bool)>);
    let took = RwSignal::new(None::<f64>);
    let busy = RwSignal::new(false);
    let painted = shown
        .applied
        .with_value(|a| a.as_ref().is_some_and(|a| a.area().is_some()));
    let unfit = shown.state.with_untracked(|s| *s == State::Unfit);
    let sentence = shown
        .applied
        .with_value(|a| full_size_sentence(a.as_ref(), painted));
    let sentence_id = crate::page::unique_id("full-size-sentence");
    let on_full_size = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        took.set(None);
        notice.set(Some(("Writing the full size…".to_owned(), false)));
        let recipe = ImageRecipe {
            mask: painted,
            ..recipe.clone()
        };
        leptos::task::spawn_local(async move {
            let started = js_sys::Date::now();
            let outcome = match shown.full_size(&recipe).await {
                Ok((made, (w, h))) => {
                    let name = shown.result.with_value(|r| {
                        let prompt = &r.request.prompt_object;
                        download_file_name(
                            &prompt.prompt,
                            r.seed.or(prompt.seed),
                            OutputFormat::Png,
                        )
                        .replace(".png", "-full-size.png")
                    });
                    took.set(Some(js_sys::Date::now() - started));
                    match crate::page::save_blob(&made.blob, &name) {
                        Ok(()) => (format!("Saved the full size ({w} × {h} px) as {name}."), false),
                        Err(()) => (
                            "The browser would not save the file from the page. Try again, or use Download.".to_owned(),
                            true,
                        ),
                    }
                }
                Err(error) => (error, true),
            };
            notice.set(Some(outcome));
            busy.set(false);
        });
    };
    let status = move || {
        match shown.state.get() {
        State::None => None,
        State::Working => Some(("Laying the result into the original outside the painted area…".to_owned(), false)),
        State::Ready(_) => Some((
            "Outside the painted area this is the original; the compare view, Download and Edit this result use it.".to_owned(),
            false,
        )),
        State::Failed(error) => Some((error, true)),
        State::Unfit => Some((crate::mask::UNFIT_SENTENCE.to_owned(), false)),
    }
    };
    view! {
        <div class="area-result" data-testid="area-result">
            {unfit.then(|| view! {
                <p class="area-result-status" role="status" data-testid="composite-status" data-state="unfit">
                    {crate::mask::UNFIT_SENTENCE}
                </p>
            })}
            {painted.then(|| view! {
                <p class="area-result-status" class:result-notice-problem=move || status().is_some_and(|s| s.1)
                    role="status" data-testid="composite-status" data-state=move || match shown.state.get() {
                        State::None => "none",
                        State::Working => "working",
                        State::Ready(_) => "ready",
                        State::Failed(_) => "failed",
                        State::Unfit => "unfit",
                    }>
                    {move || status().map(|s| s.0)}
                </p>
                <button
                    type="button"
                    class="fe-button"
                    data-testid="show-full-result"
                    aria-pressed=move || shown.show_full.get().to_string()
                    on:click=move |_| shown.show_full.update(|on| *on = !*on)
                >
                    "Show the model's full result"
                </button>
            })}
            <button
                type="button"
                class="fe-button"
                data-testid="download-full-size"
                aria-describedby=sentence_id.clone()
                disabled=move || busy.get() || shown.state.with(|s| *s == State::Working)
                on:click=on_full_size
            >
                "Download full size"
            </button>
            <p class="result-hint" id=sentence_id data-testid="full-size-sentence">{sentence}</p>
            <p
                class="result-notice"
                class:result-notice-problem=move || notice.get().is_some_and(|n| n.1)
                role="status"
                data-testid="full-size-notice"
                data-ms=move || took.get().map(|ms| format!("{ms:.0}"))
            >
                {move || notice.get().map(|n| n.0)}
            </p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_size_is_the_originals_when_the_shapes_agree() {
        assert_eq!(full_size((6000, 4000), Some((2448, 1632))), (6000, 4000));
        assert_eq!(full_size((6000, 4000), None), (6000, 4000));
    }

    #[test]
    fn a_reframed_result_keeps_its_shape_at_the_originals_pixel_count() {
        assert_eq!(full_size((6000, 4000), Some((1000, 1000))), (4899, 4899));
        // Never smaller than the result itself.
        assert_eq!(full_size((100, 50), Some((1000, 1000))), (1000, 1000));
    }
}
