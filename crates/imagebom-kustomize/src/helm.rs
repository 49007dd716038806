//! `helmCharts` / `helmGlobals`: Kustomize's HelmChartInflationGenerator, with imagebom's own
//! Helm engine (`imagebom-helm`) in place of a `helm template` process. It runs after the
//! ConfigMap and Secret generators of the same kustomization, as in Kustomize; the chart comes
//! from `chartHome` or, for a `repo`, from a mirror of that repository, else from imagebom's
//! chart cache (never the network).

use crate::kustomization::{parse_documents, Kustomization};
use crate::{KustomizeError, Object};
use imagebom_helm::{Chart, RenderOptions};
use serde_yaml_ng::{Mapping, Value};
use std::path::{Path, PathBuf};

/// Kustomize's default `chartHome`.
const DEFAULT_HOME: &str = "charts";
/// Inflates every `helmCharts` entry of `k` into objects.
pub(crate) fn run(k: &Kustomization) -> Result<Vec<Object>, KustomizeError> {
    let charts = k.list("helmCharts");
    if charts.is_empty() {
        return Ok(Vec::new());
    }
    let globals = k.value.get("helmGlobals").cloned().unwrap_or(Value::Null);
    let mut out = Vec::new();
    for c in &charts {
        let _span = tracing::info_span!("helm_chart", chart = %field(c, "name")).entered();
        out.extend(inflate(k, &globals, c)?);
    }
    Ok(out)
}

