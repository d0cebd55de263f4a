//! Configuration, resolved once at start: built-in defaults, then `config.json` beside
//! index.html, then the options of an embedding page, then the person's own settings where
//! the configuration allows. Never the page's URL: a link must not be able to point the
//! page at a foreign endpoint.

use flexedit_api::{
    DEFAULT_MAX_SOURCE_BYTES, DEFAULT_MAX_UPLOAD_PIXELS, EditParams, Json, JsonError, Mode, Recipe,
};

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
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ConfigFile {
    pub endpoint: Option<String>,
    pub mode: Option<ModeName>,
    pub lock_endpoint: Option<bool>,
    pub lock_mode: Option<bool>,
    pub max_upload_pixels: Option<u64>,
    pub max_source_bytes: Option<u64>,
    pub defaults: Option<EditParams>,
    pub recipes: Option<Vec<Recipe>>,
    pub max_variations: Option<u64>,
    pub max_in_flight: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeName {
    Direct,
    Proxy,
}

impl ModeName {
    /// "direct" or "proxy", as config.json and the saved settings write it.
    pub fn from_json(value: &Json, field: &str) -> Result<Self, JsonError> {
        match value.text(field)?.as_str() {
            "direct" => Ok(Self::Direct),
            "proxy" => Ok(Self::Proxy),
            other => Err(JsonError::Value {
                field: field.to_owned(),
                message: format!("\"{other}\" is not a mode; use \"direct\" or \"proxy\""),
            }),
        }
    }

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

impl ConfigFile {
    /// Reads config.json's object (or an embedding page's options, which take its fields).
    pub fn from_json(value: &Json) -> Result<Self, JsonError> {
        let mut file = Self::default();
        for (name, value) in value.fields()? {
            let field = name.as_str();
            match field {
                "endpoint" => file.endpoint = value.optional_text(field)?,
                "mode" => file.mode = value.optional(|v| ModeName::from_json(v, field))?,
                "lockEndpoint" => file.lock_endpoint = value.optional_bool(field)?,
                "lockMode" => file.lock_mode = value.optional_bool(field)?,
                "maxUploadPixels" => file.max_upload_pixels = value.optional_count(field)?,
                "maxSourceBytes" => file.max_source_bytes = value.optional_count(field)?,
                "defaults" => {
                    file.defaults = value.optional(|v| {
                        EditParams::from_json(v).map_err(|e| JsonError::Value {
                            field: field.to_owned(),
                            message: e.to_string(),
                        })
                    })?
                }
                "recipes" => file.recipes = value.optional(|v| Recipe::list_from_json(v, field))?,
                "maxVariations" => file.max_variations = value.optional_count(field)?,
                "maxInFlight" => file.max_in_flight = value.optional_count(field)?,
                _ => return Err(JsonError::UnknownField(name.clone())),
            }
        }
        Ok(file)
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
        let file = crate::json::parse(text)
            .and_then(|json| ConfigFile::from_json(&json).map_err(|e| e.to_string()))
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
}
