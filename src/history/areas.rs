//! The area to change, kept with the run it limited (src/mask.rs paints it).

use flexedit_api::Mask;
use flexedit_api::history::{Outcome, RunRecord, Slot};

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::History;

impl History {
    /// The runs of a press just queued were limited to `mask`: kept in their records, and
    /// so in exports. Those of `unfit` have a source of another shape: their results are
    /// the model's whole edits.
    pub fn run_area(&self, runs: &[String], mask: Option<Mask>, unfit: &[String]) {
        let Some(mask) = mask else {
            return;
        };
        for id in runs {
            let waiting = self.current.with_value(|current| {
                current
                    .get(id)
                    .is_some_and(|c| matches!(c.record.outcome, Outcome::Queued | Outcome::Running))
            });
            if waiting {
                let mask = mask.clone();
                let unfit = unfit.contains(id);
                self.update_current(id, move |current| {
                    current.record.mask = Some(mask);
                    current.record.area_unfit = unfit;
                });
            }
        }
    }
}

impl History {
    /// The source of the result at `display_url` turned out to have another shape than
    /// the area's: its run keeps that its result is the model's whole edit.
    pub fn result_unfit(&self, display_url: &str) {
        self.change_result(display_url, |record| {
            let changed = !record.area_unfit;
            record.area_unfit = true;
            changed
        });
    }

    /// The result at `display_url` was laid in again with another feather: its run keeps
    /// it, so the history shows (and exports) the composite on screen.
    pub fn result_feather(&self, display_url: &str, feather: f32) {
        self.change_result(display_url, |record| match record.mask.as_mut() {
            Some(mask) if mask.feather != feather => {
                mask.feather = feather;
                true
            }
            _ => false,
        });
    }

    /// Rewrites the finished run whose result is at `display_url`, when `change` says it
    /// changed it.
    fn change_result(&self, display_url: &str, change: impl FnOnce(&mut RunRecord) -> bool) {
        let Some(store) = self.store() else {
            return;
        };
        let found = self.runs.with_untracked(|runs| {
            runs.iter()
                .find(|run| run.success().is_some_and(|s| s.display_url == display_url))
                .cloned()
        });
        let Some(mut record) = found else {
            return;
        };
        if !change(&mut record) {
            return;
        }
        // Shown at once; the write tells other tabs.
        self.runs.update(|runs| {
            if let Some(run) = runs.iter_mut().find(|r| r.id == record.id) {
                *run = record.clone();
            }
        });
        let history = *self;
        spawn_local(async move {
            history.report(super::write_run_part(history, store, record, None).await);
        });
    }

    /// A run's image as the editor shows it: a result whose run was limited to an area is
    /// laid into its kept source through it, as it was when it arrived. The kept bytes
    /// stay the model's own, so the area can be changed or dropped later.
    pub async fn shown_image(&self, id: &str, slot: Slot) -> Option<web_sys::Blob> {
        let image = self.image(id, slot).await?;
        if slot != Slot::Result {
            return Some(image);
        }
        let mask = self.runs.with_untracked(|runs| {
            runs.iter()
                .find(|run| run.id == id)
                .filter(|run| !run.area_unfit)
                .and_then(|run| run.mask.clone())
        });
        let Some(mask) = mask else {
            return Some(image);
        };
        let Some(source) = self.image(id, Slot::Source).await else {
            return Some(image);
        };
        let job = crate::composite::Job {
            original: source,
            layers: Vec::new(),
            result: image.clone(),
            mask: Some(mask),
            size: None,
            chunk: None,
        };
        match crate::composite::composite(job).await {
            Ok(made) => Some(made.blob),
            Err(_) => Some(image),
        }
    }
}