fn field(v: &Value, f: &str) -> String {
    match v.get(f) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn flag(v: &Value, f: &str) -> bool {
    v.get(f).and_then(Value::as_bool).unwrap_or(false)
}

fn strings(v: &Value, f: &str) -> Vec<String> {
    match v.get(f) {
        Some(Value::Sequence(s)) => s
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Kustomize's message prefix for a chart it cannot configure or inflate.
fn wrap(k: &Kustomization, chart: &Value, message: impl std::fmt::Display) -> KustomizeError {
    let name = field(chart, "name");
    KustomizeError::invalid(&k.file, format!("helmCharts: chart {name:?}: {message}"))
}

/// One chart (`chart`: a `helmCharts` entry or a HelmChartInflationGenerator config) with
/// `globals` (`helmGlobals`: `chartHome`, `configHome`).
pub(crate) fn inflate(
    k: &Kustomization,
    globals: &Value,
    chart: &Value,
) -> Result<Vec<Object>, KustomizeError> {
    let name = field(chart, "name");
    if name.is_empty() {
        return Err(wrap(k, chart, "chart name cannot be empty"));
    }
    let version = field(chart, "version");
    let repo = field(chart, "repo");
    let merge = match field(chart, "valuesMerge").as_str() {
        "" | "override" => ValuesMerge::Override,
        "merge" => ValuesMerge::Merge,
        "replace" => ValuesMerge::Replace,
        _ => {
            return Err(wrap(
                k,
                chart,
                "valuesMerge must be one of [merge override replace]",
            ))
        }
    };
    let home = match field(globals, "chartHome") {
        h if h.is_empty() => DEFAULT_HOME.to_string(),
        h => h,
    };
    let home = if Path::new(&home).is_absolute() {
        PathBuf::from(home)
    } else {
        k.dir.join(home)
    };
    // As Kustomize: a chart pulled from a repository lives in `chartHome/NAME-VERSION/NAME`.
    let abs_home = if !version.is_empty() && !repo.is_empty() {
        home.join(format!("{name}-{version}"))
    } else {
        home
    };
    let local = abs_home.join(&name);
    let source = if local.is_dir() {
        Source::Dir(local, false)
    } else if repo.is_empty() {
        return Err(wrap(
            k,
            chart,
            format!(
                "no repo specified for pull, no chart found at '{}'",
                local.display()
            ),
        ));
    } else {
        pulled(k, chart, &repo, &name, &version)?
    };
    let (loaded, chart_dir) = match &source {
        Source::Dir(dir, _) => (
            Chart::load_dir(dir).map_err(|e| wrap(k, chart, e))?,
            dir.clone(),
        ),
        Source::Archive(path, files) => (
            Chart::from_files(files.clone()).map_err(|e| wrap(k, chart, e))?,
            path.clone(),
        ),
    };

    // The values file: `valuesFile` (relative to the kustomization) or the chart's own, read
    // only when used (not for `valuesMerge: replace` with inline values, as in Kustomize).
    let own = field(chart, "valuesFile");
    let values_file = match &own {
        f if f.is_empty() => chart_dir.join("values.yaml"),
        f if Path::new(f).is_absolute() => PathBuf::from(f),
        f => k.dir.join(f),
    };
    let read_values = || -> Result<Value, KustomizeError> {
        match &source {
            Source::Archive(path, files) if own.is_empty() => {
                let bytes = files.get("values.yaml").ok_or_else(|| {
                    wrap(
                        k,
                        chart,
                        format!("{}: no values.yaml in the chart", path.display()),
                    )
                })?;
                parse_yaml(&String::from_utf8_lossy(bytes), &values_file)
            }
            Source::Dir(dir, true) if values_file.starts_with(dir) => read_yaml(&values_file),
            _ => read_yaml(&k.restricted(&values_file)?),
        }
    };
    let inline = chart.get("valuesInline").filter(|v| !v.is_null());
    let user = match inline.filter(|v| v.as_mapping().is_some_and(|m| !m.is_empty())) {
        None => read_values()?,
        Some(inline) => match merge {
            ValuesMerge::Replace => inline.clone(),
            ValuesMerge::Override => kyaml_merge(inline, read_values()?),
            ValuesMerge::Merge => kyaml_merge(&read_values()?, inline.clone()),
        },
    };
    let mut files = vec![to_dict(&user, &values_file)?];
    for f in strings(chart, "additionalValuesFiles") {
        let (path, text) = k.read_restricted(&f).map_err(|e| {
            KustomizeError::invalid(&k.file, format!("could not load additionalValuesFile: {e}"))
        })?;
        let v = imagebom_helm::load_values(&path.display().to_string(), text.as_bytes())
            .map_err(|e| KustomizeError::invalid(&path, e.to_string()))?;
        files.push(v);
    }

    let mut opts = RenderOptions {
        values: imagebom_helm::merge_values_files(&files),
        include_crds: flag(chart, "includeCRDs"),
        api_versions: strings(chart, "apiVersions"),
        ..RenderOptions::default()
    };
    let ns = field(chart, "namespace");
    if !ns.is_empty() {
        opts.namespace = ns;
    }
    let kube = field(chart, "kubeVersion");
    if !kube.is_empty() {
        opts.kube_version = kube;
    }
    opts.release_name = release_name(k, chart, &name, &loaded, &opts)?;
    let rendered = imagebom_helm::render(&loaded, &opts).map_err(|e| wrap(k, chart, e))?;
    let stream = imagebom_helm::to_stream(&rendered);
    let skip_hooks = flag(chart, "skipHooks");
    let skip_tests = flag(chart, "skipTests");
    let docs = parse_documents(&stream, &chart_dir)?;
    let mut out = Vec::new();
    for doc in docs {
        let hooks = hooks(&doc);
        if skip_hooks && !hooks.is_empty() {
            continue;
        }
        if skip_tests && hooks.iter().any(|h| h.starts_with("test")) {
            continue;
        }
        out.push(k.object(doc, &chart_dir));
    }
    Ok(out)
}

#[derive(Clone, Copy)]
enum ValuesMerge {
    Override,
    Merge,
    Replace,
}

/// The release name as `helm template` picks it from Kustomize's arguments: `releaseName`;
/// with none, `nameTemplate` rendered, else Helm's generated `CHART-UNIXTIME`.
fn release_name(
    k: &Kustomization,
    chart: &Value,
    name: &str,
    loaded: &Chart,
    opts: &RenderOptions,
) -> Result<String, KustomizeError> {
    let release = field(chart, "releaseName");
    let template = field(chart, "nameTemplate");
    if !release.is_empty() {
        if !template.is_empty() {
            return Err(wrap(
                k,
                chart,
                "cannot set --name-template and also specify a name",
            ));
        }
        return Ok(release);
    }
    if !template.is_empty() {
        let meta = loaded.metadata.clone();
        return imagebom_helm::render_file("name-template", &template, &meta, opts)
            .map_err(|e| wrap(k, chart, e));
    }
    let base = name.rsplit('/').next().unwrap_or(name);
    let base = base
        .split('.')
        .next()
        .filter(|b| !b.is_empty())
        .unwrap_or("chart");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(format!("{base}-{now}"))
}

/// Where a chart was found: a directory (`true`: a mirror's, whose own values file is read
/// outside the load restrictor) or an archive from the chart cache (its files).
enum Source {
    Dir(PathBuf, bool),
    Archive(PathBuf, imagebom_helm::ChartFiles),
}

/// A chart `helm pull` would fetch from `repo`, found without the network: in a mirror of
/// the repository, else in the chart cache.
fn pulled(
    k: &Kustomization,
    chart: &Value,
    repo: &str,
    name: &str,
    version: &str,
) -> Result<Source, KustomizeError> {
    if let Some(dir) = mirrored_chart(repo, name, version) {
        return Ok(Source::Dir(dir, true));
    }
    match crate::remote::cached_chart(repo, name, version) {
        Some(Ok(Some(cached))) => {
            let label = cached.path.display().to_string();
            let files = imagebom_helm::archive::read_named_chart_archive(
                &label,
                &cached.bytes,
                &imagebom_helm::archive::ArchiveLimits::default(),
            )
            .map_err(|e| wrap(k, chart, e))?;
            tracing::debug!(chart = %name, version = %cached.version, archive = %label, "chart from the chart cache");
            Ok(Source::Archive(cached.path, files))
        }
        Some(Err(e)) => Err(wrap(
            k,
            chart,
            format!("chart {name} {version} from {repo}: the chart cache: {e}"),
        )),
        Some(Ok(None)) | None => {
            let version_arg = if version.is_empty() {
                String::new()
            } else {
                format!(" --version {version}")
            };
            let shown = if version.is_empty() {
                "(no version)"
            } else {
                version
            };
            Err(wrap(
                k,
                chart,
                format!(
                    "chart {name} version {shown} from {repo} is not in chartHome, a chart \
                     mirror or the chart cache, and imagebom does not use the network: fill the \
                     cache with `imagebom render {name} --repo {repo}{version_arg}` (online), \
                     map {repo} to a directory holding it (--chart-mirror {repo}=DIR), or put \
                     it in chartHome as {name}-{version}/{name}"
                ),
            ))
        }
    }
}

/// A chart of `repo` from the mirrors: `DIR/NAME-VERSION/NAME`, `DIR/NAME` or `DIR` itself
/// (a chart directory whose `Chart.yaml` has the version asked for).
fn mirrored_chart(repo: &str, name: &str, version: &str) -> Option<PathBuf> {
    let url = if repo.starts_with("oci://") {
        format!("{}/{name}", repo.trim_end_matches('/'))
    } else {
        repo.to_string()
    };
    let dir = crate::remote::resolve(&url).or_else(|| crate::remote::resolve(repo))?;
    [
        dir.join(format!("{name}-{version}")).join(name),
        dir.join(name),
        dir.clone(),
    ]
    .into_iter()
    .find(|cand| {
        cand.join("Chart.yaml").is_file()
            && (version.is_empty()
                || imagebom_helm::Chart::load_dir(cand)
                    .map(|c| {
                        c.metadata.version.trim_start_matches('v')
                            == version.trim_start_matches('v')
                    })
                    .unwrap_or(false))
    })
}

/// The `helm.sh/hook` kinds of a document.
fn hooks(doc: &Value) -> Vec<String> {
    crate::get_str(doc, &["metadata", "annotations", "helm.sh/hook"])
        .map(|h| h.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default()
}

fn read_yaml(path: &Path) -> Result<Value, KustomizeError> {
    parse_yaml(&crate::kustomization::read(path)?, path)
}

fn parse_yaml(text: &str, path: &Path) -> Result<Value, KustomizeError> {
    if text.trim().is_empty() {
        return Ok(Value::Mapping(Mapping::new()));
    }
    serde_yaml_ng::from_str(text).map_err(|e| KustomizeError::Yaml {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn to_dict(v: &Value, path: &Path) -> Result<imagebom_template::Dict, KustomizeError> {
    let v = match v {
        Value::Null => Value::Mapping(Mapping::new()),
        v => v.clone(),
    };
    let text = serde_yaml_ng::to_string(&v).map_err(|e| KustomizeError::Yaml {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    imagebom_helm::load_values(&path.display().to_string(), text.as_bytes())
        .map_err(|e| KustomizeError::invalid(path, e.to_string()))
}

/// kyaml's `merge2.Merge(src, dest)`: `src` over `dest`; maps merged, a `null` in `src`
/// clears the field, lists and scalars replaced (the oracle replaces even lists of maps
/// with `name` keys: values have no schema).
fn kyaml_merge(src: &Value, dest: Value) -> Value {
    match (src, dest) {
        (Value::Mapping(s), Value::Mapping(mut d)) => {
            for (key, sv) in s {
                if sv.is_null() {
                    d.remove(key);
                    continue;
                }
                let merged = match d.remove(key) {
                    Some(dv) => kyaml_merge(sv, dv),
                    None => sv.clone(),
                };
                d.insert(key.clone(), merged);
            }
            Value::Mapping(d)
        }
        (s, _) => s.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(s: &str) -> Value {
        serde_yaml_ng::from_str(s).unwrap()
    }

    #[test]
    fn kyaml_merge_maps_nulls_and_lists() {
        let dest = y("a: {b: 1, c: 2}\nl: [1, 2]\ncs: [{name: x, v: 1}, {name: y}]\ngone: 1\n");
        let src = y("a: {b: 9}\nl: [3]\ncs: [{name: y, v: 3}, {name: z}]\ngone: null\n");
        assert_eq!(
            kyaml_merge(&src, dest),
            y("a: {b: 9, c: 2}\nl: [3]\ncs: [{name: y, v: 3}, {name: z}]\n")
        );
    }
}
