//! Rendering: turn each recipe component into the manifest streams it deploys.
//!
//! In-tree manifests are read as they are (each file is one stream), or, for components whose
//! manifests are templates ([`imagebom_recipe::ManifestsAre::Templates`]), a file that contains
//! `{{` is rendered first ([`render_manifests`]). Helm charts are fetched
//! (local directory or `.tgz`, HTTP chart repository, `oci://`; see [`imagebom_charts`])
//! and rendered natively with `helm template` semantics ([`imagebom_helm::render`]); the
//! chart's stream carries a `# Source:` header per template, so every image found in it is
//! traced to its template.
//!
//! A chart's repository may be mapped to a mirror first ([`Options::chart_mirrors`],
//! `settings.chartMirrors`; see [`mirror`]); the BOM keeps the canonical repository.
//!
//! A chart's declared images (`Chart.yaml` annotations, [`imagebom_helm::declared_images`])
//! are read with the same values and kept in [`RenderedChart::declared`]; once the streams are
//! extracted, [`add_declared_images`] lists them and warns where they disagree with the render.
//!
//! Components render in parallel. By default the first failing component fails the run; with
//! [`Options::keep_going`] every component is rendered, and every failing chart or manifest
//! file is returned beside the streams of the others.

use imagebom_charts::{fetch_chart, ChartError, FetchError, FetchOptions};
use imagebom_helm::HelmError;
use imagebom_recipe::{Component, Format, HelmSource, ManifestsAre, Recipe};
use imagebom_template::Dict;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

mod declared;
pub mod mirror;
mod subcharts;

pub use declared::add_declared;

/// Largest manifest or values file read, in bytes.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// A rendered manifest stream of one component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    /// Recipe component name.
    pub component: String,
    /// Where the stream came from: the manifest file (as the recipe path locates it) or the
    /// chart (`chart@version`); documents with a `# Source:` header name their template.
    pub file: String,
    /// The YAML stream.
    pub text: String,
    /// True for a chart's render (its `# Source:` headers name templates), false for a
    /// manifest file (a `# Source:` comment in it is only a comment).
    pub from_chart: bool,
}

/// What was rendered for a chart component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedChart {
    /// Recipe component name.
    pub component: String,
    /// Chart name.
    pub chart: String,
    /// The version rendered (the chart's own `version`).
    pub version: String,
    /// `sha256:` digest of the chart archive (none for a chart directory).
    pub digest: Option<String>,
    /// Where the chart came from (archive URL, `oci://` reference or local path).
    pub source: String,
    /// The images the chart and its enabled subcharts declare with the values rendered.
    pub declared: imagebom_helm::Declared,
    /// What was rendered, for the BOM: the chart and its enabled subcharts (vendored in
    /// `charts/` or fetched), with versions, archive digests and canonical sources.
    pub rendered: imagebom_model::RenderedChartInfo,
}

/// Records what each chart rendered ([`RenderedChart::rendered`]) in its component's
/// [`imagebom_model::ChartInfo::rendered`].
pub fn add_rendered_charts(charts: &[RenderedChart], inv: &mut imagebom_model::Inventory) {
    for c in charts {
        let info = inv.components.iter_mut().find(|i| i.name == c.component);
        if let Some(chart) = info.and_then(|i| i.chart.as_mut()) {
            chart.rendered = Some(c.rendered.clone());
        }
    }
}

/// Adds the declared images of every rendered chart to `inv` ([`add_declared`]); call it once
/// the streams are extracted into `inv`.
pub fn add_declared_images(charts: &[RenderedChart], inv: &mut imagebom_model::Inventory) {
    for c in charts {
        add_declared(&c.component, &c.declared, inv);
    }
}

