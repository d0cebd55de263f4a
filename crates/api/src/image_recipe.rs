//! The recipe inside a result file: how it was made, carried by the image itself.
//!
//! A PNG gets an `iTXt` chunk with the keyword `flexedit`; a JPEG gets an XMP packet (an
//! `APP1` segment) holding the same JSON. Both are inserted into the bytes the provider
//! returned with img-parts, which rewrites the container around the image data and leaves
//! that data as it was: no re-encode, not one pixel changed.
//!
//! Reading is forgiving: a file without flexedit's metadata, with someone else's, or with a
//! damaged copy of ours is just an image, never an error.

use bytes::Bytes;
use img_parts::jpeg::{Jpeg, JpegSegment, markers};
use img_parts::png::{Png, PngChunk};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::params::EditParams;
use crate::request::EditRequest;
use crate::{FEATURE_TYPE, MODEL};

/// The `iTXt` keyword, and the name of the recipe in the XMP packet.
pub const KEYWORD: &str = "flexedit";

/// The chunk type of international text in a PNG.
const ITXT: [u8; 4] = *b"iTXt";

/// What an `APP1` segment holding XMP starts with.
const XMP_NAMESPACE: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

/// The XML namespace of the recipe inside the XMP packet.
const RECIPE_NAMESPACE: &str = "https://flexedit.dev/ns/recipe/1.0/";

/// A JPEG segment's contents are at most this long: its length field is 16 bits and
/// counts itself.
const SEGMENT_MAX: usize = 65_533;

/// How a result was made, as the file carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageRecipe {
    pub prompt: String,
    /// The `promptObject` exactly as it was sent.
    pub prompt_object: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    pub model: String,
    /// The asset path of the image this one was edited from, when the provider gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Whether a protected area limited where the edit could change the image.
    #[serde(default)]
    pub mask: bool,
}

impl ImageRecipe {
    /// The form's parameters that made the image, read as the provider would read its
    /// `promptObject`; `None` when they no longer pass the checks.
    pub fn params(&self) -> Option<EditParams> {
        let body = serde_json::json!({
            "type": FEATURE_TYPE,
            "model": MODEL,
            "promptObject": self.prompt_object,
        });
        EditRequest::from_json(&body.to_string())
            .ok()
            .map(|request| request.params())
    }
}

/// Why a recipe could not be written into a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecipeFileError {
    #[error(
        "The image is neither a PNG nor a JPEG, so flexedit cannot write its recipe into it; the file is saved without it."
    )]
    UnknownFormat,
    #[error(
        "The image could not be read as a {0}, so its recipe was not written into it; the file is saved without it."
    )]
    Unreadable(&'static str),
    #[error(
        "The recipe is too long to fit in a JPEG's metadata; the file is saved without it. Download a PNG to keep it."
    )]
    TooLarge,
}

/// `image` with `recipe` inserted; a recipe the file already carried is replaced.
pub fn write_recipe(image: &[u8], recipe: &ImageRecipe) -> Result<Vec<u8>, RecipeFileError> {
    // Serialising a struct of strings, numbers and a JSON value cannot fail.
    let json = serde_json::to_string(recipe).unwrap_or_default();
    let bytes = Bytes::copy_from_slice(image);
    if image.starts_with(b"\x89PNG\r\n\x1a\n") {
        let mut png = Png::from_bytes(bytes).map_err(|_| RecipeFileError::Unreadable("PNG"))?;
        let chunks = png.chunks_mut();
        chunks.retain(|chunk| !is_our_chunk(chunk));
        // Right after IHDR, which must come first: readers that stop early still find it.
        let at = usize::from(!chunks.is_empty());
        chunks.insert(at, PngChunk::new(ITXT, Bytes::from(itxt_contents(&json))));
        Ok(png.encoder().bytes().to_vec())
    } else if image.starts_with(&[markers::P, markers::SOI]) {
        let contents = xmp_contents(&json);
        if contents.len() > SEGMENT_MAX {
            return Err(RecipeFileError::TooLarge);
        }
        let mut jpeg = Jpeg::from_bytes(bytes).map_err(|_| RecipeFileError::Unreadable("JPEG"))?;
        let segments = jpeg.segments_mut();
        segments.retain(|segment| !is_our_segment(segment));
        // After the JFIF and Exif segments, where XMP conventionally sits.
        let at = segments
            .iter()
            .take_while(|s| s.marker() == markers::APP0 || is_exif(s))
            .count();
        segments.insert(
            at,
            JpegSegment::new_with_contents(markers::APP1, Bytes::from(contents)),
        );
        Ok(jpeg.encoder().bytes().to_vec())
    } else {
        Err(RecipeFileError::UnknownFormat)
    }
}

