//! One run of an edit: its phases as the person sees them, and what it produced.

use flexedit_api::{ApiError, AssetPath, Credits, EditRequest, Problems};

/// Where a run is. Shown in the run bar and announced in the live region.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Idle,
    /// Orientation and downscaling in the browser.
    Preparing,
    Uploading {
        percent: u8,
    },
    /// The edit request is out; `started_ms` is `performance.now()` when it was sent.
    Editing {
        started_ms: f64,
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
    /// The sentence the run bar shows and the live region announces; `now_ms` is
    /// `performance.now()`, for the elapsed time of an edit.
    pub fn describe(&self, now_ms: f64) -> String {
        match self {
            Phase::Idle => String::new(),
            Phase::Preparing => "Preparing the image…".into(),
            Phase::Uploading { percent } => format!("Uploading the image… {percent}%"),
            Phase::Editing { started_ms } => {
                let seconds = ((now_ms - started_ms) / 1000.0).max(0.0).floor() as u64;
                format!("Editing… {seconds} s (edits usually take 15–60 s)")
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
            Phase::Preparing
                | Phase::Uploading { .. }
                | Phase::Editing { .. }
                | Phase::LoadingResult
        )
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

    pub fn still_processing() -> Self {
        Self {
            kind: "processing".into(),
            message: "The provider accepted the edit but has not finished it.".into(),
            next_step: "Wait a minute, then retry; the provider may bill the retry again.".into(),
            provider_words: None,
            may_have_billed: true,
        }
    }
}
