//! The package formats of air-gap tools, and imagebom's own plan.
//!
//! - Hauler: `content.hauler.cattle.io/v1` manifests, a `kind: Images` (every image by
//!   digest, `platform` when filtered) and a `kind: Charts` (`repoURL`, `name`, `version`),
//!   as `hauler store sync --filename` reads them. Field names follow Hauler's
//!   `pkg/apis/hauler.cattle.io/v1` types.
//! - Zarf: a `zarf.yaml` `kind: ZarfPackageConfig` with one component per recipe component,
//!   its `charts` (`url` + `version` for OCI, `url` + `repoName` + `version` for a chart
//!   repository, `localPath` for a local chart; `namespace`, `releaseName`, `valuesFiles`) and
//!   `images` by digest (`repository:tag@digest` when the reference has a tag, so that the
//!   package holds the tag its pods name), as `zarf package create` reads it. Field names follow Zarf's
//!   `zarf.schema.json` (v1alpha1).
//! - plan: everything the mirror needs, as JSON: images (index and chosen platform digests,
//!   mirror location) and charts (source, version, digest, mirror location).

use super::charts::{ChartKind, PlanChart};
use super::platform::CopyUnit;
use super::{mirrored_repository, MirrorOptions};
use crate::EmitError;
use imagebom_model::Inventory;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::fmt::Write;

/// What the recipe says about a component that the inventory does not carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentExtra {
    /// The chart's values files, as written in the recipe (relative to it).
    pub values_files: Vec<String>,
    /// Whether the recipe gives inline `values` (Zarf needs them in a file).
    pub inline_values: bool,
    /// The Helm release name, when the recipe sets one.
    pub release_name: Option<String>,
}

/// Comment lines recording, for each platform-filtered image, its index digest and the
/// platforms chosen from it.
fn platform_comments(units: &[CopyUnit]) -> String {
    let mut out = String::new();
    for u in units {
        if let Some(p) = &u.platform {
            let _ = writeln!(
                out,
                "# {}@{}: {} {}",
                u.source,
                p.index,
                p.spec,
                u.digest.as_deref().unwrap_or("")
            );
        }
    }
    out
}

fn to_yaml(doc: &Value, format: &'static str) -> Result<String, EmitError> {
    serde_yaml_ng::to_string(doc).map_err(|e| EmitError::Serialize {
        format,
        message: e.to_string(),
    })
}

/// Hauler's `Images` and `Charts` manifests, one YAML stream.
pub fn hauler(
    inv: &Inventory,
    units: &[CopyUnit],
    charts: &[PlanChart],
) -> Result<String, EmitError> {
    let name = dns_name(&inv.recipe.name);
    let images: Vec<Value> = units
        .iter()
        .map(|u| {
            let mut m = Map::new();
            m.insert("name".into(), u.pull_ref().into());
            if let Some(p) = &u.platform {
                m.insert("platform".into(), p.spec.clone().into());
            }
            Value::Object(m)
        })
        .collect();
    let mut out = String::from("# Hauler content manifests (imagebom mirror --format hauler):\n# hauler store sync --filename THIS_FILE\n");
    out.push_str(&platform_comments(units));
    out.push_str(&to_yaml(
        &json!({
            "apiVersion": "content.hauler.cattle.io/v1",
            "kind": "Images",
            "metadata": {"name": format!("{name}-images")},
            "spec": {"images": images},
        }),
        "Hauler Images",
    )?);
    let tops: Vec<Value> = charts
        .iter()
        .filter(|c| c.subchart_of.is_none())
        .map(|c| {
            let mut m = Map::new();
            match c.kind {
                // A local chart: Hauler takes its path as the name (relative to the recipe).
                ChartKind::Local => {
                    m.insert("name".into(), c.repository.clone().into());
                }
                _ => {
                    m.insert("name".into(), c.name.clone().into());
                    m.insert("repoURL".into(), c.repository.clone().into());
                }
            }
            m.insert("version".into(), c.version.clone().into());
            if c.remote_subcharts {
                m.insert("add-dependencies".into(), true.into());
            }
            Value::Object(m)
        })
        .collect();
    if !tops.is_empty() {
        out.push_str("---\n");
        out.push_str(&to_yaml(
            &json!({
                "apiVersion": "content.hauler.cattle.io/v1",
                "kind": "Charts",
                "metadata": {"name": format!("{name}-charts")},
                "spec": {"charts": tops},
            }),
            "Hauler Charts",
        )?);
    }
    Ok(out)
}

/// A name Zarf accepts (`^[a-z0-9][a-z0-9-]*$`): lower case, anything else a `-`.
fn dns_name(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_start_matches('-');
    if trimmed.is_empty() {
        "imagebom".to_string()
    } else {
        trimmed.to_string()
    }
}

