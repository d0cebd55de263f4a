//! Recipes in the editor: the named prompts and parameters a deployment ships, each with
//! what it sets, applied to the form with one press. The image stays as it is.

use flexedit_api::{EditParams, Recipe};
use leptos::prelude::*;

#[component]
pub fn Recipes(
    /// The recipes on offer; nothing is shown when there are none.
    #[prop(into)]
    recipes: Signal<Vec<Recipe>>,
    /// The form they apply to.
    params: RwSignal<EditParams>,
    /// Locked when a recipe sets a seed, so that the seed it names is the one used.
    seed_locked: RwSignal<bool>,
) -> impl IntoView {
    let applied = RwSignal::new(None::<String>);
    move || {
        let list = recipes.get();
        (!list.is_empty()).then(|| {
            let items = list
                .into_iter()
                .map(|recipe| recipe_item(recipe, params, seed_locked, applied))
                .collect_view();
            view! {
                <section class="recipes" aria-labelledby="recipes-heading" data-testid="recipes">
                    <h2 id="recipes-heading" class="recipes-heading">"Recipes"</h2>
                    <ul class="recipe-list">{items}</ul>
                    <p class="recipes-status" role="status" data-testid="recipes-status">
                        {move || {
                            applied.get().map(|name| format!("Applied “{name}” to the form."))
                        }}
                    </p>
                </section>
            }
        })
    }
}

fn recipe_item(
    recipe: Recipe,
    params: RwSignal<EditParams>,
    seed_locked: RwSignal<bool>,
    applied: RwSignal<Option<String>>,
) -> impl IntoView {
    let name = recipe.name.clone();
    let settings = recipe
        .settings()
        .into_iter()
        .map(|(label, value)| {
            view! {
                <div class="recipe-setting">
                    <dt>{label}</dt>
                    <dd>{value}</dd>
                </div>
            }
        })
        .collect_view();
    let apply = move |_| {
        params.update(|form| *form = recipe.applied_to(form));
        seed_locked.set(recipe.params.seed.is_some());
        applied.set(Some(recipe.name.clone()));
    };
    view! {
        <li class="recipe" data-testid="recipe" data-name=name.clone()>
            <div class="recipe-head">
                <span class="recipe-name">{name.clone()}</span>
                <span class="recipe-origin">"from this site"</span>
                <button
                    type="button"
                    class="recipe-apply"
                    data-testid="recipe-apply"
                    aria-label=format!("Apply the recipe {name}")
                    on:click=apply
                >
                    "Apply"
                </button>
            </div>
            <details class="recipe-details">
                <summary>"What it sets"</summary>
                <dl class="recipe-settings">{settings}</dl>
            </details>
        </li>
    }
}
