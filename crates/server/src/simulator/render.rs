//! The simulator's edit: a real, deterministic change to the image that stands in for the
//! model. It reframes to the requested aspect ratio, letters the prompt's text onto the
//! picture (typography being the model's showcase) and encodes the requested format.
//! Equal inputs give equal bytes; the seed moves the lettering and shifts its colour.

use std::io::Cursor;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::imageops::{self, FilterType as ResizeFilter};
use image::{ExtendedColorType, ImageEncoder, Rgba, RgbaImage};

/// DejaVu Sans Bold (Bitstream Vera licence, see assets/DejaVuSans-Bold.LICENSE).
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans-Bold.ttf");

/// The model does not produce more than about 4 megapixels.
pub const MAX_OUTPUT_PIXELS: u64 = 2048 * 2048;

/// Crop while this much of the picture survives; below it, pad instead, because a crop
/// would cut away the subject.
const MIN_KEPT_BY_CROP: f64 = 0.75;

/// The encodings an edit can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Png,
    Jpeg,
}

impl Encoding {
    pub fn mime(self) -> &'static str {
        match self {
            Encoding::Png => "image/png",
            Encoding::Jpeg => "image/jpeg",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Encoding::Png => "png",
            Encoding::Jpeg => "jpg",
        }
    }
}

/// What the edit depends on.
#[derive(Debug, Clone)]
pub struct EditParams<'a> {
    pub prompt: &'a str,
    /// Width:height to reframe to; `None` keeps the input's shape.
    pub aspect_ratio: Option<(u32, u32)>,
    pub encoding: Encoding,
    /// 0–100; used by JPEG, ignored by the lossless PNG.
    pub quality: u32,
    pub seed: u64,
}

