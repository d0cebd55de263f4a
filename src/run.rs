//! One run of an edit: its phases as the person sees them, and what it produced.

use flexedit_api::{ApiError, AssetPath, Credits, EditRequest};

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
    Failed(ApiError),
    /// `after_send`: the edit had already been sent, so it may still be billed.
    Cancelled {
        after_send: bool,
    },
}

impl Phase {
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
