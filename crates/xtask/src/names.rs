//! Content-hashed names, and the checks that every reference was given one.

use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum NameError {
    #[error("the parts' loader names {part} {found} times, not once")]
    Part { part: String, found: usize },
    #[error("esbuild's metafile cannot be read: {0}")]
    Metafile(#[from] serde_json::Error),
    #[error("the page's module imports {0:?}: a first visit would wait for another script")]
    Imports(Vec<String>),
}

/// The first 16 hex digits of the SHA-256 of `pieces`, one after the other.
pub fn hash<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hasher = Sha256::new();
    for piece in pieces {
        hasher.update(piece);
    }
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The parts' loader with each part's file named `<stem>_<part>.wasm`.
///
/// wasm-split-cli writes each part's name as one string literal, `"./<part>.wasm"`, and
/// offers no way to choose it, and esbuild does not follow `new URL(…, import.meta.url)`
/// to an asset. So the names are put in here, each literal exactly once, or the build
/// stops: a name left over would load nothing at run time.
pub fn name_parts(loader: &str, stem: &str, parts: &[String]) -> Result<String, NameError> {
    let mut named = loader.to_owned();
    for part in parts {
        let literal = format!("\"./{part}.wasm\"");
        let found = named.matches(&literal).count();
        if found != 1 {
            return Err(NameError::Part {
                part: part.clone(),
                found,
            });
        }
        named = named.replacen(&literal, &format!("\"./{stem}_{part}.wasm\""), 1);
    }
    Ok(named)
}

/// Fails unless esbuild's metafile says its output imports nothing: the page's module
/// must carry every script a first visit runs.
pub fn check_no_imports(metafile: &str) -> Result<(), NameError> {
    let meta: serde_json::Value = serde_json::from_str(metafile)?;
    let imports: Vec<String> = meta["outputs"]
        .as_object()
        .into_iter()
        .flat_map(|outputs| outputs.values())
        .flat_map(|output| output["imports"].as_array().cloned().unwrap_or_default())
        .map(|import| import["path"].as_str().unwrap_or("?").to_owned())
        .collect();
    if imports.is_empty() {
        Ok(())
    } else {
        Err(NameError::Imports(imports))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOADER: &str = r#"const __chunk_6 = makeLoad(() => {
    const src = fetch(new URL("./chunk_6.wasm", import.meta.url));
}, []);
export const __wasm_split_load_area = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./split_area.wasm", import.meta.url));
}, [__chunk_6]));
"#;

    #[test]
    fn the_loader_names_every_part_with_the_stem() {
        let parts = ["chunk_6".to_owned(), "split_area".to_owned()];
        let named = name_parts(LOADER, "flexedit-0123", &parts).unwrap();
        assert!(named.contains(r#"new URL("./flexedit-0123_chunk_6.wasm""#));
        assert!(named.contains(r#"new URL("./flexedit-0123_split_area.wasm""#));
        assert!(!named.contains(r#""./chunk_6.wasm""#));
        assert!(!named.contains(r#""./split_area.wasm""#));
    }

    #[test]
    fn a_part_the_loader_does_not_name_once_stops_the_build() {
        let missing = name_parts(LOADER, "s", &["chunk_7".to_owned()]);
        assert!(matches!(missing, Err(NameError::Part { found: 0, .. })));
        let twice = format!("{LOADER}{LOADER}");
        let repeated = name_parts(&twice, "s", &["chunk_6".to_owned()]);
        assert!(matches!(repeated, Err(NameError::Part { found: 2, .. })));
    }

    #[test]
    fn a_module_importing_another_script_is_refused() {
        let alone = r#"{"inputs":{},"outputs":{"page.js":{"imports":[],"exports":[]}}}"#;
        check_no_imports(alone).unwrap();
        let importing = r#"{"outputs":{"page.js":{"imports":[{"path":"./embed.js","kind":"import-statement"}]}}}"#;
        assert!(matches!(
            check_no_imports(importing),
            Err(NameError::Imports(paths)) if paths == ["./embed.js"]
        ));
    }

    #[test]
    fn the_hash_covers_every_piece() {
        let one = hash([b"a".as_slice(), b"b"]);
        assert_eq!(one.len(), 16);
        assert_ne!(one, hash([b"a".as_slice(), b"c"]));
        assert_eq!(one, hash([b"ab".as_slice()]));
    }
}
