//! Drift between two BOMs: images added or removed, digests moved under the same tag,
//! platforms changed, component (chart) versions changed.
//!
//! Reads CycloneDX and SPDX JSON, ours or another tool's: images are recognised by their
//! `pkg:oci` or `pkg:docker` purls, so a BOM from any tool that writes those compares too.
//! An [`Inventory`] is summarised directly ([`summary_of`]), as its CycloneDX BOM would read,
//! and a union BOM or inventory can be narrowed to one of its variants.

use crate::EmitError;
use imagebom_model::purl::{oci_purl, parse as parse_purl};
use imagebom_model::Inventory;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// One image as a BOM describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BomImage {
    /// `repository[:tag]` (or `repository@digest` when there is no tag): what identifies it
    /// across BOMs.
    pub id: String,
    /// The digest, when the BOM records one.
    pub digest: Option<String>,
    /// Platforms, when the BOM records them (imagebom's `imagebom:platform` properties).
    pub platforms: BTreeSet<String>,
}

/// What a BOM holds, for comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BomSummary {
    /// Images by id.
    pub images: BTreeMap<String, BomImage>,
    /// Application components (recipe components, charts): name → version.
    pub components: BTreeMap<String, String>,
}

/// A digest or version that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Image id or component name.
    pub subject: String,
    /// Before.
    pub old: String,
    /// After.
    pub new: String,
}

/// The drift between two BOMs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// Images only in the new BOM.
    pub added: Vec<String>,
    /// Images only in the old BOM.
    pub removed: Vec<String>,
    /// Same image id, different digest.
    pub digest_changed: Vec<Change>,
    /// Same image id, different platform set.
    pub platforms_changed: Vec<Change>,
    /// Component versions (charts) that changed.
    pub versions_changed: Vec<Change>,
}

impl Drift {
    /// True when nothing drifted.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.digest_changed.is_empty()
            && self.platforms_changed.is_empty()
            && self.versions_changed.is_empty()
    }
}

fn image_from_purl(purl: &str) -> Option<BomImage> {
    let p = parse_purl(purl)?;
    let q = |k: &str| p.qualifiers().get(k).map(|v| v.to_string());
    let (repo, tag, digest) = match p.ty() {
        "oci" => {
            let repo = q("repository_url").unwrap_or_else(|| p.name().to_string());
            (repo, q("tag"), p.version().map(str::to_string))
        }
        "docker" => {
            let base = q("repository_url").unwrap_or_else(|| "docker.io".into());
            let name = match p.namespace() {
                Some(ns) => format!("{ns}/{}", p.name()),
                None => p.name().to_string(),
            };
            let v = p.version().map(str::to_string);
            let (tag, digest) = match v {
                Some(v) if v.starts_with("sha256:") => (q("tag"), Some(v)),
                other => (other, q("digest")),
            };
            (
                format!("{}/{name}", base.trim_end_matches('/')),
                tag,
                digest,
            )
        }
        _ => return None,
    };
    let id = match (&tag, &digest) {
        (Some(t), _) => format!("{repo}:{t}"),
        (None, Some(d)) => format!("{repo}@{d}"),
        (None, None) => repo,
    };
    Some(BomImage {
        id,
        digest,
        platforms: BTreeSet::new(),
    })
}

/// What `inv` holds, for comparison: the summary [`summarize`] reads from its CycloneDX BOM,
/// made without writing one. With `variant`, only the images that variant deploys.
pub fn summary_of(inv: &Inventory, variant: Option<&str>) -> BomSummary {
    let mut s = BomSummary::default();
    // Reverse key order: where two keys share an id, the first one wins, as in the BOM.
    for (key, e) in inv.images.iter().rev() {
        if variant.is_some_and(|v| !inv.image_variants(key).contains(v)) {
            continue;
        }
        let Some(mut img) = image_from_purl(&oci_purl(&e.reference, e.digest())) else {
            continue;
        };
        if let Some(res) = &e.resolution {
            img.platforms = res
                .platforms
                .iter()
                .map(|p| format!("{} {}", p.spec(), p.digest))
                .collect();
        }
        s.images.insert(img.id.clone(), img);
    }
    for c in inv.components.iter().rev() {
        if let Some(ch) = c.chart.as_ref().filter(|ch| !ch.version.is_empty()) {
            s.components.insert(c.name.clone(), ch.version.clone());
        }
    }
    s
}

