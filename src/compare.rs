//! Before/after comparison of a result with the image it started from: both images stacked
//! in one box, the "after" clipped at a split the person drags, moves with the arrow keys,
//! or switches with a toggle.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Which images the comparison shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompareMode {
    /// Before on the left of the split, after on the right.
    #[default]
    Split,
    BeforeOnly,
    AfterOnly,
}

impl CompareMode {
    /// The mode a click on the toggle switches to.
    pub const fn next(self) -> Self {
        match self {
            Self::Split => Self::BeforeOnly,
            Self::BeforeOnly => Self::AfterOnly,
            Self::AfterOnly => Self::Split,
        }
    }

    /// The toggle's label: what a click does, not what is shown now.
    pub const fn toggle_label(self) -> &'static str {
        match self.next() {
            Self::Split => "Show before and after",
            Self::BeforeOnly => "Show before only",
            Self::AfterOnly => "Show after only",
        }
    }

    /// How far from the left the "after" image starts, in percent.
    pub fn after_starts_at(self, split: f64) -> f64 {
        match self {
            Self::Split => clamp_percent(split),
            Self::BeforeOnly => 100.0,
            Self::AfterOnly => 0.0,
        }
    }
}

/// The CSS that hides the part of the "after" image left of `percent`.
pub fn clip_for(percent: f64) -> String {
    format!("inset(0 0 0 {}%)", format_percent(percent))
}

/// The split after a key press on the slider, or `None` for keys the slider ignores.
pub fn split_after_key(split: f64, key: &str, shift: bool) -> Option<f64> {
    let step = if shift { 10.0 } else { 1.0 };
    let next = match key {
        "ArrowLeft" | "ArrowDown" => split - step,
        "ArrowRight" | "ArrowUp" => split + step,
        "PageDown" => split - 10.0,
        "PageUp" => split + 10.0,
        "Home" => 0.0,
        "End" => 100.0,
        _ => return None,
    };
    Some(clamp_percent(next.round()))
}

fn clamp_percent(p: f64) -> f64 {
    if p.is_finite() {
        p.clamp(0.0, 100.0)
    } else {
        50.0
    }
}

