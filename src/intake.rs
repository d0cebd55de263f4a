//! Where the image to edit comes in: a file picked, dropped or pasted, or an image URL.
//! Every file is judged by `flexedit_api::check_source` before anything else happens, and a
//! refused file leaves the current source as it was.

use flexedit_api::{
    EditParams, ImageKind, ImageRef, IntakeError, check_image_ref, check_source, format_bytes,
    read_recipe,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ClipboardEvent, DataTransfer, DragEvent, HtmlImageElement};

use crate::prepare::{HEAD_BYTES, PrepareError, blob_bytes, blob_size, decode_upright, read_head};
use crate::source::{Origin, Source, SourceRecipe};

/// What the file picker offers; anything else can still be dropped and is then refused
/// with a reason.
const ACCEPT: &str = "image/png,image/jpeg,image/webp";

/// Files up to this size are read whole for a recipe inside them. A flexedit result is the
/// provider's output of at most about 4 megapixels, well below it; a larger photo is no
/// result, and is not copied into memory only to find nothing.
const RECIPE_READ_MAX: u64 = 32 * 1024 * 1024;

/// How long an image URL may take to load before it is used without its dimensions.
const URL_PATIENCE_MS: i32 = 10_000;

/// Why a file did not become the source. `Display` is the sentence for the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Refused(#[from] IntakeError),
    #[error(
        "The file could not be read; it may have been moved, renamed or changed since you chose it. Choose it again."
    )]
    Unreadable,
    #[error(
        "The browser could not open this image; the file may be damaged or cut short. Open it in an image viewer, save it again as PNG or JPEG, then choose it again."
    )]
    Undecodable,
    #[error(transparent)]
    PartMissing(#[from] crate::split::PartMissing),
}

impl From<PrepareError> for SourceError {
    fn from(e: PrepareError) -> Self {
        match e {
            PrepareError::Refused(e) => Self::Refused(e),
            PrepareError::Unreadable => Self::Unreadable,
            PrepareError::PartMissing(missing) => Self::PartMissing(missing),
            _ => Self::Undecodable,
        }
    }
}

/// Checks a file and, when it is accepted, makes it a [`Source`] with upright dimensions and
/// an object URL for the preview. Used for picked, dropped and pasted files alike.
///
/// The file is prepared for upload (for `max_upload_pixels`) right away: that one decode
/// proves the file opens, the run that follows starts uploading at once, and a large photo
/// is previewed at its upload size rather than painted at full size.
pub async fn source_from_blob(
    blob: Blob,
    name: String,
    max_source_bytes: u64,
    max_upload_pixels: u64,
) -> Result<Source, SourceError> {
    source_part(blob, name, max_source_bytes, max_upload_pixels).await?
}

crate::split::part! {
    prepare:
    /// The checks and the decoding load with the preparation, while the form is on screen.
    async fn source_part(
        blob: Blob,
        name: String,
        max_source_bytes: u64,
        max_upload_pixels: u64,
    ) -> Result<Source, SourceError> {
        source_checked(blob, name, max_source_bytes, max_upload_pixels).await
    }
}

async fn source_checked(
    blob: Blob,
    name: String,
    max_source_bytes: u64,
    max_upload_pixels: u64,
) -> Result<Source, SourceError> {
    let size = blob_size(&blob);
    // Neither an empty nor an oversized file is worth reading: the size alone refuses it.
    let head = if size == 0 || size > max_source_bytes {
        Vec::new()
    } else {
        read_head(&blob, HEAD_BYTES).await?
    };
    let kind = check_source(&name, &blob.type_(), size, &head, max_source_bytes)?;
    let (dimensions, prepared) =
        match crate::prepare::prepare_measured(&blob, &name, max_upload_pixels).await {
            Ok(prepared) if prepared.reencoded => (
                (prepared.source_width, prepared.source_height),
                Some(prepared),
            ),
            // Sent as it is, so nothing has decoded it yet; and a canvas that failed may
            // work at run time, when the run reports it. Either way: does it open?
            outcome @ (Ok(_) | Err(PrepareError::NoCanvas { .. } | PrepareError::EncodeFailed)) => {
                let bitmap = decode_upright(&blob, None).await?;
                let dimensions = (bitmap.width(), bitmap.height());
                bitmap.close();
                (dimensions, outcome.ok())
            }
            Err(e) => return Err(e.into()),
        };
    let shown = match &prepared {
        Some(prepared) if prepared.reencoded => &prepared.blob,
        _ => &blob,
    };
    let preview_url =
        web_sys::Url::create_object_url_with_blob(shown).map_err(|_| SourceError::Unreadable)?;
    let mime = kind.mime().unwrap_or_default().to_owned();
    let recipe = match kind {
        ImageKind::Png | ImageKind::Jpeg if size <= RECIPE_READ_MAX => blob_bytes(&blob)
            .await
            .and_then(|bytes| read_recipe(&bytes))
            .map(SourceRecipe::from),
        _ => None,
    };
    Ok(Source {
        name,
        origin: Origin::File {
            file: blob,
            mime,
            prepared,
        },
        preview_url,
        size: Some(size),
        dimensions: Some(dimensions),
        recipe,
    })
}

