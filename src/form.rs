//! The parameter form: one labelled control per field of the contract, validated as the
//! person types by flexedit-api, every problem shown next to its control.

use flexedit_api::{
    AspectRatio, EditParams, Field, GUIDANCE, OUTPUT_QUALITY, OutputFormat, Problems,
    SAFETY_TOLERANCE, SEED_MAX, STEPS, StepsPreset,
};
use leptos::prelude::*;

use crate::run::Phase;
use crate::source::Source;

/// What the person has chosen: the image, the parameters and the seed lock, with the phase
/// of the run shown. The editor owns it; the history restores and keeps it.
#[derive(Clone, Copy)]
pub struct FormState {
    pub source: RwSignal<Option<Source>, LocalStorage>,
    pub params: RwSignal<EditParams>,
    pub seed_locked: RwSignal<bool>,
    pub phase: RwSignal<Phase, LocalStorage>,
    /// Where the edit may change the image.
    pub area: crate::mask::Area,
}

impl FormState {
    /// Replaces the source image, releasing the old preview.
    pub fn set_source(&self, source: Source) {
        crate::intake::replace_source(self.source, source);
        if !self.phase.get_untracked().is_busy() {
            self.phase.set(Phase::Idle);
        }
    }
}

/// Reads a number field as typed: blank is "the provider's default", anything that is not a
/// number is kept as NaN so validation can say so instead of silently dropping it.
///
/// The browser reads the number (`+text`, exact like Rust's own parser, whose tables
/// would cost the first load about 16 KB gzip); only the characters of a decimal number are
/// let through, since `+text` would also read `0x1f` and `Infinity`.
pub fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let decimal = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    if !decimal {
        return Some(f64::NAN);
    }
    // Unary plus on a string: the browser's `Number(text)`; it throws only for symbols.
    #[cfg(target_arch = "wasm32")]
    {
        Some(wasm_bindgen::JsValue::from_str(text).unchecked_into_f64())
    }
    // Natively (the build's first screen, src/prerender.rs) Rust's parser is no cost.
    #[cfg(not(target_arch = "wasm32"))]
    {
        Some(text.parse().unwrap_or(f64::NAN))
    }
}

/// Shows a number the way a person typed it: no trailing `.0` on whole numbers.
pub fn show_number(value: Option<f64>) -> String {
    match value {
        Some(v) if !v.is_nan() => flexedit_api::format_number(v),
        _ => String::new(),
    }
}

/// A seed the provider accepts, drawn by the browser.
pub fn random_seed() -> f64 {
    (js_sys::Math::random() * (SEED_MAX as f64 + 1.0))
        .floor()
        .min(SEED_MAX as f64)
}

fn problem_text(problems: Signal<Option<Problems>>, field: Field) -> Option<String> {
    problems.with(|p| {
        p.as_ref()
            .and_then(|p| p.for_field(field))
            .map(|p| p.message.clone())
    })
}

#[component]
fn Problem(problems: Signal<Option<Problems>>, field: Field) -> impl IntoView {
    let id = format!("problem-{}", field.json_name());
    move || {
        problem_text(problems, field).map(|text| {
            view! {
                <p class="field-problem" id=id.clone() data-testid=id.clone()>
                    {text}
                </p>
            }
        })
    }
}

#[component]
fn NumberField(
    params: RwSignal<EditParams>,
    problems: Signal<Option<Problems>>,
    field: Field,
    get: fn(&EditParams) -> Option<f64>,
    set: fn(&mut EditParams, Option<f64>),
    hint: String,
    #[prop(default = "numeric")] inputmode: &'static str,
) -> impl IntoView {
    let id = format!("field-{}", field.json_name());
    let problem_id = format!("problem-{}", field.json_name());
    let hint_id = format!("hint-{}", field.json_name());
    let describedby = format!("{hint_id} {problem_id}");
    let invalid = move || problem_text(problems, field).is_some();
    // The text as typed: "4." must stay "4." while the person is on their way to "4.5".
    // It follows the parameter only when the parameter changes to another number (a preset,
    // Randomize, Reuse seed).
    let text = RwSignal::new(params.with_untracked(|p| show_number(get(p))));
    Effect::new(move |_| {
        let value = params.with(get);
        let typed = parse_number(&text.get_untracked());
        let same = match (typed, value) {
            (Some(a), Some(b)) => a == b || (a.is_nan() && b.is_nan()),
            (None, None) => true,
            _ => false,
        };
        if !same {
            text.set(show_number(value));
        }
    });
    view! {
        <div class="field">
            <label for=id.clone()>{field.label()}</label>
            <input
                id=id.clone()
                name=field.json_name()
                type="text"
                inputmode=inputmode
                autocomplete="off"
                aria-describedby=describedby
                aria-invalid=move || invalid().to_string()
                value=text.get_untracked()
                prop:value=move || text.get()
                on:input=move |ev| {
                    let typed = event_target_value(&ev);
                    let value = parse_number(&typed);
                    text.set(typed);
                    params.update(|p| set(p, value));
                }
            />
            <p class="field-hint" id=hint_id>{hint}</p>
            <Problem problems field/>
        </div>
    }
}

fn range_hint(range: &flexedit_api::Range) -> String {
    format!(
        "{}, default {}",
        range.allowed(),
        flexedit_api::format_number(range.default)
    )
}

