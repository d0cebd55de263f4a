//! Configuration, resolved once at start: built-in defaults, then `config.json` beside
//! index.html, then the options of an embedding page, then the person's own settings where
//! the configuration allows. Never the page's URL: a link must not be able to point the
//! page at a foreign endpoint.

use flexedit_api::{
    DEFAULT_MAX_SOURCE_BYTES, DEFAULT_MAX_UPLOAD_PIXELS, EditParams, Mode, Recipe, format_number,
};
use serde::{Deserialize, Deserializer, Serialize};

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
    /// Recipes the deployment ships: offered to everyone, read-only.
    pub recipes: Vec<Recipe>,
    /// The most variations one press may ask for.
    pub max_variations: u64,
    /// The most edits at the provider at once; the rest wait their turn.
    pub max_in_flight: u64,
}

/// The most variations of one press, unless the deployment says otherwise.
pub const DEFAULT_MAX_VARIATIONS: u64 = 8;
/// Edits at the provider at once, unless the deployment says otherwise: with the polling
/// pace of `crate::run::poll`, well inside one proxy's upstream budget.
pub const DEFAULT_MAX_IN_FLIGHT: u64 = 4;
/// The most `maxInFlight` may be: each edit in flight costs a submit and polls of the key's
/// per-minute budget, which a proxy shares among everyone behind it.
pub const MAX_IN_FLIGHT_CAP: u64 = 10;

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
            recipes: Vec::new(),
            max_variations: DEFAULT_MAX_VARIATIONS,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

/// `config.json` as written by a host; every field optional, unknown fields refused so a
/// typo is reported instead of silently ignored.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigFile {
    pub endpoint: Option<String>,
    pub mode: Option<ModeName>,
    pub lock_endpoint: Option<bool>,
    pub lock_mode: Option<bool>,
    #[serde(deserialize_with = "count")]
    pub max_upload_pixels: Option<u64>,
    #[serde(deserialize_with = "count")]
    pub max_source_bytes: Option<u64>,
    pub defaults: Option<EditParams>,
    #[serde(deserialize_with = "flexedit_api::recipe::deserialize_list")]
    pub recipes: Option<Vec<Recipe>>,
    #[serde(deserialize_with = "count")]
    pub max_variations: Option<u64>,
    #[serde(deserialize_with = "count")]
    pub max_in_flight: Option<u64>,
}

/// A whole number from 0 to 2^53 (the whole numbers JSON readers agree on), or null. Read
/// as a number first: the browser's JSON.parse and a host page give every number as a
/// float, so `4.0` counts as 4 wherever it comes from, and `4.5` or `-1` are refused alike.
fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    const MAX: f64 = 9_007_199_254_740_992.0;
    match Option::<f64>::deserialize(deserializer)? {
        Some(n) if n.fract() == 0.0 && (0.0..=MAX).contains(&n) => Ok(Some(n as u64)),
        Some(n) => Err(serde::de::Error::custom(format!(
            "{} is not a whole number from 0 up",
            format_number(n)
        ))),
        None => Ok(None),
    }
}

/// "direct" or "proxy", as config.json and the saved settings write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModeName {
    Direct,
    Proxy,
}

impl ModeName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Proxy => "proxy",
        }
    }
}

impl From<Mode> for ModeName {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Direct => Self::Direct,
            Mode::Proxy => Self::Proxy,
        }
    }
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
        let file = crate::serde_js::parse::<ConfigFile>(text)
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
        if let Some(recipes) = file.recipes {
            self.recipes = recipes;
        }
        if let Some(n) = file.max_variations.filter(|n| *n > 0) {
            self.max_variations = n;
        }
        if let Some(n) = file.max_in_flight.filter(|n| *n > 0) {
            self.max_in_flight = n.min(MAX_IN_FLIGHT_CAP);
        }
        self
    }
}

/// What fetching `config.json` gave: its HTTP status (0 when nothing answered) and its
/// text, when it could be read. embed.js fetches it while the WebAssembly compiles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigAnswer {
    pub status: u16,
    pub text: Option<String>,
}

