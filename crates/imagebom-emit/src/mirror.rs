//! Air-gap mirror lists: what to copy, and where it lands.
//!
//! Images are copied by digest whenever the digest is known (resolved or pinned); an image
//! with only a tag is listed by tag and reported by [`unpinned`]. A mirror target
//! (`registry[:port][/prefix]`) receives each repository under its last path component, which
//! is how `skopeo sync` (unscoped) lays repositories out: `quay.io/prometheus/prometheus` →
//! `<target>/prometheus`. Two repositories that would land on the same name are an error,
//! never a silent overwrite.

use crate::{digest_of, EmitError};
use imagebom_model::{ImageEntry, Inventory};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Mirror list formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MirrorFormat {
    /// One `registry/repository@digest` (or `:tag`) per line.
    List,
    /// The distinct source registries, one per line.
    Registries,
    /// `skopeo sync --src yaml` source file.
    SkopeoSync,
    /// One `skopeo copy --all --preserve-digests` command per image (needs a target).
    SkopeoCopy,
    /// `source-repository=mirror-repository` lines (needs a target).
    Mapping,
    /// oc-mirror `ImageSetConfiguration` (`mirror.additionalImages`).
    OcMirror,
    /// OpenShift `ImageDigestMirrorSet` (needs a target).
    Idms,
    /// OpenShift `ImageTagMirrorSet` for images known only by tag (needs a target).
    Itms,
    /// `containers-registries.conf` (v2) mirror entries, as CRI-O and podman read them (needs a target).
    RegistriesConf,
}

/// What to pull for an entry: by digest when known, else by tag.
fn pull_ref(e: &ImageEntry) -> String {
    let r = &e.reference;
    match digest_of(e) {
        Some(d) => format!("{}@{d}", r.qualified_name()),
        None => format!("{}:{}", r.qualified_name(), r.tag().unwrap_or("latest")),
    }
}

/// Where a repository lands under `target` (its last path component, as `skopeo sync` does).
pub fn mirrored_repository(target: &str, repository: &str) -> String {
    let name = repository.rsplit('/').next().unwrap_or(repository);
    format!("{}/{name}", target.trim_end_matches('/'))
}

/// Repositories that would land on the same mirror name.
fn collisions(inv: &Inventory) -> Result<(), EmitError> {
    let mut seen: BTreeMap<&str, String> = BTreeMap::new();
    for e in inv.images.values() {
        let r = &e.reference;
        let name = r.repository().rsplit('/').next().unwrap_or(r.repository());
        let q = r.qualified_name();
        match seen.get(name) {
            Some(other) if *other != q => {
                return Err(EmitError::MirrorCollision {
                    first: other.clone(),
                    second: q,
                    name: name.to_string(),
                })
            }
            _ => {
                seen.insert(name, q);
            }
        }
    }
    Ok(())
}

/// Images that can only be mirrored by tag (no digest known): mutable, worth a warning.
pub fn unpinned(inv: &Inventory) -> Vec<&str> {
    inv.images
        .iter()
        .filter(|(_, e)| digest_of(e).is_none())
        .map(|(k, _)| k.as_str())
        .collect()
}

fn need_target<'a>(target: Option<&'a str>, what: &'static str) -> Result<&'a str, EmitError> {
    target
        .filter(|t| !t.trim().is_empty())
        .ok_or(EmitError::MissingTarget { format: what })
}

