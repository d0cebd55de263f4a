//! Deciding about a source image before any pixels are decoded: what it is by its bytes,
//! whether the provider can take it, how large to upload it, which way up it is, and what
//! to call the files.

use crate::params::OutputFormat;

/// The most pixels sent to the provider: it does not produce outputs larger than about 4
/// megapixels, so larger inputs only cost upload time.
pub const DEFAULT_MAX_UPLOAD_PIXELS: u64 = 4_000_000;

/// The largest source file the page accepts before downscaling (50 MiB): a 48-megapixel
/// phone photo fits, a mistaken video does not.
pub const DEFAULT_MAX_SOURCE_BYTES: u64 = 50 * 1024 * 1024;

/// What a file is, judged by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    Png,
    Jpeg,
    Webp,
    Gif { animated: bool },
    Heic,
    Svg,
    Unknown,
}

impl ImageKind {
    /// Whether the provider takes this kind as it is.
    pub fn is_accepted(self) -> bool {
        matches!(self, Self::Png | Self::Jpeg | Self::Webp)
    }

    pub fn mime(self) -> Option<&'static str> {
        match self {
            Self::Png => Some("image/png"),
            Self::Jpeg => Some("image/jpeg"),
            Self::Webp => Some("image/webp"),
            Self::Gif { .. } => Some("image/gif"),
            Self::Heic => Some("image/heic"),
            Self::Svg => Some("image/svg+xml"),
            Self::Unknown => None,
        }
    }

    /// The name people know the format by.
    pub fn name(self) -> &'static str {
        match self {
            Self::Png => "PNG",
            Self::Jpeg => "JPEG",
            Self::Webp => "WebP",
            Self::Gif { .. } => "GIF",
            Self::Heic => "HEIC",
            Self::Svg => "SVG",
            Self::Unknown => "unknown",
        }
    }
}

/// Identifies an image by its magic bytes. `bytes` may be just the head of the file.
pub fn sniff(bytes: &[u8]) -> ImageKind {
    if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        ImageKind::Png
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        ImageKind::Jpeg
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        ImageKind::Webp
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        ImageKind::Gif {
            animated: gif_is_animated(bytes),
        }
    } else if iso_image_brand(bytes) == Some(IsoBrand::Heic) {
        ImageKind::Heic
    } else if is_svg(bytes) {
        ImageKind::Svg
    } else {
        ImageKind::Unknown
    }
}

/// Walks the GIF block structure: a second image descriptor or a looping (NETSCAPE)
/// extension means an animation. A truncated head counts what it shows.
fn gif_is_animated(b: &[u8]) -> bool {
    fn skip_sub_blocks(b: &[u8], mut pos: usize) -> Option<usize> {
        loop {
            let len = usize::from(*b.get(pos)?);
            pos += 1;
            if len == 0 {
                return Some(pos);
            }
            pos += len;
        }
    }
    fn color_table(packed: u8) -> usize {
        if packed & 0x80 == 0 {
            0
        } else {
            3 << ((packed & 0x07) + 1)
        }
    }
    fn walk(b: &[u8]) -> Option<bool> {
        let mut pos = 13 + color_table(*b.get(10)?);
        let mut frames = 0u32;
        loop {
            match *b.get(pos)? {
                0x21 => {
                    let label = *b.get(pos + 1)?;
                    pos += 2;
                    if label == 0xFF
                        && b.get(pos) == Some(&11)
                        && matches!(
                            b.get(pos + 1..pos + 12),
                            Some(b"NETSCAPE2.0" | b"ANIMEXTS1.0")
                        )
                    {
                        return Some(true);
                    }
                    pos = skip_sub_blocks(b, pos)?;
                }
                0x2C => {
                    frames += 1;
                    if frames > 1 {
                        return Some(true);
                    }
                    let packed = *b.get(pos + 9)?;
                    // Descriptor, local colour table, then the LZW minimum code size.
                    pos += 10 + color_table(packed) + 1;
                    pos = skip_sub_blocks(b, pos)?;
                }
                _ => return Some(false),
            }
        }
    }
    walk(b).unwrap_or(false)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IsoBrand {
    Heic,
    Avif,
}

/// HEIF and AVIF share the ISO base media container; the `ftyp` brands tell them apart.
fn iso_image_brand(b: &[u8]) -> Option<IsoBrand> {
    if b.get(4..8) != Some(b"ftyp") {
        return None;
    }
    let size = u32::from_be_bytes(b.get(0..4)?.try_into().ok()?) as usize;
    let end = size.clamp(12, b.len().max(12));
    let major = b.get(8..12)?;
    let compatible: Vec<&[u8]> = b
        .get(16..end.min(b.len()))
        .unwrap_or_default()
        .chunks_exact(4)
        .collect();
    const HEIC: [&[u8]; 8] = [
        b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs",
    ];
    const AVIF: [&[u8]; 2] = [b"avif", b"avis"];
    let is = |brands: &[&[u8]], brand: &[u8]| brands.contains(&brand);
    if is(&HEIC, major) {
        Some(IsoBrand::Heic)
    } else if is(&AVIF, major) || compatible.iter().any(|c| is(&AVIF, c)) {
        Some(IsoBrand::Avif)
    } else if major == b"mif1" || major == b"msf1" || compatible.iter().any(|c| is(&HEIC, c)) {
        Some(IsoBrand::Heic)
    } else {
        None
    }
}

fn is_svg(b: &[u8]) -> bool {
    let b = b.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(b);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let head: Vec<u8> = b
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take(1024)
        .map(u8::to_ascii_lowercase)
        .collect();
    head.starts_with(b"<svg")
        || head.starts_with(b"<?xml")
        || head.starts_with(b"<!doctype svg")
        || (head.starts_with(b"<!--") && head.windows(4).any(|w| w == b"<svg"))
}

/// Formats the provider does not take that people still try, named so the message can say
/// what the file is.
fn other_format(b: &[u8]) -> Option<&'static str> {
    if iso_image_brand(b) == Some(IsoBrand::Avif) {
        Some("AVIF")
    } else if b.starts_with(b"BM") && b.len() >= 14 {
        Some("BMP")
    } else if b.starts_with(b"II*\0") || b.starts_with(b"MM\0*") {
        Some("TIFF")
    } else if b.starts_with(&[0xFF, 0x0A]) || b.starts_with(b"\0\0\0\x0cJXL \r\n\x87\n") {
        Some("JPEG XL")
    } else {
        None
    }
}

