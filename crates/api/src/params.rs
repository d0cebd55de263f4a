//! The parameters of an edit as the form holds them, their documented ranges, and the checks
//! that turn them into a request the provider accepts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::request::{EditRequest, PromptObject};
use crate::text::{format_number, truncate_chars};

/// A wire string that names none of the values an enum knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("“{value}” is not a valid {what}; expected one of: {expected}")]
pub struct ParseError {
    what: &'static str,
    value: String,
    expected: &'static str,
}

impl ParseError {
    fn new(what: &'static str, value: &str, expected: &'static str) -> Self {
        // The value comes from outside (a stored form, a request body): keep the message short.
        Self {
            what,
            value: truncate_chars(value, 40),
            expected,
        }
    }
}

/// The shape of the result. The provider keeps the source's shape unless told otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AspectRatio {
    /// The provider's default: the result has the source image's shape.
    #[default]
    MatchInput,
    /// 1:1
    Square,
    /// 16:9
    Landscape16x9,
    /// 9:16
    Portrait9x16,
    /// 3:2
    Landscape3x2,
    /// 2:3
    Portrait2x3,
    /// 4:5
    Portrait4x5,
    /// 5:4
    Landscape5x4,
}

const ASPECT_RATIO_VALUES: &str = "match_input_image, 1:1, 16:9, 9:16, 3:2, 2:3, 4:5, 5:4";

impl AspectRatio {
    /// In the order of the provider's documentation, the default first.
    pub const ALL: [AspectRatio; 8] = [
        Self::MatchInput,
        Self::Square,
        Self::Landscape16x9,
        Self::Portrait9x16,
        Self::Landscape3x2,
        Self::Portrait2x3,
        Self::Portrait4x5,
        Self::Landscape5x4,
    ];

    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MatchInput => "match_input_image",
            Self::Square => "1:1",
            Self::Landscape16x9 => "16:9",
            Self::Portrait9x16 => "9:16",
            Self::Landscape3x2 => "3:2",
            Self::Portrait2x3 => "2:3",
            Self::Portrait4x5 => "4:5",
            Self::Landscape5x4 => "5:4",
        }
    }

    /// What the form shows.
    pub const fn label(self) -> &'static str {
        match self {
            Self::MatchInput => "Match input image",
            Self::Square => "1:1 square",
            Self::Landscape16x9 => "16:9 landscape",
            Self::Portrait9x16 => "9:16 portrait",
            Self::Landscape3x2 => "3:2 landscape",
            Self::Portrait2x3 => "2:3 portrait",
            Self::Portrait4x5 => "4:5 portrait",
            Self::Landscape5x4 => "5:4 landscape",
        }
    }

    /// Width to height, or `None` when the source decides.
    pub const fn ratio(self) -> Option<(u32, u32)> {
        match self {
            Self::MatchInput => None,
            Self::Square => Some((1, 1)),
            Self::Landscape16x9 => Some((16, 9)),
            Self::Portrait9x16 => Some((9, 16)),
            Self::Landscape3x2 => Some((3, 2)),
            Self::Portrait2x3 => Some((2, 3)),
            Self::Portrait4x5 => Some((4, 5)),
            Self::Landscape5x4 => Some((5, 4)),
        }
    }
}

impl fmt::Display for AspectRatio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AspectRatio {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| ParseError::new("aspect ratio", s, ASPECT_RATIO_VALUES))
    }
}

/// The file format of the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OutputFormat {
    Jpg,
    /// The provider's default.
    #[default]
    Png,
}

impl OutputFormat {
    pub const ALL: [OutputFormat; 2] = [Self::Jpg, Self::Png];

    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Jpg => "jpg",
            Self::Png => "png",
        }
    }

    pub const fn mime(self) -> &'static str {
        match self {
            Self::Jpg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    /// File name extension, without the dot.
    pub const fn extension(self) -> &'static str {
        self.as_str()
    }

    /// What the form shows.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Jpg => "JPG",
            Self::Png => "PNG",
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutputFormat {
    type Err = ParseError;

    /// Only the wire values: the provider documents `jpg` and `png`, nothing else.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| ParseError::new("output format", s, "jpg, png"))
    }
}

macro_rules! serde_as_wire_string {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_as_wire_string!(AspectRatio);
serde_as_wire_string!(OutputFormat);

/// The documented range of a numeric parameter and the provider's default for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
    pub default: f64,
}

impl Range {
    /// Whether `v` is a finite number inside the range, bounds included.
    pub fn contains(&self, v: f64) -> bool {
        v.is_finite() && v >= self.min && v <= self.max
    }

    /// The range as people read it, e.g. `1–50`.
    pub fn allowed(&self) -> String {
        format!("{}–{}", format_number(self.min), format_number(self.max))
    }
}

