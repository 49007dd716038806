//! Chart model and loading (Helm's `pkg/chart/loader`): a directory or a set of files becomes
//! a [`Chart`] with its metadata, default values, schema, templates, other files and subcharts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use imagebom_template::{Dict, Value};

use crate::archive::{ArchiveLimits, ChartFiles};
use crate::error::{HelmError, Result};
use crate::ignore::IgnoreRules;

/// Bounds for loading a chart from a directory or from files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadLimits {
    /// Most files in a chart, subcharts included.
    pub max_files: usize,
    /// Most bytes in all files of a chart, subcharts included.
    pub max_total_bytes: u64,
    /// Largest single file.
    pub max_file_bytes: u64,
    /// Deepest nesting of subcharts.
    pub max_depth: usize,
    /// Limits for subchart archives (`charts/*.tgz`).
    pub archive: ArchiveLimits,
}

impl Default for LoadLimits {
    fn default() -> Self {
        LoadLimits {
            max_files: 20_000,
            max_total_bytes: 100 << 20,
            max_file_bytes: 5 << 20,
            max_depth: 16,
            archive: ArchiveLimits::default(),
        }
    }
}

/// A maintainer in `Chart.yaml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Maintainer {
    /// `name`.
    pub name: String,
    /// `email`.
    pub email: String,
    /// `url`.
    pub url: String,
}

/// A dependency in `Chart.yaml` (v2) or `requirements.yaml` (v1).
#[derive(Debug, Clone, Default)]
pub struct Dependency {
    /// `name` (after dependency processing: the alias, if any).
    pub name: String,
    /// `version` (a semver constraint).
    pub version: String,
    /// `repository`.
    pub repository: String,
    /// `condition`: comma-separated values paths; the first that holds a bool decides.
    pub condition: String,
    /// `tags`.
    pub tags: Vec<String>,
    /// Whether the dependency is enabled (set by dependency processing).
    pub enabled: bool,
    /// `import-values`: strings (`exports.X`) or `{child, parent}` maps.
    pub import_values: Vec<Value>,
    /// `alias`.
    pub alias: String,
}

/// `Chart.yaml`.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    /// `name`.
    pub name: String,
    /// `home`.
    pub home: String,
    /// `sources`.
    pub sources: Vec<String>,
    /// `version`.
    pub version: String,
    /// `description`.
    pub description: String,
    /// `keywords`.
    pub keywords: Vec<String>,
    /// `maintainers`.
    pub maintainers: Vec<Maintainer>,
    /// `icon`.
    pub icon: String,
    /// `apiVersion` (`v1` when absent).
    pub api_version: String,
    /// `condition` (unused by Helm v3+).
    pub condition: String,
    /// `tags` (unused by Helm v3+).
    pub tags: String,
    /// `appVersion`.
    pub app_version: String,
    /// `deprecated`.
    pub deprecated: bool,
    /// `annotations`.
    pub annotations: BTreeMap<String, String>,
    /// Whether `annotations` is present as a map (even empty): Go leaves the map nil (`null`
    /// in `toJson`) when it is not.
    pub annotations_declared: bool,
    /// `kubeVersion` (a semver constraint).
    pub kube_version: String,
    /// `dependencies`.
    pub dependencies: Vec<Dependency>,
    /// Whether `dependencies` is present as a list (even empty). Helm skips dependency
    /// processing (conditions of the subcharts' own dependencies included) when it is not.
    pub dependencies_declared: bool,
    /// `type`: `application` (or empty) or `library`.
    pub chart_type: String,
}

/// A loaded chart. Cheap to clone except for its files; [`Chart::deep_clone`] also copies
/// the default values (which are Go-like shared maps).
#[derive(Debug, Clone)]
pub struct Chart {
    /// `Chart.yaml`.
    pub metadata: Metadata,
    /// `values.yaml` (documents merged), a map.
    pub values: Dict,
    /// `values.schema.json`, if any.
    pub schema: Option<Vec<u8>>,
    /// `templates/**` (path relative to the chart, contents), sorted by path.
    pub templates: Vec<(String, Arc<str>)>,
    /// Files exposed as `.Files` (everything but Chart.yaml, values.yaml, the schema,
    /// lock/requirements files of v2 charts, templates/ and subcharts).
    pub files: BTreeMap<String, ChartFile>,
    /// Subcharts (from `charts/`).
    pub dependencies: Vec<Chart>,
    /// Where the chart came from (for messages).
    pub source: String,
}

