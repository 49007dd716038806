//! Charts in the mirror plan: every chart a recipe renders, and every subchart rendered with
//! it, with where it comes from and where it lands.
//!
//! A chart's facts come from [`ChartInfo::rendered`] (the version and archive really used);
//! before a chart is rendered only the recipe's repository, name and version are known, and
//! the entry says so (`versionFrom: recipe`, no digest). Remote charts (`oci://`, `https://`,
//! `http://`) land in the mirror as OCI artefacts `oci://<target>/charts/<name>:<version>`
//! (what `helm push <archive> oci://<target>/charts` writes); local charts and subcharts
//! vendored in their parent travel with the recipe and have no target.

use crate::EmitError;
use imagebom_model::url::redact_url;
use imagebom_model::{ChartInfo, Inventory, RenderedChartInfo};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Where a chart is fetched from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChartKind {
    /// An OCI registry (`oci://`).
    Oci,
    /// An HTTP(S) chart repository (`index.yaml` and archives).
    Http,
    /// A local path, or a subchart vendored in its parent: nothing to copy.
    Local,
}

/// One chart of the mirror plan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanChart {
    pub name: String,
    pub version: String,
    /// `rendered` (the version really used) or `recipe` (as written: not rendered).
    pub version_from: &'static str,
    pub kind: ChartKind,
    /// The chart repository: `oci://host/path`, `https://…` or a local path.
    pub repository: String,
    /// The archive URL, `oci://` reference or path of this chart.
    pub source: String,
    /// `sha256:<hex>` of the archive, when rendered from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Where it lands in the mirror (`oci://<target>/charts/<name>:<version>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The recipe component that deploys it.
    pub component: String,
    /// The chart it is a subchart of (its name), for subcharts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subchart_of: Option<String>,
    /// Whether it has subcharts fetched from a remote repository.
    #[serde(skip)]
    pub remote_subcharts: bool,
    /// The recipe's namespace of the component.
    #[serde(skip)]
    pub namespace: Option<String>,
}

impl PlanChart {
    /// True when the chart is fetched from a remote repository.
    pub fn remote(&self) -> bool {
        self.kind != ChartKind::Local
    }

    /// `name-version.tgz`, the archive file name Helm uses.
    pub fn archive_name(&self) -> String {
        format!("{}-{}.tgz", self.name, self.version)
    }
}

/// The kind of `sub`, a subchart of `parent`: one vendored in the parent's `charts/` (its
/// source is under the parent's) travels inside the parent, nothing of its own to copy,
/// whatever the parent's scheme; a fetched one is where it was fetched from.
fn sub_kind(parent: &RenderedChartInfo, sub: &RenderedChartInfo) -> ChartKind {
    match sub
        .source
        .starts_with(&format!("{}/charts/", parent.source))
    {
        true => ChartKind::Local,
        false => kind_of(&sub.source),
    }
}

fn kind_of(location: &str) -> ChartKind {
    let l = location.trim().to_ascii_lowercase();
    if l.starts_with("oci://") {
        ChartKind::Oci
    } else if l.starts_with("https://") || l.starts_with("http://") {
        ChartKind::Http
    } else {
        ChartKind::Local
    }
}

/// The repository of a rendered source: an `oci://` reference without its tag and name, an
/// archive URL without its file name.
fn repository_of(source: &str, kind: ChartKind) -> String {
    let s = source.trim_end_matches('/');
    let s = match kind {
        ChartKind::Oci => s.split_once('@').map_or(s, |(a, _)| a),
        _ => s,
    };
    let (dir, last) = s.rsplit_once('/').unwrap_or((s, ""));
    match kind {
        ChartKind::Oci if !last.is_empty() => dir.to_string(),
        ChartKind::Http if last.ends_with(".tgz") => dir.to_string(),
        _ => s.to_string(),
    }
}

