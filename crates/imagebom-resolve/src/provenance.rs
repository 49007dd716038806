//! Provenance discovery: which supply-chain artifacts a registry holds for an image digest,
//! and (with a [`Trust`]) whether they verify.
//!
//! For an image at `sha256:<hex>` in repository `R`:
//!
//! | check | how | requests |
//! |---|---|---|
//! | cosign signature | `GET R:sha256-<hex>.sig`; with a [`Trust`] each layer blob is pulled and verified | one, plus one per layer |
//! | cosign attestations | `GET R:sha256-<hex>.att`, layers as for `.sig` | one, plus one per layer |
//! | attached SBOM (`cosign attach sbom`) | `GET R:sha256-<hex>.sbom`; its CycloneDX / SPDX JSON layers pulled | one, plus one per such layer |
//! | OCI 1.1 referrers | `GET /v2/R/referrers/sha256:<hex>`; on 404 (no referrers API, e.g. distribution 2.8) the referrers tag schema index `R:sha256-<hex>` | one; two for the first image of a registry without the API, whose later images go straight to the tag schema |
//!
//! With a [`Trust`], each platform manifest of an index is checked the same way (its own
//! tags and referrers: SBOMs attached to one platform, `cosign sign --recursive`), so an index
//! of `n` platforms costs `n + 1` times the requests above. A platform's record goes to its
//! [`imagebom_model::lock::Platform::provenance`], its attached SBOMs to the image's
//! [`SbomRecord`]s with the platform digest as subject.
//!
//! A referrer whose index entry has no `artifactType` costs one more manifest `GET`; with a
//! [`Trust`], a Sigstore-bundle or SBOM referrer costs its manifest `GET` and one blob `GET`.
//! Every pull is by digest, verified and size-bounded ([`MAX_LAYERS`],
//! [`MAX_SIGNATURE_BYTES`], [`MAX_SBOM_BYTES`], [`MAX_REFERRERS`]).
//! Requests go through the same [`Resolver`] (and registry client) as manifest resolution: the same credentials,
//! mirrors, overall and per-registry bounds, retries with backoff, timeouts and on-disk
//! cache (answers are kept for the cache TTL: signatures can be added to an existing digest,
//! so no provenance answer is immutable). A check that cannot be made (registry unreachable,
//! access denied, an invalid answer) is recorded as `None` — "could not be checked", never
//! "absent"; after a network failure the image's remaining checks are not attempted.

use crate::registry::{convert, Gate, RegistryError, Resolver, ACCEPT};
use imagebom_model::lock::{
    BuildProvenance, SbomFormat, SbomRecord, SbomSource, SignatureKind, SignatureVerdict, Verdict,
};
use imagebom_model::{Digest, ImageRef, Inventory, Provenance};
use imagebom_registry::{Reference, Repository};
use imagebom_verify::cosign::{self, Image, Layer};
use imagebom_verify::{Policy, PublicKey, Signer, TrustedRoot, Verified};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Most referrers read per image; a longer list is cut here (and logged).
pub const MAX_REFERRERS: usize = 256;
/// Most layers read from one `.sig`, `.att`, `.sbom` or referrer manifest.
pub const MAX_LAYERS: usize = 32;
/// Largest signature, attestation or bundle blob pulled.
pub const MAX_SIGNATURE_BYTES: u64 = 4 << 20;
/// Largest attached SBOM blob pulled.
pub const MAX_SBOM_BYTES: u64 = 128 << 20;

/// Sigstore bundle media types (an `artifactType` starting with this prefix).
pub(crate) const BUNDLE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
/// CycloneDX JSON.
pub(crate) const CYCLONEDX_JSON: &str = "application/vnd.cyclonedx+json";
/// SPDX JSON.
pub(crate) const SPDX_JSON: &str = "application/spdx+json";
/// Layer media types of cosign's legacy `.sbom` tag that may hold CycloneDX or SPDX JSON.
pub(crate) const SBOM_LAYER_TYPES: [&str; 4] = [
    "text/spdx+json",
    "text/spdx",
    CYCLONEDX_JSON,
    "application/vnd.syft+json",
];

/// What signatures are verified against: the Sigstore trusted root and verification options.
#[derive(Clone)]
pub struct Trust {
    /// Fulcio, Rekor, CT and TSA keys (the public-good root, or `--trusted-root`).
    pub root: Arc<TrustedRoot>,
    /// A fingerprint of the root (its sha256), so cached verdicts follow a root change.
    pub root_id: String,
    /// Options for keyless verification (now, Fulcio profile).
    pub options: imagebom_verify::Options,
}

impl Trust {
    /// The public-good root shipped with imagebom.
    pub fn production() -> Trust {
        Trust {
            root: Arc::new(TrustedRoot::production()),
            root_id: Digest::sha256_of(imagebom_verify::PRODUCTION_TRUSTED_ROOT).to_string(),
            options: imagebom_verify::Options::default(),
        }
    }

