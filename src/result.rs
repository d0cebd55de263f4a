//! The result panel: the edited image compared with its source, what produced it, and what
//! the person can do next with it (save, copy, edit further, reuse the seed, retry).

use flexedit_api::{
    ApiError, Credits, ImageRecipe, OutputFormat, PromptObject, RecipeFileError, Stage,
    download_file_name, write_recipe,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::compare::Compare;
use crate::page::{save_blob, unique_id};
use crate::prepare::{blob_bytes, bytes_blob};
use crate::run::RunResult;
use crate::transport::Network;

/// Shown for a parameter the request left out, so the provider chose.
pub const PROVIDER_DEFAULT: &str = "provider default";

/// The parameters that produced a result, in the form's order and with its plain names.
pub fn parameter_facts(prompt: &PromptObject) -> Vec<(&'static str, String)> {
    fn or_default<T>(value: Option<T>, show: impl FnOnce(T) -> String) -> String {
        value
            .map(show)
            .unwrap_or_else(|| PROVIDER_DEFAULT.to_owned())
    }
    vec![
        ("Prompt", prompt.prompt.clone()),
        (
            "Aspect ratio",
            or_default(prompt.aspect_ratio, |a| a.label().to_owned()),
        ),
        (
            "Output format",
            or_default(prompt.output_format, |f| f.label().to_owned()),
        ),
        (
            "Output quality",
            or_default(prompt.output_quality, |q| q.to_string()),
        ),
        ("Steps", or_default(prompt.steps, |s| s.to_string())),
        ("Guidance", or_default(prompt.guidance, format_amount)),
        (
            "Safety tolerance",
            or_default(prompt.safety_tolerance, |s| s.to_string()),
        ),
        (
            "Prompt upsampling",
            or_default(prompt.prompt_upsampling, |on| {
                if on { "on" } else { "off" }.to_owned()
            }),
        ),
    ]
}

/// "12.3 s": one decimal is as precise as a person reads a wait.
pub fn format_duration(ms: f64) -> String {
    if ms.is_finite() && ms >= 0.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        "unknown".to_owned()
    }
}

