//! Chart sources: where charts come from — a local chart directory or `.tgz`, an HTTP(S)
//! chart repository (`index.yaml`), or an OCI registry (`oci://`) — with a content-addressed
//! on-disk cache and an offline mode. The charts are read by `imagebom-helm`.
//!
//! - **Local**: `repository` is a path relative to [`ChartRequest::base_dir`] (a `file://`
//!   prefix is accepted): a chart directory (returned as a path, for the chart loader to read
//!   with `.helmignore`), a directory holding `<chart>/Chart.yaml`, or a `.tgz` archive.
//! - **HTTP repository**: `<repository>/index.yaml` is read (size-limited), the entry for
//!   `chart` whose version equals the requested one — else the highest that satisfies it as a
//!   constraint — is chosen, its archive downloaded from the first URL that answers (relative
//!   URLs are resolved against the repository) and its sha256 checked against the entry's
//!   `digest`: a mismatch is an error naming both digests, and nothing is cached. Credentials
//!   come from the URL, Helm's `repositories.yaml` or the Docker config (see `creds`).
//! - **OCI**: `oci://host/path` + `chart` + `version` is the reference
//!   `host/path/chart:version` (`+` in a version becomes `_`, as Helm tags it; a constraint
//!   is matched against the tags that are versions; `1.2.3@sha256:…` pins the manifest and
//!   is verified against it). The manifest's
//!   config must be a Helm chart config, its one chart layer is downloaded and its digest
//!   checked. Credentials come from the Docker config like image resolution does
//!   ([`imagebom_registry::creds`]); anonymous with the bearer-token flow
//!   otherwise; plain HTTP only for registries named in
//!   [`FetchOptions::insecure_registries`].
//!
//! - **Dependencies**: [`load_chart`] loads a fetched chart and fetches the dependencies its
//!   `charts/` lacks, as `helm dependency build` does (see `deps`), through the chart
//!   mirrors of [`FetchOptions::mirrors`] (see [`mirror`]).
//!
//! Online, the repository is always asked which archive a version is (so a republished chart
//! is noticed); the download is skipped when the cache already holds that digest. Offline,
//! only the cache answers. Every archive read from the cache is verified against its digest
//! again. Every request has one deadline covering its whole body ([`FetchOptions::timeout`]);
//! transient network failures (timeouts, resets, 408, 429, 5xx) are retried
//! [`FetchOptions::retries`] times, under the registry client's one retry policy
//! ([`imagebom_registry::RetryPolicy`]: backoff with jitter, `Retry-After`).

mod cache;
mod creds;
mod deps;
mod http;
mod local;
pub mod mirror;
mod oci;
mod version;

use imagebom_helm::archive::{self, ArchiveError, ArchiveLimits, ChartFiles};
use std::path::PathBuf;
use std::time::Duration;

pub use cache::{CacheEntry, ChartCache};
pub use deps::{load_chart, ChartError, FetchedDependency, LoadedChart};
pub use mirror::{ChartMirror, MirrorError};

/// One chart to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartRequest {
    /// A local path (relative to `base_dir`), an `http(s)://` chart repository or `oci://host/path`.
    pub repository: String,
    /// The chart's name.
    pub chart: String,
    /// An exact version or a constraint (`^1.2`, `>=1.0.0 <2.0.0`); empty means the highest
    /// stable version.
    pub version: String,
    /// Directory local repository paths are relative to (the recipe's directory).
    pub base_dir: PathBuf,
}

/// How to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// Cache directory; archives go to `<cache_dir>/charts/sha256/<hex>.tgz`.
    pub cache_dir: PathBuf,
    /// Use only the cache (and local charts); never the network.
    pub offline: bool,
    /// OCI registries (`host[:port]`) reached over plain HTTP.
    pub insecure_registries: Vec<String>,
    /// Limits for every archive read.
    pub limits: ArchiveLimits,
    /// Largest `index.yaml` of an HTTP repository.
    pub max_index_size: u64,
    /// Deadline of each request: connect, headers and the whole body.
    pub timeout: Duration,
    /// Retries after a transient network failure.
    pub retries: u32,
    /// First delay before a retry; doubles each time (with jitter, at most 10 s).
    pub backoff: Duration,
    /// Chart mirrors applied to the dependencies [`load_chart`] fetches (see [`mirror`]);
    /// [`fetch_chart`] itself fetches what it is asked.
    pub mirrors: Vec<ChartMirror>,
}

