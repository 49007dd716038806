//! What extraction found: images, the evidence for each, and warnings.

use crate::lock::Resolution;
use crate::reference::ImageRef;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Where in a document an image reference was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// `image` of a container in a pod spec (`containers`, `initContainers`, `ephemeralContainers`).
    Pod,
    /// A string `image:` field of a custom resource.
    Cr,
    /// A `repository`/`image`/`version` triplet (or `{registry, repository, tag, digest}` map).
    CrTriplet,
    /// A triplet inside a block that says `enabled: false`; still an image the chart ships.
    CrDisabled,
    /// A container `env` value that holds an image.
    Env,
    /// A container argument that holds an image (`--flag=image` or a bare image).
    Arg,
    /// A reference found in YAML or JSON embedded in a string (ConfigMap data, annotations).
    Embedded,
    /// Listed explicitly in the recipe (`components[].images`).
    Recipe,
    /// Declared by a chart in `Chart.yaml` (`helm.sh/images`, `artifacthub.io/images` or
    /// Bitnami's `images` annotation): what the chart says it may deploy.
    Declared,
}

impl Category {
    /// The kebab-case name used in evidence and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Pod => "pod",
            Category::Cr => "cr",
            Category::CrTriplet => "cr-triplet",
            Category::CrDisabled => "cr-disabled",
            Category::Env => "env",
            Category::Arg => "arg",
            Category::Embedded => "embedded",
            Category::Recipe => "recipe",
            Category::Declared => "declared",
        }
    }

    /// True for the categories a workload or custom resource declares directly as the
    /// image it runs (pod, cr, cr-triplet, cr-disabled, recipe). Env, arg, embedded and
    /// declared references are indirect: they may or may not be deployed.
    pub fn is_direct(self) -> bool {
        !matches!(
            self,
            Category::Env | Category::Arg | Category::Embedded | Category::Declared
        )
    }

    /// All categories, in order.
    pub const ALL: [Category; 9] = [
        Category::Pod,
        Category::Cr,
        Category::CrTriplet,
        Category::CrDisabled,
        Category::Env,
        Category::Arg,
        Category::Embedded,
        Category::Recipe,
        Category::Declared,
    ];
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Category {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown category {s:?}"))
    }
}

/// One place an image reference occurs: the evidence behind a BOM entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Occurrence {
    /// Recipe component name (empty when extracting a bare manifest stream).
    pub component: String,
    /// `# Source:` template of the document, or the manifest file it came from.
    pub source: String,
    /// Kubernetes `kind` of the document.
    pub kind: String,
    /// `metadata.name` of the document.
    pub name: String,
    /// Slash-separated path inside the document (`spec/template/spec/containers/0/image`;
    /// env entries by name: `…/env/DRIVER_IMAGE`).
    pub path: String,
    /// 1-based line of the reference's scalar (of a triplet's first scalar) in the file
    /// `source` names: for a chart's template, the file `helm template --output-dir` writes
    /// for it; for a manifest, the file itself (a templated manifest's or a Kustomize
    /// build's rendered stream). `None` when not known (older locks, declared images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// How the reference was found.
    pub category: Category,
    /// The reference as written (composed, for triplets).
    pub original: String,
    /// Why the image is listed: for recipe images `components[].images[].reason`; for images a
    /// chart declares, the annotation entry and whether the chart rendered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A finding that is not an image: a bare word in an `image:` field, an unparsable value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Warning {
    /// Recipe component name (may be empty).
    pub component: String,
    /// Template or file.
    pub source: String,
    /// Document kind.
    pub kind: String,
    /// Document name.
    pub name: String,
    /// Path inside the document.
    pub path: String,
    /// The offending value.
    pub value: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let src = if self.source.is_empty() {
            "-"
        } else {
            &self.source
        };
        write!(
            f,
            "{src}: {}/{} at {}: {}",
            self.kind, self.name, self.path, self.message
        )?;
        if self.value.is_empty() {
            return Ok(());
        }
        write!(f, " ({:?})", self.value)
    }
}

/// A unique image (by normalised reference) with all its occurrences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEntry {
    /// The reference; its `original` is the byte-wise smallest spelling seen.
    pub reference: ImageRef,
    /// Every place it occurs, sorted.
    pub occurrences: Vec<Occurrence>,
    /// The digest and platforms, once resolved (from the lock or a registry).
    pub resolution: Option<Resolution>,
}