    /// A root read from `json` (a `trusted_root.json`).
    pub fn from_json(json: &[u8]) -> Result<Trust, imagebom_verify::Error> {
        Ok(Trust {
            root: Arc::new(TrustedRoot::from_json(json)?),
            root_id: Digest::sha256_of(json).to_string(),
            options: imagebom_verify::Options::default(),
        })
    }
}

/// One image to check: its reference, digest and the recipe's keys for it (PEM).
#[derive(Debug, Clone)]
pub struct Target {
    /// The image.
    pub image: ImageRef,
    /// The digest checked.
    pub digest: Digest,
    /// `verify.keys` of the recipe's trust policies that cover the image (PEM).
    pub keys: Vec<String>,
}

/// An attached SBOM as recorded (and cached): what it describes and its bytes' digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachedRecord {
    /// The manifest it describes.
    pub subject: Digest,
    /// CycloneDX or SPDX.
    pub format: SbomFormat,
    /// Digest of its bytes.
    pub digest: Digest,
    /// Size in bytes.
    pub size: u64,
    /// SPDX `documentNamespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_namespace: Option<String>,
}

/// An attached SBOM found for an image, with its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedSbom {
    /// What the lock records.
    pub record: AttachedRecord,
    /// The document.
    pub bytes: Vec<u8>,
}

/// What discovery found for one image, with why any check could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// The record for the lock and the BOMs.
    pub provenance: Provenance,
    /// One message per check that could not be made.
    pub problems: Vec<String>,
    /// The SBOMs its registry holds for it (referrers, `.sbom` tag, verified SBOM
    /// attestations), de-duplicated by content.
    pub sboms: Vec<AttachedSbom>,
}