impl ConfigAnswer {
    /// The configuration in force, and the notice the page shows when config.json could
    /// not be used (the defaults are then in force).
    pub fn resolve(&self) -> (Config, Option<String>) {
        let defaults = Config::default();
        let notice = match (self.status, &self.text) {
            (0, _) => "config.json could not be loaded; using the defaults.".to_owned(),
            (200..=299, Some(text)) => {
                return match defaults.clone().apply_json(text) {
                    Ok(config) => (config, None),
                    Err(notice) => (defaults, Some(notice)),
                };
            }
            (200..=299, None) => "config.json could not be read; using the defaults.".to_owned(),
            (status, _) => format!("config.json is missing (HTTP {status}); using the defaults."),
        };
        (defaults, Some(notice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, text: Option<&str>) -> (Config, Option<String>) {
        ConfigAnswer {
            status,
            text: text.map(str::to_owned),
        }
        .resolve()
    }

    #[test]
    fn a_readable_config_applies_without_a_notice() {
        let (config, notice) = answer(200, Some(r#"{"mode": "direct", "lockMode": true}"#));
        assert_eq!(notice, None);
        assert_eq!(config.mode, Mode::Direct);
        assert!(!config.allow_mode_change);
    }

    #[test]
    fn shipped_recipes_come_from_the_config() {
        let (config, notice) = answer(
            200,
            Some(
                r#"{"recipes": [{"name": "Sale headline", "params": {"prompt": "Add the text SALE at the top", "steps": 30}}]}"#,
            ),
        );
        assert_eq!(notice, None);
        assert_eq!(config.recipes.len(), 1);
        assert_eq!(config.recipes[0].name, "Sale headline");
        assert_eq!(config.recipes[0].params.steps, Some(30.0));
        let (config, notice) = answer(200, Some(r#"{"recipes": [{"name": ""}]}"#));
        assert!(config.recipes.is_empty());
        assert!(
            notice
                .unwrap_or_default()
                .contains("Give the recipe a name.")
        );
    }

    #[test]
    fn each_unusable_answer_keeps_the_defaults_and_says_why() {
        for (status, text, said) in [
            (
                0,
                None,
                "config.json could not be loaded; using the defaults.",
            ),
            (
                404,
                None,
                "config.json is missing (HTTP 404); using the defaults.",
            ),
            (
                200,
                None,
                "config.json could not be read; using the defaults.",
            ),
        ] {
            assert_eq!(
                answer(status, text),
                (Config::default(), Some(said.to_owned()))
            );
        }
        let (config, notice) = answer(200, Some(r#"{"endpont": "https://x"}"#));
        assert_eq!(config, Config::default());
        let notice = notice.unwrap_or_default();
        assert!(
            notice.starts_with("config.json could not be read (unknown field `endpont`")
                && notice.ends_with("; using the defaults."),
            "{notice}"
        );
    }

    #[test]
    fn counts_are_whole_numbers_and_refusals_name_the_field() {
        let (config, notice) = answer(200, Some(r#"{"maxSourceBytes": 4.0, "maxInFlight": 2}"#));
        assert_eq!(notice, None);
        assert_eq!((config.max_source_bytes, config.max_in_flight), (4, 2));
        for (text, said) in [
            (
                r#"{"maxSourceBytes": 4.5}"#,
                "(`maxSourceBytes`: 4.5 is not a whole number from 0 up",
            ),
            (
                r#"{"maxVariations": -1}"#,
                "(`maxVariations`: -1 is not a whole number from 0 up",
            ),
            (
                r#"{"maxVariations": "many"}"#,
                "(`maxVariations`: invalid type: string \"many\"",
            ),
            (
                r#"{"defaults": {"steps": "8"}}"#,
                "(`defaults.steps`: invalid type: string \"8\"",
            ),
            (
                r#"{"recipes": [{"name": "a"}, {"name": "b", "params": {"stpes": 3}}]}"#,
                "(`recipes[1].params`: unknown field `stpes`",
            ),
            (
                r#"{"recipes": [{"name": "a"}, {"name": "a"}]}"#,
                "(`recipes`: recipe 2 is named \"a\" like one before it",
            ),
        ] {
            let (config, notice) = answer(200, Some(text));
            assert_eq!(config, Config::default());
            let notice = notice.unwrap_or_default();
            assert!(
                notice.starts_with(&format!("config.json could not be read {said}")),
                "{text}: {notice}"
            );
        }
    }
}
