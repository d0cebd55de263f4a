//! The jobs of the editor's presses, as the contact sheet shows them: one tile per job
//! with its phase, time, seed and, once done, its result or its failure in place.

use leptos::prelude::*;

use crate::mask::{Area, UNFIT_SENTENCE};
use crate::run::{Phase, Place, Resume, RunEvent, RunResult};
use crate::source::Source;

/// One job as the page shows it, kept up to date from its run's events.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub place: Option<Place>,
    pub seed: Option<u32>,
    /// The image it edits, for its tile until the result arrives.
    pub preview: String,
    pub name: String,
    pub phase: Phase,
    pub result: Option<RunResult>,
    /// Unix ms when it started at the provider (or was queued, until then).
    pub since_ms: f64,
}

impl Job {
    /// A job just queued.
    pub fn queued(
        id: &str,
        source: &Source,
        seed: Option<u32>,
        place: &Place,
        now_ms: f64,
    ) -> Self {
        Self {
            id: id.to_owned(),
            place: Some(place.clone()),
            seed,
            preview: source.preview_url.clone(),
            name: source.name.clone(),
            phase: Phase::Queued,
            result: None,
            since_ms: now_ms,
        }
    }

    /// A job followed again: its edit is at the provider.
    pub fn followed(id: &str, resume: &Resume, place: Option<Place>) -> Self {
        Self {
            id: id.to_owned(),
            place,
            seed: resume.request.prompt_object.seed,
            preview: resume.before_url.clone(),
            name: String::new(),
            phase: Phase::Editing {
                since_ms: resume.submitted_ms,
                resumed: true,
                paused: None,
            },
            result: None,
            since_ms: resume.submitted_ms,
        }
    }

    /// What an event of its run changes.
    pub fn apply(&mut self, event: &RunEvent) {
        match event {
            RunEvent::Phase(phase) => {
                if let Phase::Editing { since_ms, .. } = phase {
                    self.since_ms = *since_ms;
                }
                self.phase = phase.clone();
            }
            RunEvent::Shown(result) => {
                self.result = Some(result.clone());
                self.phase = Phase::Done;
            }
            RunEvent::Failed(failure) => self.phase = Phase::Failed(failure.clone()),
            RunEvent::Cancelled { after_send } => {
                self.phase = Phase::Cancelled {
                    after_send: *after_send,
                }
            }
            RunEvent::Queued { .. }
            | RunEvent::Started { .. }
            | RunEvent::Prepared(_)
            | RunEvent::Uploaded(_)
            | RunEvent::Submitted(_)
            | RunEvent::Succeeded { .. } => {}
        }
    }

    /// One word for the tile and for tests.
    pub fn state(&self) -> &'static str {
        match &self.phase {
            Phase::Queued => "queued",
            Phase::Idle | Phase::Preparing | Phase::Uploading { .. } => "starting",
            Phase::Editing { .. } | Phase::LoadingResult => "editing",
            Phase::Done => "done",
            Phase::Failed(_) => "failed",
            Phase::Cancelled { .. } => "cancelled",
        }
    }
}

/// What the sheet's buttons ask for.
#[derive(Clone, Copy)]
pub struct SheetActions {
    pub pick: Callback<String>,
    pub cancel: Callback<String>,
    pub cancel_all: Callback<()>,
    pub download_all: Callback<()>,
}