/// Why a source file was refused. `Display` is the sentence for the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    #[error("This file is empty. Choose another file.")]
    Empty,
    #[error(
        "This file is {}, more than the {} limit. Choose a smaller file, or export the image at a lower resolution.",
        format_bytes(*.size),
        format_bytes(*.max)
    )]
    TooLarge { size: u64, max: u64 },
    #[error(
        "HEIC/HEIF photos can't be edited here. Export the photo as JPEG (on an iPhone: Settings → Camera → Formats → Most Compatible), then choose it again."
    )]
    Heic,
    #[error("SVG drawings can't be edited here. Export the drawing as PNG, then choose it again.")]
    Svg,
    #[error(
        "Animated GIFs can't be edited here. Save the frame you want as PNG, then choose it again."
    )]
    AnimatedGif,
    #[error("GIF images can't be edited here. Convert the image to PNG, then choose it again.")]
    Gif,
    #[error(
        "{format} images can't be edited here. Convert the image to PNG or JPEG, then choose it again."
    )]
    UnsupportedFormat { format: &'static str },
    #[error(
        "This file is not a PNG, JPEG or WebP image. Choose one of those, or convert the image first."
    )]
    NotAnImage,
}

/// Decides whether a chosen file can be edited. The bytes decide; the name and the
/// browser's MIME type only help when the head is missing or names a refused format the
/// bytes did not reveal.
pub fn check_source(
    name: &str,
    mime: &str,
    size: u64,
    head: &[u8],
    max_bytes: u64,
) -> Result<ImageKind, IntakeError> {
    if size == 0 {
        return Err(IntakeError::Empty);
    }
    if size > max_bytes {
        return Err(IntakeError::TooLarge {
            size,
            max: max_bytes,
        });
    }
    let kind = match sniff(head) {
        ImageKind::Unknown => declared_kind(name, mime, head.is_empty()),
        known => known,
    };
    match kind {
        ImageKind::Png | ImageKind::Jpeg | ImageKind::Webp => Ok(kind),
        ImageKind::Gif { animated: true } => Err(IntakeError::AnimatedGif),
        ImageKind::Gif { animated: false } => Err(IntakeError::Gif),
        ImageKind::Heic => Err(IntakeError::Heic),
        ImageKind::Svg => Err(IntakeError::Svg),
        ImageKind::Unknown => Err(match other_format(head) {
            Some(format) => IntakeError::UnsupportedFormat { format },
            None => IntakeError::NotAnImage,
        }),
    }
}

/// The kind the file claims to be. An accepted kind is only believed when there are no
/// bytes to check: bytes that failed to sniff are not a PNG whatever the name says.
fn declared_kind(name: &str, mime: &str, no_bytes: bool) -> ImageKind {
    let mime = mime.trim().to_ascii_lowercase();
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let kind = match (mime.as_str(), ext.as_str()) {
        ("image/heic" | "image/heif" | "image/heic-sequence" | "image/heif-sequence", _)
        | (_, "heic" | "heif" | "hif") => ImageKind::Heic,
        ("image/svg+xml", _) | (_, "svg" | "svgz") => ImageKind::Svg,
        ("image/gif", _) | (_, "gif") => ImageKind::Gif { animated: false },
        ("image/png", _) | (_, "png") => ImageKind::Png,
        ("image/jpeg" | "image/jpg" | "image/pjpeg", _) | (_, "jpg" | "jpeg" | "jpe" | "jfif") => {
            ImageKind::Jpeg
        }
        ("image/webp", _) | (_, "webp") => ImageKind::Webp,
        _ => ImageKind::Unknown,
    };
    if kind.is_accepted() && !no_bytes {
        ImageKind::Unknown
    } else {
        kind
    }
}

