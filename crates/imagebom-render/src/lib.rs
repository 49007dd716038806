//! Rendering: turn each recipe component into the manifest streams it deploys.
//!
//! In-tree manifests are read as they are (each file is one stream). Helm charts are
//! rendered natively with `helm template` semantics; until that engine lands, a component
//! with a `helm` source is reported as [`RenderError::ChartRenderingUnavailable`] rather
//! than silently skipped, so a BOM never misses a chart's images without saying so.

use imagebom_recipe::Recipe;
use std::path::Path;

/// Largest manifest file read, in bytes.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// A rendered manifest stream of one component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    /// Recipe component name.
    pub component: String,
    /// Where the stream came from: the manifest file (as the recipe path locates it) or the
    /// chart (`repository/chart@version`).
    pub file: String,
    /// The YAML stream.
    pub text: String,
}

/// Why a component could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A manifest could not be read.
    #[error("{path}: cannot read manifest of component {component:?}: {source}")]
    Io {
        component: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A manifest is larger than [`MAX_MANIFEST_BYTES`].
    #[error("{path}: manifest is larger than the {MAX_MANIFEST_BYTES}-byte limit")]
    TooLarge { path: String },
    /// A manifest is not UTF-8 text.
    #[error("{path}: manifest is not UTF-8 text")]
    NotText { path: String },
    /// The component has a Helm chart and this build cannot render charts yet.
    #[error("{recipe}: component {component:?}: chart {chart:?} cannot be rendered: native Helm rendering is not available in this build yet")]
    ChartRenderingUnavailable {
        recipe: String,
        component: String,
        chart: String,
    },
}

/// Renders every component of `recipe`, in recipe order; each component's streams are in
/// the (sorted) order of its manifest files.
pub fn render(recipe: &Recipe) -> Result<Vec<Stream>, RenderError> {
    let mut out = Vec::new();
    for (component, files) in recipe.components.iter().zip(&recipe.manifest_files) {
        let _span = tracing::info_span!("render", component = %component.name).entered();
        if let Some(h) = &component.helm {
            return Err(RenderError::ChartRenderingUnavailable {
                recipe: recipe.path.display().to_string(),
                component: component.name.clone(),
                chart: format!("{}/{}@{}", h.repository, h.chart, h.version),
            });
        }
        for f in files {
            out.push(Stream {
                component: component.name.clone(),
                file: f.display().to_string(),
                text: read_manifest(&component.name, f)?,
            });
        }
        tracing::debug!(files = files.len(), "read manifests");
    }
    Ok(out)
}

/// Reads one manifest file with the size limit applied.
pub fn read_manifest(component: &str, path: &Path) -> Result<String, RenderError> {
    let display = path.display().to_string();
    let io = |source| RenderError::Io {
        component: component.to_string(),
        path: display.clone(),
        source,
    };
    let bytes = imagebom_model::fsutil::read_limited(path, MAX_MANIFEST_BYTES)
        .map_err(io)?
        .ok_or_else(|| RenderError::TooLarge {
            path: display.clone(),
        })?;
    String::from_utf8(bytes).map_err(|_| RenderError::NotText { path: display })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_manifests_in_order_and_rejects_charts() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("b.yaml"), "kind: B\n").unwrap();
        std::fs::write(d.path().join("a.yaml"), "kind: A\n").unwrap();
        let recipe = d.path().join("r.yaml");
        let head =
            "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: r, version: '1'}\n";
        std::fs::write(
            &recipe,
            format!("{head}components:\n  - name: c\n    manifests: ['*.yaml']\n"),
        )
        .unwrap();
        let r = Recipe::load(&recipe).unwrap();
        let s = render(&r).unwrap();
        // r.yaml itself matches the glob too; the order is by path.
        let kinds: Vec<&str> = s.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(&kinds[..2], ["kind: A\n", "kind: B\n"]);

        std::fs::write(
            &recipe,
            format!("{head}components:\n  - name: c\n    helm: {{repository: ./x, chart: x, version: 1.0.0}}\n"),
        )
        .unwrap();
        let r = Recipe::load(&recipe).unwrap();
        let e = render(&r).unwrap_err().to_string();
        assert!(e.contains("component \"c\""), "{e}");
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