/// The jobs of the presses so far, newest press first. Shown once a press starts more than
/// one edit, or edits wait in the queue.
#[component]
pub fn ContactSheet(
    #[prop(into)] jobs: Signal<Vec<Job>, LocalStorage>,
    /// The job whose result is the current one.
    #[prop(into)]
    current: Signal<Option<String>>,
    actions: SheetActions,
    /// What "Download all" is doing, as a sentence.
    #[prop(into)]
    status: Signal<Option<String>>,
    /// Unix ms now, ticking while jobs run.
    #[prop(into)]
    now_ms: Signal<f64>,
) -> impl IntoView {
    let shown = move || {
        jobs.with(|jobs| jobs.len() > 1 || jobs.iter().any(|j| matches!(j.phase, Phase::Queued)))
    };
    let busy = move || jobs.with(|jobs| jobs.iter().any(|j| j.phase.is_busy()));
    let done = move || jobs.with(|jobs| jobs.iter().filter(|j| j.result.is_some()).count());
    // The newest press, which "Download all" takes.
    let summary = move || {
        jobs.with(|jobs| {
            let batch = jobs
                .first()
                .and_then(|j| j.place.as_ref())
                .map(|p| &p.batch);
            let jobs: Vec<&Job> = jobs
                .iter()
                .filter(|j| j.place.as_ref().map(|p| &p.batch) == batch)
                .collect();
            let count = |state: &str| jobs.iter().filter(|j| j.state() == state).count();
            let mut parts = vec![format!("{} of {} done", count("done"), jobs.len())];
            for (state, label) in [
                ("editing", "editing"),
                ("starting", "starting"),
                ("queued", "queued"),
                ("failed", "failed"),
                ("cancelled", "cancelled"),
            ] {
                let n = count(state);
                if n > 0 {
                    parts.push(format!("{n} {label}"));
                }
            }
            parts.join(", ")
        })
    };
    // Keyed by what a tile shows, so an event redraws only its own job's tile: redrawing
    // them all decoded every result image again at each event of any job.
    let tiles = move || {
        view! {
            <For
                each=move || jobs.get()
                key=|job: &Job| {
                    (
                        job.id.clone(),
                        job.phase.describe(0.0),
                        job.result.as_ref().map(|r| r.display_url.clone()),
                    )
                }
                children=move |job: Job| tile(job, current, actions, now_ms)
            />
        }
    };
    view! {
        <Show when=shown>
            <section class="contact-sheet" aria-label="Edits" data-testid="contact-sheet">
                <div class="contact-sheet-bar">
                    <p class="contact-sheet-summary" role="status" data-testid="jobs-summary">
                        {summary}
                    </p>
                    <button
                        type="button"
                        data-testid="cancel-all"
                        disabled=move || !busy()
                        on:click=move |_| actions.cancel_all.run(())
                    >
                        "Cancel all"
                    </button>
                    <button
                        type="button"
                        data-testid="download-all"
                        disabled=move || done() == 0
                        on:click=move |_| actions.download_all.run(())
                    >
                        "Download all"
                    </button>
                </div>
                {move || status.get().map(|s| view! {
                    <p class="contact-sheet-status" role="status" data-testid="download-all-status">{s}</p>
                })}
                {move || busy().then(|| view! {
                    <p class="contact-sheet-billing">
                        "Cancelling an edit already sent stops waiting for it; the provider may still finish and bill it."
                    </p>
                })}
                <ul class="jobs" data-testid="jobs">{tiles}</ul>
            </section>
        </Show>
    }
}

/// One job's tile.
fn tile(
    job: Job,
    current: Signal<Option<String>>,
    actions: SheetActions,
    now_ms: Signal<f64>,
) -> impl IntoView {
    let id = job.id.clone();
    let is_current = {
        let id = id.clone();
        Signal::derive(move || current.get().as_deref() == Some(id.as_str()))
    };
    let phase_text = {
        let phase = job.phase.clone();
        move || match &phase {
            Phase::Editing { .. } => {
                let seconds = ((now_ms.get() - job.since_ms) / 1000.0).max(0.0) as u64;
                format!("Editing… {seconds} s")
            }
            Phase::Failed(failure) => {
                format!("{} {}", failure.message, failure.next_step)
            }
            other => other.describe(now_ms.get()),
        }
    };
    // A result laid into its source through the area shows as that composite, once made.
    let area = use_context::<Area>();
    let image = {
        let shown = job
            .result
            .as_ref()
            .map(|r| r.display_url.clone())
            .unwrap_or_else(|| job.preview.clone());
        move || {
            area.and_then(|area| area.shown_url(&shown))
                .unwrap_or_else(|| shown.clone())
        }
    };
    let unfit = {
        let source = job.preview.clone();
        let done = job.result.is_some();
        move || {
            done && area.is_some_and(|area| {
                area.applied.with(|applied| {
                    applied
                        .iter()
                        .rev()
                        .find(|a| a.source_url == source)
                        .is_some_and(|a| a.mask.is_some() && a.unfit)
                })
            })
        }
    };
    let label = match &job.place {
        Some(place) => format!("Edit {} of {}", place.index + 1, place.of),
        None => "Edit".to_owned(),
    };
    let seed = job
        .seed
        .map(|s| format!("Seed {s}"))
        .unwrap_or_else(|| "Seed chosen by the provider".into());
    let can_pick = job.result.is_some();
    let can_cancel = job.phase.is_busy();
    let (pick_id, cancel_id) = (id.clone(), id.clone());
    view! {
        <li
            class="job"
            class:job-current=move || is_current.get()
            data-testid="job"
            data-state=job.state()
            data-seed=job.seed.map(|s| s.to_string()).unwrap_or_default()
            data-index=job.place.as_ref().map(|p| p.index.to_string()).unwrap_or_default()
        >
            <img class="job-image" src=image alt=format!("{label}: {}", job.name)/>
            <p class="job-title">{label}</p>
            <p class="job-seed">{seed}</p>
            <p class="job-phase" data-testid="job-phase">{phase_text}</p>
            {move || unfit().then(|| view! {
                <p class="job-area" data-testid="job-area">{UNFIT_SENTENCE}</p>
            })}
            <div class="job-actions">
                {can_pick.then(|| view! {
                    <button
                        type="button"
                        data-testid="job-pick"
                        aria-pressed=move || is_current.get().to_string()
                        on:click=move |_| actions.pick.run(pick_id.clone())
                    >
                        "Show this result"
                    </button>
                })}
                {can_cancel.then(|| view! {
                    <button
                        type="button"
                        data-testid="job-cancel"
                        on:click=move |_| actions.cancel.run(cancel_id.clone())
                    >
                        "Cancel"
                    </button>
                })}
            </div>
        </li>
    }
}

