//! AICR's component registry (`apiVersion: aicr.run/v1alpha2`, `kind: ComponentRegistry`) read
//! as a recipe, the way AICR's bundler turns it into releases:
//!
//! - each component with `helm.defaultRepository` is the chart `helm.defaultChart` (only its
//!   last `/` segment is the chart name) at `helm.defaultVersion`, rendered as release
//!   `release-<name>` in `helm.defaultNamespace`, with `components/<name>/values.yaml` (beside
//!   the registry) as its values when that file exists;
//! - `components/<name>/manifests/*.yaml` are the component's manifests, rendered as Go
//!   templates with AICR's convention (see [`crate::Format::AicrRegistry`]);
//! - a component with `kustomize.defaultSource` is that kustomization (`defaultPath` in the
//!   source at `defaultTag`), built natively; a git source comes from a mirror (URL → local
//!   directory), never the network;
//! - a component with neither chart, kustomization nor manifests deploys nothing.
//!
//! Fields that do not change which images are deployed ([`IGNORED_FIELDS`]) are accepted and
//! ignored; any other field is an error naming the file and line. The registry has no metadata:
//! the BOM subject is named after the project directory (the parent of `recipes/`) and
//! versioned by the registry's content (`0.0.0+registry.<12 hex of its sha256>`).

use crate::{Component, Format, HelmSource, ManifestsAre, Metadata, RecipeDoc, RecipeError};
use serde::Deserialize;
use sha2::Digest;
use std::path::Path;

/// The `apiVersion` of AICR's component registry.
pub const AICR_API_VERSION: &str = "aicr.run/v1alpha2";
/// The `kind` of AICR's component registry.
pub const AICR_KIND: &str = "ComponentRegistry";

/// Component fields of AICR's registry that are read and ignored: deployment hints that do not
/// change which images are deployed.
pub const IGNORED_FIELDS: &[&str] = &[
    "valueOverrideKeys",
    "healthCheck",
    "nodeScheduling",
    "podScheduling",
    "storageClassPaths",
    "validations",
    "hasSelfRefCRDs",
    "manifestsUseChartCRDs",
    "gkeCriticalPriority",
    "testTier",
];

