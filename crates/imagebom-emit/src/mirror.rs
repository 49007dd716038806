//! Air-gap mirror lists: what to copy, and where it lands.
//!
//! Images are copied by digest whenever the digest is known (resolved or pinned); an image
//! with only a tag is listed by tag and reported by [`unpinned`]. A mirror target
//! (`registry[:port][/prefix]`) receives each repository under its last path component, which
//! is how `skopeo sync` (unscoped) lays repositories out: `quay.io/prometheus/prometheus` →
//! `<target>/prometheus`. Two repositories that would land on the same name are an error,
//! never a silent overwrite.
//!
//! containerd is the exception: its `hosts.toml` mirrors a whole registry under one path and
//! cannot rename repositories, so [`containerd_hosts`] expects the *scoped* layout
//! `<target>/<registry>/<repository>` (what `skopeo sync --scoped` writes).

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
    /// containerd `hosts.toml` files, one per source registry, as one stream with a
    /// `# file: <registry>/hosts.toml` line before each (needs a target); see [`containerd_hosts`].
    Containerd,
}

/// containerd's `hosts.toml` for one source registry.
#[derive(serde::Serialize)]
struct HostsToml {
    server: String,
    host: BTreeMap<String, HostEntry>,
}

#[derive(serde::Serialize)]
struct HostEntry {
    capabilities: Vec<&'static str>,
    override_path: bool,
}

/// The containerd `hosts.toml` of every source registry of `inv`, keyed by the directory it
/// belongs in under containerd's `config_path` (`/etc/containerd/certs.d/<registry>/hosts.toml`).
///
/// Each file keeps the registry as `server` (the fallback; `https://registry-1.docker.io` for
/// `docker.io`, `http://` for `insecure` registries) and names the mirror as a
/// `[host."https://<target-host>/v2/<prefix>/<registry>"]` with `capabilities = ["pull",
/// "resolve"]` and `override_path = true` (the path is the API root: containerd appends
/// `/<repository>/manifests/…`). So the mirror must hold each image at
/// `<target>/<registry>/<repository>` — the layout `skopeo sync --scoped` writes. A target
/// host named in `insecure` is reached over `http://`. A source registry with a port cannot
/// be a path component of that layout and is an error.
pub fn containerd_hosts(
    inv: &Inventory,
    target: Option<&str>,
    insecure: &[String],
) -> Result<BTreeMap<String, String>, EmitError> {
    let target = need_target(target, "containerd")?;
    let target = target.trim_end_matches('/');
    let (host, prefix) = target.split_once('/').unwrap_or((target, ""));
    let scheme = |h: &str| {
        if insecure.iter().any(|i| i == h) {
            "http"
        } else {
            "https"
        }
    };
    let registries: BTreeSet<&str> = inv
        .images
        .values()
        .map(|e| e.reference.registry())
        .collect();
    let mut out = BTreeMap::new();
    for reg in registries {
        if reg.contains(':') {
            return Err(EmitError::Serialize {
                format: "containerd hosts.toml",
                message: format!(
                    "registry {reg:?} has a port, which cannot be a repository path component of the scoped mirror layout <target>/<registry>/<repository>"
                ),
            });
        }
        let server = if reg == "docker.io" {
            "https://registry-1.docker.io".to_string()
        } else {
            format!("{}://{reg}", scheme(reg))
        };
        let path = [prefix, reg]
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("/");
        let mirror = format!("{}://{host}/v2/{path}", scheme(host));
        let doc = HostsToml {
            server,
            host: BTreeMap::from([(
                mirror,
                HostEntry {
                    capabilities: vec!["pull", "resolve"],
                    override_path: true,
                },
            )]),
        };
        let text = toml::to_string(&doc).map_err(|e| EmitError::Serialize {
            format: "containerd hosts.toml",
            message: e.to_string(),
        })?;
        out.insert(reg.to_string(), text);
    }
    Ok(out)
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
        MirrorFormat::Containerd => {
            for (reg, text) in containerd_hosts(inv, target, insecure)? {
                if !out.is_empty() {
                    out.push('\n');
                }
                let _ = write!(out, "# file: {reg}/hosts.toml\n{text}");
            }
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

    #[test]
    fn containerd_hosts_files() {
        let i = inv();
        let files = containerd_hosts(&i, Some("m.local:5000/air/"), &[]).unwrap();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            ["docker.io", "quay.io"],
            "one hosts.toml per source registry"
        );
        let quay: toml::Table = toml::from_str(&files["quay.io"]).unwrap();
        assert_eq!(quay["server"].as_str(), Some("https://quay.io"));
        let hosts = quay["host"].as_table().unwrap();
        assert_eq!(hosts.len(), 1);
        let h = hosts["https://m.local:5000/v2/air/quay.io"]
            .as_table()
            .unwrap();
        let caps: Vec<&str> = h["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(caps, ["pull", "resolve"]);
        assert_eq!(h["override_path"].as_bool(), Some(true));
        assert_eq!(h.len(), 2, "{h:?}");
        assert_eq!(quay.len(), 2, "{quay:?}");

        let hub: toml::Table = toml::from_str(&files["docker.io"]).unwrap();
        assert_eq!(hub["server"].as_str(), Some("https://registry-1.docker.io"));
        assert!(hub["host"]
            .as_table()
            .unwrap()
            .contains_key("https://m.local:5000/v2/air/docker.io"));

        // No prefix, a plain-HTTP mirror: the path is still the registry scope.
        let files = containerd_hosts(&i, Some("m.local:5000"), &["m.local:5000".into()]).unwrap();
        let quay: toml::Table = toml::from_str(&files["quay.io"]).unwrap();
        assert!(quay["host"]
            .as_table()
            .unwrap()
            .contains_key("http://m.local:5000/v2/quay.io"));

        // The stream: each file after a marker line, in registry order.
        let stream = mirror(&i, MirrorFormat::Containerd, Some("m.local/air"), &[]).unwrap();
        let markers: Vec<&str> = stream
            .lines()
            .filter(|l| l.starts_with("# file: "))
            .collect();
        assert_eq!(
            markers,
            ["# file: docker.io/hosts.toml", "# file: quay.io/hosts.toml"]
        );
        for part in stream.split("# file: ").skip(1) {
            let body = part.split_once('\n').unwrap().1;
            let t: toml::Table = toml::from_str(body).unwrap();
            assert!(t.contains_key("server") && t.contains_key("host"));
        }

        assert!(containerd_hosts(&i, None, &[]).is_err());
        let mut ported = inv();
        let o = ported.images.values().next().unwrap().occurrences[0].clone();
        ported.add(ImageRef::parse("reg.local:5000/a/b:1").unwrap(), o);
        let e = containerd_hosts(&ported, Some("m.local"), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("reg.local:5000") && e.contains("port"), "{e}");
    }
}
