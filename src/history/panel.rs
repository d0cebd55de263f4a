//! The history panel: every run newest first, with a thumbnail, its prompt, time and status;
//! a run opened shows its source, result and parameters, and can become the next edit's
//! image. Export, import and deletion live here too.

use flexedit_api::history::{Outcome, RunRecord, Slot, branch_depth, run_numbers};
use flexedit_api::{EditParams, format_bytes};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;

use super::{Availability, History, blob_bytes, bytes_blob, short_prompt};
use crate::form::FormState;
use crate::form::show_number;
use crate::result::{PROVIDER_DEFAULT, format_credits, format_duration};

/// A run left "running" longer than this by a tab that is gone was cut off.
const INTERRUPTED_AFTER_MS: f64 = 10.0 * 60.0 * 1000.0;

fn local_time(unix_ms: f64) -> String {
    String::from(
        js_sys::Date::new(&JsValue::from_f64(unix_ms))
            .to_locale_string("default", &JsValue::UNDEFINED),
    )
}

fn status_text(run: &RunRecord) -> &'static str {
    match run.outcome {
        // A queued run outlives its tab only when that tab is gone.
        Outcome::Running | Outcome::Queued
            if js_sys::Date::now() - run.started_at > INTERRUPTED_AFTER_MS =>
        {
            "interrupted"
        }
        _ => run.outcome.label(),
    }
}

/// The parameters of a run, with the form's names.
fn parameter_facts(params: &EditParams) -> Vec<(&'static str, String)> {
    let number = |v: Option<f64>| {
        v.map(|v| show_number(Some(v)))
            .unwrap_or_else(|| PROVIDER_DEFAULT.into())
    };
    vec![
        ("Prompt", params.prompt.clone()),
        ("Aspect ratio", params.aspect_ratio.label().to_owned()),
        (
            "Output format",
            params
                .output_format
                .map(|f| f.label().to_owned())
                .unwrap_or_else(|| PROVIDER_DEFAULT.into()),
        ),
        ("Output quality", number(params.output_quality)),
        ("Steps", number(params.steps)),
        ("Guidance", number(params.guidance)),
        ("Safety tolerance", number(params.safety_tolerance)),
        (
            "Prompt upsampling",
            params
                .prompt_upsampling
                .map(|on| if on { "on" } else { "off" }.to_owned())
                .unwrap_or_else(|| PROVIDER_DEFAULT.into()),
        ),
        ("Seed", number(params.seed)),
    ]
}

/// An image kept in the history, shown from its stored bytes; `fallback` (a URL) when the
/// bytes were not kept.
fn stored_image(
    history: History,
    id: String,
    slot: Slot,
    fallback: Option<String>,
    alt: String,
    css: &'static str,
    test_id: &'static str,
) -> impl IntoView {
    let url = RwSignal::new(None::<(String, bool)>);
    let made = StoredValue::new(None::<String>);
    spawn_local(async move {
        match history.shown_image(&id, slot).await {
            Some(blob) => {
                if let Ok(object_url) = web_sys::Url::create_object_url_with_blob(&blob) {
                    made.set_value(Some(object_url.clone()));
                    url.try_set(Some((object_url, true)));
                }
            }
            None => {
                url.try_set(fallback.map(|f| (f, false)));
            }
        }
    });
    on_cleanup(move || {
        if let Some(object_url) = made.try_get_value().flatten() {
            let _ = web_sys::Url::revoke_object_url(&object_url);
        }
    });
    move || {
        url.get().map(|(src, stored)| {
            view! {
                <img
                    class=css
                    src=src
                    alt=alt.clone()
                    data-testid=test_id
                    data-stored=stored.to_string()
                />
            }
        })
    }
}

