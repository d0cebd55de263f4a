//! The area to change: a brush over the source image to paint where the edit may change
//! it, and what the editor keeps of it for a run. Nothing painted leaves the whole image
//! free, as without the brush. The marks are `flexedit_api::Mask`; the result is laid into
//! the source through them by `crate::composite`.

use flexedit_api::mask::{FEATHER_DEFAULT, FEATHER_MAX};
use flexedit_api::{AspectRatio, EditParams, KeyRect, Mark, Mask, Stroke};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::run::RunResult;
use crate::source::{Origin, Source};

/// The brush's radius when the panel opens, and its bounds, in pixels of the image.
const BRUSH_DEFAULT: f32 = 24.0;
const BRUSH_MIN: f32 = 2.0;
const BRUSH_MAX: f32 = 400.0;

/// Why the brush is off when the aspect ratio reframes the image.
pub const DISABLED_REASON: &str = "The area to change needs the aspect ratio “Match input image”: with another ratio the model reframes the image, so its result cannot be laid over the original. Choose “Match input image” to paint an area.";

/// Why a job of a batch shows the model's whole edit although an area was painted.
pub const UNFIT_SENTENCE: &str =
    "The area was painted on an image of another shape, so this result is the model's whole edit.";

/// How many composites the page keeps at once; older ones show the model's result again
/// until they are made anew (their bytes are held in memory).
const KEPT_COMPOSITES: usize = 64;

/// What a run started with, for its result: the area and the original to lay it into.
/// One for each image of a press.
#[derive(Clone)]
pub struct Applied {
    /// The area, when one was painted and the brush was on.
    pub mask: Option<Mask>,
    /// The area was painted on an image of another shape: this source gets the model's
    /// whole edit, since the area laid over it would be distorted.
    pub unfit: bool,
    /// The person's own file at its own size, when the source is one.
    pub original: Option<web_sys::Blob>,
    /// Its size, upright, when known.
    pub original_size: Option<(u32, u32)>,
    /// The image the edit was sent, as the page shows it.
    pub source_url: String,
    /// When the source is the composite of an earlier edit ("Edit this result"): the first
    /// photo of the chain at its own size, and the edits laid into it before this one.
    pub root: Option<Root>,
}

impl Applied {
    /// The area to lay the result in through, when one applies to this source.
    pub fn area(&self) -> Option<&Mask> {
        self.mask.as_ref().filter(|_| !self.unfit)
    }
}

/// The first photo of a chain of edits, each made from the composite of the one before.
#[derive(Clone)]
pub struct Root {
    pub original: web_sys::Blob,
    pub size: (u32, u32),
    /// Every earlier edit of the chain, first to last: its model's result and the area it
    /// was laid in through (`None`: the whole image).
    pub layers: Vec<(web_sys::Blob, Option<Mask>)>,
}

/// A composite made for a result, and the object URL that shows it.
#[derive(Clone)]
pub struct Composite {
    /// The result it was made for (its display URL).
    pub for_result: String,
    pub blob: web_sys::Blob,
    /// Its size (its source's), when the worker said.
    pub size: Option<(u32, u32)>,
    pub url: String,
    /// The model's own result it was made from.
    pub result: web_sys::Blob,
    /// The feather it was made with.
    pub feather: f32,
}

/// The area's state, shared by the brush and the result as a `Copy` handle.
#[derive(Clone, Copy)]
pub struct Area {
    /// What was painted, in the pixels of the image shown under the brush.
    pub marks: RwSignal<Vec<Mark>>,
    /// That image's size, once it has loaded.
    pub size: RwSignal<Option<(u32, u32)>>,
    /// How far inside the area the result fades in, in pixels.
    pub feather: RwSignal<f32>,
    undo: StoredValue<Vec<Vec<Mark>>>,
    /// The next source is an earlier result of this image: its area stays.
    keep_next: StoredValue<bool>,
    /// The source the marks were painted on (its preview URL).
    painted_on: StoredValue<Option<String>>,
    /// What the runs started with, one for each source (the newest press's last).
    pub applied: RwSignal<Vec<Applied>, LocalStorage>,
    /// The composites made, one for each result.
    pub composites: RwSignal<Vec<Composite>, LocalStorage>,
    /// The chain a composite made the next image of ("Edit this result"), with that
    /// image's preview URL.
    next_root: StoredValue<Option<(String, Root)>, LocalStorage>,
    /// Where the runs are kept, so a feather changed later is kept with its run.
    history: StoredValue<Option<crate::history::History>, LocalStorage>,
}

