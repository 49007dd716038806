//! AICR's overlays (`recipes/overlays/*.yaml`, `kind: RecipeMetadata`) and mixins
//! (`recipes/mixins/*.yaml`, `kind: RecipeMixin`) read as the variants of a registry, merged as
//! AICR's recipe code (`pkg/recipe`) builds a recipe for the overlay's criteria:
//!
//! 1. the overlays whose `criteria` match the variant's (`any` or absent matches all) are the
//!    candidates; an ancestor (via `base`) of another candidate is dropped; the rest are
//!    ordered by specificity (least first), then name;
//! 2. from `base.yaml`'s `componentRefs`, each candidate's chain (root first) is merged once:
//!    a new component is added as it is; for a known one, non-empty scalars replace,
//!    `overrides` deep-merge, `manifestFiles`/`preManifestFiles`/`dependencyRefs` append
//!    without duplicates; `mixins` accumulate;
//! 3. the mixins' `componentRefs` are added (a name already present is an error);
//! 4. empty `source`, `version`, `namespace`, `chart` come from the registry;
//!    `overrides.enabled: false` removes the component.
//!
//! A variant's values are `components/<name>/values.yaml`, then its `valuesFile` when that
//! is another file, then `overrides`; its manifests are exactly its `preManifestFiles` and
//! `manifestFiles`. `base` (no criteria) is `base.yaml` alone.

use crate::{Component, HelmSource, RecipeError};
use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Criteria {
    #[serde(default)]
    service: String,
    #[serde(default)]
    accelerator: String,
    #[serde(default)]
    intent: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    nodes: i64,
}

impl Criteria {
    fn fields(&self) -> [&str; 5] {
        [
            &self.service,
            &self.accelerator,
            &self.intent,
            &self.os,
            &self.platform,
        ]
    }

    /// AICR's `Criteria.Matches`: does this overlay's criteria match the query?
    fn matches(&self, query: &Criteria) -> bool {
        let any = |v: &str| v.is_empty() || v == "any";
        let fields_ok = self
            .fields()
            .iter()
            .zip(query.fields())
            .all(|(mine, q)| any(mine) || (!any(q) && *mine == q));
        let nodes_ok = self.nodes == 0 || self.nodes == query.nodes;
        fields_ok && nodes_ok
    }

