//! Provenance discovery: which supply-chain artifacts a registry holds for an image digest.
//!
//! For an image at `sha256:<hex>` in repository `R`:
//!
//! | check | how | requests |
//! |---|---|---|
//! | cosign signature | tag `R:sha256-<hex>.sig` exists | one `HEAD` (a `GET` through `oci-client` for identity-token registries) |
//! | cosign attestations | tag `R:sha256-<hex>.att` exists | one |
//! | attached SBOM (`cosign attach sbom`) | tag `R:sha256-<hex>.sbom` exists | one |
//! | OCI 1.1 referrers | `GET /v2/R/referrers/sha256:<hex>`; on 404 (no referrers API, e.g. distribution 2.8) the referrers tag schema index `R:sha256-<hex>` | one; two for the first image of a registry without the API, whose later images go straight to the tag schema |
//!
//! A referrer whose index entry has no `artifactType` costs one more manifest `GET`.
//! Requests go through the same [`Resolver`] as manifest resolution: the same credentials,
//! mirrors, overall and per-registry bounds, retries with backoff, timeouts and on-disk
//! cache (answers are kept for the cache TTL: signatures can be added to an existing digest,
//! so no provenance answer is immutable). A check that cannot be made (registry unreachable,
//! access denied, an invalid answer) is recorded as `None` — "could not be checked", never
//! "absent"; after a network failure the image's remaining checks are not attempted.

use crate::registry::{Gate, RegistryError, Resolver, ACCEPT};
use imagebom_model::{Digest, ImageRef, Inventory, Provenance};
use oci_client::secrets::RegistryAuth;
use oci_client::Reference;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Most referrers read per image; a longer list is cut here (and logged).
pub const MAX_REFERRERS: usize = 256;

/// Registry hosts that answered 404 to the referrers API. The distribution spec forbids a
/// 404 from a registry that has the API, so later images there go straight to the tag schema.
#[derive(Debug, Default)]
pub struct WithoutReferrersApi(std::sync::Mutex<BTreeSet<String>>);

impl WithoutReferrersApi {
    fn contains(&self, host: &str) -> bool {
        self.0.lock().is_ok_and(|s| s.contains(host))
    }

    fn insert(&self, host: &str) {
        if let Ok(mut s) = self.0.lock() {
            s.insert(host.to_string());
        }
    }
}