/// Every chart (and subchart) the components of `inv` deploy, sorted, each once; `target`
/// gives remote charts their mirror location. Two different charts that would land on the
/// same `charts/<name>:<version>` are an error.
pub fn plan_charts(inv: &Inventory, target: Option<&str>) -> Result<Vec<PlanChart>, EmitError> {
    let mut out = Vec::new();
    for c in &inv.components {
        let Some(info) = &c.chart else { continue };
        top(info, &c.name, c.namespace.clone(), &mut out);
    }
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    for ch in out.iter_mut().filter(|c| c.remote()) {
        let key = (ch.name.clone(), ch.version.clone());
        match seen.get(&key) {
            Some(other) if *other != ch.source => {
                return Err(EmitError::MirrorCollision {
                    first: other.clone(),
                    second: ch.source.clone(),
                    name: format!("charts/{}:{}", ch.name, ch.version),
                })
            }
            _ => {
                seen.insert(key, ch.source.clone());
            }
        }
        if let Some(t) = target.filter(|t| !t.trim().is_empty()) {
            ch.target = Some(format!(
                "oci://{}/charts/{}:{}",
                t.trim().trim_end_matches('/'),
                ch.name,
                ch.version
            ));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn top(info: &ChartInfo, component: &str, namespace: Option<String>, out: &mut Vec<PlanChart>) {
    let kind = kind_of(&info.repository);
    // A recipe may write credentials into a URL: they never reach a list.
    let repository = redact_url(info.repository.trim().trim_end_matches('/'));
    match &info.rendered {
        Some(r) => {
            out.push(PlanChart {
                name: r.name.clone(),
                version: r.version.clone(),
                version_from: "rendered",
                kind,
                repository,
                source: redact_url(&r.source),
                digest: r.digest.clone(),
                target: None,
                component: component.to_string(),
                subchart_of: None,
                remote_subcharts: r
                    .subcharts
                    .iter()
                    .any(|s| sub_kind(r, s) != ChartKind::Local),
                namespace,
            });
            subcharts(r, component, out);
        }
        None => out.push(PlanChart {
            name: info.chart.clone(),
            version: info.version.clone(),
            version_from: "recipe",
            kind,
            source: match kind {
                ChartKind::Local => repository.clone(),
                _ => format!("{repository}/{}", info.chart),
            },
            repository,
            digest: None,
            target: None,
            component: component.to_string(),
            subchart_of: None,
            remote_subcharts: false,
            namespace,
        }),
    }
}

fn subcharts(parent: &RenderedChartInfo, component: &str, out: &mut Vec<PlanChart>) {
    for s in &parent.subcharts {
        let kind = sub_kind(parent, s);
        out.push(PlanChart {
            name: s.name.clone(),
            version: s.version.clone(),
            version_from: "rendered",
            kind,
            repository: repository_of(&redact_url(&s.source), kind),
            source: redact_url(&s.source),
            digest: s.digest.clone(),
            target: None,
            component: component.to_string(),
            subchart_of: Some(parent.name.clone()),
            remote_subcharts: s
                .subcharts
                .iter()
                .any(|x| sub_kind(s, x) != ChartKind::Local),
            namespace: None,
        });
        subcharts(s, component, out);
    }
}

/// The `oci://` reference to pull a chart from (`host/path/name:version`, without `oci://`).
fn oci_pull(ch: &PlanChart) -> String {
    let base = format!("{}/{}", ch.repository.trim_start_matches("oci://"), ch.name);
    format!("{base}:{}", ch.version)
}

/// A POSIX shell script that copies every remote chart into `oci://<target>/charts`: OCI
/// charts with `skopeo copy --preserve-digests` (the archive layer and its digest unchanged),
/// HTTP archives downloaded (`curl`, or `helm pull` when the archive URL is not known),
/// checked against their digest and pushed with `helm push`.
pub fn chart_copy(
    charts: &[PlanChart],
    target: &str,
    insecure: &[String],
) -> Result<String, EmitError> {
    let target = target.trim().trim_end_matches('/');
    let host = |s: &str| s.split('/').next().unwrap_or(s).to_string();
    let tls = |flag: &str, h: &str| {
        if insecure.iter().any(|i| i == h) {
            format!(" --{flag}-tls-verify=false")
        } else {
            String::new()
        }
    };
    let mut out = String::from(
        "#!/bin/sh\n# Charts of the recipe into the mirror (imagebom mirror --format chart-copy).\nset -eu\n",
    );
    for ch in charts.iter().filter(|c| c.remote()) {
        let _ = writeln!(
            out,
            "\n# {} {} (component {}{})",
            ch.name,
            ch.version,
            ch.component,
            ch.subchart_of
                .as_ref()
                .map(|p| format!(", subchart of {p}"))
                .unwrap_or_default()
        );
        let dest = format!("{target}/charts/{}:{}", ch.name, ch.version);
        if ch.kind == ChartKind::Oci {
            let src = oci_pull(ch);
            let _ = writeln!(
                out,
                "skopeo copy --preserve-digests{}{} docker://{src} docker://{dest}",
                tls("src", &host(&src)),
                tls("dest", &host(target))
            );
            continue;
        }
        let file = ch.archive_name();
        if ch.source.ends_with(".tgz") {
            let _ = writeln!(out, "curl -fsSL -o {file} {}", sh_quote(&ch.source));
        } else {
            let _ = writeln!(
                out,
                "helm pull {} --repo {} --version {}",
                sh_quote(&ch.name),
                sh_quote(&ch.repository),
                sh_quote(&ch.version)
            );
        }
        if let Some(hex) = ch.digest.as_ref().and_then(|d| d.strip_prefix("sha256:")) {
            let _ = writeln!(out, "echo '{hex}  {file}' | sha256sum -c -");
        }
        let plain = if insecure.iter().any(|i| *i == host(target)) {
            " --plain-http"
        } else {
            ""
        };
        let _ = writeln!(out, "helm push{plain} {file} oci://{target}/charts");
    }
    Ok(out)
}

/// Single-quotes `s` for the shell when it holds anything but safe characters.
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@+=%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