impl Default for Area {
    fn default() -> Self {
        Self::new()
    }
}

impl Area {
    pub fn new() -> Self {
        Self {
            marks: RwSignal::new(Vec::new()),
            size: RwSignal::new(None),
            feather: RwSignal::new(FEATHER_DEFAULT),
            undo: StoredValue::new(Vec::new()),
            keep_next: StoredValue::new(false),
            painted_on: StoredValue::new(None),
            applied: RwSignal::new_local(Vec::new()),
            composites: RwSignal::new_local(Vec::new()),
            next_root: StoredValue::new_local(None),
            history: StoredValue::new_local(None),
        }
    }

    /// The area as it stands, when something is painted on a loaded image.
    pub fn mask(&self) -> Option<Mask> {
        let (width, height) = self.size.get_untracked()?;
        let mask = Mask {
            width,
            height,
            feather: self.feather.get_untracked(),
            marks: self.marks.get_untracked(),
        };
        mask.is_painted().then_some(mask)
    }

    /// Whether the brush applies with these parameters.
    pub fn allowed(params: &EditParams) -> bool {
        params.aspect_ratio == AspectRatio::MatchInput
    }

    /// Keeps the marks as they are before a change, for Undo.
    fn remember(&self) {
        let marks = self.marks.get_untracked();
        self.undo.update_value(|undo| undo.push(marks));
    }

    pub fn add(&self, mark: Mark) {
        self.remember();
        self.marks.update(|marks| marks.push(mark));
    }

    pub fn undo(&self) {
        if let Some(previous) = self.undo.try_update_value(|undo| undo.pop()).flatten() {
            self.marks.set(previous);
        }
    }

    pub fn clear(&self) {
        if self.marks.with_untracked(Vec::is_empty) {
            return;
        }
        self.remember();
        self.marks.set(Vec::new());
    }

    /// A new source: the area belongs to the old image, unless the new one is a result of
    /// it (Edit this result), which has its size and keeps it.
    fn source_changed(&self, preview: Option<String>) {
        if self.painted_on.get_value() == preview {
            return;
        }
        self.painted_on.set_value(preview);
        if self.keep_next.get_value() {
            self.keep_next.set_value(false);
            return;
        }
        self.marks.set(Vec::new());
        self.undo.set_value(Vec::new());
        self.size.set(None);
    }

    /// Puts back the area a run was limited to, for an earlier result becoming the next
    /// image (from the history): set before that image, which then keeps it.
    pub fn restore(&self, mask: Option<Mask>) {
        let Some(mask) = mask else {
            return;
        };
        self.remember();
        self.keep_next.set_value(true);
        self.feather.set(mask.feather);
        self.size.set(Some((mask.width, mask.height)));
        self.marks.set(mask.marks);
    }

    /// A press starts `jobs` (run ids with their sources), the area painted on `shown`:
    /// what each result will be laid into. Hooked into the run by the editor.
    pub fn run_started(
        &self,
        shown: &Source,
        jobs: &[(String, Source)],
        params: &EditParams,
        history: Option<crate::history::History>,
    ) {
        self.source_changed(Some(shown.preview_url.clone()));
        self.history.set_value(history);
        let mask = self.mask().filter(|_| Self::allowed(params));
        let root = self
            .next_root
            .with_value(|next| next.clone())
            .filter(|(preview, _)| *preview == shown.preview_url)
            .map(|(_, root)| root);
        let mut started: Vec<Applied> = Vec::new();
        let mut unfit_runs = Vec::new();
        for (id, source) in jobs {
            // The image painted on fits by definition; another of the batch fits when it
            // has its shape, at whatever size.
            let unfit = mask.as_ref().is_some_and(|mask| {
                source.preview_url != shown.preview_url
                    && source.dimensions.is_some_and(|(w, h)| !mask.fits(w, h))
            });
            if unfit {
                unfit_runs.push(id.clone());
            }
            if started.iter().any(|a| a.source_url == source.preview_url) {
                continue;
            }
            let original = match &source.origin {
                Origin::File { file, .. } => Some(file.clone()),
                _ => None,
            };
            started.push(Applied {
                mask: mask.clone(),
                unfit,
                original_size: original.as_ref().and(source.dimensions),
                original,
                source_url: source.preview_url.clone(),
                root: root
                    .clone()
                    .filter(|_| source.preview_url == shown.preview_url),
            });
        }
        if let Some(history) = history {
            let ids: Vec<String> = jobs.iter().map(|(id, _)| id.clone()).collect();
            history.run_area(&ids, mask, &unfit_runs);
        }
        self.applied.update(|applied| {
            applied.retain(|a| !started.iter().any(|s| s.source_url == a.source_url));
            applied.extend(started);
        });
    }

