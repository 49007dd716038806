//! The recipe: which charts and manifests make up a Kubernetes distribution.
//!
//! A recipe (`recipes/registry.yaml` by default) is YAML in this shape (JSON schema:
//! `schemas/recipe.schema.json`):
//!
//! ```yaml
//! apiVersion: imagebom.dev/v1alpha1
//! kind: Recipe
//! metadata: { name: registry, version: 2026.11.0, supplier: Example Corp }
//! components:
//!   - name: ingress
//!     displayName: Ingress controller
//!     namespace: ingress-nginx
//!     helm: { repository: https://kubernetes.github.io/ingress-nginx, chart: ingress-nginx, version: 4.15.1 }
//!     manifests: [manifests/ingress/*.yaml]
//!     images:
//!       - { ref: registry.k8s.io/pause:3.10, reason: pulled by the kubelet, never rendered }
//! exemptions:
//!   - { ref: docker.io/library/busybox:1.37, reason: test-only, tracking: https://example.invalid/T-1 }
//! ```
//!
//! [`Recipe::load`] reads and validates a recipe: unknown fields, wrong types, invalid image
//! references and manifest paths that match no file are errors naming the file, line and field.
//! AICR's component registry (`kind: ComponentRegistry`) is read as a recipe too ([`aicr`]).

pub mod aicr;
pub mod overlay;
pub mod trust;
pub mod variants;

use imagebom_model::{ChartInfo, ComponentInfo, ComponentTrust, ImageRef, RecipeInfo};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The only `apiVersion` this build reads.
pub const API_VERSION: &str = "imagebom.dev/v1alpha1";
/// The only `kind` of a recipe.
pub const KIND: &str = "Recipe";
/// Largest recipe file accepted, in bytes.
pub const MAX_RECIPE_BYTES: u64 = 4 << 20;

/// Why a recipe could not be loaded. Every variant names the file; most name a line and field.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    /// The file could not be read.
    #[error("{path}: cannot read recipe: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_RECIPE_BYTES`].
    #[error("{path}: recipe is larger than the {MAX_RECIPE_BYTES}-byte limit")]
    TooLarge { path: String },
    /// YAML syntax error, wrong type or unknown field.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// The recipe parses but a field has an invalid value.
    #[error("{path}:{line}: {field}: {message}")]
    Invalid {
        path: String,
        line: usize,
        field: String,
        message: String,
    },
}

/// `metadata` of a recipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// Name of the distribution.
    pub name: String,
    /// Version of the distribution.
    pub version: String,
    /// One-line description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who supplies the distribution (organisation name), reported as BOM supplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
}

/// A Helm chart to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelmSource {
    /// A local chart directory or `.tgz` (relative to the recipe), an `https://` chart
    /// repository, or an `oci://` registry path.
    pub repository: String,
    /// Chart name.
    pub chart: String,
    /// Chart version; an exact semantic version pins it.
    #[serde(default)]
    pub version: String,
    /// Values files, relative to the recipe, applied in order.
    #[serde(default)]
    pub values_files: Vec<String>,
    /// Inline values, applied after the files.
    #[serde(default)]
    pub values: Option<serde_yaml_ng::Value>,
    /// Release name (`.Release.Name`); the component name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// Render the chart's `crds/` directory too (as `helm template --include-crds`).
    #[serde(default)]
    pub include_crds: bool,
}

/// Recipe-wide rendering settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// Kubernetes version charts see as `.Capabilities.KubeVersion` (and are checked against
    /// with their `kubeVersion` constraint); Helm's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_version: Option<String>,
    /// API versions added to Helm's default `.Capabilities.APIVersions` (`group/version` or
    /// `group/version/Kind`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_versions: Vec<String>,
    /// How manifest files are read unless a component says otherwise (`plain` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifests_are: Option<ManifestsAre>,
    /// Chart mirrors: a chart location (`https://repo[/chart]` or `oci://prefix[/chart]`) →
    /// where to fetch it instead (a directory of charts or `.tgz` files, a chart directory or
    /// archive, an `https://` repository or an `oci://` prefix). Local paths are relative to
    /// the recipe. The BOM keeps the canonical repository.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub chart_mirrors: BTreeMap<String, String>,
}

