use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::config::{Config, ConfigFile};
use crate::editor::{Editor, Wiring};
use crate::transport::{BrowserTransport, Transport};
use leptos::callback::UnsyncCallback;

pub async fn load_config_from(url: &str) -> (Config, Option<String>) {
    let defaults = Config::default();
    let response = match gloo_net::http::Request::get(url).send().await {
        Ok(response) => response,
        Err(_) => {
            return (
                defaults,
                Some("config.json could not be loaded; using the defaults.".into()),
            );
        }
    };
    if !response.ok() {
        return (
            defaults,
            Some(format!(
                "config.json is missing (HTTP {}); using the defaults.",
                response.status()
            )),
        );
    }
    match response.text().await {
        Ok(text) => match defaults.clone().apply_json(&text) {
            Ok(config) => (config, None),
            Err(notice) => (defaults, Some(notice)),
        },
        Err(_) => (
            defaults,
            Some("config.json could not be read; using the defaults.".into()),
        ),
    }
}

/// One editor as it starts, in the page or embedded: `{base}config.json` (beside the
/// editor's own files, not beside a host page), then the host's `options`, then the shell.
#[component]
pub fn App(
    /// The address of the editor's files, ending in `/`; empty: the page's own folder.
    #[prop(optional, into)]
    base: String,
    /// What an embedding page passed, on top of config.json.
    #[prop(optional)]
    options: ConfigFile,
    /// The editor owns the page; only then does it keep a history (an embedded editor
    /// hands each result to its host, and several on one page would share one tab's form).
    #[prop(optional)]
    page: bool,
    /// See [`Editor`]'s `on_ready`.
    #[prop(optional_no_strip)]
    on_ready: Option<UnsyncCallback<Wiring>>,
) -> impl IntoView {
    if page {
        // Opened by the editor once the form is on screen.
        provide_context(crate::history::History::new(crate::history::store::DB_NAME));
    }
    let loaded = RwSignal::new_local(None::<(Config, Option<String>)>);
    let config_url = format!("{base}config.json");
    spawn_local(async move {
        let (config, notice) = load_config_from(&config_url).await;
        loaded.try_set(Some((config.apply(options), notice)));
    });
    let transport: Rc<dyn Transport> = Rc::new(BrowserTransport);
    view! { <Shell loaded transport page on_ready/> }
}

/// The shell around an editor whose configuration is given, so tests can mount it with
/// their own configuration and transport.
#[component]
pub fn Shell(
    loaded: RwSignal<Option<(Config, Option<String>)>, LocalStorage>,
    transport: Rc<dyn Transport>,
    /// See [`Editor`]'s `page`.
    #[prop(optional)]
    page: bool,
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
                                <Editor config transport=transport.get_value() page on_ready/>
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