type Ignored = serde::de::IgnoredAny;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RegistryDoc {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    components: Vec<RegistryComponent>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
struct RegistryComponent {
    name: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    helm: Option<RegistryHelm>,
    #[serde(default)]
    kustomize: Option<RegistryKustomize>,
    // Accepted and ignored (IGNORED_FIELDS).
    #[serde(default)]
    value_override_keys: Option<Ignored>,
    #[serde(default)]
    health_check: Option<Ignored>,
    #[serde(default)]
    node_scheduling: Option<Ignored>,
    #[serde(default)]
    pod_scheduling: Option<Ignored>,
    #[serde(default)]
    storage_class_paths: Option<Ignored>,
    #[serde(default)]
    validations: Option<Ignored>,
    #[serde(default, rename = "hasSelfRefCRDs")]
    has_self_ref_crds: Option<Ignored>,
    #[serde(default, rename = "manifestsUseChartCRDs")]
    manifests_use_chart_crds: Option<Ignored>,
    #[serde(default)]
    gke_critical_priority: Option<Ignored>,
    #[serde(default)]
    test_tier: Option<Ignored>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RegistryHelm {
    #[serde(default)]
    default_repository: String,
    #[serde(default)]
    default_chart: String,
    #[serde(default, deserialize_with = "string_or_number")]
    default_version: String,
    #[serde(default)]
    default_namespace: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RegistryKustomize {
    #[serde(default)]
    default_source: String,
    #[serde(default)]
    default_path: String,
    #[serde(default, deserialize_with = "string_or_number")]
    default_tag: String,
}

/// Where a `kustomize` component's kustomization is: `defaultSource` (a git repository URL, or
/// a directory relative to the registry), `defaultPath` inside it, `defaultTag` as Kustomize's
/// `?ref=`. A remote location is resolved at render time through the chart mirrors (URL →
/// local directory); imagebom never clones it.
fn kustomize_location(k: &RegistryKustomize) -> String {
    let source = k.default_source.trim().trim_end_matches('/');
    let sub = k.default_path.trim().trim_matches('/');
    let remote =
        source.contains("://") || source.starts_with("git@") || source.starts_with("github.com/");
    if !remote {
        return if sub.is_empty() {
            source.to_string()
        } else {
            format!("{source}/{sub}")
        };
    }
    let mut out = source.to_string();
    if !sub.is_empty() {
        out.push_str("//");
        out.push_str(sub);
    }
    let tag = k.default_tag.trim();
    if !tag.is_empty() {
        out.push_str("?ref=");
        out.push_str(tag);
    }
    out
}

pub(crate) fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = serde_yaml_ng::Value::deserialize(d)?;
    match v {
        serde_yaml_ng::Value::String(s) => Ok(s),
        serde_yaml_ng::Value::Number(n) => Ok(n.to_string()),
        serde_yaml_ng::Value::Null => Ok(String::new()),
        _ => Err(serde::de::Error::custom("expected a version string")),
    }
}

/// True when the header names AICR's component registry.
pub(crate) fn is_registry(api_version: &str, kind: &str) -> bool {
    api_version.starts_with("aicr.run/") && kind == AICR_KIND
}

/// Reads AICR's registry `text` into the document our checks run on.
pub(crate) fn parse(path: &Path, text: &str) -> Result<RecipeDoc, RecipeError> {
    let doc: RegistryDoc = serde_yaml_ng::from_str(text).map_err(|e| crate::syntax(path, &e))?;
    if doc.api_version != AICR_API_VERSION {
        return Err(RecipeError::Invalid {
            path: path.display().to_string(),
            line: crate::line_of(text, "apiVersion", 1),
            field: "apiVersion".into(),
            message: format!(
                "unsupported AICR apiVersion {:?} (expected {AICR_API_VERSION:?})",
                doc.api_version
            ),
        });
    }
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    let mut components = Vec::new();
    for (i, c) in doc.components.into_iter().enumerate() {
        components.push(component(path, text, &base, i, c)?);
    }
    Ok(RecipeDoc {
        api_version: crate::API_VERSION.into(),
        kind: crate::KIND.into(),
        metadata: metadata(path, text),
        components,
        exemptions: Vec::new(),
        settings: crate::Settings::default(),
        variants: Vec::new(),
        format: Format::AicrRegistry,
        catalog: Some(crate::overlay::Catalog::load(&base)?),
    })
}

fn component(
    path: &Path,
    text: &str,
    base: &Path,
    i: usize,
    c: RegistryComponent,
) -> Result<Component, RecipeError> {
    let kustomize = match &c.kustomize {
        Some(k) if !k.default_source.trim().is_empty() => Some(crate::KustomizeSource {
            path: kustomize_location(k),
        }),
        Some(k) if !k.default_path.trim().is_empty() => {
            return Err(RecipeError::Invalid {
                path: path.display().to_string(),
                line: crate::line_of(text, "defaultPath", 1),
                field: format!("components[{i}].kustomize.defaultSource"),
                message: format!(
                    "component {:?}: a kustomize component needs `defaultSource`",
                    c.name
                ),
            })
        }
        _ => None,
    };
    let h = c.helm.unwrap_or_default();
    let dir = format!("components/{}", c.name);
    let helm = (!h.default_repository.trim().is_empty()).then(|| {
        let chart = h.default_chart.rsplit('/').next().unwrap_or("").to_string();
        let values = format!("{dir}/values.yaml");
        HelmSource {
            repository: h.default_repository.clone(),
            chart: if chart.is_empty() {
                c.name.clone()
            } else {
                chart
            },
            version: h.default_version.clone(),
            values_files: if base.join(&values).is_file() {
                vec![values]
            } else {
                Vec::new()
            },
            values: None,
            release_name: Some(format!("release-{}", c.name)),
            include_crds: false,
        }
    });
    let manifests = if has_yaml(&base.join(&dir).join("manifests")) {
        vec![format!("{dir}/manifests/*.yaml")]
    } else {
        Vec::new()
    };
    Ok(Component {
        name: c.name,
        display_name: c.display_name,
        namespace: (!h.default_namespace.is_empty()).then_some(h.default_namespace),
        helm,
        manifests,
        kustomize,
        images: Vec::new(),
        manifests_are: Some(ManifestsAre::Templates),
        manifest_values: None,
        ..Component::default()
    })
}

fn has_yaml(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.filter_map(Result::ok)
            .any(|e| e.path().extension().is_some_and(|x| x == "yaml") && e.path().is_file())
    })
}

/// The BOM subject of a registry: the project directory's name and the registry's content.
fn metadata(path: &Path, text: &str) -> Metadata {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = abs.parent();
    let project = match dir.and_then(|d| d.file_name()) {
        Some(n) if n == "recipes" => dir.and_then(Path::parent).and_then(|p| p.file_name()),
        other => other,
    };
    let name = project
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "component-registry".into());
    let digest = hex::encode(sha2::Sha256::digest(text.as_bytes()));
    Metadata {
        name,
        version: format!("0.0.0+registry.{}", &digest[..12]),
        description: Some(format!("AICR component registry ({AICR_API_VERSION})")),
        supplier: None,
    }
}
