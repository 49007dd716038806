//! Dependencies a chart declares but does not ship in `charts/`, fetched as
//! `helm dependency build` would fetch them (Helm's `downloader.Manager.Build`).
//!
//! Only a dependency absent from `charts/` (by name, as Helm's `CheckDependencies` looks) is
//! fetched; a chart that ships all of its dependencies is loaded as it is, without a look at
//! its `Chart.lock` or the network. Otherwise:
//!
//! - a `Chart.lock` must match `Chart.yaml` (its `digest` is Helm's `HashReq` of both
//!   dependency lists); a stale lock is Helm's error. Each dependency is fetched at the
//!   version the lock pins; without a lock, at the highest version its constraint allows;
//! - `file://PATH` is a chart directory or archive relative to the chart's directory, whose
//!   version must satisfy the constraint;
//! - `@NAME` / `alias:NAME` name a repository of Helm's `repositories.yaml`;
//!   `http(s)://` and `oci://` repositories are fetched through [`fetch_chart`] (the same
//!   cache, credentials, limits and offline mode as chart sources);
//! - a chart mirror of [`FetchOptions::mirrors`] that applies to a dependency's repository
//!   serves it instead (see [`crate::mirror`]): the version the lock pins (or the constraint
//!   allows) must be there; the dependency's [`FetchedDependency::source`] stays the canonical
//!   `<repository>/<chart>`;
//! - offline, a dependency the cache does not hold is an error naming it and saying how to
//!   fetch it.

use crate::{fetch_chart, ChartContent, ChartRequest, FetchError, FetchErrorKind, FetchOptions};
use crate::{version, Fetched};
use imagebom_helm::{Chart, HelmError};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

/// Largest `Chart.yaml`, `Chart.lock` or `repositories.yaml` read.
const MAX_META_BYTES: u64 = 16 << 20;

/// A chart loaded with its subcharts: those it ships and those fetched for it.
#[derive(Debug)]
pub struct LoadedChart {
    /// The chart, fetched dependencies added to its subcharts.
    pub chart: Chart,
    /// The dependencies fetched because `charts/` lacked them, in declaration order.
    pub fetched: Vec<FetchedDependency>,
}

/// A dependency fetched for a chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedDependency {
    /// The chart's name (`Chart.yaml` `name` of the dependency, not its alias).
    pub name: String,
    /// The version fetched.
    pub version: String,
    /// `sha256:<hex>` of its archive (`None` for a `file://` chart directory).
    pub digest: Option<String>,
    /// Where it came from: archive URL, `oci://` reference or local path.
    pub source: String,
}

/// Why a chart and its dependencies could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The chart (or a subchart) does not load.
    #[error(transparent)]
    Helm(#[from] HelmError),
    /// A dependency could not be fetched.
    #[error("chart {chart}: dependency {dependency:?}: {error}")]
    Fetch {
        chart: String,
        dependency: String,
        error: Box<FetchError>,
    },
    /// Offline, and the cache does not hold a missing dependency.
    #[error(
        "chart {chart}: dependency {dependency:?} (version {version:?} from {repository}) is \
         missing from charts/ and not in the chart cache {cache} (offline): run once without \
         --offline to fetch it, or run 'helm dependency build' in the chart"
    )]
    Offline {
        chart: String,
        dependency: String,
        repository: String,
        version: String,
        cache: String,
    },
    /// `Chart.lock` does not match `Chart.yaml` (Helm's words).
    #[error(
        "chart {chart}: the lock file ({lock}) is out of sync with the dependencies file \
         ({deps}). Please update the dependencies"
    )]
    StaleLock {
        chart: String,
        lock: &'static str,
        deps: &'static str,
    },
    /// `Chart.lock` or `Chart.yaml` cannot be read as dependency lists.
    #[error("chart {chart}: {file}: {detail}")]
    Invalid {
        chart: String,
        file: String,
        detail: String,
    },
    /// A `@NAME` repository is not in Helm's `repositories.yaml` (Helm's words).
    #[error(
        "chart {chart}: no repository definition for {repository}. Please add them via 'helm repo add'"
    )]
    NoRepository { chart: String, repository: String },
    /// The chart mirror that applies to a dependency's repository cannot serve it.
    #[error("chart {chart}: dependency {dependency:?}: {error}")]
    Mirror {
        chart: String,
        dependency: String,
        error: crate::MirrorError,
    },
    /// A `file://` dependency cannot be used.
    #[error("chart {chart}: dependency {dependency:?}: {detail}")]
    Local {
        chart: String,
        dependency: String,
        detail: String,
    },
}