/// The variants a CycloneDX or SPDX document's images name (`imagebom:variant`), sorted.
fn variants_in(doc: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack: Vec<&Value> = doc["components"].as_array().into_iter().flatten().collect();
    while let Some(c) = stack.pop() {
        stack.extend(c["components"].as_array().into_iter().flatten());
        out.extend(image_variants(c));
    }
    for p in doc["packages"].as_array().into_iter().flatten() {
        out.extend(image_variants(p));
    }
    out
}

/// The variants of one CycloneDX component (`imagebom:variant` properties) or SPDX package
/// (`imagebom:variant=NAME` annotations).
fn image_variants(c: &Value) -> Vec<String> {
    let props = c["properties"].as_array().into_iter().flatten();
    let from_props = props
        .filter(|p| p["name"] == "imagebom:variant")
        .filter_map(|p| p["value"].as_str());
    let notes = c["annotations"].as_array().into_iter().flatten();
    let from_notes = notes.filter_map(|a| a["comment"].as_str()?.strip_prefix("imagebom:variant="));
    from_props.chain(from_notes).map(str::to_string).collect()
}

/// [`summarize`] narrowed to the images of `variant` in a union BOM (written by `generate
/// --union`); a document that does not name the variant is an error listing those it does.
pub fn summarize_variant(name: &str, text: &str, variant: &str) -> Result<BomSummary, EmitError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| EmitError::Bom {
        file: name.to_string(),
        message: e.to_string(),
    })?;
    let known = variants_in(&doc);
    if !known.contains(variant) {
        let list: Vec<&str> = known.iter().map(String::as_str).collect();
        return Err(EmitError::Bom {
            file: name.to_string(),
            message: format!(
                "no variant {variant:?} in this BOM (variants: {})",
                if list.is_empty() {
                    "none".to_string()
                } else {
                    list.join(", ")
                }
            ),
        });
    }
    summarize_doc(name, &doc, Some(variant))
}

/// Reads a CycloneDX or SPDX JSON document; `name` is used in errors.
pub fn summarize(name: &str, text: &str) -> Result<BomSummary, EmitError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| EmitError::Bom {
        file: name.to_string(),
        message: e.to_string(),
    })?;
    summarize_doc(name, &doc, None)
}

/// [`summarize`] of a parsed document; with `variant`, only the images naming it.
fn summarize_doc(name: &str, doc: &Value, variant: Option<&str>) -> Result<BomSummary, EmitError> {
    let bad = |message: String| EmitError::Bom {
        file: name.to_string(),
        message,
    };
    let wanted = |c: &Value| variant.is_none_or(|v| image_variants(c).iter().any(|x| x == v));
    let mut s = BomSummary::default();
    if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        let mut stack: Vec<&Value> = doc["components"].as_array().into_iter().flatten().collect();
        while let Some(c) = stack.pop() {
            let purl = c["purl"].as_str().unwrap_or_default();
            let image = image_from_purl(purl);
            // An image's nested components are its platforms and packages, not images.
            if image.is_none() {
                stack.extend(c["components"].as_array().into_iter().flatten());
            }
            if let Some(mut img) = image {
                if !wanted(c) {
                    continue;
                }
                for p in c["properties"].as_array().into_iter().flatten() {
                    if p["name"] == "imagebom:platform" {
                        if let Some(v) = p["value"].as_str() {
                            img.platforms.insert(v.to_string());
                        }
                    }
                }
                s.images.insert(img.id.clone(), img);
            } else if c["type"] == "application" {
                if let (Some(n), Some(v)) = (c["name"].as_str(), c["version"].as_str()) {
                    s.components.insert(n.to_string(), v.to_string());
                }
            }
        }
    } else if doc.get("spdxVersion").is_some() {
        for p in doc["packages"].as_array().into_iter().flatten() {
            let purl = p["externalRefs"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| r["referenceType"] == "purl")
                .and_then(|r| r["referenceLocator"].as_str());
            match purl.and_then(image_from_purl) {
                Some(img) if wanted(p) => {
                    s.images.insert(img.id.clone(), img);
                }
                None if p["primaryPackagePurpose"] == "APPLICATION" => {
                    if let (Some(n), Some(v)) = (p["name"].as_str(), p["versionInfo"].as_str()) {
                        s.components.insert(n.to_string(), v.to_string());
                    }
                }
                _ => {}
            }
        }
    } else {
        return Err(bad("neither a CycloneDX nor an SPDX JSON document".into()));
    }
    Ok(s)
}