/// Why a component could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A manifest or values file could not be read.
    #[error("{path}: cannot read {what}{}: {source}", of_component(component))]
    Io {
        component: String,
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A manifest or values file is larger than [`MAX_MANIFEST_BYTES`].
    #[error("{path}: {what} is larger than the {MAX_MANIFEST_BYTES}-byte limit")]
    TooLarge { what: &'static str, path: String },
    /// A manifest is not UTF-8 text.
    #[error("{path}: manifest is not UTF-8 text")]
    NotText { path: String },
    /// The chart could not be fetched (the message says why once: `error` is not also
    /// chained as a source, which `{:#}` would print a second time).
    #[error("component {component:?}: {error}")]
    Fetch {
        component: String,
        error: Box<FetchError>,
    },
    /// A dependency of the chart could not be fetched or used (the message says why once).
    #[error("component {component:?}: {error}")]
    Dependency {
        component: String,
        error: Box<ChartError>,
    },
    /// The chart could not be loaded or rendered.
    #[error("component {component:?}: {source}")]
    Chart {
        component: String,
        #[source]
        source: Box<HelmError>,
    },
    /// A kustomization could not be built (the error names the file).
    #[error("component {component:?}: kustomize: {source}")]
    Kustomize {
        component: String,
        #[source]
        source: Box<imagebom_kustomize::KustomizeError>,
    },
    /// A templated manifest could not be rendered.
    #[error("{path}: component {component:?}: manifest template: {source}")]
    Template {
        component: String,
        path: String,
        #[source]
        source: Box<HelmError>,
    },
    /// A chart mirror cannot serve the chart.
    #[error("component {component:?}: chart mirror {target}: {message}")]
    Mirror {
        component: String,
        target: String,
        message: String,
    },
    /// Values (a values file or the recipe's inline values) are not a YAML map.
    #[error("{path}: component {component:?}: invalid values: {message}")]
    Values {
        component: String,
        path: String,
        message: String,
    },
    /// A values file does not parse (the Helm error kept as it is).
    #[error("{path}: component {component:?}: invalid values: {source}")]
    ValuesFile {
        component: String,
        path: String,
        #[source]
        source: Box<HelmError>,
    },
    /// The chart found is not the version the recipe pins.
    #[error("{recipe}: component {component:?}: {message}")]
    VersionMismatch {
        recipe: String,
        component: String,
        message: String,
    },
    /// Several components failed (with [`Options::keep_going`]); each is listed.
    #[error("{} components failed to render:\n{}", .0.len(), .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Many(Vec<RenderError>),
}

impl RenderError {
    /// Whether the failure is the network's or a server's, not the input's.
    pub fn is_network(&self) -> bool {
        match self {
            RenderError::Fetch { error, .. } => error.is_network(),
            RenderError::Dependency { error, .. } => error.is_network(),
            RenderError::Many(all) => all.iter().all(RenderError::is_network),
            _ => false,
        }
    }
}

/// How to render a recipe.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where fetched charts are cached (content-addressed).
    pub cache_dir: PathBuf,
    /// Use only cached and local charts; never the network.
    pub offline: bool,
    /// OCI registries (`host[:port]`) reached over plain HTTP.
    pub insecure_registries: Vec<String>,
    /// Deadline of each chart request (connect, headers and the whole body).
    pub timeout: std::time::Duration,
    /// Retries after a transient network failure.
    pub retries: u32,
    /// Render every component even when one fails, and report all failures.
    pub keep_going: bool,
    /// Most components rendered at once (0: one per CPU).
    pub jobs: usize,
    /// Chart mirrors (`SOURCE`, `TARGET`) from the command line, local targets relative to the
    /// current directory; they take precedence over the recipe's `settings.chartMirrors`.
    pub chart_mirrors: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cache_dir: default_cache_dir(),
            offline: false,
            insecure_registries: Vec::new(),
            timeout: std::time::Duration::from_secs(30),
            retries: 4,
            keep_going: false,
            jobs: 0,
            chart_mirrors: Vec::new(),
        }
    }
}

/// The cache directory image resolution uses too (`$IMAGEBOM_CACHE`, else
/// `$XDG_CACHE_HOME/imagebom`, else `~/.cache/imagebom`), or `.imagebom-cache` without a home.
pub fn default_cache_dir() -> PathBuf {
    FetchOptions::default_cache_dir().unwrap_or_else(|| PathBuf::from(".imagebom-cache"))
}

/// The chart cache under `cache_dir` as the lookup native Kustomize builds use for
/// `helmCharts` entries with a `repo` that neither `chartHome` nor a mirror holds: the entry
/// recorded for exactly that request, else the highest cached version satisfying it (as for
/// an offline Helm component), its archive verified against its digest.
pub fn kustomize_chart_cache(cache_dir: &Path) -> imagebom_kustomize::ChartLookup {
    let cache = imagebom_charts::ChartCache::new(cache_dir);
    let limit = imagebom_helm::archive::ArchiveLimits::default().max_compressed;
    std::sync::Arc::new(move |repo: &str, chart: &str, version: &str| {
        let Some(entry) = cache.resolve(repo, chart, version) else {
            return Ok(None);
        };
        let path = cache.blob_path(&entry.digest);
        let bytes = cache
            .get_blob(&entry.digest, limit)
            .map_err(|e| format!("cached archive {}: {e}", path.display()))?
            .ok_or_else(|| format!("cached archive {} is missing", path.display()))?;
        Ok(Some(imagebom_kustomize::CachedChart {
            path,
            bytes,
            version: entry.version,
        }))
    })
}

/// Everything a recipe rendered into.
#[derive(Debug, Default)]
pub struct Output {
    /// The streams, in recipe order (each component's streams in the order of its files;
    /// a chart's stream first).
    pub streams: Vec<Stream>,
    /// The charts rendered, in recipe order.
    pub charts: Vec<RenderedChart>,
    /// With [`Options::keep_going`]: every chart or manifest file that failed, in recipe
    /// order.
    pub failures: Vec<RenderError>,
}

/// Renders every component of `recipe`. Without `keep_going` the first failing component
/// (in recipe order) is the error; with it, failures are collected in [`Output::failures`].
pub fn render_with(recipe: &Recipe, opts: &Options) -> Result<Output, RenderError> {
    let n = recipe.components.len();
    let jobs = match opts.jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        j => j,
    }
    .clamp(1, n.max(1));
    let results: Mutex<Vec<Option<Result<Rendered, RenderError>>>> =
        Mutex::new((0..n).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let r = render_component(recipe, i, opts);
                if r.is_err() && !opts.keep_going {
                    stop.store(true, Ordering::Relaxed);
                }
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    let mut out = Output::default();
    for r in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        match r {
            Some(Ok(r)) => {
                out.streams.extend(r.streams);
                out.charts.extend(r.chart);
                out.failures.extend(r.failures);
            }
            Some(Err(e)) if opts.keep_going => out.failures.push(e),
            Some(Err(e)) => return Err(e),
            // Not started because an earlier-finished component failed: that failure is
            // reported (components are taken in order, so a failed one precedes this).
            None => {}
        }
    }
    Ok(out)
}

struct Rendered {
    streams: Vec<Stream>,
    chart: Option<RenderedChart>,
    /// With [`Options::keep_going`]: the chart or manifest files that failed (the others
    /// are still rendered).
    failures: Vec<RenderError>,
}

