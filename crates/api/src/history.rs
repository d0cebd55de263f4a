//! What the history keeps of each run, and the export bundle: a zip with the images and a
//! JSON manifest. Pure data, so the page stores it and tests check it natively.
//!
//! A record never holds the API key: only the endpoint and the mode.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::intake::format_bytes;
use crate::params::EditParams;
use crate::recipe::Recipe;
use crate::response::Credits;
use crate::zip::{ZipEntry, ZipError, read_zip, write_zip};

/// The manifest's format. Bump it when a change would mislead an older reader.
pub const MANIFEST_FORMAT: u32 = 1;
/// The manifest's name inside the bundle.
pub const MANIFEST_NAME: &str = "manifest.json";
/// Past this share of the quota, the history says so before a write fails.
pub const NEAR_QUOTA: f64 = 0.8;

/// A run id: 32 lowercase hex digits (128 random bits), made when the run starts and kept
/// through export and import, so importing twice replaces instead of duplicating.
pub fn is_run_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Writes 16 random bytes as a run id.
pub fn run_id_from(bytes: [u8; 16]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a run's source image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A file, prepared in the browser and uploaded.
    File,
    /// An image URL, sent as it is.
    Url,
    /// An earlier result, by its asset path.
    Result,
}

/// The image a run started from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRecord {
    pub name: String,
    pub kind: SourceKind,
    /// The uploaded (or reused) asset path, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_path: Option<String>,
    /// The image URL, for URL sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The type of the stored bytes, when the bytes are stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
}

/// A finished edit's facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuccessRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_path: Option<String>,
    pub display_url: String,
    /// Unix seconds when `display_url` stops working, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u32>,
    pub duration_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<Credits>,
    /// The type of the stored result bytes; `None` when they could not be fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
}

/// How a run ended, or that it has not yet. Externally tagged (`{"succeeded": {…}}`,
/// `"running"`): serde reads that without buffering, which keeps the page's code small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A job of a press waiting for its turn; a page that starts puts it back in its queue.
    Queued,
    Running,
    /// The provider named the edit's record (`RunRecord::record`) and is working on it: a
    /// page that starts finds it here and follows it again.
    Submitted,
    Succeeded(SuccessRecord),
    Failed {
        kind: String,
        message: String,
        next_step: String,
        #[serde(default)]
        may_have_billed: bool,
    },
    Cancelled {
        after_send: bool,
    },
}

impl Outcome {
    /// One word for the list.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Queued => "queued",
            Outcome::Running => "running",
            Outcome::Submitted => "editing",
            Outcome::Succeeded(_) => "done",
            Outcome::Failed { .. } => "failed",
            Outcome::Cancelled { .. } => "cancelled",
        }
    }
}

/// One run, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    /// The run whose result this run edited: the branch it grows from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Unix milliseconds.
    pub started_at: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<f64>,
    /// The endpoint ("" for the page's own server) and mode; never the key.
    pub endpoint: String,
    pub mode: String,
    /// Every parameter as the form held it, the prompt among them.
    pub params: EditParams,
    pub source: SourceRecord,
    pub outcome: Outcome,
    /// The provider's id of the edit's record, once it named one: kept whatever the
    /// outcome, so a cancelled run can still be asked about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// Unix milliseconds when the provider named the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<f64>,
    /// Where the run stood among the jobs of its press (its variations, or the images of a
    /// batch): its siblings share `batch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
    /// The tab that queued the run, while it waits: only that tab (after a reload) starts
    /// it, so two open tabs never both send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_by: Option<String>,
    /// The area the edit was allowed to change, when the person painted one; the result
    /// is shown composited into the source through it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<crate::mask::Mask>,
    /// The area was painted on an image of another shape than this run's source (an image
    /// of a batch): laid over it, it would be distorted, so the result is the model's whole
    /// edit, not a composite.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub area_unfit: bool,
}

/// Where a job stands among the jobs of one press: `index` of `of`, all sharing `batch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub batch: String,
    pub index: usize,
    pub of: usize,
}

impl RunRecord {
    pub fn prompt(&self) -> &str {
        &self.params.prompt
    }

