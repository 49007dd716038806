//! Provenance discovery: which supply-chain artifacts a registry holds for an image digest.
//!
//! For an image at `sha256:<hex>` in repository `R`:
//!
//! | check | how | requests |
//! |---|---|---|
//! | cosign signature | tag `R:sha256-<hex>.sig` exists | one `HEAD` |
//! | cosign attestations | tag `R:sha256-<hex>.att` exists | one |
//! | attached SBOM (`cosign attach sbom`) | tag `R:sha256-<hex>.sbom` exists | one |
//! | OCI 1.1 referrers | `GET /v2/R/referrers/sha256:<hex>`; on 404 (no referrers API, e.g. distribution 2.8) the referrers tag schema index `R:sha256-<hex>` | one; two for the first image of a registry without the API, whose later images go straight to the tag schema |
//!
//! A referrer whose index entry has no `artifactType` costs one more manifest `GET`.
//! Requests go through the same [`Resolver`] (and registry client) as manifest resolution: the same credentials,
//! mirrors, overall and per-registry bounds, retries with backoff, timeouts and on-disk
//! cache (answers are kept for the cache TTL: signatures can be added to an existing digest,
//! so no provenance answer is immutable). A check that cannot be made (registry unreachable,
//! access denied, an invalid answer) is recorded as `None` — "could not be checked", never
//! "absent"; after a network failure the image's remaining checks are not attempted.

use crate::registry::{convert, Gate, RegistryError, Resolver, ACCEPT};
use imagebom_model::{Digest, ImageRef, Inventory, Provenance};
use imagebom_registry::{Reference, Repository};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Most referrers read per image; a longer list is cut here (and logged).
pub const MAX_REFERRERS: usize = 256;

/// What discovery found for one image, with why any check could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// The record for the lock and the BOMs.
    pub provenance: Provenance,
    /// One message per check that could not be made.
    pub problems: Vec<String>,
}

/// The cosign tag of `digest` with `suffix` (`sha256-<hex>.sig`); `suffix` empty gives the
/// referrers tag schema tag (`sha256-<hex>`).
pub fn cosign_tag(digest: &Digest, suffix: &str) -> String {
    let base = format!("{}-{}", digest.algorithm(), digest.encoded());
    if suffix.is_empty() {
        base
    } else {
        format!("{base}.{suffix}")
    }
}

