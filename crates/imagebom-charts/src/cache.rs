//! The chart cache: archives stored by content (`<dir>/charts/sha256/<hex>.tgz`) and an index
//! (`<dir>/charts/index.json`) from (repository, chart, version) to the archive's digest.
//! Both are written by temp file + rename; an archive read back is verified against its
//! digest. Concurrent writers may lose an index entry (the last rename wins), never corrupt
//! the files.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Largest index file read back.
const MAX_INDEX: u64 = 32 << 20;

/// What the cache knows about one requested chart version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheEntry {
    /// `sha256:<hex>` of the archive.
    pub digest: String,
    /// The version the request resolved to.
    pub version: String,
    /// Where the archive came from.
    pub source: String,
    /// For an OCI chart: the digest of its manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct IndexFile {
    #[serde(rename = "cacheVersion")]
    cache_version: u32,
    /// repository → chart → requested version → entry.
    charts: BTreeMap<String, BTreeMap<String, BTreeMap<String, CacheEntry>>>,
}

/// A chart cache rooted at a directory.
#[derive(Debug, Clone)]
pub struct ChartCache {
    root: PathBuf,
}

/// The repository as the cache keys it: no credentials, no trailing `/`.
fn repo_key(repository: &str) -> String {
    super::redact(repository.trim())
        .trim_end_matches('/')
        .to_string()
}

impl ChartCache {
    /// The cache under `dir` (files go to `dir/charts/`).
    pub fn new(dir: &Path) -> ChartCache {
        ChartCache {
            root: dir.join("charts"),
        }
    }

    /// Where the archive with `digest` (`sha256:<hex>`) is stored.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.root.join("sha256").join(format!("{hex}.tgz"))
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    /// The archive with `digest`, verified: `Ok(None)` when absent, `Err` (with the reason)
    /// when present but unreadable, over `limit` or not matching its digest.
    pub fn get_blob(&self, digest: &str, limit: u64) -> Result<Option<Vec<u8>>, String> {
        let path = self.blob_path(digest);
        let bytes = match imagebom_model::fsutil::read_limited(&path, limit) {
            Ok(Some(b)) => b,
            Ok(None) => return Err(format!("larger than the limit of {limit} bytes")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        let actual = super::sha256(&bytes);
        if actual != digest {
            return Err(format!("its content is {actual}"));
        }
        Ok(Some(bytes))
    }

    /// Stores an archive under its digest (computed here).
    pub fn put_blob(&self, bytes: &[u8]) -> std::io::Result<String> {
        let digest = super::sha256(bytes);
        let path = self.blob_path(&digest);
        // Written again unless what is there already verifies (a damaged copy is replaced).
        if !matches!(self.get_blob(&digest, bytes.len() as u64), Ok(Some(_))) {
            imagebom_model::fsutil::write_replace(&path, bytes)?;
        }
        Ok(digest)
    }

    fn read_index(&self) -> IndexFile {
        match imagebom_model::fsutil::read_limited(&self.index_path(), MAX_INDEX) {
            Ok(Some(b)) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                tracing::warn!(path = %self.index_path().display(), error = %e, "ignoring an unreadable chart cache index");
                IndexFile::default()
            }),
            Ok(None) => {
                tracing::warn!(path = %self.index_path().display(), limit = MAX_INDEX, "ignoring an oversized chart cache index");
                IndexFile::default()
            }
            Err(_) => IndexFile::default(),
        }
    }

    /// The entry recorded for exactly this request.
    pub fn lookup(&self, repository: &str, chart: &str, version: &str) -> Option<CacheEntry> {
        self.read_index()
            .charts
            .get(&repo_key(repository))?
            .get(chart)?
            .get(version)
            .cloned()
    }

    /// The entry an offline request resolves to: the one recorded for exactly this request,
    /// else the highest cached version that satisfies `version` as a constraint (empty: the
    /// highest stable version).
    pub fn resolve(&self, repository: &str, chart: &str, version: &str) -> Option<CacheEntry> {
        if let Some(e) = self.lookup(repository, chart, version) {
            return Some(e);
        }
        let entries = self.entries(repository, chart);
        let versions: Vec<&str> = entries.values().map(|e| e.version.as_str()).collect();
        let chosen = crate::version::select(version, &versions).ok().flatten()?;
        entries.values().find(|e| e.version == chosen).cloned()
    }

    /// Every entry recorded for `chart` in `repository`, keyed by requested version.
    pub fn entries(&self, repository: &str, chart: &str) -> BTreeMap<String, CacheEntry> {
        self.read_index()
            .charts
            .get(&repo_key(repository))
            .and_then(|c| c.get(chart))
            .cloned()
            .unwrap_or_default()
    }

    /// Records that `requested` of `chart` in `repository` is `entry` (also under the resolved
    /// version, so an exact request finds it later).
    pub fn record(
        &self,
        repository: &str,
        chart: &str,
        requested: &str,
        entry: &CacheEntry,
    ) -> std::io::Result<()> {
        let mut index = self.read_index();
        index.cache_version = 1;
        let versions = index
            .charts
            .entry(repo_key(repository))
            .or_default()
            .entry(chart.to_string())
            .or_default();
        versions.insert(requested.to_string(), entry.clone());
        versions.insert(entry.version.clone(), entry.clone());
        let mut json = serde_json::to_vec_pretty(&index).map_err(std::io::Error::other)?;
        json.push(b'\n');
        imagebom_model::fsutil::write_replace(&self.index_path(), &json)
    }
}
