//! Variants: one distribution, several deployments.
//!
//! Our format lists them under `variants:`; each names components of the recipe and adds
//! values files (after `helm.valuesFiles`), inline values (deep-merged over `helm.values`) and
//! manifests. AICR's registry takes its variants from the overlays beside it
//! ([`crate::overlay`]). [`Recipe::variant`] resolves one into a recipe of its own.

use crate::{overlay, Format, Recipe, RecipeError, ValuesLayers};
use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value;

/// A named variant of our format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VariantDef {
    /// Unique name: lower-case letters, digits and `-`.
    pub name: String,
    /// One-line description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What the variant changes, per component of the recipe.
    #[serde(default)]
    pub components: Vec<VariantComponent>,
}

/// What a variant adds to one component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VariantComponent {
    /// The component (must exist in `components`).
    pub name: String,
    /// Values files (relative to the recipe), applied after the component's own.
    #[serde(default)]
    pub values_files: Vec<String>,
    /// Inline values, deep-merged over the component's `helm.values`.
    #[serde(default)]
    pub values: Option<Value>,
    /// Manifest files or globs added to the component's.
    #[serde(default)]
    pub manifests: Vec<String>,
}

/// The reserved name that selects every variant on the command line.
pub const ALL: &str = "all";

impl Recipe {
    /// The recipe's variant names, in recipe order (our format) or sorted (AICR overlays).
    pub fn variant_names(&self) -> Vec<String> {
        match &self.catalog {
            Some(c) => c.names(),
            None => self.variant_defs.iter().map(|v| v.name.clone()).collect(),
        }
    }

    /// The recipe of variant `name`: its components with the variant's values and manifests.
    pub fn variant(&self, name: &str) -> Result<Recipe, RecipeError> {
        let mut out = self.clone();
        out.variant = Some(name.to_string());
        out.components = match &self.catalog {
            Some(c) => c.components(name, &self.components)?,
            None => self.apply(name)?,
        };
        let checks = crate::Checker { recipe: &out };
        let in_variant = |e: RecipeError| match e {
            RecipeError::Invalid {
                path,
                line,
                field,
                message,
            } => RecipeError::Invalid {
                path,
                line,
                field,
                message: format!("variant {name:?}: {message}"),
            },
            other => other,
        };
        checks.components().map_err(in_variant)?;
        out.manifest_files = checks.manifest_files().map_err(in_variant)?;
        Ok(out)
    }

    fn variant_error(&self, needle: &str, field: String, message: String) -> RecipeError {
        RecipeError::Invalid {
            path: self.path.display().to_string(),
            line: self.line_of(needle, self.line_of("variants:", 1)),
            field,
            message,
        }
    }

    fn apply(&self, name: &str) -> Result<Vec<crate::Component>, RecipeError> {
        let (i, def) = self
            .variant_defs
            .iter()
            .enumerate()
            .find(|(_, v)| v.name == name)
            .ok_or_else(|| {
                self.variant_error(
                    "variants:",
                    "variants".into(),
                    format!(
                        "no variant {name:?} (the recipe's variants: {})",
                        self.variant_names().join(", ")
                    ),
                )
            })?;
        let mut components = self.components.clone();
        for (j, vc) in def.components.iter().enumerate() {
            let field = format!("variants[{i}].components[{j}]");
            let c = components
                .iter_mut()
                .find(|c| c.name == vc.name)
                .ok_or_else(|| {
                    self.variant_error(
                        &format!("name: {}", vc.name),
                        format!("{field}.name"),
                        format!("variant {name:?}: no component {:?} in the recipe", vc.name),
                    )
                })?;
            c.manifests.extend(vc.manifests.iter().cloned());
            let inline = merged(c.helm.as_ref().and_then(|h| h.values.clone()), &vc.values);
            match c.helm.as_mut() {
                Some(h) => {
                    h.values_files.extend(vc.values_files.iter().cloned());
                    h.values = inline;
                }
                None => {
                    let l = c.manifest_values.get_or_insert_with(ValuesLayers::default);
                    l.files.extend(vc.values_files.iter().cloned());
                    l.inline = merged(l.inline.take(), &vc.values);
                }
            }
        }
        Ok(components)
    }

    /// Checks the variants of our format: names, and that each resolves.
    pub(crate) fn check_variants(&self) -> Result<(), RecipeError> {
        if self.format == Format::AicrRegistry {
            return Ok(());
        }
        let mut seen = Vec::new();
        for (i, v) in self.variant_defs.iter().enumerate() {
            let ok = crate::is_dns_label(&v.name) && v.name != ALL;
            if !ok || seen.contains(&&v.name) {
                let why = if ok { "duplicate" } else { "invalid" };
                let needle = format!("name: {}", v.name);
                let first = self.line_of(&needle, self.line_of("variants:", 1));
                return Err(RecipeError::Invalid {
                    path: self.path.display().to_string(),
                    line: if ok {
                        self.line_of(&needle, first + 1)
                    } else {
                        first
                    },
                    field: format!("variants[{i}].name"),
                    message: format!(
                        "{why} variant name {:?} (lower-case letters, digits and `-`; not `all`)",
                        v.name
                    ),
                });
            }
            seen.push(&v.name);
            self.variant(&v.name)?;
        }
        Ok(())
    }
}

/// `over` deep-merged onto `base` (maps recurse; anything else replaces).
fn merged(base: Option<Value>, over: &Option<Value>) -> Option<Value> {
    match (base, over) {
        (Some(Value::Mapping(mut b)), Some(Value::Mapping(o))) => {
            overlay::deep_merge(&mut b, o);
            Some(Value::Mapping(b))
        }
        (b, None) => b,
        (_, Some(o)) => Some(o.clone()),
    }
}