/// `output_quality`: JPEG quality of the result.
pub const OUTPUT_QUALITY: Range = Range {
    min: 0.0,
    max: 100.0,
    default: 80.0,
};

/// `steps`: the provider advises 6–10 for speed and 20–50 for quality; the model behind it
/// accepts 1–50 and rejects more.
pub const STEPS: Range = Range {
    min: 1.0,
    max: 50.0,
    default: 25.0,
};

/// `guidance`: how closely the result follows the prompt. The provider documents 2–5 (the
/// model would take 1.5–10, but outside 2–5 the provider makes no promise).
pub const GUIDANCE: Range = Range {
    min: 2.0,
    max: 5.0,
    default: 3.0,
};

/// Guidance is sent with at most this many decimals. Finer steps change nothing visible,
/// and a long decimal would not read back bit-exactly through every JSON parser (the
/// proxy and the simulator read the body the page sends).
pub const GUIDANCE_DECIMALS: i32 = 2;

fn round_guidance(g: f64) -> f64 {
    let scale = 10f64.powi(GUIDANCE_DECIMALS);
    (g * scale).round() / scale
}

/// `safety_tolerance`: 1 is the strictest, 6 the most permissive.
pub const SAFETY_TOLERANCE: Range = Range {
    min: 1.0,
    max: 6.0,
    default: 2.0,
};

/// The largest seed: seeds are unsigned 32-bit integers upstream.
pub const SEED_MAX: u64 = 4_294_967_295;

/// The longest prompt the form sends, in characters (not bytes).
///
/// The provider documents no limit. Real edit instructions are a few sentences; 5000
/// characters leaves room for detailed typography briefs while keeping a pasted document
/// from being sent (and billed) by mistake.
pub const PROMPT_MAX_CHARS: usize = 5000;

/// The longest absolute image URL accepted. Pre-signed URLs with session tokens run to a
/// few thousand characters; beyond this an address is almost certainly pasted wrongly.
pub const IMAGE_URL_MAX_CHARS: usize = 8192;

/// The longest asset path accepted: asset paths are storage keys, which are at most 1024
/// bytes.
pub const ASSET_PATH_MAX_BYTES: usize = 1024;

/// Ready-made step counts inside the provider's advice (6–10 fast, 20–50 quality).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepsPreset {
    Fast,
    Balanced,
    Quality,
}

impl StepsPreset {
    pub const ALL: [StepsPreset; 3] = [Self::Fast, Self::Balanced, Self::Quality];

    /// Fast sits in the provider's fast band, Balanced is the provider's default, Quality
    /// sits well inside the quality band without paying for the last few steps that
    /// rarely change an edit visibly.
    pub const fn steps(self) -> u32 {
        match self {
            Self::Fast => 8,
            Self::Balanced => 25,
            Self::Quality => 40,
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            Self::Fast => "Fast",
            Self::Balanced => "Balanced",
            Self::Quality => "Quality",
        }
    }

    /// The preset with exactly this step count, if any.
    pub fn from_steps(steps: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.steps() == steps)
    }
}

/// A parameter of the edit, as the form and the problem list name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    ImageUrl,
    Prompt,
    AspectRatio,
    OutputFormat,
    OutputQuality,
    Steps,
    Guidance,
    SafetyTolerance,
    PromptUpsampling,
    Seed,
}

impl Field {
    /// In the order of the body and of the form.
    pub const ALL: [Field; 10] = [
        Self::ImageUrl,
        Self::Prompt,
        Self::AspectRatio,
        Self::OutputFormat,
        Self::OutputQuality,
        Self::Steps,
        Self::Guidance,
        Self::SafetyTolerance,
        Self::PromptUpsampling,
        Self::Seed,
    ];