fn render_component(recipe: &Recipe, i: usize, opts: &Options) -> Result<Rendered, RenderError> {
    let component = &recipe.components[i];
    let _span = tracing::info_span!("render", component = %component.name).entered();
    let mut failures = Vec::new();
    let mut failed = |e: RenderError| {
        if opts.keep_going {
            failures.push(e);
            Ok(())
        } else {
            Err(e)
        }
    };
    let (mut streams, mut chart) = (Vec::new(), None);
    if let Some(h) = &component.helm {
        match render_chart(recipe, component, h, opts) {
            Ok((s, c)) => {
                streams.push(s);
                chart = Some(c);
            }
            Err(e) => failed(e)?,
        }
    }
    let mut context = None;
    for f in &recipe.manifest_files[i] {
        match render_manifest(recipe, i, f, &mut context) {
            Ok(s) => streams.push(s),
            Err(e) => failed(e)?,
        }
    }
    match render_kustomization(recipe, i, opts) {
        Ok(s) => streams.extend(s),
        Err(e) => failed(e)?,
    }
    tracing::debug!(streams = streams.len(), "rendered");
    Ok(Rendered {
        streams,
        chart,
        failures,
    })
}

fn render_chart(
    recipe: &Recipe,
    component: &Component,
    h: &HelmSource,
    opts: &Options,
) -> Result<(Stream, RenderedChart), RenderError> {
    let name = &component.name;
    let chart_err = |source| RenderError::Chart {
        component: name.clone(),
        source: Box::new(source),
    };
    let request =
        mirror::request(recipe, h, &opts.chart_mirrors).map_err(|(target, message)| {
            RenderError::Mirror {
                component: name.clone(),
                target,
                message,
            }
        })?;
    let fetch_opts = FetchOptions {
        offline: opts.offline,
        insecure_registries: opts.insecure_registries.clone(),
        timeout: opts.timeout,
        retries: opts.retries,
        mirrors: mirror::mirrors(recipe, &opts.chart_mirrors),
        ..FetchOptions::new(&opts.cache_dir)
    };
    let fetched = fetch_chart(&request, &fetch_opts).map_err(|error| RenderError::Fetch {
        component: name.clone(),
        error: Box::new(error),
    })?;
    let loaded = imagebom_charts::load_chart(&fetched, &fetch_opts).map_err(|e| match e {
        ChartError::Helm(e) => chart_err(e),
        error => RenderError::Dependency {
            component: name.clone(),
            error: Box::new(error),
        },
    })?;
    let chart = &loaded.chart;
    if imagebom_recipe::is_exact_semver(&h.version)
        && h.version.trim_start_matches('v') != chart.metadata.version.trim_start_matches('v')
    {
        return Err(RenderError::VersionMismatch {
            recipe: recipe.path.display().to_string(),
            component: name.clone(),
            message: format!(
                "chart {:?} at {} is version {}, but the recipe pins {}",
                h.chart, fetched.source, chart.metadata.version, h.version
            ),
        });
    }
    let values = user_values(recipe, component, &h.values_files, h.values.as_ref())?;
    let ropts = imagebom_helm::RenderOptions {
        release_name: h.release_name.clone().unwrap_or_else(|| name.clone()),
        namespace: component
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
        values,
        kube_version: recipe
            .settings
            .kube_version
            .clone()
            .unwrap_or_else(|| imagebom_helm::DEFAULT_KUBE_VERSION.into()),
        api_versions: recipe.settings.api_versions.clone(),
        include_crds: h.include_crds,
        ..imagebom_helm::RenderOptions::default()
    };
    let rendered = imagebom_helm::render(chart, &ropts).map_err(chart_err)?;
    let declared = imagebom_helm::declared_images(chart, &ropts.values).map_err(chart_err)?;
    let source = canonical_source(h, &request, &fetched, &chart.metadata.version);
    let info =
        subcharts::rendered_info(&loaded, &fetched, source, &ropts.values).map_err(chart_err)?;
    let version = chart.metadata.version.clone();
    tracing::debug!(
        chart = %h.chart,
        %version,
        templates = rendered.manifests.len(),
        "chart rendered"
    );
    Ok((
        Stream {
            component: name.clone(),
            file: format!("{}@{}", h.chart, version),
            text: imagebom_helm::to_stream(&rendered),
            from_chart: true,
        },
        RenderedChart {
            component: name.clone(),
            chart: h.chart.clone(),
            version,
            digest: fetched.digest,
            source: fetched.source,
            declared,
            rendered: info,
        },
    ))
}

/// The chart's canonical source for the BOM: where it was fetched from, or, when a mirror
/// served it, the recipe's repository and chart (with `:version` for `oci://`); never
/// credentials.
fn canonical_source(
    h: &HelmSource,
    request: &imagebom_charts::ChartRequest,
    fetched: &imagebom_charts::Fetched,
    version: &str,
) -> String {
    if request.repository == h.repository {
        return imagebom_model::redact_url(&fetched.source);
    }
    imagebom_charts::mirror::canonical_location(&h.repository, &h.chart, version)
}

/// The manifest streams of component `i`, in file order: each file as it is, or rendered
/// when the component's manifests are templates and the file contains `{{` (the objects it
/// sees follow the recipe's [`Format`]). The stream of a rendered file is named after the
/// file; line numbers in it are those of the rendered text.
pub fn render_manifests(recipe: &Recipe, i: usize) -> Result<Vec<Stream>, RenderError> {
    let mut context = None;
    recipe.manifest_files[i]
        .iter()
        .map(|f| render_manifest(recipe, i, f, &mut context))
        .collect()
}