/// How a component's manifest files are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ManifestsAre {
    /// As they are (the default).
    #[default]
    Plain,
    /// A file that contains `{{` is a Go template, rendered with Helm's functions before
    /// extraction; other files are read as they are.
    Templates,
}

/// The format a recipe was written in; it decides the objects templated manifests see.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// Our own (`imagebom.dev/v1alpha1`, `kind: Recipe`): `.Values` is the component's values
    /// (values files, then inline values), `.Release.Name` its release name, `.Chart.Name` and
    /// `.Chart.Version` its chart's (the component name and `0.1.0` without a chart).
    #[default]
    Imagebom,
    /// AICR's component registry: `.Values` = `{<component>: <its values>}`,
    /// `.Release.Name` = `<component>-post`, `.Chart.Name` the chart name (else the component
    /// name), `.Chart.Version` its version without a leading `v` (`0.1.0` when empty).
    AicrRegistry,
}

/// An image a component deploys that no manifest names (pulled at runtime, say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExtraImage {
    /// The image reference.
    #[serde(rename = "ref")]
    pub reference: String,
    /// Why it belongs to the component.
    pub reason: String,
}

/// A documented exemption from the digest-pin policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Exemption {
    /// The image reference the exemption covers.
    #[serde(rename = "ref")]
    pub reference: String,
    /// Why the image may stay unpinned.
    pub reason: String,
    /// Link to the issue tracking its removal.
    pub tracking: String,
}

/// One component of the distribution.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Component {
    /// Unique name: lower-case letters, digits and `-`.
    pub name: String,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Namespace the component is installed into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The chart, for Helm components.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<HelmSource>,
    /// Manifest files or globs, relative to the recipe.
    #[serde(default)]
    pub manifests: Vec<String>,
    /// A kustomization directory, built as `kustomize build` does (after the manifests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<KustomizeSource>,
    /// Images the component deploys that no manifest names.
    #[serde(default)]
    pub images: Vec<ExtraImage>,
    /// How this component's manifest files are read (`settings.manifestsAre` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifests_are: Option<ManifestsAre>,
    /// Values files (relative to the recipe, in order) for the templated manifests of a
    /// component without a chart (a chart's are `helm.valuesFiles`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_files: Vec<String>,
    /// Inline values for the templated manifests of a component without a chart, applied
    /// after `valuesFiles` (a chart's are `helm.values`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<serde_yaml_ng::Value>,
    /// The values templated manifests see when the component has no chart: its `valuesFiles`
    /// and `values`, then those of a variant.
    #[serde(skip)]
    pub manifest_values: Option<ValuesLayers>,
    /// Whom the recipe trusts to sign the component's images ([`trust`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<trust::VerifySpec>,
    /// Who answers for images that cannot be verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The deploy-time policy that covers images that cannot be verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission_policy: Option<trust::AdmissionPolicySpec>,
    /// Per-image overrides of `verify`, `owner` and `admissionPolicy`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_policies: Vec<trust::ImagePolicySpec>,
    /// The validated trust policy (keys read), set by [`Recipe::load`].
    #[serde(skip)]
    pub trust: Option<ComponentTrust>,
}

/// A component's kustomization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KustomizeSource {
    /// The kustomization directory, relative to the recipe.
    pub path: String,
}

/// An inline values document (YAML).
pub type Values = serde_yaml_ng::Value;

/// Values as layers: files (relative to the recipe) in order, then inline values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValuesLayers {
    /// Values files, relative to the recipe.
    pub files: Vec<String>,
    /// Inline values, applied after the files.
    pub inline: Option<serde_yaml_ng::Value>,
}