/// A file as `.Files` serves it: its bytes and, when they are UTF-8, the same buffer as text
/// (so `.Files.Get` costs no copy and no re-scan per render). A file of a chart directory
/// that Helm only serves as `.Files` or `crds/` is read when first asked for
/// ([`Chart::load_dir`]); a read that fails then gives empty contents, and the render that
/// asked for it fails with the path and the error.
#[derive(Debug, Clone)]
pub struct ChartFile(Arc<std::sync::OnceLock<Loaded>>, Option<Arc<Path>>);

#[derive(Debug)]
struct Loaded {
    bytes: Arc<[u8]>,
    text: Option<Arc<str>>,
    error: Option<(std::io::ErrorKind, String)>,
}

impl Loaded {
    fn new(data: Vec<u8>, error: Option<(std::io::ErrorKind, String)>) -> Loaded {
        match String::from_utf8(data) {
            Ok(t) => {
                let text: Arc<str> = Arc::from(t);
                Loaded {
                    bytes: Arc::<[u8]>::from(text.clone()),
                    text: Some(text),
                    error,
                }
            }
            Err(e) => Loaded {
                bytes: Arc::from(e.into_bytes()),
                text: None,
                error,
            },
        }
    }
}

impl PartialEq for ChartFile {
    fn eq(&self, other: &ChartFile) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for ChartFile {}

impl ChartFile {
    /// Wraps a file's contents.
    pub fn new(data: Vec<u8>) -> ChartFile {
        ChartFile(Arc::new(Loaded::new(data, None).into()), None)
    }

    /// A file read (byte-order mark dropped, as at load) when first asked for.
    fn deferred(path: &Path) -> ChartFile {
        ChartFile(Arc::default(), Some(Arc::from(path)))
    }

    fn loaded(&self) -> &Loaded {
        self.0.get_or_init(|| {
            let path = self.1.as_deref().unwrap_or(Path::new(""));
            match std::fs::read(path) {
                Ok(mut data) => {
                    if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
                        data.drain(..3);
                    }
                    Loaded::new(data, None)
                }
                Err(e) => Loaded::new(Vec::new(), Some((e.kind(), e.to_string()))),
            }
        })
    }

    /// The contents.
    pub fn bytes(&self) -> &[u8] {
        &self.loaded().bytes
    }

    /// The contents as text (invalid UTF-8 replaced by U+FFFD, as Go's `string(b)` prints).
    pub fn text(&self) -> Arc<str> {
        let l = self.loaded();
        match &l.text {
            Some(t) => t.clone(),
            None => Arc::from(String::from_utf8_lossy(&l.bytes).as_ref()),
        }
    }

    /// Why a file read on demand could not be read, once it was asked for.
    pub(crate) fn load_error(&self) -> Option<HelmError> {
        let (kind, text) = self.0.get()?.error.as_ref()?;
        Some(HelmError::Io {
            path: self
                .1
                .as_deref()
                .map_or_else(String::new, |p| p.display().to_string()),
            source: std::io::Error::new(*kind, text.clone()),
        })
    }
}

impl std::ops::Deref for ChartFile {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.bytes()
    }
}