    fn specificity(&self) -> usize {
        let set = self
            .fields()
            .iter()
            .filter(|v| !v.is_empty() && **v != "any")
            .count();
        set + usize::from(self.nodes != 0)
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Ref {
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    chart: String,
    #[serde(default)]
    source: String,
    #[serde(default, deserialize_with = "crate::aicr::string_or_number")]
    version: String,
    #[serde(default)]
    values_file: String,
    #[serde(default)]
    overrides: Option<Mapping>,
    #[serde(default)]
    manifest_files: Vec<String>,
    #[serde(default)]
    pre_manifest_files: Vec<String>,
    #[serde(default)]
    dependency_refs: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    base: String,
    #[serde(default)]
    criteria: Option<Criteria>,
    #[serde(default)]
    mixins: Vec<String>,
    #[serde(default)]
    component_refs: Vec<Ref>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Named {
    name: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Doc {
    #[serde(default)]
    kind: String,
    metadata: Named,
    #[serde(default)]
    spec: Spec,
}

#[derive(Debug, Clone)]
struct Overlay {
    path: PathBuf,
    spec: Spec,
}

/// The overlays and mixins beside a registry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// Variant name (the overlay's file stem) → overlay `metadata.name`.
    variants: BTreeMap<String, String>,
    overlays: BTreeMap<String, OverlayEq>,
    mixins: BTreeMap<String, OverlayEq>,
    dir: PathBuf,
}

/// [`Overlay`] compared by path (the catalog is read once per recipe).
#[derive(Debug, Clone)]
struct OverlayEq(Overlay);

impl PartialEq for OverlayEq {
    fn eq(&self, other: &Self) -> bool {
        self.0.path == other.0.path
    }
}

fn invalid(path: &Path, message: String) -> RecipeError {
    RecipeError::Invalid {
        path: path.display().to_string(),
        line: 1,
        field: "spec".into(),
        message,
    }
}

fn read_docs(dir: &Path, kind: &str) -> Result<Vec<(String, Overlay, String)>, RecipeError> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    let mut paths: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml") && p.is_file())
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|source| RecipeError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let doc: Doc = serde_yaml_ng::from_str(&text).map_err(|e| crate::syntax(&path, &e))?;
        if !doc.kind.is_empty() && doc.kind != kind {
            continue;
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((
            stem,
            Overlay {
                path,
                spec: doc.spec,
            },
            doc.metadata.name,
        ));
    }
    Ok(out)
}

impl Catalog {
    /// Reads `overlays/` and `mixins/` in `dir` (the registry's directory); none is empty.
    pub(crate) fn load(dir: &Path) -> Result<Catalog, RecipeError> {
        let mut cat = Catalog {
            dir: dir.to_path_buf(),
            ..Catalog::default()
        };
        for (stem, o, name) in read_docs(&dir.join("overlays"), "RecipeMetadata")? {
            cat.variants.insert(stem, name.clone());
            cat.overlays.insert(name, OverlayEq(o));
        }
        for (_, o, name) in read_docs(&dir.join("mixins"), "RecipeMixin")? {
            cat.mixins.insert(name, OverlayEq(o));
        }
        Ok(cat)
    }

    /// The variant names (overlay file stems), sorted.
    pub fn names(&self) -> Vec<String> {
        self.variants.keys().cloned().collect()
    }

    fn overlay(&self, name: &str) -> Option<&Overlay> {
        self.overlays.get(name).map(|o| &o.0)
    }

    fn base(&self) -> Result<&Overlay, RecipeError> {
        self.overlay("base").ok_or_else(|| {
            invalid(
                &self.dir.join("overlays/base.yaml"),
                "base.yaml not found (the root of every overlay)".into(),
            )
        })
    }

    /// The chain of `name` from below the root to `name` (base excluded).
    fn chain(&self, name: &str) -> Result<Vec<&Overlay>, RecipeError> {
        let mut chain = Vec::new();
        let mut seen = Vec::new();
        let mut current = name.to_string();
        while !current.is_empty() && current != "base" {
            let o = self.overlay(&current).ok_or_else(|| {
                invalid(
                    &self.dir.join("overlays"),
                    format!("overlay {current:?} not found (in the base chain of {name:?})"),
                )
            })?;
            if seen.contains(&current) {
                return Err(invalid(
                    &o.path,
                    format!("circular base chain: {current:?} inherits from itself"),
                ));
            }
            seen.push(current.clone());
            chain.push(o);
            current = o.spec.base.clone();
        }
        chain.reverse();
        Ok(chain)
    }

    /// AICR's candidate overlays for the variant's criteria (maximal leaves, by specificity).
    fn candidates(&self, name: &str) -> Vec<String> {
        let Some(query) = self.overlay(name).and_then(|o| o.spec.criteria.clone()) else {
            return if name == "base" {
                Vec::new()
            } else {
                vec![name.to_string()]
            };
        };
        let matching: Vec<(&String, &Overlay)> = self
            .overlays
            .iter()
            .map(|(n, o)| (n, &o.0))
            .filter(|(n, o)| {
                n.as_str() != "base" && o.spec.criteria.as_ref().is_some_and(|c| c.matches(&query))
            })
            .collect();
        let mut ancestors = Vec::new();
        for (_, o) in &matching {
            let mut b = o.spec.base.clone();
            while !b.is_empty() && b != "base" && !ancestors.contains(&b) {
                ancestors.push(b.clone());
                b = self
                    .overlay(&b)
                    .map(|o| o.spec.base.clone())
                    .unwrap_or_default();
            }
        }
        let mut leaves: Vec<(usize, String)> = matching
            .into_iter()
            .filter(|(n, _)| !ancestors.contains(n))
            .map(|(n, o)| {
                (
                    o.spec.criteria.as_ref().map_or(0, Criteria::specificity),
                    n.clone(),
                )
            })
            .collect();
        leaves.sort();
        leaves.into_iter().map(|(_, n)| n).collect()
    }

    /// The merged component refs of variant `variant` (an overlay file stem), by name.
    fn merged(&self, variant: &str) -> Result<BTreeMap<String, Ref>, RecipeError> {
        let name = self.variants.get(variant).ok_or_else(|| {
            invalid(
                &self.dir.join("overlays"),
                format!(
                    "no variant {variant:?} (the overlays are: {})",
                    self.names().join(", ")
                ),
            )
        })?;
        let mut refs = BTreeMap::new();
        let base = self.base()?;
        merge_spec(&mut refs, &base.spec.component_refs);
        let mut mixins: Vec<String> = base.spec.mixins.clone();
        let mut done: Vec<String> = Vec::new();
        for candidate in self.candidates(name) {
            for o in self.chain(&candidate)? {
                if done.contains(&o.path.display().to_string()) {
                    continue;
                }
                done.push(o.path.display().to_string());
                merge_spec(&mut refs, &o.spec.component_refs);
                for m in &o.spec.mixins {
                    if !mixins.contains(m) {
                        mixins.push(m.clone());
                    }
                }
            }
        }
        for m in mixins {
            let mixin = self.mixins.get(&m).map(|o| &o.0).ok_or_else(|| {
                invalid(
                    &self.dir.join("mixins"),
                    format!("mixin {m:?} not found in mixins/ (variant {variant:?})"),
                )
            })?;
            if let Some(c) = mixin
                .spec
                .component_refs
                .iter()
                .find(|c| refs.contains_key(&c.name))
            {
                return Err(invalid(
                    &mixin.path,
                    format!("mixin {m:?} component {:?} conflicts with the inheritance chain or another mixin", c.name),
                ));
            }
            merge_spec(&mut refs, &mixin.spec.component_refs);
        }
        Ok(refs)
    }

    /// The components variant `variant` deploys, registry defaults applied; `registry` are
    /// the registry's own components (their order is kept, new ones follow by name).
    pub(crate) fn components(
        &self,
        variant: &str,
        registry: &[Component],
    ) -> Result<Vec<Component>, RecipeError> {
        let refs = self.merged(variant)?;
        let mut order: Vec<&String> = registry
            .iter()
            .map(|c| &c.name)
            .filter(|n| refs.contains_key(*n))
            .collect();
        order.extend(
            refs.keys()
                .filter(|n| !registry.iter().any(|c| &&c.name == n)),
        );
        let mut out = Vec::new();
        for name in order {
            let r = &refs[name];
            let enabled = r
                .overrides
                .as_ref()
                .and_then(|o| o.get("enabled"))
                .and_then(Value::as_bool)
                .unwrap_or(true);
            if enabled {
                out.push(self.component(r, registry.iter().find(|c| &c.name == name))?);
            }
        }
        Ok(out)
    }

    fn component(&self, r: &Ref, reg: Option<&Component>) -> Result<Component, RecipeError> {
        let reg_helm = reg.and_then(|c| c.helm.as_ref());
        let pick = |mine: &str, theirs: Option<&str>| {
            if mine.is_empty() {
                theirs.unwrap_or("").to_string()
            } else {
                mine.to_string()
            }
        };
        let source = pick(&r.source, reg_helm.map(|h| h.repository.as_str()));
        let version = pick(&r.version, reg_helm.map(|h| h.version.as_str()));
        let namespace = pick(&r.namespace, reg.and_then(|c| c.namespace.as_deref()));
        let chart = pick(&r.chart, reg_helm.map(|h| h.chart.as_str()));
        let values_files = self.values_files(r)?;
        let values = r.overrides.clone().map(Value::Mapping);
        let mut manifests = r.pre_manifest_files.clone();
        manifests.extend(r.manifest_files.iter().cloned());
        let helm = (!source.trim().is_empty()).then(|| HelmSource {
            repository: source,
            chart: if chart.is_empty() {
                r.name.clone()
            } else {
                chart
            },
            version,
            values_files: values_files.clone(),
            values: values.clone(),
            release_name: Some(format!("release-{}", r.name)),
            include_crds: false,
        });
        let manifest_values = helm.is_none().then(|| crate::ValuesLayers {
            files: values_files,
            inline: values,
        });
        Ok(Component {
            name: r.name.clone(),
            display_name: reg.and_then(|c| c.display_name.clone()),
            namespace: (!namespace.is_empty()).then_some(namespace),
            helm,
            manifests,
            kustomize: None,
            images: Vec::new(),
            manifests_are: Some(crate::ManifestsAre::Templates),
            manifest_values,
            ..crate::Component::default()
        })
    }

    /// AICR's values layering: the component's `values.yaml`, then another `valuesFile`.
    fn values_files(&self, r: &Ref) -> Result<Vec<String>, RecipeError> {
        let own = format!("components/{}/values.yaml", r.name);
        let mut files = Vec::new();
        if r.values_file.is_empty() {
            return Ok(files);
        }
        if r.values_file != own && self.dir.join(&own).is_file() {
            files.push(own);
        }
        if !self.dir.join(&r.values_file).is_file() {
            return Err(invalid(
                &self.dir.join("overlays"),
                format!(
                    "component {:?}: valuesFile {} does not exist",
                    r.name, r.values_file
                ),
            ));
        }
        files.push(r.values_file.clone());
        Ok(files)
    }
}

/// AICR's `RecipeMetadataSpec.Merge` of `refs` into `into` (component refs only).
fn merge_spec(into: &mut BTreeMap<String, Ref>, refs: &[Ref]) {
    for r in refs {
        match into.get_mut(&r.name) {
            Some(base) => merge_ref(base, r),
            None => {
                into.insert(r.name.clone(), r.clone());
            }
        }
    }
}

fn merge_ref(base: &mut Ref, over: &Ref) {
    for (dst, src) in [
        (&mut base.namespace, &over.namespace),
        (&mut base.chart, &over.chart),
        (&mut base.source, &over.source),
        (&mut base.version, &over.version),
        (&mut base.values_file, &over.values_file),
    ] {
        if !src.is_empty() {
            *dst = src.clone();
        }
    }
    if let Some(o) = over.overrides.as_ref().filter(|o| !o.is_empty()) {
        deep_merge(base.overrides.get_or_insert_with(Mapping::new), o);
    }
    for (dst, src) in [
        (&mut base.manifest_files, &over.manifest_files),
        (&mut base.pre_manifest_files, &over.pre_manifest_files),
        (&mut base.dependency_refs, &over.dependency_refs),
    ] {
        for f in src {
            if !dst.contains(f) {
                dst.push(f.clone());
            }
        }
    }
}

/// AICR's `deepMergeMap`: maps merge recursively, anything else (null too) replaces.
pub(crate) fn deep_merge(dst: &mut Mapping, src: &Mapping) {
    for (k, sv) in src {
        match (dst.get_mut(k), sv) {
            (Some(Value::Mapping(d)), Value::Mapping(s)) => deep_merge(d, s),
            _ => {
                dst.insert(k.clone(), sv.clone());
            }
        }
    }
}
