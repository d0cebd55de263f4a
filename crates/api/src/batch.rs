//! "Download all": the results of a press in one zip, each file the provider's bytes as
//! they came (or, when an area was painted, the result laid into its source, as the page
//! shows it), with a manifest saying how each was made.

use serde::Serialize;

use crate::PromptObject;
use crate::history::{extension_for, mime_of};
use crate::zip::{ZipEntry, ZipError, write_zip};

/// One result of a press.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultFile {
    /// Its place among the jobs of the press, from 0.
    pub index: usize,
    pub bytes: Vec<u8>,
    /// Exactly what was sent for it.
    pub prompt_object: PromptObject,
    pub record: Option<String>,
    /// The bytes are the result laid into its source through the painted area, not the
    /// provider's own.
    pub area: bool,
}

#[derive(Serialize)]
struct Manifest<'a> {
    app: &'static str,
    results: Vec<ManifestEntry<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ManifestEntry<'a> {
    file: String,
    prompt: &'a str,
    /// The `promptObject` sent, with the provider's field names.
    parameters: &'a PromptObject,
    seed: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<&'a str>,
    /// The file is the composite: the source outside the painted area, the result inside.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    area: bool,
}

/// The name of a result in the zip: its place and seed, and the extension its bytes call for.
pub fn result_file_name(file: &ResultFile) -> String {
    let extension = extension_for(mime_of(&file.bytes));
    match file.prompt_object.seed {
        Some(seed) => format!("{:02}-seed-{seed}.{extension}", file.index + 1),
        None => format!("{:02}.{extension}", file.index + 1),
    }
}

/// `manifest.json` first, then every result in order.
pub fn results_zip(files: &[ResultFile]) -> Result<Vec<u8>, ZipError> {
    let mut entries = Vec::with_capacity(files.len() + 1);
    let mut manifest = Manifest {
        app: "flexedit",
        results: Vec::with_capacity(files.len()),
    };
    for file in files {
        let name = result_file_name(file);
        manifest.results.push(ManifestEntry {
            file: name.clone(),
            prompt: &file.prompt_object.prompt,
            parameters: &file.prompt_object,
            seed: file.prompt_object.seed,
            record: file.record.as_deref(),
            area: file.area,
        });
        entries.push(ZipEntry {
            name,
            data: file.bytes.clone(),
        });
    }
    let json = serde_json::to_vec_pretty(&manifest).map_err(|_| ZipError::TooLarge)?;
    entries.insert(
        0,
        ZipEntry {
            name: "manifest.json".into(),
            data: json,
        },
    );
    write_zip(&entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zip::read_zip;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-one";
    const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF-two";

    fn prompt_object(seed: u32) -> PromptObject {
        PromptObject {
            image_url: "images/a.png".into(),
            prompt: "Add a logo".into(),
            aspect_ratio: None,
            output_format: None,
            output_quality: None,
            steps: None,
            guidance: None,
            safety_tolerance: None,
            prompt_upsampling: None,
            seed: Some(seed),
        }
    }

    #[test]
    fn every_result_is_kept_byte_for_byte_with_how_it_was_made() {
        let files = vec![
            ResultFile {
                index: 0,
                bytes: PNG.to_vec(),
                prompt_object: prompt_object(7),
                record: Some("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d".into()),
                area: true,
            },
            ResultFile {
                index: 1,
                bytes: JPEG.to_vec(),
                prompt_object: prompt_object(8),
                record: None,
                area: false,
            },
        ];
        let entries = read_zip(&results_zip(&files).unwrap()).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["manifest.json", "01-seed-7.png", "02-seed-8.jpg"]);
        assert_eq!(entries[1].data, PNG);
        assert_eq!(entries[2].data, JPEG);
        let manifest: serde_json::Value = serde_json::from_slice(&entries[0].data).unwrap();
        assert_eq!(manifest["results"][0]["file"], "01-seed-7.png");
        assert_eq!(manifest["results"][0]["seed"], 7);
        assert_eq!(
            manifest["results"][0]["parameters"]["imageUrl"],
            "images/a.png"
        );
        assert_eq!(
            manifest["results"][0]["record"],
            "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
        );
        assert_eq!(manifest["results"][1]["prompt"], "Add a logo");
        assert!(manifest["results"][1].get("record").is_none());
        assert_eq!(manifest["results"][0]["area"], true);
        assert!(manifest["results"][1].get("area").is_none());
    }
}
