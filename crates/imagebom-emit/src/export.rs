//! Scanner inputs (`imagebom export`): every image by digest, as a CI matrix, plain lines, or
//! a Dependency-Track project layout.
//!
//! Only images with a digest are exported: a scanner given a tag may scan something else
//! than the BOM lists. With `per_platform` an index is exported once per platform, by the
//! platform's own manifest digest, so a scan result joins back to the BOM's nested platform
//! component (its purl has the same digest).

use imagebom_model::lock::{SbomFormat, SbomRecord};
use imagebom_model::{ImageEntry, Inventory};
use serde::Serialize;
use std::collections::BTreeSet;

/// One thing to scan: an image, or one platform of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// `registry/repository@sha256:…`.
    pub image: String,
    /// `os/arch[/variant]` when exported per platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// `registry/repository`.
    #[serde(skip)]
    pub repository: String,
    /// The digest scanned.
    #[serde(skip)]
    pub digest: String,
    /// The stored CycloneDX SBOM of this digest (path under the output directory), if any.
    #[serde(skip)]
    pub sbom: Option<String>,
}

/// The images of `inv` to scan, sorted by reference and de-duplicated by digest; `only`
/// keeps those whose BOM id (`repository:tag`, see [`crate::diff`]) it holds.
pub fn targets(
    inv: &Inventory,
    per_platform: bool,
    only: Option<&BTreeSet<String>>,
) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    for e in inv.images.values() {
        let Some(digest) = e.digest() else { continue };
        if only.is_some_and(|o| !o.contains(&bom_id(e))) {
            continue;
        }
        let repository = e.reference.qualified_name();
        let res = e.resolution.as_ref();
        if res.is_some_and(|r| r.artifact_type.is_some()) {
            continue; // an OCI artifact, not a runnable image
        }
        let sboms = res.map_or(&[][..], |r| &r.sboms[..]);
        let platforms = res.map_or(&[][..], |r| &r.platforms[..]);
        if per_platform && !platforms.is_empty() {
            for p in platforms {
                out.push(target(
                    &repository,
                    &p.digest.to_string(),
                    Some(p.spec()),
                    sboms,
                ));
            }
        } else {
            out.push(target(&repository, &digest.to_string(), None, sboms));
        }
    }
    out.sort_by(|a, b| (&a.image, &a.platform).cmp(&(&b.image, &b.platform)));
    out.dedup_by(|a, b| a.image == b.image && a.platform == b.platform);
    out
}

fn target(
    repository: &str,
    digest: &str,
    platform: Option<String>,
    sboms: &[SbomRecord],
) -> Target {
    let sbom = sboms
        .iter()
        .filter(|s| s.format == SbomFormat::Cyclonedx && s.subject.to_string() == digest)
        .map(|s| s.path.clone())
        .min();
    Target {
        image: format!("{repository}@{digest}"),
        platform,
        repository: repository.to_string(),
        digest: digest.to_string(),
        sbom,
    }
}

/// How `diff` names an image: `repository:tag`, else `repository@digest`.
fn bom_id(e: &ImageEntry) -> String {
    let r = &e.reference;
    match (r.tag(), e.digest()) {
        (Some(t), _) => format!("{}:{t}", r.qualified_name()),
        (None, Some(d)) => format!("{}@{d}", r.qualified_name()),
        (None, None) => r.qualified_name(),
    }
}

/// The BOM ids to rescan after `old` → `new`: images added, or whose digest or platforms
/// changed.
pub fn changed(drift: &crate::diff::Drift) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = drift.added.iter().cloned().collect();
    for c in drift.digest_changed.iter().chain(&drift.platforms_changed) {
        out.insert(c.subject.clone());
    }
    out
}

/// `{"include": [{"image": …, "platform": …}]}`: a GitHub Actions `strategy.matrix` (via
/// `fromJSON`) or a GitLab `parallel:matrix` source. One line, trailing newline.
pub fn matrix(targets: &[Target]) -> String {
    let doc = serde_json::json!({ "include": targets });
    let mut s = doc.to_string();
    s.push('\n');
    s
}