/// Renders the mirror list of `inv` in `format`; `target` is the mirror registry
/// (`registry[:port][/prefix]`), required by the copy and mapping formats.
/// `insecure` registries get `tls-verify: false` in the `skopeo sync` file.
pub fn mirror(
    inv: &Inventory,
    format: MirrorFormat,
    target: Option<&str>,
    insecure: &[String],
) -> Result<String, EmitError> {
    let mut out = String::new();
    match format {
        MirrorFormat::List => {
            let refs: BTreeSet<String> = inv.images.values().map(pull_ref).collect();
            for r in refs {
                let _ = writeln!(out, "{r}");
            }
        }
        MirrorFormat::Registries => {
            let regs: BTreeSet<&str> = inv
                .images
                .values()
                .map(|e| e.reference.registry())
                .collect();
            for r in regs {
                let _ = writeln!(out, "{r}");
            }
        }
        MirrorFormat::SkopeoSync => {
            collisions(inv)?;
            // registry → repository → [digests or tags]
            let mut map: BTreeMap<&str, BTreeMap<&str, BTreeSet<String>>> = BTreeMap::new();
            for e in inv.images.values() {
                let r = &e.reference;
                let v = match digest_of(e) {
                    Some(d) => d.to_string(),
                    None => r.tag().unwrap_or("latest").to_string(),
                };
                map.entry(r.registry())
                    .or_default()
                    .entry(r.repository())
                    .or_default()
                    .insert(v);
            }
            #[derive(serde::Serialize)]
            #[serde(rename_all = "kebab-case")]
            struct Source<'a> {
                images: BTreeMap<&'a str, BTreeSet<String>>,
                #[serde(skip_serializing_if = "Option::is_none")]
                tls_verify: Option<bool>,
            }
            let doc: BTreeMap<&str, Source> = map
                .into_iter()
                .map(|(reg, images)| {
                    let tls_verify = insecure.iter().any(|h| h == reg).then_some(false);
                    (reg, Source { images, tls_verify })
                })
                .collect();
            out = serde_yaml_ng::to_string(&doc).map_err(|e| EmitError::Serialize {
                format: "skopeo sync",
                message: e.to_string(),
            })?;
        }
        MirrorFormat::SkopeoCopy => {
            let target = need_target(target, "skopeo copy")?;
            collisions(inv)?;
            let mut lines = BTreeSet::new();
            for e in inv.images.values() {
                let r = &e.reference;
                let dest = mirrored_repository(target, r.repository());
                let dest = match (r.tag(), digest_of(e)) {
                    (Some(t), _) => format!("{dest}:{t}"),
                    (None, Some(d)) => format!("{dest}@{d}"),
                    (None, None) => format!("{dest}:latest"),
                };
                lines.insert(format!(
                    "skopeo copy --all --preserve-digests docker://{} docker://{dest}",
                    pull_ref(e)
                ));
            }
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
        }
        MirrorFormat::Mapping => {
            for (src, dst) in repository_pairs(inv, target, "mapping")? {
                let _ = writeln!(out, "{src}={dst}");
            }
        }
        MirrorFormat::OcMirror => {
            let images: BTreeSet<String> = inv.images.values().map(pull_ref).collect();
            let doc = serde_json::json!({
                "kind": "ImageSetConfiguration",
                "apiVersion": "mirror.openshift.io/v2alpha1",
                "mirror": {
                    "additionalImages": images
                        .into_iter()
                        .map(|name| serde_json::json!({ "name": name }))
                        .collect::<Vec<_>>(),
                },
            });
            out = yaml(&doc)?;
        }
        MirrorFormat::Idms | MirrorFormat::Itms => {
            let target = need_target(target, "mirror set")?;
            collisions(inv)?;
            let by_digest = format == MirrorFormat::Idms;
            let sources: BTreeSet<String> = inv
                .images
                .values()
                .filter(|e| digest_of(e).is_some() == by_digest)
                .map(|e| e.reference.qualified_name())
                .collect();
            let entries: Vec<_> = sources
                .iter()
                .map(|src| {
                    let repo = src.split_once('/').map(|(_, r)| r).unwrap_or(src);
                    serde_json::json!({
                        "source": src,
                        "mirrors": [mirrored_repository(target, repo)],
                    })
                })
                .collect();
            let (kind, key) = if by_digest {
                ("ImageDigestMirrorSet", "imageDigestMirrors")
            } else {
                ("ImageTagMirrorSet", "imageTagMirrors")
            };
            let doc = serde_json::json!({
                "apiVersion": "config.openshift.io/v1",
                "kind": kind,
                "metadata": { "name": "imagebom" },
                "spec": { key: entries },
            });
            out = yaml(&doc)?;
        }
        MirrorFormat::RegistriesConf => {
            for (src, dst) in repository_pairs(inv, target, "registries.conf")? {
                let _ = writeln!(
                    out,
                    "[[registry]]\nprefix = \"{src}\"\nlocation = \"{src}\"\n\n[[registry.mirror]]\nlocation = \"{dst}\"\n"
                );
            }
        }
    }
    Ok(out)
}

/// Every source repository with the mirror repository it lands on, sorted.
fn repository_pairs(
    inv: &Inventory,
    target: Option<&str>,
    what: &'static str,
) -> Result<BTreeSet<(String, String)>, EmitError> {
    let target = need_target(target, what)?;
    collisions(inv)?;
    Ok(inv
        .images
        .values()
        .map(|e| {
            let r = &e.reference;
            (
                r.qualified_name(),
                mirrored_repository(target, r.repository()),
            )
        })
        .collect())
}

