//! The lock file: the resolution of every normalised reference, nothing more.
//!
//! `imagebom.lock` sits beside the recipe. It is JSON with sorted keys and a trailing
//! newline, so that the same resolutions always give the same bytes. `generate` with a lock
//! is offline: the emitters read digests and platforms from here.

use crate::reference::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Current lock format version.
pub const LOCK_VERSION: u32 = 1;

/// Where a resolution came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResolutionSource {
    /// The digest was written in the reference itself; not yet checked against a registry.
    Pinned,
    /// Resolved against the registry, digest verified over the manifest bytes.
    Registry,
}

/// One platform of a multi-platform image (an OCI index / Docker manifest list entry).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Platform {
    /// `os`, e.g. `linux`.
    pub os: String,
    /// `architecture`, e.g. `arm64`.
    pub architecture: String,
    /// `variant`, e.g. `v8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// `os.version` (Windows images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// Digest of the platform's manifest.
    pub digest: Digest,
    /// What the registry holds about this platform's own digest (signatures made with
    /// `cosign sign --recursive`, attached SBOMs), when it was checked; absent when never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

impl Platform {
    /// `os/architecture[/variant]`, as `docker --platform` spells it.
    pub fn spec(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{}/{}", self.os, self.architecture, v),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }
}

/// The digest an image reference resolves to, with what the registry said about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolution {
    /// Digest of the manifest (or index) the reference points to.
    pub digest: Digest,
    /// How the digest was obtained.
    pub source: ResolutionSource,
    /// Manifest media type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Manifest size in bytes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// For an index, every platform it lists; empty for single manifests or when unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<Platform>,
    /// `artifactType` of an OCI artifact (not a runnable image), when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// What the registry holds about the image's supply chain, when it was checked
    /// (`--provenance`); absent when it never was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// The image's own SBOMs stored beside the BOMs (`imagebom sboms`), sorted; absent in
    /// locks written before them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sboms: Vec<SbomRecord>,
}

/// The document format of an image's SBOM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SbomFormat {
    /// CycloneDX JSON.
    Cyclonedx,
    /// SPDX JSON.
    Spdx,
}

impl SbomFormat {
    /// The file-name infix: `cdx` or `spdx` (`….cdx.json`).
    pub fn infix(self) -> &'static str {
        match self {
            SbomFormat::Cyclonedx => "cdx",
            SbomFormat::Spdx => "spdx",
        }
    }
}

/// How an image's SBOM was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SbomSource {
    /// Written by a scanner run on the image by digest (`imagebom sboms --generator`).
    Generated,
    /// Published with the image in its registry (referrer, attestation, `.sbom` tag).
    Attached,
}

/// The tool that wrote an SBOM.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SbomTool {
    /// `syft`, `trivy`, …
    pub name: String,
    /// Its version, as it reports it.
    pub version: String,
}

/// One SBOM of an image (or of one platform of an index), stored under the output directory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SbomRecord {
    /// The manifest the SBOM describes: the image's digest, or one platform's.
    pub subject: Digest,
    /// Document format.
    pub format: SbomFormat,
    /// `generated` or `attached`.
    pub source: SbomSource,
    /// Path relative to the output directory:
    /// `sboms/<registry>/<repository>@sha256-<hex>.<cdx|spdx>.json`.
    pub path: String,
    /// Digest of the file's bytes.
    pub digest: Digest,
    /// Size of the file in bytes.
    pub size: u64,
    /// The generator (for `generated`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<SbomTool>,
    /// `documentNamespace` of an SPDX SBOM (what an `externalDocumentRef` names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_namespace: Option<String>,
}

/// Supply-chain artifacts found in the registry for one image digest.
///
/// For each field `None` (`null` in the lock) means it could not be checked (registry
/// unreachable, access denied); `Some(false)` / an empty list means it was checked and
/// nothing was there.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Provenance {
    /// A cosign signature: the tag `sha256-<hex>.sig` exists.
    #[serde(default)]
    pub signature: Option<bool>,
    /// Cosign attestations: the tag `sha256-<hex>.att` exists.
    #[serde(default)]
    pub attestation: Option<bool>,
    /// An SBOM attached with `cosign attach sbom`: the tag `sha256-<hex>.sbom` exists.
    #[serde(default)]
    pub sbom: Option<bool>,
    /// The `artifactType` of every OCI 1.1 referrer (referrers API, or the `sha256-<hex>`
    /// referrers tag schema index), sorted and de-duplicated.
    #[serde(default)]
    pub referrers: Option<Vec<String>>,
    /// The verdict on every signature and attestation found, in discovery order; absent
    /// (unknown) when they were never verified, empty when verification found none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Vec<SignatureVerdict>>,
}