/// An encoded result.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the source image cannot be decoded: {0}")]
    Decode(#[source] image::ImageError),
    #[error("the result cannot be encoded: {0}")]
    Encode(#[source] image::ImageError),
    #[error("the embedded font cannot be read")]
    Font,
}

/// Performs the edit on the encoded `source`.
pub fn render(source: &[u8], params: &EditParams<'_>) -> Result<Rendered, RenderError> {
    let font = FontRef::try_from_slice(FONT).map_err(|_| RenderError::Font)?;
    let decoded = image::load_from_memory(source).map_err(RenderError::Decode)?;
    let mut rng = SplitMix64::new(params.seed);
    let mut picture = reframe(decoded.to_rgba8(), params.aspect_ratio, &mut rng);
    picture = limit_size(picture);
    let text = lettering(params.prompt);
    if !text.is_empty() {
        draw_lettering(&mut picture, &font, &text, params.prompt, &mut rng);
    }
    let bytes = encode(&picture, params.encoding, params.quality)?;
    Ok(Rendered {
        bytes,
        width: picture.width(),
        height: picture.height(),
    })
}

/// The words to letter: the prompt's first quoted passage, else the words after "the
/// text" (as in "Add the text SALE 50% OFF in red"), else the whole prompt.
pub fn lettering(prompt: &str) -> String {
    if let Some(quoted) = first_quoted(prompt) {
        return quoted;
    }
    if let Some(named) = named_text(prompt) {
        return named;
    }
    let words: Vec<&str> = prompt.split_whitespace().collect();
    let mut text = String::new();
    for word in words {
        if text.chars().count() + word.chars().count() > 120 {
            text.push('…');
            break;
        }
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(word);
    }
    text
}

fn named_text(prompt: &str) -> Option<String> {
    const MARKERS: [&str; 6] = ["text", "words", "word", "saying", "says", "reading"];
    const STOPS: [&str; 16] = [
        "in", "at", "on", "with", "using", "to", "across", "above", "below", "near", "onto",
        "over", "under", "and", "written", "as",
    ];
    let words: Vec<&str> = prompt.split_whitespace().collect();
    let start = words.iter().position(|word| {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric());
        MARKERS
            .iter()
            .any(|marker| word.eq_ignore_ascii_case(marker))
    })? + 1;
    let mut picked = Vec::new();
    for word in &words[start..] {
        let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
        if STOPS.iter().any(|stop| bare.eq_ignore_ascii_case(stop)) && !picked.is_empty() {
            break;
        }
        let ends_clause = word.ends_with([',', ';', ':']) || word.ends_with(". ");
        picked.push(word.trim_end_matches([',', ';', ':']));
        if ends_clause || picked.len() >= 12 {
            break;
        }
    }
    let text = picked.join(" ");
    let text = text.trim_end_matches('.').trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn first_quoted(prompt: &str) -> Option<String> {
    const PAIRS: [(char, char); 5] = [('"', '"'), ('“', '”'), ('«', '»'), ('‘', '’'), ('\'', '\'')];
    let chars: Vec<char> = prompt.chars().collect();
    for (at, &c) in chars.iter().enumerate() {
        let Some(&(_, close)) = PAIRS.iter().find(|(open, _)| *open == c) else {
            continue;
        };
        // An apostrophe inside a word ("don't") opens nothing.
        if c == '\'' && at > 0 && chars[at - 1].is_alphanumeric() {
            continue;
        }
        let rest = &chars[at + 1..];
        if let Some(end) = rest.iter().position(|&d| d == close) {
            let inner: String = rest[..end].iter().collect();
            let inner = inner.trim();
            if !inner.is_empty() {
                return Some(inner.to_owned());
            }
        }
    }
    None
}

fn reframe(picture: RgbaImage, ratio: Option<(u32, u32)>, rng: &mut SplitMix64) -> RgbaImage {
    let Some((rw, rh)) = ratio.filter(|&(rw, rh)| rw > 0 && rh > 0) else {
        return picture;
    };
    let (w, h) = (u64::from(picture.width()), u64::from(picture.height()));
    let (rw, rh) = (u64::from(rw), u64::from(rh));
    if w * rh == h * rw {
        return picture;
    }
    let too_wide = w * rh > h * rw;
    let (crop_w, crop_h) = if too_wide {
        ((h * rw / rh).max(1), h)
    } else {
        (w, (w * rh / rw).max(1))
    };
    let kept = (crop_w * crop_h) as f64 / (w * h) as f64;
    if kept >= MIN_KEPT_BY_CROP {
        let x = ((w - crop_w) / 2) as u32;
        let y = ((h - crop_h) / 2) as u32;
        return imageops::crop_imm(&picture, x, y, crop_w as u32, crop_h as u32).to_image();
    }
    let (pad_w, pad_h) = if too_wide {
        (w, (w * rh / rw).max(1))
    } else {
        ((h * rw / rh).max(1), h)
    };
    let background = muted_colour(rng);
    let mut padded = RgbaImage::from_pixel(pad_w as u32, pad_h as u32, background);
    let x = ((pad_w - w) / 2) as i64;
    let y = ((pad_h - h) / 2) as i64;
    imageops::overlay(&mut padded, &picture, x, y);
    padded
}

fn limit_size(picture: RgbaImage) -> RgbaImage {
    let pixels = u64::from(picture.width()) * u64::from(picture.height());
    if pixels <= MAX_OUTPUT_PIXELS {
        return picture;
    }
    let scale = (MAX_OUTPUT_PIXELS as f64 / pixels as f64).sqrt();
    let w = ((f64::from(picture.width()) * scale).floor() as u32).max(1);
    let h = ((f64::from(picture.height()) * scale).floor() as u32).max(1);
    imageops::resize(&picture, w, h, ResizeFilter::Triangle)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Band {
    Top,
    Middle,
    Bottom,
}

fn has_word(prompt: &str, words: &[&str]) -> bool {
    prompt
        .split(|c: char| !c.is_alphanumeric())
        .any(|word| words.iter().any(|w| word.eq_ignore_ascii_case(w)))
}

fn band(prompt: &str, rng: &mut SplitMix64) -> Band {
    let roll = rng.next_u64();
    if has_word(prompt, &["top", "upper", "above", "header", "title"]) {
        Band::Top
    } else if has_word(prompt, &["bottom", "lower", "below", "footer", "caption"]) {
        Band::Bottom
    } else if has_word(
        prompt,
        &["center", "centre", "middle", "centered", "centred"],
    ) {
        Band::Middle
    } else {
        [Band::Top, Band::Middle, Band::Bottom][(roll % 3) as usize]
    }
}

const NAMED_COLOURS: [(&str, [u8; 3]); 16] = [
    ("red", [214, 32, 39]),
    ("orange", [245, 130, 32]),
    ("yellow", [250, 214, 30]),
    ("gold", [212, 175, 55]),
    ("green", [34, 160, 70]),
    ("teal", [0, 128, 128]),
    ("cyan", [0, 188, 212]),
    ("blue", [30, 90, 220]),
    ("navy", [20, 40, 110]),
    ("purple", [128, 50, 170]),
    ("violet", [140, 80, 220]),
    ("pink", [240, 98, 146]),
    ("magenta", [210, 30, 160]),
    ("brown", [121, 85, 61]),
    ("white", [250, 250, 250]),
    ("black", [20, 20, 20]),
];

const PALETTE: [[u8; 3]; 8] = [
    [214, 32, 39],
    [250, 214, 30],
    [30, 90, 220],
    [34, 160, 70],
    [245, 130, 32],
    [128, 50, 170],
    [240, 98, 146],
    [250, 250, 250],
];

fn fill_colour(prompt: &str, rng: &mut SplitMix64) -> [u8; 3] {
    let pick = rng.next_u64();
    let named = prompt
        .split(|c: char| !c.is_alphanumeric())
        .find_map(|word| {
            NAMED_COLOURS
                .iter()
                .find(|(name, _)| word.eq_ignore_ascii_case(name))
                .map(|&(_, rgb)| rgb)
        });
    let base = named.unwrap_or(PALETTE[(pick % PALETTE.len() as u64) as usize]);
    // The seed shifts the shade so that a new seed is a visibly new result even when the
    // prompt names the colour.
    let mut shifted = base;
    for channel in &mut shifted {
        let delta = (rng.next_u64() % 41) as i16 - 20;
        *channel = (i16::from(*channel) + delta).clamp(0, 255) as u8;
    }
    shifted
}

fn muted_colour(rng: &mut SplitMix64) -> Rgba<u8> {
    let v = rng.next_u64();
    let channel = |shift: u32| 40 + ((v >> shift) % 48) as u8;
    Rgba([channel(0), channel(8), channel(16), 255])
}

struct Line {
    glyphs: Vec<GlyphId>,
    width: f32,
}

fn layout(font: &FontRef<'_>, scale: PxScale, text: &str, max_width: f32) -> Vec<Line> {
    let scaled = font.as_scaled(scale);
    let measure = |s: &str| -> (Vec<GlyphId>, f32) {
        let mut ids = Vec::new();
        let mut width = 0.0;
        let mut previous: Option<GlyphId> = None;
        for c in s.chars() {
            let id = scaled.glyph_id(c);
            if let Some(prev) = previous {
                width += scaled.kern(prev, id);
            }
            width += scaled.h_advance(id);
            ids.push(id);
            previous = Some(id);
        }
        (ids, width)
    };
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut current = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if current.is_empty() {
                word.to_owned()
            } else {
                format!("{current} {word}")
            };
            if !current.is_empty() && measure(&candidate).1 > max_width {
                let (glyphs, width) = measure(&current);
                lines.push(Line { glyphs, width });
                current = word.to_owned();
            } else {
                current = candidate;
            }
        }
        if !current.is_empty() {
            let (glyphs, width) = measure(&current);
            lines.push(Line { glyphs, width });
        }
    }
    lines
}