/// The file a paste carries, with its name. `None` when the clipboard holds no file, so a
/// paste of text goes on to where it was meant. An image is preferred; otherwise the first
/// file is returned so that the person is told why it cannot be used.
pub fn image_from_clipboard(event: &ClipboardEvent) -> Option<(Blob, String)> {
    first_file(&event.clipboard_data()?)
}

fn first_file(data: &DataTransfer) -> Option<(Blob, String)> {
    let all = files_of(data.files()?);
    let file = all
        .iter()
        .find(|f| f.type_().starts_with("image/"))
        .or_else(|| all.first())?;
    let name = file.name();
    Some((file.clone().into(), name))
}

fn files_of(files: web_sys::FileList) -> Vec<web_sys::File> {
    (0..files.length()).filter_map(|i| files.get(i)).collect()
}

/// Every file a drop, a paste or the picker carries, with its name.
fn all_files(files: Option<web_sys::FileList>) -> Vec<(Blob, String)> {
    files
        .map(files_of)
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            let name = f.name();
            (f.into(), name)
        })
        .collect()
}

/// An image address as typed or passed by a host, checked by flexedit-api; the error is
/// the sentence for the person.
pub fn checked_url(raw: &str) -> Result<String, String> {
    match check_image_ref(raw.trim()) {
        Ok(ImageRef::Url(url)) => Ok(url),
        Ok(ImageRef::AssetPath(_)) => Err(
            "Enter the image's full address, starting with https://, or choose a file instead."
                .to_owned(),
        ),
        Err(problem) => Err(problem.message),
    }
}

crate::split::part! {
    prepare:
    /// An image URL as a source. Its dimensions are unknown when the page cannot load it
    /// itself (the provider may still reach it), so that is no refusal.
    pub async fn source_from_url(url: String) -> Source {
        let dimensions = natural_size(&url).await;
        Source {
            name: name_from_url(&url),
            origin: Origin::Url(url.clone()),
            preview_url: url,
            size: None,
            dimensions,
            recipe: None,
        }
    }
}

/// Makes `new` the current source and revokes the object URL of the one it replaces, so a
/// session of many images does not keep every one of them in memory.
pub fn replace_source(signal: RwSignal<Option<Source>, LocalStorage>, new: Source) {
    let kept_url = new.preview_url.clone();
    let old = signal.try_update(|current| current.replace(new)).flatten();
    if let Some(old) = old
        && old.preview_url != kept_url
    {
        old.release();
    }
}