    /// The plain name the form shows.
    pub const fn label(self) -> &'static str {
        match self {
            Self::ImageUrl => "Image",
            Self::Prompt => "Prompt",
            Self::AspectRatio => "Aspect ratio",
            Self::OutputFormat => "Output format",
            Self::OutputQuality => "Output quality",
            Self::Steps => "Steps",
            Self::Guidance => "Guidance",
            Self::SafetyTolerance => "Safety tolerance",
            Self::PromptUpsampling => "Prompt upsampling",
            Self::Seed => "Seed",
        }
    }

    /// The key inside `promptObject`.
    pub const fn json_name(self) -> &'static str {
        match self {
            Self::ImageUrl => "imageUrl",
            Self::Prompt => "prompt",
            Self::AspectRatio => "aspect_ratio",
            Self::OutputFormat => "output_format",
            Self::OutputQuality => "output_quality",
            Self::Steps => "steps",
            Self::Guidance => "guidance",
            Self::SafetyTolerance => "safety_tolerance",
            Self::PromptUpsampling => "prompt_upsampling",
            Self::Seed => "seed",
        }
    }

    pub fn from_json_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.json_name() == name)
    }

    /// The accepted values, as people read them.
    pub fn allowed(self) -> String {
        match self {
            Self::ImageUrl => IMAGE_ALLOWED.to_owned(),
            Self::Prompt => format!("1–{PROMPT_MAX_CHARS} characters"),
            Self::AspectRatio => ASPECT_RATIO_VALUES.to_owned(),
            Self::OutputFormat => "jpg, png".to_owned(),
            Self::OutputQuality => OUTPUT_QUALITY.allowed(),
            Self::Steps => STEPS.allowed(),
            Self::Guidance => GUIDANCE.allowed(),
            Self::SafetyTolerance => SAFETY_TOLERANCE.allowed(),
            Self::PromptUpsampling => "on, off".to_owned(),
            Self::Seed => format!("0–{SEED_MAX}"),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

const IMAGE_ALLOWED: &str = "an uploaded image, or an http:// or https:// URL";

/// One thing wrong with one field, said so that a person can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Problem {
    pub field: Field,
    /// A whole sentence, e.g. "Steps must be a whole number between 1 and 50."
    pub message: String,
    /// The accepted values, e.g. "1–50".
    pub allowed: String,
}

impl Problem {
    pub fn new(field: Field, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
            allowed: field.allowed(),
        }
    }
}

/// Every problem of a parameter set, at most one per field, in form order.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
#[error("{}", list(.0))]
pub struct Problems(Vec<Problem>);

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| p.message.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Problems {
    /// Keeps the first problem of each field and puts them in form order. (One slot per
    /// field instead of a sort: a general sort would cost the page's first load 4 KB.)
    pub fn new(problems: Vec<Problem>) -> Self {
        let mut slots: [Option<Problem>; Field::ALL.len()] = Default::default();
        for problem in problems {
            // `Field::ALL` lists the fields in declaration order, so a field's number is
            // its place in the form.
            if let Some(slot @ None) = slots.get_mut(problem.field as usize) {
                *slot = Some(problem);
            }
        }
        Self(slots.into_iter().flatten().collect())
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Problem> {
        self.0.iter()
    }

    pub fn for_field(&self, field: Field) -> Option<&Problem> {
        self.0.iter().find(|p| p.field == field)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> impl Iterator<Item = Field> + '_ {
        self.0.iter().map(|p| p.field)
    }

    pub fn into_vec(self) -> Vec<Problem> {
        self.0
    }
}

impl<'a> IntoIterator for &'a Problems {
    type Item = &'a Problem;
    type IntoIter = std::slice::Iter<'a, Problem>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for Problems {
    type Item = Problem;
    type IntoIter = std::vec::IntoIter<Problem>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// What the form holds. Loosely typed on purpose: numbers are `f64` so that whatever a
/// person types can be held and explained, never rejected by a panic or lost.
///
/// `None` means "the provider's default" and is left out of the request, as is
/// [`AspectRatio::MatchInput`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EditParams {
    /// An asset path from the upload, or an absolute http(s) URL.
    pub image_url: String,
    pub prompt: String,
    pub aspect_ratio: AspectRatio,
    pub output_format: Option<OutputFormat>,
    pub output_quality: Option<f64>,
    pub steps: Option<f64>,
    pub guidance: Option<f64>,
    pub safety_tolerance: Option<f64>,
    pub prompt_upsampling: Option<bool>,
    pub seed: Option<f64>,
}

impl Default for EditParams {
    fn default() -> Self {
        Self {
            image_url: String::new(),
            prompt: String::new(),
            aspect_ratio: AspectRatio::MatchInput,
            output_format: None,
            output_quality: None,
            steps: None,
            guidance: None,
            safety_tolerance: None,
            prompt_upsampling: None,
            seed: None,
        }
    }
}

impl EditParams {
    /// Checks every field and builds the request, or lists every problem at once.
    pub fn validate(&self) -> Result<EditRequest, Problems> {
        let mut problems = Vec::new();
        let image_url = check_image_ref(&self.image_url)
            .map_err(|p| problems.push(p))
            .ok();
        let prompt = check_prompt(&self.prompt)
            .map_err(|p| problems.push(p))
            .ok();
        let output_quality = whole(
            Field::OutputQuality,
            self.output_quality,
            &OUTPUT_QUALITY,
            &mut problems,
        );
        let steps = whole(Field::Steps, self.steps, &STEPS, &mut problems);
        let guidance = match self.guidance {
            Some(g) if !GUIDANCE.contains(g) => {
                problems.push(Problem::new(
                    Field::Guidance,
                    format!(
                        "Guidance must be a number between {} and {}.",
                        format_number(GUIDANCE.min),
                        format_number(GUIDANCE.max)
                    ),
                ));
                None
            }
            // Range checked on the value as typed; sent rounded (see GUIDANCE_DECIMALS).
            other => other.map(round_guidance),
        };
        let safety_tolerance = whole(
            Field::SafetyTolerance,
            self.safety_tolerance,
            &SAFETY_TOLERANCE,
            &mut problems,
        );
        let seed_range = Range {
            min: 0.0,
            max: SEED_MAX as f64,
            default: 0.0,
        };
        let seed = whole(Field::Seed, self.seed, &seed_range, &mut problems);

        match (image_url, prompt) {
            (Some(image_url), Some(prompt)) if problems.is_empty() => {
                Ok(EditRequest::new(PromptObject {
                    image_url: image_url.into_string(),
                    prompt,
                    aspect_ratio: match self.aspect_ratio {
                        AspectRatio::MatchInput => None,
                        other => Some(other),
                    },
                    output_format: self.output_format,
                    output_quality,
                    steps,
                    guidance,
                    safety_tolerance,
                    prompt_upsampling: self.prompt_upsampling,
                    seed,
                }))
            }
            _ => Err(Problems::new(problems)),
        }
    }

    /// The preset the current step count matches, if any; `None` steps is the provider's
    /// default, which is the balanced preset.
    pub fn steps_preset(&self) -> Option<StepsPreset> {
        match self.steps {
            None => Some(StepsPreset::Balanced),
            Some(s)
                if s.is_finite() && s.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&s) =>
            {
                StepsPreset::from_steps(s as u32)
            }
            Some(_) => None,
        }
    }
}

