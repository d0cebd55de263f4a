//! The requests the page will send, as cURL, JavaScript and Python a person can copy. The
//! text comes from flexedit-api alone, so it is byte for byte what the page sends, and the
//! key is always a placeholder.

use std::time::Duration;

use flexedit_api::{
    EditRequest, KEY_PLACEHOLDER, Mode, Snippets, edit_snippets_async, upload_snippets,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::page::unique_id;
use crate::result::copy_text;

/// How long "Copied" stays on the button.
const COPIED_FOR: Duration = Duration::from_secs(2);

/// The languages, in the order of the provider's own playground.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    Curl,
    JavaScript,
    Python,
}

impl Language {
    pub const ALL: [Language; 3] = [Self::Curl, Self::JavaScript, Self::Python];

    pub const fn label(self) -> &'static str {
        match self {
            Self::Curl => "cURL",
            Self::JavaScript => "JavaScript",
            Self::Python => "Python",
        }
    }

    const fn slug(self) -> &'static str {
        match self {
            Self::Curl => "curl",
            Self::JavaScript => "javascript",
            Self::Python => "python",
        }
    }

    pub fn pick(self, snippets: &Snippets) -> &str {
        match self {
            Self::Curl => &snippets.curl,
            Self::JavaScript => &snippets.javascript,
            Self::Python => &snippets.python,
        }
    }

    /// The tab a key moves to from this one, as the ARIA tabs pattern has it; `None` for
    /// keys the tab list ignores.
    pub fn after_key(self, key: &str) -> Option<Language> {
        let at = Self::ALL.iter().position(|l| *l == self).unwrap_or(0);
        let last = Self::ALL.len() - 1;
        let to = match key {
            "ArrowRight" => (at + 1) % Self::ALL.len(),
            "ArrowLeft" => at.checked_sub(1).unwrap_or(last),
            "Home" => 0,
            "End" => last,
            _ => return None,
        };
        Some(Self::ALL[to])
    }
}

/// The code view. `upload_file_name` is `None` when the source needs no upload (an image
/// URL or a previous result); `endpoint` is the absolute base URL the page calls.
#[component]
pub fn CodeView(
    /// How many edits one press starts; the code is that of one of them.
    #[prop(into, optional)]
    edits: Option<Signal<usize>>,
    #[prop(into)] request: Signal<Option<EditRequest>>,
    #[prop(into)] upload_file_name: Signal<Option<String>>,
    #[prop(into)] endpoint: Signal<String>,
    #[prop(into)] mode: Signal<Mode>,
) -> impl IntoView {
    let selected = RwSignal::new(Language::Curl);
    let base = unique_id("code");
    let panel_id = format!("{base}-panel");
    let tab_id = move |language: Language| format!("{base}-tab-{}", language.slug());

    let edit = Memo::new(move |_| {
        request.with(|r| {
            r.as_ref()
                .map(|r| edit_snippets_async(&endpoint.get(), r, mode.get()))
        })
    });
    let upload = Memo::new(move |_| {
        if request.with(Option::is_none) {
            return None;
        }
        upload_file_name.with(|name| {
            name.as_deref()
                .map(|name| upload_snippets(&endpoint.get(), name, mode.get()))
        })
    });
    let has_upload = move || upload.with(Option::is_some);

    let on_keydown = {
        let tab_id = tab_id.clone();
        move |ev: web_sys::KeyboardEvent| {
            if let Some(next) = selected.get_untracked().after_key(&ev.key()) {
                ev.prevent_default();
                selected.set(next);
                // Focus follows the selection, so the tab read out is the one shown.
                if let Some(tab) = document().get_element_by_id(&tab_id(next))
                    && let Ok(tab) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(tab)
                {
                    let _ = tab.focus();
                }
            }
        }
    };

    let tabs = Language::ALL
        .into_iter()
        .map(|language| {
            let is_selected = move || selected.get() == language;
            view! {
                <button
                    type="button"
                    role="tab"
                    class="code-tab"
                    id=tab_id(language)
                    data-testid=format!("code-tab-{}", language.slug())
                    aria-selected=move || is_selected().to_string()
                    aria-controls=panel_id.clone()
                    tabindex=move || if is_selected() { "0" } else { "-1" }
                    on:click=move |_| selected.set(language)
                >
                    {language.label()}
                </button>
            }
        })
        .collect_view();

    let upload_text = Signal::derive(move || {
        upload.with(|u| {
            u.as_ref()
                .map(|s| selected.get().pick(s).to_owned())
                .unwrap_or_default()
        })
    });
    let edit_text = Signal::derive(move || {
        edit.with(|e| {
            e.as_ref()
                .map(|s| selected.get().pick(s).to_owned())
                .unwrap_or_default()
        })
    });
    let edit_heading = Signal::derive(move || {
        if has_upload() {
            "2. Edit the image".to_owned()
        } else {
            "Edit the image".to_owned()
        }
    });
    let labelled_by = move || tab_id(selected.get());

    view! {
        <section class="code-view" data-testid="code-view" aria-label="Requests as code">
            {move || {
                edits.map(|e| e.get()).filter(|n| *n > 1).map(|n| view! {
                    <p class="code-count" data-testid="code-count">
                        {format!("One press starts {n} edits, each sent and charged on its own; below is one of them.")}
                    </p>
                })
            }}
            <div class="code-tabs" role="tablist" aria-label="Language" on:keydown=on_keydown>
                {tabs}
            </div>
            <div class="code-panel" role="tabpanel" id=panel_id.clone() aria-labelledby=labelled_by>
                <Show
                    when=move || edit.with(Option::is_some)
                    fallback=|| view! {
                        <p class="code-missing">
                            "Choose an image and write a prompt to see the requests."
                        </p>
                    }
                >
                    <p class="code-note">
                        {move || match mode.get() {
                            Mode::Direct => format!(
                                "Replace {KEY_PLACEHOLDER} with your 1min.ai API key before running these."
                            ),
                            Mode::Proxy => "These go through the proxy, which adds the key.".to_owned(),
                        }}
                    </p>
                    <Show
                        when=has_upload
                        fallback=|| view! {
                            <p class="code-note">
                                "The image is sent by its address, so there is no upload step."
                            </p>
                        }
                    >
                        <Snippet
                            heading=Signal::stored("1. Upload the image".to_owned())
                            text=upload_text
                            test_id="code-upload"
                        />
                        <p class="code-note" data-testid="code-path-note">
                            "The edit's imageUrl is the path the upload answers with (fileContent.path); images/pending-upload.png stands in for it here."
                        </p>
                    </Show>
                    <Snippet heading=edit_heading text=edit_text test_id="code-edit" />
                </Show>
            </div>
        </section>
    }
}

