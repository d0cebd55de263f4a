//! Recipes in the editor: named prompts and parameters, applied to the form with one press
//! (the image stays as it is). A deployment ships some, read-only; the person saves,
//! renames and deletes their own, which the history keeps.

use flexedit_api::{EditParams, Recipe};
use leptos::prelude::*;

/// What the person does to their own recipes; the editor hands these on to the history.
#[derive(Clone, Copy)]
pub struct Keeping {
    /// Saves a recipe; the second value names the recipe it renames.
    pub save: Callback<(Recipe, Option<String>)>,
    pub delete: Callback<String>,
}

#[component]
pub fn Recipes(
    /// The deployment's recipes.
    #[prop(into)]
    shipped: Signal<Vec<Recipe>>,
    /// The person's own.
    #[prop(into)]
    own: Signal<Vec<Recipe>>,
    /// How the person's recipes are kept; without it only the shipped ones are offered.
    keeping: Option<Keeping>,
    /// The form they apply to and are saved from.
    params: RwSignal<EditParams>,
    /// Locked when a recipe sets a seed, so that the seed it names is the one used.
    seed_locked: RwSignal<bool>,
) -> impl IntoView {
    let status = RwSignal::new(None::<String>);
    let name = RwSignal::new(String::new());
    let save = move || {
        let Some(keeping) = keeping else { return };
        let typed = name.get_untracked();
        let recipe = match Recipe::new(&typed, &params.get_untracked()) {
            Ok(recipe) => recipe,
            Err(error) => return status.set(Some(error.to_string())),
        };
        if shipped.with_untracked(|all| all.iter().any(|r| r.name == recipe.name)) {
            return status.set(Some(format!(
                "This site already offers a recipe named “{}”; choose another name.",
                recipe.name
            )));
        }
        let replaced = own.with_untracked(|all| all.iter().any(|r| r.name == recipe.name));
        status.set(Some(if replaced {
            format!("Updated the recipe “{}”.", recipe.name)
        } else {
            format!("Saved the recipe “{}”.", recipe.name)
        }));
        name.set(String::new());
        keeping.save.run((recipe, None));
    };
    let list = move || {
        let shipped = shipped.get();
        let own = own.get();
        let taken: Vec<String> = shipped.iter().chain(&own).map(|r| r.name.clone()).collect();
        let items = shipped
            .into_iter()
            .map(|recipe| recipe_item(recipe, None, params, seed_locked, status, taken.clone()))
            .chain(own.into_iter().map(|recipe| {
                recipe_item(recipe, keeping, params, seed_locked, status, taken.clone())
            }))
            .collect_view();
        view! { <ul class="recipe-list">{items}</ul> }
    };
    let shown = move || keeping.is_some() || !shipped.with(Vec::is_empty);
    move || {
        shown().then(|| {
            view! {
                <section class="recipes" aria-labelledby="recipes-heading" data-testid="recipes">
                    <h2 id="recipes-heading" class="recipes-heading">"Recipes"</h2>
                    {list}
                    {keeping.map(|_| view! {
                        <form
                            class="recipe-save"
                            on:submit=move |ev| {
                                ev.prevent_default();
                                save();
                            }
                        >
                            <label for="recipe-name">"Recipe name"</label>
                            <input
                                id="recipe-name"
                                type="text"
                                autocomplete="off"
                                maxlength=flexedit_api::RECIPE_NAME_MAX_CHARS.to_string()
                                prop:value=move || name.get()
                                on:input=move |ev| name.set(event_target_value(&ev))
                            />
                            <button type="submit" data-testid="recipe-save">"Save as recipe"</button>
                        </form>
                    })}
                    <p class="recipes-status" role="status" data-testid="recipes-status">
                        {move || status.get()}
                    </p>
                </section>
            }
        })
    }
}

fn recipe_item(
    recipe: Recipe,
    keeping: Option<Keeping>,
    params: RwSignal<EditParams>,
    seed_locked: RwSignal<bool>,
    status: RwSignal<Option<String>>,
    taken: Vec<String>,
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
    let origin = if keeping.is_some() {
        "yours"
    } else {
        "from this site"
    };
    let apply = {
        let recipe = recipe.clone();
        move |_| {
            params.update(|form| *form = recipe.applied_to(form));
            seed_locked.set(recipe.params.seed.is_some());
            status.set(Some(format!("Applied “{}” to the form.", recipe.name)));
        }
    };
    let actions = keeping.map(|keeping| own_actions(recipe, keeping, status, taken));
    view! {
        <li class="recipe" data-testid="recipe" data-name=name.clone()>
            <div class="recipe-head">
                <span class="recipe-name">{name.clone()}</span>
                <span class="recipe-origin">{origin}</span>
                <button
                    type="button"
                    class="recipe-apply"
                    data-testid="recipe-apply"
                    aria-label=format!("Apply the recipe {name}")
                    on:click=apply
                >
                    "Apply"
                </button>
                {actions}
            </div>
            <details class="recipe-details">
                <summary>"What it sets"</summary>
                <dl class="recipe-settings">{settings}</dl>
            </details>
        </li>
    }
}

/// Rename and delete, for the person's own recipes.
fn own_actions(
    recipe: Recipe,
    keeping: Keeping,
    status: RwSignal<Option<String>>,
    taken: Vec<String>,
) -> impl IntoView {
    let renaming = RwSignal::new(false);
    let new_name = RwSignal::new(recipe.name.clone());
    let name = recipe.name.clone();
    let rename = {
        let recipe = recipe.clone();
        move || {
            let typed = new_name.get_untracked();
            let renamed = match Recipe::new(&typed, &recipe.params) {
                Ok(renamed) => renamed,
                Err(error) => return status.set(Some(error.to_string())),
            };
            if renamed.name != recipe.name && taken.contains(&renamed.name) {
                return status.set(Some(format!(
                    "A recipe named “{}” exists already; choose another name.",
                    renamed.name
                )));
            }
            status.set(Some(format!(
                "Renamed “{}” to “{}”.",
                recipe.name, renamed.name
            )));
            renaming.set(false);
            keeping.save.run((renamed, Some(recipe.name.clone())));
        }
    };
    let delete = {
        let name = name.clone();
        move |_| {
            status.set(Some(format!("Deleted the recipe “{name}”.")));
            keeping.delete.run(name.clone());
        }
    };
    let field_id = crate::page::unique_id("recipe-rename");
    view! {
        <button
            type="button"
            data-testid="recipe-rename"
            aria-label=format!("Rename the recipe {name}")
            on:click=move |_| renaming.update(|on| *on = !*on)
        >
            "Rename"
        </button>
        <button
            type="button"
            data-testid="recipe-delete"
            aria-label=format!("Delete the recipe {name}")
            on:click=delete
        >
            "Delete"
        </button>
        {move || {
            let rename = rename.clone();
            let field_id = field_id.clone();
            renaming.get().then(|| view! {
                <form
                    class="recipe-rename"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        rename();
                    }
                >
                    <label for=field_id.clone()>"New name"</label>
                    <input
                        id=field_id.clone()
                        type="text"
                        data-testid="recipe-new-name"
                        prop:value=move || new_name.get()
                        on:input=move |ev| new_name.set(event_target_value(&ev))
                    />
                    <button type="submit" data-testid="recipe-rename-save">"Save name"</button>
                </form>
            })
        }}
    }
}
