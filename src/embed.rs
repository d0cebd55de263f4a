//! The editor for pages that embed it: `mount()` and the handle it resolves to, options
//! with the fields of config.json, and the events dispatched on the host element.
//!
//! `embed.js` (the loader shipped beside the page) starts the wasm module once, gives each
//! editor a shadow root with the editor's styles, and calls [`mount`] with a container
//! inside it. Each editor has its own reactive owner, state and listeners, so several on
//! one page do not interfere, and [`EditorHandle::unmount`] removes all of them.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::callback::UnsyncCallback;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::app::App;
use crate::config::{ConfigAnswer, ConfigFile};
use crate::editor::Wiring;
use crate::run::{Failure, Phase, RunEvent, RunResult};
use crate::source::Source;
use crate::transport::Network;

/// Why the host's call could not be done. `Display` is the sentence thrown to the page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmbedError {
    #[error(
        "flexedit: the options could not be used: {0}. Options take the fields of config.json: endpoint, mode, lockEndpoint, lockMode, maxUploadPixels, maxSourceBytes, defaults, recipes, maxVariations and maxInFlight."
    )]
    Options(String),
    #[error("flexedit: this editor was unmounted. Mount a new one to go on.")]
    Unmounted,
    #[error("flexedit: setImage takes a Blob, a File or the image's https:// URL.")]
    NotAnImage,
    #[error("flexedit: {0}")]
    Refused(String),
}

impl From<EmbedError> for JsValue {
    fn from(e: EmbedError) -> Self {
        js_sys::Error::new(&e.to_string()).into()
    }
}

/// Reads options as given by the host (a plain object; `undefined` for none).
pub fn parse_options(options: &JsValue) -> Result<ConfigFile, EmbedError> {
    if options.is_undefined() || options.is_null() {
        return Ok(ConfigFile::default());
    }
    if !options.is_object() || js_sys::Array::is_array(options) {
        return Err(EmbedError::Options(
            "they must be an object, such as { mode: \"proxy\" }".into(),
        ));
    }
    // Read into config.json's type, with the same reader, so an unknown (misspelt) option is
    // refused exactly as it would be there.
    crate::serde_js::from_js(options.clone()).map_err(EmbedError::Options)
}

#[derive(Default)]
struct Mounted {
    wiring: Option<Wiring>,
    unmount: Option<Box<dyn FnOnce()>>,
}

/// What `mount()` resolves to: the host's way to drive one editor. The JavaScript class
/// around it is declared in `main.rs`, with the module's other exports.
pub struct EditorHandle {
    mounted: Rc<RefCell<Mounted>>,
}

impl EditorHandle {
    fn wiring(&self) -> Result<Wiring, EmbedError> {
        self.mounted.borrow().wiring.ok_or(EmbedError::Unmounted)
    }
}

impl EditorHandle {
    /// Removes the editor, its listeners and its state. Calling it again does nothing.
    pub fn unmount(&self) {
        let unmount = {
            let mut mounted = self.mounted.borrow_mut();
            mounted.wiring = None;
            mounted.unmount.take()
        };
        if let Some(unmount) = unmount {
            unmount();
        }
    }

    /// Changes options while the editor runs; fields left out keep their values.
    pub fn set_options(&self, options: JsValue) -> Result<(), JsValue> {
        let wiring = self.wiring()?;
        let file = parse_options(&options)?;
        let current = wiring
            .config
            .try_get_untracked()
            .ok_or(EmbedError::Unmounted)?;
        wiring.apply_config(current.apply(file));
        Ok(())
    }

    /// Makes `image` (a Blob or File, or an https:// URL) the image to edit. Resolves once
    /// it is in; rejects with the sentence the editor would show when it is refused.
    pub fn set_image(&self, image: JsValue) -> js_sys::Promise {
        let wiring = self.wiring();
        wasm_bindgen_futures::future_to_promise(async move {
            set_image_part(wiring?, image)
                .await
                .map_err(|missing| EmbedError::Refused(missing.to_string()))?
        })
    }

    /// Makes several images (each a Blob, File or https:// URL) the images to edit, one
    /// edit each per press. Resolves once they are in; rejects with the sentence for the
    /// first one refused, and then changes nothing.
    pub fn set_images(&self, images: JsValue) -> js_sys::Promise {
        let wiring = self.wiring();
        wasm_bindgen_futures::future_to_promise(async move {
            set_images_part(wiring?, images)
                .await
                .map_err(|missing| EmbedError::Refused(missing.to_string()))?
        })
    }

