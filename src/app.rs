use leptos::prelude::*;

/// The app shell: header, the editor area, and the footer with the version.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <div class="app" data-testid="app">
            <header class="app-header">
                <h1 class="app-title">"flexedit"</h1>
                <p class="app-tagline">"Edit images with a text prompt — Flux 2 Flex"</p>
            </header>
            <main class="editor" aria-label="Editor" data-testid="editor"></main>
            <footer class="app-footer">
                <span data-testid="version">"flexedit " {crate::VERSION}</span>
            </footer>
        </div>
    }
}