/// One `registry/repository@sha256:…` per line (`xargs -n1 trivy image`).
pub fn refs(targets: &[Target]) -> String {
    targets.iter().map(|t| format!("{}\n", t.image)).collect()
}

/// One file of the Dependency-Track layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DtFile {
    /// Path relative to the layout directory.
    pub path: String,
    /// Contents.
    pub text: String,
    /// Whether it is an executable script.
    pub executable: bool,
}

/// A Dependency-Track layout: `project.json` (the parent project for the distribution, a
/// collection aggregating its direct children), `projects.json` (one child per image: name
/// = repository, version = digest, classifier `CONTAINER`, the SBOM to upload) and
/// `upload.sh`, which creates the parent (`PUT /api/v1/project`) and uploads each child's
/// SBOM (`POST /api/v1/bom`, multipart, `autoCreate` under `parentName`/`parentVersion`).
///
/// `sbom_of(target)` gives the file (relative to the layout) holding the target's SBOM;
/// the caller copies it there.
pub fn dependency_track(
    inv: &Inventory,
    targets: &[Target],
    sbom_of: impl Fn(&Target) -> String,
) -> Vec<DtFile> {
    let parent = serde_json::json!({
        "name": inv.recipe.name,
        "version": inv.recipe.version,
        "classifier": "APPLICATION",
        "collectionLogic": "AGGREGATE_DIRECT_CHILDREN",
        "description": inv.recipe.description,
    });
    let children: Vec<serde_json::Value> = targets
        .iter()
        .map(|t| {
            let name = match &t.platform {
                Some(p) => format!("{} ({p})", t.repository),
                None => t.repository.clone(),
            };
            serde_json::json!({
                "name": name,
                "version": t.digest,
                "classifier": "CONTAINER",
                "purl": t.image,
                "bom": sbom_of(t),
                "parent": {"name": inv.recipe.name, "version": inv.recipe.version},
            })
        })
        .collect();
    let pretty = |v: &serde_json::Value| {
        let mut s = serde_json::to_string_pretty(v).expect("JSON serialises");
        s.push('\n');
        s
    };
    vec![
        DtFile {
            path: "project.json".into(),
            text: pretty(&parent),
            executable: false,
        },
        DtFile {
            path: "projects.json".into(),
            text: pretty(&serde_json::Value::Array(children)),
            executable: false,
        },
        DtFile {
            path: "upload.sh".into(),
            text: UPLOAD_SH.to_string(),
            executable: true,
        },
    ]
}

/// The upload script of the Dependency-Track layout (needs `curl` and `jq`).
const UPLOAD_SH: &str = r#"#!/bin/sh
# Uploads this layout to Dependency-Track (written by `imagebom export --format dependency-track`).
# Needs curl and jq. DT_URL: the API server (https://dtrack.example:8081); DT_API_KEY: a key
# with PORTFOLIO_MANAGEMENT, BOM_UPLOAD and PROJECT_CREATION_UPLOAD.
set -eu
cd "$(dirname "$0")"
: "${DT_URL:?set DT_URL}" "${DT_API_KEY:?set DT_API_KEY}"
# The parent: a collection project whose metrics aggregate its direct children. 409 means it
# exists already.
code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT "$DT_URL/api/v1/project" \
  -H "X-Api-Key: $DT_API_KEY" -H 'Content-Type: application/json' --data @project.json)
case "$code" in 2??|409) ;; *) echo "creating the parent project failed: HTTP $code" >&2; exit 1 ;; esac
parent_name=$(jq -r .name project.json)
parent_version=$(jq -r .version project.json)
# One child per image: its SBOM, the project created on upload under the parent.
jq -c '.[]' projects.json | while read -r child; do
  curl -sS --fail-with-body -X POST "$DT_URL/api/v1/bom" -H "X-Api-Key: $DT_API_KEY" \
    -F "projectName=$(printf '%s' "$child" | jq -r .name)" \
    -F "projectVersion=$(printf '%s' "$child" | jq -r .version)" \
    -F autoCreate=true \
    -F "parentName=$parent_name" -F "parentVersion=$parent_version" \
    -F "bom=@$(printf '%s' "$child" | jq -r .bom)"
  echo