impl Chart {
    /// The chart's name (after dependency processing: its alias, if any).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Whether this is a library chart (`type: library`).
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type.eq_ignore_ascii_case("library")
    }

    /// `crds/` files (path, contents), sorted.
    pub fn crd_files(&self) -> Vec<(&str, &[u8])> {
        self.files
            .iter()
            .filter(|(k, _)| k.starts_with("crds/"))
            .map(|(k, v)| (k.as_str(), &v[..]))
            .collect()
    }

    /// A copy whose default values share nothing with `self`.
    pub fn deep_clone(&self) -> Chart {
        Chart {
            metadata: self.metadata.clone(),
            values: self.values.deep_copy(),
            schema: self.schema.clone(),
            templates: self.templates.clone(),
            files: self.files.clone(),
            dependencies: self.dependencies.iter().map(Chart::deep_clone).collect(),
            source: self.source.clone(),
        }
    }

    /// Loads a chart directory with default limits.
    pub fn load_dir(path: impl AsRef<Path>) -> Result<Chart> {
        Chart::load_dir_with(path, &LoadLimits::default())
    }

    /// Loads a chart directory as Helm's `LoadDir` does: the root `.helmignore` (plus Helm's
    /// default rule `templates/.?*`) applies to the whole tree; symlinks are followed only
    /// when they stay inside the chart; irregular files are refused.
    pub fn load_dir_with(path: impl AsRef<Path>, limits: &LoadLimits) -> Result<Chart> {
        let root = path.as_ref();
        let name = root.display().to_string();
        let canon = root.canonicalize().map_err(|e| HelmError::Io {
            path: name.clone(),
            source: e,
        })?;
        let mut rules = IgnoreRules::with_defaults();
        let ignore_path = canon.join(".helmignore");
        if ignore_path.is_file() {
            let text = std::fs::read_to_string(&ignore_path).map_err(|e| HelmError::Io {
                path: ignore_path.display().to_string(),
                source: e,
            })?;
            rules
                .parse(&text)
                .map_err(|message| HelmError::InvalidChart {
                    chart: name.clone(),
                    message: format!(".helmignore: {message}"),
                })?;
        }
        let mut files = Walked::default();
        let mut total = 0u64;
        walk(
            &canon, &canon, "", &rules, limits, &name, &mut files, &mut total, 0,
        )?;
        check_size(&files.read, limits)?;
        let mut chart = load_files(files.read, files.deferred, limits, 0)?;
        chart.source = name;
        Ok(chart)
    }

    /// Loads a chart archive (`.tgz` bytes; `name` is used in errors).
    pub fn from_archive(name: &str, bytes: &[u8], limits: &LoadLimits) -> Result<Chart> {
        let files = crate::archive::read_named_chart_archive(name, bytes, &limits.archive)
            .map_err(|e| HelmError::InvalidChart {
                chart: name.to_string(),
                message: e.to_string(),
            })?;
        let mut c = Chart::from_files_with(files, limits)?;
        c.source = name.to_string();
        Ok(c)
    }

    /// Builds a chart from its files (paths relative to the chart root) with default limits.
    pub fn from_files(files: ChartFiles) -> Result<Chart> {
        Chart::from_files_with(files, &LoadLimits::default())
    }

    /// Builds a chart from its files, as Helm's `LoadFiles` does.
    pub fn from_files_with(files: ChartFiles, limits: &LoadLimits) -> Result<Chart> {
        check_size(&files, limits)?;
        load_files(files, Deferred::new(), limits, 0)
    }
}

/// The count and size limits of a chart's files.
fn check_size(files: &ChartFiles, limits: &LoadLimits) -> Result<()> {
    if files.len() > limits.max_files {
        return Err(HelmError::Limit {
            chart: "chart".into(),
            what: format!("{} files", files.len()),
            limit: limits.max_files as u64,
            name: "max_files",
        });
    }
    let total: u64 = files.values().map(|v| v.len() as u64).sum();
    if total > limits.max_total_bytes {
        return Err(HelmError::Limit {
            chart: "chart".into(),
            what: format!("{total} bytes"),
            limit: limits.max_total_bytes,
            name: "max_total_bytes",
        });
    }
    Ok(())
}

/// Files of a chart directory served only as `.Files` or `crds/` (path in the chart → file
/// on disk): read when first asked for.
type Deferred = BTreeMap<String, PathBuf>;

/// What [`walk`] found: files read, and files to read on demand.
#[derive(Default)]
struct Walked {
    read: ChartFiles,
    deferred: Deferred,
}