/// The PNG chunk that carries `recipe` (length, type, contents, CRC), for a writer that
/// inserts it after IHDR itself: a full-size image is too large to copy just to add it.
pub fn png_recipe_chunk(recipe: &ImageRecipe) -> Vec<u8> {
    let json = serde_json::to_string(recipe).unwrap_or_default();
    let contents = itxt_contents(&json);
    let mut typed = ITXT.to_vec();
    typed.extend_from_slice(&contents);
    let mut chunk = u32::try_from(contents.len())
        .unwrap_or(u32::MAX)
        .to_be_bytes()
        .to_vec();
    chunk.extend_from_slice(&typed);
    chunk.extend_from_slice(&crate::zip::crc32(&typed).to_be_bytes());
    chunk
}

/// The recipe `image` carries, if it is a PNG or JPEG with flexedit's metadata intact.
pub fn read_recipe(image: &[u8]) -> Option<ImageRecipe> {
    let bytes = Bytes::copy_from_slice(image);
    let json = if image.starts_with(b"\x89PNG\r\n\x1a\n") {
        let png = Png::from_bytes(bytes).ok()?;
        png.chunks_by_type(ITXT)
            .find_map(|chunk| itxt_text(chunk.contents()))?
    } else if image.starts_with(&[markers::P, markers::SOI]) {
        let jpeg = Jpeg::from_bytes(bytes).ok()?;
        jpeg.segments_by_marker(markers::APP1)
            .find_map(|segment| xmp_recipe(segment.contents()))?
    } else {
        return None;
    };
    serde_json::from_str(&json).ok()
}

fn is_our_chunk(chunk: &PngChunk) -> bool {
    chunk.kind() == ITXT && chunk.contents().starts_with(&keyword_prefix())
}

fn keyword_prefix() -> Vec<u8> {
    let mut prefix = KEYWORD.as_bytes().to_vec();
    prefix.push(0);
    prefix
}

/// keyword, NUL, compression flag 0 (the text is stored as it is), compression method 0,
/// an empty language tag and translated keyword (each NUL-terminated), then UTF-8 text.
fn itxt_contents(text: &str) -> Vec<u8> {
    let mut contents = keyword_prefix();
    contents.extend_from_slice(&[0, 0, 0, 0]);
    contents.extend_from_slice(text.as_bytes());
    contents
}

/// The text of an uncompressed `flexedit` iTXt chunk.
fn itxt_text(contents: &[u8]) -> Option<String> {
    let rest = contents.strip_prefix(keyword_prefix().as_slice())?;
    let (&[compressed, _method], rest) = rest.split_first_chunk::<2>()?;
    if compressed != 0 {
        return None;
    }
    // Language tag and translated keyword, each up to a NUL.
    let mut rest = rest;
    for _ in 0..2 {
        let end = rest.iter().position(|b| *b == 0)?;
        rest = rest.get(end + 1..)?;
    }
    String::from_utf8(rest.to_vec()).ok()
}

fn is_exif(segment: &JpegSegment) -> bool {
    segment.marker() == markers::APP1 && segment.contents().starts_with(b"Exif\0\0")
}

fn is_our_segment(segment: &JpegSegment) -> bool {
    segment.marker() == markers::APP1 && xmp_recipe(segment.contents()).is_some()
}

const RECIPE_OPEN: &str = "<flexedit:recipe>";
const RECIPE_CLOSE: &str = "</flexedit:recipe>";

/// An XMP packet with the recipe's JSON as the text of one property.
fn xmp_contents(json: &str) -> Vec<u8> {
    let packet = format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\
         <x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\
         <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
         <rdf:Description rdf:about=\"\" xmlns:flexedit=\"{RECIPE_NAMESPACE}\">\
         {RECIPE_OPEN}{}{RECIPE_CLOSE}\
         </rdf:Description></rdf:RDF></x:xmpmeta>\
         <?xpacket end=\"r\"?>",
        xml_escape(json)
    );
    let mut contents = XMP_NAMESPACE.to_vec();
    contents.extend_from_slice(packet.as_bytes());
    contents
}

/// The recipe's JSON from an XMP segment that holds flexedit's property.
fn xmp_recipe(contents: &[u8]) -> Option<String> {
    let packet = std::str::from_utf8(contents.strip_prefix(XMP_NAMESPACE)?).ok()?;
    if !packet.contains(RECIPE_NAMESPACE) {
        return None;
    }
    let start = packet.find(RECIPE_OPEN)? + RECIPE_OPEN.len();
    let end = start + packet.get(start..)?.find(RECIPE_CLOSE)?;
    Some(xml_unescape(packet.get(start..end)?))
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