/// The document as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RecipeDoc {
    api_version: String,
    kind: String,
    metadata: Metadata,
    components: Vec<Component>,
    #[serde(default)]
    exemptions: Vec<Exemption>,
    #[serde(default)]
    settings: Settings,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    variants: Vec<variants::VariantDef>,
    #[serde(skip)]
    format: Format,
    #[serde(skip)]
    catalog: Option<overlay::Catalog>,
}

/// `apiVersion` and `kind`, read first to choose the format.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
}

/// A loaded, validated recipe.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    /// Path of the recipe file, as given.
    pub path: PathBuf,
    /// `metadata`.
    pub metadata: Metadata,
    /// Components, in recipe order.
    pub components: Vec<Component>,
    /// Digest-pin exemptions.
    pub exemptions: Vec<Exemption>,
    /// Rendering settings.
    pub settings: Settings,
    /// The format the recipe was written in.
    pub format: Format,
    /// For each component (same index), its manifest files: globs expanded, sorted, relative
    /// to the current directory as the recipe path is.
    pub manifest_files: Vec<Vec<PathBuf>>,
    /// The variant this recipe was resolved for ([`Recipe::variant`]); `None` for the recipe
    /// as written.
    pub variant: Option<String>,
    variant_defs: Vec<variants::VariantDef>,
    catalog: Option<overlay::Catalog>,
    text: String,
}

impl Recipe {
    /// Reads and validates the recipe at `path`.
    pub fn load(path: &Path) -> Result<Recipe, RecipeError> {
        let display = path.display().to_string();
        let io = |source| RecipeError::Io {
            path: display.clone(),
            source,
        };
        let bytes = imagebom_model::fsutil::read_limited(path, MAX_RECIPE_BYTES)
            .map_err(io)?
            .ok_or_else(|| RecipeError::TooLarge {
                path: display.clone(),
            })?;
        let text = String::from_utf8(bytes).map_err(|_| RecipeError::Syntax {
            path: display.clone(),
            line: 1,
            column: 1,
            message: "recipe is not UTF-8 text".into(),
        })?;
        Self::parse(path, text)
    }

    /// Parses and validates recipe `text`; `path` locates errors and relative paths.
    /// A leading UTF-8 byte-order mark is skipped, as YAML allows.
    pub fn parse(path: &Path, text: String) -> Result<Recipe, RecipeError> {
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        let header: Option<Header> = serde_yaml_ng::from_str(&text).ok();
        let doc: RecipeDoc = match header {
            Some(h) if aicr::is_registry(&h.api_version, &h.kind) => aicr::parse(path, &text)?,
            _ => serde_yaml_ng::from_str(&text).map_err(|e| syntax(path, &e))?,
        };
        let mut recipe = Recipe {
            path: path.to_path_buf(),
            metadata: doc.metadata,
            components: doc.components,
            exemptions: doc.exemptions,
            settings: doc.settings,
            format: doc.format,
            manifest_files: Vec::new(),
            variant: None,
            variant_defs: doc.variants,
            catalog: doc.catalog,
            text,
        };
        let checks = Checker { recipe: &recipe };
        checks.header(&doc.api_version, &doc.kind)?;
        checks.components()?;
        checks.exemptions()?;
        checks.settings()?;
        let files = checks.manifest_files()?;
        let trusts = (0..recipe.components.len())
            .map(|i| trust::resolve(&recipe, i, checks.component_line(i)))
            .collect::<Result<Vec<_>, _>>()?;
        recipe.manifest_files = files;
        for (c, t) in recipe.components.iter_mut().zip(trusts) {
            c.trust = t;
            if c.helm.is_none() && (!c.values_files.is_empty() || c.values.is_some()) {
                c.manifest_values = Some(ValuesLayers {
                    files: c.values_files.clone(),
                    inline: c.values.clone(),
                });
            }
        }
        recipe.check_variants()?;
        Ok(recipe)
    }

