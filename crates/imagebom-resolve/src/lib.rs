//! Resolution: give every image of an [`Inventory`] the digest it runs at.
//!
//! Sources, in order:
//! 1. the lock file (`imagebom.lock` beside the recipe): offline and deterministic;
//! 2. a digest written in the reference itself (`…@sha256:…`): recorded as
//!    [`ResolutionSource::Pinned`] — trusted as written, not yet checked against a registry;
//! 3. the registry ([`registry`]): `imagebom lock --resolve` fills the lock from the
//!    Distribution API, verifying every digest over the manifest bytes.
//!
//! Images none of these resolve stay unresolved and are reported, never guessed.

pub mod cache;
pub mod policy;
pub mod provenance;
pub mod registry;

/// The transport rules of the one registry client (re-exported from [`imagebom_registry`]).
pub use imagebom_registry::net;

use imagebom_model::{Inventory, Lock, Resolution, ResolutionSource};

/// A registry client with its runtime, for synchronous callers: one
/// [`registry::Resolver`] — its registry client's `/v2/` probes, tokens and bounds — serves
/// both manifest resolution and provenance discovery, so `--provenance` costs no second probe
/// or token.
pub struct Session {
    rt: tokio::runtime::Runtime,
    resolver: registry::Resolver,
}

impl Session {
    /// A session with `options`.
    pub fn new(options: registry::RegistryOptions) -> std::io::Result<Session> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        Ok(Session {
            rt,
            resolver: registry::Resolver::try_new(options)?,
        })
    }

    /// [`registry::Resolver::resolve_all`].
    pub fn resolve(
        &self,
        images: &[imagebom_model::ImageRef],
        progress: Option<registry::Progress>,
    ) -> std::collections::BTreeMap<String, Result<registry::Resolved, registry::RegistryError>>
    {
        self.rt
            .block_on(self.resolver.resolve_all(images, progress))
    }

    /// Discovers the provenance of every image of `inv` with a digest and records it in its
    /// resolution (see [`provenance`]); with `trust`, verifies every signature and attestation
    /// found and records the attached SBOMs of each image and each platform of an index (their
    /// files are in the report).
    pub fn discover(
        &self,
        inv: &mut Inventory,
        trust: Option<&provenance::Trust>,
    ) -> provenance::ProvenanceReport {
        let _span = tracing::info_span!("provenance").entered();
        let targets = provenance::targets(inv, trust.is_some());
        let found = self
            .rt
            .block_on(self.resolver.provenance_all(&targets, trust));
        provenance::record(inv, found)
    }
}

/// Why resolution failed.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The lock records a digest for a digest-pinned reference that differs from the pin.
    #[error("{lock}: entry {reference:?} records digest {locked} but the reference pins {pinned}")]
    LockMismatch {
        lock: String,
        reference: String,
        locked: String,
        pinned: String,
    },
}

/// What [`apply_lock`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockReport {
    /// Normalised references resolved from the lock.
    pub from_lock: Vec<String>,
    /// Normalised references resolved from their own digest pin (not in the lock).
    pub from_pin: Vec<String>,
    /// Normalised references with no digest.
    pub unresolved: Vec<String>,
    /// Lock entries no image of the inventory uses.
    pub stale: Vec<String>,
}