    /// What the run of a result sent from `source_url` started with.
    pub fn applied_for(&self, source_url: &str) -> Option<Applied> {
        self.applied.with_untracked(|applied| {
            applied
                .iter()
                .rev()
                .find(|a| a.source_url == source_url)
                .cloned()
        })
    }

    /// The source of `result` turned out to have another shape than the area's.
    pub fn mark_unfit(&self, result: &RunResult) {
        self.applied.update(|applied| {
            for entry in applied
                .iter_mut()
                .filter(|a| a.source_url == result.before_url)
            {
                entry.unfit = true;
            }
        });
        if let Some(history) = self.history.get_value() {
            history.result_unfit(&result.display_url);
        }
    }

    /// Keeps the composite `laid` (its bytes and size) made for `result` from the model's
    /// `made` with `mask`, releasing the one before; the run's history keeps the feather it
    /// was made with.
    pub fn keep_composite(
        &self,
        result: &RunResult,
        laid: (web_sys::Blob, Option<(u32, u32)>),
        made: web_sys::Blob,
        mask: &Mask,
    ) {
        let (blob, size) = laid;
        let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
            return;
        };
        let composite = Composite {
            for_result: result.display_url.clone(),
            blob,
            size,
            url,
            result: made,
            feather: mask.feather,
        };
        let mut released = Vec::new();
        self.composites.update(|composites| {
            let (old, kept): (Vec<Composite>, Vec<Composite>) = std::mem::take(composites)
                .into_iter()
                .partition(|c| c.for_result == composite.for_result);
            *composites = kept;
            released = old;
            composites.push(composite);
            let over = composites.len().saturating_sub(KEPT_COMPOSITES);
            released.extend(composites.drain(..over));
        });
        for old in released {
            let _ = web_sys::Url::revoke_object_url(&old.url);
        }
        if let Some(history) = self.history.get_value() {
            history.result_feather(&result.display_url, mask.feather);
        }
    }

    /// The composite of the result shown at `display_url`, when one was made.
    pub fn composite_for(&self, display_url: &str) -> Option<Composite> {
        self.composites.with_untracked(|composites| {
            composites
                .iter()
                .find(|c| c.for_result == display_url)
                .cloned()
        })
    }

    /// The address that shows the result at `display_url`: its composite's, once made.
    /// Tracked, for views.
    pub fn shown_url(&self, display_url: &str) -> Option<String> {
        self.composites.with(|composites| {
            composites
                .iter()
                .find(|c| c.for_result == display_url)
                .map(|c| c.url.clone())
        })
    }

    /// The composite of `result`, when one was made.
    pub fn composite_of(&self, result: &RunResult) -> Option<Composite> {
        self.composite_for(&result.display_url)
    }

    /// "Edit this result" with a composite: the composite is the next image (uploaded, as
    /// only the page has it) and the area stays. `false` when the result has none.
    pub fn edit_composite(&self, result: &RunResult, set_source: impl FnOnce(Source)) -> bool {
        let Some(composite) = self.composite_of(result) else {
            return false;
        };
        let Ok(preview_url) = web_sys::Url::create_object_url_with_blob(&composite.blob) else {
            return false;
        };
        // Full size of the next edit is the first photo's: the chain goes on from it.
        let applied = self.applied_for(&result.before_url);
        let layer = (
            composite.result.clone(),
            applied.as_ref().and_then(|a| a.area()).map(|mask| Mask {
                feather: composite.feather,
                ..mask.clone()
            }),
        );
        let root = applied.and_then(|applied| match applied.root {
            Some(mut root) => {
                root.layers.push(layer);
                Some(root)
            }
            None => Some(Root {
                original: applied.original?,
                size: applied.original_size?,
                layers: vec![layer],
            }),
        });
        self.next_root
            .set_value(root.map(|root| (preview_url.clone(), root)));
        self.keep_next.set_value(true);
        set_source(Source {
            name: "previous result.png".into(),
            origin: Origin::File {
                file: composite.blob.clone(),
                mime: "image/png".into(),
                prepared: None,
            },
            preview_url,
            size: Some(composite.blob.size() as u64),
            dimensions: composite.size.or(self.size.get_untracked()),
            recipe: None,
        });
        true
    }
}