    pub fn success(&self) -> Option<&SuccessRecord> {
        match &self.outcome {
            Outcome::Succeeded(success) => Some(success),
            _ => None,
        }
    }
}

/// The file extension for an image type.
pub fn extension_for(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/webp" => "webp",
        _ => "bin",
    }
}

/// The type of stored bytes, from what they start with.
pub fn mime_of(bytes: &[u8]) -> &'static str {
    crate::intake::sniff(bytes)
        .mime()
        .unwrap_or("application/octet-stream")
}

/// Which image of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    Source,
    Result,
}

impl Slot {
    pub fn name(self) -> &'static str {
        match self {
            Slot::Source => "source",
            Slot::Result => "result",
        }
    }
}

/// Where an image of a run lives in the bundle.
pub fn bundle_file_name(id: &str, slot: Slot, mime: &str) -> String {
    format!("images/{id}-{}.{}", slot.name(), extension_for(mime))
}

/// The files of one run in the bundle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BundleFiles {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleRun {
    pub record: RunRecord,
    #[serde(default)]
    pub files: BundleFiles,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub app: String,
    pub runs: Vec<BundleRun>,
    /// The person's recipes. Older exports have none; older readers pass over them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipes: Vec<Recipe>,
}

/// What an export holds: runs with their images, and the person's recipes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bundle {
    pub runs: Vec<BundledRun>,
    pub recipes: Vec<Recipe>,
}

/// A run with its image bytes, as export takes and import gives.
#[derive(Debug, Clone, PartialEq)]
pub struct BundledRun {
    pub record: RunRecord,
    pub source: Option<Vec<u8>>,
    pub result: Option<Vec<u8>>,
}

/// Why a bundle could not be imported.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BundleError {
    #[error("{0}")]
    Zip(#[from] ZipError),
    #[error("the archive has no manifest.json, so it is not a flexedit history export")]
    NoManifest,
    #[error("manifest.json could not be read: {0}")]
    BadManifest(String),
    #[error("the export was made by a newer flexedit (format {0}); update this page to import it")]
    NewerFormat(u32),
    #[error("the history could not be written as JSON")]
    Encode,
}

/// Builds the export bundle: `manifest.json` first (with the recipes), then each run's
/// images.
pub fn write_bundle(runs: &[BundledRun], recipes: &[Recipe]) -> Result<Vec<u8>, BundleError> {
    let mut entries = Vec::with_capacity(1 + 2 * runs.len());
    let mut manifest = Manifest {
        format: MANIFEST_FORMAT,
        app: "flexedit".into(),
        runs: Vec::with_capacity(runs.len()),
        recipes: recipes.to_vec(),
    };
    for run in runs {
        let mut files = BundleFiles::default();
        for (slot, bytes) in [(Slot::Source, &run.source), (Slot::Result, &run.result)] {
            if let Some(bytes) = bytes {
                let name = bundle_file_name(&run.record.id, slot, mime_of(bytes));
                match slot {
                    Slot::Source => files.source = Some(name.clone()),
                    Slot::Result => files.result = Some(name.clone()),
                }
                entries.push(ZipEntry {
                    name,
                    data: bytes.clone(),
                });
            }
        }
        manifest.runs.push(BundleRun {
            record: run.record.clone(),
            files,
        });
    }
    let json = serde_json::to_vec_pretty(&manifest).map_err(|_| BundleError::Encode)?;
    entries.insert(
        0,
        ZipEntry {
            name: MANIFEST_NAME.into(),
            data: json,
        },
    );
    Ok(write_zip(&entries)?)
}

