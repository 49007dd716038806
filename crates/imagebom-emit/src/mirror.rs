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
//!
//! Charts ([`charts`]) and the package formats of Hauler and Zarf ([`airgap`]) complete the
//! plan; `--platform` ([`platform`]) cuts indexes down to the platforms a site runs.

pub mod airgap;
pub mod charts;
pub mod platform;

use crate::{digest_of, EmitError};
use airgap::ComponentExtra;
use charts::PlanChart;
use imagebom_model::Inventory;
use platform::{CopyUnit, PlatformSpec};
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
    /// Every chart and subchart: source, version, digest, mirror location (YAML).
    Charts,
    /// A shell script copying every remote chart into `oci://<target>/charts` (needs a target).
    ChartCopy,
    /// Hauler `Images` and `Charts` manifests.
    Hauler,
    /// A Zarf `zarf.yaml` package definition.
    Zarf,
    /// The whole plan (images with platforms, charts) as JSON.
    Plan,
}

/// What shapes a mirror list besides the inventory.
#[derive(Debug, Clone, Copy, Default)]
pub struct MirrorOptions<'a> {
    /// The mirror registry (`registry[:port][/prefix]`).
    pub target: Option<&'a str>,
    /// Registries reached over plain HTTP.
    pub insecure: &'a [String],
    /// Keep only these platforms of each index (empty: every platform).
    pub platforms: &'a [PlatformSpec],
    /// Leave out images with no matching platform instead of failing.
    pub allow_missing_platform: bool,
    /// What the recipe says about each component (values files, release names), by name.
    pub components: Option<&'a BTreeMap<String, ComponentExtra>>,
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
    mirror_with(
        inv,
        format,
        &MirrorOptions {
            target,
            insecure,
            ..MirrorOptions::default()
        },
    )
}

/// The line saying that a format without charts leaves them to their own step, when the
/// recipe has remote charts.
pub fn charts_note(inv: &Inventory) -> Option<String> {
    let n = charts::plan_charts(inv, None)
        .ok()?
        .iter()
        .filter(|c| c.remote())
        .count();
    (n > 0).then(|| {
        format!(
            "{n} chart(s) are not in this list: mirror them in their own step (--format chart-copy, charts, hauler, zarf or oc-mirror)"
        )
    })
}

/// [`mirror`] with every option: platform filter, chart details.
pub fn mirror_with(
    inv: &Inventory,
    format: MirrorFormat,
    opts: &MirrorOptions,
) -> Result<String, EmitError> {
    let units = platform::units(inv, opts.platforms, opts.allow_missing_platform)?;
    let charts = charts::plan_charts(inv, opts.target)?;
    let comment = charts_note(inv)
        .map(|n| format!("# {n}\n"))
        .unwrap_or_default();
    let target = opts.target;
    let mut out = String::new();
    match format {
        MirrorFormat::List => {
            let refs: BTreeSet<String> = units.iter().map(CopyUnit::pull_ref).collect();
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
            out = comment + &skopeo_sync(&units, opts.insecure)?;
        }
        MirrorFormat::SkopeoCopy => {
            let target = need_target(target, "skopeo copy")?;
            collisions(inv)?;
            out = comment + &skopeo_copy(&units, target, opts.insecure);
        }
        MirrorFormat::Mapping => {
            for (src, dst) in repository_pairs(inv, target, "mapping")? {
                let _ = writeln!(out, "{src}={dst}");
            }
        }
        MirrorFormat::OcMirror => out = oc_mirror(&units, &charts)?,
        MirrorFormat::Idms | MirrorFormat::Itms => {
            out = comment + &mirror_set(inv, format, target)?;
        }
        MirrorFormat::Containerd => {
            out = comment;
            for (reg, text) in containerd_hosts(inv, target, opts.insecure)? {
                if !out.is_empty() {
                    out.push('\n');
                }
                let _ = write!(out, "# file: {reg}/hosts.toml\n{text}");
            }
        }
        MirrorFormat::RegistriesConf => {
            out = comment;
            for (src, dst) in repository_pairs(inv, target, "registries.conf")? {
                let _ = writeln!(
                    out,
                    "[[registry]]\nprefix = \"{src}\"\nlocation = \"{src}\"\n\n[[registry.mirror]]\nlocation = \"{dst}\"\n"
                );
            }
        }
        MirrorFormat::Charts => out = to_yaml(&charts, "chart list")?,
        MirrorFormat::ChartCopy => {
            let target = need_target(target, "chart copy")?;
            out = charts::chart_copy(&charts, target, opts.insecure)?;
        }
        MirrorFormat::Hauler => out = airgap::hauler(inv, &units, &charts)?,
        MirrorFormat::Zarf => out = airgap::zarf(inv, &units, &charts, opts)?,
        MirrorFormat::Plan => out = airgap::plan(inv, &units, &charts, opts)?,
    }
    Ok(out)
}