    /// Directory the recipe's relative paths start from.
    pub fn base_dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// Path of the lock file beside the recipe (`imagebom.lock`).
    pub fn lock_path(&self) -> PathBuf {
        self.base_dir().join("imagebom.lock")
    }

    /// How the manifest files of component `i` are read.
    pub fn manifests_are(&self, i: usize) -> ManifestsAre {
        self.components[i]
            .manifests_are
            .or(self.settings.manifests_are)
            .unwrap_or_default()
    }

    /// The recipe as the subject of a BOM.
    pub fn info(&self) -> RecipeInfo {
        RecipeInfo {
            name: self.metadata.name.clone(),
            version: self.metadata.version.clone(),
            description: self.metadata.description.clone(),
            supplier: self.metadata.supplier.clone(),
        }
    }

    /// The components as a BOM reports them.
    pub fn component_infos(&self) -> Vec<ComponentInfo> {
        self.components
            .iter()
            .map(|c| ComponentInfo {
                name: c.name.clone(),
                display_name: c.display_name.clone(),
                namespace: c.namespace.clone(),
                chart: c.helm.as_ref().map(|h| ChartInfo {
                    repository: h.repository.clone(),
                    chart: h.chart.clone(),
                    version: h.version.clone(),
                    pinned: is_exact_semver(&h.version),
                    rendered: None,
                }),
                manifests: c.manifests.clone(),
                trust: c.trust.clone(),
            })
            .collect()
    }

    /// 1-based line of the first line that mentions `needle` at or after line `from`
    /// (best effort, used to locate values in errors); `from` when not found.
    pub fn line_of(&self, needle: &str, from: usize) -> usize {
        line_of(&self.text, needle, from)
    }
}

/// A YAML syntax, type or unknown-field error at its line and column.
pub(crate) fn syntax(path: &Path, e: &serde_yaml_ng::Error) -> RecipeError {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((1, 1));
    RecipeError::Syntax {
        path: path.display().to_string(),
        line,
        column,
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or("")
            .to_string(),
    }
}

pub(crate) fn line_of(text: &str, needle: &str, from: usize) -> usize {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .unwrap_or(from.max(1))
}

