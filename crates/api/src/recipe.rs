//! Named recipes: a prompt and parameters kept under a name, to apply to any image.
//!
//! A deployment ships some in `config.json` (typography presets for a marketing dashboard,
//! say), read-only for the person; the person saves their own.

use serde::{Deserialize, Deserializer, Serialize};

use crate::format_number;
use crate::params::{EditParams, Field, OutputFormat};
use crate::text::truncate_chars;

/// Names longer than this do not fit the list; they are refused, not cut.
pub const RECIPE_NAME_MAX_CHARS: usize = 80;

/// A prompt and parameters under a name. The image is never part of it.
///
/// Read as a deployment writes it, `{"name": "...", "params": {...}}`, the parameters with
/// the provider's field names, as in `defaults`; unknown fields refused, the name checked
/// as [`Recipe::new`] checks it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RecipeFields")]
pub struct Recipe {
    pub name: String,
    pub params: EditParams,
}

/// A recipe as written, before its name is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipeFields {
    name: String,
    #[serde(default)]
    params: EditParams,
}

impl TryFrom<RecipeFields> for Recipe {
    type Error = RecipeError;

    fn try_from(fields: RecipeFields) -> Result<Self, RecipeError> {
        Self::new(&fields.name, &fields.params)
    }
}

/// Why a recipe could not be made, as a sentence for the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecipeError {
    #[error("Give the recipe a name.")]
    EmptyName,
    #[error("A recipe's name can be at most {RECIPE_NAME_MAX_CHARS} characters; shorten it.")]
    NameTooLong,
}

impl Recipe {
    /// The form's prompt and parameters under `name` (trimmed), without the image.
    pub fn new(name: &str, params: &EditParams) -> Result<Self, RecipeError> {
        let name = check_name(name)?;
        Ok(Self {
            name,
            params: EditParams {
                image_url: String::new(),
                ..params.clone()
            },
        })
    }

    /// The form after applying the recipe: its prompt and every parameter, the form's
    /// image kept.
    pub fn applied_to(&self, form: &EditParams) -> EditParams {
        EditParams {
            image_url: form.image_url.clone(),
            ..self.params.clone()
        }
    }

    /// What applying it sets, as label and value, in the form's order; fields the recipe
    /// leaves to the provider's default are said to be so.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        let p = &self.params;
        let number =
            |v: Option<f64>| v.map_or_else(|| "provider default".to_owned(), format_number);
        vec![
            (
                Field::Prompt.label(),
                if p.prompt.is_empty() {
                    "(empty)".to_owned()
                } else {
                    truncate_chars(&p.prompt, 200)
                },
            ),
            (
                Field::AspectRatio.label(),
                p.aspect_ratio.label().to_owned(),
            ),
            (
                Field::OutputFormat.label(),
                p.output_format.map_or_else(
                    || "provider default".to_owned(),
                    |f: OutputFormat| f.label().to_owned(),
                ),
            ),
            (Field::OutputQuality.label(), number(p.output_quality)),
            (Field::Steps.label(), number(p.steps)),
            (Field::Guidance.label(), number(p.guidance)),
            (Field::SafetyTolerance.label(), number(p.safety_tolerance)),
            (
                Field::PromptUpsampling.label(),
                p.prompt_upsampling.map_or_else(
                    || "provider default".to_owned(),
                    |on| if on { "on" } else { "off" }.to_owned(),
                ),
            ),
            (
                Field::Seed.label(),
                p.seed.map_or_else(|| "random".to_owned(), format_number),
            ),
        ]
    }
}

/// Reads a list of recipes, as `config.json`'s `recipes` (for `deserialize_with`; null is
/// no list): two with one name are refused, since the list tells them apart by name.
pub fn deserialize_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<Recipe>>, D::Error> {
    let Some(recipes) = Option::<Vec<Recipe>>::deserialize(deserializer)? else {
        return Ok(None);
    };
    for (i, recipe) in recipes.iter().enumerate() {
        if recipes[..i].iter().any(|r| r.name == recipe.name) {
            return Err(serde::de::Error::custom(format!(
                "recipe {} is named \"{}\" like one before it; give each recipe a name of its own",
                i + 1,
                recipe.name
            )));
        }
    }
    Ok(Some(recipes))
}