/// What a verification record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureKind {
    /// A signature over the image digest (cosign `.sig` layer or a message-signature bundle).
    Signature,
    /// A DSSE attestation whose in-toto subject is the image digest.
    Attestation,
}

/// The outcome of verifying one signature or attestation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Cryptographically verified (chain, log, digest); the signer is recorded, whether
    /// the recipe trusts it is `check`'s decision.
    Verified,
    /// Present but not verified; `reason` says why.
    Unverified,
}

/// One signature or attestation found for an image digest, and its verdict.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignatureVerdict {
    /// Signature or attestation.
    pub kind: SignatureKind,
    /// Where it was found: `tag` (cosign's `sha256-<hex>.sig` / `.att`) or `referrer` (an
    /// OCI 1.1 referrer holding a Sigstore bundle).
    pub source: String,
    /// The outcome.
    pub verdict: Verdict,
    /// Keyless signer: the certificate's SAN (verified only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Keyless signer: the certificate's OIDC issuer (verified only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Keyed signer: the Sigstore key ID, hex SHA-256 of the SubjectPublicKeyInfo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// The in-toto predicate type, for attestations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    /// Why it is not verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What a verified SLSA provenance attestation says about the build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildProvenance>,
}

/// The build an SLSA provenance attestation (v0.2 or v1) describes.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuildProvenance {
    /// `builder.id` (v0.2) or `runDetails.builder.id` (v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder_id: Option<String>,
    /// `buildType` (v0.2) or `buildDefinition.buildType` (v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_type: Option<String>,
    /// The source repository (without the `git+` scheme prefix and `@ref`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_repository: Option<String>,
    /// The ref the source was built from (`refs/tags/v1.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<String>,
    /// The source commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_commit: Option<String>,
}

impl Provenance {
    /// Whether every check gave an answer.
    pub fn is_complete(&self) -> bool {
        self.signature.is_some()
            && self.attestation.is_some()
            && self.sbom.is_some()
            && self.referrers.is_some()
    }
}

/// The lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lock {
    /// Format version; must be [`LOCK_VERSION`].
    pub lock_version: u32,
    /// One entry per normalised reference.
    pub images: BTreeMap<String, Resolution>,
}

impl Default for Lock {
    fn default() -> Self {
        Lock {
            lock_version: LOCK_VERSION,
            images: BTreeMap::new(),
        }
    }
}

/// Why a lock file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The JSON is malformed or does not match the format.
    #[error("{path}:{line}:{column}: invalid lock file: {message}")]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// The format version is not one this build reads.
    #[error("{path}: lock format version {found} is not supported (expected {LOCK_VERSION})")]
    Version { path: String, found: u32 },
    /// A key is not a valid or not a normalised reference.
    #[error(
        "{path}: lock entry {key:?} is not a normalised image reference (expected {expected:?})"
    )]
    Key {
        path: String,
        key: String,
        expected: String,
    },
}