/// A file size as people read it: `830 bytes`, `12 KB`, `3.4 MB`.
pub fn format_bytes(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes < KIB {
        format!("{bytes} bytes")
    } else if bytes < MIB {
        format!("{} KB", (bytes + KIB / 2) / KIB)
    } else {
        let tenths = bytes.saturating_mul(10).saturating_add(MIB / 2) / MIB;
        if tenths.is_multiple_of(10) {
            format!("{} MB", tenths / 10)
        } else {
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
    }
}

/// The largest size with the same aspect ratio and at most `max_pixels` pixels. Sizes
/// already within the limit are returned unchanged; no side is ever 0.
pub fn fit_within(width: u32, height: u32, max_pixels: u64) -> (u32, u32) {
    let (w, h) = (width.max(1), height.max(1));
    let max_pixels = max_pixels.max(1);
    if u64::from(w) * u64::from(h) <= max_pixels {
        return (w, h);
    }
    let scale = (max_pixels as f64 / (f64::from(w) * f64::from(h))).sqrt();
    let side = |v: u32| ((f64::from(v) * scale).floor() as u32).clamp(1, v);
    let (mut nw, mut nh) = (side(w), side(h));
    // Rounding can leave one pixel row too many, and a very thin image cannot shrink its
    // short side below 1: trim the long side, then the other if still needed.
    let fits = |a: u32, b: u32| u64::from(a) * u64::from(b) <= max_pixels;
    if !fits(nw, nh) {
        if nw >= nh {
            nw = clamp_u32(max_pixels / u64::from(nh)).clamp(1, nw);
        } else {
            nh = clamp_u32(max_pixels / u64::from(nw)).clamp(1, nh);
        }
    }
    if !fits(nw, nh) {
        if nw >= nh {
            nh = clamp_u32(max_pixels / u64::from(nw)).clamp(1, nh);
        } else {
            nw = clamp_u32(max_pixels / u64::from(nh)).clamp(1, nw);
        }
    }
    (nw, nh)
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// The width and height a PNG, JPEG or WebP file declares in its header, as stored (before
/// any EXIF orientation), read from the head of the file without decoding it. `None` when
/// the head does not say (or is cut off before it does).
pub fn stored_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let be32 = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let le16 = |at: usize| Some(u16::from_le_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
    let le24 = |at: usize| {
        let b = bytes.get(at..at + 3)?;
        Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
    };
    let found = match sniff(bytes) {
        // IHDR is always the first chunk.
        ImageKind::Png if bytes.get(12..16) == Some(b"IHDR") => (be32(16)?, be32(20)?),
        // Start of frame, any coding (not DHT 0xC4, JPG 0xC8, DAC 0xCC): precision,
        // height, width.
        ImageKind::Jpeg => jpeg_segments(bytes).find_map(|(marker, segment)| {
            let frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
            let be16 = |at: usize| {
                Some(u16::from_be_bytes([
                    *segment.get(at)?,
                    *segment.get(at + 1)?,
                ]))
            };
            frame.then(|| Some((u32::from(be16(3)?), u32::from(be16(1)?))))?
        })?,
        ImageKind::Webp => match bytes.get(12..16)? {
            b"VP8 " if bytes.get(23..26) == Some(&[0x9D, 0x01, 0x2A]) => {
                (u32::from(le16(26)? & 0x3FFF), u32::from(le16(28)? & 0x3FFF))
            }
            b"VP8L" if bytes.get(20) == Some(&0x2F) => {
                let bits = u32::from_le_bytes(bytes.get(21..25)?.try_into().ok()?);
                ((bits & 0x3FFF) + 1, (bits >> 14 & 0x3FFF) + 1)
            }
            b"VP8X" => (le24(24)? + 1, le24(27)? + 1),
            _ => return None,
        },
        _ => return None,
    };
    (found.0 > 0 && found.1 > 0).then_some(found)
}

/// The dimensions an image shows with its EXIF orientation applied: orientations 5 to 8
/// turn it a quarter, so width and height trade places.
pub fn upright_dimensions((width, height): (u32, u32), orientation: Option<u8>) -> (u32, u32) {
    match orientation {
        Some(5..=8) => (height, width),
        _ => (width, height),
    }
}

/// The size to ask a JPEG decoder for when the image is sent at `target` (upright) and is
/// stored at `stored` with EXIF `orientation`: JPEG decodes at n/8 of its size for almost the
/// cost of the smaller image, so this is the smallest such size that still covers the target
/// on both sides, in the stored orientation the decoder works in. `None` when only the full
/// size covers it, so there is nothing to save.
pub fn jpeg_scaled_decode_size(
    stored: (u32, u32),
    target: (u32, u32),
    orientation: Option<u8>,
) -> Option<(u32, u32)> {
    let (stored_w, stored_h) = stored;
    // The target in the stored orientation.
    let (target_w, target_h) = upright_dimensions(target, orientation);
    if stored_w == 0 || stored_h == 0 {
        return None;
    }
    // Decoders round a scaled side up: ceil(side × n / 8).
    let scaled = |side: u32, n: u32| (u64::from(side) * u64::from(n)).div_ceil(8);
    let n = (1..8).find(|&n| {
        scaled(stored_w, n) >= u64::from(target_w) && scaled(stored_h, n) >= u64::from(target_h)
    })?;
    let size = (
        clamp_u32(scaled(stored_w, n)),
        clamp_u32(scaled(stored_h, n)),
    );
    // A tiny image may round back up to its own size.
    (size != (stored_w, stored_h)).then_some(size)
}

/// The EXIF orientation (1–8) of a JPEG, read from its APP1 segment; `None` when absent,
/// invalid or cut off.
pub fn jpeg_orientation(bytes: &[u8]) -> Option<u8> {
    jpeg_segments(bytes).find_map(|(marker, segment)| {
        let tiff = (marker == 0xE1).then(|| segment.strip_prefix(b"Exif\0\0"))??;
        tiff_orientation(tiff)
    })
}

/// The segments of a JPEG before its image data, as (marker, the bytes after the length,
/// cut short where `bytes` ends). Ends at the start of scan or end of image — metadata and
/// the frame header come before those — or at anything that is not a marker.
fn jpeg_segments(bytes: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut pos = if bytes.starts_with(&[0xFF, 0xD8]) {
        2
    } else {
        bytes.len()
    };
    std::iter::from_fn(move || {
        loop {
            if *bytes.get(pos)? != 0xFF {
                return None;
            }
            // Any number of 0xFF fill bytes may precede a marker.
            while *bytes.get(pos + 1)? == 0xFF {
                pos += 1;
            }
            let marker = *bytes.get(pos + 1)?;
            match marker {
                0xDA | 0xD9 => return None,
                // Markers without a length.
                0x01 | 0xD0..=0xD7 => {
                    pos += 2;
                    continue;
                }
                _ => {}
            }
            let len = usize::from(u16::from_be_bytes([
                *bytes.get(pos + 2)?,
                *bytes.get(pos + 3)?,
            ]));
            if len < 2 {
                return None;
            }
            let segment = bytes.get(pos + 4..(pos + 2 + len).min(bytes.len()))?;
            pos += 2 + len;
            return Some((marker, segment));
        }
    })
}

fn tiff_orientation(tiff: &[u8]) -> Option<u8> {
    let big_endian = match tiff.get(0..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    if u16_at(2)? != 42 {
        return None;
    }
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?);
    (0..count).find_map(|i| {
        let entry = ifd.checked_add(2)?.checked_add(i.checked_mul(12)?)?;
        // Orientation is tag 0x0112, one SHORT stored in the first bytes of the value.
        if u16_at(entry)? != 0x0112 || u16_at(entry + 2)? != 3 {
            return None;
        }
        let value = u16_at(entry + 8)?;
        (1..=8).contains(&value).then_some(value as u8)
    })
}

/// The name a result is downloaded under, e.g. `flexedit-add-the-text-sale-50-off-seed-42.png`.
pub fn download_file_name(prompt: &str, seed: Option<u32>, format: OutputFormat) -> String {
    const PREFIX: &str = "flexedit-";
    const MAX_STEM: usize = 60;
    let seed_part = seed.map(|s| format!("-seed-{s}")).unwrap_or_default();
    let words = slug(prompt, MAX_STEM - PREFIX.len() - seed_part.len());
    let words = if words.is_empty() {
        "edit".to_owned()
    } else {
        words
    };
    format!("{PREFIX}{words}{seed_part}.{}", format.extension())
}

/// An ASCII name for the upload with the extension of the encoded format: the provider
/// wants ASCII names whose extension matches the content.
pub fn upload_file_name(original: &str, format: OutputFormat) -> String {
    let base = original.rsplit(['/', '\\']).next().unwrap_or_default();
    let stem = match base.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => base,
    };
    let stem = slug(stem, 60);
    let stem = if stem.is_empty() {
        "image".to_owned()
    } else {
        stem
    };
    format!("{stem}.{}", format.extension())
}

/// Lowercase ASCII words joined by dashes, at most `max` bytes, cut between words where
/// possible. Common Latin accents are folded so names stay readable.
fn slug(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut gap = false;
    fn push(out: &mut String, gap: &mut bool, piece: &str) {
        if *gap && !out.is_empty() {
            out.push('-');
        }
        *gap = false;
        out.push_str(piece);
    }
    for c in s.chars().map(lower_latin) {
        // A prompt may be a megabyte long; only the first words are kept anyway.
        if out.len() > max {
            break;
        }
        if matches!(c, '\'' | '’') {
            continue;
        }
        if c.is_ascii_alphanumeric() {
            push(&mut out, &mut gap, c.encode_utf8(&mut [0; 4]));
        } else if let Some(folded) = fold_accent(c) {
            push(&mut out, &mut gap, folded);
        } else {
            gap = true;
        }
    }
    if out.len() <= max {
        return out;
    }
    let cut = out.get(..max).unwrap_or_default();
    let cut = match cut.rfind('-') {
        // The cut fell exactly at a word's end.
        _ if out.as_bytes().get(max) == Some(&b'-') => cut,
        Some(i) if i >= max / 2 => cut.get(..i).unwrap_or_default(),
        _ => cut,
    };
    cut.trim_matches('-').to_owned()
}

/// The lowercase of the letters [`slug`] keeps (ASCII and the accented Latin letters
/// [`fold_accent`] knows); every other character is returned as it is, since the slug drops
/// it either way. `char::to_lowercase` gives the same slugs, but its Unicode table would be
/// the largest piece of data in the page's first load (11 KB).
fn lower_latin(c: char) -> char {
    let code = c as u32;
    let lower = match code {
        0x41..=0x5A => code + 0x20,
        // À–Þ, except ×.
        0xC0..=0xDE if code != 0xD7 => code + 0x20,
        // İ: i with a dot above, whose dot the slug would drop.
        0x130 => u32::from(b'i'),
        // Latin Extended-A pairs: uppercase first, then its lowercase.
        0x100..=0x137 | 0x14A..=0x177 if code.is_multiple_of(2) => code + 1,
        0x139..=0x148 | 0x179..=0x17E if !code.is_multiple_of(2) => code + 1,
        // Ÿ
        0x178 => 0xFF,
        // Capital sharp s, the Kelvin sign and the Ångström sign.
        0x1E9E => 0xDF,
        0x212A => u32::from(b'k'),
        0x212B => 0xE5,
        _ => code,
    };
    char::from_u32(lower).unwrap_or(c)
}

fn fold_accent(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'č' => "c",
        'ď' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'ī' => "i",
        'ł' => "l",
        'ñ' | 'ń' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'œ' => "oe",
        'ř' => "r",
        'ś' | 'š' => "s",
        'ß' => "ss",
        'ť' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => "u",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slug is the same as with Unicode's full lowercasing.
    #[test]
    fn latin_lowercasing_keeps_what_full_lowercasing_keeps() {
        let kept = |c: char| {
            if c.is_ascii_alphanumeric() {
                Some(c.to_string())
            } else {
                fold_accent(c).map(str::to_owned)
            }
        };
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let full: Vec<Option<String>> = c.to_lowercase().map(kept).collect();
            let ours = kept(lower_latin(c));
            let full_kept: Vec<&String> = full.iter().flatten().collect();
            assert_eq!(
                ours.iter().collect::<Vec<_>>(),
                full_kept,
                "U+{:04X} {c}",
                c as u32
            );
        }
        assert_eq!(slug("ŁÓDŹ Ÿes ÆON", 60), "lodz-yes-aeon");
    }

    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];

    fn gif(frames: usize, netscape: bool) -> Vec<u8> {
        let mut g = b"GIF89a".to_vec();
        // 1x1 screen with a 2-entry global colour table.
        g.extend_from_slice(&[1, 0, 1, 0, 0x80, 0, 0]);
        g.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
        if netscape {
            g.extend_from_slice(&[0x21, 0xFF, 11]);
            g.extend_from_slice(b"NETSCAPE2.0");
            g.extend_from_slice(&[3, 1, 0, 0, 0]);
        }
        for _ in 0..frames {
            g.extend_from_slice(&[0x21, 0xF9, 4, 0, 10, 0, 0, 0]);
            g.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
            g.extend_from_slice(&[2, 2, 0x4C, 0x01, 0]);
        }
        g.push(0x3B);
        g
    }

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = 16 + 4 * compatible.len();
        let mut b = (size as u32).to_be_bytes().to_vec();
        b.extend_from_slice(b"ftyp");
        b.extend_from_slice(major);
        b.extend_from_slice(&[0, 0, 0, 0]);
        for c in compatible {
            b.extend_from_slice(*c);
        }
        b.extend_from_slice(&[0, 0, 0, 8, b'm', b'e', b't', b'a']);
        b
    }

    #[test]
    fn sniffs_magic_bytes() {
        assert_eq!(sniff(PNG), ImageKind::Png);
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), ImageKind::Jpeg);
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), ImageKind::Webp);
        assert_eq!(sniff(b"RIFF\x10\0\0\0WAVEfmt "), ImageKind::Unknown);
        assert_eq!(sniff(&ftyp(b"heic", &[b"mif1", b"heic"])), ImageKind::Heic);
        assert_eq!(sniff(&ftyp(b"mif1", &[b"heic"])), ImageKind::Heic);
        assert_eq!(sniff(&ftyp(b"mif1", &[b"avif"])), ImageKind::Unknown);
        assert_eq!(sniff(&ftyp(b"avif", &[b"mif1"])), ImageKind::Unknown);
        assert_eq!(sniff(&ftyp(b"isom", &[b"mp41"])), ImageKind::Unknown);
        assert_eq!(
            sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            ImageKind::Svg
        );
        assert_eq!(
            sniff(b"\xEF\xBB\xBF\n  <?xml version='1.0'?><svg/>"),
            ImageKind::Svg
        );
        assert_eq!(sniff(b"<!DOCTYPE svg PUBLIC>"), ImageKind::Svg);
        assert_eq!(sniff(b"<!-- made by hand --><SVG>"), ImageKind::Svg);
        assert_eq!(sniff(b"<!-- a comment --><html>"), ImageKind::Unknown);
        assert_eq!(sniff(b"%PDF-1.7"), ImageKind::Unknown);
        assert_eq!(sniff(b""), ImageKind::Unknown);
        assert_eq!(sniff(b"\x89PN"), ImageKind::Unknown);
    }

    #[test]
    fn gif_animation() {
        assert_eq!(sniff(&gif(1, false)), ImageKind::Gif { animated: false });
        assert_eq!(sniff(&gif(2, false)), ImageKind::Gif { animated: true });
        assert_eq!(sniff(&gif(1, true)), ImageKind::Gif { animated: true });
        assert_eq!(sniff(&gif(0, false)), ImageKind::Gif { animated: false });
        let two = gif(2, false);
        for cut in 0..two.len() {
            // Never panics on a truncated head; counts only what it can see.
            let _ = sniff(&two[..cut]);
        }
        assert_eq!(
            sniff(&two[..two.len() - 20]),
            ImageKind::Gif { animated: false }
        );
        assert!(ImageKind::Png.is_accepted());
        assert!(!ImageKind::Gif { animated: false }.is_accepted());
    }

    #[test]
    fn sources_accepted_and_refused() {
        let max = DEFAULT_MAX_SOURCE_BYTES;
        assert_eq!(
            check_source("a.png", "image/png", 12, PNG, max),
            Ok(ImageKind::Png)
        );
        assert_eq!(
            check_source("a.png", "image/png", 12, &[0xFF, 0xD8, 0xFF], max),
            Ok(ImageKind::Jpeg),
            "the bytes win over the name"
        );
        assert_eq!(
            check_source("a.webp", "", 5, &[], max),
            Ok(ImageKind::Webp),
            "without bytes the name is all there is"
        );
        assert_eq!(
            check_source("a.png", "image/png", 0, PNG, max),
            Err(IntakeError::Empty)
        );
        assert_eq!(
            check_source("a.png", "image/png", max + 1, PNG, max),
            Err(IntakeError::TooLarge { size: max + 1, max })
        );
        assert!(check_source("a.png", "image/png", max, PNG, max).is_ok());
        assert_eq!(
            check_source("a.gif", "image/gif", 9, &gif(2, false), max),
            Err(IntakeError::AnimatedGif)
        );
        assert_eq!(
            check_source("a.gif", "image/gif", 9, &gif(1, false), max),
            Err(IntakeError::Gif)
        );
        assert_eq!(
            check_source("IMG_1.HEIC", "", 9, &ftyp(b"heic", &[]), max),
            Err(IntakeError::Heic)
        );
        assert_eq!(
            check_source("IMG_1.HEIC", "image/heic", 9, b"unrecognised", max),
            Err(IntakeError::Heic)
        );
        assert_eq!(
            check_source("logo.svg", "image/svg+xml", 9, b"<svg/>", max),
            Err(IntakeError::Svg)
        );
        assert_eq!(
            check_source("a.avif", "image/avif", 9, &ftyp(b"avif", &[]), max),
            Err(IntakeError::UnsupportedFormat { format: "AVIF" })
        );
        assert_eq!(
            check_source("a.bmp", "image/bmp", 9, b"BM\0\0\0\0\0\0\0\0\0\0\0\0", max),
            Err(IntakeError::UnsupportedFormat { format: "BMP" })
        );
        assert_eq!(
            check_source("a.tif", "", 9, b"II*\0", max),
            Err(IntakeError::UnsupportedFormat { format: "TIFF" })
        );
        assert_eq!(
            check_source("notes.txt", "text/plain", 9, b"hello", max),
            Err(IntakeError::NotAnImage)
        );
        assert_eq!(
            check_source("fake.png", "image/png", 9, b"hello", max),
            Err(IntakeError::NotAnImage)
        );
        for e in [
            IntakeError::Empty,
            IntakeError::TooLarge {
                size: 60 << 20,
                max,
            },
            IntakeError::Heic,
            IntakeError::Svg,
            IntakeError::AnimatedGif,
            IntakeError::Gif,
            IntakeError::UnsupportedFormat { format: "AVIF" },
            IntakeError::NotAnImage,
        ] {
            assert!(e.to_string().ends_with('.'), "{e}");
        }
        assert_eq!(
            IntakeError::TooLarge {
                size: 60 << 20,
                max
            }
            .to_string(),
            "This file is 60 MB, more than the 50 MB limit. Choose a smaller file, or export the image at a lower resolution."
        );
        assert!(IntakeError::Gif.to_string().contains("PNG"));
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(format_bytes(0), "0 bytes");
        assert_eq!(format_bytes(1023), "1023 bytes");
        assert_eq!(format_bytes(12_368), "12 KB");
        assert_eq!(format_bytes(3_565_158), "3.4 MB");
        assert_eq!(format_bytes(u64::MAX), format_bytes(u64::MAX));
    }

    #[test]
    fn fitting() {
        assert_eq!(fit_within(2000, 2000, 4_000_000), (2000, 2000));
        assert_eq!(fit_within(6000, 4000, 4_000_000), (2449, 1632));
        assert_eq!(fit_within(4000, 6000, 4_000_000), (1632, 2449));
        assert_eq!(fit_within(0, 0, 4_000_000), (1, 1));
        assert_eq!(fit_within(100, 100, 0), (1, 1));
        assert_eq!(fit_within(100_000, 1, 10), (10, 1));
        assert_eq!(fit_within(1, u32::MAX, 1), (1, 1));
        assert_eq!(
            fit_within(u32::MAX, u32::MAX, u64::MAX),
            (u32::MAX, u32::MAX)
        );
        let (w, h) = fit_within(u32::MAX, u32::MAX, 4_000_000);
        assert!(u64::from(w) * u64::from(h) <= 4_000_000);
        assert_eq!(w, h);
    }

    fn jpeg_with_exif(big_endian: bool, orientation: u16) -> Vec<u8> {
        let mut tiff = Vec::new();
        type Encode<T, const N: usize> = fn(T) -> [u8; N];
        let (u16b, u32b): (Encode<u16, 2>, Encode<u32, 4>) = if big_endian {
            tiff.extend_from_slice(b"MM");
            (u16::to_be_bytes, u32::to_be_bytes)
        } else {
            tiff.extend_from_slice(b"II");
            (u16::to_le_bytes, u32::to_le_bytes)
        };
        tiff.extend_from_slice(&u16b(42));
        tiff.extend_from_slice(&u32b(8));
        tiff.extend_from_slice(&u16b(2));
        // An unrelated tag first (ImageWidth), then Orientation.
        tiff.extend_from_slice(&u16b(0x0100));
        tiff.extend_from_slice(&u16b(3));
        tiff.extend_from_slice(&u32b(1));
        tiff.extend_from_slice(&[0x10, 0, 0, 0]);
        tiff.extend_from_slice(&u16b(0x0112));
        tiff.extend_from_slice(&u16b(3));
        tiff.extend_from_slice(&u32b(1));
        tiff.extend_from_slice(&u16b(orientation));
        tiff.extend_from_slice(&[0, 0]);
        tiff.extend_from_slice(&u32b(0));
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let mut jpeg = vec![0xFF, 0xD8];
        // A JFIF APP0 before it, as cameras and editors write.
        jpeg.extend_from_slice(&[0xFF, 0xE0, 0, 16]);
        jpeg.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        jpeg.extend_from_slice(&[0xFF, 0xE1]);
        jpeg.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        jpeg.extend_from_slice(&app1);
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 2, 0xFF, 0xD9]);
        jpeg
    }

    fn jpeg_with_frame(sof: u8, width: u16, height: u16) -> Vec<u8> {
        let mut jpeg = jpeg_with_exif(false, 6);
        jpeg.truncate(jpeg.len() - 6);
        // A quantisation table (skipped by length), then the frame header.
        jpeg.extend_from_slice(&[0xFF, 0xDB, 0, 4, 0, 0]);
        jpeg.extend_from_slice(&[0xFF, sof, 0, 11, 8]);
        jpeg.extend_from_slice(&height.to_be_bytes());
        jpeg.extend_from_slice(&width.to_be_bytes());
        jpeg.extend_from_slice(&[1, 1, 0x11, 0]);
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 2, 0xFF, 0xD9]);
        jpeg
    }

    fn webp(chunk: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut webp = b"RIFF\0\0\0\0WEBP".to_vec();
        webp.extend_from_slice(chunk);
        webp.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        webp.extend_from_slice(payload);
        webp
    }

    #[test]
    fn jpeg_decodes_at_the_smallest_eighth_that_covers_the_target() {
        // 24 MP sent at 4 MP: half size covers 2449 × 1633, three eighths (2250) does not.
        assert_eq!(
            jpeg_scaled_decode_size((6000, 4000), (2449, 1633), None),
            Some((3000, 2000))
        );
        // Stored sideways (orientation 6): the target is turned to the stored orientation.
        assert_eq!(
            jpeg_scaled_decode_size((4000, 6000), (2449, 1633), Some(6)),
            Some((2000, 3000))
        );
        // Odd sides round up as the decoder does.
        assert_eq!(
            jpeg_scaled_decode_size((4001, 3001), (500, 375), None),
            Some((501, 376))
        );
        assert_eq!(
            jpeg_scaled_decode_size((8000, 8000), (1000, 1000), None),
            Some((1000, 1000))
        );
        // Only the full size covers a small reduction: nothing to gain.
        assert_eq!(
            jpeg_scaled_decode_size((2500, 2000), (2236, 1788), None),
            None
        );
        assert_eq!(jpeg_scaled_decode_size((100, 100), (100, 100), None), None);
        assert_eq!(jpeg_scaled_decode_size((0, 100), (1, 1), None), None);
        // Never below the target, whatever the sizes.
        for (w, h) in [(6000, 4000), (4032, 3024), (12000, 9), (9, 12000), (7, 5)] {
            for max in [1u64, 10, 4_000_000, 1_000_000] {
                let target = fit_within(w, h, max);
                if let Some((dw, dh)) = jpeg_scaled_decode_size((w, h), target, None) {
                    assert!(dw >= target.0 && dh >= target.1, "{w}×{h} → {target:?}");
                    assert!(dw < w || dh < h);
                }
            }
        }
    }

    #[test]
    fn header_dimensions_of_every_accepted_format() {
        let mut png = PNG.to_vec();
        png.truncate(8);
        png.extend_from_slice(&[0, 0, 0, 13]);
        png.extend_from_slice(b"IHDR");
        png.extend_from_slice(&6000u32.to_be_bytes());
        png.extend_from_slice(&4000u32.to_be_bytes());
        png.extend_from_slice(&[8, 6, 0, 0, 0]);
        assert_eq!(stored_dimensions(&png), Some((6000, 4000)));

        for sof in [0xC0, 0xC1, 0xC2] {
            let jpeg = jpeg_with_frame(sof, 6000, 4000);
            assert_eq!(stored_dimensions(&jpeg), Some((6000, 4000)), "SOF {sof:x}");
            // Cut anywhere before the width is complete: unknown, never wrong.
            for cut in 0..jpeg.len() - 10 {
                assert_eq!(stored_dimensions(&jpeg[..cut]), None, "cut at {cut}");
            }
        }
        // A define-Huffman-table marker (0xC4) is no frame header.
        let mut dht = jpeg_with_frame(0xC0, 10, 20);
        let at = dht.len() - 6 - 13;
        dht.splice(at..at, [0xFF, 0xC4, 0, 4, 0, 0]);
        assert_eq!(stored_dimensions(&dht), Some((10, 20)));
        // No frame before the scan: unknown.
        assert_eq!(stored_dimensions(&jpeg_with_exif(true, 1)), None);

        let mut lossy = vec![0, 0, 0, 0x9D, 0x01, 0x2A];
        lossy.extend_from_slice(&(1920u16 | 0x4000).to_le_bytes());
        lossy.extend_from_slice(&1080u16.to_le_bytes());
        assert_eq!(
            stored_dimensions(&webp(b"VP8 ", &lossy)),
            Some((1920, 1080))
        );
        let bits: u32 = (640 - 1) | ((480 - 1) << 14);
        let mut lossless = vec![0x2F];
        lossless.extend_from_slice(&bits.to_le_bytes());
        assert_eq!(
            stored_dimensions(&webp(b"VP8L", &lossless)),
            Some((640, 480))
        );
        let mut extended = vec![0x10, 0, 0, 0];
        extended.extend_from_slice(&[0x1F, 0x03, 0x00, 0xDF, 0x01, 0x00]);
        assert_eq!(
            stored_dimensions(&webp(b"VP8X", &extended)),
            Some((800, 480))
        );

        assert_eq!(stored_dimensions(b"GIF89a\x01\0\x01\0"), None);
        assert_eq!(stored_dimensions(&[]), None);
    }

    #[test]
    fn quarter_turns_swap_width_and_height() {
        assert_eq!(upright_dimensions((6000, 4000), Some(6)), (4000, 6000));
        assert_eq!(upright_dimensions((6000, 4000), Some(8)), (4000, 6000));
        assert_eq!(upright_dimensions((6000, 4000), Some(3)), (6000, 4000));
        assert_eq!(upright_dimensions((6000, 4000), None), (6000, 4000));
    }

    #[test]
    fn exif_orientation_both_byte_orders() {
        for o in 1..=8 {
            assert_eq!(jpeg_orientation(&jpeg_with_exif(true, o)), Some(o as u8));
            assert_eq!(jpeg_orientation(&jpeg_with_exif(false, o)), Some(o as u8));
        }
        assert_eq!(jpeg_orientation(&jpeg_with_exif(true, 0)), None);
        assert_eq!(jpeg_orientation(&jpeg_with_exif(false, 9)), None);
        let full = jpeg_with_exif(false, 6);
        for cut in 0..full.len() {
            let got = jpeg_orientation(&full[..cut]);
            assert!(got.is_none() || got == Some(6));
        }
        assert_eq!(jpeg_orientation(&[0xFF, 0xD8, 0xFF, 0xD9]), None);
        assert_eq!(jpeg_orientation(PNG), None);
        assert_eq!(jpeg_orientation(&[0xFF, 0xD8, 0xFF, 0xE1, 0, 0]), None);
    }

    #[test]
    fn file_names() {
        assert_eq!(
            download_file_name("Add the text SALE 50% OFF", Some(42), OutputFormat::Png),
            "flexedit-add-the-text-sale-50-off-seed-42.png"
        );
        assert_eq!(
            download_file_name("   ", None, OutputFormat::Jpg),
            "flexedit-edit.jpg"
        );
        assert_eq!(
            download_file_name("日本語", Some(1), OutputFormat::Jpg),
            "flexedit-edit-seed-1.jpg"
        );
        assert_eq!(
            download_file_name("Crème brûlée, don't burn it!", None, OutputFormat::Png),
            "flexedit-creme-brulee-dont-burn-it.png"
        );
        let long = download_file_name(
            "Add the text SALE 50% OFF in bold red letters at the top of the banner",
            Some(u32::MAX),
            OutputFormat::Png,
        );
        assert_eq!(
            long,
            "flexedit-add-the-text-sale-50-off-in-bold-seed-4294967295.png"
        );
        assert!(long.len() <= 64);
        let huge = download_file_name(&"word ".repeat(200_000), None, OutputFormat::Png);
        assert!(huge.len() <= 64 && huge.starts_with("flexedit-word-word"));
        let no_gaps = download_file_name(&"x".repeat(100), None, OutputFormat::Png);
        assert_eq!(no_gaps, format!("flexedit-{}.png", "x".repeat(51)));

        assert_eq!(upload_file_name("cat.png", OutputFormat::Png), "cat.png");
        assert_eq!(
            upload_file_name("C:\\Users\\me\\Foto Müller (1).HEIC", OutputFormat::Jpg),
            "foto-muller-1.jpg"
        );
        assert_eq!(upload_file_name("写真.jpg", OutputFormat::Jpg), "image.jpg");
        assert_eq!(upload_file_name("", OutputFormat::Png), "image.png");
        assert_eq!(upload_file_name(".hidden", OutputFormat::Png), "hidden.png");
        assert_eq!(
            upload_file_name("archive.tar.gz", OutputFormat::Png),
            "archive-tar.png"
        );
        for name in [
            upload_file_name("ÄÖÜ ßü", OutputFormat::Png),
            upload_file_name(&"é".repeat(1000), OutputFormat::Png),
        ] {
            assert!(name.is_ascii() && name.len() <= 64, "{name}");
        }
    }
}