/// The drift from `old` to `new`.
pub fn diff(old: &BomSummary, new: &BomSummary) -> Drift {
    let mut d = Drift::default();
    for (id, n) in &new.images {
        match old.images.get(id) {
            None => d.added.push(id.clone()),
            Some(o) => {
                if let (Some(a), Some(b)) = (&o.digest, &n.digest) {
                    if a != b {
                        d.digest_changed.push(Change {
                            subject: id.clone(),
                            old: a.clone(),
                            new: b.clone(),
                        });
                    }
                }
                if o.platforms != n.platforms && !o.platforms.is_empty() && !n.platforms.is_empty()
                {
                    let join = |p: &BTreeSet<String>| {
                        p.iter()
                            .map(|x| x.split(' ').next().unwrap_or(x))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    d.platforms_changed.push(Change {
                        subject: id.clone(),
                        old: join(&o.platforms),
                        new: join(&n.platforms),
                    });
                }
            }
        }
    }
    d.removed = old
        .images
        .keys()
        .filter(|k| !new.images.contains_key(*k))
        .cloned()
        .collect();
    for (name, v) in &new.components {
        if let Some(o) = old.components.get(name) {
            if o != v {
                d.versions_changed.push(Change {
                    subject: name.clone(),
                    old: o.clone(),
                    new: v.clone(),
                });
            }
        }
    }
    d
}

/// The drift as markdown, fit for a pull-request body.
pub fn drift_markdown(d: &Drift) -> String {
    let mut s = String::from("## Image drift\n\n");
    if d.is_empty() {
        s.push_str("No drift.\n");
        return s;
    }
    let list = |s: &mut String, title: &str, items: &[String]| {
        if !items.is_empty() {
            let _ = writeln!(s, "### {title} ({})\n", items.len());
            for i in items {
                let _ = writeln!(s, "- `{i}`");
            }
            s.push('\n');
        }
    };
    list(&mut s, "Added", &d.added);
    list(&mut s, "Removed", &d.removed);
    let table = |s: &mut String, title: &str, items: &[Change]| {
        if !items.is_empty() {
            let _ = writeln!(
                s,
                "### {title} ({})\n\n| | old | new |\n|---|---|---|",
                items.len()
            );
            for c in items {
                let _ = writeln!(s, "| `{}` | `{}` | `{}` |", c.subject, c.old, c.new);
            }
            s.push('\n');
        }
    };
    table(&mut s, "Digest changed", &d.digest_changed);
    table(&mut s, "Platforms changed", &d.platforms_changed);
    table(&mut s, "Versions changed", &d.versions_changed);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_of_both_types() {
        let a = image_from_purl("pkg:oci/app@sha256:aa?repository_url=quay.io%2Fx%2Fapp&tag=1")
            .unwrap();
        assert_eq!(a.id, "quay.io/x/app:1");
        assert_eq!(a.digest.as_deref(), Some("sha256:aa"));
        let b = image_from_purl("pkg:docker/library/nginx@1.27?repository_url=docker.io").unwrap();
        assert_eq!(b.id, "docker.io/library/nginx:1.27");
        assert!(image_from_purl("pkg:npm/left-pad@1").is_none());
    }
}