impl ChartError {
    /// Whether the failure is the network's or a server's, not the input's.
    pub fn is_network(&self) -> bool {
        matches!(self, ChartError::Fetch { error, .. } if error.is_network())
    }
}

/// Loads the chart `fetched` holds and fetches the dependencies its `charts/` lacks (see the
/// module documentation).
pub fn load_chart(fetched: &Fetched, opts: &FetchOptions) -> Result<LoadedChart, ChartError> {
    let mut chart = match &fetched.content {
        ChartContent::Directory(d) => Chart::load_dir(d),
        ChartContent::Files(f) => Chart::from_files(f.clone()),
    }?;
    let missing: Vec<usize> = (0..chart.metadata.dependencies.len())
        .filter(|&i| {
            // Without a repository Helm fetches nothing: rendering reports it missing.
            let want = &chart.metadata.dependencies[i];
            !want.repository.trim().is_empty()
                && !chart.dependencies.iter().any(|d| d.name() == want.name)
        })
        .collect();
    let mut out = Vec::new();
    if missing.is_empty() {
        return Ok(LoadedChart {
            chart,
            fetched: out,
        });
    }
    let source = ChartSource::of(fetched);
    let name = chart.name().to_string();
    let lock = checked_lock(&name, &source)?;
    for i in missing {
        let dep = &chart.metadata.dependencies[i];
        let pinned = lock.as_ref().and_then(|l| l.version_of(i, &dep.name));
        let (sub, info) = fetch_dependency(&name, &source, dep, pinned, opts)?;
        tracing::info!(chart = %name, dependency = %dep.name, version = %info.version, "dependency fetched");
        chart.dependencies.push(sub);
        out.push(info);
    }
    Ok(LoadedChart {
        chart,
        fetched: out,
    })
}

