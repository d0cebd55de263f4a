//! The recipe inside a result file: written without touching the image data, read back,
//! and never an error for a file that is just an image.

use flexedit_api::image_recipe::KEYWORD;
use flexedit_api::{ImageRecipe, RecipeFileError, read_recipe, write_recipe};
use proptest::prelude::*;
use serde_json::json;

fn recipe(prompt: &str) -> ImageRecipe {
    ImageRecipe {
        prompt: prompt.to_owned(),
        prompt_object: json!({"imageUrl": "images/a.png", "prompt": prompt, "steps": 30, "seed": 42}),
        seed: Some(42),
        model: flexedit_api::MODEL.to_owned(),
        parent: Some("images/2026_01_01_00_00_00_000_a.png".to_owned()),
        mask: true,
    }
}

fn picture() -> image::RgbImage {
    image::RgbImage::from_fn(48, 32, |x, y| {
        image::Rgb([(x * 5) as u8, (y * 7) as u8, 90])
    })
}

fn png() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    picture()
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn jpeg() -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&picture())
        .unwrap();
    out
}

/// `written` with the one stretch `inserted` taken out, which must be all it added.
fn without(written: &[u8], inserted: std::ops::Range<usize>) -> Vec<u8> {
    let mut rest = written[..inserted.start].to_vec();
    rest.extend_from_slice(&written[inserted.end..]);
    rest
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn a_png_carries_its_recipe_in_an_itxt_chunk_after_ihdr() {
    let source = png();
    let made = recipe("Add the text \"SALE 50% OFF\" <b>& more</b> 日本");
    let written = write_recipe(&source, &made).unwrap();
    assert_eq!(read_recipe(&written), Some(made.clone()));

    // Signature (8) and IHDR (25), then the chunk: length, type, contents, CRC.
    assert_eq!(&written[37..41], b"iTXt");
    let length = u32::from_be_bytes(written[33..37].try_into().unwrap()) as usize;
    let contents = &written[41..41 + length];
    assert!(contents.starts_with(format!("{KEYWORD}\0\0\0\0\0{{").as_bytes()));
    let text = std::str::from_utf8(&contents[KEYWORD.len() + 5..]).unwrap();
    assert_eq!(serde_json::from_str::<ImageRecipe>(text).unwrap(), made);
    // Everything else is the provider's bytes, byte for byte.
    assert_eq!(without(&written, 33..41 + length + 4), source);
    let decoded = image::load_from_memory(&written).unwrap().to_rgb8();
    assert_eq!(decoded, picture());
}

#[test]
fn a_jpeg_carries_its_recipe_in_an_xmp_packet() {
    let source = jpeg();
    let made = recipe("make the sky orange </flexedit:recipe> &amp;");
    let written = write_recipe(&source, &made).unwrap();
    assert_eq!(read_recipe(&written), Some(made));

    let xmp = find(&written, b"http://ns.adobe.com/xap/1.0/\0").unwrap();
    // The segment starts 4 bytes before its contents: FF E1 and the 16-bit length.
    let start = xmp - 4;
    assert_eq!(&written[start..start + 2], &[0xFF, 0xE1]);
    let length = u16::from_be_bytes([written[start + 2], written[start + 3]]) as usize;
    assert_eq!(without(&written, start..start + 2 + length), source);
    assert_eq!(
        image::load_from_memory(&written).unwrap().to_rgb8(),
        image::load_from_memory(&source).unwrap().to_rgb8()
    );
}

#[test]
fn a_recipe_gives_back_the_forms_parameters() {
    let params = recipe("make the sky orange").params().unwrap();
    assert_eq!(params.prompt, "make the sky orange");
    assert_eq!(params.steps, Some(30.0));
    assert_eq!(params.seed, Some(42.0));
    let mut broken = recipe("x");
    broken.prompt_object = json!({"imageUrl": "images/a.png", "prompt": "x", "steps": 900});
    assert_eq!(broken.params(), None);
}

#[test]
fn writing_again_replaces_the_recipe() {
    for source in [png(), jpeg()] {
        let once = write_recipe(&source, &recipe("first")).unwrap();
        let twice = write_recipe(&once, &recipe("second")).unwrap();
        assert_eq!(read_recipe(&twice).unwrap().prompt, "second");
        assert_eq!(
            twice.len() - source.len(),
            once.len() - source.len() + 2,
            "one recipe, whose prompt (written twice) is a byte longer"
        );
    }
}

#[test]
fn other_files_are_just_images() {
    assert_eq!(read_recipe(&png()), None);
    assert_eq!(read_recipe(&jpeg()), None);
    assert_eq!(read_recipe(b""), None);
    assert_eq!(read_recipe(b"GIF89a"), None);
    assert_eq!(
        write_recipe(b"GIF89a\x01\x00", &recipe("x")),
        Err(RecipeFileError::UnknownFormat)
    );
    assert_eq!(
        write_recipe(b"\x89PNG\r\n\x1a\nbroken", &recipe("x")),
        Err(RecipeFileError::Unreadable("PNG"))
    );
    // Someone else's iTXt, and ours with JSON that is not a recipe.
    let source = png();
    let mut theirs = source[..33].to_vec();
    let contents = b"Comment\0\0\0\0\0made elsewhere";
    theirs.extend_from_slice(&(contents.len() as u32).to_be_bytes());
    theirs.extend_from_slice(b"iTXt");
    theirs.extend_from_slice(contents);
    theirs.extend_from_slice(&[0, 0, 0, 0]);
    theirs.extend_from_slice(&source[33..]);
    assert_eq!(read_recipe(&theirs), None);
    let written = write_recipe(&source, &recipe("x")).unwrap();
    let text = find(&written, b"{\"prompt\"").unwrap();
    let mut damaged = written.clone();
    damaged[text] = b'[';
    assert_eq!(read_recipe(&damaged), None);
}

#[test]
fn a_recipe_too_long_for_a_jpeg_segment_is_refused_in_words() {
    let long = "<".repeat(20_000);
    let err = write_recipe(&jpeg(), &recipe(&long)).unwrap_err();
    assert_eq!(err, RecipeFileError::TooLarge);
    assert!(err.to_string().contains("Download a PNG"));
    // A PNG chunk holds it.
    assert_eq!(
        read_recipe(&write_recipe(&png(), &recipe(&long)).unwrap())
            .unwrap()
            .prompt,
        long
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn reading_never_panics(
        kind in 0usize..3,
        tail in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut bytes = match kind {
            0 => b"\x89PNG\r\n\x1a\n".to_vec(),
            1 => vec![0xFF, 0xD8],
            _ => Vec::new(),
        };
        bytes.extend_from_slice(&tail);
        let _ = read_recipe(&bytes);
        let _ = write_recipe(&bytes, &recipe("x"));
    }

    #[test]
    fn damaged_files_with_a_recipe_never_panic(
        jpeg_file in any::<bool>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let source = if jpeg_file { jpeg() } else { png() };
        let mut written = write_recipe(&source, &recipe("x")).unwrap();
        for (at, byte) in flips {
            let i = at.index(written.len());
            written[i] = byte;
        }
        let _ = read_recipe(&written);
        let end = cut.index(written.len());
        let _ = read_recipe(&written[..end]);
    }
}

#[test]
fn the_chunk_given_alone_is_the_one_write_recipe_inserts() {
    let source = png();
    let made = recipe("Change only the sign");
    let chunk = flexedit_api::png_recipe_chunk(&made);
    let mut spliced = source[..33].to_vec();
    spliced.extend_from_slice(&chunk);
    spliced.extend_from_slice(&source[33..]);
    assert_eq!(spliced, write_recipe(&source, &made).unwrap());
    assert_eq!(read_recipe(&spliced), Some(made));
}