impl From<&PromptObject> for EditParams {
    fn from(p: &PromptObject) -> Self {
        Self {
            image_url: p.image_url.clone(),
            prompt: p.prompt.clone(),
            aspect_ratio: p.aspect_ratio.unwrap_or_default(),
            output_format: p.output_format,
            output_quality: p.output_quality.map(f64::from),
            steps: p.steps.map(f64::from),
            guidance: p.guidance,
            safety_tolerance: p.safety_tolerance.map(f64::from),
            prompt_upsampling: p.prompt_upsampling,
            seed: p.seed.map(f64::from),
        }
    }
}

/// A whole number inside `range`, as `u32`; anything else becomes a problem.
fn whole(
    field: Field,
    value: Option<f64>,
    range: &Range,
    problems: &mut Vec<Problem>,
) -> Option<u32> {
    let v = value?;
    // Every range here lies within u32, so the cast after the check is exact.
    if range.contains(v) && v.fract() == 0.0 && range.min >= 0.0 && range.max <= u32::MAX as f64 {
        Some(v as u32)
    } else {
        problems.push(Problem::new(
            field,
            format!(
                "{} must be a whole number between {} and {}.",
                field.label(),
                format_number(range.min),
                format_number(range.max)
            ),
        ));
        None
    }
}

/// Checks a prompt and returns it without surrounding whitespace, which never carries
/// meaning and would only make two identical edits differ.
pub fn check_prompt(prompt: &str) -> Result<String, Problem> {
    let trimmed = prompt.trim();
    if trimmed.is_empty() {
        return Err(Problem::new(
            Field::Prompt,
            "Write a prompt that says what to change in the image.",
        ));
    }
    let count = trimmed.chars().count();
    if count > PROMPT_MAX_CHARS {
        return Err(Problem::new(
            Field::Prompt,
            format!(
                "The prompt is {count} characters long; shorten it to at most {PROMPT_MAX_CHARS}."
            ),
        ));
    }
    if let Some(c) = trimmed
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err(Problem::new(
            Field::Prompt,
            format!(
                "The prompt contains an invisible control character (U+{:04X}); remove it.",
                u32::from(c)
            ),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Where the source image comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ImageRef {
    /// A path as the Asset API returned it, e.g. `images/2025_..._cat.png`.
    AssetPath(String),
    /// An absolute http or https URL.
    Url(String),
}

impl ImageRef {
    pub fn as_str(&self) -> &str {
        match self {
            Self::AssetPath(s) | Self::Url(s) => s,
        }
    }

    pub fn into_string(self) -> String {
        match self {
            Self::AssetPath(s) | Self::Url(s) => s,
        }
    }

    pub fn is_url(&self) -> bool {
        matches!(self, Self::Url(_))
    }
}

/// Checks an image reference: an asset path as the Asset API returns it, or an absolute
/// http(s) URL. The value is sent verbatim, so nothing is trimmed or rewritten here.
pub fn check_image_ref(s: &str) -> Result<ImageRef, Problem> {
    let problem = |message: &str| Err(Problem::new(Field::ImageUrl, message));
    if s.is_empty() {
        return problem("Choose an image to edit: upload a file or paste an image URL.");
    }
    if s.trim().is_empty() {
        return problem("The image address is blank: upload a file or paste an image URL.");
    }
    if s.chars().any(char::is_whitespace) {
        return problem(
            "The image address contains spaces or line breaks; remove them (in a URL, write a space as %20).",
        );
    }
    if s.chars().any(char::is_control) {
        return problem("The image address contains an invisible control character; remove it.");
    }
    if s.contains('\\') {
        return problem("The image address must not contain a backslash (\\).");
    }

    let first_segment = s.split(['/', '?', '#']).next().unwrap_or_default();
    if let Some((scheme, _)) = first_segment.split_once(':') {
        if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
            return check_url(s, scheme.len());
        }
        return problem(
            "Only http:// and https:// image addresses can be used; for anything else, upload the file.",
        );
    }
    check_asset_path(s, first_segment)
}

fn check_url(s: &str, scheme_len: usize) -> Result<ImageRef, Problem> {
    let problem = |message: &str| Err(Problem::new(Field::ImageUrl, message));
    if s.chars().count() > IMAGE_URL_MAX_CHARS {
        return problem("The image URL is too long; use a shorter link or upload the file.");
    }
    let Some(rest) = s.get(scheme_len + 1..).and_then(|r| r.strip_prefix("//")) else {
        return problem("The image URL must start with http:// or https://.");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        // Credentials in a URL would be handed to the provider and kept in history.
        return problem("The image URL must not contain a user name or password.");
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((h, "")) => (h, None),
            Some((h, tail)) => match tail.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None => return problem("The image URL's host name is not valid."),
            },
            None => return problem("The image URL's host name is not valid."),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return problem("The image URL has no host name, like https://example.com/photo.png.");
    }
    let host_ok = if authority.starts_with('[') {
        host.chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
    } else {
        host.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '%'))
    };
    if !host_ok {
        return problem("The image URL's host name is not valid.");
    }
    if let Some(port) = port
        && !port.is_empty()
        && (!port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err())
    {
        return problem("The image URL's port is not valid.");
    }
    Ok(ImageRef::Url(s.to_owned()))
}