/// Draws `marks` in `color` over a cleared canvas of the mask's size.
fn draw(canvas: &web_sys::HtmlCanvasElement, marks: &[Mark], keys: Option<KeyRect>) {
    let Some(context) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let (w, h) = (f64::from(canvas.width()), f64::from(canvas.height()));
    context.clear_rect(0.0, 0.0, w, h);
    context.set_line_cap("round");
    context.set_line_join("round");
    context.set_fill_style_str("#ff3d7f");
    context.set_stroke_style_str("#ff3d7f");
    for mark in marks {
        match mark {
            Mark::Paint(stroke) | Mark::Erase(stroke) => {
                let erase = matches!(mark, Mark::Erase(_));
                let _ = context.set_global_composite_operation(if erase {
                    "destination-out"
                } else {
                    "source-over"
                });
                let [first, rest @ ..] = stroke.points.as_slice() else {
                    continue;
                };
                let radius = f64::from(stroke.radius);
                context.begin_path();
                if rest.is_empty() {
                    let _ = context.arc(
                        f64::from(first[0]),
                        f64::from(first[1]),
                        radius,
                        0.0,
                        std::f64::consts::TAU,
                    );
                    context.fill();
                } else {
                    context.set_line_width(2.0 * radius);
                    context.move_to(f64::from(first[0]), f64::from(first[1]));
                    for point in rest {
                        context.line_to(f64::from(point[0]), f64::from(point[1]));
                    }
                    context.stroke();
                }
            }
            Mark::Rect([x, y, rw, rh]) => {
                let _ = context.set_global_composite_operation("source-over");
                context.fill_rect(f64::from(*x), f64::from(*y), f64::from(*rw), f64::from(*rh));
            }
        }
    }
    let _ = context.set_global_composite_operation("source-over");
    if let Some(rect) = keys {
        context.set_line_width((w.max(h) / 300.0).max(2.0));
        context.set_stroke_style_str("#1f6feb");
        let _ = context.set_line_dash(&js_sys::Array::of2(&8.0.into(), &6.0.into()));
        context.stroke_rect(
            f64::from(rect.x),
            f64::from(rect.y),
            f64::from(rect.width),
            f64::from(rect.height),
        );
        let _ = context.set_line_dash(&js_sys::Array::new());
    }
}

/// Where a pointer event is, in the pixels of the canvas's image.
fn at(event: &web_sys::PointerEvent, canvas: &web_sys::HtmlCanvasElement) -> Option<[f32; 2]> {
    let rect = canvas.get_bounding_client_rect();
    if rect.width() <= 0.0 || rect.height() <= 0.0 {
        return None;
    }
    let x = (f64::from(event.client_x()) - rect.left()) / rect.width() * f64::from(canvas.width());
    let y = (f64::from(event.client_y()) - rect.top()) / rect.height() * f64::from(canvas.height());
    Some([x as f32, y as f32])
}