impl ImageEntry {
    /// Components that use this image, sorted and de-duplicated.
    pub fn components(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .occurrences
            .iter()
            .map(|o| o.component.as_str())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Categories this image was found under, sorted and de-duplicated.
    pub fn categories(&self) -> Vec<Category> {
        let mut v: Vec<Category> = self.occurrences.iter().map(|o| o.category).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The digest to publish: the resolved one, else the one written in the reference.
    pub fn digest(&self) -> Option<&crate::Digest> {
        self.resolution
            .as_ref()
            .map(|r| &r.digest)
            .or_else(|| self.reference.digest())
    }
}

/// The recipe as the subject of the BOM.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RecipeInfo {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.version`.
    pub version: String,
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Supplier / publisher of the distribution, if the recipe names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
}

/// A Helm chart a component deploys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartInfo {
    /// Chart repository: a local path, an `https://` chart repository or an `oci://` URL.
    pub repository: String,
    /// Chart name.
    pub chart: String,
    /// Version as written in the recipe (may be empty or a range: then it is not pinned).
    pub version: String,
    /// True when `version` is an exact semantic version.
    pub pinned: bool,
    /// What was actually rendered; `None` until the chart is rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered: Option<RenderedChartInfo>,
}

/// A chart (or subchart) as it was rendered: the version and archive that were really used,
/// whatever range the recipe wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedChartInfo {
    /// Chart name (`Chart.yaml` `name`).
    pub name: String,
    /// The chart's own `version`.
    pub version: String,
    /// `sha256:<hex>` of the chart archive; `None` for a chart directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Canonical source: the archive URL, the `oci://` reference, or the local path (never a
    /// mirror location, never credentials).
    pub source: String,
    /// Subcharts rendered with it (enabled dependencies, vendored or fetched), in
    /// dependency order; a subchart's own subcharts nest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subcharts: Vec<RenderedChartInfo>,
}

/// A recipe component as the BOM reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentInfo {
    /// Unique name within the recipe.
    pub name: String,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Target namespace, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The chart, for Helm components.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartInfo>,
    /// Manifest paths or globs, as written in the recipe.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<String>,
    /// Whom the recipe trusts for this component's images; `None` when it says nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<ComponentTrust>,
}

/// A recipe's trust policy for one component: a default and per-image overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentTrust {
    /// What applies to every image of the component no override matches.
    #[serde(default)]
    pub policy: TrustPolicy,
    /// Overrides, first match wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImageTrust>,
}

impl ComponentTrust {
    /// The policy for `image`: the first override matching it, else the component's.
    pub fn policy_for(&self, image: &ImageRef) -> &TrustPolicy {
        self.images
            .iter()
            .find(|o| o.matches(image))
            .map_or(&self.policy, |o| &o.policy)
    }
}

/// A per-image override of a component's trust policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageTrust {
    /// A repository glob (`ghcr.io/acme/*`, matched against the fully qualified repository)
    /// or, when it has a tag or digest, a reference glob (matched against the normalised
    /// reference). `*` stays inside one path segment, `**` crosses `/`.
    pub pattern: String,
    /// The policy for the images it matches.
    pub policy: TrustPolicy,
}

impl ImageTrust {
    /// Whether the override covers `image`.
    pub fn matches(&self, image: &ImageRef) -> bool {
        let p = self.pattern.as_str();
        let last = p.rsplit('/').next().unwrap_or(p);
        let subject = if p.contains('@') || last.contains(':') {
            image.normalized()
        } else {
            image.qualified_name()
        };
        glob_match(p.as_bytes(), subject.as_bytes())
    }
}

/// `*` matches within one `/`-separated segment, `**` across segments.
fn glob_match(p: &[u8], s: &[u8]) -> bool {
    match p {
        [] => s.is_empty(),
        [b'*', b'*', rest @ ..] => (0..=s.len()).any(|i| glob_match(rest, &s[i..])),
        [b'*', rest @ ..] => (0..=s.len())
            .take_while(|&i| i == 0 || s[i - 1] != b'/')
            .any(|i| glob_match(rest, &s[i..])),
        [c, rest @ ..] => s.first() == Some(c) && glob_match(rest, &s[1..]),
    }
}

