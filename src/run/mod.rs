//! A run of an edit: its lifecycle (prepare → upload → submit → poll → the result), its
//! phases as the person sees them, and the events it emits. The editor shows those events,
//! the history keeps them and an embedding host hears them; none of them drives the run.
//!
//! - [`poll`]: when to ask about an asynchronous record, free of the browser
//! - [`pipeline`]: the run itself, through the transport

mod pipeline;
pub mod poll;
pub mod queue;

use std::cell::RefCell;
use std::rc::Rc;

use flexedit_api::{ApiError, AssetPath, Credits, EditParams, EditRequest, Problems, RecordId};

use crate::source::Source;
use crate::transport::Connection;
pub use flexedit_api::history::Place;
pub use pipeline::{Resume, RunHandle, Runner, new_run_id, now_ms, preload};
pub use poll::Pause;
pub use queue::{JobSpec, Queue};

/// Where a run is. Shown in the run bar and announced in the live region.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Idle,
    /// Waiting for another edit of the queue to finish.
    Queued,
    /// Orientation and downscaling in the browser.
    Preparing,
    Uploading {
        percent: u8,
    },
    /// The edit is out. `since_ms`: Unix ms when it was sent; `resumed`: followed again
    /// after a reload or "Check again"; `paused`: why it is not being asked about now.
    Editing {
        since_ms: f64,
        resumed: bool,
        paused: Option<Pause>,
    },
    /// The provider answered; the result image is loading.
    LoadingResult,
    Done,
    Failed(Failure),
    /// `after_send`: the edit had already been sent, so it may still be billed.
    Cancelled {
        after_send: bool,
    },
}

impl Phase {
    /// The sentence the run bar shows and the live region announces; `now_ms` is Unix
    /// ms, for the elapsed time of an edit.
    pub fn describe(&self, now_ms: f64) -> String {
        match self {
            Phase::Idle => String::new(),
            Phase::Queued => "Queued: starts when an edit before it finishes.".into(),
            Phase::Preparing => "Preparing the image…".into(),
            Phase::Uploading { percent } => format!("Uploading the image… {percent}%"),
            Phase::Editing {
                paused: Some(Pause::NeedsKey),
                ..
            } => "Enter your key to fetch the edit you started: open Settings and type your API key; nothing is sent again.".into(),
            Phase::Editing {
                since_ms,
                resumed,
                paused,
            } => {
                let seconds = ((now_ms - since_ms) / 1000.0).max(0.0).floor() as u64;
                let mut text = if *resumed {
                    let ago = if seconds < 60 {
                        format!("{seconds} s")
                    } else {
                        format!("{} min", seconds / 60)
                    };
                    format!("Still editing (started {ago} ago)…")
                } else {
                    format!("Editing… {seconds} s (edits usually take 15–60 s)")
                };
                if *paused == Some(Pause::Offline) {
                    text.push_str(
                        " Offline: the edit goes on at the provider and is fetched when the connection is back.",
                    );
                }
                text
            }
            Phase::LoadingResult => "Loading the result…".into(),
            Phase::Done => "Done.".into(),
            Phase::Failed(failure) => format!("Failed: {}", failure.message),
            Phase::Cancelled { after_send: true } => {
                "Cancelled. The edit had already been sent, so it may still be billed.".into()
            }
            Phase::Cancelled { after_send: false } => {
                "Cancelled before the edit was sent; nothing was billed.".into()
            }
        }
    }

    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            Phase::Queued
                | Phase::Preparing
                | Phase::Uploading { .. }
                | Phase::Editing { .. }
                | Phase::LoadingResult
        )
    }
}

/// Something that happened to a run. Each comes with the run's id.
#[derive(Clone)]
pub enum RunEvent {
    /// A job of a press waits for its turn.
    Queued {
        source: Source,
        params: EditParams,
        connection: Connection,
        place: Place,
    },
    /// A new run, before anything is sent.
    Started {
        source: Source,
        /// The parameters with the image reference the request will carry.
        params: EditParams,
        connection: Connection,
        place: Option<Place>,
    },
    /// The bytes that will be uploaded, once prepared.
    Prepared(web_sys::Blob),
    /// The upload's storage path.
    Uploaded(String),
    /// The provider named the edit's record: from now on it can be followed again.
    Submitted(Resume),
    /// Progress, as the person reads it.
    Phase(Phase),
    /// The provider answered with a result; the image is still loading.
    Succeeded {
        result: RunResult,
        took_ms: f64,
        connection: Connection,
    },
    /// The result's image loaded: the run is done.
    Shown(RunResult),
    Failed(Failure),
    Cancelled {
        after_send: bool,
    },
}