/// What discovery found for one image, with why any check could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// The record for the lock and the BOMs.
    pub provenance: Provenance,
    /// One message per check that could not be made.
    pub problems: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexDoc {
    #[serde(default)]
    manifests: Vec<IndexEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexEntry {
    digest: String,
    artifact_type: Option<String>,
}

/// `(artifactType, digest)` of every entry of a referrers index.
fn parse_index(key: &str, body: &[u8]) -> Result<Vec<(Option<String>, String)>, RegistryError> {
    let doc: IndexDoc = serde_json::from_slice(body).map_err(|e| RegistryError::Invalid {
        reference: key.to_string(),
        detail: format!("referrers index: {e}"),
    })?;
    Ok(doc
        .manifests
        .into_iter()
        .map(|m| (m.artifact_type, m.digest))
        .collect())
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
    /// Whether the tag `tag` exists in `reference`'s repository (`Ok(false)` on 404).
    async fn tag_exists(
        &self,
        key: &str,
        reference: &Reference,
        tag: &str,
        auth: &RegistryAuth,
        open: bool,
    ) -> Result<bool, RegistryError> {
        let tagged = Reference::with_tag(
            reference.registry().to_string(),
            reference.repository().to_string(),
            tag.to_string(),
        );
        let found = if open {
            self.direct_manifest(key, &tagged, true).await.map(|_| ())
        } else {
            let client = self.oci(key)?;
            self.with_retries(key, || client.pull_manifest_raw(&tagged, auth, &ACCEPT))
                .await
                .map(|_| ())
        };
        match found {
            Ok(()) => Ok(true),
            Err(RegistryError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The `artifactType`s of the referrers of `digest` in `reference`'s repository, sorted and
    /// de-duplicated: the referrers API, else the tag schema index.
    async fn referrers(
        &self,
        key: &str,
        reference: &Reference,
        digest: &Digest,
        auth: &RegistryAuth,
        open: bool,
        no_api: &WithoutReferrersApi,
    ) -> Result<Vec<String>, RegistryError> {
        let (registry, repository) = (reference.registry(), reference.repository());
        let subject = Reference::with_digest(
            registry.to_string(),
            repository.to_string(),
            digest.to_string(),
        );
        let entries = if open {
            let host = reference.resolve_registry();
            let url = format!(
                "{}://{host}/v2/{repository}/referrers/{digest}",
                self.scheme(host)
            );
            let api = if no_api.contains(host) {
                Err(RegistryError::NotFound {
                    reference: key.to_string(),
                })
            } else {
                self.direct_get(key, &url, false).await
            };
            match api {
                Ok((body, _)) => parse_index(key, &body)?,
                // No referrers API (OCI distribution spec: 404): the tag schema fallback.
                Err(RegistryError::NotFound { .. }) => {
                    no_api.insert(host);
                    let fallback = Reference::with_tag(
                        registry.to_string(),
                        repository.to_string(),
                        cosign_tag(digest, ""),
                    );
                    tracing::debug!(reference = %key, "no referrers API: reading the referrers tag schema index");
                    match self.direct_manifest(key, &fallback, false).await {
                        Ok((body, _)) => parse_index(key, &body)?,
                        Err(RegistryError::NotFound { .. }) => Vec::new(),
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        } else {
            // oci-client runs the same API-then-tag-schema fallback, with the registry's token.
            let client = self.oci(key)?;
            client
                .store_auth_if_needed(subject.resolve_registry(), auth)
                .await;
            self.with_retries(key, || client.pull_referrers(&subject, None))
                .await?
                .manifests
                .into_iter()
                .map(|m| (m.artifact_type, m.digest))
                .collect()
        };
        if entries.len() > MAX_REFERRERS {
            tracing::warn!(reference = %key, count = entries.len(), "more referrers than MAX_REFERRERS ({MAX_REFERRERS}); reading the first");
        }
        let mut types = BTreeSet::new();
        for (artifact_type, d) in entries.into_iter().take(MAX_REFERRERS) {
            let t = match artifact_type.filter(|t| !t.is_empty()) {
                Some(t) => t,
                None => {
                    // An index entry without artifactType: the manifest says (artifactType,
                    // else config.mediaType, as the referrers API derives it).
                    let m = Reference::with_digest(
                        registry.to_string(),
                        repository.to_string(),
                        d.clone(),
                    );
                    let body = if open {
                        self.direct_manifest(key, &m, false).await?.0
                    } else {
                        let client = self.oci(key)?;
                        self.with_retries(key, || client.pull_manifest_raw(&m, auth, &ACCEPT))
                            .await?
                            .0
                            .to_vec()
                    };
                    let parsed = Digest::parse(&d).map_err(|e| RegistryError::Invalid {
                        reference: key.to_string(),
                        detail: e.to_string(),
                    })?;
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
        self.discover(image, digest, &WithoutReferrersApi::default())
            .await
    }

    /// [`Resolver::provenance`], remembering registries without the referrers API in `no_api`.
    async fn discover(
        &self,
        image: &ImageRef,
        digest: &Digest,
        no_api: &WithoutReferrersApi,
    ) -> Discovered {
        let key = image.normalized();
        let mut out = Discovered {
            provenance: Provenance::default(),
            problems: Vec::new(),
        };
        let reference = match self.queried(image) {
            Ok(r) => r,
            Err(e) => {
                out.problems.push(e.to_string());
                return out;
            }
        };
        let (auth, open) = self.access(&reference).await;
        for (suffix, what) in [
            ("sig", "signature"),
            ("att", "attestation"),
            ("sbom", "sbom"),
        ] {
            let tag = cosign_tag(digest, suffix);
            let found = self.tag_exists(&key, &reference, &tag, &auth, open).await;
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
        match self
            .referrers(&key, &reference, digest, &auth, open, no_api)
            .await
        {
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
        let no_api = Arc::new(WithoutReferrersApi::default());
        self.bounded(
            items,
            move |me: Arc<Resolver>, gate: Gate, (image, digest): (ImageRef, Digest)| {
                let no_api = no_api.clone();
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
                    let found = me.discover(&image, &digest, &no_api).await;
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
    fn reads_referrers_indexes() {
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":1,"artifactType":"application/vnd.example.sbom+json"},
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","size":1}]}"#;
        let e = parse_index("x", body).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].0.as_deref(), Some("application/vnd.example.sbom+json"));
        assert_eq!(e[1].0, None);
        assert!(parse_index("x", br#"{"schemaVersion":2}"#)
            .unwrap()
            .is_empty());
        let err = parse_index("img", b"<html>").unwrap_err().to_string();
        assert!(
            err.contains("img") && err.contains("referrers index"),
            "{err}"
        );
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