/// Whom a recipe trusts to sign images, and who answers for what cannot be verified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustPolicy {
    /// Trusted keyless signers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<TrustedIdentity>,
    /// Trusted public keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<TrustedKey>,
    /// An SLSA provenance attestation the admission policy requires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<ProvenanceRequirement>,
    /// Team or person answering for the images when they cannot be verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The deploy-time policy that covers the images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission_policy: Option<AdmissionPolicyRef>,
}

impl TrustPolicy {
    /// Whether it names any signer (identity or key).
    pub fn verifies(&self) -> bool {
        !self.identities.is_empty() || !self.keys.is_empty()
    }
}

/// A keyless signer: certificate SAN and OIDC issuer, each exact or a regular expression
/// (cosign's `--certificate-identity[-regexp]` / `--certificate-oidc-issuer[-regexp]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustedIdentity {
    /// Exact OIDC issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// OIDC issuer regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_reg_exp: Option<String>,
    /// Exact SAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// SAN regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_reg_exp: Option<String>,
}

/// A trusted public key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedKey {
    /// Where the recipe names it: the file path as written, or `inline`.
    pub source: String,
    /// The PEM `PUBLIC KEY` block.
    pub pem: String,
    /// Sigstore key ID: hex SHA-256 of the DER SubjectPublicKeyInfo.
    pub key_id: String,
}

/// An SLSA provenance attestation to require at admission.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvenanceRequirement {
    /// `https://slsa.dev/provenance/v1` (default) or `https://slsa.dev/provenance/v0.2`.
    pub predicate_type: String,
    /// The builder ID the provenance must name, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder_id: Option<String>,
}

/// A deploy-time policy that covers images (e.g. a Kyverno `ClusterPolicy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionPolicyRef {
    /// Its kind (`ClusterPolicy`, `ClusterImagePolicy`, …).
    pub kind: String,
    /// Its name.
    pub name: String,
}

/// Everything the pipeline knows after extraction (and, later, resolution).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inventory {
    /// The recipe.
    pub recipe: RecipeInfo,
    /// Components, in recipe order.
    pub components: Vec<ComponentInfo>,
    /// Unique images keyed by [`ImageRef::normalized`].
    pub images: BTreeMap<String, ImageEntry>,
    /// Non-fatal findings, sorted.
    pub warnings: Vec<Warning>,
    /// The variants of the recipe this inventory covers (empty: the recipe without variants).
    pub variants: Vec<String>,
    /// Per image key, the variants each occurrence is deployed in (empty without variants).
    pub occurrence_variants: BTreeMap<String, BTreeMap<Occurrence, BTreeSet<String>>>,
}

impl Inventory {
    /// Adds one occurrence of `reference`, merging on the normalised form. The entry keeps
    /// the byte-wise smallest original spelling so the result does not depend on input order.
    pub fn add(&mut self, reference: ImageRef, occurrence: Occurrence) {
        let key = reference.normalized();
        match self.images.get_mut(&key) {
            Some(e) => {
                if reference.original() < e.reference.original() {
                    e.reference = reference;
                }
                e.occurrences.push(occurrence);
            }
            None => {
                self.images.insert(
                    key,
                    ImageEntry {
                        reference,
                        occurrences: vec![occurrence],
                        resolution: None,
                    },
                );
            }
        }
    }

    /// Marks every occurrence as deployed by `variant` and makes it the inventory's variant.
    pub fn tag_variant(&mut self, variant: &str) {
        self.variants = vec![variant.to_string()];
        for (key, e) in &self.images {
            let per = self.occurrence_variants.entry(key.clone()).or_default();
            for o in &e.occurrences {
                per.entry(o.clone())
                    .or_default()
                    .insert(variant.to_string());
            }
        }
    }

    /// Adds `other` (another variant of the same recipe) to this inventory: its images,
    /// occurrences and their variants, components not seen yet, and warnings.
    pub fn absorb(&mut self, other: Inventory) {
        for c in other.components {
            if !self.components.iter().any(|k| k.name == c.name) {
                self.components.push(c);
            }
        }
        for (_, e) in other.images {
            for o in e.occurrences {
                self.add(e.reference.clone(), o);
            }
        }
        for (key, per) in other.occurrence_variants {
            let mine = self.occurrence_variants.entry(key).or_default();
            for (o, vs) in per {
                mine.entry(o).or_default().extend(vs);
            }
        }
        self.warnings.extend(other.warnings);
        for v in other.variants {
            if !self.variants.contains(&v) {
                self.variants.push(v);
            }
        }
    }

