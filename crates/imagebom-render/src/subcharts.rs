//! What a chart rendered, for the BOM: the chart and the subcharts its values enable, each
//! with its version, archive digest and source.

use imagebom_charts::{ChartContent, Fetched, LoadedChart};
use imagebom_helm::Chart;
use imagebom_model::RenderedChartInfo;
use imagebom_template::Dict;

/// The [`RenderedChartInfo`] of `loaded` rendered with the user values `values`: its
/// subcharts are those dependency processing keeps (conditions, tags), nested as they nest.
pub(crate) fn rendered_info(
    loaded: &LoadedChart,
    fetched: &Fetched,
    source: String,
    values: &Dict,
) -> imagebom_helm::Result<RenderedChartInfo> {
    let mut processed = loaded.chart.deep_clone();
    imagebom_helm::process_dependencies(&mut processed, &values.deep_copy())?;
    let files = Archives::of(fetched);
    let subcharts = processed
        .dependencies
        .iter()
        .map(|sub| {
            let name = original_name(&loaded.chart, sub);
            let version = &sub.metadata.version;
            match loaded
                .fetched
                .iter()
                .find(|f| f.name == name && f.version == *version)
            {
                Some(f) => info(sub, &name, f.digest.clone(), f.source.clone()),
                None => {
                    let file = format!("charts/{name}-{version}.tgz");
                    let digest = files.digest(&file);
                    let file = if digest.is_some() {
                        file
                    } else {
                        format!("charts/{name}")
                    };
                    info(sub, &name, digest, format!("{source}/{file}"))
                }
            }
        })
        .collect();
    Ok(RenderedChartInfo {
        name: loaded.chart.metadata.name.clone(),
        version: loaded.chart.metadata.version.clone(),
        digest: fetched.digest.clone(),
        source,
        subcharts,
    })
}

/// A processed subchart's info; its own subcharts (already processed) nest, without digests
/// (they are inside the subchart's archive).
fn info(sub: &Chart, name: &str, digest: Option<String>, source: String) -> RenderedChartInfo {
    let subcharts = sub
        .dependencies
        .iter()
        .map(|c| {
            let n = original_name(sub, c);
            info(c, &n, None, format!("{source}/charts/{n}"))
        })
        .collect();
    RenderedChartInfo {
        name: name.to_string(),
        version: sub.metadata.version.clone(),
        digest,
        source,
        subcharts,
    }
}

/// The chart name of `sub`, a subchart of `parent` that dependency processing may have
/// renamed to its alias.
fn original_name(parent: &Chart, sub: &Chart) -> String {
    parent
        .metadata
        .dependencies
        .iter()
        .find(|d| !d.alias.is_empty() && d.alias == sub.name())
        .map_or_else(|| sub.name().to_string(), |d| d.name.clone())
}

/// The archives a chart ships under `charts/`, for their digests.
enum Archives<'a> {
    Files(&'a imagebom_helm::ChartFiles),
    Directory(&'a std::path::Path),
}

impl<'a> Archives<'a> {
    fn of(fetched: &'a Fetched) -> Archives<'a> {
        match &fetched.content {
            ChartContent::Files(f) => Archives::Files(f),
            ChartContent::Directory(d) => Archives::Directory(d),
        }
    }

    /// `sha256:<hex>` of the file at `path` (relative to the chart), if it is there.
    fn digest(&self, path: &str) -> Option<String> {
        let bytes = match self {
            Archives::Files(f) => f.get(path).cloned()?,
            Archives::Directory(d) => {
                imagebom_model::fsutil::read_limited(&d.join(path), crate::MAX_MANIFEST_BYTES)
                    .ok()??
            }
        };
        Some(imagebom_model::Digest::sha256_of(&bytes).to_string())
    }
}