/// Whether the file at `rel` (in a chart directory, subcharts' directories included) is one
/// Helm serves only as `.Files` or `crds/`: not `Chart.yaml`, the values or their schema, the
/// v1 requirements, a template, or a subchart archive.
fn served_only(rel: &str) -> bool {
    let mut rest = rel;
    while let Some(r) = rest.strip_prefix("charts/") {
        match r.split_once('/') {
            Some((_, inner)) => rest = inner,
            None => return false,
        }
    }
    !(matches!(
        rest,
        "Chart.yaml"
            | "values.yaml"
            | "values.schema.json"
            | "requirements.yaml"
            | "requirements.lock"
    ) || rest.starts_with("templates/"))
}

#[allow(clippy::too_many_arguments)]
fn walk(
    root: &Path,
    dir: &Path,
    rel: &str,
    rules: &IgnoreRules,
    limits: &LoadLimits,
    chart: &str,
    files: &mut Walked,
    total: &mut u64,
    depth: usize,
) -> Result<()> {
    if depth > 64 {
        return Err(HelmError::Limit {
            chart: chart.into(),
            what: format!("directory nesting at {rel}"),
            limit: 64,
            name: "directory depth",
        });
    }
    let io = |p: &Path, e| HelmError::Io {
        path: p.display().to_string(),
        source: e,
    };
    // Sorted by name, as Go's `filepath.Walk` sorts (byte order); comparing the names, not
    // the whole paths component by component, which was a visible part of a chart's load.
    let mut entries: Vec<(std::ffi::OsString, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .map(|e| e.map(|e| (e.file_name(), e.path())))
        .collect::<std::io::Result<_>>()
        .map_err(|e| io(dir, e))?;
    entries.sort_unstable_by(|a, b| a.0.as_encoded_bytes().cmp(b.0.as_encoded_bytes()));
    for (name, path) in entries {
        let fname = name.to_string_lossy().into_owned();
        let n = if rel.is_empty() {
            fname.clone()
        } else {
            format!("{rel}/{fname}")
        };
        let lmeta = std::fs::symlink_metadata(&path).map_err(|e| io(&path, e))?;
        let (target, meta) = if lmeta.file_type().is_symlink() {
            let t = path.canonicalize().map_err(|e| io(&path, e))?;
            if !t.starts_with(root) {
                return Err(HelmError::InvalidChart {
                    chart: chart.into(),
                    message: format!("symlink {n} points outside the chart"),
                });
            }
            let m = std::fs::metadata(&t).map_err(|e| io(&t, e))?;
            (t, m)
        } else {
            (path.clone(), lmeta)
        };
        if meta.is_dir() {
            if rules.ignore(&n, true) {
                continue;
            }
            walk(
                root,
                &target,
                &n,
                rules,
                limits,
                chart,
                files,
                total,
                depth + 1,
            )?;
            continue;
        }
        if rules.ignore(&n, false) {
            continue;
        }
        if !meta.is_file() {
            return Err(HelmError::InvalidChart {
                chart: chart.into(),
                message: format!(
                    "cannot load irregular file {n} as it has file mode type bits set"
                ),
            });
        }
        if meta.len() > limits.max_file_bytes {
            return Err(HelmError::Limit {
                chart: chart.into(),
                what: format!("file {n} ({} bytes)", meta.len()),
                limit: limits.max_file_bytes,
                name: "max_file_bytes",
            });
        }
        *total += meta.len();
        if *total > limits.max_total_bytes {
            return Err(HelmError::Limit {
                chart: chart.into(),
                what: format!("total size ({} bytes at {n})", *total),
                limit: limits.max_total_bytes,
                name: "max_total_bytes",
            });
        }
        if files.read.len() + files.deferred.len() >= limits.max_files {
            return Err(HelmError::Limit {
                chart: chart.into(),
                what: format!("file count (at {n})"),
                limit: limits.max_files as u64,
                name: "max_files",
            });
        }
        if served_only(&n) {
            // Read later, but Helm reads every file at load: one that cannot be opened
            // fails the load here, as in Helm's `LoadDir`.
            std::fs::File::open(&target).map_err(|e| io(&target, e))?;
            files.deferred.insert(n, target);
            continue;
        }
        let mut data = std::fs::read(&target).map_err(|e| io(&target, e))?;
        if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
            data.drain(..3);
        }
        files.read.insert(n, data);
    }
    Ok(())
}