impl Lock {
    /// Parses lock file text; `path` is only used in errors.
    pub fn from_json(path: &str, text: &str) -> Result<Lock, LockError> {
        let lock: Lock = serde_json::from_str(text).map_err(|e| LockError::Parse {
            path: path.to_string(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        if lock.lock_version != LOCK_VERSION {
            return Err(LockError::Version {
                path: path.to_string(),
                found: lock.lock_version,
            });
        }
        for key in lock.images.keys() {
            let expected = crate::ImageRef::parse(key)
                .map(|r| r.normalized())
                .unwrap_or_else(|e| e.to_string());
            if &expected != key {
                return Err(LockError::Key {
                    path: path.to_string(),
                    key: key.clone(),
                    expected,
                });
            }
        }
        Ok(lock)
    }

    /// Serialises the lock: pretty JSON, sorted keys, trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("lock serialises");
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_key_check() {
        let d = Digest::sha256_of(b"x");
        let mut lock = Lock::default();
        lock.images.insert(
            "docker.io/library/busybox:1.36".into(),
            Resolution {
                digest: d.clone(),
                source: ResolutionSource::Registry,
                media_type: Some("application/vnd.oci.image.index.v1+json".into()),
                size: Some(100),
                platforms: vec![Platform {
                    os: "linux".into(),
                    architecture: "arm64".into(),
                    variant: Some("v8".into()),
                    os_version: None,
                    digest: d,
                    provenance: None,
                }],
                artifact_type: None,
                provenance: Some(Provenance {
                    signature: Some(true),
                    attestation: Some(false),
                    sbom: None,
                    referrers: Some(vec!["application/vnd.example+json".into()]),
                    verification: Some(vec![
                        SignatureVerdict {
                            kind: SignatureKind::Signature,
                            source: "referrer".into(),
                            verdict: Verdict::Verified,
                            subject: Some(
                                "https://github.com/acme/app/.github/workflows/r.yml@refs/tags/v1"
                                    .into(),
                            ),
                            issuer: Some("https://token.actions.githubusercontent.com".into()),
                            key_id: None,
                            predicate_type: None,
                            reason: None,
                            build: None,
                        },
                        SignatureVerdict {
                            kind: SignatureKind::Attestation,
                            source: "tag".into(),
                            verdict: Verdict::Verified,
                            subject: None,
                            issuer: None,
                            key_id: Some("9f".into()),
                            predicate_type: Some("https://slsa.dev/provenance/v1".into()),
                            reason: None,
                            build: Some(BuildProvenance {
                                builder_id: Some("https://github.com/actions/runner".into()),
                                build_type: None,
                                source_repository: Some("https://github.com/acme/app".into()),
                                source_ref: Some("refs/tags/v1".into()),
                                source_commit: Some("abc123".into()),
                            }),
                        },
                    ]),
                }),
                sboms: vec![SbomRecord {
                    subject: Digest::sha256_of(b"x"),
                    format: SbomFormat::Cyclonedx,
                    source: SbomSource::Generated,
                    path: "sboms/docker.io/library/busybox@sha256-2d.cdx.json".into(),
                    digest: Digest::sha256_of(b"sbom"),
                    size: 4,
                    tool: Some(SbomTool {
                        name: "syft".into(),
                        version: "1.18.1".into(),
                    }),
                    document_namespace: None,
                }],
            },
        );
        let text = lock.to_json();
        assert!(text.contains("\"sbom\": null"), "{text}");
        assert!(text.contains("\"source\": \"generated\""), "{text}");
        assert_eq!(Lock::from_json("l", &text).unwrap(), lock);
        let bad = text.replace("docker.io/library/busybox:1.36", "busybox:1.36");
        let e = Lock::from_json("imagebom.lock", &bad).unwrap_err();
        assert!(e.to_string().contains("not a normalised"), "{e}");
        let e = Lock::from_json(
            "imagebom.lock",
            "{\"lockVersion\": 1, \"images\": {}, \"x\": 1}",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("imagebom.lock:1:"), "{e}");
    }

    #[test]
    fn locks_without_provenance_still_read() {
        let text = format!(
            "{{\"lockVersion\": 1, \"images\": {{\"docker.io/library/busybox:1\": {{\"digest\": \"{}\", \"source\": \"pinned\"}}}}}}",
            Digest::sha256_of(b"x")
        );
        let lock = Lock::from_json("l", &text).unwrap();
        assert_eq!(lock.images["docker.io/library/busybox:1"].provenance, None);
        assert!(lock.images["docker.io/library/busybox:1"].sboms.is_empty());
        assert_eq!(
            lock.to_json(),
            Lock::from_json("l", &lock.to_json()).unwrap().to_json()
        );
        assert!(!lock.to_json().contains("sboms"));
        let partial = text.replace(
            "\"pinned\"}",
            "\"pinned\", \"provenance\": {\"signature\": true}}",
        );
        let p = Lock::from_json("l", &partial).unwrap().images["docker.io/library/busybox:1"]
            .provenance
            .clone()
            .unwrap();
        assert_eq!(p.signature, Some(true));
        assert!(p.attestation.is_none() && !p.is_complete());
        assert!(p.verification.is_none(), "absent means never verified");
        let bad = text.replace(
            "\"pinned\"}",
            "\"pinned\", \"provenance\": {\"verification\": [{\"kind\": \"signature\", \"source\": \"tag\", \"verdict\": \"verified\", \"who\": 1}]}}",
        );
        let e = Lock::from_json("imagebom.lock", &bad).unwrap_err();
        assert!(e.to_string().contains("unknown field `who`"), "{e}");
    }
}
