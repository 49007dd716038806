//! Native `helm template`: dependency processing, values, schema, kubeVersion, the built-in
//! objects, then every template of the chart and its enabled subcharts parsed into one set
//! and executed with its own chart's scope (Helm's `pkg/engine`).

use std::collections::BTreeMap;
use std::sync::Arc;

use imagebom_template::{Dict, GoSemantics, MissingKey, Template, TemplateError, Value};

use crate::chart::{Chart, ChartFile};
use crate::compat::is_compatible_range;
use crate::deps::{check_dependencies, process_dependencies};
use crate::error::{HelmError, Result};
use crate::values::{coalesce_values, table};

/// The Kubernetes version the Helm v4 SDK reports by default.
pub const DEFAULT_KUBE_VERSION: &str = "v1.36.0";

/// `.Capabilities.HelmVersion` of the Helm v4.2 SDK.
const HELM_VERSION: &str = "v4.2";
const HELM_GO_VERSION: &str = "go1.26.6";
const HELM_KUBE_CLIENT_VERSION: &str = "v1.36";

/// Helm v4.2's default `.Capabilities.APIVersions`.
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha2",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// How to render a chart (`helm template` flags).
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// `.Release.Name`.
    pub release_name: String,
    /// `.Release.Namespace`.
    pub namespace: String,
    /// User values (values files merged, `--set` applied; see [`crate::merge_values_files`]
    /// and [`crate::parse_set`]). Not modified.
    pub values: Dict,
    /// `.Capabilities.KubeVersion` (`v1.36.0` by default, as the Helm v4 SDK).
    pub kube_version: String,
    /// API versions added to Helm's default `.Capabilities.APIVersions`.
    pub api_versions: Vec<String>,
    /// Also return the charts' `crds/` files.
    pub include_crds: bool,
    /// `.Release.IsUpgrade` (and not `.Release.IsInstall`).
    pub is_upgrade: bool,
    /// `.Release.Revision`.
    pub revision: i64,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            release_name: "release-name".into(),
            namespace: "default".into(),
            values: Dict::new(),
            kube_version: DEFAULT_KUBE_VERSION.into(),
            api_versions: Vec::new(),
            include_crds: false,
            is_upgrade: false,
            revision: 1,
        }
    }
}

/// The result of [`render`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    /// Template path (`chart/charts/sub/templates/x.yaml`) → rendered text; NOTES.txt,
    /// partials and whitespace-only results left out.
    pub manifests: BTreeMap<String, String>,
    /// The top chart's rendered NOTES.txt, if it has one.
    pub notes: Option<String>,
    /// With `include_crds`: `crds/` files (path like `chart/crds/x.yaml`, text) of the chart
    /// and its enabled subcharts.
    pub crds: Vec<(String, String)>,
}

/// Writes the `helm template` stream: `---\n# Source: PATH\nTEXT\n` per template (CRDs first
/// when present), in path order, text trimmed, as `shared/oracle/helm_render.py` does. A
/// separator glued to what follows (`---# comment`, `---kind: X`) is split as Helm's
/// `SplitManifests` splits it: the dashes end their line, so the stream is valid YAML.
pub fn to_stream(r: &Rendered) -> String {
    let mut out = String::new();
    for (path, text) in r.crds.iter().map(|(p, t)| (p, t)).chain(r.manifests.iter()) {
        let t = text.trim();
        if t.is_empty() {
            continue;
        }
        out.push_str("---\n# Source: ");
        out.push_str(path);
        out.push('\n');
        push_split(&mut out, t);
        out.push('\n');
    }
    out
}

