use leptos::prelude::*;

use crate::config::{Config, ConfigAnswer, ConfigFile};
use crate::editor::{Editor, Wiring};
use crate::transport::Net;
use leptos::callback::UnsyncCallback;

/// One editor as it starts, in the page or embedded: `config.json` (beside the editor's
/// own files, not beside a host page), then the host's `options`, then the shell.
#[component]
pub fn App(
    /// What fetching config.json gave; without it, the built-in defaults.
    #[prop(optional)]
    config: Option<ConfigAnswer>,
    /// What an embedding page passed, on top of config.json.
    #[prop(optional)]
    options: ConfigFile,
    /// The editor owns the page; only then does it keep a history (an embedded editor
    /// hands each result to its host, and several on one page would share one tab's form).
    #[prop(optional)]
    page: bool,
    /// See [`Editor`]'s `in_flight`.
    #[prop(optional_no_strip)]
    in_flight: Option<String>,
    /// See [`Editor`]'s `on_ready`.
    #[prop(optional_no_strip)]
    on_ready: Option<UnsyncCallback<Wiring>>,
) -> impl IntoView {
    if page {
        // Opened by the editor once the form is on screen.
        provide_context(crate::history::History::new(crate::history::store::DB_NAME));
    }
    let (config, notice) = config.map_or_else(|| (Config::default(), None), |c| c.resolve());
    let loaded = RwSignal::new_local(Some((config.apply(options), notice)));
    view! { <Shell loaded transport=Net::default() page in_flight on_ready/> }
}

/// The shell around an editor whose configuration is given, so tests can mount it with
/// their own configuration and transport.
#[component]
pub fn Shell(
    loaded: RwSignal<Option<(Config, Option<String>)>, LocalStorage>,
    /// The browser's network unless given another (tests give a fake).
    #[prop(into)]
    transport: Net,
    /// See [`Editor`]'s `page`.
    #[prop(optional)]
    page: bool,
    /// See [`Editor`]'s `in_flight`.
    #[prop(optional_no_strip)]
    in_flight: Option<String>,
    /// See [`Editor`]'s `on_ready`.
    #[prop(optional_no_strip)]
    on_ready: Option<UnsyncCallback<Wiring>>,
) -> impl IntoView {
    let transport = StoredValue::new_local(transport);
    view! {
        <div class="app" data-testid="app">
            <header class="app-header">
                <h1 class="app-title">"flexedit"</h1>
                <p class="app-tagline">"Edit images with a text prompt — Flux 2 Flex"</p>
            </header>
            <main class="editor" aria-label="Editor" data-testid="editor">
                {move || {
                    loaded
                        .get()
                        .map(|(config, notice)| {
                            view! {
                                {notice
                                    .map(|notice| {
                                        view! {
                                            <p class="notice" role="status" data-testid="config-notice">
                                                {notice}
                                            </p>
                                        }
                                    })}
                                <Editor
                                    config
                                    transport=transport.get_value()
                                    page
                                    in_flight=in_flight.clone()
                                    on_ready
                                />
                            }
                        })
                }}
            </main>
            <footer class="app-footer">
                <span data-testid="version">"flexedit " {crate::VERSION}</span>
            </footer>
        </div>
    }
}
