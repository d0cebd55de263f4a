//! The history's IndexedDB database: run records, their image bytes, and each tab's form.
//!
//! Schema (version [`SCHEMA_VERSION`]):
//! - `runs`: key = run id, value = the record as JSON text.
//! - `images`: key = `{run id}:source` / `{run id}:result` / `form:{tab}`, value = a Blob.
//! - `forms`: key = tab id, value = the form as JSON text.
//! - `recipes` (from version 3): key = the recipe's name, value = the recipe as JSON text.
//! - `inflight` (from version 4): the edits an embedded editor has at the provider, which
//!   keeps no history: key = `{host page}#{editor}:{run id}`, value = the run's record as
//!   JSON text; its source image is in `images` under `inflight:{key}`.
//!
//! Version 1 kept everything in `runs`, one object per run `{record, source?, result?}`;
//! opening it upgrades in place, moving the images out so listing runs reads no bytes.
//!
//! A run and its images are written in one transaction over `runs` and `images`: a crash or
//! an abort between the two puts leaves the old record and images, never half of a new one.

use std::cell::Cell;

use flexedit_api::Recipe;
use flexedit_api::history::{RunRecord, Slot};
use indexed_db_futures::database::Database;
use indexed_db_futures::error::{DomException, Error as DbError};
use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionMode};
use wasm_bindgen::{JsCast, JsValue};

pub const SCHEMA_VERSION: u32 = 4;
/// The database the app uses; tests open their own names.
pub const DB_NAME: &str = "flexedit-history";
pub const RUNS: &str = "runs";
pub const IMAGES: &str = "images";
pub const FORMS: &str = "forms";
pub const RECIPES: &str = "recipes";
pub const INFLIGHT: &str = "inflight";

/// Why the history could not do what was asked, with what to do next.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HistoryError {
    #[error(
        "History is off: this browser does not let the page store data (private browsing, or storage is disabled). Edits still work, but nothing is kept once this tab closes."
    )]
    Unavailable,
    #[error(
        "The browser's storage for this page is full, so this was not saved to the history. Export the history, delete runs you no longer need, then try again."
    )]
    QuotaExceeded,
    #[error(
        "The history could not be saved ({0}). Nothing older was changed; reload the page and try again."
    )]
    Write(String),
    #[error("The history could not be read ({0}). Reload the page to try again.")]
    Read(String),
    #[error(
        "That file could not be imported: {0}. Choose a .zip exported from flexedit's history."
    )]
    Import(String),
}

/// A failure injected by tests, taken by the next write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The transaction is aborted after its first put, as a crash would cut it.
    AbortAfterFirstPut,
    /// The browser refuses the write for lack of space.
    QuotaExceeded,
}

fn dom_name(error: &DbError) -> Option<String> {
    match error {
        DbError::DomException(e) => Some(e.as_sys_name()),
        _ => None,
    }
}

trait SysName {
    fn as_sys_name(&self) -> String;
}

impl SysName for DomException {
    fn as_sys_name(&self) -> String {
        let sys: &JsValue = self.as_ref();
        sys.dyn_ref::<web_sys::DomException>()
            .map(web_sys::DomException::name)
            .unwrap_or_default()
    }
}

fn write_error(error: DbError) -> HistoryError {
    match dom_name(&error).as_deref() {
        Some("QuotaExceededError") => HistoryError::QuotaExceeded,
        _ => HistoryError::Write(error.to_string()),
    }
}

fn read_error(error: DbError) -> HistoryError {
    HistoryError::Read(error.to_string())
}

/// Queues the deletion of a run's images in the transaction `images` belongs to.
fn delete_images(images: &ObjectStore<'_>, id: &str) -> Result<(), HistoryError> {
    for slot in [Slot::Source, Slot::Result] {
        images
            .delete(image_key(id, slot))
            .build()
            .map_err(write_error)?;
    }
    Ok(())
}

pub fn image_key(id: &str, slot: Slot) -> String {
    format!("{id}:{}", slot.name())
}

/// Where a kept in-flight edit's source image is.
pub fn in_flight_image_key(key: &str) -> String {
    format!("inflight:{key}")
}

pub fn form_image_key(tab: &str) -> String {
    format!("form:{tab}")
}

/// The open database.
pub struct Store {
    db: Database,
    fault: Cell<Option<Fault>>,
}