/// The cosign tag of `digest` with `suffix` (`sha256-<hex>.sig`); `suffix` empty gives the
/// referrers tag schema tag (`sha256-<hex>`).
pub(crate) fn cosign_tag(digest: &Digest, suffix: &str) -> String {
    let base = format!("{}-{}", digest.algorithm(), digest.encoded());
    if suffix.is_empty() {
        base
    } else {
        format!("{base}.{suffix}")
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LayerDoc {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestDoc {
    #[serde(default)]
    layers: Vec<LayerDoc>,
}

/// Classifies a JSON document as CycloneDX or SPDX (`None`: neither, or not JSON).
pub(crate) fn sbom_format(bytes: &[u8]) -> Option<(SbomFormat, Option<String>)> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    if v.get("bomFormat").and_then(|f| f.as_str()) == Some("CycloneDX") {
        return Some((SbomFormat::Cyclonedx, None));
    }
    if v.get("spdxVersion").and_then(|f| f.as_str()).is_some() {
        let ns = v
            .get("documentNamespace")
            .and_then(|n| n.as_str())
            .map(str::to_string);
        return Some((SbomFormat::Spdx, ns));
    }
    None
}

/// A verdict of `kind` from `source` with `result`.
fn verdict(
    kind: SignatureKind,
    source: &str,
    result: Result<Verified, String>,
) -> SignatureVerdict {
    let mut v = SignatureVerdict {
        kind,
        source: source.to_string(),
        verdict: Verdict::Unverified,
        subject: None,
        issuer: None,
        key_id: None,
        predicate_type: None,
        reason: None,
        build: None,
    };
    match result {
        Ok(ok) => {
            v.verdict = Verdict::Verified;
            match &ok.signer {
                Signer::Keyless(id) => {
                    v.subject = id.sans.first().cloned();
                    v.issuer = id.issuer.clone();
                }
                Signer::Key { key_id } => v.key_id = Some(key_id.clone()),
            }
            if let Some(st) = &ok.statement {
                v.kind = SignatureKind::Attestation;
                v.predicate_type = Some(st.predicate_type.clone());
                v.build = st.provenance().map(|p| BuildProvenance {
                    builder_id: p.builder_id,
                    build_type: p.build_type,
                    source_repository: p.source_repository,
                    source_ref: p.source_ref,
                    source_commit: p.source_commit,
                });
            }
        }
        Err(reason) => v.reason = Some(reason),
    }
    v
}

/// Verifies with each key in turn (the first that verifies wins); "no key" without keys.
fn with_keys(
    keys: &[PublicKey],
    mut check: impl FnMut(&Policy, &imagebom_verify::Options) -> imagebom_verify::Result<Verified>,
    opts: &imagebom_verify::Options,
) -> Result<Verified, String> {
    if keys.is_empty() {
        return Err(
            "no key: the signature is key-signed and the recipe names no key for this image".into(),
        );
    }
    // A keyed signature made without a transparency log is accepted with the recipe's key;
    // a log entry, when present, is still checked.
    let opts = imagebom_verify::Options {
        require_tlog: false,
        ..opts.clone()
    };
    let mut last = String::new();
    for k in keys {
        match check(&Policy::Key(k.clone()), &opts) {
            Ok(v) => return Ok(v),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// Whether a bundle is key-signed (a public key hint, no certificate).
fn bundle_is_keyed(json: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(json) else {
        return false;
    };
    let vm = &v["verificationMaterial"];
    vm.get("publicKey").is_some()
        && vm.get("certificate").is_none()
        && vm.get("x509CertificateChain").is_none()
}

/// Per-image work state.
struct Work<'a> {
    key: String,
    repository: Repository,
    digest: &'a Digest,
    keys: Vec<PublicKey>,
    trust: Option<&'a Trust>,
    verdicts: Vec<SignatureVerdict>,
    /// Whether some signature could not be pulled (verification then unknown).
    incomplete: bool,
    sboms: Vec<AttachedSbom>,
}

impl Work<'_> {
    fn add_sbom(&mut self, subject: &Digest, bytes: Vec<u8>) -> bool {
        let Some((format, ns)) = sbom_format(&bytes) else {
            return false;
        };
        let digest = Digest::sha256_of(&bytes);
        if self.sboms.iter().any(|s| s.record.digest == digest) {
            return true;
        }
        self.sboms.push(AttachedSbom {
            record: AttachedRecord {
                subject: subject.clone(),
                format,
                digest,
                size: bytes.len() as u64,
                document_namespace: ns,
            },
            bytes,
        });
        true
    }
}

impl Resolver {
    /// The manifest tagged `tag` in `repository` (`Ok(None)` on 404).
    async fn tagged_manifest(
        &self,
        key: &str,
        repository: &Repository,
        tag: &str,
    ) -> Result<Option<Vec<u8>>, RegistryError> {
        let invalid = |detail: String| RegistryError::Invalid {
            reference: key.to_string(),
            detail,
        };
        let tagged = Reference::tagged(repository.clone(), tag).map_err(invalid)?;
        match self
            .client
            .manifest(&tagged, &ACCEPT, crate::registry::MAX_MANIFEST_BYTES as u64)
            .await
        {
            Ok(m) => Ok(Some(m.bytes)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(convert(key, e)),
        }
    }

    /// The manifest `digest` of `repository`, verified.
    async fn pinned_manifest(
        &self,
        key: &str,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Vec<u8>, RegistryError> {
        let m = Reference::pinned(repository.clone(), digest.clone());
        Ok(self
            .client
            .manifest(&m, &ACCEPT, crate::registry::MAX_MANIFEST_BYTES as u64)
            .await
            .map_err(|e| convert(key, e))?
            .bytes)
    }

    /// The layers of a manifest body, at most [`MAX_LAYERS`].
    fn layers(key: &str, body: &[u8]) -> Result<Vec<LayerDoc>, RegistryError> {
        let doc: ManifestDoc =
            serde_json::from_slice(body).map_err(|e| RegistryError::Invalid {
                reference: key.to_string(),
                detail: e.to_string(),
            })?;
        if doc.layers.len() > MAX_LAYERS {
            tracing::warn!(reference = %key, count = doc.layers.len(), "more layers than MAX_LAYERS ({MAX_LAYERS}); reading the first");
        }
        Ok(doc.layers.into_iter().take(MAX_LAYERS).collect())
    }

    /// The blob of `layer`, verified against its digest, at most `max` bytes.
    async fn layer_blob(
        &self,
        key: &str,
        repository: &Repository,
        layer: &LayerDoc,
        max: u64,
        limit: &'static str,
    ) -> Result<Vec<u8>, RegistryError> {
        let d = Digest::parse(&layer.digest).map_err(|e| RegistryError::Invalid {
            reference: key.to_string(),
            detail: e.to_string(),
        })?;
        if layer.size > max {
            return Err(RegistryError::Invalid {
                reference: key.to_string(),
                detail: format!("layer {d} is {} bytes, above {limit} ({max})", layer.size),
            });
        }
        self.client
            .blob(repository, &d, max, limit)
            .await
            .map_err(|e| convert(key, e))
    }

    /// Verifies the layers of a `.sig` (`attestation` false) or `.att` manifest.
    async fn cosign_layers(&self, w: &mut Work<'_>, body: &[u8], attestation: bool) {
        let Some(trust) = w.trust else { return };
        let layers = match Self::layers(&w.key, body) {
            Ok(l) => l,
            Err(e) => {
                w.incomplete = true;
                tracing::warn!(reference = %w.key, error = %e, "cannot read a cosign manifest");
                return;
            }
        };
        let kind = if attestation {
            SignatureKind::Attestation
        } else {
            SignatureKind::Signature
        };
        for l in layers {
            let blob = match self
                .layer_blob(
                    &w.key,
                    &w.repository,
                    &l,
                    MAX_SIGNATURE_BYTES,
                    "MAX_SIGNATURE_BYTES",
                )
                .await
            {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(reference = %w.key, error = %e, "cannot pull a signature layer");
                    w.incomplete = true;
                    continue;
                }
            };
            let layer = Layer {
                media_type: &l.media_type,
                blob: &blob,
                annotations: &l.annotations,
            };
            let keyless = l
                .annotations
                .get(cosign::ANN_CERTIFICATE)
                .is_some_and(|c| !c.is_empty());
            let digest = w.digest.to_string();
            let check = |policy: &Policy, opts: &imagebom_verify::Options| {
                if attestation {
                    cosign::verify_attestation_layer(&layer, &digest, &trust.root, policy, opts)
                } else {
                    let image = Image {
                        digest: &digest,
                        reference: None,
                    };
                    cosign::verify_signature_layer(&layer, &image, &trust.root, policy, opts)
                }
            };
            let result = if keyless {
                check(&Policy::AnyIdentity, &trust.options).map_err(|e| e.to_string())
            } else {
                with_keys(&w.keys, check, &trust.options)
            };
            let mut v = verdict(kind, "tag", result.clone());
            if attestation {
                if v.predicate_type.is_none() {
                    v.predicate_type = l.annotations.get("predicateType").cloned();
                }
                if let Ok(ok) = &result {
                    if let Some(st) = &ok.statement {
                        self.attested_sbom(w, st);
                    }
                }
            }
            w.verdicts.push(v);
        }
    }

    /// Keeps the predicate of a verified SBOM attestation as an attached SBOM.
    fn attested_sbom(&self, w: &mut Work<'_>, st: &imagebom_verify::Statement) {
        use imagebom_verify::PredicateKind;
        if matches!(st.kind(), PredicateKind::CycloneDx | PredicateKind::Spdx) {
            if let Ok(bytes) = serde_json::to_vec_pretty(&st.predicate) {
                let subject = w.digest.clone();
                w.add_sbom(&subject, bytes);
            }
        }
    }

    /// Verifies a Sigstore bundle referrer `digest`.
    async fn bundle_referrer(&self, w: &mut Work<'_>, digest: &Digest) {
        let Some(trust) = w.trust else { return };
        let body = match self.pinned_manifest(&w.key, &w.repository, digest).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(reference = %w.key, error = %e, "cannot pull a bundle referrer");
                w.incomplete = true;
                return;
            }
        };
        let layers = match Self::layers(&w.key, &body) {
            Ok(l) => l,
            Err(_) => {
                w.verdicts.push(verdict(
                    SignatureKind::Signature,
                    "referrer",
                    Err(format!("referrer {digest}: not an image manifest")),
                ));
                return;
            }
        };
        let Some(layer) = layers.into_iter().next() else {
            w.verdicts.push(verdict(
                SignatureKind::Signature,
                "referrer",
                Err(format!("referrer {digest}: no bundle layer")),
            ));
            return;
        };
        let json = match self
            .layer_blob(
                &w.key,
                &w.repository,
                &layer,
                MAX_SIGNATURE_BYTES,
                "MAX_SIGNATURE_BYTES",
            )
            .await
        {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(reference = %w.key, error = %e, "cannot pull a bundle");
                w.incomplete = true;
                return;
            }
        };
        let image = w.digest.to_string();
        let check = |policy: &Policy, opts: &imagebom_verify::Options| {
            imagebom_verify::verify_image_bundle(&json, &image, &trust.root, policy, opts)
        };
        let result = if bundle_is_keyed(&json) {
            with_keys(&w.keys, check, &trust.options)
        } else {
            check(&Policy::AnyIdentity, &trust.options).map_err(|e| e.to_string())
        };
        // Whether it is a DSSE bundle decides the kind even when it does not verify.
        let dsse = serde_json::from_slice::<serde_json::Value>(&json)
            .is_ok_and(|v| v.get("dsseEnvelope").is_some());
        let kind = if dsse {
            SignatureKind::Attestation
        } else {
            SignatureKind::Signature
        };
        if let Ok(ok) = &result {
            if let Some(st) = &ok.statement {
                self.attested_sbom(w, st);
            }
        }
        w.verdicts.push(verdict(kind, "referrer", result));
    }

    /// Pulls the SBOM layers of manifest `body` (a referrer or the `.sbom` tag); `any_layer`
    /// reads every layer (referrers), else only [`SBOM_LAYER_TYPES`].
    async fn sbom_layers(
        &self,
        w: &mut Work<'_>,
        body: &[u8],
        any_layer: bool,
    ) -> Result<(), RegistryError> {
        let subject = w.digest.clone();
        for l in Self::layers(&w.key, body)? {
            if !any_layer && !SBOM_LAYER_TYPES.contains(&l.media_type.as_str()) {
                continue;
            }
            let bytes = self
                .layer_blob(&w.key, &w.repository, &l, MAX_SBOM_BYTES, "MAX_SBOM_BYTES")
                .await?;
            if !w.add_sbom(&subject, bytes) {
                tracing::debug!(reference = %w.key, layer = %l.digest, "an SBOM layer that is neither CycloneDX nor SPDX JSON");
            }
        }
        Ok(())
    }

    /// The referrers of `digest` in `repository` — `(digest, artifactType)`, sorted and
    /// de-duplicated: the referrers API, else the tag schema index.
    async fn referrers(
        &self,
        key: &str,
        repository: &Repository,
        digest: &Digest,
    ) -> Result<Vec<(Digest, String)>, RegistryError> {
        let entries = self
            .client
            .referrers(repository, digest, None)
            .await
            .map_err(|e| convert(key, e))?;
        if entries.len() > MAX_REFERRERS {
            tracing::warn!(reference = %key, count = entries.len(), "more referrers than MAX_REFERRERS ({MAX_REFERRERS}); reading the first");
        }
        let mut out = BTreeSet::new();
        for entry in entries.into_iter().take(MAX_REFERRERS) {
            let parsed = Digest::parse(&entry.digest).map_err(|e| RegistryError::Invalid {
                reference: key.to_string(),
                detail: e.to_string(),
            })?;
            let t = match entry.artifact_type.filter(|t| !t.is_empty()) {
                Some(t) => t,
                None => {
                    // An index entry without artifactType: the manifest says (artifactType,
                    // else config.mediaType, as the referrers API derives it).
                    let body = self.pinned_manifest(key, repository, &parsed).await?;
                    crate::registry::describe_manifest(key, &body, parsed.clone())?
                        .artifact_type
                        .unwrap_or_else(|| "application/vnd.oci.image.config.v1+json".into())
                }
            };
            out.insert((parsed, t));
        }
        Ok(out.into_iter().collect())
    }

    /// Discovers the provenance of `image` at `digest` (see the module documentation); with
    /// `trust`, verifies every signature and attestation found (keyed ones with `keys`) and
    /// pulls the attached SBOMs.
    pub async fn provenance(
        &self,
        image: &ImageRef,
        digest: &Digest,
        keys: &[String],
        trust: Option<&Trust>,
    ) -> Discovered {
        let key = image.normalized();
        let mut out = Discovered {
            provenance: Provenance::default(),
            problems: Vec::new(),
            sboms: Vec::new(),
        };
        let mut w = Work {
            key: key.clone(),
            repository: self.queried(image),
            digest,
            keys: keys
                .iter()
                .filter_map(|pem| PublicKey::from_pem(pem).ok())
                .collect(),
            trust,
            verdicts: Vec::new(),
            incomplete: false,
            sboms: Vec::new(),
        };
        for (suffix, what) in [
            ("sig", "signature"),
            ("att", "attestation"),
            ("sbom", "sbom"),
        ] {
            let tag = cosign_tag(digest, suffix);
            let found = self.tagged_manifest(&key, &w.repository, &tag).await;
            let slot = match what {
                "signature" => &mut out.provenance.signature,
                "attestation" => &mut out.provenance.attestation,
                _ => &mut out.provenance.sbom,
            };
            match found {
                Ok(body) => {
                    *slot = Some(body.is_some());
                    let Some(body) = body else { continue };
                    match suffix {
                        "sig" => self.cosign_layers(&mut w, &body, false).await,
                        "att" => self.cosign_layers(&mut w, &body, true).await,
                        _ if trust.is_some() => {
                            if let Err(e) = self.sbom_layers(&mut w, &body, false).await {
                                out.problems.push(format!("sbom ({tag}): {e}"));
                            }
                        }
                        _ => {}
                    }
                }
                Err(e) => {
                    out.problems.push(format!("{what} ({tag}): {e}"));
                    if matches!(e, RegistryError::Network { .. }) {
                        return out;
                    }
                    w.incomplete = true;
                }
            }
        }
        match self.referrers(&key, &w.repository, digest).await {
            Ok(entries) => {
                let types: BTreeSet<String> = entries.iter().map(|(_, t)| t.clone()).collect();
                out.provenance.referrers = Some(types.into_iter().collect());
                if trust.is_some() {
                    for (d, t) in &entries {
                        if t.starts_with(BUNDLE_PREFIX) {
                            self.bundle_referrer(&mut w, d).await;
                        } else if t == CYCLONEDX_JSON || t == SPDX_JSON {
                            let r = match self.pinned_manifest(&key, &w.repository, d).await {
                                Ok(body) => self.sbom_layers(&mut w, &body, true).await,
                                Err(e) => Err(e),
                            };
                            if let Err(e) = r {
                                out.problems.push(format!("sbom referrer {d}: {e}"));
                            }
                        }
                    }
                }
            }
            Err(e) => {
                out.problems.push(format!("referrers: {e}"));
                w.incomplete = true;
            }
        }
        if trust.is_some() {
            if w.incomplete {
                out.problems.push(format!(
                    "{key}: verification: a signature or attestation could not be read"
                ));
            } else {
                out.provenance.verification = Some(w.verdicts);
            }
        }
        out.sboms = w.sboms;
        out
    }

    /// Discovers the provenance of every target under the same bounds and cache as
    /// [`Resolver::resolve_all`]; results keyed by normalised reference and the digest
    /// checked (an index's and each of its platforms').
    pub async fn provenance_all(
        &self,
        targets: &[Target],
        trust: Option<&Trust>,
    ) -> BTreeMap<(String, Digest), Discovered> {
        let items = targets
            .iter()
            .map(|t| {
                (
                    (t.image.normalized(), t.digest.clone()),
                    t.image.registry().to_string(),
                    t.clone(),
                )
            })
            .collect();
        let trust = trust.cloned();
        self.bounded(items, move |me: Arc<Resolver>, gate: Gate, t: Target| {
            let trust = trust.clone();
            async move {
                // Verdicts depend on the root and keys: they are part of the key.
                let salt = match &trust {
                    Some(tr) => format!(
                        ":{}:{}",
                        tr.root_id,
                        Digest::sha256_of(t.keys.join("\n").as_bytes())
                    ),
                    None => String::new(),
                };
                let cache_key =
                    format!("provenance:{}@{}{salt}", t.image.qualified_name(), t.digest);
                if let Some(c) = me.options.cache.as_ref() {
                    if let Some((hit, records)) = c.get_discovered(&cache_key) {
                        let sboms: Option<Vec<AttachedSbom>> = records
                            .into_iter()
                            .map(|r| {
                                c.get_blob(&r.digest)
                                    .map(|bytes| AttachedSbom { record: r, bytes })
                            })
                            .collect();
                        if let Some(sboms) = sboms {
                            return Discovered {
                                provenance: hit,
                                problems: Vec::new(),
                                sboms,
                            };
                        }
                    }
                }
                let _slot = gate.enter().await;
                let found = me
                    .provenance(&t.image, &t.digest, &t.keys, trust.as_ref())
                    .await;
                // Only complete answers are cached: a check that failed is tried again.
                let complete = found.provenance.is_complete()
                    && (trust.is_none() || found.provenance.verification.is_some());
                if let (true, Some(c)) = (complete, &me.options.cache) {
                    for s in &found.sboms {
                        c.put_blob(&s.bytes);
                    }
                    let records: Vec<AttachedRecord> =
                        found.sboms.iter().map(|s| s.record.clone()).collect();
                    c.put_discovered(&cache_key, &found.provenance, &records);
                }
                found
            }
        })
        .await
    }
}

/// What [`crate::Session::discover`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvenanceReport {
    /// Images checked (every image with a digest).
    pub checked: usize,
    /// Platform manifests of those images (indexes) checked besides them.
    pub platforms: usize,
    /// Every check that could not be made, naming the image, the check and why.
    pub problems: Vec<String>,
    /// Attached SBOMs found: (path under the output directory, bytes).
    pub files: Vec<(String, Vec<u8>)>,
}