/// Component `i`'s kustomization, built natively: one stream per object, named after the
/// kustomization and the resource file it came from (relative to the recipe). Remote locations
/// (the component's own, remote bases, `helmCharts` repositories) come from the chart mirrors
/// with a local target (command line first, then `settings.chartMirrors`); `helmCharts` not
/// found there come from the chart cache (`opts.cache_dir`).
fn render_kustomization(
    recipe: &Recipe,
    i: usize,
    opts: &Options,
) -> Result<Vec<Stream>, RenderError> {
    let component = &recipe.components[i];
    let Some(k) = &component.kustomize else {
        return Ok(Vec::new());
    };
    let base = recipe.base_dir();
    let _span = tracing::info_span!("kustomize", component = %component.name).entered();
    let local = |t: &str| !t.contains("://");
    let mirrors = opts
        .chart_mirrors
        .iter()
        .filter(|(_, t)| local(t))
        .map(|(s, t)| (s.clone(), PathBuf::from(t)))
        .chain(
            recipe
                .settings
                .chart_mirrors
                .iter()
                .filter(|(_, t)| local(t))
                .map(|(s, t)| (s.clone(), base.join(t))),
        )
        .collect();
    let kopts = imagebom_kustomize::Options {
        mirrors,
        chart_cache: Some(kustomize_chart_cache(&opts.cache_dir)),
    };
    let dir = if imagebom_kustomize::remote::is_remote(&k.path) {
        match imagebom_kustomize::remote::resolve_in(&kopts, &k.path).filter(|d| d.is_dir()) {
            Some(d) => d,
            None => {
                return Err(RenderError::Kustomize {
                    component: component.name.clone(),
                    source: Box::new(imagebom_kustomize::KustomizeError::Invalid {
                        path: PathBuf::from(&k.path),
                        message: format!(
                            "{:?} is not in a local mirror and imagebom does not use the network: \
                             check it out and map it with --chart-mirror URL=DIR (or \
                             settings.chartMirrors)",
                            k.path
                        ),
                    }),
                })
            }
        }
    } else {
        base.join(&k.path)
    };
    let objects =
        imagebom_kustomize::build_with(&dir, &kopts).map_err(|e| RenderError::Kustomize {
            component: component.name.clone(),
            source: Box::new(e),
        })?;
    let root = base.canonicalize().unwrap_or(base);
    let rel = |p: &Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    Ok(objects
        .iter()
        .map(|o| Stream {
            component: component.name.clone(),
            file: format!("{} ({})", rel(&o.kustomization), rel(&o.source)),
            text: imagebom_kustomize::to_yaml(std::slice::from_ref(o)),
            from_chart: false,
        })
        .collect())
}

/// The template context of a component's manifests, built on first use.
type ManifestContext = Option<(imagebom_helm::Metadata, imagebom_helm::RenderOptions)>;

/// One manifest file of component `i`: read, and rendered when it is a template.
fn render_manifest(
    recipe: &Recipe,
    i: usize,
    f: &Path,
    context: &mut ManifestContext,
) -> Result<Stream, RenderError> {
    let component = &recipe.components[i];
    let file = f.display().to_string();
    let mut text = read_manifest(&component.name, f)?;
    if recipe.manifests_are(i) == ManifestsAre::Templates && text.contains("{{") {
        if context.is_none() {
            *context = Some(template_context(recipe, component)?);
        }
        let (meta, ropts) = context.as_ref().expect("set above");
        text = imagebom_helm::render_file(&file, &text, meta, ropts).map_err(|e| {
            RenderError::Template {
                component: component.name.clone(),
                path: file.clone(),
                source: Box::new(e),
            }
        })?;
    }
    Ok(Stream {
        component: component.name.clone(),
        file,
        text,
        from_chart: false,
    })
}

/// `.Chart` and the render options (`.Values`, `.Release`, `.Capabilities`) a component's
/// templated manifests see.
fn template_context(
    recipe: &Recipe,
    component: &Component,
) -> Result<(imagebom_helm::Metadata, imagebom_helm::RenderOptions), RenderError> {
    let values = match (&component.helm, &component.manifest_values) {
        (Some(h), _) => user_values(recipe, component, &h.values_files, h.values.as_ref())?,
        (None, Some(l)) => user_values(recipe, component, &l.files, l.inline.as_ref())?,
        (None, None) if recipe.format == Format::AicrRegistry => {
            let f = recipe
                .base_dir()
                .join(format!("components/{}/values.yaml", component.name));
            if f.is_file() {
                load_values_file(&component.name, &f)?
            } else {
                Dict::new()
            }
        }
        (None, None) => Dict::new(),
    };
    let version = component
        .helm
        .as_ref()
        .map(|h| h.version.trim_start_matches('v').to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "0.1.0".into());
    let chart_name = component
        .helm
        .as_ref()
        .map_or(component.name.clone(), |h| h.chart.clone());
    let (release_name, values) = match recipe.format {
        Format::AicrRegistry => {
            let wrapped = Dict::new();
            wrapped.insert(
                component.name.as_str(),
                imagebom_template::Value::Map(values),
            );
            (format!("{}-post", component.name), wrapped)
        }
        Format::Imagebom => (
            component
                .helm
                .as_ref()
                .and_then(|h| h.release_name.clone())
                .unwrap_or_else(|| component.name.clone()),
            values,
        ),
    };
    let meta = imagebom_helm::Metadata {
        name: chart_name,
        version,
        api_version: "v2".into(),
        ..imagebom_helm::Metadata::default()
    };
    let ropts = imagebom_helm::RenderOptions {
        release_name,
        namespace: component
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
        values,
        kube_version: recipe
            .settings
            .kube_version
            .clone()
            .unwrap_or_else(|| imagebom_helm::DEFAULT_KUBE_VERSION.into()),
        api_versions: recipe.settings.api_versions.clone(),
        ..imagebom_helm::RenderOptions::default()
    };
    Ok((meta, ropts))
}