fn invalid(chart: &str, message: impl Into<String>) -> HelmError {
    HelmError::InvalidChart {
        chart: chart.into(),
        message: message.into(),
    }
}

fn load_files(
    files: ChartFiles,
    deferred: Deferred,
    limits: &LoadLimits,
    depth: usize,
) -> Result<Chart> {
    if depth > limits.max_depth {
        return Err(HelmError::Limit {
            chart: "chart".into(),
            what: "subchart nesting".into(),
            limit: limits.max_depth as u64,
            name: "max_depth",
        });
    }
    let chart_yaml = files
        .get("Chart.yaml")
        .ok_or_else(|| invalid("chart", "Chart.yaml file is missing"))?;
    let meta_val = parse_yaml("Chart.yaml", chart_yaml)?;
    let mut metadata = metadata_from_value(&meta_val);
    if metadata.api_version.is_empty() {
        metadata.api_version = "v1".into();
    }
    let cname = if metadata.name.is_empty() {
        "chart".to_string()
    } else {
        metadata.name.clone()
    };
    let is_v1 = metadata.api_version == "v1";

    let mut values = Dict::new();
    let mut schema = None;
    let mut templates = Vec::new();
    let mut other = BTreeMap::new();
    let mut subcharts: BTreeMap<String, ChartFiles> = BTreeMap::new();
    for (name, data) in files {
        match name.as_str() {
            "Chart.yaml" | "Chart.lock" => {}
            "values.yaml" => {
                values = load_values(&cname, &data)?;
            }
            "values.schema.json" => schema = Some(data),
            "requirements.yaml" => {
                let v = parse_yaml("requirements.yaml", &data)?;
                if let Some(deps) = v.field("dependencies") {
                    metadata.dependencies_declared = matches!(deps, Value::List(_));
                    metadata.dependencies = deps_from_value(&deps);
                }
                if is_v1 {
                    other.insert(name, ChartFile::new(data));
                }
            }
            "requirements.lock" => {
                if is_v1 {
                    other.insert(name, ChartFile::new(data));
                }
            }
            n if n.starts_with("templates/") => {
                let text = String::from_utf8(data)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                templates.push((name, Arc::from(text)));
            }
            n if n.starts_with("charts/") => {
                if n.ends_with(".prov") {
                    other.insert(name, ChartFile::new(data));
                    continue;
                }
                let rest = &n["charts/".len()..];
                let (sub, inner) = match rest.split_once('/') {
                    Some((s, i)) => (s.to_string(), Some(i.to_string())),
                    None => (rest.to_string(), None),
                };
                let entry = subcharts.entry(sub.clone()).or_default();
                match inner {
                    Some(i) => {
                        entry.insert(i, data);
                    }
                    None => {
                        // A file directly under charts/ (an archive): keyed by its own name.
                        entry.insert(sub, data);
                    }
                }
            }
            _ => {
                other.insert(name, ChartFile::new(data));
            }
        }
    }
    validate_metadata(&cname, &metadata)?;
    let mut sub_deferred: BTreeMap<String, Deferred> = BTreeMap::new();
    for (name, path) in deferred {
        match name.strip_prefix("charts/").and_then(|r| r.split_once('/')) {
            Some((sub, inner)) => {
                sub_deferred
                    .entry(sub.to_string())
                    .or_default()
                    .insert(inner.to_string(), path);
            }
            None if name == "Chart.lock" => {}
            None => {
                other.insert(name, ChartFile::deferred(&path));
            }
        }
    }
    for sub in sub_deferred.keys() {
        subcharts.entry(sub.clone()).or_default();
    }

    let mut dependencies = Vec::new();
    for (n, sub_files) in subcharts {
        let sub_later = sub_deferred.remove(&n).unwrap_or_default();
        if n.starts_with('_') || n.starts_with('.') {
            continue;
        }
        let sc = if n.ends_with(".tgz") {
            let data = sub_files.get(&n).ok_or_else(|| {
                invalid(
                    &cname,
                    format!("error unpacking subchart tar in {cname}: expected {n}"),
                )
            })?;
            let inner = crate::archive::read_named_chart_archive(&n, data, &limits.archive)
                .map_err(|e| HelmError::Archive {
                    chart: cname.clone(),
                    subchart: n.clone(),
                    source: Box::new(e),
                })?;
            load_files(inner, Deferred::new(), limits, depth + 1)
        } else {
            let inner: ChartFiles = sub_files.into_iter().filter(|(k, _)| *k != n).collect();
            if inner.is_empty() && sub_later.is_empty() {
                continue;
            }
            load_files(inner, sub_later, limits, depth + 1)
        };
        let mut sc = sc.map_err(|e| match e {
            HelmError::InvalidChart { chart, message } if chart == "chart" => {
                HelmError::InvalidChart {
                    chart: cname.clone(),
                    message: format!("error unpacking subchart {n} in {cname}: {message}"),
                }
            }
            other => other,
        })?;
        sc.source = format!("{cname}/charts/{n}");
        dependencies.push(sc);
    }

    Ok(Chart {
        metadata,
        values,
        schema,
        templates,
        files: other,
        dependencies,
        source: cname,
    })
}