/// The image to edit: drop zone, file picker, image URL, and a preview of the current
/// source with what will actually be uploaded.
#[component]
pub fn Intake(
    /// The current source, for the preview.
    #[prop(into)]
    source: Signal<Option<Source>, LocalStorage>,
    /// Larger files are refused before they are read.
    #[prop(into)]
    max_source_bytes: Signal<u64>,
    /// Larger images are downscaled before upload; the preview says to what size.
    #[prop(into)]
    max_upload_pixels: Signal<u64>,
    /// Called with each accepted source; the caller owns it from then on (see
    /// [`replace_source`]).
    on_source: Callback<Source>,
    /// Which pastes on the window are meant for this intake (Ctrl/Cmd+V anywhere in the
    /// editor). A pasted file is taken, or refused with its reason, like a dropped one.
    #[prop(optional)]
    pastes: Option<Callback<web_sys::Event, bool>>,
    /// Called with a source's recipe when the person chooses to use it.
    #[prop(optional)]
    on_recipe: Option<Callback<EditParams>>,
    /// Called with the images of a choice of several (one edit each), the first of them
    /// shown as the source. Without it, only the first image of a choice is taken.
    #[prop(optional)]
    on_sources: Option<Callback<Vec<Source>>>,
    /// The images of the current choice of several, to list them.
    #[prop(optional, into)]
    batch: Option<Signal<Vec<Source>, LocalStorage>>,
) -> impl IntoView {
    // Files of a choice of several that could not be used, each with why.
    let skipped = RwSignal::new(Vec::<String>::new());
    let error = RwSignal::new(None::<String>);
    // The image URL the page could not load itself; the note about it shows only while
    // that URL is the source.
    let unshown_url = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let drag_depth = RwSignal::new(0i32);
    // Only the latest intake may become the source: a slow large file must not land after
    // a quick one chosen later.
    let latest = StoredValue::new(0u64);
    // Files and addresses still being read, superseded ones included: the drop zone says
    // how many, so a page (or a test) can tell when every read has settled.
    let reading = RwSignal::new(0u32);
    let file_input = NodeRef::<leptos::html::Input>::new();
    let url_input = NodeRef::<leptos::html::Input>::new();

    let begin = move || {
        busy.set(true);
        latest
            .try_update_value(|n| {
                *n += 1;
                *n
            })
            .unwrap_or_default()
    };
    let is_latest = move |ticket: u64| latest.try_get_value() == Some(ticket);
    let accept = move |source: Source| {
        busy.set(false);
        error.set(None);
        on_source.run(source);
    };
    let refuse = move |message: String| {
        busy.set(false);
        error.set(Some(message));
    };
    // A refusal on the spot still counts as the person's latest choice: whatever was
    // loading before it must not land afterwards.
    let refuse_now = move |message: String| {
        begin();
        refuse(message);
    };

    let take_file = move |blob: Blob, name: String| {
        let ticket = begin();
        reading.update(|n| *n += 1);
        spawn_local(async move {
            let outcome = source_from_blob(
                blob,
                name,
                max_source_bytes.get_untracked(),
                max_upload_pixels.get_untracked(),
            )
            .await;
            reading.try_update(|n| *n = n.saturating_sub(1));
            if !is_latest(ticket) {
                if let Ok(source) = outcome {
                    source.release();
                }
                return;
            }
            match outcome {
                Ok(source) => accept(source),
                Err(e) => refuse(e.to_string()),
            }
        });
    };

    // Several files at once: each is read and checked as one would be; those refused are
    // named with their reason and skipped, the rest go on together.
    let take_files = move |files: Vec<(Blob, String)>| {
        let Some(on_sources) = on_sources.filter(|_| files.len() > 1) else {
            skipped.set(Vec::new());
            if let Some((blob, name)) = files.into_iter().next() {
                take_file(blob, name);
            }
            return;
        };
        let ticket = begin();
        reading.update(|n| *n += files.len() as u32);
        spawn_local(async move {
            let mut accepted = Vec::new();
            let mut refused = Vec::new();
            for (blob, name) in files {
                let outcome = source_from_blob(
                    blob,
                    name.clone(),
                    max_source_bytes.get_untracked(),
                    max_upload_pixels.get_untracked(),
                )
                .await;
                reading.try_update(|n| *n = n.saturating_sub(1));
                match outcome {
                    Ok(source) => accepted.push(source),
                    Err(e) => refused.push(format!("{name}: {e}")),
                }
            }
            if !is_latest(ticket) {
                for source in accepted {
                    source.release();
                }
                return;
            }
            skipped.set(refused);
            if accepted.is_empty() {
                return refuse(
                    "None of the chosen files could be used; the reasons are listed below.".into(),
                );
            }
            busy.set(false);
            error.set(None);
            on_sources.run(accepted);
        });
    };

    let take_url = move |raw: String| match checked_url(&raw) {
        Ok(url) => {
            let ticket = begin();
            reading.update(|n| *n += 1);
            spawn_local(async move {
                let source = source_from_url(url).await;
                reading.try_update(|n| *n = n.saturating_sub(1));
                if !is_latest(ticket) {
                    return;
                }
                let source = match source {
                    Ok(source) => source,
                    Err(missing) => return refuse(missing.to_string()),
                };
                unshown_url.set(
                    source
                        .dimensions
                        .is_none()
                        .then(|| source.preview_url.clone()),
                );
                accept(source);
            });
        }
        Err(message) => refuse_now(message),
    };

    if let Some(ours) = pastes.filter(|_| crate::page::IN_PAGE) {
        let listener = window_event_listener(leptos::ev::paste, move |event| {
            if !ours.run(web_sys::Event::clone(&event)) {
                return;
            }
            let files = event
                .clipboard_data()
                .map(|data| all_files(data.files()))
                .unwrap_or_default();
            if files.len() > 1 {
                event.prevent_default();
                take_files(files);
            } else if let Some((blob, name)) = image_from_clipboard(&event) {
                event.prevent_default();
                take_file(blob, name);
            }
        });
        on_cleanup(move || listener.remove());
    }

    let on_change = move |_| {
        let Some(input) = file_input.get_untracked() else {
            return;
        };
        let files = all_files(input.files());
        // Cleared so that choosing the same file again still counts as a change.
        input.set_value("");
        if !files.is_empty() {
            take_files(files);
        }
    };

    let on_drag_enter = move |ev: DragEvent| {
        ev.prevent_default();
        drag_depth.update(|d| *d += 1);
    };
    let on_drag_over = move |ev: DragEvent| {
        // Without this the browser refuses the drop and opens the file instead.
        ev.prevent_default();
        if let Some(data) = ev.data_transfer() {
            data.set_drop_effect("copy");
        }
    };
    // Entering a child fires before leaving the parent, so a count keeps the highlight
    // steady while the pointer crosses the zone's own contents.
    let on_drag_leave = move |_: DragEvent| drag_depth.update(|d| *d = (*d - 1).max(0));
    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        drag_depth.set(0);
        let Some(data) = ev.data_transfer() else {
            return;
        };
        let files = all_files(data.files());
        if files.len() > 1 {
            take_files(files);
        } else if let Some((blob, name)) = first_file(&data) {
            take_file(blob, name);
        } else if let Some(url) = dropped_url(&data) {
            if let Some(input) = url_input.get_untracked() {
                input.set_value(&url);
            }
            take_url(url);
        }
    };

    let on_submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        let raw = url_input
            .get_untracked()
            .map(|input| input.value())
            .unwrap_or_default();
        take_url(raw);
    };

    let dragging = move || drag_depth.get() > 0;
    let limit = move || format_bytes(max_source_bytes.get());

    view! {
        <section class="intake" aria-label="Source image" data-testid="intake">
            <div
                class="intake-drop"
                class:dragging=dragging
                data-dragging=move || dragging().to_string()
                data-testid="drop-zone"
                role="group"
                aria-label="Drop an image here"
                aria-busy=move || busy.get().to_string()
                data-reading=move || reading.get().to_string()
                on:dragenter=on_drag_enter
                on:dragover=on_drag_over
                on:dragleave=on_drag_leave
                on:drop=on_drop
            >
                <p class="intake-hint">"Drop an image here, paste it (Ctrl+V or ⌘V), or"</p>
                <button
                    type="button"
                    class="intake-choose"
                    on:click=move |_| {
                        if let Some(input) = file_input.get_untracked() {
                            input.click();
                        }
                    }
                >
                    "Choose image"
                </button>
                <input
                    type="file"
                    accept=ACCEPT
                    hidden
                    aria-label="Image file"
                    data-testid="file-input"
                    node_ref=file_input
                    multiple=on_sources.is_some()
                    on:change=on_change
                />
                <p class="intake-formats">{move || format!("PNG, JPEG or WebP, up to {}.", limit())}</p>
            </div>
            <form class="intake-url" novalidate on:submit=on_submit>
                <label>
                    <span class="intake-url-label">"Image URL"</span>
                    <input
                        type="url"
                        inputmode="url"
                        autocomplete="off"
                        spellcheck="false"
                        placeholder="https://…"
                        data-testid="image-url"
                        node_ref=url_input
                    />
                </label>
                <button type="submit" data-testid="use-url" disabled=move || busy.get()>
                    "Use URL"
                </button>
            </form>
            {move || {
                error
                    .get()
                    .map(|message| {
                        view! {
                            <p class="intake-error" role="alert" data-testid="intake-error">
                                {message}
                            </p>
                        }
                    })
            }}
            {move || {
                busy.get()
                    .then(|| {
                        view! {
                            <p class="intake-status" role="status">
                                "Opening the image…"
                            </p>
                        }
                    })
            }}
            {move || {
                let unshown = unshown_url.get()?;
                let current = source
                    .with(|s| matches!(s, Some(Source { origin: Origin::Url(u), .. }) if *u == unshown));
                current
                    .then(|| {
                        view! {
                            <p class="intake-note" role="status" data-testid="intake-note">
                                "This page can't show the image at that address, but it will still be sent as it is. If the edit fails, check that the address opens the image in a new tab."
                            </p>
                        }
                    })
            }}
            {move || {
                let names = batch.map(|b| b.with(|b| b.iter().map(|s| s.name.clone()).collect::<Vec<_>>()))?;
                (names.len() > 1).then(|| view! {
                    <p class="intake-batch" role="status" data-testid="batch">
                        {format!("{} images, one edit each: {}.", names.len(), names.join(", "))}
                    </p>
                })
            }}
            {move || {
                let skipped = skipped.get();
                (!skipped.is_empty()).then(|| view! {
                    <div class="intake-skipped" role="alert" data-testid="batch-skipped">
                        <p>"Skipped:"</p>
                        <ul>
                            {skipped.into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}
                        </ul>
                    </div>
                })
            }}
            {move || {
                source.get().map(|source| preview(&source, max_upload_pixels.get(), on_recipe))
            }}
        </section>
    }
}

