//! The page's files held in memory: the release build compiled into the binary, so one
//! file is a whole deployment, or a folder read once (tests serve their own pages this way).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use axum::http::HeaderValue;
use bytes::Bytes;
use sha2::{Digest, Sha256};

/// The release build chosen by build.rs; an empty folder when the page was not built yet.
#[derive(rust_embed::RustEmbed)]
#[folder = "$FLEXEDIT_EMBEDDED_PAGE"]
struct EmbeddedPage;

/// One file of the page.
#[derive(Debug, Clone)]
pub struct PageFile {
    pub bytes: Bytes,
    /// A strong validator from the content, so an unchanged file revalidates across builds.
    pub etag: HeaderValue,
    pub modified: Option<SystemTime>,
}

impl PageFile {
    /// A file that is not part of a page build, such as an operator's config.json.
    pub fn from_bytes(bytes: Bytes, modified: Option<SystemTime>) -> Self {
        let digest = Sha256::digest(&bytes);
        Self::new(bytes, &digest, modified)
    }

    fn new(bytes: Bytes, digest: &[u8], modified: Option<SystemTime>) -> Self {
        let hex: String = digest
            .iter()
            .take(16)
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let etag = HeaderValue::from_str(&format!("\"{hex}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("\"\""));
        Self {
            bytes,
            etag,
            modified,
        }
    }
}

/// The files of a page by their path relative to its root (`index.html`, `sub/a.js`).
#[derive(Debug, Clone, Default)]
pub struct PageFiles {
    files: BTreeMap<String, PageFile>,
}

/// Why a page could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is not empty: choose a new or empty folder, so no file of yours is overwritten")]
    NotEmpty(PathBuf),
    #[error("this build of flexedit-server carries no page")]
    NothingEmbedded,
}

impl PageFiles {
    /// The page compiled into this binary (empty when it was built before the page).
    pub fn embedded() -> Self {
        let files = EmbeddedPage::iter()
            .filter_map(|name| {
                let file = EmbeddedPage::get(&name)?;
                let modified = file
                    .metadata
                    .last_modified()
                    .map(|secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
                let bytes = match file.data {
                    Cow::Borrowed(bytes) => Bytes::from_static(bytes),
                    Cow::Owned(bytes) => Bytes::from(bytes),
                };
                let entry = PageFile::new(bytes, &file.metadata.sha256_hash(), modified);
                Some((name.into_owned(), entry))
            })
            .collect();
        Self { files }
    }

    /// Reads every file under `dir` into memory.
    pub fn read_dir(dir: &Path) -> Result<Self, PageError> {
        let mut files = BTreeMap::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(folder) = pending.pop() {
            let read = |source| PageError::Read {
                path: folder.clone(),
                source,
            };
            for entry in std::fs::read_dir(&folder).map_err(read)? {
                let entry = entry.map_err(read)?;
                let path = entry.path();
                let kind = entry.file_type().map_err(read)?;
                if kind.is_dir() {
                    pending.push(path);
                    continue;
                }
                let Ok(relative) = path.strip_prefix(dir) else {
                    continue;
                };
                let name = relative
                    .components()
                    .map(|part| part.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                let failed = |source| PageError::Read {
                    path: path.clone(),
                    source,
                };
                let bytes = std::fs::read(&path).map_err(failed)?;
                let modified = entry.metadata().and_then(|m| m.modified()).ok();
                files.insert(name, PageFile::from_bytes(Bytes::from(bytes), modified));
            }
        }
        Ok(Self { files })
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn get(&self, name: &str) -> Option<&PageFile> {
        self.files.get(name)
    }

    /// The files' names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Writes the files into `dir`, which must be new or empty: an operator exports the
    /// built-in page to edit its config.json or to serve it from another web server.
    pub fn export(&self, dir: &Path) -> Result<(), PageError> {
        if self.is_empty() {
            return Err(PageError::NothingEmbedded);
        }
        let write = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PageError::Write { path, source }
        };
        match std::fs::read_dir(dir) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(PageError::NotEmpty(dir.to_path_buf()));
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(write(dir))?;
            }
            Err(error) => return Err(write(dir)(error)),
        }
        for (name, file) in &self.files {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(write(parent))?;
            }
            std::fs::write(&path, &file.bytes).map_err(write(&path))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("flexedit-page-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_folder_read_and_exported_comes_back_the_same() {
        let source = temp("source");
        std::fs::create_dir_all(source.join("sub")).unwrap();
        std::fs::write(source.join("index.html"), b"<!DOCTYPE html>").unwrap();
        std::fs::write(source.join("sub/a-0123456789abcdef.js"), b"export {}").unwrap();
        let page = PageFiles::read_dir(&source).unwrap();
        assert_eq!(
            page.names().collect::<Vec<_>>(),
            ["index.html", "sub/a-0123456789abcdef.js"]
        );
        let first = page.get("index.html").unwrap().etag.clone();
        assert_eq!(first.len(), 34, "{first:?}");

        let copy = temp("copy");
        page.export(&copy).unwrap();
        let again = PageFiles::read_dir(&copy).unwrap();
        assert_eq!(again.get("index.html").unwrap().etag, first);
        assert_eq!(
            &*again.get("sub/a-0123456789abcdef.js").unwrap().bytes,
            b"export {}"
        );
        assert!(matches!(page.export(&copy), Err(PageError::NotEmpty(_))));
        assert!(matches!(
            PageFiles::default().export(&temp("none")),
            Err(PageError::NothingEmbedded)
        ));
        let _ = std::fs::remove_dir_all(&source);
        let _ = std::fs::remove_dir_all(&copy);
    }
}