/// Where a chart's own files are: its directory, or its archive's files.
enum ChartSource<'a> {
    Directory(&'a Path),
    Files(&'a imagebom_helm::ChartFiles),
}

impl<'a> ChartSource<'a> {
    fn of(fetched: &'a Fetched) -> ChartSource<'a> {
        match &fetched.content {
            ChartContent::Directory(d) => ChartSource::Directory(d),
            ChartContent::Files(f) => ChartSource::Files(f),
        }
    }

    /// A top-level file of the chart (`Chart.yaml`, `Chart.lock`), if present.
    fn file(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        match self {
            ChartSource::Files(f) => Ok(f.get(name).cloned()),
            ChartSource::Directory(d) => {
                let path = d.join(name);
                if !path.exists() {
                    return Ok(None);
                }
                match imagebom_model::fsutil::read_limited(&path, MAX_META_BYTES) {
                    Ok(Some(b)) => Ok(Some(b)),
                    Ok(None) => Err(format!("larger than {MAX_META_BYTES} bytes")),
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }
}

/// The chart's lock, checked against `Chart.yaml` as Helm's `Build` checks it.
fn checked_lock(chart: &str, source: &ChartSource) -> Result<Option<Lock>, ChartError> {
    let invalid = |file: &str, detail: String| ChartError::Invalid {
        chart: chart.to_string(),
        file: file.to_string(),
        detail,
    };
    let read = |file: &str| source.file(file).map_err(|e| invalid(file, e));
    let meta = read("Chart.yaml")?.ok_or_else(|| invalid("Chart.yaml", "missing".into()))?;
    let meta = yaml_json(&meta).map_err(|e| invalid("Chart.yaml", e))?;
    let v1 = meta
        .get("apiVersion")
        .and_then(Json::as_str)
        .unwrap_or("v1")
        == "v1";
    let (lock_name, deps_name) = if v1 {
        ("requirements.lock", "requirements.yaml")
    } else {
        ("Chart.lock", "Chart.yaml")
    };
    let Some(lock) = read(lock_name)? else {
        return Ok(None);
    };
    let lock = yaml_json(&lock).map_err(|e| invalid(lock_name, e))?;
    let reqs = if v1 {
        match read("requirements.yaml")? {
            Some(r) => yaml_json(&r).map_err(|e| invalid("requirements.yaml", e))?,
            None => Json::Null,
        }
    } else {
        meta
    };
    let list = |v: &Json| v.get("dependencies").cloned().unwrap_or(Json::Null);
    let (reqs, locked) = (list(&reqs), list(&lock));
    let digest = lock.get("digest").and_then(Json::as_str).unwrap_or("");
    if hash_req(&reqs, &locked) != digest {
        return Err(ChartError::StaleLock {
            chart: chart.to_string(),
            lock: lock_name,
            deps: deps_name,
        });
    }
    Ok(Some(Lock(locked)))
}

/// A lock's dependency list.
struct Lock(Json);

impl Lock {
    /// The version pinned for dependency `i` (named `name`): the lock lists them in
    /// `Chart.yaml` order.
    fn version_of(&self, i: usize, name: &str) -> Option<String> {
        let list = self.0.as_array()?;
        let field = |d: &Json, k: &str| d.get(k).and_then(json_text);
        let entry = list
            .get(i)
            .filter(|d| field(d, "name").as_deref() == Some(name))
            .or_else(|| {
                list.iter()
                    .find(|d| field(d, "name").as_deref() == Some(name))
            })?;
        field(entry, "version").filter(|v| !v.is_empty())
    }
}

/// A YAML document as JSON (as Helm reads `Chart.yaml` and `Chart.lock`).
fn yaml_json(bytes: &[u8]) -> Result<Json, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    serde_yaml_ng::from_slice::<Json>(bytes).map_err(|e| format!("invalid YAML: {e}"))
}

/// A scalar's text (a version written as a YAML number is its text).
fn json_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Helm's `resolver.HashReq`: `sha256:` of Go's `json.Marshal` of `[requirements, lock]`,
/// each a list of `chart.Dependency` (fields in Go's order, empty ones omitted).
fn hash_req(reqs: &Json, locked: &Json) -> String {
    let go = |l: &Json| match l.as_array() {
        Some(a) => format!(
            "[{}]",
            a.iter().map(go_dependency).collect::<Vec<_>>().join(",")
        ),
        None => "null".into(),
    };
    let text = go_escape(&format!("[{},{}]", go(reqs), go(locked)));
    crate::sha256(text.as_bytes())
}

/// One `chart.Dependency` as Go's `encoding/json` writes it.
fn go_dependency(d: &Json) -> String {
    let text = |k: &str| d.get(k).and_then(json_text).unwrap_or_default();
    let q = |s: &str| Json::String(s.to_string()).to_string();
    let mut out = vec![format!("\"name\":{}", q(&text("name")))];
    if !text("version").is_empty() {
        out.push(format!("\"version\":{}", q(&text("version"))));
    }
    out.push(format!("\"repository\":{}", q(&text("repository"))));
    if !text("condition").is_empty() {
        out.push(format!("\"condition\":{}", q(&text("condition"))));
    }
    let list = |k: &str| d.get(k).and_then(Json::as_array).filter(|a| !a.is_empty());
    if let Some(tags) = list("tags") {
        let tags: Vec<String> = tags.iter().map(go_json).collect();
        out.push(format!("\"tags\":[{}]", tags.join(",")));
    }
    if d.get("enabled").and_then(Json::as_bool) == Some(true) {
        out.push("\"enabled\":true".into());
    }
    if let Some(iv) = list("import-values") {
        let iv: Vec<String> = iv.iter().map(go_json).collect();
        out.push(format!("\"import-values\":[{}]", iv.join(",")));
    }
    if !text("alias").is_empty() {
        out.push(format!("\"alias\":{}", q(&text("alias"))));
    }
    format!("{{{}}}", out.join(","))
}

/// A JSON value as Go's `encoding/json` writes an `interface{}`: object keys sorted.
fn go_json(v: &Json) -> String {
    match v {
        Json::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Json::String((*k).clone()), go_json(&m[*k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Json::Array(a) => format!("[{}]", a.iter().map(go_json).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// Go's HTML-safe escaping of `<`, `>`, `&`, U+2028 and U+2029 (only ever inside strings).
fn go_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Fetches and loads one dependency.
fn fetch_dependency(
    chart: &str,
    source: &ChartSource,
    dep: &imagebom_helm::Dependency,
    pinned: Option<String>,
    opts: &FetchOptions,
) -> Result<(Chart, FetchedDependency), ChartError> {
    let repo = dep.repository.trim();
    if let Some(path) = repo.strip_prefix("file://") {
        return local_dependency(chart, source, dep, path, opts);
    }
    let url = repository_url(chart, repo)?;
    let pinned_by_lock = pinned.is_some();
    let version = pinned.unwrap_or_else(|| dep.version.clone());
    let base_dir = match source {
        ChartSource::Directory(d) => d.to_path_buf(),
        ChartSource::Files(_) => PathBuf::from("."),
    };
    let req = ChartRequest {
        repository: url.clone(),
        chart: dep.name.clone(),
        version: version.clone(),
        base_dir,
    };
    let mirror_err = |error| ChartError::Mirror {
        chart: chart.to_string(),
        dependency: dep.name.clone(),
        error,
    };
    let mirrored = crate::mirror::mirrored(&opts.mirrors, &req).map_err(mirror_err)?;
    let fetched =
        fetch_chart(mirrored.as_ref().unwrap_or(&req), opts).map_err(|error| {
            match *error.kind {
                FetchErrorKind::NotCached { cache } => ChartError::Offline {
                    chart: chart.to_string(),
                    dependency: dep.name.clone(),
                    repository: crate::redact(&url),
                    version: version.clone(),
                    cache,
                },
                _ => ChartError::Fetch {
                    chart: chart.to_string(),
                    dependency: dep.name.clone(),
                    error: Box::new(error),
                },
            }
        })?;
    let Some(served) = mirrored else {
        return loaded(dep, fetched);
    };
    let (sub, mut info) = loaded(dep, fetched)?;
    // A local mirror holds whatever it holds: the version must still be the one asked for.
    if !matches!(version::select(&version, &[&info.version]), Ok(Some(_))) {
        return Err(mirror_err(crate::MirrorError {
            target: served.repository,
            message: format!(
                "serves {} version {}, not {version} ({})",
                dep.name,
                info.version,
                if pinned_by_lock {
                    "pinned by the lock"
                } else {
                    "the constraint"
                }
            ),
        }));
    }
    info.source = crate::mirror::canonical_location(&url, &dep.name, &info.version);
    Ok((sub, info))
}

/// A `file://` dependency, relative to the chart's directory.
fn local_dependency(
    chart: &str,
    source: &ChartSource,
    dep: &imagebom_helm::Dependency,
    path: &str,
    opts: &FetchOptions,
) -> Result<(Chart, FetchedDependency), ChartError> {
    let local = |detail: String| ChartError::Local {
        chart: chart.to_string(),
        dependency: dep.name.clone(),
        detail,
    };
    let ChartSource::Directory(dir) = source else {
        return Err(local(format!(
            "file://{path} cannot be resolved in a packaged chart (its charts/ must hold it)"
        )));
    };
    let full = if Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        dir.join(path)
    };
    if !full.exists() {
        return Err(local(format!("directory {} not found", full.display())));
    }
    let req = ChartRequest {
        repository: path.to_string(),
        chart: dep.name.clone(),
        version: String::new(),
        base_dir: dir.to_path_buf(),
    };
    let mut fetched = fetch_chart(&req, opts).map_err(|e| local(e.kind.to_string()))?;
    // As `Chart.yaml` wrote it (relative to the chart): the same on every machine.
    fetched.source = format!("file://{path}");
    let wanted = dep.version.trim();
    if !wanted.is_empty() && !matches!(version::select(wanted, &[&fetched.version]), Ok(Some(_))) {
        return Err(local(format!(
            "{} is version {}, which does not satisfy the constraint {wanted}",
            full.display(),
            fetched.version
        )));
    }
    loaded(dep, fetched)
}

/// Loads a fetched dependency.
fn loaded(
    dep: &imagebom_helm::Dependency,
    fetched: Fetched,
) -> Result<(Chart, FetchedDependency), ChartError> {
    let chart = match &fetched.content {
        ChartContent::Directory(d) => Chart::load_dir(d),
        ChartContent::Files(f) => Chart::from_files(f.clone()),
    }?;
    let info = FetchedDependency {
        name: dep.name.clone(),
        version: chart.metadata.version.clone(),
        digest: fetched.digest,
        source: fetched.source,
    };
    Ok((chart, info))
}

/// The URL of a dependency's repository: `@NAME` / `alias:NAME` looked up in Helm's
/// `repositories.yaml`, any other string as it is.
fn repository_url(chart: &str, repo: &str) -> Result<String, ChartError> {
    let Some(name) = repo
        .strip_prefix('@')
        .or_else(|| repo.strip_prefix("alias:"))
    else {
        return Ok(repo.to_string());
    };
    named_repositories()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, url)| url)
        .ok_or_else(|| ChartError::NoRepository {
            chart: chart.to_string(),
            repository: repo.to_string(),
        })
}

/// `(name, url)` of each repository in Helm's `repositories.yaml`
/// ([`imagebom_registry::creds::repositories_file`], where its credentials are read too).
fn named_repositories() -> Vec<(String, String)> {
    let Some(path) = imagebom_registry::creds::repositories_file() else {
        return Vec::new();
    };
    let Ok(Some(bytes)) = imagebom_model::fsutil::read_limited(&path, MAX_META_BYTES) else {
        return Vec::new();
    };
    let Ok(file) = yaml_json(&bytes) else {
        tracing::warn!(file = %path.display(), "Helm's repositories file is not valid YAML");
        return Vec::new();
    };
    let entries = file.get("repositories").and_then(Json::as_array);
    entries
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let name = r.get("name").and_then(Json::as_str)?;
            let url = r.get("url").and_then(Json::as_str)?;
            Some((name.to_string(), url.trim().to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_of_dependencies() {
        let reqs = serde_json::json!([{"name": "a", "version": ">=1.0.0 <2", "repository": "https://x/",
            "tags": ["t"], "import-values": [{"parent": "p", "child": "c"}, "s"], "alias": "b", "enabled": false}]);
        let lock =
            serde_json::json!([{"name": "a", "version": "1.2.0", "repository": "https://x/"}]);
        assert_eq!(
            go_dependency(&reqs[0]),
            r#"{"name":"a","version":">=1.0.0 <2","repository":"https://x/","tags":["t"],"import-values":[{"child":"c","parent":"p"},"s"],"alias":"b"}"#
        );
        assert!(hash_req(&reqs, &lock).starts_with("sha256:"));
        assert_eq!(go_escape("a<b>&"), "a\\u003cb\\u003e\\u0026");
    }
}