/// Reads an export bundle. Runs with a malformed id are left out, as are files the manifest
/// names but the archive lacks (the record is kept, without that image).
pub fn read_bundle(bytes: &[u8]) -> Result<Bundle, BundleError> {
    let mut files: HashMap<String, Vec<u8>> = read_zip(bytes)?
        .into_iter()
        .map(|entry| (entry.name, entry.data))
        .collect();
    let manifest = files.remove(MANIFEST_NAME).ok_or(BundleError::NoManifest)?;
    #[derive(Deserialize)]
    struct Version {
        format: u32,
    }
    let version: Version =
        serde_json::from_slice(&manifest).map_err(|e| BundleError::BadManifest(e.to_string()))?;
    if version.format > MANIFEST_FORMAT {
        return Err(BundleError::NewerFormat(version.format));
    }
    let manifest: Manifest =
        serde_json::from_slice(&manifest).map_err(|e| BundleError::BadManifest(e.to_string()))?;
    let mut take = |name: Option<&String>| name.and_then(|name| files.remove(name));
    let runs = manifest
        .runs
        .into_iter()
        .filter(|run| is_run_id(&run.record.id))
        .map(|run| BundledRun {
            source: take(run.files.source.as_ref()),
            result: take(run.files.result.as_ref()),
            record: run.record,
        })
        .collect();
    Ok(Bundle {
        runs,
        recipes: manifest.recipes,
    })
}