/// The `zarf.yaml` package definition.
pub fn zarf(
    inv: &Inventory,
    units: &[CopyUnit],
    charts: &[PlanChart],
    opts: &MirrorOptions,
) -> Result<String, EmitError> {
    let mut metadata = Map::new();
    metadata.insert("name".into(), dns_name(&inv.recipe.name).into());
    if !inv.recipe.version.is_empty() {
        metadata.insert(
            "version".into(),
            inv.recipe.version.replace(['/', '\\'], "-").into(),
        );
    }
    if let Some(d) = &inv.recipe.description {
        metadata.insert("description".into(), d.clone().into());
    }
    if let Some(s) = &inv.recipe.supplier {
        metadata.insert("vendor".into(), s.clone().into());
    }
    let archs: BTreeSet<&str> = opts
        .platforms
        .iter()
        .map(|p| p.architecture.as_str())
        .collect();
    if let [arch] = archs.into_iter().collect::<Vec<_>>().as_slice() {
        metadata.insert("architecture".into(), (*arch).into());
    }
    let mut notes = String::new();
    let mut components = Vec::new();
    let mut names = BTreeSet::new();
    for c in &inv.components {
        let name = dns_name(&c.name);
        if !names.insert(name.clone()) {
            return Err(EmitError::Serialize {
                format: "zarf.yaml",
                message: format!(
                    "component {:?} has the same Zarf name {name:?} as another component",
                    c.name
                ),
            });
        }
        let extra = opts
            .components
            .and_then(|m| m.get(&c.name))
            .cloned()
            .unwrap_or_default();
        let mut m = Map::new();
        m.insert("name".into(), name.into());
        if let Some(d) = &c.display_name {
            m.insert("description".into(), d.clone().into());
        }
        let zcharts: Vec<Value> = charts
            .iter()
            .filter(|ch| ch.component == c.name && ch.subchart_of.is_none())
            .map(|ch| zarf_chart(ch, &extra))
            .collect();
        if !zcharts.is_empty() {
            if extra.inline_values {
                let _ = writeln!(
                    notes,
                    "# component {}: the recipe's inline values are not in valuesFiles; write them to a file and add it",
                    c.name
                );
            }
            m.insert("charts".into(), zcharts.into());
        }
        let images: BTreeSet<String> = units
            .iter()
            .filter(|u| {
                inv.images
                    .get(u.key)
                    .is_some_and(|e| e.occurrences.iter().any(|o| o.component == c.name))
            })
            .map(|u| u.pinned_ref())
            .collect();
        if !images.is_empty() {
            m.insert(
                "images".into(),
                images.into_iter().collect::<Vec<_>>().into(),
            );
        }
        components.push(Value::Object(m));
    }
    if components.is_empty() {
        return Err(EmitError::Serialize {
            format: "zarf.yaml",
            message: "the recipe has no components (a Zarf package needs one)".into(),
        });
    }
    let mut out = String::from(
        "# Zarf package definition (imagebom mirror --format zarf): zarf package create DIR\n# Paths (localPath, valuesFiles) are relative to the recipe: write zarf.yaml beside it.\n",
    );
    out.push_str(&notes);
    out.push_str(&platform_comments(units));
    out.push_str(&to_yaml(
        &json!({"kind": "ZarfPackageConfig", "metadata": metadata, "components": components}),
        "zarf.yaml",
    )?);
    Ok(out)
}

fn zarf_chart(ch: &PlanChart, extra: &ComponentExtra) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), ch.name.clone().into());
    m.insert("version".into(), ch.version.clone().into());
    m.insert(
        "namespace".into(),
        ch.namespace
            .clone()
            .unwrap_or_else(|| "default".into())
            .into(),
    );
    match ch.kind {
        ChartKind::Oci => {
            m.insert(
                "url".into(),
                format!("{}/{}", ch.repository, ch.name).into(),
            );
        }
        ChartKind::Http => {
            m.insert("url".into(), ch.repository.clone().into());
            m.insert("repoName".into(), ch.name.clone().into());
        }
        ChartKind::Local => {
            m.insert("localPath".into(), ch.repository.clone().into());
        }
    }
    if let Some(r) = &extra.release_name {
        m.insert("releaseName".into(), r.clone().into());
    }
    if !extra.values_files.is_empty() {
        m.insert("valuesFiles".into(), extra.values_files.clone().into());
    }
    Value::Object(m)
}

/// The whole mirror plan as JSON.
pub fn plan(
    inv: &Inventory,
    units: &[CopyUnit],
    charts: &[PlanChart],
    opts: &MirrorOptions,
) -> Result<String, EmitError> {
    let target = opts.target.filter(|t| !t.trim().is_empty());
    let images: Vec<Value> = units
        .iter()
        .map(|u| {
            let mut m = Map::new();
            m.insert("source".into(), u.source.clone().into());
            if let Some(t) = u.tag {
                m.insert("tag".into(), t.into());
            }
            if let Some(d) = &u.digest {
                m.insert("digest".into(), d.clone().into());
            }
            if let Some(p) = &u.platform {
                m.insert("platform".into(), p.spec.clone().into());
                m.insert("index".into(), p.index.clone().into());
            }
            if let Some(t) = target {
                let repo = u
                    .source
                    .split_once('/')
                    .map_or(u.source.as_str(), |(_, r)| r);
                m.insert("target".into(), mirrored_repository(t, repo).into());
            }
            Value::Object(m)
        })
        .collect();
    let doc = json!({
        "recipe": {"name": inv.recipe.name, "version": inv.recipe.version},
        "platforms": opts.platforms.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        "images": images,
        "charts": charts,
    });
    let mut s = serde_json::to_string_pretty(&doc).map_err(|e| EmitError::Serialize {
        format: "mirror plan",
        message: e.to_string(),
    })?;
    s.push('\n');
    Ok(s)
}