    /// Replaces the prompt.
    pub fn set_prompt(&self, text: String) -> Result<(), JsValue> {
        let wiring = self.wiring()?;
        wiring
            .state
            .params
            .try_update(|p| p.prompt = text)
            .ok_or(EmbedError::Unmounted)?;
        Ok(())
    }
}

crate::split::part! {
    prepare:
    /// The image a host gives, read and checked with the intake's own code, which loads
    /// with the preparation.
    async fn set_image_part(wiring: Wiring, image: JsValue) -> Result<JsValue, JsValue> {
        let source = source_of(&wiring, &image).await?;
        if wiring.state.source.is_disposed() {
            source.release();
            return Err(EmbedError::Unmounted.into());
        }
        wiring.state.set_source(source);
        Ok(JsValue::UNDEFINED)
    }
}

crate::split::part! {
    prepare:
    /// The images a host gives, each read and checked as [`set_image_part`] does.
    async fn set_images_part(wiring: Wiring, images: JsValue) -> Result<JsValue, JsValue> {
        if !js_sys::Array::is_array(&images) {
            return Err(EmbedError::NotAnImage.into());
        }
        let images = js_sys::Array::from(&images);
        let mut sources = Vec::with_capacity(images.length() as usize);
        for (i, image) in images.iter().enumerate() {
            match source_of(&wiring, &image).await {
                Ok(source) => sources.push(source),
                Err(refusal) => {
                    for source in sources {
                        source.release();
                    }
                    let why = refusal.as_string().unwrap_or_else(|| {
                        js_sys::Reflect::get(&refusal, &"message".into())
                            .ok()
                            .and_then(|m| m.as_string())
                            .unwrap_or_default()
                    });
                    return Err(EmbedError::Refused(format!("image {}: {why}", i + 1)).into());
                }
            }
        }
        if wiring.state.source.is_disposed() {
            for source in sources {
                source.release();
            }
            return Err(EmbedError::Unmounted.into());
        }
        wiring.state.set_sources(sources);
        Ok(JsValue::UNDEFINED)
    }
}

/// A host's image (a Blob, File or https:// URL) as a source, or why it is refused.
async fn source_of(wiring: &Wiring, image: &JsValue) -> Result<Source, JsValue> {
    {
        let source = if let Some(blob) = image.dyn_ref::<web_sys::Blob>() {
            let name = image
                .dyn_ref::<web_sys::File>()
                .map(web_sys::File::name)
                .unwrap_or_else(|| "image".to_owned());
            let (max_bytes, max_pixels) = wiring
                .config
                .try_with_untracked(|c| (c.max_source_bytes, c.max_upload_pixels))
                .ok_or(EmbedError::Unmounted)?;
            crate::intake::source_from_blob(blob.clone(), name, max_bytes, max_pixels)
                .await
                .map_err(|e| EmbedError::Refused(e.to_string()))?
        } else if let Some(text) = image.as_string() {
            let url = crate::intake::checked_url(&text).map_err(EmbedError::Refused)?;
            crate::intake::source_from_url(url)
                .await
                .map_err(|e| EmbedError::Refused(e.to_string()))?
        } else {
            return Err(EmbedError::NotAnImage.into());
        };
        Ok(source)
    }
}

/// Reads what embed.js got for config.json: `{ status, text }`, status 0 when nothing
/// answered, text null when it could not be read.
fn config_answer(answer: &JsValue) -> ConfigAnswer {
    let field = |name: &str| js_sys::Reflect::get(answer, &name.into()).unwrap_or_default();
    ConfigAnswer {
        status: field("status")
            .as_f64()
            .filter(|s| (0.0..=999.0).contains(s))
            .map_or(0, |s| s as u16),
        text: field("text").as_string(),
    }
}