/// The current source with what is known about it, and the size that will be uploaded
/// when that differs.
fn preview(
    source: &Source,
    max_upload_pixels: u64,
    on_recipe: Option<Callback<EditParams>>,
) -> impl IntoView + use<> {
    let alt = format!("Source image: {}", source.name);
    let dimensions = source.dimensions.map(|(w, h)| format!("{w} × {h}"));
    let size = source.size.map(format_bytes);
    let upload = source
        .upload_dimensions(max_upload_pixels)
        .filter(|up| Some(*up) != source.dimensions)
        .map(|(w, h)| format!("Will upload {w} × {h}"));
    let how = match source.origin {
        Origin::File { .. } => None,
        Origin::Url(_) => Some("Sent as a link, not uploaded"),
        Origin::Asset { .. } => Some("A previous result, not uploaded again"),
    };
    view! {
        <figure class="intake-preview">
            <img src=source.preview_url.clone() alt=alt data-testid="source-preview" />
            <figcaption class="intake-info" data-testid="source-info">
                <span class="intake-name">{source.name.clone()}</span>
                {dimensions.map(|d| view! { <span class="intake-dimensions">{d}</span> })}
                {size.map(|s| view! { <span class="intake-size">{s}</span> })}
                {upload.map(|u| view! { <span class="intake-upload">{u}</span> })}
                {how.map(|h| view! { <span class="intake-how">{h}</span> })}
            </figcaption>
            {source.recipe.clone().zip(on_recipe).map(|(recipe, apply)| recipe_offer(&recipe, apply))}
        </figure>
    }
}