fn check_asset_path(s: &str, first_segment: &str) -> Result<ImageRef, Problem> {
    let problem = |message: &str| Err(Problem::new(Field::ImageUrl, message));
    if s.starts_with('/') {
        return problem(
            "The image path must not start with “/”: use the path the upload returned, like images/photo.png, or a full https:// URL.",
        );
    }
    if s.len() > ASSET_PATH_MAX_BYTES {
        return problem("The image path is too long; upload the image again.");
    }
    if s.split('/').any(|segment| segment == "..") {
        return problem("The image path must not contain “..”.");
    }
    if looks_like_host(first_segment)
        && (s.len() > first_segment.len() || first_segment.starts_with("www."))
    {
        return problem("This looks like a web address: add https:// in front of it.");
    }
    Ok(ImageRef::AssetPath(s.to_owned()))
}

/// `example.com` or `www.example.co.uk`: something a person typed as a web address without
/// its scheme. Asset folders (`images`, `development`) have no dot.
fn looks_like_host(segment: &str) -> bool {
    if segment.starts_with("www.") {
        return true;
    }
    match segment.rsplit_once('.') {
        Some((name, tld)) => {
            !name.is_empty()
                && (2..=24).contains(&tld.len())
                && tld.bytes().all(|b| b.is_ascii_alphabetic())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> EditParams {
        EditParams {
            image_url: "images/a.png".into(),
            prompt: "make the sky orange".into(),
            ..EditParams::default()
        }
    }

    fn problem_for(params: &EditParams, field: Field) -> Option<Problem> {
        params
            .validate()
            .err()
            .and_then(|p| p.for_field(field).cloned())
    }

    #[test]
    fn labels_are_exact() {
        let labels: Vec<_> = Field::ALL.iter().map(|f| f.label()).collect();
        assert_eq!(
            labels,
            [
                "Image",
                "Prompt",
                "Aspect ratio",
                "Output format",
                "Output quality",
                "Steps",
                "Guidance",
                "Safety tolerance",
                "Prompt upsampling",
                "Seed"
            ]
        );
        for f in Field::ALL {
            assert_eq!(Field::from_json_name(f.json_name()), Some(f));
        }
        assert_eq!(Field::ImageUrl.json_name(), "imageUrl");
    }

    #[test]
    fn aspect_ratios_round_trip() {
        for a in AspectRatio::ALL {
            assert_eq!(a.as_str().parse::<AspectRatio>(), Ok(a));
            assert_eq!(
                serde_json::to_string(&a).unwrap(),
                format!("\"{}\"", a.as_str())
            );
            assert_eq!(
                serde_json::from_str::<AspectRatio>(&format!("\"{}\"", a.as_str())).unwrap(),
                a
            );
        }
        assert_eq!(AspectRatio::Square.label(), "1:1 square");
        assert_eq!(AspectRatio::MatchInput.label(), "Match input image");
        assert_eq!(AspectRatio::Landscape16x9.ratio(), Some((16, 9)));
        assert_eq!(AspectRatio::MatchInput.ratio(), None);
        assert!("16x9".parse::<AspectRatio>().is_err());
        assert!(serde_json::from_str::<AspectRatio>("\"4:3\"").is_err());
    }

    #[test]
    fn output_formats_round_trip() {
        for f in OutputFormat::ALL {
            assert_eq!(f.as_str().parse::<OutputFormat>(), Ok(f));
        }
        assert_eq!(OutputFormat::Jpg.mime(), "image/jpeg");
        assert_eq!(OutputFormat::Png.extension(), "png");
        assert!("jpeg".parse::<OutputFormat>().is_err());
        assert!("PNG".parse::<OutputFormat>().is_err());
    }

    #[test]
    fn presets_sit_inside_the_advice() {
        assert!((6..=10).contains(&StepsPreset::Fast.steps()));
        assert_eq!(StepsPreset::Balanced.steps(), STEPS.default as u32);
        assert!((20..=50).contains(&StepsPreset::Quality.steps()));
        for p in StepsPreset::ALL {
            assert_eq!(StepsPreset::from_steps(p.steps()), Some(p));
        }
        assert_eq!(StepsPreset::from_steps(7), None);
        let mut params = valid();
        assert_eq!(params.steps_preset(), Some(StepsPreset::Balanced));
        params.steps = Some(8.0);
        assert_eq!(params.steps_preset(), Some(StepsPreset::Fast));
        params.steps = Some(f64::NAN);
        assert_eq!(params.steps_preset(), None);
    }

    #[test]
    fn defaults_validate_to_a_minimal_request() {
        let request = valid().validate().unwrap();
        assert_eq!(
            request.to_json(),
            r#"{"type":"IMAGE_EDITOR","model":"black-forest-labs/flux-2-flex","promptObject":{"imageUrl":"images/a.png","prompt":"make the sky orange"}}"#
        );
    }

    #[test]
    fn empty_form_lists_image_and_prompt() {
        let problems = EditParams::default().validate().unwrap_err();
        assert_eq!(problems.len(), 2);
        assert!(problems.for_field(Field::ImageUrl).is_some());
        assert!(problems.for_field(Field::Prompt).is_some());
        assert!(problems.to_string().contains("Choose an image"));
    }

    fn check_whole_field(
        field: Field,
        set: fn(&mut EditParams, Option<f64>),
        min: f64,
        max: f64,
        message: &str,
    ) {
        for ok in [min, max, ((min + max) / 2.0).floor()] {
            let mut p = valid();
            set(&mut p, Some(ok));
            assert!(p.validate().is_ok(), "{field:?} {ok} should pass");
        }
        for bad in [
            min - 1.0,
            max + 1.0,
            min + 0.5,
            max - 0.1,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -1e300,
            1e300,
        ] {
            let mut p = valid();
            set(&mut p, Some(bad));
            let problem = problem_for(&p, field).unwrap_or_else(|| panic!("{field:?} {bad}"));
            assert_eq!(problem.message, message);
        }
        let mut p = valid();
        set(&mut p, None);
        assert!(p.validate().is_ok());
    }

    #[test]
    fn whole_number_fields_check_their_bounds() {
        check_whole_field(
            Field::Steps,
            |p, v| p.steps = v,
            1.0,
            50.0,
            "Steps must be a whole number between 1 and 50.",
        );
        check_whole_field(
            Field::OutputQuality,
            |p, v| p.output_quality = v,
            0.0,
            100.0,
            "Output quality must be a whole number between 0 and 100.",
        );
        check_whole_field(
            Field::SafetyTolerance,
            |p, v| p.safety_tolerance = v,
            1.0,
            6.0,
            "Safety tolerance must be a whole number between 1 and 6.",
        );
        check_whole_field(
            Field::Seed,
            |p, v| p.seed = v,
            0.0,
            4_294_967_295.0,
            "Seed must be a whole number between 0 and 4294967295.",
        );
        let p = Problem::new(Field::Steps, "x");
        assert_eq!(p.allowed, "1–50");
    }

    #[test]
    fn seed_limits_are_exact() {
        let mut p = valid();
        p.seed = Some(4_294_967_295.0);
        assert_eq!(p.validate().unwrap().prompt_object.seed, Some(u32::MAX));
        p.seed = Some(4_294_967_296.0);
        assert!(p.validate().is_err());
        p.seed = Some(0.0);
        assert_eq!(p.validate().unwrap().prompt_object.seed, Some(0));
        p.seed = Some(-0.0);
        assert_eq!(p.validate().unwrap().prompt_object.seed, Some(0));
    }

    #[test]
    fn guidance_may_be_fractional() {
        for ok in [2.0, 2.5, 3.25, 5.0] {
            let mut p = valid();
            p.guidance = Some(ok);
            assert_eq!(p.validate().unwrap().prompt_object.guidance, Some(ok));
        }
        for (typed, sent) in [
            (3.21987, 3.22),
            (4.999, 5.0),
            (2.005, 2.01),
            (2.258975674095298, 2.26),
        ] {
            let mut p = valid();
            p.guidance = Some(typed);
            assert_eq!(p.validate().unwrap().prompt_object.guidance, Some(sent));
        }
        for bad in [
            1.999,
            5.001,
            0.0,
            -3.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let mut p = valid();
            p.guidance = Some(bad);
            assert_eq!(
                problem_for(&p, Field::Guidance).unwrap().message,
                "Guidance must be a number between 2 and 5."
            );
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let p = EditParams {
            image_url: "javascript:alert(1)".into(),
            prompt: "   ".into(),
            aspect_ratio: AspectRatio::Square,
            output_format: Some(OutputFormat::Jpg),
            output_quality: Some(101.0),
            steps: Some(0.0),
            guidance: Some(9.0),
            safety_tolerance: Some(7.0),
            prompt_upsampling: Some(true),
            seed: Some(-1.0),
        };
        let problems = p.validate().unwrap_err();
        let fields: Vec<_> = problems.fields().collect();
        assert_eq!(
            fields,
            [
                Field::ImageUrl,
                Field::Prompt,
                Field::OutputQuality,
                Field::Steps,
                Field::Guidance,
                Field::SafetyTolerance,
                Field::Seed
            ]
        );
    }

    #[test]
    fn prompt_checks() {
        assert!(check_prompt("").is_err());
        assert!(check_prompt(" \n\t ").is_err());
        assert_eq!(check_prompt("  hi\n").unwrap(), "hi");
        assert_eq!(check_prompt("a\nb\tc\r\nd").unwrap(), "a\nb\tc\r\nd");
        let at_limit = "é".repeat(PROMPT_MAX_CHARS);
        assert!(
            check_prompt(&at_limit).is_ok(),
            "the limit counts characters, not bytes"
        );
        let over = "é".repeat(PROMPT_MAX_CHARS + 1);
        assert_eq!(
            check_prompt(&over).unwrap_err().message,
            "The prompt is 5001 characters long; shorten it to at most 5000."
        );
        let huge = "x".repeat(1 << 20);
        assert!(check_prompt(&huge).is_err());
        assert_eq!(
            check_prompt("red\u{1b}[0m").unwrap_err().message,
            "The prompt contains an invisible control character (U+001B); remove it."
        );
        assert!(check_prompt("a\u{0}b").is_err());
        assert!(check_prompt("a\u{7f}b").is_err());
        assert!(check_prompt("a\u{85}b").is_err());
        assert!(check_prompt("emoji 🎉 and “quotes”").is_ok());
    }

    #[test]
    fn image_refs_accepted() {
        for path in [
            "images/x.png",
            "development/images/2025_12_04_18_10_29_882_cat.png",
            "images/a:b.png",
            "x.png",
            "images/%20x.png",
            "./images/x.png",
        ] {
            assert_eq!(
                check_image_ref(path),
                Ok(ImageRef::AssetPath(path.into())),
                "{path}"
            );
        }
        for url in [
            "https://example.com/cat.png",
            "http://example.com",
            "HTTPS://EXAMPLE.COM/A.PNG",
            "https://example.com:8443/a.png?x=1#y",
            "http://127.0.0.1:8080/a.png",
            "http://[::1]:8080/a.png",
            "http://[::1]/a.png",
            "https://bücher.example/katze.png",
            "https://s3.us-east-1.amazonaws.com/asset.1min.ai/images/a.jpg?X-Amz-Date=20260402T091244Z",
        ] {
            assert_eq!(check_image_ref(url), Ok(ImageRef::Url(url.into())), "{url}");
        }
    }

    #[test]
    fn image_refs_refused() {
        for bad in [
            "",
            "   ",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:image/png;base64,AAAA",
            "file:///etc/passwd",
            "ftp://example.com/a.png",
            "images/a b.png",
            " images/a.png",
            "images/a.png\n",
            "/images/a.png",
            "//example.com/a.png",
            "images/../secret.png",
            "..",
            "images\\a.png",
            "C:\\photos\\a.png",
            "https://",
            "https:///a.png",
            "https:example.com",
            "http:/example.com",
            "https://user:pw@example.com/a.png",
            "https://example.com:99999/a.png",
            "https://example.com:80a/a.png",
            "https://exa<mple.com/",
            "http://[::1/a.png",
            "http://[::1]x/a.png",
            "example.com/cat.png",
            "www.example.com",
            "images/\u{7}.png",
        ] {
            assert!(check_image_ref(bad).is_err(), "{bad:?} should be refused");
        }
        let long_path = format!("images/{}", "a".repeat(ASSET_PATH_MAX_BYTES));
        assert!(check_image_ref(&long_path).is_err());
        let long_url = format!("https://example.com/{}", "a".repeat(IMAGE_URL_MAX_CHARS));
        assert!(check_image_ref(&long_url).is_err());
        let p = check_image_ref("javascript:x").unwrap_err();
        assert_eq!(p.field, Field::ImageUrl);
        assert!(p.message.ends_with('.'));
    }

    #[test]
    fn problems_keep_one_per_field_in_form_order() {
        let problems = Problems::new(vec![
            Problem::new(Field::Seed, "b"),
            Problem::new(Field::Prompt, "a"),
            Problem::new(Field::Seed, "c"),
        ]);
        assert_eq!(problems.len(), 2);
        assert_eq!(problems.to_string(), "a b");
        assert_eq!(problems.for_field(Field::Seed).unwrap().message, "b");
        assert_eq!(problems.iter().count(), 2);
        assert!(problems.for_field(Field::Steps).is_none());
        // A field's number is its place in the form.
        for (place, field) in Field::ALL.into_iter().enumerate() {
            assert_eq!(field as usize, place);
        }
        // The same as a stable sort by field keeping the first of each, for mixed lists.
        let mut seed = 7u32;
        for _ in 0..500 {
            let list: Vec<Problem> = (0..(seed % 12))
                .map(|i| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    let field = Field::ALL[(seed >> 16) as usize % Field::ALL.len()];
                    Problem::new(field, i.to_string())
                })
                .collect();
            let mut sorted = list.clone();
            sorted.sort_by_key(|p| p.field);
            sorted.dedup_by_key(|p| p.field);
            assert_eq!(Problems::new(list).into_vec(), sorted);
        }
    }

    #[test]
    fn params_survive_storage() {
        let p = EditParams {
            aspect_ratio: AspectRatio::Portrait4x5,
            output_format: Some(OutputFormat::Jpg),
            guidance: Some(3.5),
            ..valid()
        };
        let stored = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<EditParams>(&stored).unwrap(), p);
        // Stored by an older build that knew fewer fields.
        let old: EditParams = serde_json::from_str(r#"{"prompt":"x"}"#).unwrap();
        assert_eq!(old.prompt, "x");
        assert_eq!(old.aspect_ratio, AspectRatio::MatchInput);
    }

    #[test]
    fn the_reader_refuses_what_it_cannot_use_and_says_why() {
        let read = |text: &str| serde_json::from_str::<EditParams>(text).map_err(|e| e.to_string());
        assert_eq!(read("{}"), Ok(EditParams::default()));
        let params = read(r#"{"prompt": "Add a hat", "steps": 8, "guidance": 2.75, "seed": null}"#);
        assert_eq!(params.as_ref().map(|p| p.steps), Ok(Some(8.0)));
        // Numbers are kept as typed; validation judges them.
        let odd = read(r#"{"image_url": "images/a.png", "steps": -3.5, "seed": 1e300}"#);
        assert_eq!(odd.map(|p| p.steps), Ok(Some(-3.5)));
        for (text, said) in [
            (r#"{"stpes": 8}"#, "unknown field `stpes`"),
            (
                r#"{"steps": "8"}"#,
                "invalid type: string \"8\", expected f64",
            ),
            (
                r#"{"prompt": null}"#,
                "invalid type: null, expected a string",
            ),
            (r#"{"aspect_ratio": "4:3"}"#, "aspect ratio"),
            (r#"{"output_format": "gif"}"#, "output format"),
            (r#"{"prompt_upsampling": 1}"#, "expected a boolean"),
        ] {
            let err = read(text).unwrap_err();
            assert!(err.contains(said), "{text}: {err}");
        }
    }
}