/// Each run's number, #1 for the oldest, in the order the runs started.
pub fn run_numbers(runs: &[RunRecord]) -> HashMap<String, usize> {
    let mut order: Vec<&RunRecord> = runs.iter().collect();
    order.sort_by(|a, b| {
        a.started_at
            .total_cmp(&b.started_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    order
        .into_iter()
        .enumerate()
        .map(|(i, run)| (run.id.clone(), i + 1))
        .collect()
}

/// How many edits lie between a run and the original image: 0 for an edit of a fresh image,
/// 1 for an edit of its result, and so on. A parent that is gone, or a loop in imported
/// data, ends the count.
/// The runs of a list (newest first) with the jobs of one press together, in their order,
/// where the press's newest run stands.
pub fn with_siblings_together(runs: &[RunRecord]) -> Vec<&RunRecord> {
    let mut ordered: Vec<&RunRecord> = Vec::with_capacity(runs.len());
    let mut placed = std::collections::HashSet::new();
    for run in runs {
        let Some(place) = &run.place else {
            ordered.push(run);
            continue;
        };
        if !placed.insert(place.batch.as_str()) {
            continue;
        }
        let mut siblings: Vec<&RunRecord> = runs
            .iter()
            .filter(|r| r.place.as_ref().is_some_and(|p| p.batch == place.batch))
            .collect();
        siblings.sort_by_key(|r| r.place.as_ref().map_or(0, |p| p.index));
        ordered.extend(siblings);
    }
    ordered
}

pub fn branch_depth(runs: &[RunRecord], id: &str) -> usize {
    let parents: HashMap<&str, &str> = runs
        .iter()
        .filter_map(|r| r.parent.as_deref().map(|p| (r.id.as_str(), p)))
        .collect();
    let known: std::collections::HashSet<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    let mut depth = 0;
    let mut at = id;
    while let Some(&parent) = parents.get(at) {
        if !known.contains(parent) || depth >= runs.len() {
            break;
        }
        depth += 1;
        at = parent;
    }
    depth
}

/// The storage line under the history: how much is used of what the browser allows, and a
/// warning when it is nearly full. `(sentence, near_full)`.
pub fn storage_sentence(usage: u64, quota: u64) -> (String, bool) {
    if quota == 0 {
        return (
            format!("History uses {} on this device.", format_bytes(usage)),
            false,
        );
    }
    let share = usage as f64 / quota as f64;
    let percent = (share * 100.0).floor().min(100.0) as u64;
    let line = format!(
        "History uses {} of the {} this browser allows this page ({percent}%).",
        format_bytes(usage),
        format_bytes(quota)
    );
    if share > NEAR_QUOTA {
        (
            format!(
                "{line} Storage is nearly full: export the history, then delete runs you no longer need. Nothing is deleted by itself."
            ),
            true,
        )
    } else {
        (line, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, started_at: f64, parent: Option<&str>) -> RunRecord {
        RunRecord {
            id: id.into(),
            parent: parent.map(Into::into),
            started_at,
            finished_at: Some(started_at + 5.0),
            endpoint: String::new(),
            mode: "proxy".into(),
            params: EditParams {
                prompt: format!("prompt {id}"),
                seed: Some(42.0),
                ..EditParams::default()
            },
            source: SourceRecord {
                name: "a.png".into(),
                kind: SourceKind::File,
                asset_path: Some("images/a.png".into()),
                url: None,
                mime: Some("image/png".into()),
            },
            outcome: Outcome::Succeeded(SuccessRecord {
                asset_path: Some(format!("images/result-{id}.png")),
                display_url: "http://x/r.png?X-Amz-Expires=60".into(),
                expires_at: Some(1_700_000_000),
                seed: Some(42),
                duration_ms: 1234.5,
                credits: Some(Credits {
                    limit: 100.0,
                    used: 3.0,
                }),
                mime: Some("image/png".into()),
            }),
            record: None,
            submitted_at: None,
            place: None,
            queued_by: None,
            mask: None,
            area_unfit: false,
        }
    }

    const ID_A: &str = "0123456789abcdef0123456789abcdef";
    const ID_B: &str = "fedcba9876543210fedcba9876543210";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn run_ids_are_32_lowercase_hex_digits() {
        assert!(is_run_id(ID_A));
        assert!(!is_run_id("0123456789ABCDEF0123456789abcdef"));
        assert!(!is_run_id("form:current"));
        assert!(!is_run_id(&ID_A[1..]));
        assert_eq!(run_id_from([0xab; 16]), "ab".repeat(16));
        assert!(is_run_id(&run_id_from([7; 16])));
    }

    #[test]
    fn a_record_round_trips_through_json_without_a_key_field() {
        let run = record(ID_A, 1000.0, None);
        let json = serde_json::to_string(&run).unwrap();
        assert!(json.contains(r#""outcome":{"succeeded":{"#), "{json}");
        assert!(!json.to_ascii_lowercase().contains("key"), "{json}");
        assert_eq!(serde_json::from_str::<RunRecord>(&json).unwrap(), run);
        let failed = RunRecord {
            outcome: Outcome::Failed {
                kind: "network".into(),
                message: "m".into(),
                next_step: "n".into(),
                may_have_billed: true,
            },
            ..run.clone()
        };
        let json = serde_json::to_string(&failed).unwrap();
        assert_eq!(serde_json::from_str::<RunRecord>(&json).unwrap(), failed);
        let submitted = RunRecord {
            outcome: Outcome::Submitted,
            record: Some("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d".into()),
            submitted_at: Some(1500.0),
            ..run.clone()
        };
        let json = serde_json::to_string(&submitted).unwrap();
        assert!(
            json.contains(r#""outcome":"submitted""#)
                && json.contains(r#""record":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d""#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<RunRecord>(&json).unwrap(), submitted);
    }

    #[test]
    fn a_bundle_round_trips_records_and_exact_bytes() {
        let runs = vec![
            BundledRun {
                record: record(ID_A, 1000.0, None),
                source: Some(PNG.to_vec()),
                result: Some([PNG, b"result"].concat()),
            },
            BundledRun {
                // A painted area travels with its run.
                record: RunRecord {
                    mask: Some(crate::mask::Mask {
                        width: 48,
                        height: 32,
                        feather: 6.0,
                        marks: vec![crate::mask::Mark::Rect([1.0, 2.0, 20.0, 10.0])],
                    }),
                    area_unfit: true,
                    ..record(ID_B, 2000.0, Some(ID_A))
                },
                source: None,
                result: None,
            },
        ];
        let recipes = vec![
            Recipe::new(
                "Sale",
                &EditParams {
                    prompt: "Add SALE".into(),
                    steps: Some(30.0),
                    ..Default::default()
                },
            )
            .unwrap(),
        ];
        let zip = write_bundle(&runs, &recipes).unwrap();
        assert_eq!(
            read_bundle(&zip).unwrap(),
            Bundle {
                runs: runs.clone(),
                recipes
            }
        );
        let entries = read_zip(&zip).unwrap();
        assert_eq!(entries[0].name, MANIFEST_NAME);
        assert_eq!(entries[1].name, format!("images/{ID_A}-source.png"));
        let manifest: serde_json::Value = serde_json::from_slice(&entries[0].data).unwrap();
        assert_eq!(manifest["format"], MANIFEST_FORMAT);
        assert_eq!(manifest["runs"][0]["record"]["id"], ID_A);
        assert_eq!(
            manifest["runs"][0]["files"]["result"],
            format!("images/{ID_A}-result.png")
        );
        assert_eq!(manifest["recipes"][0]["name"], "Sale");
        // An export from before recipes reads with none.
        let older = write_bundle(&runs, &[]).unwrap();
        let entries = read_zip(&older).unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(&entries[0].data).unwrap();
        assert!(manifest.get("recipes").is_none());
        assert_eq!(read_bundle(&older).unwrap().recipes, vec![]);
    }

    #[test]
    fn bundles_that_are_not_ours_are_refused_in_words() {
        let no_manifest = write_zip(&[ZipEntry {
            name: "a.txt".into(),
            data: b"x".to_vec(),
        }])
        .unwrap();
        assert_eq!(read_bundle(&no_manifest), Err(BundleError::NoManifest));
        let newer = write_zip(&[ZipEntry {
            name: MANIFEST_NAME.into(),
            data: br#"{"format":99,"app":"flexedit","runs":[]}"#.to_vec(),
        }])
        .unwrap();
        assert_eq!(read_bundle(&newer), Err(BundleError::NewerFormat(99)));
        assert!(matches!(
            read_bundle(b"hello"),
            Err(BundleError::Zip(ZipError::NotAZip))
        ));
        let bad_ids = write_zip(&[ZipEntry {
            name: MANIFEST_NAME.into(),
            data: serde_json::to_vec(&Manifest {
                format: 1,
                app: "flexedit".into(),
                runs: vec![BundleRun {
                    record: record("../../x", 1.0, None),
                    files: BundleFiles::default(),
                }],
                recipes: Vec::new(),
            })
            .unwrap(),
        }])
        .unwrap();
        assert_eq!(read_bundle(&bad_ids), Ok(Bundle::default()));
    }

    #[test]
    fn the_jobs_of_one_press_are_listed_together_in_order() {
        let place = |index| {
            Some(Place {
                batch: "p".into(),
                index,
                of: 3,
            })
        };
        let job = |id: &str, at: f64, index| RunRecord {
            place: place(index),
            ..record(id, at, None)
        };
        // Newest first, as the store lists them: the press's jobs interleaved with others.
        let runs = vec![
            job("j2", 50.0, 2),
            record("lone", 40.0, None),
            job("j0", 30.0, 0),
            job("j1", 20.0, 1),
            record("old", 10.0, None),
        ];
        let ids: Vec<&str> = with_siblings_together(&runs)
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(ids, ["j0", "j1", "j2", "lone", "old"]);
    }

    #[test]
    fn runs_are_numbered_by_start_and_branches_have_depth() {
        let c = "c".repeat(32);
        let runs = vec![
            record(ID_B, 2000.0, Some(ID_A)),
            record(ID_A, 1000.0, None),
            record(&c, 3000.0, Some(ID_B)),
        ];
        let numbers = run_numbers(&runs);
        assert_eq!(numbers[ID_A], 1);
        assert_eq!(numbers[ID_B], 2);
        assert_eq!(numbers[&c], 3);
        assert_eq!(branch_depth(&runs, ID_A), 0);
        assert_eq!(branch_depth(&runs, ID_B), 1);
        assert_eq!(branch_depth(&runs, &c), 2);
        // A loop (only imported data could hold one) ends.
        let looped = vec![record(ID_A, 1.0, Some(ID_B)), record(ID_B, 2.0, Some(ID_A))];
        assert!(branch_depth(&looped, ID_A) <= 2);
    }

    #[test]
    fn storage_warns_past_eighty_percent() {
        let (text, near) = storage_sentence(1024 * 1024, 100 * 1024 * 1024);
        assert_eq!(
            text,
            "History uses 1 MB of the 100 MB this browser allows this page (1%)."
        );
        assert!(!near);
        let (text, near) = storage_sentence(81 * 1024 * 1024, 100 * 1024 * 1024);
        assert!(near);
        assert!(text.contains("(81%)"), "{text}");
        assert!(text.contains("export the history"), "{text}");
        assert_eq!(
            storage_sentence(5, 0).0,
            "History uses 5 bytes on this device."
        );
    }
}