/// The finished jobs of `jobs`' newest press, in order, as one zip with a manifest; the
/// sentence to show, either way. Each file is what its tile shows: the result laid into
/// its source when an area was painted for it, otherwise the provider's bytes.
pub async fn download_all(
    jobs: Vec<Job>,
    network: Option<crate::transport::Network>,
    area: Option<Area>,
) -> String {
    let Some(batch) = jobs
        .iter()
        .find(|j| j.result.is_some())
        .and_then(|j| j.place.as_ref().map(|p| p.batch.clone()))
    else {
        return "No result to download yet.".into();
    };
    let Some(network) = network else {
        return "The editor was closed; nothing was downloaded.".into();
    };
    let mut done: Vec<&Job> = jobs
        .iter()
        .filter(|j| j.place.as_ref().is_some_and(|p| p.batch == batch))
        .filter(|j| j.result.is_some())
        .collect();
    done.sort_by_key(|j| j.place.as_ref().map_or(0, |p| p.index));
    let connection = network.connection.get_untracked();
    let transport = network.net.transport();
    let mut files = Vec::with_capacity(done.len());
    let mut missing = 0;
    for job in done {
        let Some(result) = &job.result else {
            continue;
        };
        let laid = match area {
            Some(area) => crate::composite::lay_in(area, result, Some(&network)).await,
            None => None,
        };
        let composite = match laid {
            Some(Ok(crate::composite::Laid::Made(blob))) => Some(blob),
            // Unfit, or the composite could not be made: the provider's own bytes.
            _ => None,
        };
        let is_composite = composite.is_some();
        let blob = match composite {
            Some(blob) => Some(blob),
            None => transport
                .fetch_image(&connection, &result.display_url)
                .await
                .ok(),
        };
        let bytes = match blob {
            Some(blob) => crate::prepare::blob_bytes(&blob).await,
            None => None,
        };
        let Some(bytes) = bytes else {
            missing += 1;
            continue;
        };
        files.push(flexedit_api::batch::ResultFile {
            index: job.place.as_ref().map_or(0, |p| p.index),
            bytes,
            prompt_object: result.request.prompt_object.clone(),
            record: result.record.as_ref().map(ToString::to_string),
            area: is_composite,
        });
    }
    if files.is_empty() {
        return "The results could not be fetched: their links may have expired. Check the connection, then try again.".into();
    }
    let zip = match flexedit_api::batch::results_zip(&files) {
        Ok(zip) => zip,
        Err(e) => return format!("The zip could not be written ({e})."),
    };
    let saved = crate::prepare::bytes_blob(&zip, "application/zip")
        .ok_or(())
        .and_then(|blob| crate::page::save_blob(&blob, "flexedit-results.zip"));
    match (saved, missing) {
        (Err(()), _) => {
            "The browser refused the download. Try again, or save each result on its own.".into()
        }
        (Ok(()), 0) => format!("Downloaded {} results in one zip.", files.len()),
        (Ok(()), n) => format!(
            "Downloaded {} results in one zip; {n} could not be fetched (their links may have expired).",
            files.len()
        ),
    }
}
