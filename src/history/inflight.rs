//! The edits an embedded editor has at the provider. An embedded editor keeps no history
//! (its host files the results), yet an edit it sent must survive a reload of the host
//! page as one in the editor's own page does: each is kept in the history's database
//! from the moment the provider names it until it ends, under a key made of the host
//! page and the editor's element id, and followed again when that editor starts.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use flexedit_api::history::{Outcome, RunRecord};
use leptos::task::spawn_local;

use super::store::{DB_NAME, Store, in_flight_image_key};
use crate::run::{Events, RunEvent};

/// What an editor does with its kept edits: each record with the address of its source.
pub type ResumeKept = Rc<dyn Fn(Vec<(RunRecord, String)>)>;

/// A run started and not yet named by the provider, with the bytes it will upload.
type Started = (RunRecord, Option<web_sys::Blob>);

/// The key prefix of an embedded editor's edits: its host page (without query or
/// fragment, which change as a dashboard is used) and the host element's id.
pub fn host_key(editor_id: &str) -> String {
    let page = web_sys::window()
        .map(|w| w.location())
        .and_then(|l| Some(format!("{}{}", l.origin().ok()?, l.pathname().ok()?)))
        .unwrap_or_default();
    let editor = if editor_id.is_empty() {
        "editor"
    } else {
        editor_id
    };
    format!("{page}#{editor}:")
}

/// Keeps the edits `events` tells of under `prefix` (see [`host_key`]), and hands `resume`
/// those kept from before, with the address of their source image.
pub fn keep(events: &Events, prefix: String, resume: ResumeKept) {
    let store: Rc<RefCell<Option<Rc<Store>>>> = Rc::default();
    let started: Rc<RefCell<HashMap<String, Started>>> = Rc::default();
    {
        let store = store.clone();
        let prefix = prefix.clone();
        spawn_local(async move {
            let _ = open_part(store, prefix, resume).await;
        });
    }
    events.subscribe(Rc::new(move |id: &str, event: &RunEvent| {
        let key = format!("{prefix}{id}");
        match event {
            RunEvent::Started {
                source,
                params,
                connection,
                ..
            } => {
                let kept = super::new_record(id, source, params, connection);
                started.borrow_mut().insert(id.to_owned(), kept);
            }
            RunEvent::Prepared(blob) => {
                if let Some((_, source)) = started.borrow_mut().get_mut(id) {
                    *source = Some(blob.clone());
                }
            }
            RunEvent::Submitted(resume) => {
                let Some((mut record, source)) = started.borrow_mut().remove(id) else {
                    return;
                };
                record.record = Some(resume.record.to_string());
                record.submitted_at = Some(resume.submitted_ms);
                record.outcome = Outcome::Submitted;
                let store = store.borrow().clone();
                spawn_local(async move {
                    let _ = put_part(store, key, record, source).await;
                });
            }
            RunEvent::Succeeded { .. } | RunEvent::Failed(_) | RunEvent::Cancelled { .. } => {
                started.borrow_mut().remove(id);
                let store = store.borrow().clone();
                spawn_local(async move {
                    let _ = delete_part(store, key).await;
                });
            }
            RunEvent::Queued { .. }
            | RunEvent::Uploaded(_)
            | RunEvent::Phase(_)
            | RunEvent::Shown(_) => {}
        }
    }));
}

crate::split::part! {
    history:
    /// Opens the database and hands `resume` this editor's kept edits. Without storage
    /// nothing is kept, and the editor works as before.
    async fn open_part(
        store: Rc<RefCell<Option<Rc<Store>>>>,
        prefix: String,
        resume: ResumeKept,
    ) -> () {
        let Ok(opened) = Store::open(DB_NAME).await else {
            return;
        };
        let opened = Rc::new(opened);
        *store.borrow_mut() = Some(opened.clone());
        let Ok(kept) = opened.in_flight(&prefix).await else {
            return;
        };
        let mut runs = Vec::with_capacity(kept.len());
        for (key, record) in kept {
            let before_url = match opened.image(&in_flight_image_key(&key)).await {
                Ok(Some(blob)) => web_sys::Url::create_object_url_with_blob(&blob).ok(),
                _ => None,
            }
            .or_else(|| record.source.url.clone())
            .unwrap_or_default();
            runs.push((record, before_url));
        }
        if !runs.is_empty() {
            resume(runs);
        }
    }
}

crate::split::part! {
    history:
    async fn put_part(
        store: Option<Rc<Store>>,
        key: String,
        record: RunRecord,
        source: Option<web_sys::Blob>,
    ) -> () {
        if let Some(store) = store {
            let _ = store.put_in_flight(&key, &record, source.as_ref()).await;
        }
    }
}

crate::split::part! {
    history:
    async fn delete_part(store: Option<Rc<Store>>, key: String) -> () {
        if let Some(store) = store {
            let _ = store.delete_in_flight(&key).await;
        }
    }
}