impl FetchOptions {
    /// Online options with default limits (64 MiB index, 30 s timeout, 4 retries, as the CLI's
    /// `--retries`) caching in
    /// `cache_dir`.
    pub fn new(cache_dir: impl Into<PathBuf>) -> FetchOptions {
        FetchOptions {
            cache_dir: cache_dir.into(),
            offline: false,
            insecure_registries: Vec::new(),
            limits: ArchiveLimits::default(),
            max_index_size: 64 << 20,
            timeout: Duration::from_secs(30),
            retries: 4,
            backoff: Duration::from_millis(200),
            mirrors: Vec::new(),
        }
    }
}

impl FetchOptions {
    /// The default cache directory, shared with image resolution: `$IMAGEBOM_CACHE`, else
    /// `$XDG_CACHE_HOME/imagebom`, else `~/.cache/imagebom`.
    pub fn default_cache_dir() -> Option<PathBuf> {
        imagebom_resolve::cache::Cache::default_dir()
    }
}

/// The content of a fetched chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartContent {
    /// Files read from an archive (top-level directory stripped).
    Files(ChartFiles),
    /// A local chart directory, for the chart loader to read (it applies `.helmignore`).
    Directory(PathBuf),
}

/// A fetched chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The chart's files or directory.
    pub content: ChartContent,
    /// The version chosen (for a local chart: the `version` of its `Chart.yaml`).
    pub version: String,
    /// `sha256:<hex>` of the archive (`None` for a local directory).
    pub digest: Option<String>,
    /// Where it came from: archive URL, `oci://…` reference or local path.
    pub source: String,
    /// For an OCI chart: `sha256:<hex>` of its manifest (what `helm push` prints and
    /// `oci://…@sha256:…` pins).
    pub manifest_digest: Option<String>,
}

/// Why a chart could not be fetched. Names the repository, chart and version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chart {chart:?} version {version:?} from {repository}: {kind}")]
pub struct FetchError {
    /// The repository as requested (credentials in URLs removed).
    pub repository: String,
    /// The chart name.
    pub chart: String,
    /// The version as requested.
    pub version: String,
    /// What went wrong (boxed: errors stay small).
    pub kind: Box<FetchErrorKind>,
}

impl FetchError {
    /// Whether the failure is the network's or the server's (not the request's or the data's);
    /// a registry naming a plain-HTTP token realm is the server's.
    pub fn is_network(&self) -> bool {
        matches!(
            *self.kind,
            FetchErrorKind::Network { .. }
                | FetchErrorKind::Http { .. }
                | FetchErrorKind::Insecure { .. }
        )
    }
}

