//! The area to change, kept with the run it limited (src/mask.rs paints it).

use flexedit_api::Mask;
use flexedit_api::history::Outcome;

use leptos::prelude::*;

use super::History;

impl History {
    /// The run just started was limited to `mask`: kept in its record, and so in exports.
    pub fn run_area(&self, mask: Option<Mask>) {
        let Some(mask) = mask else {
            return;
        };
        let starting = self.current.with_value(|current| {
            current
                .as_ref()
                .is_some_and(|c| matches!(c.record.outcome, Outcome::Running))
        });
        if starting {
            self.update_current(|current| current.record.mask = Some(mask));
        }
    }
}