impl Store {
    /// Opens (creating or upgrading) the history database. Fails when the browser keeps
    /// no storage for the page.
    pub async fn open(name: &str) -> Result<Store, HistoryError> {
        // Some browsers throw instead of failing the request when storage is off.
        let has_factory = web_sys::window()
            .and_then(|w| js_sys::Reflect::get(&w, &"indexedDB".into()).ok())
            .is_some_and(|f| !f.is_null() && !f.is_undefined());
        if !has_factory {
            return Err(HistoryError::Unavailable);
        }
        let db = Database::open(name)
            .with_version(SCHEMA_VERSION)
            .with_on_upgrade_needed_fut(|event, db| async move {
                let old = event.old_version() as u32;
                if old < 1 {
                    db.create_object_store(RUNS).build()?;
                }
                if old < 2 {
                    let images = db.create_object_store(IMAGES).build()?;
                    db.create_object_store(FORMS).build()?;
                    if old == 1 {
                        let upgrade = images.transaction();
                        let runs = upgrade.object_store(RUNS)?;
                        migrate_v1(&runs, &images).await?;
                    }
                }
                if old < 3 {
                    db.create_object_store(RECIPES).build()?;
                }
                if old < 4 {
                    db.create_object_store(INFLIGHT).build()?;
                }
                Ok(())
            })
            .await
            .map_err(|_| HistoryError::Unavailable)?;
        Ok(Store {
            db,
            fault: Cell::new(None),
        })
    }