fn check_name(name: &str) -> Result<String, RecipeError> {
    let name = name.trim();
    if name.is_empty() {
        Err(RecipeError::EmptyName)
    } else if name.chars().count() > RECIPE_NAME_MAX_CHARS {
        Err(RecipeError::NameTooLong)
    } else {
        Ok(name.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::AspectRatio;

    fn read(text: &str) -> Result<Recipe, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn a_deployments_recipe_reads_and_applies_keeping_the_image() {
        let recipe = read(
            r#"{"name": " Sale headline ", "params": {"prompt": "Add the text SALE in bold red letters at the top", "steps": 30, "aspect_ratio": "16:9"}}"#,
        )
        .unwrap();
        assert_eq!(recipe.name, "Sale headline");
        let form = EditParams {
            image_url: "images/a.png".into(),
            prompt: "old".into(),
            guidance: Some(4.0),
            ..EditParams::default()
        };
        let applied = recipe.applied_to(&form);
        assert_eq!(applied.image_url, "images/a.png");
        assert_eq!(
            applied.prompt,
            "Add the text SALE in bold red letters at the top"
        );
        assert_eq!(applied.steps, Some(30.0));
        assert_eq!(applied.aspect_ratio, AspectRatio::Landscape16x9);
        assert_eq!(applied.guidance, None, "a recipe sets every parameter");
        let settings = recipe.settings();
        assert_eq!(settings[0].0, "Prompt");
        assert!(settings.contains(&("Steps", "30".to_owned())));
        assert!(settings.contains(&("Guidance", "provider default".to_owned())));
        assert!(settings.contains(&("Seed", "random".to_owned())));
    }

    #[test]
    fn names_and_shapes_are_checked() {
        for (text, said) in [
            (r#"{"params": {}}"#, "missing field `name`"),
            (r#"{"name": "  ", "params": {}}"#, "Give the recipe a name."),
            (r#"{"name": "x", "parms": {}}"#, "unknown field `parms`"),
            (
                r#"{"name": "x", "params": {"stpes": 3}}"#,
                "unknown field `stpes`",
            ),
            (
                r#"{"name": 3}"#,
                "invalid type: integer `3`, expected a string",
            ),
        ] {
            let err = read(text).unwrap_err();
            assert!(err.contains(said), "{text}: {err}");
        }
        assert_eq!(
            Recipe::new(&"n".repeat(81), &EditParams::default()),
            Err(RecipeError::NameTooLong)
        );
        let kept = Recipe::new(
            "mine",
            &EditParams {
                image_url: "images/a.png".into(),
                seed: Some(7.0),
                ..EditParams::default()
            },
        )
        .unwrap();
        assert_eq!(
            kept.params.image_url, "",
            "the image is no part of a recipe"
        );
        assert_eq!(kept.params.seed, Some(7.0));
    }

    #[test]
    fn a_list_is_an_array_of_distinct_names() {
        #[derive(Debug, Deserialize)]
        struct File {
            #[serde(default, deserialize_with = "deserialize_list")]
            recipes: Option<Vec<Recipe>>,
        }
        let read = |text: &str| serde_json::from_str::<File>(text).map_err(|e| e.to_string());
        let list =
            read(r#"{"recipes": [{"name": "a"}, {"name": "b", "params": {"prompt": "x"}}]}"#)
                .unwrap()
                .recipes;
        assert_eq!(list.map(|l| l.len()), Some(2));
        assert_eq!(read(r#"{"recipes": null}"#).unwrap().recipes, None);
        let twice = read(r#"{"recipes": [{"name": "a"}, {"name": " a "}]}"#).unwrap_err();
        assert!(
            twice.contains("recipe 2 is named \"a\" like one before it"),
            "{twice}"
        );
        assert!(read(r#"{"recipes": {}}"#).is_err());
    }
}