/// Coverage (0–1) of a region, for the fill and the outline drawn under it.
struct Mask {
    x0: i64,
    y0: i64,
    width: usize,
    height: usize,
    values: Vec<f32>,
}

impl Mask {
    fn new(x0: i64, y0: i64, width: usize, height: usize) -> Self {
        Self {
            x0,
            y0,
            width,
            height,
            values: vec![0.0; width * height],
        }
    }

    fn stamp(&mut self, glyph: &GlyphBitmap, dx: i64, dy: i64) {
        for gy in 0..glyph.height {
            let y = glyph.y + gy as i64 + dy - self.y0;
            if y < 0 || y >= self.height as i64 {
                continue;
            }
            for gx in 0..glyph.width {
                let x = glyph.x + gx as i64 + dx - self.x0;
                if x < 0 || x >= self.width as i64 {
                    continue;
                }
                let value = glyph.coverage[gy * glyph.width + gx];
                let slot = &mut self.values[y as usize * self.width + x as usize];
                if value > *slot {
                    *slot = value;
                }
            }
        }
    }

    fn paint(&self, picture: &mut RgbaImage, colour: [u8; 3]) {
        for my in 0..self.height {
            let y = self.y0 + my as i64;
            if y < 0 || y >= i64::from(picture.height()) {
                continue;
            }
            for mx in 0..self.width {
                let x = self.x0 + mx as i64;
                if x < 0 || x >= i64::from(picture.width()) {
                    continue;
                }
                let alpha = self.values[my * self.width + mx].clamp(0.0, 1.0);
                if alpha <= 0.0 {
                    continue;
                }
                let pixel = picture.get_pixel_mut(x as u32, y as u32);
                for (channel, &target) in pixel.0.iter_mut().zip(colour.iter()) {
                    let blended = f32::from(*channel) * (1.0 - alpha) + f32::from(target) * alpha;
                    *channel = blended.round() as u8;
                }
                let a = f32::from(pixel.0[3]);
                pixel.0[3] = (a + (255.0 - a) * alpha).round() as u8;
            }
        }
    }
}

