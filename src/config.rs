//! Configuration, resolved once at start: built-in defaults, then `config.json` beside
//! index.html, then the options of an embedding page, then the person's own settings where
//! the configuration allows. Never the page's URL: a link must not be able to point the
//! page at a foreign endpoint.

use flexedit_api::{DEFAULT_MAX_SOURCE_BYTES, DEFAULT_MAX_UPLOAD_PIXELS, EditParams, Mode};
use serde::Deserialize;

/// What a deployment decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Base URL of the API; empty means the page's own origin (the bundled server).
    pub endpoint: String,
    pub mode: Mode,
    /// The person may change the endpoint and mode in Settings.
    pub allow_endpoint_change: bool,
    pub allow_mode_change: bool,
    /// Images above this many pixels are downscaled before upload.
    pub max_upload_pixels: u64,
    /// Files larger than this are refused before they are read.
    pub max_source_bytes: u64,
    /// Starting values of the form.
    pub defaults: EditParams,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            mode: Mode::Proxy,
            allow_endpoint_change: true,
            allow_mode_change: true,
            max_upload_pixels: DEFAULT_MAX_UPLOAD_PIXELS,
            max_source_bytes: DEFAULT_MAX_SOURCE_BYTES,
            defaults: EditParams::default(),
        }
    }
}

/// `config.json` as written by a host; every field optional, unknown fields refused so a
/// typo is reported instead of silently ignored.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigFile {
    pub endpoint: Option<String>,
    pub mode: Option<ModeName>,
    pub lock_endpoint: Option<bool>,
    pub lock_mode: Option<bool>,
    pub max_upload_pixels: Option<u64>,
    pub max_source_bytes: Option<u64>,
    pub defaults: Option<EditParams>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModeName {
    Direct,
    Proxy,
}

impl From<ModeName> for Mode {
    fn from(m: ModeName) -> Self {
        match m {
            ModeName::Direct => Mode::Direct,
            ModeName::Proxy => Mode::Proxy,
        }
    }
}

impl Config {
    /// Applies a host's config.json on top of these values. The error is a sentence for
    /// the notice the page shows; the defaults stay in force.
    pub fn apply_json(self, text: &str) -> Result<Self, String> {
        let file: ConfigFile = serde_json::from_str(text)
            .map_err(|e| format!("config.json could not be read ({e}); using the defaults."))?;
        Ok(self.apply(file))
    }

    /// Applies the fields a host set (in config.json or as embedding options); the fields
    /// it left out keep their values.
    pub fn apply(mut self, file: ConfigFile) -> Self {
        if let Some(endpoint) = file.endpoint {
            self.endpoint = endpoint.trim().trim_end_matches('/').to_owned();
        }
        if let Some(mode) = file.mode {
            self.mode = mode.into();
        }
        if let Some(lock) = file.lock_endpoint {
            self.allow_endpoint_change = !lock;
        }
        if let Some(lock) = file.lock_mode {
            self.allow_mode_change = !lock;
        }
        if let Some(px) = file.max_upload_pixels.filter(|px| *px > 0) {
            self.max_upload_pixels = px;
        }
        if let Some(bytes) = file.max_source_bytes.filter(|b| *b > 0) {
            self.max_source_bytes = bytes;
        }
        if let Some(defaults) = file.defaults {
            self.defaults = defaults;
        }
        self
    }
}
