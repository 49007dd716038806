//! On-disk cache of registry answers, so repeated runs do not ask again.
//!
//! One small JSON file per normalised reference (named by its sha256), written atomically.
//! A reference pinned by digest alone is immutable and never expires; anything with a tag
//! expires after the TTL. Unreadable or foreign entries are ignored, never trusted.

use crate::registry::Resolved;
use imagebom_model::{Digest, Provenance, Resolution};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Cache format version; entries of other versions are ignored.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    version: u32,
    reference: String,
    fetched_at: u64,
    resolution: Resolution,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tag_moved_to: Option<Digest>,
}

/// A provenance answer ([`crate::provenance`]); always subject to the TTL.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProvenanceEntry {
    version: u32,
    reference: String,
    fetched_at: u64,
    provenance: Provenance,
    /// The attached SBOMs found with it (their bytes in the blob store).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sboms: Vec<crate::provenance::AttachedRecord>,
}

/// The cache directory and how long tag answers stay fresh.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    ttl: Duration,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Cache {
    /// A cache in `dir` (created on first write) with `ttl` for tag answers.
    pub fn new(dir: impl Into<PathBuf>, ttl: Duration) -> Cache {
        Cache {
            dir: dir.into(),
            ttl,
        }
    }

    /// `$IMAGEBOM_CACHE`, else `$XDG_CACHE_HOME/imagebom`, else `~/.cache/imagebom`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("IMAGEBOM_CACHE") {
            return Some(PathBuf::from(d));
        }
        if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
            return Some(Path::new(&d).join("imagebom"));
        }
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/imagebom"))
    }

    fn path(&self, key: &str) -> PathBuf {
        let name = Digest::sha256_of(key.as_bytes());
        self.dir.join(format!("{}.json", name.encoded()))
    }

    /// The cached answer for normalised reference `key`, when fresh.
    /// Whether [`Cache::get`] can find a fresh entry: always for an `immutable` reference
    /// (pinned by digest alone), otherwise only with a TTL above zero.
    pub(crate) fn may_hit(&self, immutable: bool) -> bool {
        immutable || !self.ttl.is_zero()
    }

    pub fn get(&self, key: &str, immutable: bool) -> Option<Resolved> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        let e: Entry = serde_json::from_slice(&bytes).ok()?;
        let fresh = immutable || now().saturating_sub(e.fetched_at) < self.ttl.as_secs();
        (e.version == VERSION && e.reference == key && fresh).then_some(Resolved {
            resolution: e.resolution,
            tag_moved_to: e.tag_moved_to,
        })
    }

    /// Stores the answer for `key`; a cache that cannot be written is only logged.
    pub fn put(&self, key: &str, r: &Resolved) {
        self.write(
            key,
            &Entry {
                version: VERSION,
                reference: key.to_string(),
                fetched_at: now(),
                resolution: r.resolution.clone(),
                tag_moved_to: r.tag_moved_to.clone(),
            },
        );
    }

    /// The cached provenance answer for `key` (`provenance:<repository>@<digest>`), when
    /// younger than the TTL: signatures can be added to a digest at any time.
    pub fn get_provenance(&self, key: &str) -> Option<Provenance> {
        self.get_discovered(key).map(|(p, _)| p)
    }

    /// The cached provenance answer for `key` with the attached SBOMs found with it.
    pub(crate) fn get_discovered(
        &self,
        key: &str,
    ) -> Option<(Provenance, Vec<crate::provenance::AttachedRecord>)> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        let e: ProvenanceEntry = serde_json::from_slice(&bytes).ok()?;
        let fresh = now().saturating_sub(e.fetched_at) < self.ttl.as_secs();
        (e.version == VERSION && e.reference == key && fresh).then_some((e.provenance, e.sboms))
    }

    /// Stores a provenance answer for `key`.
    pub fn put_provenance(&self, key: &str, p: &Provenance) {
        self.put_discovered(key, p, &[]);
    }

    /// Stores a provenance answer for `key` with the attached SBOMs found with it.
    pub(crate) fn put_discovered(
        &self,
        key: &str,
        p: &Provenance,
        sboms: &[crate::provenance::AttachedRecord],
    ) {
        self.write(
            key,
            &ProvenanceEntry {
                version: VERSION,
                reference: key.to_string(),
                fetched_at: now(),
                provenance: p.clone(),
                sboms: sboms.to_vec(),
            },
        );
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.encoded())
    }

    /// The stored bytes of `digest` (an attached SBOM), checked against it; `None` when absent
    /// or damaged.
    pub fn get_blob(&self, digest: &Digest) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.blob_path(digest)).ok()?;
        (Digest::of(digest.algorithm(), &bytes).as_ref() == Some(digest)).then_some(bytes)
    }

    /// Stores `bytes` under their sha256 (content-addressed, never expires); a store that
    /// cannot be written is only logged.
    pub fn put_blob(&self, bytes: &[u8]) -> Digest {
        let digest = Digest::sha256_of(bytes);
        let path = self.blob_path(&digest);
        if self.get_blob(&digest).is_none() {
            let result = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|_| imagebom_model::fsutil::write_replace(&path, bytes));
            if let Err(err) = result {
                tracing::debug!(cache = %self.dir.display(), error = %err, "cannot write cache blob");
            }
        }
        digest
    }

    fn write<T: Serialize>(&self, key: &str, entry: &T) {
        let result = serde_json::to_vec(entry)
            .map_err(std::io::Error::other)
            .and_then(|b| imagebom_model::fsutil::write_replace(&self.path(key), &b));
        if let Err(err) = result {
            tracing::debug!(cache = %self.dir.display(), error = %err, "cannot write cache entry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagebom_model::ResolutionSource;

    fn resolved() -> Resolved {
        Resolved {
            resolution: Resolution {
                digest: Digest::sha256_of(b"m"),
                source: ResolutionSource::Registry,
                media_type: None,
                size: Some(1),
                platforms: vec![],
                artifact_type: None,
                provenance: None,
                sboms: Vec::new(),
            },
            tag_moved_to: None,
        }
    }

    #[test]
    fn round_trip_and_expiry() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::new(d.path(), Duration::from_secs(3600));
        assert!(c.get("a:1", false).is_none());
        c.put("a:1", &resolved());
        assert_eq!(c.get("a:1", false), Some(resolved()));
        assert!(c.get("b:1", false).is_none());
        let expired = Cache::new(d.path(), Duration::ZERO);
        assert!(expired.get("a:1", false).is_none());
        assert!(!expired.may_hit(false) && expired.may_hit(true) && c.may_hit(false));
        assert!(
            expired.get("a:1", true).is_some(),
            "digest references never expire"
        );
        std::fs::write(c.path("a:1"), b"{garbage").unwrap();
        assert!(c.get("a:1", false).is_none());
    }

    #[test]
    fn provenance_answers_expire() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::new(d.path(), Duration::from_secs(3600));
        let p = Provenance {
            signature: Some(true),
            attestation: Some(false),
            sbom: Some(false),
            referrers: Some(vec!["application/vnd.example+json".into()]),
            verification: None,
        };
        let key = "provenance:r.example/a@sha256:00";
        assert!(c.get_provenance(key).is_none());
        c.put_provenance(key, &p);
        assert_eq!(c.get_provenance(key), Some(p));
        assert!(c.get(key, true).is_none(), "not a resolution entry");
        assert!(Cache::new(d.path(), Duration::ZERO)
            .get_provenance(key)
            .is_none());
    }
}