fn validate_metadata(chart: &str, m: &Metadata) -> Result<()> {
    if m.name.is_empty() {
        return Err(invalid(
            chart,
            "validation: chart.metadata.name is required",
        ));
    }
    if m.name.contains('/') || m.name.contains('\\') || m.name == "." || m.name == ".." {
        return Err(invalid(
            chart,
            format!("validation: chart.metadata.name {:?} is invalid", m.name),
        ));
    }
    if m.version.is_empty() {
        return Err(invalid(
            chart,
            "validation: chart.metadata.version is required",
        ));
    }
    if !m.chart_type.is_empty()
        && !m.chart_type.eq_ignore_ascii_case("application")
        && !m.chart_type.eq_ignore_ascii_case("library")
    {
        return Err(invalid(
            chart,
            format!("chart type is not valid: {}", m.chart_type),
        ));
    }
    if m.api_version != "v1" && m.api_version != "v2" {
        return Err(invalid(
            chart,
            format!(
                "validation: chart.metadata.apiVersion {:?} is invalid",
                m.api_version
            ),
        ));
    }
    Ok(())
}

fn parse_yaml(file: &str, data: &[u8]) -> Result<Value> {
    let text =
        std::str::from_utf8(data).map_err(|_| invalid("chart", format!("{file} is not UTF-8")))?;
    imagebom_template::convert::from_yaml_str(text)
        .map_err(|e| invalid("chart", format!("cannot load {file}: {e}")))
}

