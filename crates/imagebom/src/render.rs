//! `imagebom render`: render one chart natively and print the `helm template` stream, or
//! build one kustomization natively and print the `kubectl kustomize` stream; also the chart
//! and kustomization sources of `imagebom images --chart` / `--kustomize`.

use crate::cli::{ChartArgs, RenderArgs, RenderCmdArgs};
use crate::failure::{Failure, WithCode, EXIT_INPUT, EXIT_OK};
use anyhow::Context;
use imagebom_charts::{fetch_chart, load_chart, ChartRequest, FetchOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Runs `render`.
pub fn run(args: &RenderCmdArgs) -> Result<u8, Failure> {
    let stream = match (&args.kustomize, &args.chart) {
        (Some(dir), _) => {
            imagebom_kustomize::to_yaml(&build_kustomization(dir, &args.chart_args.render)?)
        }
        (None, Some(chart)) => render_chart(chart, &args.chart_args)?,
        (None, None) => {
            return Err(anyhow::anyhow!("a chart or --kustomize DIR is required")).code(EXIT_INPUT)
        }
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(stream.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(EXIT_OK),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(EXIT_OK),
        Err(e) => Err(e).context("cannot write to stdout").code(EXIT_INPUT),
    }
}

/// Builds the kustomization in `dir` natively, remote bases and `helmCharts` repositories
/// through the `--chart-mirror`s with a local target, `helmCharts` then from the chart cache
/// (`--chart-cache`).
pub fn build_kustomization(
    dir: &Path,
    args: &RenderArgs,
) -> Result<Vec<imagebom_kustomize::Object>, Failure> {
    let _span = tracing::info_span!("kustomize", dir = %dir.display()).entered();
    let mirrors = args
        .chart_mirror
        .iter()
        .filter(|(_, target)| !target.contains("://"))
        .map(|(source, target)| (source.clone(), PathBuf::from(target)))
        .collect();
    let cache = args
        .chart_cache
        .clone()
        .unwrap_or_else(imagebom_render::default_cache_dir);
    let opts = imagebom_kustomize::Options {
        mirrors,
        chart_cache: Some(imagebom_render::kustomize_chart_cache(&cache)),
    };
    imagebom_kustomize::build_with(dir, &opts).code(EXIT_INPUT)
}

/// Fetches and renders `chart` with `args`; returns the `helm template` stream.
pub fn render_chart(chart: &str, args: &ChartArgs) -> Result<String, Failure> {
    Ok(render_chart_with(chart, args, false)?.0)
}

/// [`render_chart`], plus (with `declared`) the images the chart declares with those values.
pub fn render_chart_with(
    chart: &str,
    args: &ChartArgs,
    declared: bool,
) -> Result<(String, imagebom_helm::Declared), Failure> {
    let _span = tracing::info_span!("render", chart).entered();
    let (repository, name) = match &args.repo {
        Some(repo) => (repo.clone(), chart.to_string()),
        None => {
            let name = chart
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(chart)
                .trim_end_matches(".tgz")
                .to_string();
            (chart.to_string(), name)
        }
    };
    let request = ChartRequest {
        repository,
        chart: name,
        version: args.version.clone(),
        base_dir: PathBuf::from("."),
    };
    let opts = FetchOptions {
        offline: args.render.offline,
        insecure_registries: args.insecure_registry.clone(),
        timeout: std::time::Duration::from_secs(args.render.timeout),
        retries: args.render.retries,
        mirrors: args
            .render
            .chart_mirror
            .iter()
            .map(|(source, target)| imagebom_charts::ChartMirror {
                source: source.clone(),
                target: target.clone(),
                base_dir: PathBuf::from("."),
            })
            .collect(),
        ..FetchOptions::new(
            args.render
                .chart_cache
                .clone()
                .unwrap_or_else(imagebom_render::default_cache_dir),
        )
    };
    // The chart itself goes through the mirrors too (its dependencies do in `load_chart`).
    let request = imagebom_charts::mirror::mirrored(&opts.mirrors, &request)
        .map_err(|e| Failure {
            code: EXIT_INPUT,
            error: e.into(),
        })?
        .unwrap_or(request);
    let fetched =
        fetch_chart(&request, &opts).map_err(|e| Failure::network_or_input(e.is_network(), e))?;
    let chart = load_chart(&fetched, &opts)
        .map_err(|e| Failure::network_or_input(e.is_network(), e))?
        .chart;

    let mut layers = Vec::new();
    for f in &args.values {
        layers.push(imagebom_render::load_values_file("", f).code(EXIT_INPUT)?);
    }
    let values = imagebom_helm::merge_values_files(&layers);
    for s in &args.set {
        imagebom_helm::parse_set(s, &values)
            .with_context(|| format!("--set {s:?}"))
            .code(EXIT_INPUT)?;
    }
    let opts = imagebom_helm::RenderOptions {
        release_name: args.release.clone(),
        namespace: args.namespace.clone(),
        values,
        kube_version: args
            .kube_version
            .clone()
            .unwrap_or_else(|| imagebom_helm::DEFAULT_KUBE_VERSION.into()),
        api_versions: args.api_versions.clone(),
        include_crds: args.include_crds,
        ..imagebom_helm::RenderOptions::default()
    };
    let rendered = imagebom_helm::render(&chart, &opts).code(EXIT_INPUT)?;
    let declared = if declared {
        imagebom_helm::declared_images(&chart, &opts.values).code(EXIT_INPUT)?
    } else {
        imagebom_helm::Declared::default()
    };
    Ok((imagebom_helm::to_stream(&rendered), declared))
}