pub type Listener = Rc<dyn Fn(&str, &RunEvent)>;

/// Who hears a runner's events: each listener gets every event of every run, in order.
#[derive(Clone, Default)]
pub struct Events(Rc<RefCell<Vec<Listener>>>);

impl Events {
    pub fn subscribe(&self, listener: Listener) {
        self.0.borrow_mut().push(listener);
    }

    pub fn emit(&self, run: &str, event: RunEvent) {
        // Cloned out first: a listener may subscribe another while it runs.
        let listeners: Vec<Listener> = self.0.borrow().clone();
        for listener in listeners {
            listener(run, &event);
        }
    }
}

/// A finished edit.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// The only URL that displays the result (expiring).
    pub display_url: String,
    /// The result's storage path: the next edit's `imageUrl` with no re-upload.
    pub asset_path: Option<AssetPath>,
    /// Exactly what was sent.
    pub request: EditRequest,
    pub seed: Option<u32>,
    /// Measured from the loaded image.
    pub dimensions: Option<(u32, u32)>,
    pub duration_ms: f64,
    pub credits: Option<Credits>,
    /// The provider's record of the edit, when it named one.
    pub record: Option<RecordId>,
    /// Where the job stood among the jobs of its press.
    pub place: Option<Place>,
    /// Unix seconds when `display_url` stops working, when the URL says.
    pub expires_at: Option<i64>,
    /// The image the edit started from, for the before/after view.
    pub before_url: String,
}

/// A failed run, as the person reads it: what happened, what to do next, and the
/// provider's own words when it gave any.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// A stable name, for tests and history.
    pub kind: String,
    pub message: String,
    pub next_step: String,
    pub provider_words: Option<String>,
    pub may_have_billed: bool,
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Self {
            kind: error.kind().to_owned(),
            message: error.to_string(),
            next_step: error.next_step().to_owned(),
            provider_words: error.provider_words(),
            may_have_billed: error.may_have_billed(),
        }
    }
}

impl Failure {
    pub fn invalid(problems: &Problems) -> Self {
        Self {
            kind: "invalid".into(),
            message: problems.to_string(),
            next_step: "Fix the fields marked in the form, then run again.".into(),
            provider_words: None,
            may_have_billed: false,
        }
    }

    pub fn prepare(error: &crate::prepare::PrepareError) -> Self {
        // The image is fine; the code to prepare it did not arrive.
        if let crate::prepare::PrepareError::PartMissing(missing) = error {
            return Self::part_missing(*missing);
        }
        Self {
            kind: "prepare".into(),
            message: error.to_string(),
            next_step: "Try another image, or save this one as PNG or JPEG and choose it again."
                .into(),
            provider_words: None,
            may_have_billed: false,
        }
    }

    /// Code the run needs could not be fetched; nothing was sent.
    pub fn part_missing(missing: crate::split::PartMissing) -> Self {
        Self {
            kind: "part_missing".into(),
            message: missing.to_string(),
            next_step: "Reload the page, then run again.".into(),
            provider_words: None,
            may_have_billed: false,
        }
    }
}

/// The asset path is known only after the upload; validation stands this in for it.
const PENDING_UPLOAD: &str = "images/pending-upload.png";

/// The form's parameters with the image reference the request will carry.
pub fn params_for(source: Option<&Source>, params: &EditParams) -> EditParams {
    use crate::source::Origin;
    let image_url = match source.map(|s| &s.origin) {
        None => String::new(),
        Some(Origin::File { .. }) => PENDING_UPLOAD.to_owned(),
        Some(Origin::Url(url)) => url.clone(),
        Some(Origin::Asset { path }) => path.clone(),
    };
    EditParams {
        image_url,
        ..params.clone()
    }
}
