use leptos::prelude::*;

fn main() {
    leptos::mount::mount_to_body(|| {
        view! { <button type="button" data-testid="ready">"Ready"</button> }
    });
}
