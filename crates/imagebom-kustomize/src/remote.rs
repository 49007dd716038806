//! Remote sources without the network: a git or HTTP URL (a remote base, a Helm chart
//! repository, an AICR `kustomize` component's `source`) resolves only through a mapping from
//! the URL to a local directory that holds what was fetched before (a chart or source mirror).

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A chart archive the chart cache holds for a `helmCharts` entry.
#[derive(Debug, Clone)]
pub struct CachedChart {
    /// Where the archive is (for messages and as the objects' source).
    pub path: PathBuf,
    /// The `.tgz` bytes, already verified against their digest.
    pub bytes: Vec<u8>,
    /// The version the request resolved to.
    pub version: String,
}

/// Looks a chart up in the chart cache: `(repository, chart, version)` → the archive,
/// `Ok(None)` when the cache does not hold it, `Err` when it holds a damaged copy. An empty
/// or range `version` resolves as the cache resolves it for Helm components.
pub type ChartLookup =
    Arc<dyn Fn(&str, &str, &str) -> Result<Option<CachedChart>, String> + Send + Sync>;

/// Where remote sources come from, since imagebom never fetches them.
#[derive(Clone, Default)]
pub struct Options {
    /// URL (or URL prefix) → local directory holding its contents. The longest matching
    /// prefix wins; the rest of the URL (a path inside a repository) is looked up below it.
    pub mirrors: Vec<(String, PathBuf)>,
    /// The chart cache, for `helmCharts` entries with a `repo` that neither `chartHome` nor a
    /// mirror holds (remote bases come only from mirrors: the cache holds charts only).
    pub chart_cache: Option<ChartLookup>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("mirrors", &self.mirrors)
            .field(
                "chart_cache",
                &self.chart_cache.as_ref().map(|_| "<lookup>"),
            )
            .finish()
    }
}

thread_local! {
    static OPTIONS: RefCell<Options> = RefCell::new(Options::default());
}

/// Runs `f` with `opts` in effect for the builds it starts on this thread.
pub(crate) fn with_options<T>(opts: &Options, f: impl FnOnce() -> T) -> T {
    let old = OPTIONS.with(|o| std::mem::replace(&mut *o.borrow_mut(), opts.clone()));
    let out = f();
    OPTIONS.with(|o| *o.borrow_mut() = old);
    out
}

/// Whether a `resources` entry names a remote target (as Kustomize tells them apart).
pub fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("github.com/")
        || entry.starts_with("gitlab.com/")
        || entry.starts_with("bitbucket.org/")
        || entry.starts_with("git@")
        || entry.starts_with("git::")
}

/// A URL without its query (`?ref=…`, `?timeout=…`), `git::` prefix, scheme and `.git`
/// suffixes of path segments, so that equal locations compare equal.
pub fn normalize(url: &str) -> String {
    let u = url.trim();
    let u = u.strip_prefix("git::").unwrap_or(u);
    let u = u.split_once('?').map_or(u, |(a, _)| a);
    let u = match u.split_once("://") {
        Some((_, rest)) => rest,
        None => u,
    };
    let u = u
        .strip_prefix("git@")
        .map_or(u.to_string(), |r| r.replacen(':', "/", 1));
    let u = u.replace(".git//", "/").replace("//", "/");
    u.trim_end_matches('/')
        .trim_end_matches(".git")
        .trim_end_matches('/')
        .to_string()
}

/// The `?ref=` (or `?version=`) of a remote URL, if any.
pub fn reference(url: &str) -> Option<String> {
    let (_, q) = url.split_once('?')?;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == "ref" || k == "version").then(|| v.to_string())
    })
}

/// The local directory for `url` from the mirrors in effect, or `None`.
pub fn resolve(url: &str) -> Option<PathBuf> {
    OPTIONS.with(|o| resolve_in(&o.borrow(), url))
}

/// The chart cache's archive for `chart` `version` of `repo`, if a cache is in effect.
pub(crate) fn cached_chart(
    repo: &str,
    chart: &str,
    version: &str,
) -> Option<Result<Option<CachedChart>, String>> {
    let lookup = OPTIONS.with(|o| o.borrow().chart_cache.clone())?;
    Some(lookup(repo, chart, version))
}

/// The local directory for `url` from `opts`, or `None`.
pub fn resolve_in(opts: &Options, url: &str) -> Option<PathBuf> {
    let want = normalize(url);
    let mut best: Option<(usize, PathBuf)> = None;
    for (from, dir) in &opts.mirrors {
        let from = normalize(from);
        let rest = if want == from {
            Some("")
        } else {
            want.strip_prefix(&from).and_then(|r| r.strip_prefix('/'))
        };
        if let Some(rest) = rest {
            if best.as_ref().is_none_or(|(n, _)| from.len() > *n) {
                best = Some((from.len(), dir.join(rest)));
            }
        }
    }
    best.map(|(_, d)| d)
}

/// The error for a remote URL no mirror provides, in Kustomize's words for an offline fetch
/// plus how to provide it.
pub(crate) fn missing(kind: &str, url: &str, file: &Path) -> crate::KustomizeError {
    crate::KustomizeError::invalid(
        file,
        format!(
            "accumulating resources: accumulation err='accumulating resources from '{url}': \
             {kind} {url:?} is not in a local mirror: imagebom does not use the network; \
             fetch it and map the URL to its directory (a mirror `URL=DIR`)'"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_normalize_and_resolve_by_longest_prefix() {
        assert_eq!(
            normalize("https://github.com/org/repo.git//config/default?ref=v1"),
            "github.com/org/repo/config/default"
        );
        assert_eq!(
            normalize("git@github.com:org/repo.git"),
            "github.com/org/repo"
        );
        assert_eq!(
            reference("github.com/a/b?ref=v1.2&timeout=9"),
            Some("v1.2".into())
        );
        let opts = Options {
            mirrors: vec![
                ("https://github.com/org/repo".into(), "/m/repo".into()),
                ("github.com/org".into(), "/m/org".into()),
            ],
            chart_cache: None,
        };
        assert_eq!(
            resolve_in(&opts, "github.com/org/repo/config/default?ref=v1"),
            Some(PathBuf::from("/m/repo/config/default"))
        );
        assert_eq!(
            resolve_in(&opts, "https://github.com/org/other"),
            Some(PathBuf::from("/m/org/other"))
        );
        assert_eq!(resolve_in(&opts, "https://gitlab.com/org/repo"), None);
        assert_eq!(resolve_in(&opts, "github.com/organisation/x"), None);
    }
}
