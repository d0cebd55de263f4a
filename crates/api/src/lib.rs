//! The 1min.ai contract for editing an image with Black Forest Labs' Flux 2 Flex.
//!
//! Pure Rust: no web, no async, no I/O, so the same checks run in the page, the proxy and
//! the simulator.

/// The model every edit request names.
pub const MODEL: &str = "black-forest-labs/flux-2-flex";

/// The feature type of an image edit in the features API.
pub const FEATURE_TYPE: &str = "IMAGE_EDITOR";
