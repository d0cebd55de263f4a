//! The area to change, kept with the run it limited (src/mask.rs paints it).

use flexedit_api::Mask;
use flexedit_api::history::{Outcome, Slot};

use leptos::prelude::*;

use super::History;

impl History {
    /// The runs of a press just queued were limited to `mask`: kept in their records, and
    /// so in exports.
    pub fn run_area(&self, runs: &[String], mask: Option<Mask>) {
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
                self.update_current(id, move |current| current.record.mask = Some(mask));
            }
        }
    }
}

impl History {
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
