//! The 1min.ai contract for editing an image with Black Forest Labs' Flux 2 Flex.
//!
//! Pure Rust: no web, no async, no I/O, so the same checks run in the page, the proxy and
//! the simulator.
//!
//! - [`params`]: the form's parameters, their ranges, and validation into a request.
//! - [`request`]: the body of `POST /api/features`, built and read back.
//! - [`record`]: the id of an asynchronous edit's record and the route that polls it.
//! - [`response`]: the provider's answers, mapped to results and errors people understand.
//! - [`intake`]: deciding about a source image before it is decoded and uploaded.
//! - [`image_recipe`]: the recipe a result file carries inside it (PNG iTXt, JPEG XMP).
//! - [`mask`]: the area an edit may change, as the person painted it.
//! - [`recipe`]: named prompts and parameters, shipped by a deployment or saved by a person.
//! - [`snippets`]: the same requests as cURL, JavaScript and Python.
//! - [`history`]: what the history keeps of each run, and its export bundle.
//! - [`zip`]: the stored zip the bundle is written in, and CRC-32.

pub mod batch;
pub mod history;
pub mod image_recipe;
pub mod intake;
pub mod mask;
pub mod params;
pub mod recipe;
pub mod record;
pub mod request;
pub mod response;
pub mod snippets;
mod text;
pub use text::format_number;
pub mod zip;

pub use image_recipe::{ImageRecipe, RecipeFileError, png_recipe_chunk, read_recipe, write_recipe};
pub use intake::{
    DEFAULT_MAX_SOURCE_BYTES, DEFAULT_MAX_UPLOAD_PIXELS, ImageKind, IntakeError, check_source,
    download_file_name, fit_within, format_bytes, jpeg_orientation, jpeg_scaled_decode_size, sniff,
    stored_dimensions, upload_file_name, upright_dimensions,
};
pub use mask::{KeyRect, Mark, Mask, Stroke};
pub use params::{
    ASSET_PATH_MAX_BYTES, AspectRatio, EditParams, Field, GUIDANCE, GUIDANCE_DECIMALS,
    IMAGE_URL_MAX_CHARS, ImageRef, OUTPUT_QUALITY, OutputFormat, PROMPT_MAX_CHARS, ParseError,
    Problem, Problems, Range, SAFETY_TOLERANCE, SEED_MAX, STEPS, StepsPreset, check_image_ref,
    check_prompt,
};
pub use recipe::{RECIPE_NAME_MAX_CHARS, Recipe, RecipeError};
pub use record::{RESULTS_ROUTE, RecordId, RecordIdError, record_in_path, result_url};
pub use request::{
    ASYNC_FIELD, EditRequest, HOST_SERVICE, HOST_WRAPPER_MESSAGE, PromptObject, RequestError,
    WRAPPED_HOST_ERROR, host_error_body, wants_async,
};
pub use response::{
    ApiError, AssetPath, Credits, EditOutcome, EditResult, Stage, parse_asset_upload,
    parse_edit_response, parse_result_response, presigned_expiry, retry_after_seconds,
};
pub use snippets::{
    KEY_PLACEHOLDER, Mode, Snippets, edit_snippets, edit_snippets_async, upload_snippets,
};

/// The model every edit request names.
pub const MODEL: &str = "black-forest-labs/flux-2-flex";

/// The feature type of an image edit in the features API.
pub const FEATURE_TYPE: &str = "IMAGE_EDITOR";