impl Resolver {
    /// Whether the tag `tag` exists in `repository` (`Ok(false)` on 404).
    async fn tag_exists(
        &self,
        key: &str,
        repository: &Repository,
        tag: &str,
    ) -> Result<bool, RegistryError> {
        let invalid = |detail: String| RegistryError::Invalid {
            reference: key.to_string(),
            detail,
        };
        let tagged = Reference::tagged(repository.clone(), tag).map_err(invalid)?;
        match self.client.head_manifest(&tagged, &ACCEPT).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(convert(key, e)),
        }
    }

    /// The `artifactType`s of the referrers of `digest` in `repository`, sorted and
    /// de-duplicated: the referrers API, else the tag schema index.
    async fn referrers(
        &self,
        key: &str,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Vec<String>, RegistryError> {
        let entries = self
            .client
            .referrers(repository, digest, None)
            .await
            .map_err(|e| convert(key, e))?;
        if entries.len() > MAX_REFERRERS {
            tracing::warn!(reference = %key, count = entries.len(), "more referrers than MAX_REFERRERS ({MAX_REFERRERS}); reading the first");
        }
        let mut types = BTreeSet::new();
        for entry in entries.into_iter().take(MAX_REFERRERS) {
            let t = match entry.artifact_type.filter(|t| !t.is_empty()) {
                Some(t) => t,
                None => {
                    // An index entry without artifactType: the manifest says (artifactType,
                    // else config.mediaType, as the referrers API derives it).
                    let parsed =
                        Digest::parse(&entry.digest).map_err(|e| RegistryError::Invalid {
                            reference: key.to_string(),
                            detail: e.to_string(),
                        })?;
                    let m = Reference::pinned(repository.clone(), parsed.clone());
                    let body = self
                        .client
                        .manifest(&m, &ACCEPT, crate::registry::MAX_MANIFEST_BYTES as u64)
                        .await
                        .map_err(|e| convert(key, e))?
                        .bytes;
                    crate::registry::describe_manifest(key, &body, parsed)?
                        .artifact_type
                        .unwrap_or_else(|| "application/vnd.oci.image.config.v1+json".into())
                }
            };
            types.insert(t);
        }
        Ok(types.into_iter().collect())
    }

    /// Discovers the provenance of `image` at `digest` (see the module documentation).
    pub async fn provenance(&self, image: &ImageRef, digest: &Digest) -> Discovered {
        let key = image.normalized();
        let mut out = Discovered {
            provenance: Provenance::default(),
            problems: Vec::new(),
        };
        let repository = self.queried(image);
        for (suffix, what) in [
            ("sig", "signature"),
            ("att", "attestation"),
            ("sbom", "sbom"),
        ] {
            let tag = cosign_tag(digest, suffix);
            let found = self.tag_exists(&key, &repository, &tag).await;
            let slot = match what {
                "signature" => &mut out.provenance.signature,
                "attestation" => &mut out.provenance.attestation,
                _ => &mut out.provenance.sbom,
            };
            match found {
                Ok(b) => *slot = Some(b),
                Err(e) => {
                    out.problems.push(format!("{what} ({tag}): {e}"));
                    if matches!(e, RegistryError::Network { .. }) {
                        return out;
                    }
                }
            }
        }
        match self.referrers(&key, &repository, digest).await {
            Ok(types) => out.provenance.referrers = Some(types),
            Err(e) => out.problems.push(format!("referrers: {e}")),
        }
        out
    }

    /// Discovers the provenance of every `(image, digest)` under the same bounds and cache as
    /// [`Resolver::resolve_all`]; results keyed by normalised reference.
    pub async fn provenance_all(
        &self,
        targets: &[(ImageRef, Digest)],
    ) -> BTreeMap<String, Discovered> {
        let items = targets
            .iter()
            .map(|(i, d)| {
                (
                    i.normalized(),
                    i.registry().to_string(),
                    (i.clone(), d.clone()),
                )
            })
            .collect();
        self.bounded(
            items,
            move |me: Arc<Resolver>, gate: Gate, (image, digest): (ImageRef, Digest)| {
                async move {
                    let cache_key = format!("provenance:{}@{digest}", image.qualified_name());
                    if let Some(hit) = me
                        .options
                        .cache
                        .as_ref()
                        .and_then(|c| c.get_provenance(&cache_key))
                    {
                        return Discovered {
                            provenance: hit,
                            problems: Vec::new(),
                        };
                    }
                    let _slot = gate.enter().await;
                    let found = me.provenance(&image, &digest).await;
                    // Only complete answers are cached: a check that failed is tried again.
                    if let (true, Some(c)) = (found.provenance.is_complete(), &me.options.cache) {
                        c.put_provenance(&cache_key, &found.provenance);
                    }
                    found
                }
            },
        )
        .await
    }
}

/// What [`crate::Session::discover`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvenanceReport {
    /// Images checked (every image with a digest).
    pub checked: usize,
    /// Every check that could not be made, naming the image, the check and why.
    pub problems: Vec<String>,
}

/// Every image of `inv` with a resolution (a digest), with that digest.
pub(crate) fn targets(inv: &Inventory) -> Vec<(ImageRef, Digest)> {
    inv.images
        .values()
        .filter_map(|e| {
            e.resolution
                .as_ref()
                .map(|r| (e.reference.clone(), r.digest.clone()))
        })
        .collect()
}

/// Records what was `found` in the resolutions of `inv`.
pub(crate) fn record(inv: &mut Inventory, found: BTreeMap<String, Discovered>) -> ProvenanceReport {
    let mut report = ProvenanceReport {
        checked: found.len(),
        problems: Vec::new(),
    };
    for (key, d) in found {
        for p in &d.problems {
            report.problems.push(p.clone());
        }
        if let Some(r) = inv.images.get_mut(&key).and_then(|e| e.resolution.as_mut()) {
            r.provenance = Some(d.provenance);
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_cosign_and_the_tag_schema() {
        let d = Digest::sha256_of(b"x");
        assert_eq!(cosign_tag(&d, "sig"), format!("sha256-{}.sig", d.encoded()));
        assert_eq!(cosign_tag(&d, ""), format!("sha256-{}", d.encoded()));
    }

    #[test]
    fn an_unreachable_registry_leaves_everything_unchecked() {
        // A port nothing listens on: every check is "could not be checked", none is "absent".
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = format!("127.0.0.1:{port}");
        let image = ImageRef::parse(&format!("{host}/team/app:1")).unwrap();
        let options = crate::registry::RegistryOptions {
            insecure: vec![host],
            retries: 0,
            timeout: std::time::Duration::from_secs(2),
            ..Default::default()
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let d = rt.block_on(Resolver::new(options).provenance(&image, &Digest::sha256_of(b"m")));
        assert_eq!(d.provenance, Provenance::default());
        assert_eq!(d.problems.len(), 1, "{:?}", d.problems);
        assert!(d.problems[0].starts_with("signature"), "{:?}", d.problems);
    }
}
