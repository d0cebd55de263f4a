//! Uploads and results, kept in memory up to a byte budget; the oldest are evicted first.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;

use super::clock::Utc;

/// What the simulator stores: the image formats it can edit, and any other file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetKind {
    Png,
    Jpeg,
    Webp,
    /// A PDF, a document, anything else: stored as the Asset API stores it, refused at the
    /// edit.
    Other,
}

impl AssetKind {
    pub fn mime(self) -> &'static str {
        match self {
            AssetKind::Png => "image/png",
            AssetKind::Jpeg => "image/jpeg",
            AssetKind::Webp => "image/webp",
            AssetKind::Other => "application/octet-stream",
        }
    }

    /// The name the request log and `fileContent.type` use.
    pub fn name(self) -> &'static str {
        match self {
            AssetKind::Png => "png",
            AssetKind::Jpeg => "jpeg",
            AssetKind::Webp => "webp",
            AssetKind::Other => "file",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            AssetKind::Png => "png",
            AssetKind::Jpeg => "jpg",
            AssetKind::Webp => "webp",
            AssetKind::Other => "bin",
        }
    }

    fn accepts_extension(self, extension: &str) -> bool {
        let extension = extension.to_ascii_lowercase();
        match self {
            AssetKind::Png => extension == "png",
            AssetKind::Jpeg => extension == "jpg" || extension == "jpeg",
            AssetKind::Webp => extension == "webp",
            AssetKind::Other => {
                (1..=8).contains(&extension.len())
                    && extension.bytes().all(|b| b.is_ascii_alphanumeric())
            }
        }
    }
}

/// One stored image.
#[derive(Debug, Clone)]
pub struct StoredAsset {
    pub path: String,
    pub file_name: String,
    pub kind: AssetKind,
    pub width: u32,
    pub height: u32,
    pub bytes: Bytes,
}

pub struct AssetStore {
    capacity: usize,
    total: usize,
    assets: HashMap<String, Arc<StoredAsset>>,
    order: VecDeque<String>,
    last_stamp: i64,
}

impl AssetStore {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            total: 0,
            assets: HashMap::new(),
            order: VecDeque::new(),
            last_stamp: i64::MIN,
        }
    }

    /// A new path like the provider's, `images/2025_12_04_18_10_29_882_cat.png`. Two
    /// assets in the same millisecond get consecutive stamps so paths never collide.
    pub fn new_path(&mut self, now_millis: i64, file_name: &str) -> (String, Utc) {
        let stamp = now_millis.max(self.last_stamp.saturating_add(1));
        self.last_stamp = stamp;
        let at = Utc::from_unix_millis(stamp);
        (format!("images/{}_{file_name}", at.asset_stamp()), at)
    }

    pub fn insert(&mut self, asset: StoredAsset) -> Arc<StoredAsset> {
        let asset = Arc::new(asset);
        let size = asset.bytes.len();
        while self.total + size > self.capacity {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(evicted) = self.assets.remove(&oldest) {
                self.total -= evicted.bytes.len();
            }
        }
        self.total += size;
        if let Some(replaced) = self.assets.insert(asset.path.clone(), asset.clone()) {
            self.total -= replaced.bytes.len();
            self.order.retain(|path| *path != asset.path);
        }
        self.order.push_back(asset.path.clone());
        asset
    }

    pub fn get(&self, path: &str) -> Option<Arc<StoredAsset>> {
        self.assets.get(path).cloned()
    }

    /// Forgets an asset, as the provider does when it lets a file go.
    pub fn remove(&mut self, path: &str) -> Option<Arc<StoredAsset>> {
        let removed = self.assets.remove(path)?;
        self.total -= removed.bytes.len();
        self.order.retain(|kept| kept != path);
        Some(removed)
    }

    pub fn len(&self) -> usize {
        self.assets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }
}

/// A file name the provider would keep: ASCII letters, digits, `.`, `-` and `_`, with the
/// extension of what the bytes really are.
pub fn clean_file_name(original: &str, kind: AssetKind) -> String {
    let base = original.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let cleaned = cleaned.trim_matches('.');
    let (stem, extension) = match cleaned.rsplit_once('.') {
        Some((stem, extension)) => (stem, Some(extension)),
        None => (cleaned, None),
    };
    let stem = if stem.is_empty() { "image" } else { stem };
    match extension {
        Some(extension) if kind.accepts_extension(extension) => format!("{stem}.{extension}"),
        _ => format!("{stem}.{}", kind.extension()),
    }
}

/// The stem of an asset path's file name, without the timestamp, for naming its result.
pub fn source_stem(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or_default();
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    // Drop a leading `YYYY_MM_DD_HH_MM_SS_mmm_` so chained edits do not grow the name.
    let parts: Vec<&str> = stem.splitn(8, '_').collect();
    let stamped = parts.len() == 8
        && parts[..7]
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    let stem = if stamped { parts[7] } else { stem };
    let stem = stem.strip_suffix("_edit").unwrap_or(stem);
    if stem.is_empty() {
        "image".to_owned()
    } else {
        stem.chars().take(60).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(path: &str, size: usize) -> StoredAsset {
        StoredAsset {
            path: path.to_owned(),
            file_name: path.to_owned(),
            kind: AssetKind::Png,
            width: 1,
            height: 1,
            bytes: Bytes::from(vec![0; size]),
        }
    }

    #[test]
    fn the_oldest_go_when_the_budget_is_full() {
        let mut store = AssetStore::new(100);
        store.insert(asset("a", 40));
        store.insert(asset("b", 40));
        store.insert(asset("c", 40));
        assert!(store.get("a").is_none());
        assert!(store.get("b").is_some() && store.get("c").is_some());
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn paths_look_like_the_providers_and_never_collide() {
        let mut store = AssetStore::new(100);
        let (first, _) = store.new_path(1_764_871_829_882, "cat.png");
        let (second, _) = store.new_path(1_764_871_829_882, "cat.png");
        assert_eq!(first, "images/2025_12_04_18_10_29_882_cat.png");
        assert_eq!(second, "images/2025_12_04_18_10_29_883_cat.png");
    }

    #[test]
    fn file_names_are_cleaned_and_get_the_real_extension() {
        assert_eq!(clean_file_name("cat.png", AssetKind::Png), "cat.png");
        assert_eq!(
            clean_file_name("Mon chat été.JPG", AssetKind::Jpeg),
            "Mon_chat__t_.JPG"
        );
        assert_eq!(clean_file_name("photo.png", AssetKind::Jpeg), "photo.jpg");
        assert_eq!(clean_file_name("", AssetKind::Webp), "image.webp");
        assert_eq!(
            clean_file_name("../../etc/passwd", AssetKind::Png),
            "passwd.png"
        );
    }

    #[test]
    fn result_names_come_from_the_source() {
        assert_eq!(
            source_stem("development/images/2025_12_04_18_10_29_882_cat.png"),
            "cat"
        );
        assert_eq!(
            source_stem("images/2026_01_01_00_00_00_000_cat_edit.jpg"),
            "cat"
        );
        assert_eq!(source_stem("images/holiday_snap.png"), "holiday_snap");
    }
}
