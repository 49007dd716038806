//! Helm charts: loading, values and dependencies, rendered natively with `helm template`
//! semantics (Helm v4 SDK) on the `imagebom-template` engine.
//!
//! ```no_run
//! use imagebom_helm::{Chart, RenderOptions, render, to_stream};
//! let chart = Chart::load_dir("charts/redis")?;
//! let out = render(&chart, &RenderOptions::default())?;
//! print!("{}", to_stream(&out));
//! # Ok::<(), imagebom_helm::HelmError>(())
//! ```
//!
//! - [`Chart::load_dir`] / [`Chart::from_files`] load a chart ([`ChartFiles`] is what every
//!   source — directory, [`archive`], the `imagebom-charts` crate — produces).
//! - [`RenderOptions::values`] holds the user values: merge values files with
//!   [`merge_values_files`] and apply `--set` expressions with [`parse_set`].
//! - [`render`] processes dependencies (conditions, tags, aliases, import-values), coalesces
//!   values, validates `values.schema.json`, checks `kubeVersion` and executes the templates;
//!   [`to_stream`] writes the `helm template` stream.

pub mod archive;
mod chart;
mod compat;
mod declared;
mod deps;
mod error;
mod ignore;
mod render;
mod schema;
mod strvals;
mod values;

pub use archive::ChartFiles;
pub use chart::{load_values, Chart, ChartFile, Dependency, LoadLimits, Maintainer, Metadata};
pub use declared::{
    annotation_path, declared_images, Declared, DeclaredImage, DeclaredProblem, IMAGE_ANNOTATIONS,
};
pub use deps::{check_dependencies, process_dependencies};
pub use error::{HelmError, Result};
pub use render::{
    render, render_file, to_stream, RenderOptions, Rendered, DEFAULT_API_VERSIONS,
    DEFAULT_KUBE_VERSION,
};
pub use strvals::parse_set;
pub use values::{coalesce_tables, coalesce_values, merge_tables, merge_values};

use imagebom_template::Dict;

/// Merges user values files in order (later files win, maps merged recursively), as
/// `helm -f a.yaml -f b.yaml` does. The inputs are not modified.
pub fn merge_values_files(files: &[Dict]) -> Dict {
    let out = Dict::new();
    for f in files {
        chart::merge_maps(&out, &f.deep_copy());
    }
    out
}

/// Validates values against a `values.schema.json` document; the error lists the failing
/// paths (`- at '/path': message`).
pub fn validate_values(values: &Dict, schema: &[u8]) -> std::result::Result<(), String> {
    schema::validate_single(values, schema)
}

/// Charts, options and results cross threads (components render in parallel).
#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Chart>();
    is::<RenderOptions>();
    is::<Rendered>();
    is::<HelmError>();
}