/// A flexedit result brings back how it was made: its prompt, and a button that puts its
/// prompt and parameters into the form, with the image itself as the source.
fn recipe_offer(recipe: &SourceRecipe, apply: Callback<EditParams>) -> impl IntoView + use<> {
    let action = match recipe.params.clone() {
        Some(params) => view! {
            <button
                type="button"
                class="intake-recipe-use"
                data-testid="use-recipe"
                on:click=move |_| apply.run(params.clone())
            >
                "Use its recipe"
            </button>
        }
        .into_any(),
        None => view! {
            <span>"Its parameters are no longer accepted, so it cannot be applied."</span>
        }
        .into_any(),
    };
    view! {
        <div class="intake-recipe" data-testid="source-recipe">
            <span>"Made with flexedit: "<q>{recipe.prompt.clone()}</q></span>
            {action}
        </div>
    }
}

/// An image dragged from another page arrives as a link rather than a file.
fn dropped_url(data: &DataTransfer) -> Option<String> {
    let list = data.get_data("text/uri-list").ok()?;
    list.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
}

/// The image's natural size, or `None` when it does not load in time or the page may not
/// show it (a Content-Security-Policy can allow the provider a URL the page cannot load).
async fn natural_size(url: &str) -> Option<(u32, u32)> {
    let window = web_sys::window()?;
    let image = HtmlImageElement::new().ok()?;
    image.set_referrer_policy("no-referrer");
    image.set_src(url);
    let timeout = js_sys::Promise::new(&mut |resolve, _reject| {
        let _ =
            window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, URL_PATIENCE_MS);
    });
    let race = js_sys::Promise::race(&js_sys::Array::of2(&image.decode(), &timeout));
    let _ = JsFuture::from(race).await;
    let size = (image.complete() && image.natural_width() > 0)
        .then(|| (image.natural_width(), image.natural_height()));
    // Stops a download that is still going after the timeout.
    image.set_src("");
    size
}

/// A readable name for an image URL: its last path segment, else its host.
fn name_from_url(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let after_scheme = path.split_once("://").map_or(path, |(_, rest)| rest);
    let segment = after_scheme
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or(after_scheme);
    js_sys::decode_uri_component(segment)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| segment.to_owned())
}