done
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use imagebom_model::{Category, Digest, ImageRef, Occurrence, Platform, Resolution};

    fn inv() -> Inventory {
        let mut inv = Inventory::default();
        inv.recipe.name = "demo".into();
        inv.recipe.version = "1".into();
        for r in ["quay.io/a/b:1", "quay.io/a/c:2", "quay.io/a/d:3"] {
            inv.add(
                ImageRef::parse(r).unwrap(),
                Occurrence {
                    component: "c".into(),
                    source: "f.yaml".into(),
                    kind: "Pod".into(),
                    name: "p".into(),
                    path: "spec/containers/0/image".into(),
                    line: None,
                    category: Category::Pod,
                    original: r.into(),
                    reason: None,
                },
            );
        }
        let res = |d: &[u8], platforms: Vec<Platform>| Resolution {
            digest: Digest::sha256_of(d),
            source: imagebom_model::ResolutionSource::Registry,
            media_type: None,
            size: None,
            platforms,
            artifact_type: None,
            provenance: None,
            sboms: Vec::new(),
        };
        let arm = Platform {
            os: "linux".into(),
            architecture: "arm64".into(),
            variant: None,
            os_version: None,
            digest: Digest::sha256_of(b"arm"),
            provenance: None,
        };
        inv.images.get_mut("quay.io/a/b:1").unwrap().resolution = Some(res(b"b", vec![arm]));
        inv.images.get_mut("quay.io/a/c:2").unwrap().resolution = Some(res(b"c", vec![]));
        inv
    }

    #[test]
    fn scanners_targets_by_digest() {
        let t = targets(&inv(), false, None);
        let b = Digest::sha256_of(b"b");
        let c = Digest::sha256_of(b"c");
        assert_eq!(
            refs(&t),
            format!("quay.io/a/b@{b}\nquay.io/a/c@{c}\n"),
            "the tag-only image is not exported"
        );
        assert_eq!(
            matrix(&t),
            format!(
                "{{\"include\":[{{\"image\":\"quay.io/a/b@{b}\"}},{{\"image\":\"quay.io/a/c@{c}\"}}]}}\n"
            )
        );
        let per = targets(&inv(), true, None);
        let arm = Digest::sha256_of(b"arm");
        assert_eq!(per[0].image, format!("quay.io/a/b@{arm}"));
        assert_eq!(per[0].platform.as_deref(), Some("linux/arm64"));
        let only: BTreeSet<String> = ["quay.io/a/c:2".to_string()].into();
        assert_eq!(
            refs(&targets(&inv(), false, Some(&only))),
            format!("quay.io/a/c@{c}\n")
        );
    }

    #[test]
    fn scanners_dependency_track_layout() {
        let inv = inv();
        let t = targets(&inv, false, None);
        let files = dependency_track(&inv, &t, |t| format!("bom/{}.json", &t.digest[7..19]));
        let parent: serde_json::Value = serde_json::from_str(&files[0].text).unwrap();
        assert_eq!(parent["collectionLogic"], "AGGREGATE_DIRECT_CHILDREN");
        assert_eq!(parent["name"], "demo");
        let children: serde_json::Value = serde_json::from_str(&files[1].text).unwrap();
        assert_eq!(children.as_array().unwrap().len(), 2);
        assert_eq!(children[0]["name"], "quay.io/a/b");
        assert_eq!(children[0]["version"], Digest::sha256_of(b"b").to_string());
        assert_eq!(children[0]["parent"]["version"], "1");
        assert!(files[2].executable && files[2].text.contains("/api/v1/bom"));
    }
}