    /// The variants that deploy image `key` (sorted; empty without variants).
    pub fn image_variants(&self, key: &str) -> BTreeSet<&str> {
        self.occurrence_variants
            .get(key)
            .map(|per| per.values().flatten().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The variants occurrence `o` of image `key` is deployed in (sorted).
    pub fn variants_of(&self, key: &str, o: &Occurrence) -> Vec<&str> {
        self.occurrence_variants
            .get(key)
            .and_then(|per| per.get(o))
            .map(|vs| vs.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Images used by the given recipe component, in key order.
    pub fn images_of<'a>(
        &'a self,
        component: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a ImageEntry)> + 'a {
        self.images
            .iter()
            .filter(move |(_, e)| e.occurrences.iter().any(|o| o.component == component))
    }

    /// Images with an occurrence outside every recipe component (bare manifest streams).
    pub fn orphans(&self) -> impl Iterator<Item = (&String, &ImageEntry)> + '_ {
        self.images.iter().filter(|(_, e)| {
            e.occurrences
                .iter()
                .any(|o| !self.components.iter().any(|c| c.name == o.component))
        })
    }

    /// Sorts and de-duplicates occurrences and warnings so that output is order-independent,
    /// and flags digests whose algorithm the OCI image-spec does not register (they are kept:
    /// the grammar allows them, but no registry will verify them).
    pub fn canonicalize(&mut self) {
        for e in self.images.values_mut() {
            e.occurrences.sort();
            e.occurrences.dedup();
        }
        for e in self.images.values() {
            if let Some(d) = e.reference.digest().filter(|d| !d.is_registered()) {
                let o = &e.occurrences[0];
                self.warnings.push(Warning {
                    component: o.component.clone(),
                    source: o.source.clone(),
                    kind: o.kind.clone(),
                    name: o.name.clone(),
                    path: o.path.clone(),
                    value: e.reference.original().to_string(),
                    message: format!(
                        "digest algorithm {:?} is not registered by the OCI image-spec (sha256, sha512)",
                        d.algorithm()
                    ),
                });
            }
        }
        self.warnings.sort();
        self.warnings.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occ(original: &str) -> Occurrence {
        Occurrence {
            component: "c".into(),
            source: "s.yaml".into(),
            kind: "Pod".into(),
            name: "p".into(),
            path: "spec/containers/0/image".into(),
            line: None,
            category: Category::Pod,
            original: original.into(),
            reason: None,
        }
    }

    #[test]
    fn merges_on_normalised_form_keeping_smallest_spelling() {
        let mut inv = Inventory::default();
        for r in [
            "nginx",
            "docker.io/library/nginx:latest",
            "index.docker.io/library/nginx",
        ] {
            inv.add(ImageRef::parse(r).unwrap(), occ(r));
        }
        inv.canonicalize();
        assert_eq!(inv.images.len(), 1);
        let e = &inv.images["docker.io/library/nginx:latest"];
        assert_eq!(e.reference.original(), "docker.io/library/nginx:latest");
        assert_eq!(e.occurrences.len(), 3);
        assert!(inv.warnings.is_empty());
    }

    #[test]
    fn image_trust_patterns() {
        let o = |p: &str| ImageTrust {
            pattern: p.into(),
            policy: TrustPolicy::default(),
        };
        let img = ImageRef::parse("ghcr.io/acme/tools/app:1.2").unwrap();
        assert!(o("ghcr.io/acme/**").matches(&img));
        assert!(!o("ghcr.io/acme/*").matches(&img));
        assert!(o("ghcr.io/acme/*/app").matches(&img));
        assert!(o("ghcr.io/acme/tools/app:1.*").matches(&img));
        assert!(!o("ghcr.io/acme/tools/app:2").matches(&img));
        let hub = ImageRef::parse("busybox:1").unwrap();
        assert!(o("docker.io/library/busybox").matches(&hub));
    }

    #[test]
    fn unregistered_digest_algorithm_is_flagged() {
        let r = format!("busybox@blake3:{}", "a".repeat(64));
        let mut inv = Inventory::default();
        inv.add(ImageRef::parse(&r).unwrap(), occ(&r));
        inv.canonicalize();
        assert_eq!(inv.warnings.len(), 1);
        assert!(inv.warnings[0].message.contains("blake3"));
    }
}