/// Appends `text`; a line starting with `---` followed by more than spaces ends after its
/// dashes (blanks dropped), as Helm's `(?m)^---[ \t]*` separator splits it.
fn push_split(out: &mut String, text: &str) {
    // Only lines starting with `---` can change: the text is copied in runs between them.
    let mut copied = 0;
    let starts = text
        .starts_with("---")
        .then_some(0)
        .into_iter()
        .chain(text.match_indices("\n---").map(|(i, _)| i + 1));
    for at in starts {
        let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
        let rest = &text[at + 3..line_end];
        if rest.trim_end_matches('\n').trim_matches(' ').is_empty() {
            continue;
        }
        out.push_str(&text[copied..at]);
        let content = rest.trim_start_matches([' ', '\t']);
        out.push_str("---");
        if !content.is_empty() && !content.starts_with('\n') {
            out.push('\n');
        }
        out.push_str(content);
        copied = line_end;
    }
    out.push_str(&text[copied..]);
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn strlist(v: &[String]) -> Value {
    Value::List(v.iter().map(|x| s(x)).collect::<Vec<_>>().into())
}

/// Helm's `common.Values`: the type of `.Values`, `.Template` and the scope `$`.
const VALUES: &str = "common.Values";

fn dict(entries: Vec<(&str, Value)>) -> Dict {
    let d = Dict::new();
    for (k, v) in entries {
        d.insert(k, v);
    }
    d
}

/// `.Chart` as Helm v4 builds it (`structToMap` of the metadata, plus `IsRoot`).
fn chart_value(c: &Chart, is_root: bool) -> Value {
    metadata_value(&c.metadata, is_root)
}

fn metadata_value(m: &crate::chart::Metadata, is_root: bool) -> Value {
    let deps: Vec<Value> = m
        .dependencies
        .iter()
        .map(|d| {
            Value::Map(dict(vec![
                ("Name", s(&d.name)),
                ("Version", s(&d.version)),
                ("Repository", s(&d.repository)),
                ("Condition", s(&d.condition)),
                ("Tags", strlist(&d.tags)),
                ("Enabled", Value::Bool(d.enabled)),
                ("ImportValues", Value::List(d.import_values.clone().into())),
                ("Alias", s(&d.alias)),
            ]))
        })
        .collect();
    let maintainers: Vec<Value> = m
        .maintainers
        .iter()
        .map(|x| {
            Value::Map(dict(vec![
                ("Name", s(&x.name)),
                ("Email", s(&x.email)),
                ("URL", s(&x.url)),
            ]))
        })
        .collect();
    let ann = Dict::new();
    for (k, v) in &m.annotations {
        ann.insert(k.as_str(), s(v));
    }
    Value::Map(dict(vec![
        ("Name", s(&m.name)),
        ("Home", s(&m.home)),
        ("Sources", strlist(&m.sources)),
        ("Version", s(&m.version)),
        ("Description", s(&m.description)),
        ("Keywords", strlist(&m.keywords)),
        ("Maintainers", Value::List(maintainers.into())),
        ("Icon", s(&m.icon)),
        ("APIVersion", s(&m.api_version)),
        ("Condition", s(&m.condition)),
        ("Tags", s(&m.tags)),
        ("AppVersion", s(&m.app_version)),
        ("Deprecated", Value::Bool(m.deprecated)),
        (
            "Annotations",
            Value::Map(
                if m.annotations_declared {
                    ann
                } else {
                    Dict::nil_map()
                }
                .with_go_type("map[string]string", "map"),
            ),
        ),
        ("KubeVersion", s(&m.kube_version)),
        ("Dependencies", Value::List(deps.into())),
        ("Type", s(&m.chart_type)),
        ("IsRoot", Value::Bool(is_root)),
    ]))
}

type Files = Arc<BTreeMap<String, ChartFile>>;

fn text_of(f: &ChartFile) -> Value {
    Value::String(f.text())
}

fn arg_str(args: &[Value], i: usize) -> String {
    match args.get(i) {
        Some(Value::String(s)) => s.to_string(),
        Some(Value::Nil) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A YAML map of string → string, as Helm's `toYAML(map[string]string)` prints it (through
/// the engine's `toYaml`, which follows go-yaml).
fn yaml_string_map(m: &BTreeMap<String, String>) -> String {
    static TO_YAML: std::sync::OnceLock<Option<imagebom_template::ValueFunc>> =
        std::sync::OnceLock::new();
    let f = TO_YAML.get_or_init(|| imagebom_template::helm_funcmap().get("toYaml").cloned());
    let d = Dict::new();
    for (k, v) in m {
        d.insert(k.as_str(), s(v));
    }
    match f.as_ref().map(|f| f(&[Value::Map(d)])) {
        Some(Ok(Value::String(t))) => t.trim_end_matches('\n').to_string(),
        _ => String::new(),
    }
}

fn base_name(p: &str) -> String {
    p.rsplit('/').next().unwrap_or(p).to_string()
}

/// `.Files` (Helm's `engine.files`): a map of path → contents (what `range` sees) with the
/// methods `Get`, `GetBytes`, `Glob` (another such map), `AsConfig`, `AsSecrets`, `Lines`.
fn files_value(files: Files) -> Value {
    let f = files.clone();
    let entries = move || {
        f.iter()
            .map(|(k, v)| (Arc::from(k.as_str()), text_of(v)))
            .collect()
    };
    let mut m: BTreeMap<String, imagebom_template::ValueFunc> = BTreeMap::new();
    let f = files.clone();
    m.insert(
        "Get".into(),
        Arc::new(move |args: &[Value]| {
            Ok(f.get(&arg_str(args, 0))
                .map(text_of)
                .unwrap_or_else(|| s("")))
        }),
    );
    let f = files.clone();
    // A []uint8, held as its text (see imagebom_template::Value::Typed).
    m.insert(
        "GetBytes".into(),
        Arc::new(move |args: &[Value]| {
            let text = f
                .get(&arg_str(args, 0))
                .map(text_of)
                .unwrap_or_else(|| s(""));
            Ok(Value::typed("[]uint8", "slice", text))
        }),
    );
    let f = files.clone();
    m.insert(
        "Glob".into(),
        Arc::new(move |args: &[Value]| {
            let pat = arg_str(args, 0);
            let matched: BTreeMap<String, ChartFile> = f
                .iter()
                .filter(|(k, _)| crate::ignore::glob_match(&pat, k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Ok(files_value(Arc::new(matched)))
        }),
    );
    let f = files.clone();
    m.insert(
        "AsConfig".into(),
        Arc::new(move |_: &[Value]| {
            let m: BTreeMap<String, String> = f
                .iter()
                .map(|(k, v)| (base_name(k), v.text().to_string()))
                .collect();
            Ok(s(&yaml_string_map(&m)))
        }),
    );
    let f = files.clone();
    m.insert(
        "AsSecrets".into(),
        Arc::new(move |_: &[Value]| {
            let m: BTreeMap<String, String> =
                f.iter().map(|(k, v)| (base_name(k), base64(v))).collect();
            Ok(s(&yaml_string_map(&m)))
        }),
    );
    let f = files;
    m.insert(
        "Lines".into(),
        Arc::new(move |args: &[Value]| {
            let Some(b) = f.get(&arg_str(args, 0)) else {
                return Ok(Value::List(Vec::<Value>::new().into()));
            };
            let mut text = b.text().to_string();
            if text.ends_with('\n') {
                text.pop();
            }
            Ok(Value::List(
                text.split('\n').map(s).collect::<Vec<_>>().into(),
            ))
        }),
    );
    // The contents are read (deferred files) and listed only when a template looks at them.
    Value::Map(
        Dict::lazy(entries)
            .with_methods(m)
            .with_go_type("engine.files", "map"),
    )
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Parses `v1.36.0` / `1.36` into (`v1.36.0`, major, minor).
fn parse_kube_version(v: &str) -> Result<(String, String, String)> {
    let t = v.trim().trim_start_matches('v');
    let core = t.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    let bad = || HelmError::Values(format!("invalid kube version {v:?}"));
    if parts.len() < 2
        || parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let major: u64 = parts[0].parse().map_err(|_| bad())?;
    let minor: u64 = parts[1].parse().map_err(|_| bad())?;
    let patch: u64 = parts.get(2).map(|p| p.parse().unwrap_or(0)).unwrap_or(0);
    let rest = &t[core.len()..];
    Ok((
        format!("v{major}.{minor}.{patch}{rest}"),
        major.to_string(),
        minor.to_string(),
    ))
}

fn method(
    f: impl Fn(&[Value]) -> imagebom_template::Result<Value> + Send + Sync + 'static,
) -> imagebom_template::ValueFunc {
    Arc::new(f)
}

fn capabilities(opts: &RenderOptions) -> Result<(Value, String)> {
    let (version, major, minor) = parse_kube_version(&opts.kube_version)?;
    // KubeVersion{Version, Major, Minor} with the GitVersion and String methods.
    let v1 = version.clone();
    let v2 = version.clone();
    let kv = dict(vec![
        ("Version", s(&version)),
        ("Major", s(&major)),
        ("Minor", s(&minor)),
    ])
    .with_type_name("common.KubeVersion")
    .with_methods(BTreeMap::from([
        ("GitVersion".to_string(), method(move |_| Ok(s(&v1)))),
        ("String".to_string(), method(move |_| Ok(s(&v2)))),
    ]));
    // APIVersions: Helm's `VersionSet`, a []string with the `Has` method.
    let mut apis: Vec<String> = DEFAULT_API_VERSIONS.iter().map(|x| x.to_string()).collect();
    for a in &opts.api_versions {
        if !apis.contains(a) {
            apis.push(a.clone());
        }
    }
    let list = strlist(&apis);
    let has = Arc::new(apis);
    let av = Value::typed_with_methods(
        "common.VersionSet",
        "slice",
        list,
        BTreeMap::from([(
            "Has".to_string(),
            method(move |args| Ok(Value::Bool(has.contains(&arg_str(args, 0))))),
        )]),
    );
    let client = HELM_KUBE_CLIENT_VERSION;
    let printed = format!("{{{HELM_VERSION}   {HELM_GO_VERSION} {client}}}");
    let hv = dict(vec![
        ("Version", s(HELM_VERSION)),
        ("GitCommit", s("")),
        ("GitTreeState", s("")),
        ("GoVersion", s(HELM_GO_VERSION)),
        ("KubeClientVersion", s(client)),
    ])
    .with_type_name("version.BuildInfo")
    .with_methods(BTreeMap::from([(
        "String".to_string(),
        method(move |_| Ok(s(&printed))),
    )]));
    Ok((
        Value::Map(
            dict(vec![
                ("KubeVersion", Value::Map(kv)),
                ("APIVersions", av),
                ("HelmVersion", Value::Map(hv)),
            ])
            .with_type_name("*common.Capabilities"),
        ),
        version,
    ))
}

struct Renderable {
    src: Arc<str>,
    scope: Dict,
    base_path: String,
}

fn rec_all_tpls(
    c: &Chart,
    full_path: &str,
    parent: Option<&Dict>,
    root: &Dict,
    out: &mut BTreeMap<String, Renderable>,
) -> Dict {
    let subcharts = Dict::new();
    let next = dict(vec![
        ("Chart", chart_value(c, parent.is_none())),
        ("Files", files_value(Arc::new(c.files.clone()))),
        ("Release", root.get("Release").unwrap_or(Value::Nil)),
        (
            "Capabilities",
            root.get("Capabilities").unwrap_or(Value::Nil),
        ),
        (
            "Values",
            Value::Map(Dict::new().with_go_type(VALUES, "map")),
        ),
        ("Subcharts", Value::Map(subcharts.clone())),
    ]);
    match parent {
        None => {
            next.insert("Values", root.get("Values").unwrap_or(Value::Nil));
        }
        Some(p) => {
            if let Some(Value::Map(pv)) = p.get("Values") {
                if let Some(t) = table(&pv, c.name()) {
                    next.insert("Values", Value::Map(t.with_go_type(VALUES, "map")));
                }
            }
        }
    }
    for child in &c.dependencies {
        let child_path = format!("{full_path}/charts/{}", child.name());
        let scope = rec_all_tpls(child, &child_path, Some(&next), root, out);
        subcharts.insert(child.name(), Value::Map(scope));
    }
    let library = c.is_library();
    for (name, src) in &c.templates {
        if library && !base_name(name).starts_with('_') {
            continue;
        }
        out.insert(
            format!("{full_path}/{name}"),
            Renderable {
                src: src.clone(),
                scope: next.clone().with_go_type(VALUES, "map"),
                base_path: format!("{full_path}/templates"),
            },
        );
    }
    next
}

/// Helm's template order: deeper paths first, then reverse lexical order.
fn sort_templates<'a>(names: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut keys: Vec<String> = names.cloned().collect();
    keys.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
    keys
}

/// Helm's function set with the builtins, built once per process.
fn shared_helm_funcs() -> Arc<imagebom_template::FuncMap> {
    static FUNCS: std::sync::LazyLock<Arc<imagebom_template::FuncMap>> =
        std::sync::LazyLock::new(|| Template::new("gotpl").funcs(helm_funcs()).shared_funcs());
    FUNCS.clone()
}

/// Helm's functions: the engine's (`required` and `fail` typed as Helm's
/// `func(string, interface{})` and `func(string)`), with `getHostByName` offline.
fn helm_funcs() -> imagebom_template::FuncMap {
    let mut fm = imagebom_template::helm_funcmap();
    fm.insert("getHostByName".into(), Arc::new(|_: &[Value]| Ok(s(""))));
    fm
}

/// Helm's `cleanupParseError`: `parse error at (LOCATION): MESSAGE`, where Helm keeps the
/// text after the last `": "` of Go's message.
fn parse_error(filename: &str, e: &TemplateError) -> HelmError {
    let last = |m: &str| m.rsplit(": ").next().unwrap_or(m).to_string();
    match e {
        TemplateError::Parse {
            name,
            line,
            message,
            ..
        }
        | TemplateError::Lex {
            name,
            line,
            message,
            ..
        } => HelmError::Parse {
            location: format!("{}:{line}", name.as_deref().unwrap_or("")),
            message: last(message),
        },
        // Not Go's located text (a source limit): Helm's split of an unlocated message.
        other => {
            let text = other.to_string();
            match text.split_once(": ") {
                None => HelmError::Parse {
                    location: filename.to_string(),
                    message: text,
                },
                Some((_, rest)) => HelmError::Parse {
                    location: rest.split(": ").next().unwrap_or(rest).to_string(),
                    message: last(&text),
                },
            }
        }
    }
}

/// Helm v4's `reformatExecErrorMsg` over the engine's typed error: `fail`/`required`
/// messages become `execution error at (LOCATION): MESSAGE`; other errors read
/// `LOCATION\n  executing "NAME" at <NODE>:\n    MESSAGE` per template of the include chain,
/// unless the chain wraps a plain Go error (a function's own error, `tpl`'s): Helm then
/// prints Go's one-line text.
fn exec_error(filename: &str, err: &TemplateError) -> HelmError {
    let render = |t: String| HelmError::Render {
        template: filename.to_string(),
        text: t,
    };
    let Some(top) = err.exec_error() else {
        return render(format!("execution error in ({filename}): {err}"));
    };
    if let Some(msg) = err.fail_message() {
        return render(format!(
            "execution error at ({}): {msg}",
            top.location_text()
        ));
    }
    let mut out = String::new();
    let mut link = top;
    loop {
        let Some(executing) = link.executing() else {
            out.push_str(&format!("{}\n    {}\n", link.template, link.message));
            break;
        };
        out.push_str(&format!("{}\n  {executing}:\n", link.location_text()));
        let Some(call) = &link.call else {
            out.push_str(&format!("    {}\n", link.message));
            break;
        };
        match &*call.cause {
            // The next template of an include chain.
            TemplateError::Execution(next) if next.location.is_some() => {
                out.push_str(&format!("    error calling {}:\n", call.function));
                link = next;
            }
            undefined @ TemplateError::UndefinedTemplate { .. } => {
                out.push_str(&format!(
                    "    error calling {}:\n{undefined}\n",
                    call.function
                ));
                break;
            }
            // A function's plain Go error: Go's one line.
            _ => return render(err.to_string()),
        }
    }
    render(out.trim().to_string())
}

/// Renders `chart` as `helm template` (Helm v4 SDK semantics) would.
///
/// # Errors
///
/// Library charts, dependencies missing from `charts/`, values that do not coalesce or violate a schema, a `kubeVersion` the
/// target does not satisfy, template parse and execution errors (with chart, template, line
/// and column, worded as Helm's).
pub fn render(chart: &Chart, opts: &RenderOptions) -> Result<Rendered> {
    if chart.is_library() {
        return Err(HelmError::LibraryChart(chart.name().to_string()));
    }
    check_dependencies(chart)?;
    // A shallow copy: dependency processing replaces metadata, subcharts and values but
    // writes into no values map of `chart` (coalescing works on deep copies of them).
    let mut c = chart.clone();
    let vals = opts.values.deep_copy();
    process_dependencies(&mut c, &vals)?;

    let (caps, kube_version) = capabilities(opts)?;
    let values = coalesce_values(&c, &vals)?;
    // Schema validation (compiling a schema of a few hundred KB is a large part of a
    // chart's render) runs beside template parsing when both are large enough to repay
    // waking another core; its error still comes first, as in Helm.
    let schema_bytes = schema_size(&c);
    let template_bytes = template_size(&c);
    let (schema, parsed) = if schema_bytes >= THREAD_MIN_SCHEMA_BYTES
        && template_bytes >= THREAD_MIN_TEMPLATE_BYTES
        && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
    {
        std::thread::scope(|scope| {
            let schema = std::thread::Builder::new()
                .spawn_scoped(scope, || crate::schema::validate(&c, &values));
            let parsed = parse_chart(&c, opts, &values, &kube_version, caps);
            let schema = match schema {
                Ok(h) => h
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(_) => crate::schema::validate(&c, &values),
            };
            (schema, parsed)
        })
    } else {
        if let Some(e) = crate::schema::validate(&c, &values) {
            return Err(HelmError::Schema(e));
        }
        (None, parse_chart(&c, opts, &values, &kube_version, caps))
    };
    if let Some(e) = schema {
        return Err(HelmError::Schema(e));
    }
    let (t, tpls, keys) = parsed?;
    let mut rendered = BTreeMap::new();
    for name in &keys {
        if base_name(name).starts_with('_') {
            continue;
        }
        let r = &tpls[name];
        r.scope.insert(
            "Template",
            Value::Map(
                dict(vec![("Name", s(name)), ("BasePath", s(&r.base_path))])
                    .with_go_type(VALUES, "map"),
            ),
        );
        let out = t
            .execute_template_to_string(name, &Value::Map(r.scope.clone()))
            .map_err(|e| load_error(&c).unwrap_or_else(|| exec_error(name, &e)))?;
        let out = if out.contains("<no value>") {
            out.replace("<no value>", "")
        } else {
            out
        };
        rendered.insert(name.clone(), out);
    }
    let out = finish(&c, opts, rendered);
    match load_error(&c) {
        Some(e) => Err(e),
        None => out,
    }
}

/// The first file of `c` (subcharts included) read on demand during the render that could
/// not be read.
fn load_error(c: &Chart) -> Option<HelmError> {
    c.files
        .values()
        .find_map(ChartFile::load_error)
        .or_else(|| c.dependencies.iter().find_map(load_error))
}

/// Renders one template file that belongs to no chart (an in-tree manifest), as Helm would
/// render it as the only template of a chart with metadata `chart`: Helm's function map,
/// `.Values` = `opts.values` as given (no chart defaults), `.Release` and `.Capabilities` from
/// `opts`, `.Chart` from `chart`, `.Template.Name` = `name`. `<no value>` becomes empty, as
/// in Helm.
///
/// # Errors
///
/// Parse and execution errors, naming `name` with line and column (Helm's wording).
pub fn render_file(
    name: &str,
    text: &str,
    chart: &crate::chart::Metadata,
    opts: &RenderOptions,
) -> Result<String> {
    let (caps, _) = capabilities(opts)?;
    let release = dict(vec![
        ("Name", s(&opts.release_name)),
        ("Namespace", s(&opts.namespace)),
        ("IsUpgrade", Value::Bool(opts.is_upgrade)),
        ("IsInstall", Value::Bool(!opts.is_upgrade)),
        ("Revision", Value::Int(opts.revision)),
        ("Service", s("Helm")),
    ]);
    let base = name.rsplit_once('/').map_or("", |(d, _)| d);
    let scope = dict(vec![
        ("Chart", metadata_value(chart, true)),
        ("Files", files_value(Arc::new(BTreeMap::new()))),
        ("Release", Value::Map(release)),
        ("Capabilities", caps),
        (
            "Values",
            Value::Map(opts.values.deep_copy().with_go_type(VALUES, "map")),
        ),
        ("Subcharts", Value::Map(Dict::new())),
        (
            "Template",
            Value::Map(
                dict(vec![("Name", s(name)), ("BasePath", s(base))]).with_go_type(VALUES, "map"),
            ),
        ),
    ])
    .with_go_type(VALUES, "map");
    let mut t = Template::new("gotpl")
        .missing_key(MissingKey::ZeroValue)
        .go_semantics(GoSemantics::Helm)
        .with_shared_funcs(shared_helm_funcs());
    t.add_templates(&[(name, text)])
        .map_err(|(_, e)| parse_error(name, &e))?;
    let out = t
        .execute_template_to_string(name, &Value::Map(scope))
        .map_err(|e| exec_error(name, &e))?;
    Ok(out.replace("<no value>", ""))
}

/// Schema size from which validation gets its own thread (see [`render`]).
const THREAD_MIN_SCHEMA_BYTES: usize = 64 << 10;
/// Template source size from which schema validation gets its own thread.
const THREAD_MIN_TEMPLATE_BYTES: usize = 128 << 10;

/// Bytes of `values.schema.json` in a chart and its subcharts.
fn schema_size(c: &Chart) -> usize {
    c.schema.as_ref().map_or(0, Vec::len) + c.dependencies.iter().map(schema_size).sum::<usize>()
}

/// Bytes of template source in a chart and its subcharts.
fn template_size(c: &Chart) -> usize {
    c.templates.iter().map(|(_, t)| t.len()).sum::<usize>()
        + c.dependencies.iter().map(template_size).sum::<usize>()
}

/// The template set of a chart whose values are coalesced: `kubeVersion` checked, the
/// built-in objects of each template, every template parsed (in Helm's order).
#[allow(clippy::type_complexity)]
fn parse_chart(
    c: &Chart,
    opts: &RenderOptions,
    values: &Dict,
    kube_version: &str,
    caps: Value,
) -> Result<(Template, BTreeMap<String, Renderable>, Vec<String>)> {
    if !c.metadata.kube_version.is_empty()
        && !is_compatible_range(&c.metadata.kube_version, kube_version)
    {
        return Err(HelmError::KubeVersion {
            constraint: c.metadata.kube_version.clone(),
            kube_version: kube_version.to_string(),
        });
    }
    let release = dict(vec![
        ("Name", s(&opts.release_name)),
        ("Namespace", s(&opts.namespace)),
        ("IsUpgrade", Value::Bool(opts.is_upgrade)),
        ("IsInstall", Value::Bool(!opts.is_upgrade)),
        ("Revision", Value::Int(opts.revision)),
        ("Service", s("Helm")),
    ]);
    let root = dict(vec![
        (
            "Values",
            Value::Map(values.clone().with_go_type(VALUES, "map")),
        ),
        ("Release", Value::Map(release)),
        ("Capabilities", caps),
    ]);
    let mut tpls = BTreeMap::new();
    rec_all_tpls(c, c.name(), None, &root, &mut tpls);

    let mut t = Template::new("gotpl")
        .missing_key(MissingKey::ZeroValue)
        .go_semantics(GoSemantics::Helm)
        .with_shared_funcs(shared_helm_funcs());
    let keys = sort_templates(tpls.keys());
    let items: Vec<(&str, &str)> = keys
        .iter()
        .map(|name| (name.as_str(), &*tpls[name].src))
        .collect();
    t.add_templates(&items)
        .map_err(|(i, e)| parse_error(&keys[i], &e))?;
    Ok((t, tpls, keys))
}

/// Splits the rendered templates into manifests and NOTES.txt, and adds the CRDs.
fn finish(c: &Chart, opts: &RenderOptions, rendered: BTreeMap<String, String>) -> Result<Rendered> {
    let notes_path = format!("{}/templates/NOTES.txt", c.name());
    let mut notes = None;
    let mut manifests = BTreeMap::new();
    for (k, v) in rendered {
        if k.ends_with("NOTES.txt") {
            if k == notes_path {
                notes = Some(v);
            }
            continue;
        }
        if v.trim().is_empty() {
            continue;
        }
        manifests.insert(k, v);
    }
    let mut crds = Vec::new();
    if opts.include_crds {
        collect_crds(c, c.name(), &mut crds);
    }
    Ok(Rendered {
        manifests,
        notes,
        crds,
    })
}

fn collect_crds(c: &Chart, full_path: &str, out: &mut Vec<(String, String)>) {
    for (name, data) in c.crd_files() {
        if [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e)) {
            out.push((
                format!("{full_path}/{name}"),
                String::from_utf8_lossy(data).into_owned(),
            ));
        }
    }
    for d in &c.dependencies {
        collect_crds(d, &format!("{full_path}/charts/{}", d.name()), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line-by-line splitter `push_split` replaced, as the reference.
    fn push_split_lines(out: &mut String, text: &str) {
        for line in text.split_inclusive('\n') {
            match line.strip_prefix("---") {
                Some(rest) if !rest.trim_end_matches('\n').trim_matches(' ').is_empty() => {
                    let content = rest.trim_start_matches([' ', '\t']);
                    out.push_str("---");
                    if !content.is_empty() && !content.starts_with('\n') {
                        out.push('\n');
                    }
                    out.push_str(content);
                }
                _ => out.push_str(line),
            }
        }
    }

    #[test]
    fn push_split_matches_the_line_splitter() {
        for text in [
            "",
            "---",
            "--- a",
            "---\t\n",
            "--- \n",
            "---a\nb",
            "a\n--- b\n---\n---\tc\n---  \n----\n",
            "x\n---\t \ny\n---",
            "\n---x\n\n--- # c\n",
            "a: 1\n  --- no\nb: ---\n",
        ] {
            let (mut a, mut b) = (String::new(), String::new());
            push_split(&mut a, text);
            push_split_lines(&mut b, text);
            assert_eq!(a, b, "{text:?}");
        }
    }

    #[test]
    fn template_order_is_helms() {
        let names: Vec<String> = [
            "a/templates/x.yaml",
            "a/charts/b/templates/y.yaml",
            "a/templates/z.yaml",
            "a/templates/_h.tpl",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            sort_templates(names.iter()),
            vec![
                "a/charts/b/templates/y.yaml",
                "a/templates/z.yaml",
                "a/templates/x.yaml",
                "a/templates/_h.tpl"
            ]
        );
    }

    #[test]
    fn kube_versions() {
        assert_eq!(
            parse_kube_version("v1.36.0").unwrap(),
            ("v1.36.0".into(), "1".into(), "36".into())
        );
        assert_eq!(parse_kube_version("1.20").unwrap().0, "v1.20.0");
        assert!(parse_kube_version("one").is_err());
    }

    /// Executes `src` as Helm does and formats its error as Helm's.
    fn helm_error(name: &str, src: &str, values: Value) -> String {
        let mut t = Template::new("gotpl")
            .missing_key(MissingKey::ZeroValue)
            .go_semantics(GoSemantics::Helm)
            .with_shared_funcs(shared_helm_funcs());
        if let Err((_, e)) = t.add_templates(&[(name, src)]) {
            return parse_error(name, &e).to_string();
        }
        let data = Value::Map(dict(vec![("Values", values)]));
        let e = t.execute_template_to_string(name, &data).unwrap_err();
        exec_error(name, &e).to_string()
    }

    /// The texts are the Helm v4 SDK's for the same templates (checked with
    /// tests/oracle/helm_oracle.py; the conformance vectors pin many more).
    #[test]
    fn exec_error_texts() {
        assert_eq!(
            helm_error(
                "c/templates/NOTES.txt",
                "\n  {{ fail \"[ERROR] x must be set\" }}",
                Value::Nil
            ),
            "execution error at (c/templates/NOTES.txt:2:5): [ERROR] x must be set"
        );
        // Through include and tpl, `fail` is located at the outermost call.
        let src = "{{ define \"d\" }}{{ tpl \"{{ required \\\"need x\\\" .x }}\" . }}{{ end }}{{ include \"d\" . }}";
        assert_eq!(
            helm_error("c/templates/a.yaml", src, Value::Nil),
            "execution error at (c/templates/a.yaml:1:70): need x"
        );
        assert_eq!(
            helm_error(
                "c/templates/a.yaml",
                "{{ .Values.a.enabled }}",
                Value::Map(Dict::new())
            ),
            "c/templates/a.yaml:1:10\n  executing \"c/templates/a.yaml\" at <.Values.a.enabled>:\n    nil pointer evaluating interface {}.enabled"
        );
        // An include chain: one block per template.
        let src = "{{ define \"d\" }}{{ .a.b }}{{ end }}{{ include \"d\" .Values }}";
        assert_eq!(
            helm_error("c/templates/a.yaml", src, Value::Map(Dict::new())),
            "c/templates/a.yaml:1:38\n  executing \"c/templates/a.yaml\" at <include \"d\" .Values>:\n    error calling include:\nc/templates/a.yaml:1:21\n  executing \"d\" at <.a.b>:\n    nil pointer evaluating interface {}.b"
        );
        // A function's own error: Go's one line.
        assert_eq!(
            helm_error("c/templates/a.yaml", "{{ include \"nope\" . }}", Value::Nil),
            "c/templates/a.yaml:1:3\n  executing \"c/templates/a.yaml\" at <include \"nope\" .>:\n    error calling include:\ntemplate: no template \"nope\" associated with template \"gotpl\""
        );
        assert_eq!(
            helm_error("c/templates/a.yaml", "{{ fromYaml 1 }}", Value::Nil),
            "c/templates/a.yaml:1:12\n  executing \"c/templates/a.yaml\" at <1>:\n    expected string; found 1"
        );
        assert_eq!(
            helm_error("c/templates/a.yaml", "x\n{{ if }}", Value::Nil),
            "parse error at (c/templates/a.yaml:2): missing value for if"
        );
    }

    #[test]
    fn base64_matches_std() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }
}