    /// A read-write transaction over `store` and the images, which every write touches
    /// together with its record.
    fn writing(&self, store: &str) -> Result<Transaction<'_>, HistoryError> {
        self.db
            .transaction([store, IMAGES])
            .with_mode(TransactionMode::Readwrite)
            .build()
            .map_err(write_error)
    }

    /// A read-write transaction over `store` alone.
    fn writing_alone(&self, store: &str) -> Result<Transaction<'_>, HistoryError> {
        self.db
            .transaction(store)
            .with_mode(TransactionMode::Readwrite)
            .build()
            .map_err(write_error)
    }

    /// Makes the next write fail as `fault` says (tests only).
    pub fn inject(&self, fault: Fault) {
        self.fault.set(Some(fault));
    }

    /// Writes a run's record and the given images together, or nothing at all.
    pub async fn put_run(
        &self,
        record: &RunRecord,
        images: &[(Slot, &web_sys::Blob)],
    ) -> Result<(), HistoryError> {
        let json = serde_json::to_string(record)
            .map_err(|_| HistoryError::Write("the record could not be encoded".into()))?;
        let tx = self.writing(RUNS)?;
        let runs = tx.object_store(RUNS).map_err(write_error)?;
        runs.put(json)
            .with_key(record.id.clone())
            .build()
            .map_err(write_error)?;
        match self.fault.take() {
            Some(Fault::AbortAfterFirstPut) => {
                let _ = tx.abort().await;
                return Err(HistoryError::Write("the write was interrupted".into()));
            }
            Some(Fault::QuotaExceeded) => {
                let _ = tx.abort().await;
                let refused = web_sys::DomException::new_with_message_and_name(
                    "The quota has been exceeded.",
                    "QuotaExceededError",
                )
                .map_err(|e| write_error(e.into()))?;
                return Err(write_error(refused.into()));
            }
            None => {}
        }
        let store = tx.object_store(IMAGES).map_err(write_error)?;
        for (slot, blob) in images {
            store
                .put(JsValue::from((*blob).clone()))
                .with_key(image_key(&record.id, *slot))
                .build()
                .map_err(write_error)?;
        }
        tx.commit().await.map_err(write_error)
    }

    /// Every run, newest first. A record that cannot be read is skipped, not fatal.
    pub async fn runs(&self) -> Result<Vec<RunRecord>, HistoryError> {
        let tx = self.db.transaction(RUNS).build().map_err(read_error)?;
        let store = tx.object_store(RUNS).map_err(read_error)?;
        let values = store
            .get_all::<String>()
            .primitive()
            .map_err(read_error)?
            .await
            .map_err(read_error)?;
        let mut runs: Vec<RunRecord> = values
            .filter_map(Result::ok)
            .filter_map(|json| serde_json::from_str(&json).ok())
            .collect();
        runs.sort_by(|a, b| b.started_at.total_cmp(&a.started_at));
        Ok(runs)
    }

    /// One stored image.
    pub async fn image(&self, key: &str) -> Result<Option<web_sys::Blob>, HistoryError> {
        let tx = self.db.transaction(IMAGES).build().map_err(read_error)?;
        let store = tx.object_store(IMAGES).map_err(read_error)?;
        let value: Option<JsValue> = store
            .get(key.to_owned())
            .primitive()
            .map_err(read_error)?
            .await
            .map_err(read_error)?;
        Ok(value.and_then(|v| v.dyn_into::<web_sys::Blob>().ok()))
    }

    /// Deletes one run and its images together.
    pub async fn delete_run(&self, id: &str) -> Result<(), HistoryError> {
        let tx = self.writing(RUNS)?;
        let runs = tx.object_store(RUNS).map_err(write_error)?;
        runs.delete(id.to_owned()).build().map_err(write_error)?;
        delete_images(&tx.object_store(IMAGES).map_err(write_error)?, id)?;
        tx.commit().await.map_err(write_error)
    }

    /// Deletes every run and its images; the tabs' forms stay.
    pub async fn clear_runs(&self) -> Result<(), HistoryError> {
        let ids: Vec<String> = self.runs().await?.into_iter().map(|r| r.id).collect();
        let tx = self.writing(RUNS)?;
        tx.object_store(RUNS)
            .map_err(write_error)?
            .clear()
            .map_err(write_error)?;
        let images = tx.object_store(IMAGES).map_err(write_error)?;
        for id in &ids {
            delete_images(&images, id)?;
        }
        tx.commit().await.map_err(write_error)
    }

    /// Saves this tab's form and, in the same transaction, its image: `None` keeps the
    /// stored one, `Some(None)` removes it.
    pub async fn put_form(
        &self,
        tab: &str,
        json: &str,
        image: Option<Option<&web_sys::Blob>>,
    ) -> Result<(), HistoryError> {
        self.put_with_image(FORMS, tab, json.to_owned(), &form_image_key(tab), image)
            .await
    }

    /// Puts `text` under `key` in `store` and, in the same transaction, its image under
    /// `image_key`: `None` keeps the stored one, `Some(None)` removes it.
    async fn put_with_image(
        &self,
        store: &str,
        key: &str,
        text: String,
        image_key: &str,
        image: Option<Option<&web_sys::Blob>>,
    ) -> Result<(), HistoryError> {
        let tx = self.writing(store)?;
        tx.object_store(store)
            .map_err(write_error)?
            .put(text)
            .with_key(key.to_owned())
            .build()
            .map_err(write_error)?;
        let images = tx.object_store(IMAGES).map_err(write_error)?;
        match image {
            None => {}
            Some(Some(blob)) => {
                images
                    .put(JsValue::from(blob.clone()))
                    .with_key(image_key.to_owned())
                    .build()
                    .map_err(write_error)?;
            }
            Some(None) => {
                images
                    .delete(image_key.to_owned())
                    .build()
                    .map_err(write_error)?;
            }
        }
        tx.commit().await.map_err(write_error)
    }

    /// Removes `key` from `store` and its image, in one transaction.
    async fn delete_with_image(
        &self,
        store: &str,
        key: &str,
        image_key: &str,
    ) -> Result<(), HistoryError> {
        let tx = self.writing(store)?;
        tx.object_store(store)
            .map_err(write_error)?
            .delete(key.to_owned())
            .build()
            .map_err(write_error)?;
        tx.object_store(IMAGES)
            .map_err(write_error)?
            .delete(image_key.to_owned())
            .build()
            .map_err(write_error)?;
        tx.commit().await.map_err(write_error)
    }

    /// Every saved form as `(tab, json)`.
    pub async fn forms(&self) -> Result<Vec<(String, String)>, HistoryError> {
        self.texts(FORMS).await
    }

    /// Every `(key, text)` of a store whose keys and values are strings.
    async fn texts(&self, name: &str) -> Result<Vec<(String, String)>, HistoryError> {
        let tx = self.db.transaction(name).build().map_err(read_error)?;
        let store = tx.object_store(name).map_err(read_error)?;
        let keys = store
            .get_all_keys::<String>()
            .primitive()
            .map_err(read_error)?
            .await
            .map_err(read_error)?;
        let values = store
            .get_all::<String>()
            .primitive()
            .map_err(read_error)?
            .await
            .map_err(read_error)?;
        // Both come in key order; a pair is dropped whole when either half cannot be read,
        // so a key is never matched with the next form.
        Ok(keys
            .zip(values)
            .filter_map(|(key, value)| Some((key.ok()?, value.ok()?)))
            .collect())
    }

    /// Removes another tab's saved form.
    pub async fn delete_form(&self, tab: &str) -> Result<(), HistoryError> {
        self.delete_with_image(FORMS, tab, &form_image_key(tab))
            .await
    }

    /// The person's recipes, by name. One that cannot be read is skipped, not fatal.
    pub async fn recipes(&self) -> Result<Vec<Recipe>, HistoryError> {
        let tx = self.db.transaction(RECIPES).build().map_err(read_error)?;
        let store = tx.object_store(RECIPES).map_err(read_error)?;
        let values = store
            .get_all::<String>()
            .primitive()
            .map_err(read_error)?
            .await
            .map_err(read_error)?;
        Ok(values
            .filter_map(Result::ok)
            .filter_map(|json| serde_json::from_str(&json).ok())
            .collect())
    }

    /// Saves a recipe under its name; `replacing` another name renames it, in the same
    /// transaction, so a rename never leaves both or neither.
    pub async fn put_recipe(
        &self,
        recipe: &Recipe,
        replacing: Option<&str>,
    ) -> Result<(), HistoryError> {
        let json = serde_json::to_string(recipe)
            .map_err(|_| HistoryError::Write("the recipe could not be encoded".into()))?;
        let tx = self.writing_alone(RECIPES)?;
        let store = tx.object_store(RECIPES).map_err(write_error)?;
        if let Some(old) = replacing.filter(|old| *old != recipe.name) {
            store.delete(old.to_owned()).build().map_err(write_error)?;
        }
        store
            .put(json)
            .with_key(recipe.name.clone())
            .build()
            .map_err(write_error)?;
        tx.commit().await.map_err(write_error)
    }

    pub async fn delete_recipe(&self, name: &str) -> Result<(), HistoryError> {
        let tx = self.writing_alone(RECIPES)?;
        tx.object_store(RECIPES)
            .map_err(write_error)?
            .delete(name.to_owned())
            .build()
            .map_err(write_error)?;
        tx.commit().await.map_err(write_error)
    }

    /// Keeps an embedded editor's edit at the provider, with its source image the first
    /// time (`source`), in one transaction.
    pub async fn put_in_flight(
        &self,
        key: &str,
        record: &RunRecord,
        source: Option<&web_sys::Blob>,
    ) -> Result<(), HistoryError> {
        let json = serde_json::to_string(record)
            .map_err(|_| HistoryError::Write("the run could not be encoded".into()))?;
        // The source is written the first time only; later writes keep it.
        self.put_with_image(
            INFLIGHT,
            key,
            json,
            &in_flight_image_key(key),
            source.map(Some),
        )
        .await
    }

    /// The edits kept under keys that start with `prefix`, as `(key, record)`; one that
    /// cannot be read is skipped.
    pub async fn in_flight(&self, prefix: &str) -> Result<Vec<(String, RunRecord)>, HistoryError> {
        Ok(self
            .texts(INFLIGHT)
            .await?
            .into_iter()
            .filter(|(key, _)| key.starts_with(prefix))
            .filter_map(|(key, json)| Some((key, serde_json::from_str(&json).ok()?)))
            .collect())
    }

    /// Forgets a kept edit and its source image.
    pub async fn delete_in_flight(&self, key: &str) -> Result<(), HistoryError> {
        self.delete_with_image(INFLIGHT, key, &in_flight_image_key(key))
            .await
    }

    pub fn close(self) {
        self.db.close();
    }
}