/// Removes `.` and `dir/..` pairs lexically (`recipes/../fixtures/a.yaml` → `fixtures/a.yaml`),
/// so evidence shows the paths a reader would write.
fn clean(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            _ => out.push(c),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

/// True when `v` is an exact semantic version (`1.2.3`, `v1.2.3`, `1.2.3-rc.1+build`):
/// the only chart versions that pin what gets rendered. Ranges (`^1.2`, `~1`, `>=1`, `1.x`)
/// and empty versions do not.
pub fn is_exact_semver(v: &str) -> bool {
    let v = v.strip_prefix('v').unwrap_or(v);
    let (core, rest) = match v.find(['-', '+']) {
        Some(i) => (&v[..i], &v[i..]),
        None => (v, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = |p: &&str| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p.len() == 1 || !p.starts_with('0'))
    };
    let ident_ok = |s: &str| {
        !s.is_empty()
            && s.split('.')
                .all(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    let rest_ok = if rest.is_empty() {
        true
    } else {
        let (pre, build) = match rest.find('+') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let pre_ok = pre.is_empty() || ident_ok(&pre[1..]);
        pre_ok && build.is_none_or(ident_ok)
    };
    parts.len() == 3 && parts.iter().all(numeric) && rest_ok
}

/// Lower-case letters, digits and `-`, at most 63, not starting or ending with `-`.
fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

struct Checker<'a> {
    recipe: &'a Recipe,
}

impl Checker<'_> {
    fn invalid(&self, line: usize, field: String, message: impl Into<String>) -> RecipeError {
        RecipeError::Invalid {
            path: self.recipe.path.display().to_string(),
            line,
            field,
            message: message.into(),
        }
    }

    /// Line of the `index`-th item of the top-level `components:` list (best effort: block
    /// style; the `components:` line itself for flow style).
    fn component_line(&self, index: usize) -> usize {
        let lines: Vec<&str> = self.recipe.text.lines().collect();
        let Some(start) = lines.iter().position(|l| l.starts_with("components:")) else {
            return 1;
        };
        let mut indent = None;
        let mut seen = 0;
        for (i, l) in lines.iter().enumerate().skip(start + 1) {
            let trimmed = l.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let ind = l.len() - trimmed.len();
            if ind == 0 && !trimmed.starts_with('-') {
                break;
            }
            if trimmed.starts_with("- ") || trimmed == "-" {
                let want = *indent.get_or_insert(ind);
                if ind == want {
                    if seen == index {
                        return i + 1;
                    }
                    seen += 1;
                }
            }
        }
        start + 1
    }

    fn header(&self, api_version: &str, kind: &str) -> Result<(), RecipeError> {
        if api_version != API_VERSION {
            return Err(self.invalid(
                self.recipe.line_of("apiVersion", 1),
                "apiVersion".into(),
                format!("unsupported apiVersion {api_version:?} (expected {API_VERSION:?})"),
            ));
        }
        if kind != KIND {
            return Err(self.invalid(
                self.recipe.line_of("kind", 1),
                "kind".into(),
                format!("unsupported kind {kind:?} (expected {KIND:?})"),
            ));
        }
        let m = &self.recipe.metadata;
        for (field, value) in [("metadata.name", &m.name), ("metadata.version", &m.version)] {
            if value.trim().is_empty() {
                return Err(self.invalid(
                    self.recipe.line_of("metadata", 1),
                    field.into(),
                    "must not be empty",
                ));
            }
        }
        Ok(())
    }

    fn components(&self) -> Result<(), RecipeError> {
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, c) in self.recipe.components.iter().enumerate() {
            let line = self.component_line(i);
            let field = |f: &str| format!("components[{i}].{f}");
            if !is_dns_label(&c.name) {
                return Err(self.invalid(
                    line,
                    field("name"),
                    format!(
                        "invalid component name {:?} (lower-case letters, digits and `-`, at most 63)",
                        c.name
                    ),
                ));
            }
            if let Some(first) = seen.insert(&c.name, i) {
                return Err(self.invalid(
                    line,
                    field("name"),
                    format!(
                        "duplicate component name {:?} (also components[{first}])",
                        c.name
                    ),
                ));
            }
            if c.helm.is_none()
                && c.manifests.is_empty()
                && c.kustomize.is_none()
                && c.images.is_empty()
                && self.recipe.format == Format::Imagebom
            {
                return Err(self.invalid(
                    line,
                    format!("components[{i}]"),
                    "component has no `helm`, `manifests`, `kustomize` or `images`",
                ));
            }
            if let Some(h) = &c.helm {
                if h.repository.trim().is_empty() {
                    return Err(self.invalid(line, field("helm.repository"), "must not be empty"));
                }
                if h.chart.trim().is_empty() {
                    return Err(self.invalid(line, field("helm.chart"), "must not be empty"));
                }
                if let Some(r) = &h.release_name {
                    let ok = !r.is_empty()
                        && r.len() <= 53
                        && r.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                        })
                        && r.as_bytes()[0].is_ascii_alphanumeric()
                        && r.as_bytes()[r.len() - 1].is_ascii_alphanumeric();
                    if !ok {
                        return Err(self.invalid(
                            self.recipe.line_of("releaseName", line),
                            field("helm.releaseName"),
                            format!("invalid release name {r:?} (a DNS-1123 name of at most 53 characters, as Helm requires)"),
                        ));
                    }
                }
                for (j, f) in h.values_files.iter().enumerate() {
                    let p = self.recipe.base_dir().join(f);
                    if !p.is_file() {
                        return Err(self.invalid(
                            self.recipe.line_of(f, line),
                            field(&format!("helm.valuesFiles[{j}]")),
                            format!("values file {} does not exist", p.display()),
                        ));
                    }
                }
            }
            if c.helm.is_some() && (!c.values_files.is_empty() || c.values.is_some()) {
                let (key, f) = if c.values.is_some() {
                    ("values:", "values")
                } else {
                    ("valuesFiles:", "valuesFiles")
                };
                return Err(self.invalid(
                    self.recipe.line_of(key, line),
                    field(f),
                    format!("a component with a chart takes its values in `helm.{f}`"),
                ));
            }
            for (j, f) in c.values_files.iter().enumerate() {
                let p = self.recipe.base_dir().join(f);
                if !p.is_file() {
                    return Err(self.invalid(
                        self.recipe.line_of(f, line),
                        field(&format!("valuesFiles[{j}]")),
                        format!("values file {} does not exist", p.display()),
                    ));
                }
            }
            for (j, img) in c.images.iter().enumerate() {
                let at = self.recipe.line_of(&img.reference, line);
                if let Err(e) = ImageRef::parse(&img.reference) {
                    return Err(self.invalid(
                        at,
                        field(&format!("images[{j}].ref")),
                        e.to_string(),
                    ));
                }
                if img.reason.trim().is_empty() {
                    return Err(self.invalid(
                        at,
                        field(&format!("images[{j}].reason")),
                        "every explicit image needs a reason",
                    ));
                }
            }
        }
        Ok(())
    }

    fn exemptions(&self) -> Result<(), RecipeError> {
        let start = self.recipe.line_of("exemptions:", 1);
        for (i, e) in self.recipe.exemptions.iter().enumerate() {
            let at = self.recipe.line_of(&e.reference, start);
            let field = |f: &str| format!("exemptions[{i}].{f}");
            if let Err(err) = ImageRef::parse(&e.reference) {
                return Err(self.invalid(at, field("ref"), err.to_string()));
            }
            if e.reason.trim().is_empty() {
                return Err(self.invalid(at, field("reason"), "an exemption needs a reason"));
            }
            if !(e.tracking.starts_with("https://") || e.tracking.starts_with("http://")) {
                return Err(self.invalid(
                    at,
                    field("tracking"),
                    format!("tracking must be an http(s) link, got {:?}", e.tracking),
                ));
            }
        }
        Ok(())
    }

    fn settings(&self) -> Result<(), RecipeError> {
        let s = &self.recipe.settings;
        if let Some(v) = &s.kube_version {
            let core = v.strip_prefix('v').unwrap_or(v);
            let parts: Vec<&str> = core
                .split(['-', '+'])
                .next()
                .unwrap_or("")
                .split('.')
                .collect();
            let ok = (2..=3).contains(&parts.len())
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if !ok {
                return Err(self.invalid(
                    self.recipe.line_of("kubeVersion", 1),
                    "settings.kubeVersion".into(),
                    format!("invalid Kubernetes version {v:?} (expected e.g. v1.34.0)"),
                ));
            }
        }
        for (i, a) in s.api_versions.iter().enumerate() {
            let n = a.split('/').count();
            if a.trim().is_empty() || a.contains(char::is_whitespace) || n > 3 {
                return Err(self.invalid(
                    self.recipe.line_of(a, 1),
                    format!("settings.apiVersions[{i}]"),
                    format!(
                        "invalid API version {a:?} (expected group/version or group/version/Kind)"
                    ),
                ));
            }
        }
        for (from, to) in &s.chart_mirrors {
            if from.trim().is_empty() || to.trim().is_empty() {
                return Err(self.invalid(
                    self.recipe.line_of("chartMirrors", 1),
                    format!("settings.chartMirrors[{from:?}]"),
                    "a chart mirror needs a source and a target",
                ));
            }
        }
        Ok(())
    }

    fn manifest_files(&self) -> Result<Vec<Vec<PathBuf>>, RecipeError> {
        let base = self.recipe.base_dir();
        let mut all = Vec::new();
        for (i, c) in self.recipe.components.iter().enumerate() {
            let line = self.component_line(i);
            let mut files = Vec::new();
            for (j, m) in c.manifests.iter().enumerate() {
                let at = self.recipe.line_of(m, line);
                let field = format!("components[{i}].manifests[{j}]");
                let pattern = base.join(m);
                let matched = expand_glob(&pattern)
                    .map_err(|e| self.invalid(at, field.clone(), format!("glob {m:?}: {e}")))?;
                if matched.is_empty() {
                    return Err(self.invalid(
                        at,
                        field,
                        format!(
                            "manifest {m:?} matches no file (looked for {})",
                            pattern.display()
                        ),
                    ));
                }
                files.extend(matched);
            }
            all.push(dedupe_by_target(files));
        }
        Ok(all)
    }
}