/// Reads a values file (every YAML document, merged as Helm's `LoadValues` does).
pub fn load_values(chart: &str, data: &[u8]) -> Result<Dict> {
    let text = std::str::from_utf8(data).map_err(|_| invalid(chart, "values.yaml is not UTF-8"))?;
    let docs = imagebom_template::convert::from_yaml_str_all(text)
        .map_err(|e| invalid(chart, format!("cannot load values.yaml: {e}")))?;
    let out = Dict::new();
    for d in docs {
        match d {
            Value::Map(m) => merge_maps(&out, &m),
            Value::Nil => {}
            other => {
                return Err(invalid(
                    chart,
                    format!(
                        "cannot load values.yaml: error unmarshaling JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                        other.type_name()
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// Helm's `MergeMaps`: `b` over `a`, nested maps merged, into `a`.
pub(crate) fn merge_maps(a: &Dict, b: &Dict) {
    for (k, v) in b.entries() {
        if let Value::Map(bm) = &v {
            if let Some(Value::Map(am)) = a.get(&k) {
                merge_maps(&am, bm);
                continue;
            }
        }
        a.insert(k, v);
    }
}

fn s(v: &Value, key: &str) -> String {
    match v.field(key) {
        Some(Value::String(s)) => s.to_string(),
        Some(Value::Nil) | None => String::new(),
        Some(Value::Map(_)) | Some(Value::List(_)) => String::new(),
        Some(other) => other.to_string(),
    }
}

/// The strings of list `key` of `v` (other scalars printed), empty when it is not a list.
pub(crate) fn strs(v: &Value, key: &str) -> Vec<String> {
    match v.field(key) {
        Some(Value::List(l)) => l
            .iter()
            .map(|x| match x {
                Value::String(s) => s.to_string(),
                other => other.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn metadata_from_value(v: &Value) -> Metadata {
    let maintainers = match v.field("maintainers") {
        Some(Value::List(l)) => l
            .iter()
            .map(|m| Maintainer {
                name: s(m, "name"),
                email: s(m, "email"),
                url: s(m, "url"),
            })
            .collect(),
        _ => Vec::new(),
    };
    let annotations = match v.field("annotations") {
        Some(Value::Map(m)) => m
            .entries()
            .into_iter()
            .map(|(k, v)| {
                let val = match v {
                    Value::String(s) => s.to_string(),
                    other => other.to_string(),
                };
                (k.to_string(), val)
            })
            .collect(),
        _ => BTreeMap::new(),
    };
    let annotations_declared = matches!(v.field("annotations"), Some(Value::Map(_)));
    Metadata {
        name: s(v, "name"),
        home: s(v, "home"),
        sources: strs(v, "sources"),
        version: s(v, "version"),
        description: s(v, "description"),
        keywords: strs(v, "keywords"),
        maintainers,
        icon: s(v, "icon"),
        api_version: s(v, "apiVersion"),
        condition: s(v, "condition"),
        tags: s(v, "tags"),
        app_version: s(v, "appVersion"),
        deprecated: matches!(v.field("deprecated"), Some(Value::Bool(true))),
        annotations,
        annotations_declared,
        kube_version: s(v, "kubeVersion"),
        dependencies: v
            .field("dependencies")
            .map(|d| deps_from_value(&d))
            .unwrap_or_default(),
        dependencies_declared: matches!(v.field("dependencies"), Some(Value::List(_))),
        chart_type: s(v, "type"),
    }
}

fn deps_from_value(v: &Value) -> Vec<Dependency> {
    let Value::List(l) = v else {
        return Vec::new();
    };
    l.iter()
        .filter(|d| matches!(d, Value::Map(_)))
        .map(|d| Dependency {
            name: s(d, "name"),
            version: s(d, "version"),
            repository: s(d, "repository"),
            condition: s(d, "condition"),
            tags: strs(d, "tags"),
            enabled: matches!(d.field("enabled"), Some(Value::Bool(true))),
            import_values: match d.field("import-values") {
                Some(Value::List(l)) => l.to_vec(),
                _ => Vec::new(),
            },
            alias: s(d, "alias"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> ChartFiles {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn loads_files_like_helm() {
        let c = Chart::from_files(files(&[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: a\nversion: 1.0.0\nappVersion: \"2\"\n",
            ),
            ("values.yaml", "x: 1\n---\ny: 2\n"),
            ("values.schema.json", "{}"),
            ("requirements.yaml", "dependencies: []\n"),
            ("README.md", "r"),
            (".helmignore", "x"),
            ("crds/c.yaml", "c"),
            ("charts/x.prov", "p"),
            ("templates/t.yaml", "t"),
            (
                "charts/sub/Chart.yaml",
                "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
            ),
            ("charts/sub/templates/s.yaml", "s"),
            (
                "charts/_hidden/Chart.yaml",
                "apiVersion: v2\nname: h\nversion: 0.1.0\n",
            ),
        ]))
        .unwrap();
        assert_eq!(c.metadata.app_version, "2");
        assert_eq!(
            c.files.keys().cloned().collect::<Vec<_>>(),
            vec![".helmignore", "README.md", "charts/x.prov", "crds/c.yaml"]
        );
        assert_eq!(c.values.len(), 2);
        assert!(c.schema.is_some());
        assert_eq!(c.dependencies.len(), 1);
        assert_eq!(c.dependencies[0].templates[0].0, "templates/s.yaml");
        assert_eq!(c.crd_files().len(), 1);
    }

    #[test]
    fn missing_chart_yaml_and_bad_type() {
        let e = Chart::from_files(files(&[("values.yaml", "")])).unwrap_err();
        assert!(e.to_string().contains("Chart.yaml file is missing"), "{e}");
        let e = Chart::from_files(files(&[(
            "Chart.yaml",
            "apiVersion: v2\nname: a\nversion: 1.0.0\ntype: weird\n",
        )]))
        .unwrap_err();
        assert!(
            e.to_string().contains("chart type is not valid: weird"),
            "{e}"
        );
    }

    #[test]
    fn v1_requirements() {
        let c = Chart::from_files(files(&[
            ("Chart.yaml", "name: a\nversion: 1.0.0\n"),
            (
                "requirements.yaml",
                "dependencies:\n- name: b\n  version: 1.x\n  alias: c\n",
            ),
        ]))
        .unwrap();
        assert_eq!(c.metadata.api_version, "v1");
        assert_eq!(c.metadata.dependencies[0].alias, "c");
        assert!(c.files.contains_key("requirements.yaml"));
    }

    fn tgz(top: &str, list: &[(&str, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::default(),
        ));
        for (k, v) in list {
            let mut h = tar::Header::new_gnu();
            h.set_size(v.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, format!("{top}/{k}"), v.as_bytes())
                .unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn archives_and_subchart_archives() {
        let sub = tgz(
            "sub",
            &[
                ("Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n"),
                ("templates/s.yaml", "s"),
            ],
        );
        let mut f = files(&[("Chart.yaml", "apiVersion: v2\nname: top\nversion: 1.0.0\n")]);
        f.insert("charts/sub-0.1.0.tgz".into(), sub.clone());
        let c = Chart::from_files(f).unwrap();
        assert_eq!(c.dependencies.len(), 1);
        assert_eq!(c.dependencies[0].name(), "sub");
        assert_eq!(c.dependencies[0].templates[0].0, "templates/s.yaml");
        let c = Chart::from_archive("sub-0.1.0.tgz", &sub, &LoadLimits::default()).unwrap();
        assert_eq!(c.metadata.version, "0.1.0");
        let mut f = files(&[("Chart.yaml", "apiVersion: v2\nname: top\nversion: 1.0.0\n")]);
        f.insert("charts/bad.tgz".into(), b"not gzip".to_vec());
        let e = Chart::from_files(f).unwrap_err().to_string();
        assert!(e.contains("error unpacking subchart bad.tgz in top"), "{e}");
    }

    #[test]
    fn limits_are_named() {
        let limits = LoadLimits {
            max_files: 1,
            ..LoadLimits::default()
        };
        let e = Chart::from_files_with(
            files(&[("Chart.yaml", "name: a\nversion: 1.0.0\n"), ("x", "y")]),
            &limits,
        )
        .unwrap_err();
        assert!(e.to_string().contains("max_files"), "{e}");
    }

    #[test]
    fn load_dir_honours_helmignore_and_refuses_escaping_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("c");
        std::fs::create_dir_all(root.join("templates")).unwrap();
        std::fs::write(
            root.join("Chart.yaml"),
            "apiVersion: v2\nname: c\nversion: 1.0.0\n",
        )
        .unwrap();
        std::fs::write(root.join(".helmignore"), "*.bak\n").unwrap();
        std::fs::write(root.join("a.bak"), "x").unwrap();
        std::fs::write(root.join("templates/.hidden"), "x").unwrap();
        std::fs::write(root.join("templates/t.yaml"), "\u{feff}t").unwrap();
        let c = Chart::load_dir(&root).unwrap();
        assert!(!c.files.contains_key("a.bak"));
        assert_eq!(c.templates.len(), 1);
        assert_eq!(&*c.templates[0].1, "t");
        #[cfg(unix)]
        {
            std::fs::write(dir.path().join("outside"), "secret").unwrap();
            std::os::unix::fs::symlink(dir.path().join("outside"), root.join("link")).unwrap();
            let e = Chart::load_dir(&root).unwrap_err();
            assert!(e.to_string().contains("points outside the chart"), "{e}");
        }
    }
}