struct GlyphBitmap {
    x: i64,
    y: i64,
    width: usize,
    height: usize,
    coverage: Vec<f32>,
}

fn draw_lettering(
    picture: &mut RgbaImage,
    font: &FontRef<'_>,
    text: &str,
    prompt: &str,
    rng: &mut SplitMix64,
) {
    let (w, h) = (picture.width() as f32, picture.height() as f32);
    let short = w.min(h);
    let margin = (short * 0.05).max(2.0);
    let band = band(prompt, rng);
    let fill = fill_colour(prompt, rng);
    let luminance =
        0.2126 * f32::from(fill[0]) + 0.7152 * f32::from(fill[1]) + 0.0722 * f32::from(fill[2]);
    let outline = if luminance > 140.0 {
        [16, 16, 16]
    } else {
        [248, 248, 248]
    };
    let max_width = (w - 2.0 * margin).max(1.0);
    let max_height = if band == Band::Middle {
        h * 0.6
    } else {
        h * 0.4
    };

    let mut px = (short * 0.16).max(6.0);
    let (lines, scale) = loop {
        let scale = PxScale::from(px);
        let lines = layout(font, scale, text, max_width);
        let line_height = font.as_scaled(scale).height() + font.as_scaled(scale).line_gap();
        let fits = lines.iter().all(|line| line.width <= max_width)
            && line_height * lines.len() as f32 <= max_height;
        if fits || px <= 6.0 {
            break (lines, scale);
        }
        px = (px * 0.9).max(6.0);
    };
    let scaled = font.as_scaled(scale);
    let line_height = scaled.height() + scaled.line_gap();
    let block_height = line_height * lines.len() as f32;
    let jitter_y = (rng.next_u64() % 1000) as f32 / 1000.0 * h * 0.03;
    let jitter_x = ((rng.next_u64() % 1000) as f32 / 1000.0 - 0.5) * w * 0.06;
    let top = match band {
        Band::Top => margin + jitter_y,
        Band::Bottom => h - margin - block_height - jitter_y,
        Band::Middle => (h - block_height) / 2.0 + jitter_y - h * 0.015,
    }
    .max(0.0);

    let stroke = (px / 14.0).max(1.0);
    let pad = stroke.ceil() as i64 + 2;
    let mask_x0 = -pad;
    let mask_y0 = (top as i64 - pad).max(-pad);
    let mask_w = (w as i64 + 2 * pad) as usize;
    let mask_h = (block_height as i64 + 2 * pad + line_height as i64) as usize;
    let mut fill_mask = Mask::new(mask_x0, mask_y0, mask_w, mask_h);
    let mut outline_mask = Mask::new(mask_x0, mask_y0, mask_w, mask_h);
    let offsets = ring_offsets(stroke);

    for (index, line) in lines.iter().enumerate() {
        let centred = (w - line.width) / 2.0 + jitter_x;
        let left = centred.clamp(margin.min(centred), (w - line.width - margin).max(margin));
        let baseline = top + scaled.ascent() + line_height * index as f32;
        let mut caret = left;
        let mut previous: Option<GlyphId> = None;
        for &id in &line.glyphs {
            if let Some(prev) = previous {
                caret += scaled.kern(prev, id);
            }
            let glyph = id.with_scale_and_position(scale, point(caret, baseline));
            caret += scaled.h_advance(id);
            previous = Some(id);
            let Some(outlined) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outlined.px_bounds();
            let width = bounds.width().ceil().max(0.0) as usize;
            let height = bounds.height().ceil().max(0.0) as usize;
            let mut coverage = vec![0.0; width * height];
            outlined.draw(|gx, gy, value| {
                let (gx, gy) = (gx as usize, gy as usize);
                if gx < width && gy < height {
                    coverage[gy * width + gx] = value;
                }
            });
            let bitmap = GlyphBitmap {
                x: bounds.min.x.floor() as i64,
                y: bounds.min.y.floor() as i64,
                width,
                height,
                coverage,
            };
            fill_mask.stamp(&bitmap, 0, 0);
            for &(dx, dy) in &offsets {
                outline_mask.stamp(&bitmap, dx, dy);
            }
        }
    }
    outline_mask.paint(picture, outline);
    fill_mask.paint(picture, fill);
}