/// Every image of `inv` with a resolution (a digest), with that digest and the keys of the
/// recipe's trust policies that cover it; with `platforms`, each platform of an index too
/// (the same keys), after its index.
pub(crate) fn targets(inv: &Inventory, platforms: bool) -> Vec<Target> {
    let mut out = Vec::new();
    for e in inv.images.values() {
        let Some(r) = e.resolution.as_ref() else {
            continue;
        };
        let mut keys = BTreeSet::new();
        for occ in &e.occurrences {
            let trust = inv
                .components
                .iter()
                .find(|c| c.name == occ.component)
                .and_then(|c| c.trust.as_ref());
            if let Some(t) = trust {
                for k in &t.policy_for(&e.reference).keys {
                    keys.insert(k.pem.clone());
                }
            }
        }
        let keys: Vec<String> = keys.into_iter().collect();
        out.push(Target {
            image: e.reference.clone(),
            digest: r.digest.clone(),
            keys: keys.clone(),
        });
        if platforms {
            for p in r.platforms.iter().filter(|p| p.digest != r.digest) {
                out.push(Target {
                    image: e.reference.clone(),
                    digest: p.digest.clone(),
                    keys: keys.clone(),
                });
            }
        }
    }
    out
}

/// The path of an SBOM of `subject` in `format` for the image `repository`
/// (`registry/repository`), relative to the output directory.
pub(crate) fn sbom_path(repository: &str, subject: &Digest, format: SbomFormat) -> String {
    format!(
        "sboms/{repository}@{}-{}.{}.json",
        subject.algorithm(),
        subject.encoded(),
        format.infix()
    )
}

