//! Local charts: a chart directory, a directory holding `<chart>/`, or a `.tgz` archive.

use super::{sha256, version, ChartContent, ChartRequest, FetchErrorKind, FetchOptions, Fetched};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
struct ChartMeta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "super::string_or_number")]
    version: String,
}

/// `name` and `version` of a `Chart.yaml`.
fn chart_meta(bytes: &[u8], location: &str) -> Result<ChartMeta, FetchErrorKind> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let meta: ChartMeta =
        serde_yaml_ng::from_slice(bytes).map_err(|e| FetchErrorKind::Invalid {
            location: location.to_string(),
            detail: format!("invalid Chart.yaml: {e}"),
        })?;
    if meta.version.trim().is_empty() {
        return Err(FetchErrorKind::Invalid {
            location: location.to_string(),
            detail: "Chart.yaml has no version".into(),
        });
    }
    Ok(meta)
}

/// Warns when the local chart is not what the request names (Helm ignores the requested
/// version of a local chart; so does this, but says so).
fn check(req: &ChartRequest, meta: &ChartMeta, location: &str) {
    if let Some(name) = &meta.name {
        if !req.chart.is_empty() && *name != req.chart {
            tracing::warn!(%location, chart = %req.chart, found = %name, "local chart has another name than requested");
        }
    }
    let wanted = req.version.trim();
    if !wanted.is_empty()
        && !matches!(
            version::select(wanted, &[meta.version.as_str()]),
            Ok(Some(_))
        )
    {
        tracing::warn!(%location, requested = %wanted, found = %meta.version,
            "local chart's version does not match the requested version; using the local chart");
    }
}

fn io_err(path: &Path, e: std::io::Error) -> FetchErrorKind {
    FetchErrorKind::Io {
        path: path.display().to_string(),
        detail: e.to_string(),
    }
}

pub(crate) fn fetch(req: &ChartRequest, opts: &FetchOptions) -> Result<Fetched, FetchErrorKind> {
    let raw = req.repository.trim();
    let raw = raw.strip_prefix("file://").unwrap_or(raw);
    let path = if Path::new(raw).is_absolute() {
        PathBuf::from(raw)
    } else {
        req.base_dir.join(raw)
    };
    let meta = std::fs::metadata(&path).map_err(|e| io_err(&path, e))?;
    if meta.is_dir() {
        let dir = if path.join("Chart.yaml").is_file() {
            path
        } else if !req.chart.is_empty() && path.join(&req.chart).join("Chart.yaml").is_file() {
            path.join(&req.chart)
        } else {
            return Err(FetchErrorKind::NoChart {
                chart: req.chart.clone(),
                location: format!("{} (no Chart.yaml)", path.display()),
            });
        };
        let chart_yaml = dir.join("Chart.yaml");
        let location = chart_yaml.display().to_string();
        let bytes = imagebom_model::fsutil::read_limited(&chart_yaml, opts.limits.max_file)
            .map_err(|e| io_err(&chart_yaml, e))?
            .ok_or_else(|| FetchErrorKind::TooLarge {
                what: location.clone(),
                limit: opts.limits.max_file,
                limit_name: "max_file",
            })?;
        let meta = chart_meta(&bytes, &location)?;
        check(req, &meta, &location);
        return Ok(Fetched {
            content: ChartContent::Directory(dir),
            version: meta.version,
            digest: None,
            source: raw.to_string(),
            manifest_digest: None,
        });
    }
    let location = path.display().to_string();
    let bytes = imagebom_model::fsutil::read_limited(&path, opts.limits.max_compressed)
        .map_err(|e| io_err(&path, e))?
        .ok_or_else(|| FetchErrorKind::TooLarge {
            what: location.clone(),
            limit: opts.limits.max_compressed,
            limit_name: "max_compressed",
        })?;
    let files = imagebom_helm::archive::read_named_chart_archive(&location, &bytes, &opts.limits)
        .map_err(FetchErrorKind::Archive)?;
    let chart_yaml = files
        .get("Chart.yaml")
        .ok_or_else(|| FetchErrorKind::Invalid {
            location: location.clone(),
            detail: "the archive has no Chart.yaml in its top-level directory".into(),
        })?;
    let meta = chart_meta(chart_yaml, &format!("{location}: Chart.yaml"))?;
    check(req, &meta, &location);
    Ok(Fetched {
        digest: Some(sha256(&bytes)),
        content: ChartContent::Files(files),
        version: meta.version,
        source: raw.to_string(),
        manifest_digest: None,
    })
}