/// The brush over the source image, labelled "Area to change".
#[component]
pub fn AreaPanel(
    area: Area,
    #[prop(into)] source: Signal<Option<Source>, LocalStorage>,
    #[prop(into)] params: Signal<EditParams>,
) -> impl IntoView {
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let brush = RwSignal::new(BRUSH_DEFAULT);
    let erasing = RwSignal::new(false);
    let drawing = StoredValue::new(None::<(i32, Mark)>);
    let keys = RwSignal::new(None::<KeyRect>);
    let allowed = Memo::new(move |_| params.with(Area::allowed));
    let keys_id = crate::page::unique_id("area-keys");
    let preview = Memo::new(move |_| source.with(|s| s.as_ref().map(|s| s.preview_url.clone())));
    Effect::new(move |_| area.source_changed(preview.get()));
    // Redrawn whenever the marks, the canvas's size or the keyboard's rectangle change.
    Effect::new(move |_| {
        let marks = area.marks.get();
        let size = area.size.get();
        let rect = keys.get();
        if let (Some(canvas), Some((w, h))) = (canvas.get(), size) {
            if canvas.width() != w || canvas.height() != h {
                canvas.set_width(w);
                canvas.set_height(h);
            }
            draw(&canvas, &marks, rect);
        }
    });

    let on_image_load = move |event: web_sys::Event| {
        let Some(image) = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlImageElement>().ok())
        else {
            return;
        };
        let size = (image.natural_width(), image.natural_height());
        if size.0 == 0 || size.1 == 0 {
            return;
        }
        // Marks kept for a new image of another shape would land in the wrong places.
        let fits = Mask {
            width: area.size.get_untracked().map_or(size.0, |s| s.0),
            height: area.size.get_untracked().map_or(size.1, |s| s.1),
            feather: 0.0,
            marks: Vec::new(),
        }
        .fits(size.0, size.1);
        if !fits {
            area.marks.set(Vec::new());
        } else if let Some(old) = area.size.get_untracked().filter(|old| *old != size) {
            let (sx, sy) = (size.0 as f32 / old.0 as f32, size.1 as f32 / old.1 as f32);
            area.marks.update(|marks| {
                for mark in marks {
                    scale_mark(mark, sx, sy);
                }
            });
        }
        area.size.set(Some(size));
    };

    let on_pointerdown = move |event: web_sys::PointerEvent| {
        if !allowed.get_untracked() || event.button() != 0 {
            return;
        }
        let Some(element) = canvas.get_untracked() else {
            return;
        };
        let Some(point) = at(&event, &element) else {
            return;
        };
        event.prevent_default();
        let _ = element.set_pointer_capture(event.pointer_id());
        let stroke = Stroke::new(brush.get_untracked(), point);
        let mark = if erasing.get_untracked() {
            Mark::Erase(stroke)
        } else {
            Mark::Paint(stroke)
        };
        area.add(mark.clone());
        drawing.set_value(Some((event.pointer_id(), mark)));
    };
    let on_pointermove = move |event: web_sys::PointerEvent| {
        let Some(element) = canvas.get_untracked() else {
            return;
        };
        let Some(point) = at(&event, &element) else {
            return;
        };
        let mut extended = None;
        drawing.update_value(|drawing| {
            if let Some((id, Mark::Paint(stroke) | Mark::Erase(stroke))) = drawing
                && *id == event.pointer_id()
                && stroke.extend(point)
            {
                extended = Some(stroke.clone());
            }
        });
        if let Some(stroke) = extended {
            area.marks.update(|marks| {
                if let Some(Mark::Paint(last) | Mark::Erase(last)) = marks.last_mut() {
                    *last = stroke;
                }
            });
        }
    };
    let on_pointerup = move |_: web_sys::PointerEvent| drawing.set_value(None);

    let on_keydown = move |event: web_sys::KeyboardEvent| {
        if !allowed.get_untracked() {
            return;
        }
        let Some((w, h)) = area.size.get_untracked() else {
            return;
        };
        let rect = keys
            .get_untracked()
            .unwrap_or_else(|| KeyRect::centred(w, h));
        let key = event.key();
        if key == "Enter" && !(event.ctrl_key() || event.meta_key()) {
            event.prevent_default();
            area.add(rect.mark());
            keys.set(Some(rect));
        } else if let Some(next) = rect.after_key(&key, event.shift_key(), w, h) {
            event.prevent_default();
            keys.set(Some(next));
        }
    };

    let status = move || {
        if !allowed.get() {
            return String::new();
        }
        let painted = area
            .marks
            .with(|m| m.iter().any(|m| !matches!(m, Mark::Erase(_))));
        let rect = keys
            .get()
            .map(|r| format!(" {}.", r.describe()))
            .unwrap_or_default();
        if painted {
            format!("Only the painted area may change; the rest of the image stays as it is.{rect}")
        } else {
            format!("Nothing painted: the whole image may change.{rect}")
        }
    };
    let stage_class = move || {
        if allowed.get() {
            "area-stage"
        } else {
            "area-stage area-off"
        }
    };

    view! {
        <fieldset class="area" data-testid="area" disabled=move || !allowed.get()>
            <legend>"Area to change"</legend>
            <p class="area-hint">
                "Paint where the edit may change the image; the rest stays as it is. Nothing painted lets the whole image change."
            </p>
            <Show when=move || !allowed.get()>
                <p class="area-disabled" data-testid="area-disabled-reason">{DISABLED_REASON}</p>
            </Show>
            <div class=stage_class>
                <img
                    class="area-image"
                    src=move || preview.get().unwrap_or_default()
                    alt=""
                    draggable="false"
                    on:load=on_image_load
                />
                <canvas
                    class="area-canvas"
                    node_ref=canvas
                    data-testid="area-canvas"
                    tabindex=move || if allowed.get() { "0" } else { "-1" }
                    role="img"
                    aria-label="Area to change"
                    aria-describedby=keys_id.clone()
                    on:pointerdown=on_pointerdown
                    on:pointermove=on_pointermove
                    on:pointerup=on_pointerup
                    on:pointercancel=on_pointerup
                    on:keydown=on_keydown
                    on:blur=move |_| keys.set(None)
                ></canvas>
            </div>
            <p class="area-keys" id=keys_id>
                "With the keyboard: focus the image, move the rectangle with the arrow keys, size it with Shift and the arrow keys, and press Enter to add it to the area."
            </p>
            <div class="area-controls">
                <label class="area-control">
                    "Brush size"
                    <input
                        type="range"
                        data-testid="area-brush-size"
                        min=BRUSH_MIN.to_string()
                        max=BRUSH_MAX.to_string()
                        step="1"
                        prop:value=move || brush.get().to_string()
                        on:input=move |event| {
                            let value = event_target::<web_sys::HtmlInputElement>(&event).value_as_number();
                            if value.is_finite() {
                                brush.set((value as f32).clamp(BRUSH_MIN, BRUSH_MAX));
                            }
                        }
                    />
                </label>
                <button
                    type="button"
                    class="fe-button"
                    data-testid="area-eraser"
                    aria-pressed=move || erasing.get().to_string()
                    on:click=move |_| erasing.update(|e| *e = !*e)
                >
                    "Eraser"
                </button>
                <button
                    type="button"
                    class="fe-button"
                    data-testid="area-undo"
                    on:click=move |_| area.undo()
                >
                    "Undo"
                </button>
                <button
                    type="button"
                    class="fe-button"
                    data-testid="area-clear"
                    on:click=move |_| area.clear()
                >
                    "Clear"
                </button>
                <label class="area-control">
                    "Feather radius (px)"
                    <input
                        type="number"
                        id="area-feather"
                        data-testid="area-feather"
                        min="0"
                        max=FEATHER_MAX.to_string()
                        step="1"
                        prop:value=move || area.feather.get().to_string()
                        on:input=move |event| {
                            let value = event_target::<web_sys::HtmlInputElement>(&event).value_as_number();
                            if value.is_finite() {
                                area.feather.set((value as f32).clamp(0.0, FEATHER_MAX));
                            }
                        }
                    />
                </label>
            </div>
            <p class="area-status" role="status" data-testid="area-status">{status}</p>
        </fieldset>
    }
}