/// What went wrong fetching a chart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchErrorKind {
    /// Offline and the cache does not hold it.
    #[error("is not in the cache (offline); fetch it once online to fill {cache}")]
    NotCached { cache: String },
    /// The cache holds an entry whose archive is missing or does not match its digest.
    #[error("cached archive {path} is missing or does not match its digest {digest}: {detail}")]
    CorruptCache {
        path: String,
        digest: String,
        detail: String,
    },
    /// The repository has no such chart.
    #[error("no chart named {chart:?} in {location}")]
    NoChart { chart: String, location: String },
    /// The repository has the chart, but no version that matches.
    #[error("no version matches (available: {available})")]
    NoVersion { available: String },
    /// The requested version is neither a version nor a constraint.
    #[error("invalid version or constraint: {detail}")]
    BadVersion { detail: String },
    /// The repository string is not a usable path, URL or reference.
    #[error("invalid repository: {detail}")]
    BadRepository { detail: String },
    /// A local file could not be read.
    #[error("{path}: {detail}")]
    Io { path: String, detail: String },
    /// The server answered with an error status.
    #[error("{url}: HTTP {status}")]
    Http { url: String, status: u16 },
    /// The network failed (after retries).
    #[error("{url}: {detail}")]
    Network { url: String, detail: String },
    /// A download or file is larger than its limit.
    #[error("{what} is larger than the limit of {limit} bytes ({limit_name})")]
    TooLarge {
        what: String,
        limit: u64,
        limit_name: &'static str,
    },
    /// The archive does not have the digest the repository lists.
    #[error("{url}: digest mismatch: the repository lists {expected}, the download is {actual}")]
    DigestMismatch {
        url: String,
        expected: String,
        actual: String,
    },
    /// `index.yaml` or `Chart.yaml` is not what it must be.
    #[error("{location}: {detail}")]
    Invalid { location: String, detail: String },
    /// The registry's manifest is not a Helm chart or is malformed.
    #[error("{reference}: {detail}")]
    NotAChart { reference: String, detail: String },
    /// Sending the request would expose credentials (a plain-HTTP token realm).
    #[error("{reference}: refused: {detail}")]
    Insecure { reference: String, detail: String },
    /// The registry refused access.
    #[error("{reference}: access denied by the registry ({detail})")]
    Denied { reference: String, detail: String },
    /// The archive was refused.
    #[error("{0}")]
    Archive(ArchiveError),
}

/// Fetches the chart `req` names: from a local path, an HTTP repository or an OCI registry,
/// through the cache (see the module documentation).
pub fn fetch_chart(req: &ChartRequest, opts: &FetchOptions) -> Result<Fetched, FetchError> {
    let repo = req.repository.trim();
    let err = |kind| FetchError {
        repository: redact(&req.repository),
        chart: req.chart.clone(),
        version: req.version.clone(),
        kind: Box::new(kind),
    };
    let lower = repo.to_ascii_lowercase();
    if lower.starts_with("oci://") {
        run_async(|| oci::fetch(req, opts)).map_err(err)
    } else if lower.starts_with("http://") || lower.starts_with("https://") {
        run_async(|| http::fetch(req, opts)).map_err(err)
    } else if lower.contains("://") && !lower.starts_with("file://") {
        Err(err(FetchErrorKind::BadRepository {
            detail: format!(
                "unsupported scheme in {:?} (use a path, http://, https:// or oci://)",
                redact(repo)
            ),
        }))
    } else {
        local::fetch(req, opts).map_err(err)
    }
}

/// Runs a future to completion on a private current-thread runtime in its own thread, so that
/// the sync API works even when called from inside another runtime.
fn run_async<T, F, Fut>(make: F) -> Result<T, FetchErrorKind>
where
    T: Send,
    F: FnOnce() -> Fut + Send,
    Fut: std::future::Future<Output = Result<T, FetchErrorKind>>,
{
    std::thread::scope(|s| {
        let handle = s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| FetchErrorKind::Network {
                    url: "<runtime>".into(),
                    detail: format!("cannot start the async runtime: {e}"),
                })?;
            rt.block_on(make())
        });
        handle.join().unwrap_or_else(|_| {
            Err(FetchErrorKind::Network {
                url: "<runtime>".into(),
                detail: "the fetch thread panicked".into(),
            })
        })
    })
}