/// A number as a person writes it: no trailing zeros, at most two decimals.
pub fn format_amount(n: f64) -> String {
    if !n.is_finite() {
        return "unknown".to_owned();
    }
    let text = format!("{n:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// "120 of 1000 used before this edit was charged": the provider's `usedCredit` lags one
/// request, so it is labelled for what it is, and no "remaining" figure is made from it
/// that would overstate what is left.
pub fn format_credits(credits: &Credits) -> String {
    format!(
        "{} of {} used before this edit was charged",
        format_amount(credits.used),
        format_amount(credits.limit),
    )
}

/// "1024 × 768 px".
pub fn format_dimensions((w, h): (u32, u32)) -> String {
    format!("{w} × {h} px")
}

/// When the display link stops working: `when` is the local time already written out,
/// `now` and `expires_at` are unix seconds.
pub fn expiry_text(expires_at: i64, now: i64, when: &str) -> String {
    let left = expires_at - now;
    if left <= 0 {
        format!("Expired {when}: the image may no longer load; run the edit again for a new link")
    } else if left < 90 {
        format!("{when} (in about a minute)")
    } else if left < 90 * 60 {
        format!("{when} (in about {} minutes)", (left + 30) / 60)
    } else if left < 36 * 3600 {
        format!("{when} (in about {} hours)", (left + 1800) / 3600)
    } else {
        format!("{when} (in about {} days)", (left + 43_200) / 86_400)
    }
}

/// The expiry in the person's own clock and calendar.
fn local_time(unix_seconds: i64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(unix_seconds as f64 * 1000.0));
    let today = js_sys::Date::new_0();
    let time = format!("{:02}:{:02}", date.get_hours(), date.get_minutes());
    let same_day = date.get_full_year() == today.get_full_year()
        && date.get_month() == today.get_month()
        && date.get_date() == today.get_date();
    if same_day {
        format!("at {time} today")
    } else {
        let day = date.to_locale_date_string("default", &JsValue::UNDEFINED);
        format!("on {} at {time}", String::from(day))
    }
}

fn now_unix_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// The format the saved file really is: what the image says it is, else what was asked for.
fn format_of(blob_type: &str, requested: Option<OutputFormat>) -> OutputFormat {
    match blob_type {
        "image/png" => OutputFormat::Png,
        "image/jpeg" | "image/jpg" => OutputFormat::Jpg,
        _ => requested.unwrap_or_default(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Notice {
    Working(String),
    Done(String),
    Problem(String),
}

impl Notice {
    fn text(&self) -> &str {
        match self {
            Notice::Working(t) | Notice::Done(t) | Notice::Problem(t) => t,
        }
    }
}

/// The result panel. Renders nothing until there is a result. Reaches the network only
/// through the [`Network`] in context.
#[component]
pub fn ResultView(
    #[prop(into)] result: Signal<Option<RunResult>>,
    on_edit_this: Callback<RunResult>,
    on_reuse_seed: Callback<u32>,
    on_retry: Callback<()>,
) -> impl IntoView {
    // Only a different result rebuilds the panel; the same one set again keeps its notices.
    let current = Memo::new(move |_| result.get());
    move || {
        current.get().map(|result| {
            view! {
                <ResultPanel
                    result=result
                    on_edit_this=on_edit_this
                    on_reuse_seed=on_reuse_seed
                    on_retry=on_retry
                />
            }
        })
    }
}

#[component]
fn ResultPanel(
    result: RunResult,
    on_edit_this: Callback<RunResult>,
    on_reuse_seed: Callback<u32>,
    on_retry: Callback<()>,
) -> impl IntoView {
    let network = use_context::<Network>();
    let notice = RwSignal::new(None::<Notice>);
    let busy = RwSignal::new(false);
    let measured = RwSignal::new(None::<(u32, u32)>);
    let failed_to_load = RwSignal::new(false);

    let heading_id = unique_id("result-heading");
    let labelled_by = heading_id.clone();
    let retry_hint_id = unique_id("result-retry-hint");
    let described_by = retry_hint_id.clone();
    let prompt = result.request.prompt_object.clone();
    let seed = result.seed.or(prompt.seed);
    let known_size = result.dimensions;
    let display_url = result.display_url.clone();
    // The result laid into the source through the painted area (src/composite.rs).
    let shown = crate::composite::Shown::new(&result, network.clone());

    let recipe = ImageRecipe {
        prompt: prompt.prompt.clone(),
        prompt_object: serde_json::to_value(&prompt).unwrap_or_default(),
        seed: seed.map(u64::from),
        model: result.request.model.clone(),
        parent: Some(prompt.image_url.clone()),
        mask: false,
    };
    let area_recipe = recipe.clone();
    let on_download = {
        let network = network.clone();
        let url = display_url.clone();
        let prompt = prompt.clone();
        move |_| {
            let composite = shown.composite();
            let recipe = ImageRecipe {
                mask: composite.is_some(),
                ..recipe.clone()
            };
            if busy.get_untracked() {
                return;
            }
            busy.set(true);
            notice.set(Some(Notice::Working(
                "Getting the image to save…".to_owned(),
            )));
            let network = network.clone();
            let url = url.clone();
            let prompt = prompt.clone();
            spawn_local(async move {
                let fetched = match composite {
                    Some(blob) => Ok(blob),
                    None => fetch_result(network.as_ref(), &url).await,
                };
                let outcome = match fetched {
                    Ok(blob) => {
                        let format = format_of(&blob.type_(), prompt.output_format);
                        let name = download_file_name(&prompt.prompt, seed, format);
                        let (blob, unwritten) = with_recipe(blob, &recipe).await;
                        let after = unwritten.map(|e| format!(" {e}")).unwrap_or_default();
                        match save_blob(&blob, &name) {
                            Ok(()) => Notice::Done(format!("Saved as {name}.{after}")),
                            Err(()) => open_instead(
                                &url,
                                "The browser would not save the file from the page",
                            ),
                        }
                    }
                    Err(error) => open_instead(&url, &error.to_string()),
                };
                notice.set(Some(outcome));
                busy.set(false);
            });
        }
    };

    let on_copy = {
        let network = network.clone();
        let url = display_url.clone();
        move |_| {
            if busy.get_untracked() {
                return;
            }
            busy.set(true);
            notice.set(Some(Notice::Working("Copying the image…".to_owned())));
            // The clipboard item is made now, inside the click, with the image still to
            // come: browsers only let a page write an image during the gesture itself.
            let write = ClipboardImage::available().map(|clipboard| {
                let network = network.clone();
                let url = url.clone();
                clipboard.write(wasm_bindgen_futures::future_to_promise(async move {
                    let blob = fetch_result(network.as_ref(), &url)
                        .await
                        .map_err(|e| JsValue::from_str(&e.to_string()))?;
                    as_png(blob).await.map(JsValue::from)
                }))
            });
            let url = url.clone();
            spawn_local(async move {
                let copied = match write {
                    Some(write) => JsFuture::from(write).await.is_ok(),
                    None => false,
                };
                let outcome = if copied {
                    Notice::Done("Copied the image.".to_owned())
                } else if copy_text(&url).await {
                    Notice::Done(
                        "This browser would not put the image itself on the clipboard, so its link was copied instead. The link expires; use Download to keep the image."
                            .to_owned(),
                    )
                } else {
                    Notice::Problem(
                        "The browser refused access to the clipboard. Use Download instead, or allow clipboard access for this page and try again."
                            .to_owned(),
                    )
                };
                notice.set(Some(outcome));
                busy.set(false);
            });
        }
    };

    let on_edit_click = {
        let result = result.clone();
        move |_| on_edit_this.run(result.clone())
    };
    let reuse_title = if seed.is_some() {
        "Put this seed in the form, to get a similar result with other settings"
    } else {
        "The provider did not report a seed for this result"
    };
    let on_reuse_click = move |_| {
        if let Some(seed) = seed {
            on_reuse_seed.run(seed);
        }
    };

    let size_text = move || match known_size.or_else(|| measured.get()) {
        Some(size) => format_dimensions(size),
        None if failed_to_load.get() => "unknown (the image did not load)".to_owned(),
        None => "measuring…".to_owned(),
    };
    let expiry = result
        .expires_at
        .map(|at| expiry_text(at, now_unix_seconds(), &local_time(at)));
    let credits = result.credits.as_ref().map(format_credits);
    let parameters = parameter_facts(&prompt)
        .into_iter()
        .map(|(name, value)| {
            let key = name.to_ascii_lowercase().replace(' ', "-");
            view! {
                <div class="result-fact" data-fact=key>
                    <dt>{name}</dt>
                    <dd>{value}</dd>
                </div>
            }
        })
        .collect_view();

    let before_url = result.before_url.clone();
    let after_url = shown.after_url();

    view! {
        <section class="result" data-testid="result" aria-labelledby=labelled_by>
            <h2 class="result-heading" id=heading_id>"Result"</h2>
            <Compare
                before_url=Signal::stored(before_url)
                after_url=after_url
                size=known_size
                on_after_load=Callback::new(move |size| {
                    failed_to_load.set(false);
                    measured.set(Some(size));
                })
                on_after_error=Callback::new(move |()| failed_to_load.set(true))
                after_test_id="result-image"
            />
            <Show when=move || failed_to_load.get()>
                <p class="result-problem" role="alert">
                    "The result image did not load: its link may have expired or the connection dropped. Check your connection, or use Retry to run the edit again."
                </p>
            </Show>
            <div class="result-actions">
                <button
                    type="button"
                    class="fe-button result-primary"
                    data-testid="download"
                    disabled=move || busy.get()
                    on:click=on_download
                >
                    "Download"
                </button>
                <button
                    type="button"
                    class="fe-button"
                    data-testid="copy-image"
                    disabled=move || busy.get()
                    on:click=on_copy
                >
                    "Copy image"
                </button>
                <button
                    type="button"
                    class="fe-button"
                    data-testid="edit-this-result"
                    title="Use this result as the image for the next edit, without uploading it again"
                    on:click=on_edit_click
                >
                    "Edit this result"
                </button>
                <button
                    type="button"
                    class="fe-button"
                    data-testid="reuse-seed"
                    disabled=seed.is_none()
                    title=reuse_title
                    on:click=on_reuse_click
                >
                    "Reuse seed"
                </button>
                <button
                    type="button"
                    class="fe-button"
                    data-testid="retry"
                    title="Run the same edit again. It may cost credits again."
                    aria-describedby=described_by
                    on:click=move |_| on_retry.run(())
                >
                    "Retry"
                </button>
                <a
                    class="result-open"
                    href=display_url.clone()
                    target="_blank"
                    rel="noopener noreferrer"
                >
                    "Open in a new tab"
                </a>
            </div>
            <crate::composite::AreaResult shown recipe=area_recipe/>
            <p class="result-hint" id=retry_hint_id>
                "Retry runs the same edit again and may cost credits again."
            </p>
            <p
                class="result-notice"
                class:result-notice-problem=move || {
                    matches!(notice.get(), Some(Notice::Problem(_)))
                }
                role="status"
                data-testid="result-notice"
            >
                {move || notice.get().map(|n| n.text().to_owned())}
            </p>
            <dl class="result-info" data-testid="result-info">
                <div class="result-fact" data-fact="size">
                    <dt>"Size"</dt>
                    <dd>{size_text}</dd>
                </div>
                <div class="result-fact" data-fact="seed">
                    <dt>"Seed"</dt>
                    <dd>{seed.map(|s| s.to_string()).unwrap_or_else(|| "not reported".to_owned())}</dd>
                </div>
                {parameters}
                <div class="result-fact" data-fact="time">
                    <dt>"Time taken"</dt>
                    <dd>{format_duration(result.duration_ms)}</dd>
                </div>
                {credits.map(|text| view! {
                    <div class="result-fact" data-fact="credits">
                        <dt>"Credits"</dt>
                        <dd>{text}</dd>
                    </div>
                })}
                {expiry.map(|text| view! {
                    <div class="result-fact" data-fact="expires">
                        <dt>"Link expires"</dt>
                        <dd>{text}</dd>
                    </div>
                })}
            </dl>
        </section>
    }
}

async fn fetch_result(network: Option<&Network>, url: &str) -> Result<web_sys::Blob, ApiError> {
    match network {
        Some(network) => {
            let connection = network.connection.get_untracked();
            network.net.transport().fetch_image(&connection, url).await
        }
        None => Err(ApiError::Network {
            stage: Stage::Result,
        }),
    }
}

/// The result's bytes with its recipe written into the file, so that the image itself
/// says how it was made; the bytes as they were, and why, when it cannot be written.
async fn with_recipe(
    blob: web_sys::Blob,
    recipe: &ImageRecipe,
) -> (web_sys::Blob, Option<RecipeFileError>) {
    let Some(bytes) = blob_bytes(&blob).await else {
        return (blob, None);
    };
    match write_recipe(&bytes, recipe) {
        Ok(written) => match bytes_blob(&written, &blob.type_()) {
            Some(with) => (with, None),
            None => (blob, None),
        },
        Err(err) => (blob, Some(err)),
    }
}

/// The fallback when the page cannot get the bytes: the browser can still show the image
/// and save it from its own tab.
fn open_instead(url: &str, reason: &str) -> Notice {
    let reason = reason.trim_end_matches('.');
    let opened = window()
        .open_with_url_and_target(url, "_blank")
        .ok()
        .flatten();
    match opened {
        Some(tab) => {
            // The result's host gets no handle back to the editor.
            let _ = js_sys::Reflect::set(&tab, &"opener".into(), &JsValue::NULL);
            Notice::Problem(format!(
                "The image could not be saved from the page ({reason}), so it was opened in a new tab: save it from there."
            ))
        }
        None => Notice::Problem(format!(
            "The image could not be saved from the page ({reason}). Use “Open in a new tab” and save it from there."
        )),
    }
}

/// The clipboard takes PNG everywhere, and other image types almost nowhere.
async fn as_png(blob: web_sys::Blob) -> Result<web_sys::Blob, JsValue> {
    if blob.type_() == "image/png" {
        return Ok(blob);
    }
    let bitmap: web_sys::ImageBitmap =
        JsFuture::from(window().create_image_bitmap_with_blob(&blob)?)
            .await?
            .dyn_into()?;
    let canvas = web_sys::OffscreenCanvas::new(bitmap.width(), bitmap.height())?;
    let context: web_sys::OffscreenCanvasRenderingContext2d = canvas
        .get_context("2d")?
        .ok_or_else(|| JsValue::from_str("no 2d context"))?
        .dyn_into()?;
    context.draw_image_with_image_bitmap(&bitmap, 0.0, 0.0)?;
    bitmap.close();
    let options = web_sys::ImageEncodeOptions::new();
    options.set_type("image/png");
    JsFuture::from(canvas.convert_to_blob_with_options(&options)?)
        .await?
        .dyn_into()
}

/// `navigator.clipboard`, when the page may use it (secure contexts only).
fn clipboard() -> Option<web_sys::Clipboard> {
    let clipboard = js_sys::Reflect::get(&window().navigator(), &"clipboard".into()).ok()?;
    (!clipboard.is_undefined() && !clipboard.is_null()).then(|| clipboard.unchecked_into())
}

/// The means to put an image on the clipboard, where the browser has them: reached through
/// reflection because `ClipboardItem` has no stable binding.
struct ClipboardImage {
    clipboard: web_sys::Clipboard,
    item: js_sys::Function,
}

impl ClipboardImage {
    fn available() -> Option<Self> {
        let clipboard = clipboard()?;
        let item = js_sys::Reflect::get(&js_sys::global(), &"ClipboardItem".into())
            .ok()?
            .dyn_into()
            .ok()?;
        Some(Self { clipboard, item })
    }

    /// `navigator.clipboard.write([new ClipboardItem({"image/png": png})])`; a promise
    /// that rejects when the browser refuses.
    fn write(&self, png: js_sys::Promise) -> js_sys::Promise {
        let items = js_sys::Object::new();
        let written = js_sys::Reflect::set(&items, &"image/png".into(), &png)
            .and_then(|_| js_sys::Reflect::construct(&self.item, &js_sys::Array::of1(&items)));
        match written {
            Ok(item) => self.clipboard.write(&js_sys::Array::of1(&item)),
            Err(error) => js_sys::Promise::reject(&error),
        }
    }
}

/// Copies text; whether the browser allowed it.
pub(crate) async fn copy_text(text: &str) -> bool {
    match clipboard() {
        Some(clipboard) => JsFuture::from(clipboard.write_text(text)).await.is_ok(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flexedit_api::AspectRatio;

    fn prompt_object() -> PromptObject {
        PromptObject {
            image_url: "images/a.png".into(),
            prompt: "Add the text SALE".into(),
            aspect_ratio: None,
            output_format: None,
            output_quality: None,
            steps: None,
            guidance: None,
            safety_tolerance: None,
            prompt_upsampling: None,
            seed: None,
        }
    }

    #[test]
    fn omitted_parameters_say_the_provider_chose() {
        let facts = parameter_facts(&prompt_object());
        assert_eq!(facts[0], ("Prompt", "Add the text SALE".to_owned()));
        assert!(facts[1..].iter().all(|(_, v)| v == PROVIDER_DEFAULT));
        assert_eq!(facts.len(), 8);
    }

    #[test]
    fn sent_parameters_are_shown_as_sent() {
        let p = PromptObject {
            aspect_ratio: Some(AspectRatio::Landscape16x9),
            output_format: Some(OutputFormat::Jpg),
            output_quality: Some(90),
            steps: Some(30),
            guidance: Some(2.5),
            safety_tolerance: Some(2),
            prompt_upsampling: Some(false),
            ..prompt_object()
        };
        let values: Vec<String> = parameter_facts(&p).into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            values[1..],
            ["16:9 landscape", "JPG", "90", "30", "2.5", "2", "off"]
        );
    }

    #[test]
    fn numbers_read_as_a_person_writes_them() {
        assert_eq!(format_duration(12_345.0), "12.3 s");
        assert_eq!(format_duration(f64::NAN), "unknown");
        assert_eq!(format_amount(4.0), "4");
        assert_eq!(format_amount(2.50), "2.5");
        assert_eq!(format_amount(-0.001), "0");
        assert_eq!(
            format_credits(&Credits {
                limit: 1000.0,
                used: 120.5
            }),
            "120.5 of 1000 used before this edit was charged"
        );
        assert_eq!(format_dimensions((1024, 768)), "1024 × 768 px");
    }

    #[test]
    fn expiry_is_relative_to_now() {
        assert_eq!(
            expiry_text(100, 200, "at 10:00 today").split(':').next(),
            Some("Expired at 10")
        );
        assert_eq!(
            expiry_text(3600, 0, "at 11:00 today"),
            "at 11:00 today (in about 60 minutes)"
        );
        assert_eq!(expiry_text(7 * 86_400, 0, "x"), "x (in about 7 days)");
        assert_eq!(expiry_text(60, 0, "x"), "x (in about a minute)");
    }

    #[test]
    fn the_file_type_wins_over_the_request() {
        assert_eq!(
            format_of("image/jpeg", Some(OutputFormat::Png)),
            OutputFormat::Jpg
        );
        assert_eq!(format_of("", Some(OutputFormat::Jpg)), OutputFormat::Jpg);
        assert_eq!(
            format_of("application/octet-stream", None),
            OutputFormat::Png
        );
    }
}