/// Offsets on two rings: enough to outline a glyph without stamping every pixel of a disc.
fn ring_offsets(radius: f32) -> Vec<(i64, i64)> {
    let mut offsets = vec![(0, 0)];
    for ring in [radius, radius / 2.0] {
        for step in 0..16 {
            let angle = step as f32 * std::f32::consts::TAU / 16.0;
            let offset = (
                (ring * angle.cos()).round() as i64,
                (ring * angle.sin()).round() as i64,
            );
            if !offsets.contains(&offset) {
                offsets.push(offset);
            }
        }
    }
    offsets
}

fn encode(picture: &RgbaImage, encoding: Encoding, quality: u32) -> Result<Vec<u8>, RenderError> {
    let mut bytes = Cursor::new(Vec::new());
    let (w, h) = picture.dimensions();
    let opaque = picture.pixels().all(|p| p.0[3] == 255);
    match encoding {
        Encoding::Png => {
            let encoder = PngEncoder::new_with_quality(
                &mut bytes,
                CompressionType::Fast,
                FilterType::Adaptive,
            );
            if opaque {
                let rgb = flatten(picture);
                encoder.write_image(&rgb, w, h, ExtendedColorType::Rgb8)
            } else {
                encoder.write_image(picture.as_raw(), w, h, ExtendedColorType::Rgba8)
            }
            .map_err(RenderError::Encode)?;
        }
        Encoding::Jpeg => {
            let quality = quality.clamp(1, 100) as u8;
            let rgb = flatten(picture);
            JpegEncoder::new_with_quality(&mut bytes, quality)
                .write_image(&rgb, w, h, ExtendedColorType::Rgb8)
                .map_err(RenderError::Encode)?;
        }
    }
    Ok(bytes.into_inner())
}

/// RGB over white: JPEG has no alpha, and a transparent corner should not turn black.
fn flatten(picture: &RgbaImage) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(picture.as_raw().len() / 4 * 3);
    for pixel in picture.pixels() {
        let alpha = u32::from(pixel.0[3]);
        for &channel in &pixel.0[..3] {
            rgb.push(((u32::from(channel) * alpha + 255 * (255 - alpha) + 127) / 255) as u8);
        }
    }
    rgb
}