/// The component's user values: its values files in order, then its inline values.
fn user_values(
    recipe: &Recipe,
    component: &Component,
    files: &[String],
    inline: Option<&imagebom_recipe::Values>,
) -> Result<Dict, RenderError> {
    let mut layers = Vec::new();
    for f in files {
        layers.push(load_values_file(
            &component.name,
            &recipe.base_dir().join(f),
        )?);
    }
    if let Some(inline) = inline {
        match imagebom_template::convert::from_yaml(inline.clone()) {
            imagebom_template::Value::Map(m) => layers.push(m),
            imagebom_template::Value::Nil => {}
            other => {
                return Err(RenderError::Values {
                    component: component.name.clone(),
                    path: recipe.path.display().to_string(),
                    message: format!("helm.values must be a map, not {}", other.type_name()),
                })
            }
        }
    }
    Ok(imagebom_helm::merge_values_files(&layers))
}

/// Reads a values file (size-limited; every YAML document merged, as Helm's `-f` does).
pub fn load_values_file(component: &str, path: &Path) -> Result<Dict, RenderError> {
    let display = path.display().to_string();
    let bytes = read_limited(component, "values file", path)?;
    imagebom_helm::load_values(&display, &bytes).map_err(|e| RenderError::ValuesFile {
        component: component.to_string(),
        path: display,
        source: Box::new(e),
    })
}

fn read_limited(component: &str, what: &'static str, path: &Path) -> Result<Vec<u8>, RenderError> {
    let display = path.display().to_string();
    imagebom_model::fsutil::read_limited(path, MAX_MANIFEST_BYTES)
        .map_err(|source| RenderError::Io {
            component: component.to_string(),
            what,
            path: display.clone(),
            source,
        })?
        .ok_or(RenderError::TooLarge {
            what,
            path: display,
        })
}

/// ` of component "NAME"`, or nothing outside a recipe (`imagebom images FILE`).
fn of_component(component: &str) -> String {
    if component.is_empty() {
        String::new()
    } else {
        format!(" of component {component:?}")
    }
}