/// Most directory entries one manifest glob may visit.
pub const MAX_GLOB_ENTRIES: usize = 100_000;
/// Deepest a manifest glob's wildcards may descend below its literal directory.
pub const MAX_GLOB_DEPTH: usize = 64;

/// One path component of a glob after its literal directory.
enum GlobSeg {
    /// `**`: zero or more directories.
    AnyDirs,
    /// A name pattern (`*.yaml`, `app-?`, `[ab]`).
    Name(glob::Pattern),
}

/// Expands a manifest glob (already joined to the recipe's directory) into the files it
/// matches, cleaned and sorted. The literal leading directories are taken as written; below
/// them the walk follows a directory symlink only when its target lies inside that literal
/// directory (the walk root) and is not a directory the walk is already inside, so symlink
/// loops are walked once; the walk visits at most [`MAX_GLOB_ENTRIES`] entries and
/// [`MAX_GLOB_DEPTH`] levels.
fn expand_glob(pattern: &Path) -> Result<Vec<PathBuf>, String> {
    let mut root = PathBuf::new();
    let mut segs = Vec::new();
    for c in pattern.components() {
        let text = c.as_os_str().to_string_lossy();
        if segs.is_empty() && !text.contains(['*', '?', '[']) {
            root.push(c);
        } else if text == "**" {
            segs.push(GlobSeg::AnyDirs);
        } else {
            let p = glob::Pattern::new(&text).map_err(|e| format!("bad glob: {e}"))?;
            segs.push(GlobSeg::Name(p));
        }
    }
    if segs.is_empty() {
        return Ok(if root.is_file() {
            vec![clean(&root)]
        } else {
            Vec::new()
        });
    }
    let Ok(canon) = root.canonicalize() else {
        return Ok(Vec::new());
    };
    let mut w = GlobWalk {
        chain: vec![canon.clone()],
        root: canon,
        links: 0,
        entries: 0,
        found: Vec::new(),
    };
    w.walk(&root, &segs)?;
    // Each file once: by its canonical path, reached through the fewest symlinks.
    let mut found: Vec<(PathBuf, usize, PathBuf)> = w
        .found
        .into_iter()
        .map(|(p, links)| {
            (
                p.canonicalize().unwrap_or_else(|_| p.clone()),
                links,
                clean(&p),
            )
        })
        .collect();
    found.sort();
    found.dedup_by(|b, a| a.0 == b.0);
    let mut files: Vec<PathBuf> = found.into_iter().map(|f| f.2).collect();
    files.sort();
    Ok(files)
}