/// Offline: the archive the cache holds for `req` (exactly as requested, else the highest
/// cached version that satisfies the request).
fn from_cache(req: &ChartRequest, opts: &FetchOptions) -> Result<Fetched, FetchErrorKind> {
    let cache = ChartCache::new(&opts.cache_dir);
    let not_cached = || FetchErrorKind::NotCached {
        cache: opts.cache_dir.join("charts").display().to_string(),
    };
    let entry = cache
        .resolve(&req.repository, &req.chart, &req.version)
        .ok_or_else(not_cached)?;
    let path = cache.blob_path(&entry.digest).display().to_string();
    let corrupt = |detail: String| FetchErrorKind::CorruptCache {
        path: path.clone(),
        digest: entry.digest.clone(),
        detail,
    };
    let bytes = cache
        .get_blob(&entry.digest, opts.limits.max_compressed)
        .map_err(corrupt)?
        .ok_or_else(|| corrupt("the file is missing".into()))?;
    let files = archive::read_named_chart_archive(&entry.source, &bytes, &opts.limits)
        .map_err(FetchErrorKind::Archive)?;
    tracing::debug!(chart = %req.chart, version = %entry.version, digest = %entry.digest, "chart from the cache");
    Ok(Fetched {
        content: ChartContent::Files(files),
        version: entry.version,
        digest: Some(entry.digest),
        source: entry.source,
        manifest_digest: entry.manifest,
    })
}

/// Reads a downloaded, digest-verified archive and stores it in the cache (only once it has
/// been read successfully). A cache that cannot be written is a warning, not an error.
fn accept(
    req: &ChartRequest,
    opts: &FetchOptions,
    bytes: &[u8],
    version: &str,
    source: &str,
    manifest_digest: Option<&str>,
) -> Result<Fetched, FetchErrorKind> {
    let files = archive::read_named_chart_archive(source, bytes, &opts.limits)
        .map_err(FetchErrorKind::Archive)?;
    let cache = ChartCache::new(&opts.cache_dir);
    let digest = sha256(bytes);
    let entry = cache::CacheEntry {
        digest: digest.clone(),
        version: version.to_string(),
        source: source.to_string(),
        manifest: manifest_digest.map(str::to_string),
    };
    if let Err(e) = cache
        .put_blob(bytes)
        .and_then(|_| cache.record(&req.repository, &req.chart, &req.version, &entry))
    {
        tracing::warn!(cache = %opts.cache_dir.display(), error = %e, "cannot write the chart cache");
    }
    Ok(Fetched {
        content: ChartContent::Files(files),
        version: version.to_string(),
        digest: Some(digest),
        source: source.to_string(),
        manifest_digest: manifest_digest.map(str::to_string),
    })
}

/// A version written unquoted (`version: 1.0`) is a YAML number; take its text.
pub(crate) fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    use serde_yaml_ng::Value;
    Ok(match <Value as serde::Deserialize>::deserialize(d)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => {
            return Err(serde::de::Error::custom(format!(
                "version must be a string, not {other:?}"
            )))
        }
    })
}

/// A few versions for an error message.
pub(crate) fn show_versions(versions: &[&str]) -> String {
    if versions.is_empty() {
        return "none".into();
    }
    let mut s = versions
        .iter()
        .take(10)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if versions.len() > 10 {
        s.push_str(&format!(", … ({} in all)", versions.len()));
    }
    s
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// A digest as `sha256:<64 lower-case hex>`, from that form or bare hex (as `index.yaml`
/// writes it).
pub(crate) fn normalize_digest(d: &str) -> Option<String> {
    let d = d.trim();
    let hex = d.strip_prefix("sha256:").unwrap_or(d).to_ascii_lowercase();
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| format!("sha256:{hex}"))
}

/// `url` without userinfo or credential-like query values ([`imagebom_model::redact_url`]).
pub(crate) use imagebom_model::redact_url as redact;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_redaction() {
        let h = "A".repeat(64);
        assert_eq!(
            normalize_digest(&h),
            Some(format!("sha256:{}", "a".repeat(64)))
        );
        assert_eq!(
            normalize_digest(&format!("sha256:{}", "b".repeat(64))),
            Some(format!("sha256:{}", "b".repeat(64)))
        );
        assert_eq!(normalize_digest("sha256:abc"), None);
        assert_eq!(
            redact("https://u:secret@charts.example/x"),
            "https://charts.example/x"
        );
        assert_eq!(
            redact("https://charts.example/a@b"),
            "https://charts.example/a@b"
        );
        assert_eq!(redact("./charts/x"), "./charts/x");
    }
}