/// Reads one manifest file with the size limit applied.
pub fn read_manifest(component: &str, path: &Path) -> Result<String, RenderError> {
    let bytes = read_limited(component, "manifest", path)?;
    String::from_utf8(bytes).map_err(|_| RenderError::NotText {
        path: path.display().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str =
        "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: r, version: '1'}\n";

    fn chart(dir: &Path, name: &str, version: &str, image: &str) {
        let c = dir.join(name);
        std::fs::create_dir_all(c.join("templates")).unwrap();
        std::fs::write(
            c.join("Chart.yaml"),
            format!("apiVersion: v2\nname: {name}\nversion: {version}\n"),
        )
        .unwrap();
        std::fs::write(
            c.join("values.yaml"),
            format!("image: {image}\nreplicas: 1\n"),
        )
        .unwrap();
        std::fs::write(
            c.join("templates/deploy.yaml"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\nspec:\n  replicas: {{ .Values.replicas }}\n  template:\n    spec:\n      containers:\n        - name: app\n          image: {{ .Values.image | quote }}\n",
        )
        .unwrap();
    }

    fn opts(dir: &Path) -> Options {
        Options {
            cache_dir: dir.join("cache"),
            offline: true,
            ..Options::default()
        }
    }

    #[test]
    fn renders_a_kustomization_component_natively() {
        let d = tempfile::tempdir().unwrap();
        let k = d.path().join("app");
        std::fs::create_dir(&k).unwrap();
        std::fs::write(
            k.join("kustomization.yaml"),
            "resources: [deploy.yaml]\nnamePrefix: p-\nimages:\n- name: nginx\n  newTag: \"1.27\"\n",
        )
        .unwrap();
        std::fs::write(
            k.join("deploy.yaml"),
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: web\n    image: nginx:1.25\n",
        )
        .unwrap();
        let recipe = d.path().join("r.yaml");
        let comp = "components:\n  - name: c\n    kustomize: {path: app}\n";
        std::fs::write(&recipe, format!("{HEAD}{comp}")).unwrap();
        let r = Recipe::load(&recipe).unwrap();
        let s = render_with(&r, &opts(d.path())).unwrap().streams;
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].file, "app/kustomization.yaml (app/deploy.yaml)");
        assert!(s[0].text.contains("image: nginx:1.27") && s[0].text.contains("name: p-web"));
        std::fs::write(k.join("kustomization.yaml"), "resources: [gone.yaml]\n").unwrap();
        let e = render_with(&r, &opts(d.path())).unwrap_err().to_string();
        assert!(
            e.contains("component \"c\": kustomize:") && e.contains("gone.yaml"),
            "{e}"
        );
    }

    #[test]
    fn renders_manifests_in_order() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("b.yaml"), "kind: B\n").unwrap();
        std::fs::write(d.path().join("a.yaml"), "kind: A\n").unwrap();
        let recipe = d.path().join("r.yaml");
        std::fs::write(
            &recipe,
            format!("{HEAD}components:\n  - name: c\n    manifests: ['*.yaml']\n"),
        )
        .unwrap();
        let r = Recipe::load(&recipe).unwrap();
        let s = render_with(&r, &opts(d.path())).unwrap().streams;
        // r.yaml itself matches the glob too; the order is by path.
        let kinds: Vec<&str> = s.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(&kinds[..2], ["kind: A\n", "kind: B\n"]);
    }

    #[test]
    fn renders_a_chart_with_recipe_values_release_and_namespace() {
        let d = tempfile::tempdir().unwrap();
        chart(d.path(), "app", "1.2.3", "busybox:1.36");
        std::fs::write(d.path().join("v.yaml"), "replicas: 3\n").unwrap();
        let recipe = d.path().join("r.yaml");
        std::fs::write(
            &recipe,
            format!("{HEAD}components:\n  - name: web\n    namespace: apps\n    helm:\n      repository: ./app\n      chart: app\n      version: 1.2.3\n      valuesFiles: [v.yaml]\n      values: {{image: 'busybox:1.37'}}\n"),
        )
        .unwrap();
        let r = Recipe::load(&recipe).unwrap();
        let out = render_with(&r, &opts(d.path())).unwrap();
        assert_eq!(out.streams.len(), 1);
        let text = &out.streams[0].text;
        assert!(
            text.contains("# Source: app/templates/deploy.yaml"),
            "{text}"
        );
        assert!(text.contains("name: web\n  namespace: apps"), "{text}");
        assert!(text.contains("replicas: 3"), "{text}");
        assert!(text.contains("image: \"busybox:1.37\""), "{text}");
        assert_eq!(out.streams[0].file, "app@1.2.3");
        assert_eq!(out.charts[0].version, "1.2.3");
    }

    #[test]
    fn pinned_version_must_match_the_chart() {
        let d = tempfile::tempdir().unwrap();
        chart(d.path(), "app", "1.2.4", "busybox:1.36");
        let recipe = d.path().join("r.yaml");
        std::fs::write(
            &recipe,
            format!("{HEAD}components:\n  - name: web\n    helm: {{repository: ./app, chart: app, version: 1.2.3}}\n"),
        )
        .unwrap();
        let r = Recipe::load(&recipe).unwrap();
        let e = render_with(&r, &opts(d.path())).unwrap_err().to_string();
        assert!(
            e.contains("is version 1.2.4, but the recipe pins 1.2.3"),
            "{e}"
        );
    }

    #[test]
    fn keep_going_reports_every_failure_and_keeps_the_rest() {
        let d = tempfile::tempdir().unwrap();
        chart(d.path(), "good", "1.0.0", "busybox:1.36");
        chart(d.path(), "bad", "1.0.0", "busybox:1.36");
        std::fs::write(
            d.path().join("bad/templates/fail.yaml"),
            "{{ fail \"broken on purpose\" }}\n",
        )
        .unwrap();
        let recipe = d.path().join("r.yaml");
        std::fs::write(
            &recipe,
            format!("{HEAD}components:\n  - name: a\n    helm: {{repository: ./bad, chart: bad, version: 1.0.0}}\n  - name: b\n    helm: {{repository: ./good, chart: good, version: 1.0.0}}\n  - name: c\n    helm: {{repository: ./missing, chart: missing, version: 1.0.0}}\n"),
        )
        .unwrap();
        let r = Recipe::load(&recipe).unwrap();
        let e = render_with(&r, &opts(d.path())).unwrap_err().to_string();
        assert!(e.contains("component \"a\""), "{e}");
        assert!(e.contains("broken on purpose"), "{e}");

        let o = Options {
            keep_going: true,
            ..opts(d.path())
        };
        let out = render_with(&r, &o).unwrap();
        assert_eq!(out.streams.len(), 1);
        assert_eq!(out.streams[0].component, "b");
        let failures: Vec<String> = out.failures.iter().map(|e| e.to_string()).collect();
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(failures[0].contains("component \"a\""), "{failures:?}");
        assert!(failures[1].contains("component \"c\""), "{failures:?}");
    }

    #[test]
    fn templated_manifests_see_the_component_values_release_and_chart() {
        let d = tempfile::tempdir().unwrap();
        chart(d.path(), "app", "1.2.3", "busybox:1.36");
        std::fs::write(
            d.path().join("t.yaml"),
            "kind: Pod\nmetadata: {name: {{ .Release.Name }}, namespace: {{ .Release.Namespace }}}\nspec:\n  containers:\n    - image: {{ .Values.image }}\n      name: {{ .Chart.Name }}-{{ .Chart.Version }}\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("bad.yaml"),
            "a: 1\nb: {{ .Values.x | nosuch }}\n",
        )
        .unwrap();
        let recipe = d.path().join("r.yaml");
        let comp = "helm: {repository: ./app, chart: app, version: v1.2.3, values: {image: 'busybox:1.37'}}";
        let write = |mode: &str, file: &str| {
            std::fs::write(
                &recipe,
                format!("{HEAD}components:\n  - name: web\n    namespace: apps\n    {comp}\n    manifests: [{file}]\n{mode}"),
            )
            .unwrap();
            Recipe::load(&recipe).unwrap()
        };
        // Plain by default: the file is read as it is.
        let r = write("", "t.yaml");
        let s = render_manifests(&r, 0).unwrap();
        assert!(s[0].text.contains("{{ .Release.Name }}"), "{}", s[0].text);
        let r = write("    manifestsAre: templates\n", "t.yaml");
        let s = render_manifests(&r, 0).unwrap();
        assert_eq!(
            s[0].text,
            "kind: Pod\nmetadata: {name: web, namespace: apps}\nspec:\n  containers:\n    - image: busybox:1.37\n      name: app-1.2.3\n"
        );
        assert!(s[0].file.ends_with("t.yaml"), "{}", s[0].file);
        let r = write("    manifestsAre: templates\n", "bad.yaml");
        let e = render_manifests(&r, 0).unwrap_err().to_string();
        assert!(e.contains("bad.yaml:2)") && e.contains("nosuch"), "{e}");
        std::fs::write(d.path().join("bad.yaml"), "a: 1\nb: {{ fail \"boom\" }}\n").unwrap();
        let e = render_manifests(&r, 0).unwrap_err().to_string();
        assert!(e.contains("bad.yaml:2:6): boom"), "{e}");
    }

    fn pod(component: &str, image: &str) -> (imagebom_model::ImageRef, imagebom_model::Occurrence) {
        let o = imagebom_model::Occurrence {
            component: component.into(),
            source: "app/templates/deploy.yaml".into(),
            kind: "Deployment".into(),
            name: "web".into(),
            path: "spec/template/spec/containers/0/image".into(),
            line: None,
            category: imagebom_model::Category::Pod,
            original: image.into(),
            reason: None,
        };
        (imagebom_model::ImageRef::parse(image).unwrap(), o)
    }

    #[test]
    fn declared_images_are_listed_and_skew_warns() {
        let d = tempfile::tempdir().unwrap();
        chart(d.path(), "app", "1.0.0", "busybox:1.37");
        std::fs::write(
            d.path().join("app/Chart.yaml"),
            "apiVersion: v2\nname: app\nversion: 1.0.0\nannotations:\n  helm.sh/images: |\n    - {name: app, image: 'busybox:1.36'}\n    - {name: side, image: 'quay.io/x/side:2', condition: side.enabled}\n    - {name: tool, image: 'quay.io/x/tool:3'}\n",
        )
        .unwrap();
        let recipe = d.path().join("r.yaml");
        std::fs::write(
            &recipe,
            format!("{HEAD}components:\n  - name: web\n    helm: {{repository: ./app, chart: app, version: 1.0.0, values: {{side: {{enabled: false}}}}}}\n"),
        )
        .unwrap();
        let r = Recipe::load(&recipe).unwrap();
        let out = render_with(&r, &opts(d.path())).unwrap();
        let declared = &out.charts[0].declared;
        let images: Vec<&str> = declared.images.iter().map(|i| i.image.as_str()).collect();
        assert_eq!(images, ["busybox:1.36", "quay.io/x/tool:3"]);

        let mut inv = imagebom_model::Inventory::default();
        let (r, o) = pod("web", "busybox:1.37");
        inv.add(r, o);
        add_declared_images(&out.charts, &mut inv);
        inv.canonicalize();
        assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
        let w = inv.warnings[0].to_string();
        assert_eq!(
            w,
            "app/Chart.yaml: Chart/app at annotations[helm.sh/images]/0/image: chart app declares busybox:1.36 in its helm.sh/images annotation, but renders busybox:1.37 (app/templates/deploy.yaml): the chart and its annotation disagree (\"busybox:1.36\")"
        );
        let tool = &inv.images["quay.io/x/tool:3"].occurrences[0];
        assert_eq!(tool.category, imagebom_model::Category::Declared);
        assert_eq!(
            tool.reason.as_deref(),
            Some("declared by chart app (helm.sh/images \"tool\"); not rendered with these values")
        );
        assert_eq!(inv.images.len(), 3);
    }

    #[test]
    fn another_charts_tag_of_a_shared_repository_is_not_skew() {
        let declared = imagebom_helm::Declared {
            images: vec![imagebom_helm::DeclaredImage {
                chart: "app/charts/db".into(),
                source: "app/charts/db/Chart.yaml".into(),
                annotation: "images".into(),
                index: 0,
                name: "os-shell".into(),
                image: "docker.io/bitnami/os-shell:12-r50".into(),
                condition: String::new(),
                dependency: String::new(),
                platforms: Vec::new(),
            }],
            problems: Vec::new(),
        };
        // The parent's template renders its own tag of the shared image.
        let mut inv = imagebom_model::Inventory::default();
        let (r, o) = pod("web", "docker.io/bitnami/os-shell:12-r51");
        inv.add(r, o);
        add_declared("web", &declared, &mut inv);
        assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
        // The subchart's own template rendering another tag is skew.
        let (r, mut o) = pod("web", "docker.io/bitnami/os-shell:12-r49");
        o.source = "app/charts/db/templates/sts.yaml".into();
        inv.add(r, o);
        add_declared("web", &declared, &mut inv);
        assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
        assert!(
            inv.warnings[0]
                .message
                .ends_with("renders docker.io/bitnami/os-shell:12-r49 (app/charts/db/templates/sts.yaml): the chart and its annotation disagree"),
            "{}",
            inv.warnings[0].message
        );
    }

    #[test]
    fn a_declared_note_names_condition_and_platforms() {
        let declared = imagebom_helm::Declared {
            images: vec![imagebom_helm::DeclaredImage {
                chart: "app".into(),
                source: "app/Chart.yaml".into(),
                annotation: "artifacthub.io/images".into(),
                index: 3,
                name: "agent".into(),
                image: "quay.io/x/agent:1".into(),
                condition: "agent.enabled".into(),
                dependency: String::new(),
                platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            }],
            problems: Vec::new(),
        };
        let mut inv = imagebom_model::Inventory::default();
        add_declared("web", &declared, &mut inv);
        let o = &inv.images["quay.io/x/agent:1"].occurrences[0];
        assert_eq!(o.path, "annotations[artifacthub.io/images]/3/image");
        assert_eq!(
            o.reason.as_deref(),
            Some("declared by chart app (artifacthub.io/images \"agent\", condition agent.enabled, platforms linux/amd64 linux/arm64); not rendered with these values")
        );
    }

    #[test]
    fn keep_going_reports_each_bad_manifest_and_keeps_the_others() {
        let d = tempfile::tempdir().unwrap();
        chart(d.path(), "app", "1.0.0", "busybox:1.36");
        std::fs::write(d.path().join("bad1.yaml"), [0xff, 0xfe]).unwrap();
        std::fs::write(d.path().join("bad2.yaml"), [0xff, 0xfe]).unwrap();
        std::fs::write(d.path().join("good.yaml"), "kind: A\n").unwrap();
        let recipe = d.path().join("r.yaml");
        std::fs::write(
            &recipe,
            format!("{HEAD}components:\n  - name: a\n    helm: {{repository: ./app, chart: app, version: 1.0.0}}\n    manifests: [bad1.yaml, good.yaml]\n  - name: b\n    manifests: [bad2.yaml]\n"),
        )
        .unwrap();
        let r = Recipe::load(&recipe).unwrap();
        let o = Options {
            keep_going: true,
            ..opts(d.path())
        };
        let out = render_with(&r, &o).unwrap();
        let streams: Vec<(&str, bool)> = out
            .streams
            .iter()
            .map(|s| (s.file.as_str(), s.from_chart))
            .collect();
        assert_eq!(streams.len(), 2, "{streams:?}");
        assert_eq!(streams[0], ("app@1.0.0", true));
        assert!(streams[1].0.ends_with("good.yaml") && !streams[1].1);
        let failures: Vec<String> = out.failures.iter().map(|e| e.to_string()).collect();
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(failures[0].contains("bad1.yaml"), "{failures:?}");
        assert!(failures[1].contains("bad2.yaml"), "{failures:?}");
    }

    #[test]
    fn unreadable_manifest_names_its_component_only_when_it_has_one() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("missing.yaml");
        let e = read_manifest("", &p).unwrap_err().to_string();
        assert!(e.contains("missing.yaml: cannot read manifest: "), "{e}");
        let e = read_manifest("web", &p).unwrap_err().to_string();
        assert!(
            e.contains("cannot read manifest of component \"web\": "),
            "{e}"
        );
    }

    #[test]
    fn a_bad_values_file_keeps_the_helm_error() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("v.yaml");
        std::fs::write(&p, "a: [1\n").unwrap();
        let e = load_values_file("web", &p).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with(&format!(
                "{}: component \"web\": invalid values: ",
                p.display()
            )),
            "{text}"
        );
        let source = std::error::Error::source(&e).expect("typed source");
        assert!(
            source.downcast_ref::<Box<HelmError>>().is_some(),
            "{source:?}"
        );
        assert!(text.ends_with(&source.to_string()), "{text}");
    }

    #[test]
    fn file_dependencies_are_loaded_and_enabled_subcharts_recorded() {
        let d = tempfile::tempdir().unwrap();
        chart(d.path(), "app", "1.0.0", "busybox:1.36");
        chart(d.path(), "db", "2.1.0", "postgres:16");
        chart(d.path(), "cache", "3.0.0", "redis:7");
        std::fs::write(
            d.path().join("app/Chart.yaml"),
            "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - {name: db, version: '^2', repository: 'file://../db'}\n  - {name: cache, version: '3.0.0', repository: 'file://../cache', condition: cache.enabled}\n",
        )
        .unwrap();
        let recipe = d.path().join("r.yaml");
        let write = |enabled: bool| {
            std::fs::write(
                &recipe,
                format!("{HEAD}components:\n  - name: web\n    helm: {{repository: ./app, chart: app, version: 1.0.0, values: {{cache: {{enabled: {enabled}}}}}}}\n"),
            )
            .unwrap();
            render_with(&Recipe::load(&recipe).unwrap(), &opts(d.path())).unwrap()
        };
        let out = write(true);
        let text = &out.streams[0].text;
        assert!(
            text.contains("# Source: app/charts/db/templates/deploy.yaml"),
            "{text}"
        );
        assert!(
            text.contains("postgres:16") && text.contains("redis:7"),
            "{text}"
        );
        let r = &out.charts[0].rendered;
        assert_eq!(
            (r.name.as_str(), r.version.as_str(), r.source.as_str()),
            ("app", "1.0.0", "./app")
        );
        let subs: Vec<(&str, &str, &str)> = r
            .subcharts
            .iter()
            .map(|s| (s.name.as_str(), s.version.as_str(), s.source.as_str()))
            .collect();
        assert_eq!(
            subs,
            [
                ("db", "2.1.0", "file://../db"),
                ("cache", "3.0.0", "file://../cache")
            ]
        );
        // A disabled subchart is not rendered, so not recorded.
        let out = write(false);
        assert!(!out.streams[0].text.contains("redis:7"));
        let names: Vec<&str> = out.charts[0]
            .rendered
            .subcharts
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["db"]);
    }

    #[test]
    fn a_file_dependency_outside_its_constraint_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        chart(d.path(), "app", "1.0.0", "busybox:1.36");
        chart(d.path(), "db", "2.1.0", "postgres:16");
        std::fs::write(
            d.path().join("app/Chart.yaml"),
            "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - {name: db, version: '^3', repository: 'file://../db'}\n",
        )
        .unwrap();
        let recipe = d.path().join("r.yaml");
        std::fs::write(
            &recipe,
            format!("{HEAD}components:\n  - name: web\n    helm: {{repository: ./app, chart: app, version: 1.0.0}}\n"),
        )
        .unwrap();
        let e = render_with(&Recipe::load(&recipe).unwrap(), &opts(d.path()))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("component \"web\": chart app: dependency \"db\": ")
                && e.contains("is version 2.1.0, which does not satisfy the constraint ^3"),
            "{e}"
        );
    }

    #[test]
    fn non_utf8_manifest_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.yaml");
        std::fs::write(&p, [0xff, 0xfe, 0x00]).unwrap();
        let e = read_manifest("c", &p).unwrap_err().to_string();
        assert!(e.contains("not UTF-8"), "{e}");
    }
}