/// A small, stable generator: the same seed gives the same edit on every machine.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// FNV-1a: a stable hash for deriving a seed when the request gives none.
pub fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in *part {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source_png(w: u32, h: u32) -> Vec<u8> {
        let picture = RgbaImage::from_fn(w, h, |x, y| {
            Rgba([(x * 255 / w) as u8, (y * 255 / h) as u8, 128, 255])
        });
        let mut bytes = Cursor::new(Vec::new());
        picture
            .write_to(&mut bytes, image::ImageFormat::Png)
            .unwrap();
        bytes.into_inner()
    }

    fn params(prompt: &str) -> EditParams<'_> {
        EditParams {
            prompt,
            aspect_ratio: None,
            encoding: Encoding::Png,
            quality: 80,
            seed: 7,
        }
    }

    #[test]
    fn quoted_text_is_lettered_or_else_the_prompt() {
        assert_eq!(lettering("Write \"SALE 50%\" on top"), "SALE 50%");
        assert_eq!(lettering("Write “Hello” here"), "Hello");
        assert_eq!(lettering("don't touch 'OPEN' sign"), "OPEN");
        assert_eq!(lettering("  make it   pop  "), "make it pop");
        assert_eq!(
            lettering("Add the text SALE 50% OFF in bold red letters at the top"),
            "SALE 50% OFF"
        );
        assert_eq!(
            lettering("a banner saying Happy Birthday, in gold"),
            "Happy Birthday"
        );
        assert_eq!(lettering("Add text"), "Add text");
        assert!(lettering(&"lorem ".repeat(100)).ends_with('…'));
    }

    #[test]
    fn equal_inputs_give_equal_bytes_and_the_seed_changes_them() {
        let source = source_png(96, 64);
        let a = render(&source, &params("Add \"SALE\" in red")).unwrap();
        let b = render(&source, &params("Add \"SALE\" in red")).unwrap();
        assert_eq!(a.bytes, b.bytes);
        let other_seed = EditParams {
            seed: 8,
            ..params("Add \"SALE\" in red")
        };
        let c = render(&source, &other_seed).unwrap();
        assert_ne!(a.bytes, c.bytes);
        assert_ne!(a.bytes, source);
    }

    #[test]
    fn the_aspect_ratio_crops_a_little_or_pads_a_lot() {
        let source = source_png(120, 100);
        let square = EditParams {
            aspect_ratio: Some((1, 1)),
            ..params("x")
        };
        let cropped = render(&source, &square).unwrap();
        assert_eq!((cropped.width, cropped.height), (100, 100));
        let tall = EditParams {
            aspect_ratio: Some((9, 16)),
            ..params("x")
        };
        let padded = render(&source, &tall).unwrap();
        assert_eq!((padded.width, padded.height), (120, 213));
    }

    #[test]
    fn jpeg_quality_changes_the_size_and_png_is_lossless_format() {
        let source = source_png(200, 150);
        let jpeg = |quality| EditParams {
            encoding: Encoding::Jpeg,
            quality,
            ..params("quality")
        };
        let low = render(&source, &jpeg(10)).unwrap();
        let high = render(&source, &jpeg(95)).unwrap();
        assert!(low.bytes.len() < high.bytes.len());
        assert_eq!(
            image::guess_format(&high.bytes).unwrap(),
            image::ImageFormat::Jpeg
        );
        let zero = render(&source, &jpeg(0)).unwrap();
        assert!(!zero.bytes.is_empty());
    }

    #[test]
    fn large_outputs_are_scaled_to_four_megapixels() {
        let picture = limit_size(RgbaImage::new(4000, 3000));
        assert!(u64::from(picture.width()) * u64::from(picture.height()) <= MAX_OUTPUT_PIXELS);
        assert_eq!(picture.width(), 2364);
    }

    #[test]
    fn lettering_changes_pixels_in_the_named_band() {
        let source = source_png(200, 200);
        let original = image::load_from_memory(&source).unwrap().to_rgba8();
        let edited = render(&source, &params("\"TOP\" at the top")).unwrap();
        let edited = image::load_from_memory(&edited.bytes).unwrap().to_rgba8();
        let changed = |rows: std::ops::Range<u32>| {
            rows.flat_map(|y| (0..200).map(move |x| (x, y)))
                .filter(|&(x, y)| original.get_pixel(x, y) != edited.get_pixel(x, y))
                .count()
        };
        assert!(changed(0..80) > 200);
        assert_eq!(changed(120..200), 0);
    }

    #[test]
    fn a_broken_source_is_an_error_not_a_panic() {
        assert!(matches!(
            render(b"not an image", &params("x")),
            Err(RenderError::Decode(_))
        ));
    }
}