/// Records what was `found` in the resolutions of `inv`: the provenance of each image's
/// digest and of each platform of an index and, replacing earlier attached ones, the attached
/// SBOMs of each of those digests whose check was complete (an attached SBOM wins over a generated one
/// of the same subject and format, which shares its path). Returns the SBOM files to write
/// (path, bytes) with the report.
pub(crate) fn record(
    inv: &mut Inventory,
    found: BTreeMap<(String, Digest), Discovered>,
) -> ProvenanceReport {
    let mut report = ProvenanceReport::default();
    let mut by_image: BTreeMap<String, BTreeMap<Digest, Discovered>> = BTreeMap::new();
    for ((key, digest), d) in found {
        by_image.entry(key).or_default().insert(digest, d);
    }
    for (key, mut found) in by_image {
        for p in found.values().flat_map(|d| &d.problems) {
            report.problems.push(p.clone());
        }
        let Some(e) = inv.images.get_mut(&key) else {
            continue;
        };
        let repository = e.reference.qualified_name();
        let Some(r) = e.resolution.as_mut() else {
            continue;
        };
        report.checked += 1;
        // The image's digest first, then its platforms in index order.
        let mut subjects = vec![r.digest.clone()];
        subjects.extend(r.platforms.iter().map(|p| p.digest.clone()));
        report.platforms += subjects[1..]
            .iter()
            .filter(|d| found.contains_key(*d))
            .count();
        let mut taken = BTreeSet::new();
        for (i, subject) in subjects.iter().enumerate() {
            let Some(d) = found.remove(subject) else {
                continue;
            };
            let checked = d.provenance.verification.is_some();
            if i == 0 {
                r.provenance = Some(d.provenance);
            } else if let Some(p) = r.platforms.iter_mut().find(|p| &p.digest == subject) {
                p.provenance = Some(d.provenance);
            }
            if i == 0 && checked {
                // Attached SBOMs of manifests the image no longer lists go with it.
                r.sboms.retain(|s| {
                    s.source != SbomSource::Attached || subjects[1..].contains(&s.subject)
                });
            }
            if !checked {
                continue;
            }
            r.sboms
                .retain(|s| s.source != SbomSource::Attached || &s.subject != subject);
            for s in d.sboms {
                let path = sbom_path(&repository, &s.record.subject, s.record.format);
                // One file per subject and format: the first found (tag, then referrers) is kept.
                if !taken.insert(path.clone()) {
                    report.problems.push(format!(
                        "{key}: another {} SBOM of {} is attached; only the first is kept",
                        s.record.format.infix(),
                        s.record.subject
                    ));
                    continue;
                }
                r.sboms.retain(|g| g.path != path);
                r.sboms.push(SbomRecord {
                    subject: s.record.subject.clone(),
                    format: s.record.format,
                    source: SbomSource::Attached,
                    path: path.clone(),
                    digest: s.record.digest.clone(),
                    size: s.record.size,
                    tool: None,
                    document_namespace: s.record.document_namespace.clone(),
                });
                report.files.push((path, s.bytes));
            }
        }
        r.sboms.sort();
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbom_documents_are_told_apart_by_their_own_fields() {
        assert_eq!(
            sbom_format(br#"{"bomFormat":"CycloneDX","specVersion":"1.6"}"#),
            Some((SbomFormat::Cyclonedx, None))
        );
        assert_eq!(
            sbom_format(br#"{"spdxVersion":"SPDX-2.3","documentNamespace":"https://x/y"}"#),
            Some((SbomFormat::Spdx, Some("https://x/y".into())))
        );
        // Syft's own JSON, tag-value SPDX and garbage are not kept.
        assert_eq!(sbom_format(br#"{"artifacts":[],"schema":{}}"#), None);
        assert_eq!(sbom_format(b"SPDXVersion: SPDX-2.3"), None);
    }

    #[test]
    fn a_keyed_signature_without_a_key_says_so() {
        let r = with_keys(
            &[],
            |_, _| unreachable!("nothing to verify with"),
            &imagebom_verify::Options::default(),
        );
        assert!(r.unwrap_err().starts_with("no key"));
        assert!(bundle_is_keyed(
            br#"{"verificationMaterial":{"publicKey":{"hint":"x"}}}"#
        ));
        assert!(!bundle_is_keyed(
            br#"{"verificationMaterial":{"certificate":{"rawBytes":"AA=="}}}"#
        ));
    }

    #[test]
    fn platform_sboms_are_recorded_per_subject_and_stale_ones_dropped() {
        use imagebom_model::lock::{Platform, Resolution, ResolutionSource};
        use imagebom_model::ImageEntry;
        let image = ImageRef::parse("registry.test/team/app:1").unwrap();
        let key = image.normalized();
        let (index, a, b, gone) = (
            Digest::sha256_of(b"index"),
            Digest::sha256_of(b"amd64"),
            Digest::sha256_of(b"arm64"),
            Digest::sha256_of(b"no longer listed"),
        );
        let platform = |arch: &str, digest: &Digest| Platform {
            os: "linux".into(),
            architecture: arch.into(),
            variant: None,
            os_version: None,
            digest: digest.clone(),
            provenance: None,
        };
        let attached = |subject: &Digest, text: &[u8]| SbomRecord {
            subject: subject.clone(),
            format: SbomFormat::Cyclonedx,
            source: SbomSource::Attached,
            path: sbom_path("registry.test/team/app", subject, SbomFormat::Cyclonedx),
            digest: Digest::sha256_of(text),
            size: text.len() as u64,
            tool: None,
            document_namespace: None,
        };
        let mut inv = Inventory::default();
        inv.images.insert(
            key.clone(),
            ImageEntry {
                reference: image,
                occurrences: vec![],
                resolution: Some(Resolution {
                    digest: index.clone(),
                    source: ResolutionSource::Registry,
                    media_type: None,
                    size: None,
                    platforms: vec![platform("amd64", &a), platform("arm64", &b)],
                    artifact_type: None,
                    provenance: None,
                    sboms: vec![attached(&gone, b"old"), attached(&b, b"kept")],
                }),
            },
        );
        assert_eq!(
            targets(&inv, true)
                .iter()
                .map(|t| &t.digest)
                .collect::<Vec<_>>(),
            [&index, &a, &b]
        );
        assert_eq!(targets(&inv, false).len(), 1);
        let checked = |sboms: Vec<AttachedSbom>| Discovered {
            provenance: Provenance {
                verification: Some(vec![]),
                ..Provenance::default()
            },
            problems: vec![],
            sboms,
        };
        let doc = br#"{"bomFormat":"CycloneDX","specVersion":"1.6"}"#.to_vec();
        let on_amd64 = AttachedSbom {
            record: AttachedRecord {
                subject: a.clone(),
                format: SbomFormat::Cyclonedx,
                digest: Digest::sha256_of(&doc),
                size: doc.len() as u64,
                document_namespace: None,
            },
            bytes: doc.clone(),
        };
        let mut found = BTreeMap::new();
        found.insert((key.clone(), index.clone()), checked(vec![]));
        found.insert((key.clone(), a.clone()), checked(vec![on_amd64]));
        // arm64 could not be checked: what the lock says of it stays.
        found.insert(
            (key.clone(), b.clone()),
            Discovered {
                provenance: Provenance::default(),
                problems: vec!["sbom: unreachable".into()],
                sboms: vec![],
            },
        );
        let report = record(&mut inv, found);
        assert_eq!((report.checked, report.platforms), (1, 2));
        assert_eq!(report.problems, ["sbom: unreachable"]);
        let path = sbom_path("registry.test/team/app", &a, SbomFormat::Cyclonedx);
        assert_eq!(report.files, [(path.clone(), doc)]);
        let r = inv.images[&key].resolution.as_ref().unwrap();
        let subjects: BTreeSet<(&Digest, &str)> = r
            .sboms
            .iter()
            .map(|s| (&s.subject, s.path.as_str()))
            .collect();
        let b_path = sbom_path("registry.test/team/app", &b, SbomFormat::Cyclonedx);
        assert_eq!(
            subjects,
            BTreeSet::from([(&a, path.as_str()), (&b, b_path.as_str())])
        );
        // Each platform keeps its own record: checked (none found), could not be checked.
        let records: Vec<Option<&Provenance>> =
            r.platforms.iter().map(|p| p.provenance.as_ref()).collect();
        assert_eq!(
            records[0].and_then(|p| p.verification.as_ref()),
            Some(&vec![])
        );
        assert_eq!(records[1], Some(&Provenance::default()));
    }

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
        let d = rt.block_on(Resolver::new(options).provenance(
            &image,
            &Digest::sha256_of(b"m"),
            &[],
            Some(&Trust::production()),
        ));
        assert_eq!(d.provenance, Provenance::default());
        assert_eq!(d.problems.len(), 1, "{:?}", d.problems);
        assert!(d.problems[0].starts_with("signature"), "{:?}", d.problems);
    }
}
