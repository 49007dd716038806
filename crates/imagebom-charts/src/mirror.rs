//! Chart mirrors: fetch a chart from another place than its canonical repository.
//!
//! A chart's location is `<repository>/<chart>` (`https://charts.example/stable/redis`,
//! `oci://ghcr.io/org/charts/redis`). A mirror `SOURCE=TARGET` applies when `SOURCE` is that
//! location or a prefix of it ending at a `/`; the longest `SOURCE` wins, the first listed at
//! equal length. What follows `SOURCE` in the location is appended to `TARGET`:
//!
//! - an `https://`, `http://` or `oci://` `TARGET` is the new location (its last segment the
//!   chart name, the rest the repository);
//! - any other `TARGET` is a local path (relative to [`ChartMirror::base_dir`]): the chart
//!   itself (a chart directory or `.tgz`), or a directory holding `<chart>/` or
//!   `<chart>-<version>.tgz` (below the sub-path the location adds, if any; for a constraint,
//!   the highest version there that satisfies it).
//!
//! Local charts (a repository that is a path) are never mapped. The same mapping serves the
//! charts a recipe names and the dependencies [`crate::load_chart`] fetches.

use crate::ChartRequest;
use std::path::{Path, PathBuf};

/// One mirror: the charts under `source` are fetched from `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartMirror {
    /// A repository or chart location (`https://repo[/chart]`, `oci://prefix[/chart]`).
    pub source: String,
    /// Where to fetch instead: an `http(s)://` repository, an `oci://` prefix or a local path.
    pub target: String,
    /// Directory a local `target` is relative to.
    pub base_dir: PathBuf,
}

/// A mirror that applies but cannot serve the chart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chart mirror {target}: {message}")]
pub struct MirrorError {
    /// The mirror's target, as written.
    pub target: String,
    /// What is wrong.
    pub message: String,
}

/// The request that fetches `canonical` through the mirror that applies to it (see the
/// module documentation); `None` when none does.
pub fn mirrored(
    mirrors: &[ChartMirror],
    canonical: &ChartRequest,
) -> Result<Option<ChartRequest>, MirrorError> {
    if !is_remote(&canonical.repository) {
        return Ok(None);
    }
    let location = format!(
        "{}/{}",
        canonical.repository.trim().trim_end_matches('/'),
        canonical.chart
    );
    let mut best: Option<(&str, &ChartMirror)> = None;
    for m in mirrors {
        let s = m.source.trim().trim_end_matches('/');
        let hit = location == s || location.starts_with(&format!("{s}/"));
        if hit && best.is_none_or(|(b, _)| s.len() > b.len()) {
            best = Some((s, m));
        }
    }
    let Some((source, m)) = best else {
        return Ok(None);
    };
    let rest = &location[source.len()..];
    let err = |message: String| MirrorError {
        target: m.target.clone(),
        message,
    };
    tracing::debug!(%location, target = %m.target, "chart mirror");
    if is_remote(&m.target) {
        let mapped = format!("{}{rest}", m.target.trim().trim_end_matches('/'));
        let Some((repository, chart)) = mapped.rsplit_once('/') else {
            return Err(err(format!("{mapped:?} names no chart")));
        };
        return Ok(Some(ChartRequest {
            repository: repository.to_string(),
            chart: chart.to_string(),
            version: canonical.version.clone(),
            base_dir: m.base_dir.clone(),
        }));
    }
    let root = m.base_dir.join(m.target.trim());
    let sub = rest
        .trim_start_matches('/')
        .rsplit_once('/')
        .map_or("", |(d, _)| d);
    let dir = if sub.is_empty() { root } else { root.join(sub) };
    let (chart, version) = (&canonical.chart, &canonical.version);
    let path = local_chart(&dir, chart, version).ok_or_else(|| {
        let archive = if crate::version::is_exact(version) || version.trim().is_empty() {
            format!("{chart}-{version}.tgz")
        } else {
            format!("{chart}-<version>.tgz satisfying {version}")
        };
        err(format!(
            "no chart {chart:?} {version} at {} (looked for the chart itself, {chart}/ and \
             {archive})",
            dir.display(),
        ))
    })?;
    Ok(Some(ChartRequest {
        repository: path.display().to_string(),
        chart: chart.clone(),
        version: version.clone(),
        base_dir: PathBuf::from("."),
    }))
}

/// The canonical location of a chart for the BOM when a mirror served it: `<repository>/<chart>`
/// (with `:<version>` for `oci://`, `+` written `_` as Helm tags it), credentials removed.
pub fn canonical_location(repository: &str, chart: &str, version: &str) -> String {
    let location = format!("{}/{}", repository.trim().trim_end_matches('/'), chart);
    let location = if location.to_ascii_lowercase().starts_with("oci://") {
        format!("{location}:{}", version.replace('+', "_"))
    } else {
        location
    };
    imagebom_model::redact_url(&location)
}

/// Whether `repository` is fetched over the network (and so may be mirrored).
pub fn is_remote(repository: &str) -> bool {
    let l = repository.trim().to_ascii_lowercase();
    ["https://", "http://", "oci://"]
        .iter()
        .any(|p| l.starts_with(p))
}

/// The chart in `dir`: `dir` itself (a chart directory or archive), `dir/<chart>/`, or
/// `dir/<chart>-<version>.tgz` (the version with and without its leading `v`).
fn local_chart(dir: &Path, chart: &str, version: &str) -> Option<PathBuf> {
    if dir.is_file() || dir.join("Chart.yaml").is_file() {
        return Some(dir.to_path_buf());
    }
    if dir.join(chart).join("Chart.yaml").is_file() {
        return Some(dir.join(chart));
    }
    let bare = version.trim_start_matches('v');
    let exact = [version.to_string(), bare.to_string(), format!("v{bare}")]
        .iter()
        .filter(|v| !v.is_empty())
        .map(|v| dir.join(format!("{chart}-{v}.tgz")))
        .find(|p| p.is_file());
    if exact.is_some() || crate::version::is_exact(version) {
        return exact;
    }
    // A constraint (or no version): the highest `<chart>-<version>.tgz` that satisfies it.
    let prefix = format!("{chart}-");
    let names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let versions: Vec<&str> = names
        .iter()
        .filter_map(|n| n.strip_prefix(&prefix)?.strip_suffix(".tgz"))
        .collect();
    let chosen = crate::version::select(version, &versions).ok()??;
    Some(dir.join(format!("{prefix}{chosen}.tgz")))
}
