//! Errors of chart loading, values processing and rendering.

/// Everything that can go wrong between a chart directory and its rendered manifests. Each
/// message names the chart, file, template, line or limit concerned.
#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    /// Reading a file or directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The path read.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A loading limit was exceeded.
    #[error("chart {chart}: {what} exceeds the limit of {limit} ({name})")]
    Limit {
        /// The chart (directory or name).
        chart: String,
        /// What was counted.
        what: String,
        /// The limit's value.
        limit: u64,
        /// The limit's name in [`crate::LoadLimits`].
        name: &'static str,
    },
    /// The chart's files are not a valid chart (missing/invalid Chart.yaml, bad values.yaml…).
    #[error("chart {chart}: {message}")]
    InvalidChart {
        /// The chart (directory or name).
        chart: String,
        /// What is wrong.
        message: String,
    },
    /// A subchart archive could not be read.
    #[error("error unpacking subchart {subchart} in {chart}: {source}")]
    Archive {
        /// The parent chart.
        chart: String,
        /// The archive's name under `charts/`.
        subchart: String,
        /// The archive error.
        source: Box<crate::archive::ArchiveError>,
    },
    /// A `--set` expression does not parse.
    #[error("failed parsing --set data {expr:?}: {message}")]
    Set {
        /// The expression.
        expr: String,
        /// What is wrong.
        message: String,
    },
    /// Values could not be combined (type mismatch on a subchart's table…).
    #[error("{0}")]
    Values(String),
    /// The coalesced values violate a chart's `values.schema.json`.
    #[error(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{0}"
    )]
    Schema(String),
    /// The chart's `kubeVersion` constraint excludes the target Kubernetes version.
    #[error("chart requires kubeVersion: {constraint} which is incompatible with Kubernetes {kube_version}")]
    KubeVersion {
        /// The chart's constraint.
        constraint: String,
        /// The target Kubernetes version.
        kube_version: String,
    },
    /// Dependencies declared in Chart.yaml (or requirements.yaml) are absent from `charts/`
    /// (Helm's `CheckDependencies`, worded as `helm template` prints it).
    #[error(
        "chart {chart}: an error occurred while checking for chart dependencies. You may need to \
         run 'helm dependency build' to fetch missing dependencies: found in Chart.yaml, but \
         missing in charts/ directory: {}",
        missing.join(", ")
    )]
    MissingDependencies {
        /// The chart declaring them.
        chart: String,
        /// The missing dependencies' names, in declaration order.
        missing: Vec<String>,
    },
    /// The chart is a library chart, which cannot be installed or rendered on its own.
    #[error("chart {0}: library charts are not installable")]
    LibraryChart(String),
    /// A template does not parse (`parse error at (TEMPLATE:LINE): MESSAGE`).
    #[error("parse error at ({location}): {message}")]
    Parse {
        /// `TEMPLATE:LINE[:COL]`.
        location: String,
        /// The parser's message.
        message: String,
    },
    /// Executing a template failed. The text reads like Helm v4's (see [`HelmError::Render`]'s
    /// Display): `execution error at (TEMPLATE:LINE:COL): MESSAGE` for `fail`/`required`,
    /// else `TEMPLATE:LINE:COL\n  executing "NAME" at <NODE>:\n    MESSAGE`.
    #[error("{text}")]
    Render {
        /// The template being rendered.
        template: String,
        /// The full message.
        text: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, HelmError>;
