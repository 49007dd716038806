//! The resolution policy of `lock --resolve` and `generate --resolve`: which images are asked
//! of their registries, which cache answers, how answers enter the inventory and when
//! provenance is discovered. The CLI builds [`crate::registry::RegistryOptions`] from its
//! flags and prints; the decisions are here.

use crate::cache::Cache;
use crate::registry::{RegistryError, Resolved};
use imagebom_model::{Digest, ImageRef, Inventory, ResolutionSource};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The images of `inv` to ask their registries about: all of them with `refresh`, else
/// those whose digest no registry has confirmed (unresolved, or only pinned).
pub fn to_resolve(inv: &Inventory, refresh: bool) -> Vec<ImageRef> {
    inv.images
        .values()
        .filter(|e| {
            refresh
                || e.resolution
                    .as_ref()
                    .is_none_or(|r| r.source != ResolutionSource::Registry)
        })
        .map(|e| e.reference.clone())
        .collect()
}

/// The on-disk answer cache: none with `refresh` (every answer is asked again), else `dir`
/// or the default directory ([`Cache::default_dir`]), answers kept for `ttl`.
pub fn cache(refresh: bool, dir: Option<PathBuf>, ttl: Duration) -> Option<Cache> {
    if refresh {
        return None;
    }
    dir.or_else(Cache::default_dir).map(|d| Cache::new(d, ttl))
}

/// What [`apply`] did.
#[derive(Debug, Default)]
pub struct Applied {
    /// `tag@digest` references whose tag now points elsewhere, with the tag's digest (the
    /// pinned digest is kept).
    pub drift: Vec<(String, Digest)>,
    /// The references that could not be resolved, in key order.
    pub failures: Vec<RegistryError>,
}

/// Records the registry's `results` in `inv`. Provenance recorded for the same digest stays
/// until checked again; a new digest drops it.
pub fn apply(
    inv: &mut Inventory,
    results: BTreeMap<String, Result<Resolved, RegistryError>>,
) -> Applied {
    let mut out = Applied::default();
    for (key, result) in results {
        match result {
            Ok(r) => {
                if let Some(moved) = r.tag_moved_to {
                    out.drift.push((key.clone(), moved));
                }
                if let Some(e) = inv.images.get_mut(&key) {
                    let mut new = r.resolution;
                    // Provenance recorded for the same digest stays until checked again; its
                    // SBOMs describe that digest and stay too.
                    if let Some(old) = e.resolution.take().filter(|o| o.digest == new.digest) {
                        new.provenance = new.provenance.or(old.provenance);
                        new.sboms = old.sboms;
                        for p in &mut new.platforms {
                            let known = old.platforms.iter().find(|o| o.digest == p.digest);
                            p.provenance = p
                                .provenance
                                .take()
                                .or_else(|| known.and_then(|o| o.provenance.clone()));
                        }
                    }
                    e.resolution = Some(new);
                }
            }
            Err(e) => out.failures.push(e),
        }
    }
    out
}

/// Whether provenance is discovered after resolving: when asked for, and every image was
/// resolved or unresolved ones are allowed (`--allow-unresolved`).
pub fn discover_provenance(asked: bool, applied: &Applied, allow_unresolved: bool) -> bool {
    asked && (applied.failures.is_empty() || allow_unresolved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagebom_model::{Category, Occurrence, Provenance, Resolution};

    fn res(d: &Digest, source: ResolutionSource) -> Resolution {
        Resolution {
            digest: d.clone(),
            source,
            media_type: None,
            size: None,
            platforms: vec![],
            artifact_type: None,
            provenance: None,
            sboms: Vec::new(),
        }
    }

    fn inv() -> Inventory {
        let mut inv = Inventory::default();
        for r in ["a:1", "b:1", "c:1"] {
            let occ = Occurrence {
                component: "c".into(),
                source: "f.yaml".into(),
                kind: "Pod".into(),
                name: "p".into(),
                path: "spec/containers/0/image".into(),
                line: None,
                category: Category::Pod,
                original: r.into(),
                reason: None,
            };
            inv.add(ImageRef::parse(r).unwrap(), occ);
        }
        inv
    }

    #[test]
    fn what_is_asked_and_how_answers_enter() {
        let (x, y) = (Digest::sha256_of(b"x"), Digest::sha256_of(b"y"));
        let mut inv = inv();
        let a = "docker.io/library/a:1".to_string();
        let b = "docker.io/library/b:1".to_string();
        let mut known = res(&x, ResolutionSource::Registry);
        known.provenance = Some(Provenance::default());
        inv.images.get_mut(&a).unwrap().resolution = Some(known);
        inv.images.get_mut(&b).unwrap().resolution = Some(res(&x, ResolutionSource::Pinned));
        let asked: Vec<String> = to_resolve(&inv, false)
            .iter()
            .map(|i| i.normalized())
            .collect();
        assert_eq!(asked, [b.clone(), "docker.io/library/c:1".to_string()]);
        assert_eq!(to_resolve(&inv, true).len(), 3);
        assert!(cache(true, Some("/tmp/x".into()), Duration::from_secs(1)).is_none());
        assert!(cache(false, Some("/tmp/x".into()), Duration::from_secs(1)).is_some());

        let mut results = BTreeMap::new();
        let same = Resolved {
            resolution: res(&x, ResolutionSource::Registry),
            tag_moved_to: Some(y.clone()),
        };
        results.insert(a.clone(), Ok(same));
        results.insert(
            b.clone(),
            Ok(Resolved {
                resolution: res(&y, ResolutionSource::Registry),
                tag_moved_to: None,
            }),
        );
        results.insert(
            "docker.io/library/c:1".into(),
            Err(RegistryError::NotFound {
                reference: "docker.io/library/c:1".into(),
            }),
        );
        let applied = apply(&mut inv, results);
        assert_eq!(applied.drift, [(a.clone(), y.clone())]);
        assert_eq!(applied.failures.len(), 1);
        // The same digest keeps its provenance; a new one is recorded.
        assert!(inv.images[&a]
            .resolution
            .as_ref()
            .unwrap()
            .provenance
            .is_some());
        assert_eq!(inv.images[&b].resolution.as_ref().unwrap().digest, y);
        assert!(!discover_provenance(true, &applied, false));
        assert!(discover_provenance(true, &applied, true));
        assert!(!discover_provenance(false, &applied, true));
    }
}