/// The form. `problems` is the current validation outcome, computed by the owner.
#[component]
pub fn ParamsForm(
    params: RwSignal<EditParams>,
    problems: Signal<Option<Problems>>,
    seed_locked: RwSignal<bool>,
) -> impl IntoView {
    let prompt_invalid = move || problem_text(problems, Field::Prompt).is_some();
    // The values as first rendered are written as attributes too (the live ones are
    // properties), so the first screen rendered at build time shows them.
    let initial = params.get_untracked();
    let initial_format = initial.output_format.unwrap_or_default();
    view! {
        <fieldset class="params" data-testid="params">
            <legend>"What to change"</legend>
            <div class="field field-prompt">
                <label for="field-prompt">"Prompt"</label>
                <textarea
                    id="field-prompt"
                    name="prompt"
                    rows="3"
                    placeholder="Add the text SALE 50% OFF in bold red letters at the top"
                    aria-describedby="problem-prompt"
                    aria-invalid=move || prompt_invalid().to_string()
                    prop:value=move || params.with(|p| p.prompt.clone())
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        params.update(|p| p.prompt = text);
                    }
                >
                    {initial.prompt.clone()}
                </textarea>
                <Problem problems field=Field::Prompt/>
            </div>

            <div class="field-row">
                <div class="field">
                    <label for="field-aspect_ratio">"Aspect ratio"</label>
                    <select
                        id="field-aspect_ratio"
                        name="aspect_ratio"
                        prop:value=move || params.with(|p| p.aspect_ratio.as_str().to_owned())
                        on:change=move |ev| {
                            if let Ok(ratio) = event_target_value(&ev).parse::<AspectRatio>() {
                                params.update(|p| p.aspect_ratio = ratio);
                            }
                        }
                    >
                        {AspectRatio::ALL
                            .into_iter()
                            .map(|r| {
                                view! {
                                    <option value=r.as_str() selected=r == initial.aspect_ratio>
                                        {r.label()}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="field-output_format">"Output format"</label>
                    <select
                        id="field-output_format"
                        name="output_format"
                        prop:value=move || {
                            params.with(|p| p.output_format.unwrap_or_default().as_str().to_owned())
                        }
                        on:change=move |ev| {
                            if let Ok(format) = event_target_value(&ev).parse::<OutputFormat>() {
                                params.update(|p| p.output_format = Some(format));
                            }
                        }
                    >
                        {OutputFormat::ALL
                            .into_iter()
                            .map(|f| {
                                view! {
                                    <option value=f.as_str() selected=f == initial_format>
                                        {f.label()}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </div>
            </div>

            <div class="field-row">
                <NumberField
                    params
                    problems
                    field=Field::OutputQuality
                    get=|p| p.output_quality
                    set=|p, v| p.output_quality = v
                    hint=range_hint(&OUTPUT_QUALITY)
                />
                <div class="field-group">
                    <NumberField
                        params
                        problems
                        field=Field::Steps
                        get=|p| p.steps
                        set=|p, v| p.steps = v
                        hint=range_hint(&STEPS)
                    />
                    <div class="presets" role="group" aria-label="Steps presets">
                        {StepsPreset::ALL
                            .into_iter()
                            .map(|preset| {
                                view! {
                                    <button
                                        type="button"
                                        class="preset"
                                        aria-pressed=move || {
                                            (params.with(|p| p.steps_preset()) == Some(preset))
                                                .to_string()
                                        }
                                        on:click=move |_| {
                                            params.update(|p| p.steps = Some(f64::from(preset.steps())))
                                        }
                                    >
                                        {format!("{} ({})", preset.label(), preset.steps())}
                                    </button>
                                }
                            })
                            .collect_view()}
                    </div>
                </div>
            </div>

            <div class="field-row">
                <NumberField
                    params
                    problems
                    field=Field::Guidance
                    get=|p| p.guidance
                    set=|p, v| p.guidance = v
                    hint=range_hint(&GUIDANCE)
                    inputmode="decimal"
                />
                <NumberField
                    params
                    problems
                    field=Field::SafetyTolerance
                    get=|p| p.safety_tolerance
                    set=|p, v| p.safety_tolerance = v
                    hint=format!("{} (1 is strictest)", range_hint(&SAFETY_TOLERANCE))
                />
            </div>

            <div class="field field-check">
                <input
                    id="field-prompt_upsampling"
                    name="prompt_upsampling"
                    type="checkbox"
                    checked=initial.prompt_upsampling == Some(true)
                    prop:checked=move || params.with(|p| p.prompt_upsampling == Some(true))
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        params.update(|p| p.prompt_upsampling = on.then_some(true));
                    }
                />
                <label for="field-prompt_upsampling">"Prompt upsampling"</label>
            </div>

            <div class="field-group">
                <NumberField
                    params
                    problems
                    field=Field::Seed
                    get=|p| p.seed
                    set=|p, v| p.seed = v
                    hint="A whole number; the same seed and input give the same output. Blank or unlocked: a new random seed each run.".to_owned()
                />
                <div class="seed-actions">
                    <button
                        type="button"
                        data-testid="seed-randomize"
                        on:click=move |_| params.update(|p| p.seed = Some(random_seed()))
                    >
                        "Randomize seed"
                    </button>
                    <label class="check">
                        <input
                            type="checkbox"
                            data-testid="seed-lock"
                            checked=seed_locked.get_untracked()
                            prop:checked=move || seed_locked.get()
                            on:change=move |ev| seed_locked.set(event_target_checked(&ev))
                        />
                        "Lock seed"
                    </label>
                </div>
            </div>
        </fieldset>
    }
}
