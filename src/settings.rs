//! Settings: where requests go (direct to the provider with the person's key, or through a
//! proxy that holds it) and the key itself — in memory unless the person asks to remember it.

use flexedit_api::Mode;
use leptos::prelude::*;

use crate::config::{Config, ModeName};
use crate::transport::Connection;

const KEY_STORAGE: &str = "flexedit.key";
const SETTINGS_STORAGE: &str = "flexedit.settings";

/// The person's own choices; the configuration decides which of them count. Saved as
/// `{"endpoint": ..., "mode": ...}`, either null when the configuration decides it.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Choices {
    pub endpoint: Option<String>,
    pub mode: Option<ModeName>,
}

impl Choices {
    /// Reads what [`Choices::save_text`] wrote; anything else is no choice at all.
    pub fn from_saved(text: &str) -> Self {
        crate::serde_js::parse(text).unwrap_or_default()
    }

    /// The text saved in the browser.
    pub fn save_text(&self) -> Option<String> {
        crate::serde_js::stringify(self)
    }
}

/// Settings state shared by the editor.
#[derive(Clone, Copy)]
pub struct Settings {
    pub endpoint: RwSignal<String>,
    pub mode: RwSignal<Mode>,
    pub key: RwSignal<String>,
    pub remember_key: RwSignal<bool>,
    pub allow_endpoint_change: RwSignal<bool>,
    pub allow_mode_change: RwSignal<bool>,
    /// Whether the person's saved choices and key have been read (see [`Settings::restore`]).
    restored: StoredValue<bool>,
}

impl Settings {
    /// Starts from the configuration; [`Settings::restore`] adds the person's saved choices.
    pub fn new(config: &Config) -> Self {
        Self {
            endpoint: RwSignal::new(config.endpoint.clone()),
            mode: RwSignal::new(config.mode),
            remember_key: RwSignal::new(false),
            key: RwSignal::new(String::new()),
            allow_endpoint_change: RwSignal::new(config.allow_endpoint_change),
            allow_mode_change: RwSignal::new(config.allow_mode_change),
            restored: StoredValue::new(false),
        }
    }

    /// Applies the person's saved choices, where the configuration allows them, and their
    /// remembered key; only the first call reads them. A page's first read of localStorage
    /// waits on the browser's storage (about 1.5 ms), so the editor calls this just after
    /// its first render, which shows nothing they change: the settings load with a part
    /// after it, and the run button waits for an image. The settings panel and a run call it
    /// too, so neither can come first.
    pub fn restore(&self) {
        if self.restored.try_get_value() != Some(false) {
            return;
        }
        self.restored.set_value(true);
        let Some(storage) = crate::page::local_storage() else {
            return;
        };
        let saved: Choices = storage
            .get_item(SETTINGS_STORAGE)
            .ok()
            .flatten()
            .map(|text| Choices::from_saved(&text))
            .unwrap_or_default();
        if let Some(endpoint) = saved.endpoint
            && self.allow_endpoint_change.get_untracked()
        {
            self.endpoint.set(endpoint);
        }
        if let Some(mode) = saved.mode
            && self.allow_mode_change.get_untracked()
        {
            self.mode.set(mode.into());
        }
        if let Some(key) = storage.get_item(KEY_STORAGE).ok().flatten() {
            self.remember_key.set(true);
            self.key.set(key);
        }
    }

    /// A host changed the configuration while the editor runs: its endpoint and mode take
    /// effect now, and the person's saved choices count again only where still allowed.
    pub fn apply_config(&self, previous: &Config, config: &Config) {
        self.allow_endpoint_change.set(config.allow_endpoint_change);
        self.allow_mode_change.set(config.allow_mode_change);
        if config.endpoint != previous.endpoint || !config.allow_endpoint_change {
            self.endpoint.set(config.endpoint.clone());
        }
        if config.mode != previous.mode || !config.allow_mode_change {
            self.mode.set(config.mode);
        }
    }