/// Version 1 → 2, inside the upgrade's own transaction: each `{record, source?, result?}`
/// becomes the record's JSON text, its Blobs move to `images`.
async fn migrate_v1(
    runs: &indexed_db_futures::object_store::ObjectStore<'_>,
    images: &indexed_db_futures::object_store::ObjectStore<'_>,
) -> indexed_db_futures::Result<()> {
    let keys: Vec<String> = runs
        .get_all_keys::<String>()
        .primitive()?
        .await?
        .filter_map(Result::ok)
        .collect();
    let values: Vec<JsValue> = runs
        .get_all::<JsValue>()
        .primitive()?
        .await?
        .filter_map(Result::ok)
        .collect();
    for (id, value) in keys.into_iter().zip(values) {
        let field = |name: &str| js_sys::Reflect::get(&value, &name.into()).ok();
        let Some(record) = field("record").and_then(|r| r.as_string()) else {
            continue; // not a version 1 run: leave it as it is
        };
        for slot in [Slot::Source, Slot::Result] {
            if let Some(blob) = field(slot.name()).and_then(|b| b.dyn_into::<web_sys::Blob>().ok())
            {
                images
                    .put(JsValue::from(blob))
                    .with_key(image_key(&id, slot))
                    .await?;
            }
        }
        runs.put(record).with_key(id).await?;
    }
    Ok(())
}