fn yaml(doc: &serde_json::Value) -> Result<String, EmitError> {
    serde_yaml_ng::to_string(doc).map_err(|e| EmitError::Serialize {
        format: "YAML",
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagebom_model::{Category, Digest, ImageRef, Occurrence};

    fn inv() -> Inventory {
        let mut inv = Inventory::default();
        let d = Digest::sha256_of(b"x");
        for r in [
            format!("quay.io/prometheus/prometheus:v3@{d}"),
            "busybox:1.37".to_string(),
            format!("quay.io/prometheus/alertmanager@{d}"),
        ] {
            inv.add(
                ImageRef::parse(&r).unwrap(),
                Occurrence {
                    component: "c".into(),
                    source: "s".into(),
                    kind: "Pod".into(),
                    name: "p".into(),
                    path: "x".into(),
                    category: Category::Pod,
                    original: r.clone(),
                    reason: None,
                },
            );
        }
        inv
    }

    #[test]
    fn formats() {
        let d = Digest::sha256_of(b"x");
        let i = inv();
        assert_eq!(
            mirror(&i, MirrorFormat::List, None, &[]).unwrap(),
            format!("docker.io/library/busybox:1.37\nquay.io/prometheus/alertmanager@{d}\nquay.io/prometheus/prometheus@{d}\n")
        );
        assert_eq!(
            mirror(&i, MirrorFormat::Registries, None, &[]).unwrap(),
            "docker.io\nquay.io\n"
        );
        let y: serde_yaml_ng::Value = serde_yaml_ng::from_str(
            &mirror(&i, MirrorFormat::SkopeoSync, None, &["quay.io".to_string()]).unwrap(),
        )
        .unwrap();
        assert_eq!(
            y["quay.io"]["images"]["prometheus/prometheus"][0],
            d.to_string().as_str()
        );
        assert_eq!(y["docker.io"]["images"]["library/busybox"][0], "1.37");
        assert_eq!(y["quay.io"]["tls-verify"], false);
        assert!(y["docker.io"].get("tls-verify").is_none());
        let copy = mirror(&i, MirrorFormat::SkopeoCopy, Some("m.local:5000/air"), &[]).unwrap();
        assert!(copy.contains(&format!(
            "docker://quay.io/prometheus/prometheus@{d} docker://m.local:5000/air/prometheus:v3"
        )));
        assert!(copy.contains(&format!("docker://m.local:5000/air/alertmanager@{d}")));
        let map = mirror(&i, MirrorFormat::Mapping, Some("m.local:5000/air/"), &[]).unwrap();
        assert!(map.contains("docker.io/library/busybox=m.local:5000/air/busybox\n"));
        assert!(mirror(&i, MirrorFormat::Mapping, None, &[]).is_err());
        assert_eq!(unpinned(&i), ["docker.io/library/busybox:1.37"]);

        let oc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&mirror(&i, MirrorFormat::OcMirror, None, &[]).unwrap())
                .unwrap();
        assert_eq!(oc["kind"], "ImageSetConfiguration");
        assert_eq!(
            oc["mirror"]["additionalImages"][0]["name"],
            "docker.io/library/busybox:1.37"
        );
        assert_eq!(
            oc["mirror"]["additionalImages"]
                .as_sequence()
                .unwrap()
                .len(),
            3
        );
        let idms: serde_yaml_ng::Value = serde_yaml_ng::from_str(
            &mirror(&i, MirrorFormat::Idms, Some("m.local/air"), &[]).unwrap(),
        )
        .unwrap();
        assert_eq!(idms["kind"], "ImageDigestMirrorSet");
        let e = &idms["spec"]["imageDigestMirrors"][1];
        assert_eq!(e["source"], "quay.io/prometheus/prometheus");
        assert_eq!(e["mirrors"][0], "m.local/air/prometheus");
        let itms: serde_yaml_ng::Value = serde_yaml_ng::from_str(
            &mirror(&i, MirrorFormat::Itms, Some("m.local/air"), &[]).unwrap(),
        )
        .unwrap();
        assert_eq!(
            itms["spec"]["imageTagMirrors"][0]["source"],
            "docker.io/library/busybox"
        );
        let conf = mirror(&i, MirrorFormat::RegistriesConf, Some("m.local/air"), &[]).unwrap();
        assert!(conf.contains("[[registry]]\nprefix = \"quay.io/prometheus/prometheus\"\nlocation = \"quay.io/prometheus/prometheus\"\n\n[[registry.mirror]]\nlocation = \"m.local/air/prometheus\"\n"));

        let mut clash = inv();
        let r = ImageRef::parse("ghcr.io/other/busybox:1").unwrap();
        let o = clash.images.values().next().unwrap().occurrences[0].clone();
        clash.add(r, o);
        let e = mirror(&clash, MirrorFormat::SkopeoSync, None, &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ghcr.io/other/busybox") && e.contains("docker.io/library/busybox"),
            "{e}"
        );
    }
}