/// The state of one glob expansion.
struct GlobWalk {
    /// Canonical path of the walk root.
    root: PathBuf,
    /// Canonical paths of the directories the walk is inside, root first.
    chain: Vec<PathBuf>,
    /// How many directories of the chain were entered through a symlink.
    links: usize,
    entries: usize,
    /// Matched files, each with the number of symlinks on its path.
    found: Vec<(PathBuf, usize)>,
}

impl GlobWalk {
    /// Matches `segs` against the entries of `dir` (a directory on the current chain).
    fn walk(&mut self, dir: &Path, segs: &[GlobSeg]) -> Result<(), String> {
        let (seg, rest) = segs.split_first().expect("walk is given segments");
        if matches!(seg, GlobSeg::AnyDirs) {
            if rest.is_empty() {
                // A trailing `**` matches directories only, never a manifest file.
                return Ok(());
            }
            self.walk(dir, rest)?;
        }
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        let mut names: Vec<std::ffi::OsString> = Vec::new();
        for e in rd.flatten() {
            self.entries += 1;
            if self.entries > MAX_GLOB_ENTRIES {
                return Err(format!(
                    "the walk visits more than the limit of {MAX_GLOB_ENTRIES} entries"
                ));
            }
            names.push(e.file_name());
        }
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let matched = match seg {
                GlobSeg::AnyDirs => true,
                GlobSeg::Name(p) => p.matches(&name.to_string_lossy()),
            };
            if !matched {
                continue;
            }
            if rest.is_empty() && matches!(seg, GlobSeg::Name(_)) {
                if path.is_file() {
                    let link = is_symlink(&path);
                    self.found.push((path, self.links + usize::from(link)));
                }
            } else if path.is_dir() {
                let next = if matches!(seg, GlobSeg::AnyDirs) {
                    segs
                } else {
                    rest
                };
                self.descend(&path, &name, next)?;
            }
        }
        Ok(())
    }

    /// Walks into directory `path` (entry `name` of the last directory of the chain) unless it
    /// is a symlink leading out of the root or back into the chain.
    fn descend(
        &mut self,
        path: &Path,
        name: &std::ffi::OsStr,
        segs: &[GlobSeg],
    ) -> Result<(), String> {
        let link = is_symlink(path);
        let canon = if link {
            match path.canonicalize() {
                Ok(c) if c.starts_with(&self.root) && !self.chain.contains(&c) => c,
                _ => return Ok(()),
            }
        } else {
            self.chain.last().expect("chain holds the root").join(name)
        };
        if self.chain.len() > MAX_GLOB_DEPTH {
            return Err(format!(
                "the walk descends deeper than the limit of {MAX_GLOB_DEPTH} directories"
            ));
        }
        self.chain.push(canon);
        self.links += usize::from(link);
        let r = self.walk(path, segs);
        self.links -= usize::from(link);
        self.chain.pop();
        r
    }
}