/// Whole percents without a fraction, so the style reads `30%`, not `30.0%`.
fn format_percent(p: f64) -> String {
    let p = clamp_percent(p);
    if p.fract() == 0.0 {
        format!("{p:.0}")
    } else {
        format!("{p:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    }
}

/// The box style that keeps the image's shape before and after it loads, and keeps a tall
/// image from running past the screen.
/// The stage's `aspect-ratio` and `width`, set as properties rather than a `style`
/// attribute, which a Content-Security-Policy without 'unsafe-inline' refuses.
fn box_shape(size: Option<(u32, u32)>) -> (String, Option<String>) {
    match size {
        Some((w, h)) if w > 0 && h > 0 => (
            format!("{w} / {h}"),
            Some(format!("min(100%, calc(70vh * {w} / {h}))")),
        ),
        _ => ("4 / 3".to_owned(), None),
    }
}

fn natural_size(img: &web_sys::HtmlImageElement) -> Option<(u32, u32)> {
    let (w, h) = (img.natural_width(), img.natural_height());
    (w > 0 && h > 0).then_some((w, h))
}

/// The before/after view. `size` is the result's size when already known, so the box has
/// its final shape before the image arrives; `on_after_load` and `on_after_error` report on
/// the "after" image; `after_test_id` names it for tests of a view that embeds this one.
#[component]
pub fn Compare(
    #[prop(into)] before_url: Signal<String>,
    #[prop(into)] after_url: Signal<String>,
    #[prop(optional, into)] size: MaybeProp<(u32, u32)>,
    #[prop(optional)] on_after_load: Option<Callback<(u32, u32)>>,
    #[prop(optional)] on_after_error: Option<Callback<()>>,
    #[prop(optional)] after_test_id: Option<&'static str>,
) -> impl IntoView {
    let split = RwSignal::new(50.0_f64);
    let mode = RwSignal::new(CompareMode::Split);
    let dragging = RwSignal::new(false);
    let after_size = RwSignal::new(None::<(u32, u32)>);
    let before_size = RwSignal::new(None::<(u32, u32)>);

    // A new result starts unmeasured; the old size would give the box the wrong shape.
    Effect::new(move |previous: Option<String>| {
        let url = after_url.get();
        if previous.is_some_and(|p| p != url) {
            after_size.set(None);
        }
        url
    });
    Effect::new(move |previous: Option<String>| {
        let url = before_url.get();
        if previous.is_some_and(|p| p != url) {
            before_size.set(None);
        }
        url
    });

    let shape = move || {
        size.get()
            .or_else(|| after_size.get())
            .or_else(|| before_size.get())
    };
    let after_starts = move || mode.get().after_starts_at(split.get());

    let set_from_pointer = move |ev: &web_sys::PointerEvent| {
        let Some(target) = ev
            .current_target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        let rect = target.get_bounding_client_rect();
        if rect.width() > 0.0 {
            split.set(clamp_percent(
                (f64::from(ev.client_x()) - rect.left()) / rect.width() * 100.0,
            ));
        }
    };

    let on_pointerdown = move |ev: web_sys::PointerEvent| {
        // Only the main button drags; a right click opens the image's menu as usual.
        if ev.button() != 0 {
            return;
        }
        if let Some(target) = ev
            .current_target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        {
            // Capture keeps the drag going when the pointer leaves the box.
            let _ = target.set_pointer_capture(ev.pointer_id());
        }
        ev.prevent_default();
        dragging.set(true);
        mode.set(CompareMode::Split);
        set_from_pointer(&ev);
    };
    let on_pointermove = move |ev: web_sys::PointerEvent| {
        if dragging.get_untracked() {
            set_from_pointer(&ev);
        }
    };
    let stop_drag = move |_: web_sys::PointerEvent| dragging.set(false);

    let on_input = move |ev: web_sys::Event| {
        // A range input's value is a number; the browser reads it (NaN is clamped to 50).
        let value = event_target::<web_sys::HtmlInputElement>(&ev).value_as_number();
        split.set(clamp_percent(value));
        mode.set(CompareMode::Split);
    };
    // Handled here rather than left to the browser so that every engine moves in the same
    // steps and a key on a "before only" view brings the split back.
    let on_keydown = move |ev: web_sys::KeyboardEvent| {
        if let Some(next) = split_after_key(split.get_untracked(), &ev.key(), ev.shift_key()) {
            ev.prevent_default();
            split.set(next);
            mode.set(CompareMode::Split);
        }
    };

    let on_load = move |ev: web_sys::Event| {
        let Some(img) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlImageElement>().ok())
        else {
            return;
        };
        if let Some(measured) = natural_size(&img) {
            after_size.set(Some(measured));
            if let Some(callback) = on_after_load {
                callback.run(measured);
            }
        }
    };
    let on_before_load = move |ev: web_sys::Event| {
        if let Some(img) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlImageElement>().ok())
        {
            before_size.set(natural_size(&img));
        }
    };
    let on_error = move |_| {
        if let Some(callback) = on_after_error {
            callback.run(());
        }
    };

    let width_attr = move || shape().map(|(w, _)| w.to_string());
    let height_attr = move || shape().map(|(_, h)| h.to_string());

    view! {
        <div class="compare" data-testid="compare">
            <div
                class="compare-stage"
                class:compare-dragging=move || dragging.get()
                style:aspect-ratio=move || box_shape(shape()).0
                style:width=move || box_shape(shape()).1
                on:pointerdown=on_pointerdown
                on:pointermove=on_pointermove
                on:pointerup=stop_drag
                on:pointercancel=stop_drag
            >
                <img
                    class="compare-image compare-before"
                    data-testid="compare-before"
                    src=move || before_url.get()
                    alt="Before: the image the edit started from"
                    draggable="false"
                    on:load=on_before_load
                />
                <img
                    class="compare-image compare-after"
                    data-testid=after_test_id.unwrap_or("compare-after")
                    src=move || after_url.get()
                    alt="After: the edited image"
                    draggable="false"
                    width=width_attr
                    height=height_attr
                    style:clip-path=move || clip_for(after_starts())
                    on:load=on_load
                    on:error=on_error
                />
                <span class="compare-label compare-label-before" aria-hidden="true"
                    hidden=move || mode.get() == CompareMode::AfterOnly>
                    "Before"
                </span>
                <span class="compare-label compare-label-after" aria-hidden="true"
                    hidden=move || mode.get() == CompareMode::BeforeOnly>
                    "After"
                </span>
                <div
                    class="compare-handle"
                    aria-hidden="true"
                    hidden=move || mode.get() != CompareMode::Split
                    style:left=move || format!("{}%", format_percent(split.get()))
                ></div>
            </div>
            <div class="compare-controls">
                <input
                    class="compare-slider"
                    type="range"
                    min="0"
                    max="100"
                    step="1"
                    aria-label="Before/after split"
                    aria-valuetext=move || {
                        let p = format_percent(split.get());
                        format!("{p}% before on the left, the rest after")
                    }
                    data-testid="compare-slider"
                    prop:value=move || format_percent(split.get())
                    on:input=on_input
                    on:keydown=on_keydown
                />
                <button
                    type="button"
                    class="fe-button compare-toggle"
                    data-testid="compare-toggle"
                    on:click=move |_| mode.update(|m| *m = m.next())
                >
                    {move || mode.get().toggle_label()}
                </button>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toggle_cycles_and_says_what_it_does() {
        let mut mode = CompareMode::Split;
        let mut labels = Vec::new();
        for _ in 0..3 {
            labels.push(mode.toggle_label());
            mode = mode.next();
        }
        assert_eq!(mode, CompareMode::Split);
        assert_eq!(
            labels,
            [
                "Show before only",
                "Show after only",
                "Show before and after"
            ]
        );
    }

    #[test]
    fn keys_move_the_split_within_bounds() {
        assert_eq!(split_after_key(50.0, "ArrowRight", false), Some(51.0));
        assert_eq!(split_after_key(50.0, "ArrowLeft", true), Some(40.0));
        assert_eq!(split_after_key(0.0, "ArrowLeft", false), Some(0.0));
        assert_eq!(split_after_key(99.5, "PageUp", false), Some(100.0));
        assert_eq!(split_after_key(30.0, "End", false), Some(100.0));
        assert_eq!(split_after_key(30.0, "a", false), None);
    }

    #[test]
    fn clips_read_as_plain_percents() {
        assert_eq!(clip_for(30.0), "inset(0 0 0 30%)");
        assert_eq!(clip_for(12.345), "inset(0 0 0 12.35%)");
        assert_eq!(clip_for(f64::NAN), "inset(0 0 0 50%)");
        assert_eq!(clip_for(140.0), "inset(0 0 0 100%)");
        assert_eq!(CompareMode::BeforeOnly.after_starts_at(30.0), 100.0);
    }
}