/// Sets the resolution of every image from `lock` (located at `lock_path`, for errors) or
/// its own digest pin; returns what came from where.
pub fn apply_lock(
    inv: &mut Inventory,
    lock: &Lock,
    lock_path: &str,
) -> Result<LockReport, ResolveError> {
    let _span = tracing::info_span!("resolve", source = "lock").entered();
    let mut report = LockReport::default();
    for (key, entry) in inv.images.iter_mut() {
        let pinned = entry.reference.digest().cloned();
        match (lock.images.get(key), pinned) {
            (Some(locked), Some(pin)) if locked.digest != pin => {
                return Err(ResolveError::LockMismatch {
                    lock: lock_path.to_string(),
                    reference: key.clone(),
                    locked: locked.digest.to_string(),
                    pinned: pin.to_string(),
                });
            }
            (Some(locked), _) => {
                entry.resolution = Some(locked.clone());
                report.from_lock.push(key.clone());
            }
            (None, Some(pin)) => {
                entry.resolution = Some(Resolution {
                    digest: pin,
                    source: ResolutionSource::Pinned,
                    media_type: None,
                    size: None,
                    platforms: Vec::new(),
                    artifact_type: None,
                    provenance: None,
                    sboms: Vec::new(),
                });
                report.from_pin.push(key.clone());
            }
            (None, None) => {
                entry.resolution = None;
                report.unresolved.push(key.clone());
            }
        }
    }
    report.stale = lock
        .images
        .keys()
        .filter(|k| !inv.images.contains_key(*k))
        .cloned()
        .collect();
    tracing::info!(
        from_lock = report.from_lock.len(),
        from_pin = report.from_pin.len(),
        unresolved = report.unresolved.len(),
        stale = report.stale.len(),
        "applied lock"
    );
    Ok(report)
}

/// The lock for `inv` after [`apply_lock`]: every resolved image, nothing stale.
pub fn lock_from(inv: &Inventory) -> Lock {
    let mut lock = Lock::default();
    for (key, entry) in &inv.images {
        if let Some(r) = &entry.resolution {
            lock.images.insert(key.clone(), r.clone());
        }
    }
    lock
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagebom_model::{Category, Digest, ImageRef, Occurrence};

    fn occ(original: &str) -> Occurrence {
        Occurrence {
            component: "c".into(),
            source: "f.yaml".into(),
            kind: "Pod".into(),
            name: "p".into(),
            path: "spec/containers/0/image".into(),
            line: None,
            category: Category::Pod,
            original: original.into(),
            reason: None,
        }
    }

    fn inv(refs: &[&str]) -> Inventory {
        let mut inv = Inventory::default();
        for r in refs {
            inv.add(ImageRef::parse(r).unwrap(), occ(r));
        }
        inv
    }

    fn res(d: &Digest, source: ResolutionSource) -> Resolution {
        Resolution {
            digest: d.clone(),
            source,
            media_type: Some("application/vnd.oci.image.index.v1+json".into()),
            size: Some(1),
            platforms: vec![],
            artifact_type: None,
            provenance: None,
            sboms: Vec::new(),
        }
    }

    #[test]
    fn lock_pin_and_unresolved() {
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        let mut inv = inv(&["busybox:1.37", &format!("nginx:1@{b}"), "redis:7"]);
        let mut lock = Lock::default();
        lock.images.insert(
            "docker.io/library/busybox:1.37".into(),
            res(&a, ResolutionSource::Registry),
        );
        lock.images.insert(
            "docker.io/library/old:1".into(),
            res(&a, ResolutionSource::Registry),
        );
        let r = apply_lock(&mut inv, &lock, "imagebom.lock").unwrap();
        assert_eq!(r.from_lock, ["docker.io/library/busybox:1.37"]);
        assert_eq!(r.from_pin, [format!("docker.io/library/nginx:1@{b}")]);
        assert_eq!(r.unresolved, ["docker.io/library/redis:7"]);
        assert_eq!(r.stale, ["docker.io/library/old:1"]);
        let l = lock_from(&inv);
        assert_eq!(l.images.len(), 2);
        assert_eq!(
            l.images[&format!("docker.io/library/nginx:1@{b}")].source,
            ResolutionSource::Pinned
        );
    }

    #[test]
    fn lock_contradicting_pin_is_an_error() {
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        let key = format!("docker.io/library/nginx:1@{b}");
        let mut inv = inv(&[&format!("nginx:1@{b}")]);
        let mut lock = Lock::default();
        lock.images
            .insert(key.clone(), res(&a, ResolutionSource::Registry));
        let e = apply_lock(&mut inv, &lock, "x.lock")
            .unwrap_err()
            .to_string();
        assert!(e.contains(&key) && e.contains("x.lock"), "{e}");
    }
}