fn is_symlink(path: &Path) -> bool {
    path.symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
}

/// `files` without the later ones naming a file seen before (through a symlink or another
/// glob), in their order.
fn dedupe_by_target(files: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = std::collections::BTreeSet::new();
    files
        .into_iter()
        .filter(|f| seen.insert(f.canonicalize().unwrap_or_else(|_| f.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_pins() {
        for v in [
            "1.2.3",
            "v1.2.3",
            "0.0.1-rc.1",
            "1.0.0+build.5",
            "10.20.30-alpha-1",
        ] {
            assert!(is_exact_semver(v), "{v}");
        }
        for v in [
            "", "1.2", "^1.2.3", "~1.2.3", ">=1.0.0", "1.x", "01.2.3", "1.2.3-", "latest",
        ] {
            assert!(!is_exact_semver(v), "{v}");
        }
    }

    #[test]
    fn clean_paths() {
        assert_eq!(
            clean(Path::new("recipes/../fixtures/./a.yaml")),
            PathBuf::from("fixtures/a.yaml")
        );
        assert_eq!(clean(Path::new("../x/../y")), PathBuf::from("../y"));
        assert_eq!(clean(Path::new("/a/../../b")), PathBuf::from("/b"));
    }

    #[test]
    fn line_search() {
        let t = "a\nb: x\nc: x\n";
        assert_eq!(line_of(t, "x", 1), 2);
        assert_eq!(line_of(t, "x", 3), 3);
        assert_eq!(line_of(t, "zz", 2), 2);
    }
}