/// The `skopeo sync --src yaml` file: registry → repository → digests and tags. A whole
/// image is listed by its digest and, when its reference has one, its tag (the mirror must
/// answer the tag a cluster asks for); a platform-filtered image by its chosen platform
/// manifests only.
fn skopeo_sync(units: &[CopyUnit], insecure: &[String]) -> Result<String, EmitError> {
    let mut map: BTreeMap<&str, BTreeMap<&str, BTreeSet<String>>> = BTreeMap::new();
    for u in units {
        let (reg, repo) = u.source.split_once('/').unwrap_or(("", &u.source));
        let set = map.entry(reg).or_default().entry(repo).or_default();
        if let Some(d) = &u.digest {
            set.insert(d.clone());
        }
        if u.whole() && (u.tag.is_some() || u.digest.is_none()) {
            set.insert(u.tag.unwrap_or("latest").to_string());
        }
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
    let mut out = filtered_note(units);
    out.push_str(&to_yaml(&doc, "skopeo sync")?);
    Ok(out)
}

/// Comment lines naming each platform-filtered image's index and chosen platforms.
fn filtered_note(units: &[CopyUnit]) -> String {
    let mut out = String::new();
    for u in units.iter().filter(|u| !u.whole()) {
        if let (Some(p), Some(d)) = (&u.platform, &u.digest) {
            let _ = writeln!(
                out,
                "# {}@{} (index, not copied): {} {d}",
                u.source, p.index, p.spec
            );
        }
    }
    out
}

/// `skopeo copy` commands: a whole image with `--all` (every platform of an index, digests
/// preserved), a chosen platform manifest alone by its digest.
fn skopeo_copy(units: &[CopyUnit], target: &str, insecure: &[String]) -> String {
    let plain = |flag: &str, host: &str| {
        if insecure.iter().any(|i| i == host) {
            format!(" --{flag}-tls-verify=false")
        } else {
            String::new()
        }
    };
    let to = plain("dest", target.split('/').next().unwrap_or(target));
    let mut lines = BTreeSet::new();
    for u in units {
        let (registry, repo) = u.source.split_once('/').unwrap_or(("", &u.source));
        let flags = format!("{}{to}", plain("src", registry));
        let dest = mirrored_repository(target, repo);
        let line = match (&u.platform, &u.digest) {
            (Some(p), Some(d)) => format!(
                "# {} {} of index {}\nskopeo copy --preserve-digests{flags} docker://{}@{d} docker://{dest}@{d}",
                u.source, p.spec, p.index, u.source
            ),
            _ => {
                let dest = match (u.tag, &u.digest) {
                    (Some(t), _) => format!("{dest}:{t}"),
                    (None, Some(d)) => format!("{dest}@{d}"),
                    (None, None) => format!("{dest}:latest"),
                };
                format!(
                    "skopeo copy --all --preserve-digests{flags} docker://{} docker://{dest}",
                    u.pull_ref()
                )
            }
        };
        lines.insert(line);
    }
    let mut out = String::new();
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    out
}

/// oc-mirror's `ImageSetConfiguration`: images (and OCI charts, as artefacts) in
/// `additionalImages`, chart-repository charts in `helm.repositories`.
fn oc_mirror(units: &[CopyUnit], charts: &[PlanChart]) -> Result<String, EmitError> {
    let mut images: BTreeSet<String> = units.iter().map(CopyUnit::pull_ref).collect();
    let mut repos: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
    for c in charts {
        match c.kind {
            charts::ChartKind::Oci => {
                images.insert(format!(
                    "{}/{}:{}",
                    c.repository.trim_start_matches("oci://"),
                    c.name,
                    c.version
                ));
            }
            charts::ChartKind::Http => {
                repos
                    .entry(&c.repository)
                    .or_default()
                    .insert((&c.name, &c.version));
            }
            charts::ChartKind::Local => {}
        }
    }
    let mut mirror = serde_json::json!({
        "additionalImages": images
            .into_iter()
            .map(|name| serde_json::json!({ "name": name }))
            .collect::<Vec<_>>(),
    });
    if !repos.is_empty() {
        let repositories: Vec<_> = repos
            .into_iter()
            .map(|(url, list)| {
                serde_json::json!({
                    "name": repo_name(url),
                    "url": url,
                    "charts": list
                        .into_iter()
                        .map(|(n, v)| serde_json::json!({"name": n, "version": v}))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        mirror["helm"] = serde_json::json!({ "repositories": repositories });
    }
    to_yaml(
        &serde_json::json!({
            "kind": "ImageSetConfiguration",
            "apiVersion": "mirror.openshift.io/v2alpha1",
            "mirror": mirror,
        }),
        "oc-mirror",
    )
}

/// A repository's name for oc-mirror: its URL's host and path, `-` for anything else.
fn repo_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.trim_end_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// OpenShift `ImageDigestMirrorSet` / `ImageTagMirrorSet`.
fn mirror_set(
    inv: &Inventory,
    format: MirrorFormat,
    target: Option<&str>,
) -> Result<String, EmitError> {
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
    to_yaml(
        &serde_json::json!({
            "apiVersion": "config.openshift.io/v1",
            "kind": kind,
            "metadata": { "name": "imagebom" },
            "spec": { key: entries },
        }),
        "mirror set",
    )
}

fn to_yaml<T: serde::Serialize>(doc: &T, format: &'static str) -> Result<String, EmitError> {
    serde_yaml_ng::to_string(doc).map_err(|e| EmitError::Serialize {
        format,
        message: e.to_string(),
    })
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
                    line: None,
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
        // A whole image: its digest and the tag the cluster asks for.
        assert_eq!(
            y["quay.io"]["images"]["prometheus/prometheus"][1], "v3",
            "{y:?}"
        );
        assert_eq!(
            y["quay.io"]["images"]["prometheus/alertmanager"]
                .as_sequence()
                .unwrap()
                .len(),
            1
        );
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

    /// An inventory with an index of two platforms, a single manifest and three charts: an
    /// OCI chart with a fetched HTTP subchart (rendered), an HTTP chart known only by the
    /// recipe, and a local chart.
    fn airgap_inv() -> Inventory {
        use imagebom_model::{
            ChartInfo, ComponentInfo, Platform, RenderedChartInfo, Resolution, ResolutionSource,
        };
        let mut inv = inv();
        inv.recipe.name = "Air Gap".into();
        inv.recipe.version = "1.0".into();
        let (amd, arm) = (Digest::sha256_of(b"amd"), Digest::sha256_of(b"arm"));
        let e = inv
            .images
            .get_mut(&format!(
                "quay.io/prometheus/prometheus:v3@{}",
                Digest::sha256_of(b"x")
            ))
            .unwrap();
        let plat = |arch: &str, variant: Option<&str>, digest: &Digest| Platform {
            os: "linux".into(),
            architecture: arch.into(),
            variant: variant.map(Into::into),
            os_version: None,
            digest: digest.clone(),
            provenance: None,
        };
        e.resolution = Some(Resolution {
            digest: Digest::sha256_of(b"x"),
            source: ResolutionSource::Registry,
            media_type: None,
            size: None,
            platforms: vec![plat("amd64", None, &amd), plat("arm64", Some("v8"), &arm)],
            artifact_type: None,
            provenance: None,
            sboms: Vec::new(),
        });
        let chart = |repository: &str, chart: &str, rendered| ChartInfo {
            repository: repository.into(),
            chart: chart.into(),
            version: "1.2.3".into(),
            pinned: true,
            rendered,
        };
        let sub = RenderedChartInfo {
            name: "redis".into(),
            version: "17.0.0".into(),
            digest: Some(Digest::sha256_of(b"redis").to_string()),
            source: "https://charts.example/stable/redis-17.0.0.tgz".into(),
            subcharts: vec![],
        };
        let vendored = RenderedChartInfo {
            name: "common".into(),
            version: "2.0.0".into(),
            digest: None,
            source: "charts/common".into(),
            subcharts: vec![],
        };
        let comps = [
            (
                "c",
                chart(
                    "oci://ghcr.io/org/charts",
                    "app",
                    Some(RenderedChartInfo {
                        name: "app".into(),
                        version: "1.2.4".into(),
                        digest: Some(Digest::sha256_of(b"app").to_string()),
                        source: "oci://ghcr.io/org/charts/app:1.2.4".into(),
                        subcharts: vec![sub, vendored],
                    }),
                ),
            ),
            ("web", chart("https://charts.example/stable", "web", None)),
            ("local", chart("../charts/local", "local", None)),
        ];
        for (name, ch) in comps {
            inv.components.push(ComponentInfo {
                name: name.into(),
                display_name: Some(format!("The {name}")),
                namespace: Some("ns".into()),
                chart: Some(ch),
                manifests: vec![],
                trust: None,
            });
        }
        inv
    }

    fn opts<'a>(target: Option<&'a str>, platforms: &'a [PlatformSpec]) -> MirrorOptions<'a> {
        MirrorOptions {
            target,
            platforms,
            ..MirrorOptions::default()
        }
    }

    #[test]
    fn charts_are_planned_with_source_version_digest_and_target() {
        let i = airgap_inv();
        let charts = charts::plan_charts(&i, Some("m.local:5000/air/")).unwrap();
        let by: BTreeMap<&str, &PlanChart> = charts.iter().map(|c| (c.name.as_str(), c)).collect();
        assert_eq!(by.len(), 5, "{charts:?}");
        let app = by["app"];
        assert_eq!(
            (app.version.as_str(), app.version_from),
            ("1.2.4", "rendered")
        );
        assert_eq!(app.repository, "oci://ghcr.io/org/charts");
        assert_eq!(
            app.target.as_deref(),
            Some("oci://m.local:5000/air/charts/app:1.2.4")
        );
        let redis = by["redis"];
        assert_eq!(redis.subchart_of.as_deref(), Some("app"));
        assert_eq!(redis.repository, "https://charts.example/stable");
        assert_eq!(redis.kind, charts::ChartKind::Http);
        assert_eq!(by["common"].kind, charts::ChartKind::Local);
        assert!(by["common"].target.is_none() && by["local"].target.is_none());
        let web = by["web"];
        assert_eq!(
            (web.version.as_str(), web.version_from),
            ("1.2.3", "recipe")
        );
        assert!(web.digest.is_none());

        let script = mirror_with(
            &i,
            MirrorFormat::ChartCopy,
            &opts(Some("m.local:5000/air"), &[]),
        )
        .unwrap();
        assert!(script.contains("skopeo copy --preserve-digests docker://ghcr.io/org/charts/app:1.2.4 docker://m.local:5000/air/charts/app:1.2.4\n"), "{script}");
        assert!(script.contains(
            "curl -fsSL -o redis-17.0.0.tgz https://charts.example/stable/redis-17.0.0.tgz\n"
        ));
        let hex = Digest::sha256_of(b"redis").to_string()[7..].to_string();
        assert!(script.contains(&format!(
            "echo '{hex}  redis-17.0.0.tgz' | sha256sum -c -\n"
        )));
        assert!(
            script.contains("helm pull web --repo https://charts.example/stable --version 1.2.3\n")
        );
        assert!(script.contains("helm push web-1.2.3.tgz oci://m.local:5000/air/charts\n"));
        assert!(
            !script.contains("common") && !script.contains("local-"),
            "{script}"
        );
        assert!(mirror_with(&i, MirrorFormat::ChartCopy, &opts(None, &[])).is_err());

        // The image-only formats say so; the oc-mirror list carries them.
        let sync = mirror_with(&i, MirrorFormat::SkopeoSync, &opts(None, &[])).unwrap();
        assert!(
            sync.starts_with("# 3 chart(s) are not in this list"),
            "{sync}"
        );
        let oc: serde_yaml_ng::Value = serde_yaml_ng::from_str(
            &mirror_with(&i, MirrorFormat::OcMirror, &opts(None, &[])).unwrap(),
        )
        .unwrap();
        let repos = oc["mirror"]["helm"]["repositories"].as_sequence().unwrap();
        assert_eq!(repos.len(), 1);
        assert_eq!(repos[0]["url"], "https://charts.example/stable");
        assert_eq!(repos[0]["charts"].as_sequence().unwrap().len(), 2);
        let extra: Vec<&str> = oc["mirror"]["additionalImages"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|x| x["name"].as_str().unwrap())
            .collect();
        assert!(extra.contains(&"ghcr.io/org/charts/app:1.2.4"), "{extra:?}");

        // Two different charts on one mirror name are an error.
        let mut clash = airgap_inv();
        let mut other = clash.components[1].clone();
        other.name = "other".into();
        other.chart.as_mut().unwrap().repository = "https://elsewhere.example".into();
        clash.components.push(other);
        assert!(charts::plan_charts(&clash, None).is_err());
    }

    /// A recipe's repository with userinfo or a token in its query never reaches a list.
    #[test]
    fn chart_credentials_never_reach_the_plan() {
        let mut i = airgap_inv();
        i.components[1].chart.as_mut().unwrap().repository =
            "https://ci:s3cret@charts.example/stable?token=t0k".into();
        for f in [
            MirrorFormat::Charts,
            MirrorFormat::ChartCopy,
            MirrorFormat::Hauler,
            MirrorFormat::Zarf,
            MirrorFormat::OcMirror,
            MirrorFormat::Plan,
        ] {
            let text = mirror_with(&i, f, &opts(Some("m.local"), &[])).unwrap();
            assert!(
                !text.contains("s3cret") && !text.contains("t0k"),
                "{f:?}: {text}"
            );
            assert!(text.contains("charts.example/stable"), "{f:?}: {text}");
        }
    }

    #[test]
    fn platform_filter_keeps_the_chosen_manifests() {
        let i = airgap_inv();
        let amd: Vec<PlatformSpec> = vec!["linux/amd64".parse().unwrap()];
        let (d, a) = (Digest::sha256_of(b"x"), Digest::sha256_of(b"amd"));
        let list = mirror_with(&i, MirrorFormat::List, &opts(None, &amd)).unwrap();
        assert!(
            list.contains(&format!("quay.io/prometheus/prometheus@{a}\n")),
            "{list}"
        );
        assert!(!list.contains(&format!("prometheus@{d}")), "{list}");
        // Images without a platform list (single manifests, tags) are kept whole.
        assert!(list.contains("docker.io/library/busybox:1.37\n"));
        let copy = mirror_with(
            &i,
            MirrorFormat::SkopeoCopy,
            &opts(Some("m.local/air"), &amd),
        )
        .unwrap();
        assert!(copy.contains(&format!(
            "skopeo copy --preserve-digests docker://quay.io/prometheus/prometheus@{a} docker://m.local/air/prometheus@{a}"
        )), "{copy}");
        assert!(copy.contains(&format!("linux/amd64 of index {d}")));
        let plan: serde_json::Value = serde_json::from_str(
            &mirror_with(&i, MirrorFormat::Plan, &opts(Some("m.local/air"), &amd)).unwrap(),
        )
        .unwrap();
        let prom = plan["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["source"] == "quay.io/prometheus/prometheus")
            .unwrap();
        assert_eq!(prom["index"], d.to_string().as_str());
        assert_eq!(prom["digest"], a.to_string().as_str());
        assert_eq!(prom["platform"], "linux/amd64");
        assert_eq!(plan["platforms"][0], "linux/amd64");
        // A variant must match; none matches any variant.
        let v8: Vec<PlatformSpec> = vec!["linux/arm64/v8".parse().unwrap()];
        assert!(mirror_with(&i, MirrorFormat::List, &opts(None, &v8))
            .unwrap()
            .contains(&Digest::sha256_of(b"arm").to_string()));
        let s390: Vec<PlatformSpec> = vec!["linux/s390x".parse().unwrap()];
        let e = mirror_with(&i, MirrorFormat::List, &opts(None, &s390)).unwrap_err();
        assert!(matches!(e, EmitError::MissingPlatform { .. }));
        assert!(
            e.to_string().contains("quay.io/prometheus/prometheus:v3"),
            "{e}"
        );
        let allowed = MirrorOptions {
            allow_missing_platform: true,
            ..opts(None, &s390)
        };
        let list = mirror_with(&i, MirrorFormat::List, &allowed).unwrap();
        assert!(!list.contains("prometheus/prometheus"), "{list}");
        assert_eq!(
            platform::missing(&i, &s390),
            [format!("quay.io/prometheus/prometheus:v3@{d}")]
        );
        for bad in ["linux", "linux/", "/amd64", "a/b/c/d", "linux/amd 64"] {
            assert!(bad.parse::<PlatformSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn hauler_and_zarf_documents() {
        let i = airgap_inv();
        let amd: Vec<PlatformSpec> = vec!["linux/amd64".parse().unwrap()];
        let text = mirror_with(&i, MirrorFormat::Hauler, &opts(None, &amd)).unwrap();
        let docs: Vec<serde_yaml_ng::Value> = serde_yaml_ng::Deserializer::from_str(&text)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .collect();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["apiVersion"], "content.hauler.cattle.io/v1");
        assert_eq!(docs[0]["kind"], "Images");
        assert_eq!(docs[0]["metadata"]["name"], "air-gap-images");
        let images = docs[0]["spec"]["images"].as_sequence().unwrap();
        let prom = images
            .iter()
            .find(|x| {
                x["name"]
                    .as_str()
                    .unwrap()
                    .starts_with("quay.io/prometheus/prometheus@")
            })
            .unwrap();
        assert_eq!(prom["platform"], "linux/amd64");
        assert_eq!(docs[1]["kind"], "Charts");
        let charts = docs[1]["spec"]["charts"].as_sequence().unwrap();
        assert_eq!(charts.len(), 3, "top-level charts only: {charts:?}");
        // A local chart is named by its path, without repoURL.
        let local = charts
            .iter()
            .find(|c| c["name"] == "../charts/local")
            .unwrap();
        assert!(local.get("repoURL").is_none(), "{local:?}");
        let app = charts.iter().find(|c| c["name"] == "app").unwrap();
        assert_eq!(app["repoURL"], "oci://ghcr.io/org/charts");
        assert_eq!(app["version"], "1.2.4");
        assert_eq!(app["add-dependencies"], true);

        let mut extras = BTreeMap::new();
        extras.insert(
            "web".to_string(),
            ComponentExtra {
                values_files: vec!["values/web.yaml".into()],
                inline_values: true,
                release_name: Some("www".into()),
            },
        );
        let o = MirrorOptions {
            components: Some(&extras),
            ..opts(None, &amd)
        };
        let text = mirror_with(&i, MirrorFormat::Zarf, &o).unwrap();
        assert!(
            text.contains("# component web: the recipe's inline values"),
            "{text}"
        );
        let z: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(z["kind"], "ZarfPackageConfig");
        assert_eq!(z["metadata"]["name"], "air-gap");
        assert_eq!(z["metadata"]["architecture"], "amd64");
        let comps = z["components"].as_sequence().unwrap();
        assert_eq!(comps.len(), 3);
        let app = &comps[0]["charts"][0];
        assert_eq!(app["url"], "oci://ghcr.io/org/charts/app");
        assert_eq!(app["version"], "1.2.4");
        assert_eq!(app["namespace"], "ns");
        let web = &comps[1]["charts"][0];
        assert_eq!(web["url"], "https://charts.example/stable");
        assert_eq!(web["repoName"], "web");
        assert_eq!(web["releaseName"], "www");
        assert_eq!(web["valuesFiles"][0], "values/web.yaml");
        assert_eq!(comps[2]["charts"][0]["localPath"], "../charts/local");
        let images = comps[0]["images"].as_sequence().unwrap();
        assert_eq!(images.len(), 3, "{images:?}");
        // The tag the pods name, pinned: the chosen platform's digest under --platform.
        let amd = Digest::sha256_of(b"amd");
        assert!(
            images.contains(&format!("quay.io/prometheus/prometheus:v3@{amd}").into()),
            "{images:?}"
        );
        assert!(
            images.contains(&"docker.io/library/busybox:1.37".into()),
            "{images:?}"
        );
    }
}