fn scale_mark(mark: &mut Mark, sx: f32, sy: f32) {
    match mark {
        Mark::Paint(stroke) | Mark::Erase(stroke) => {
            stroke.radius *= sx;
            for point in &mut stroke.points {
                point[0] *= sx;
                point[1] *= sy;
            }
        }
        Mark::Rect(rect) => {
            rect[0] *= sx;
            rect[1] *= sy;
            rect[2] *= sx;
            rect[3] *= sy;
        }
    }
}

crate::split::part! {
    area:
    /// The brush, loaded after the form: it is needed only once there is an image.
    fn area_part(area: Area, source: Signal<Option<Source>, LocalStorage>, params: Signal<EditParams>) -> AnyView {
        view! { <AreaPanel area source params/> }.into_any()
    }
}

/// The brush's place in the input pane: nothing until there is an image.
pub fn area_pane(
    area: Area,
    source: RwSignal<Option<Source>, LocalStorage>,
    params: RwSignal<EditParams>,
) -> impl IntoView {
    let has_source = Memo::new(move |_| source.with(Option::is_some));
    let source = Signal::derive_local(move || source.get());
    let params = Signal::derive(move || params.get());
    move || {
        has_source.get().then(|| {
            Suspend::new(async move {
                area_part(area, source, params)
                    .await
                    .unwrap_or_else(|missing| {
                        view! { <p class="notice" role="alert">{missing.to_string()}</p> }
                            .into_any()
                    })
            })
        })
    }
}