/// Mounts an editor into `container` with `config` (what fetching config.json gave, see
/// [`config_answer`]) and then `options`. Events go to `host`. `page`: the editor owns the
/// whole page (see `Editor`). Resolves to the [`EditorHandle`] (as JavaScript, by `wrap`)
/// once the editor is ready; throws for options it cannot use.
pub fn mount(
    container: web_sys::HtmlElement,
    host: web_sys::EventTarget,
    config: JsValue,
    options: JsValue,
    page: bool,
    wrap: fn(EditorHandle) -> JsValue,
) -> Result<js_sys::Promise, JsValue> {
    console_error_panic_hook::set_once();
    let file = parse_options(&options)?;
    let config = config_answer(&config);
    let mounted = Rc::new(RefCell::new(Mounted::default()));
    let mut resolve = None;
    let ready = js_sys::Promise::new(&mut |yes, _no| resolve = Some(yes));
    let resolve =
        resolve.ok_or_else(|| js_sys::Error::new("flexedit: the browser refused a promise"))?;

    // An embedded editor's edits at the provider are kept under its element's id.
    let in_flight = (!page).then(|| {
        host.dyn_ref::<web_sys::Element>()
            .map(web_sys::Element::id)
            .unwrap_or_default()
    });
    let for_handle = mounted.clone();
    // index.html's editor is rendered off the page, in short tasks, while its first screen
    // (rendered at build time) stays; once whole it takes that screen's place in one step,
    // laid out alike, and only then is it ready.
    let staging = if page {
        let document = container
            .owner_document()
            .ok_or_else(|| js_sys::Error::new("flexedit: the element is in no document"))?;
        Some(
            document
                .create_element("div")
                .map_err(|_| js_sys::Error::new("flexedit: the browser refused an element"))?,
        )
    } else {
        None
    };
    let handed = Rc::new(RefCell::new(None::<JsValue>));
    let takeover = staging.clone().map(|staging| {
        let (container, handed, resolve) = (container.clone(), handed.clone(), resolve.clone());
        crate::page::Takeover::new(move || {
            // The first screen's fields take input before the editor runs: what was typed
            // there goes on in the editor's own fields.
            let carried = crate::page::Carried::take(&container);
            container.set_text_content(None);
            while let Some(child) = staging.first_child() {
                let _ = container.append_child(&child);
            }
            let _ = container.remove_attribute("aria-busy");
            let _ = container.remove_attribute("hidden");
            carried.apply(&container);
            if let Some(handle) = handed.borrow_mut().take() {
                let _ = resolve.call1(&JsValue::UNDEFINED, &handle);
            }
        })
    });
    let root: web_sys::HtmlElement = match &staging {
        Some(staging) => staging.clone().unchecked_into(),
        None => container,
    };
    let unmount = leptos::mount::mount_to(root, move || {
        if let Some(takeover) = takeover {
            provide_context(takeover);
        }
        let handed = handed.clone();
        let on_ready = UnsyncCallback::new(move |wiring: Wiring| {
            for_handle.borrow_mut().wiring = Some(wiring);
            announce(wiring, host.clone());
            let handle = wrap(EditorHandle {
                mounted: for_handle.clone(),
            });
            if page {
                *handed.borrow_mut() = Some(handle);
            } else {
                let _ = resolve.call1(&JsValue::UNDEFINED, &handle);
            }
        });
        view! { <App config options=file page in_flight=in_flight.clone() on_ready=Some(on_ready)/> }
    });
    mounted.borrow_mut().unmount = Some(Box::new(move || drop(unmount)));
    Ok(ready)
}

/// Dispatches the editor's events on the host: `flexedit:phase` on every change of phase,
/// `flexedit:error` when a run fails, `flexedit:result` with the image's bytes when one
/// succeeds. The effects belong to the editor and end with it.
fn announce(wiring: Wiring, host: web_sys::EventTarget) {
    let network = use_context::<Network>();
    let phase_host = host.clone();
    // The record's id comes with the phases from the moment the provider names it, so a
    // host can follow the edit itself (`GET /api/results/{record}`).
    Effect::watch(
        move || (wiring.state.phase.get(), wiring.state.record.get()),
        move |(phase, record), previous, _| {
            // Setting the phase it already has (a new image while idle) is no change.
            if previous == Some(&(phase.clone(), record.clone())) {
                return;
            }
            dispatch(
                &phase_host,
                "flexedit:phase",
                &phase_detail(phase, record.as_deref()),
            );
            if let Phase::Failed(failure) = phase {
                dispatch(
                    &phase_host,
                    "flexedit:error",
                    &error_detail(failure, record.as_deref()),
                );
            }
        },
        false,
    );
    // One `flexedit:result` per job, as each one's result arrives (not when a person picks
    // an earlier one to look at again).
    if let Some(events) = wiring.state.events() {
        events.subscribe(Rc::new(move |_id: &str, event: &RunEvent| {
            let RunEvent::Shown(result) = event else {
                return;
            };
            let (result, host, network) = (result.clone(), host.clone(), network.clone());
            spawn_local(async move {
                match result_detail(result, network).await {
                    Ok(detail) => dispatch(&host, "flexedit:result", &detail),
                    Err(missing) => dispatch(
                        &host,
                        "flexedit:error",
                        &error_detail(&Failure::part_missing(missing), None),
                    ),
                }
            });
        }));
    }
}