/// One request with its copy button.
#[component]
fn Snippet(heading: Signal<String>, text: Signal<String>, test_id: &'static str) -> impl IntoView {
    let heading_id = unique_id("code-heading");
    let (described_by, labelled_by) = (heading_id.clone(), heading_id.clone());
    // `Some(true)` after a copy, `Some(false)` when the browser refused; the number makes
    // an older timer leave a newer confirmation alone.
    let copied = RwSignal::new((0_u32, None::<bool>));

    let on_copy = move |_| {
        let snippet = text.get_untracked();
        spawn_local(async move {
            let ok = copy_text(&snippet).await;
            let mut this_copy = 0;
            copied.try_update(|(n, state)| {
                *n = n.wrapping_add(1);
                this_copy = *n;
                *state = Some(ok);
            });
            set_timeout(
                move || {
                    copied.try_update(|(n, state)| {
                        if *n == this_copy {
                            *state = None;
                        }
                    });
                },
                COPIED_FOR,
            );
        });
    };

    view! {
        <div class="code-snippet">
            <div class="code-snippet-bar">
                <h3 class="code-snippet-heading" id=heading_id>{move || heading.get()}</h3>
                <button
                    type="button"
                    class="fe-button code-copy"
                    aria-describedby=described_by
                    on:click=on_copy
                >
                    {move || if copied.get().1 == Some(true) { "Copied" } else { "Copy" }}
                </button>
            </div>
            <p class="code-copy-status" role="status">
                {move || match copied.get().1 {
                    Some(true) => "Copied to the clipboard.",
                    Some(false) => "The browser refused to copy. Select the text and copy it with Ctrl+C (⌘C on a Mac).",
                    None => "",
                }}
            </p>
            <pre class="code-text" data-testid=test_id tabindex="0" aria-labelledby=labelled_by>
                <code>{move || text.get()}</code>
            </pre>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrow_keys_wrap_around_the_tabs() {
        assert_eq!(
            Language::Curl.after_key("ArrowRight"),
            Some(Language::JavaScript)
        );
        assert_eq!(
            Language::Python.after_key("ArrowRight"),
            Some(Language::Curl)
        );
        assert_eq!(
            Language::Curl.after_key("ArrowLeft"),
            Some(Language::Python)
        );
        assert_eq!(Language::JavaScript.after_key("Home"), Some(Language::Curl));
        assert_eq!(Language::Curl.after_key("End"), Some(Language::Python));
        assert_eq!(Language::Curl.after_key("Enter"), None);
    }
}
