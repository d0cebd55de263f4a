//! The editor's first screen as HTML, rendered natively at build time from the same
//! components the page mounts, so index.html paints the header, the drop zone and the form
//! before any script has run. The page replaces it with the live editor in one task
//! (`embed::mount`), and the two render the same markup, so nothing moves.

use any_spawner::{CustomExecutor, Executor, PinnedFuture, PinnedLocalFuture};
use leptos::prelude::*;

use crate::config::ConfigAnswer;

/// Effects and tasks of the first render are dropped: they would start the page (restore
/// settings, open the history, load parts), which a build has no browser for.
struct NoTasks;

impl CustomExecutor for NoTasks {
    fn spawn(&self, _: PinnedFuture<()>) {}
    fn spawn_local(&self, _: PinnedLocalFuture<()>) {}
    fn poll_local(&self) {}
}

/// The markup of index.html's editor as it first renders with `config` (what the page
/// would fetch as config.json) and nothing else: no saved settings, no history, no image.
pub fn first_screen(config: ConfigAnswer) -> String {
    // Set once per process; a second call finds it set, which is as good.
    let _ = Executor::init_custom_executor(NoTasks);
    let owner = Owner::new();
    // Rendering to HTML reads every signal once, outside any effect: on purpose here, so
    // the reactive graph's warnings about untracked reads are silenced.
    let html = owner.with(|| {
        let _quiet = leptos::reactive::diagnostics::SpecialNonReactiveZone::enter();
        view! { <crate::App config page=true/> }.to_html()
    });
    owner.cleanup();
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(config_json: &str) -> String {
        first_screen(ConfigAnswer {
            status: 200,
            text: Some(config_json.to_owned()),
        })
    }

    #[test]
    fn the_first_screen_has_the_drop_zone_the_labelled_prompt_and_the_run_button() {
        let html = screen("{}");
        assert!(html.contains(r#"data-testid="drop-zone""#), "{html}");
        assert!(html.contains(r#"<label for="field-prompt">Prompt</label>"#));
        assert!(html.contains(r#"<textarea id="field-prompt""#));
        assert!(html.contains(r#"data-testid="run""#));
        assert!(html.contains(">Edit image</button>"));
        assert!(html.contains("Choose an image to edit first."));
        // The page keeps a history, so its recipes can be saved: the form says so at once.
        assert!(html.contains(">Save as recipe</button>"));
        // The default of Variations is in the markup, not only set later by the page.
        assert!(html.contains(
            r#"data-testid="variations" aria-describedby="variations-hint" aria-invalid="false" value="1">"#
        ));
    }

    #[test]
    fn the_deployments_defaults_are_in_the_first_screen() {
        let html = screen(
            r#"{"defaults": {"prompt": "Add a red sign", "steps": 8, "aspect_ratio": "16:9", "output_format": "png", "prompt_upsampling": true}}"#,
        );
        assert!(html.contains(">Add a red sign</textarea>"), "{html}");
        assert!(html.contains(r#"name="steps" type="text" inputmode="numeric" autocomplete="off" aria-describedby="hint-steps problem-steps" aria-invalid="false" value="8""#), "{html}");
        assert!(html.contains(r#"<option value="16:9" selected>"#), "{html}");
        assert!(html.contains(r#"<option value="png" selected>"#), "{html}");
        assert!(
            html.contains(r#"name="prompt_upsampling" type="checkbox" checked"#),
            "{html}"
        );
    }
}