/// The detail of `flexedit:progress`.
#[derive(Serialize)]
struct PhaseDetail<'a> {
    phase: &'static str,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<&'a str>,
}

fn phase_detail(phase: &Phase, record: Option<&str>) -> JsValue {
    let now = js_sys::Date::now();
    let (name, percent) = match phase {
        Phase::Idle => ("idle", None),
        Phase::Queued => ("queued", None),
        Phase::Preparing => ("preparing", None),
        Phase::Uploading { percent } => ("uploading", Some(*percent)),
        Phase::Editing { .. } => ("editing", None),
        Phase::LoadingResult => ("loading-result", None),
        Phase::Done => ("done", None),
        Phase::Failed(_) => ("failed", None),
        Phase::Cancelled { .. } => ("cancelled", None),
    };
    crate::serde_js::to_js(&PhaseDetail {
        phase: name,
        text: phase.describe(now),
        percent: percent.map(f64::from),
        record,
    })
}

/// The detail of `flexedit:error`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorDetail<'a> {
    record: Option<&'a str>,
    kind: &'a str,
    message: &'a str,
    next_step: &'a str,
    provider_words: Option<&'a str>,
    may_have_billed: bool,
}

fn error_detail(failure: &Failure, record: Option<&str>) -> JsValue {
    crate::serde_js::to_js(&ErrorDetail {
        record,
        kind: failure.kind.as_str(),
        message: &failure.message,
        next_step: &failure.next_step,
        provider_words: failure.provider_words.as_deref(),
        may_have_billed: failure.may_have_billed,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultDetail<'a> {
    prompt: &'a str,
    parameters: &'a flexedit_api::PromptObject,
    seed: Option<u32>,
    result_url: &'a str,
    asset_path: Option<&'a str>,
    width: Option<u32>,
    height: Option<u32>,
    duration_ms: f64,
    credits: Option<flexedit_api::Credits>,
    /// The provider's id of the edit's record.
    record: Option<String>,
    /// The job's place among the jobs of its press (from 0), how many there were, and
    /// the press they share.
    index: Option<usize>,
    of: Option<usize>,
    batch: Option<&'a str>,
    image_error: Option<String>,
}

crate::split::part! {
    run:
    /// The detail of `flexedit:result`. Its `parameters` are the request body's
    /// `promptObject`, written by the same serde definitions, so the part that sends the
    /// request (loaded, since there is a result) writes it, and fetches the image's bytes.
    async fn result_detail(result: RunResult, network: Option<Network>) -> JsValue {
        let image = match network
            .as_ref()
            .and_then(|n| Some((n, n.connection.try_get_untracked()?)))
        {
            Some((network, connection)) => network
                .net
                .transport()
                .fetch_image(&connection, &result.display_url)
                .await
                .map_err(|e| e.to_string()),
            None => Err("flexedit: the editor was unmounted".to_owned()),
        };
        let (blob, image_error) = match image {
            Ok(blob) => (Some(blob), None),
            Err(e) => (None, Some(e)),
        };
        let detail = crate::serde_js::to_js(&ResultDetail {
            prompt: &result.request.prompt_object.prompt,
            parameters: &result.request.prompt_object,
            seed: result.seed,
            result_url: &result.display_url,
            asset_path: result.asset_path.as_ref().map(|p| p.as_str()),
            width: result.dimensions.map(|d| d.0),
            height: result.dimensions.map(|d| d.1),
            duration_ms: result.duration_ms,
            credits: result.credits,
            record: result.record.as_ref().map(ToString::to_string),
            index: result.place.as_ref().map(|p| p.index),
            of: result.place.as_ref().map(|p| p.of),
            batch: result.place.as_ref().map(|p| p.batch.as_str()),
            image_error,
        });
        let image = blob.map_or(JsValue::NULL, JsValue::from);
        let _ = js_sys::Reflect::set(&detail, &"image".into(), &image);
        detail
    }
}

fn dispatch(host: &web_sys::EventTarget, name: &str, detail: &JsValue) {
    let init = web_sys::CustomEventInit::new();
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_detail(detail);
    if let Ok(event) = web_sys::CustomEvent::new_with_event_init_dict(name, &init) {
        let _ = host.dispatch_event(&event);
    }
}