#[component]
pub fn HistoryPanel(history: History, state: FormState) -> impl IntoView {
    let open = RwSignal::new(None::<String>);
    let confirming = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let import_input = NodeRef::<leptos::html::Input>::new();
    let numbers = Memo::new(move |_| history.runs.with(|runs| run_numbers(runs)));
    let number_of = move |id: &str| numbers.with(|n| n.get(id).copied().unwrap_or(0));

    let on_export = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        history.problem.set(None);
        history.message.set(None);
        spawn_local(async move {
            match history.export().await {
                Ok((zip, count)) => {
                    let date = js_sys::Date::new_0();
                    let name = format!(
                        "flexedit-history-{}-{:02}-{:02}.zip",
                        date.get_full_year(),
                        date.get_month() + 1,
                        date.get_date()
                    );
                    let saved = bytes_blob(&zip, "application/zip")
                        .ok_or(())
                        .and_then(|blob| crate::page::save_blob(&blob, &name));
                    match saved {
                        Ok(()) => history.message.set(Some(format!(
                            "Exported {count} runs ({}) as {name}.",
                            format_bytes(zip.len() as u64)
                        ))),
                        Err(()) => history.problem.set(Some(
                            "The browser would not save the export. Allow downloads for this page and try again.".into(),
                        )),
                    }
                }
                Err(error) => history.problem.set(Some(error.to_string())),
            }
            busy.set(false);
        });
    };

    let on_import = move |_| {
        let Some(input) = import_input.get_untracked() else {
            return;
        };
        let Some(file) = input.files().and_then(|files| files.get(0)) else {
            return;
        };
        input.set_value("");
        busy.set(true);
        history.problem.set(None);
        history.message.set(None);
        spawn_local(async move {
            let outcome = match blob_bytes(&file).await {
                Some(bytes) => history.import(&bytes).await,
                None => Err(super::store::HistoryError::Import(
                    "the file could not be read".into(),
                )),
            };
            match outcome {
                Ok(count) => history.message.set(Some(format!(
                    "Imported {count} runs; runs already here were kept once."
                ))),
                Err(error) => history.problem.set(Some(error.to_string())),
            }
            busy.set(false);
        });
    };

    let list = move || {
        history.runs.with(|runs| {
            flexedit_api::history::with_siblings_together(runs)
                .into_iter()
                .map(|run| {
                    let id = run.id.clone();
                    let depth = branch_depth(runs, &id).min(4);
                    let parent = run
                        .parent
                        .clone()
                        .filter(|p| runs.iter().any(|r| &r.id == p));
                    let (slot, fallback) = match run.success() {
                        Some(s) if s.mime.is_some() => (Slot::Result, None),
                        _ => (Slot::Source, run.source.url.clone()),
                    };
                    let open_id = id.clone();
                    let delete_id = id.clone();
                    view! {
                        <li
                            class=format!("history-item history-depth-{depth}")
                            data-testid="history-item"
                            data-run-id=id.clone()
                            data-status=status_text(run)
                            data-batch=run.place.as_ref().map(|p| p.batch.clone())
                        >
                            <button
                                type="button"
                                class="history-open"
                                data-testid="history-open"
                                aria-pressed=move || (open.get().as_deref() == Some(open_id.as_str())).to_string()
                                on:click={
                                    let id = id.clone();
                                    move |_| open.set(Some(id.clone()))
                                }
                            >
                                {stored_image(history, id.clone(), slot, fallback, String::new(), "history-thumb", "history-thumb")}
                                <span class="history-number">{format!("#{}", number_of(&id))}</span>
                                <span class="history-prompt" data-testid="history-prompt">{short_prompt(run.prompt())}</span>
                                <span class="history-time">{local_time(run.started_at)}</span>
                                <span class="history-status" data-testid="history-status">{status_text(run)}</span>
                                {run.place.as_ref().map(|place| view! {
                                    <span class="history-place" data-testid="history-place">
                                        {format!("{} of {}", place.index + 1, place.of)}
                                    </span>
                                })}
                            </button>
                            {parent.map(|parent| {
                                let label = format!("from #{}", number_of(&parent));
                                view! {
                                    <button
                                        type="button"
                                        class="history-parent"
                                        data-testid="history-parent"
                                        on:click=move |_| open.set(Some(parent.clone()))
                                    >
                                        {label}
                                    </button>
                                }
                            })}
                            <button
                                type="button"
                                class="history-delete"
                                data-testid="history-delete"
                                aria-label=format!("Delete run #{}", number_of(&id))
                                on:click=move |_| {
                                    let id = delete_id.clone();
                                    if open.get_untracked().as_deref() == Some(id.as_str()) {
                                        open.set(None);
                                    }
                                    spawn_local(async move { history.delete(&id).await });
                                }
                            >
                                "Delete"
                            </button>
                        </li>
                    }
                })
                .collect_view()
        })
    };

    let opened = Memo::new(move |_| {
        open.get().and_then(|id| {
            history
                .runs
                .with(|runs| runs.iter().find(|r| r.id == id).cloned())
        })
    });
    let detail = move || {
        opened.get().map(|run| {
            let number = number_of(&run.id);
            let success = run.success().cloned();
            let facts = parameter_facts(&run.params)
                .into_iter()
                .chain(success.iter().flat_map(|s| {
                    [
                        Some(("Time taken", format_duration(s.duration_ms))),
                        s.credits.as_ref().map(|c| ("Credits", format_credits(c))),
                        s.asset_path.clone().map(|p| ("Result file", p)),
                        s.expires_at.map(|at| {
                            let left = at - (js_sys::Date::now() / 1000.0) as i64;
                            let when = local_time(at as f64 * 1000.0);
                            ("Link expires", if left <= 0 {
                                format!("expired {when}; the image below is the kept copy")
                            } else {
                                when
                            })
                        }),
                    ]
                    .into_iter()
                    .flatten()
                }))
                .chain([
                    ("Started", local_time(run.started_at)),
                    ("Sent", format!("{} mode", run.mode)),
                ])
                .map(|(name, value)| {
                    view! {
                        <div class="result-fact">
                            <dt>{name}</dt>
                            <dd>{value}</dd>
                        </div>
                    }
                })
                .collect_view();
            let failure = match &run.outcome {
                Outcome::Failed { message, next_step, .. } => {
                    Some(format!("{message} {next_step}"))
                }
                Outcome::Cancelled { after_send: true } => {
                    Some("Cancelled after the edit was sent; it may still have been billed.".into())
                }
                Outcome::Cancelled { after_send: false } => {
                    Some("Cancelled before the edit was sent.".into())
                }
                _ => None,
            };
            let result_image = success.as_ref().map(|s| {
                let expired = s
                    .expires_at
                    .is_some_and(|at| (js_sys::Date::now() / 1000.0) as i64 >= at);
                view! {
                    <figure class="history-figure">
                        {stored_image(history, run.id.clone(), Slot::Result, (!expired).then(|| s.display_url.clone()), format!("Result of run #{number}"), "history-image", "history-result")}
                        <figcaption>"Result"</figcaption>
                    </figure>
                }
            });
            let can_branch = success.is_some();
            let edit_run = run.clone();
            let settings_run = run.clone();
            view! {
                <section class="history-detail" data-testid="history-detail" aria-label=format!("Run #{number}")>
                    <h3 class="history-detail-heading">{format!("Run #{number} — {}", status_text(&run))}</h3>
                    <div class="history-figures">
                        <figure class="history-figure">
                            {stored_image(history, run.id.clone(), Slot::Source, run.source.url.clone(), format!("Source of run #{number}"), "history-image", "history-source")}
                            <figcaption>"Source"</figcaption>
                        </figure>
                        {result_image}
                    </div>
                    {failure.map(|text| view! { <p class="history-failure" data-testid="history-failure">{text}</p> })}
                    <dl class="result-info history-facts">{facts}</dl>
                    <div class="history-actions">
                        <button
                            type="button"
                            class="fe-button"
                            data-testid="history-edit-result"
                            disabled=!can_branch
                            title="Use this result as the image for the next edit"
                            on:click=move |_| {
                                let run = edit_run.clone();
                                spawn_local(async move { history.edit_result(state, &run).await });
                            }
                        >
                            "Edit this result"
                        </button>
                        <button
                            type="button"
                            class="fe-button"
                            data-testid="history-use-settings"
                            on:click=move |_| {
                                let params = EditParams {
                                    image_url: String::new(),
                                    ..settings_run.params.clone()
                                };
                                state.params.set(params);
                                state.seed_locked.set(settings_run.params.seed.is_some());
                            }
                        >
                            "Use these settings"
                        </button>
                        <button type="button" class="fe-button" on:click=move |_| open.set(None)>
                            "Close"
                        </button>
                    </div>
                </section>
            }
        })
    };

    let off = move || match history.availability.get() {
        Availability::Off(reason) => Some(reason),
        _ => None,
    };

    view! {
        <section class="history" aria-labelledby="history-heading" data-testid="history">
            <h2 class="history-heading" id="history-heading">"History"</h2>
            {move || off().map(|reason| view! {
                <p class="notice" role="status" data-testid="history-off">{reason}</p>
            })}
            <p class="history-problem" role="alert" data-testid="history-problem">
                {move || history.problem.get()}
            </p>
            <p class="history-message" role="status" data-testid="history-message">
                {move || history.message.get()}
            </p>
            <p
                class="history-storage"
                class:history-storage-near=move || history.storage.with(|s| s.as_ref().is_some_and(|s| s.1))
                data-testid="history-storage"
            >
                {move || history.storage.get().map(|s| s.0)}
            </p>
            <Show when=move || off().is_none()>
                <div class="history-toolbar">
                    <button type="button" class="fe-button" data-testid="history-export" disabled=move || busy.get() on:click=on_export>
                        "Export"
                    </button>
                    <button
                        type="button"
                        class="fe-button"
                        data-testid="history-import"
                        disabled=move || busy.get()
                        on:click=move |_| {
                            if let Some(input) = import_input.get_untracked() {
                                input.click();
                            }
                        }
                    >
                        "Import…"
                    </button>
                    <input
                        type="file"
                        accept=".zip,application/zip"
                        hidden
                        aria-label="History export to import"
                        data-testid="history-import-input"
                        node_ref=import_input
                        on:change=on_import
                    />
                    <button
                        type="button"
                        class="fe-button"
                        data-testid="history-delete-all"
                        disabled=move || history.runs.with(Vec::is_empty)
                        on:click=move |_| confirming.set(true)
                    >
                        "Delete all…"
                    </button>
                </div>
            </Show>
            <Show when=move || confirming.get()>
                <div class="history-confirm" role="alertdialog" aria-label="Delete all runs" data-testid="history-confirm">
                    <p>
                        {move || format!(
                            "Delete all {} runs and their images from this browser? This cannot be undone; export first to keep a copy.",
                            history.runs.with(Vec::len)
                        )}
                    </p>
                    <button
                        type="button"
                        class="fe-button"
                        data-testid="history-confirm-delete"
                        on:click=move |_| {
                            confirming.set(false);
                            open.set(None);
                            spawn_local(async move { history.delete_all().await });
                        }
                    >
                        "Delete all"
                    </button>
                    <button type="button" class="fe-button" on:click=move |_| confirming.set(false)>
                        "Keep them"
                    </button>
                </div>
            </Show>
            {detail}
            <ol class="history-list" data-testid="history-list">{list}</ol>
            {move || (history.availability.get() == Availability::On && history.runs.with(Vec::is_empty)).then(|| view! {
                <p class="history-empty" data-testid="history-empty">"No runs yet. Every edit you run is kept here."</p>
            })}
        </section>
    }
}