    pub fn connection(&self) -> Connection {
        Connection {
            endpoint: self.endpoint.get(),
            mode: self.mode.get(),
            key: Some(self.key.get()).filter(|k| !k.trim().is_empty()),
            request_id: None,
        }
    }

    fn save_choices(&self) {
        let choices = Choices {
            endpoint: self
                .allow_endpoint_change
                .get_untracked()
                .then(|| self.endpoint.get_untracked()),
            mode: self
                .allow_mode_change
                .get_untracked()
                .then(|| self.mode.get_untracked().into()),
        };
        if let (Some(storage), Some(text)) = (crate::page::local_storage(), choices.save_text()) {
            let _ = storage.set_item(SETTINGS_STORAGE, &text);
        }
    }

    /// Keeps the key on this device only while the person asks for it.
    fn save_key(&self) {
        let Some(storage) = crate::page::local_storage() else {
            return;
        };
        if self.remember_key.get_untracked() && !self.key.get_untracked().is_empty() {
            let _ = storage.set_item(KEY_STORAGE, &self.key.get_untracked());
        } else {
            let _ = storage.remove_item(KEY_STORAGE);
        }
    }

    pub fn forget_key(&self) {
        self.key.set(String::new());
        self.remember_key.set(false);
        self.save_key();
    }
}

#[component]
pub fn SettingsPanel(settings: Settings) -> impl IntoView {
    settings.restore();
    let direct = move || settings.mode.get() == Mode::Direct;
    view! {
        <details class="settings" data-testid="settings">
            <summary>"Settings"</summary>
            <fieldset class="mode" disabled=move || !settings.allow_mode_change.get()>
                <legend>"How requests are sent"</legend>
                <label class="check">
                    <input
                        type="radio"
                        name="mode"
                        value="proxy"
                        data-testid="mode-proxy"
                        prop:checked=move || !direct()
                        on:change=move |_| {
                            settings.mode.set(Mode::Proxy);
                            settings.save_choices();
                        }
                    />
                    "Through a proxy that holds the key (no key in this page)"
                </label>
                <label class="check">
                    <input
                        type="radio"
                        name="mode"
                        value="direct"
                        data-testid="mode-direct"
                        prop:checked=direct
                        on:change=move |_| {
                            settings.mode.set(Mode::Direct);
                            settings.save_choices();
                        }
                    />
                    "Directly to the provider with my API key"
                </label>
            </fieldset>
            {move || settings
                .allow_endpoint_change
                .get()
                .then(|| {
                    view! {
                        <div class="field">
                            <label for="settings-endpoint">"Endpoint"</label>
                            <input
                                id="settings-endpoint"
                                data-testid="endpoint"
                                type="url"
                                placeholder="This page's own server"
                                prop:value=move || settings.endpoint.get()
                                on:change=move |ev| {
                                    let value = event_target_value(&ev);
                                    settings.endpoint.set(value.trim().trim_end_matches('/').to_owned());
                                    settings.save_choices();
                                }
                            />
                        </div>
                    }
                })}
            <Show when=direct>
                <div class="field">
                    <label for="settings-key">"API key"</label>
                    <input
                        id="settings-key"
                        data-testid="api-key"
                        type="password"
                        autocomplete="off"
                        prop:value=move || settings.key.get()
                        on:input=move |ev| {
                            settings.key.set(event_target_value(&ev));
                            settings.save_key();
                        }
                    />
                    <label class="check">
                        <input
                            type="checkbox"
                            data-testid="remember-key"
                            prop:checked=move || settings.remember_key.get()
                            on:change=move |ev| {
                                settings.remember_key.set(event_target_checked(&ev));
                                settings.save_key();
                            }
                        />
                        "Remember on this device"
                    </label>
                    <button
                        type="button"
                        data-testid="forget-key"
                        on:click=move |_| settings.forget_key()
                    >
                        "Forget key"
                    </button>
                    <p class="field-hint">
                        "The key is sent only to the endpoint, in the API-KEY header. Unless remembered, it is gone when this page closes."
                    </p>
                </div>
            </Show>
        </details>
    }
}
