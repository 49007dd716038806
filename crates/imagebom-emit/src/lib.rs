//! Emitters: pure functions from a final [`Inventory`] to output documents.
//!
//! - [`cyclonedx_json`]: CycloneDX 1.6 JSON (via `serde-cyclonedx`'s `v_1_6` model);
//! - [`spdx_json`]: SPDX 2.3 JSON (via `serde-spdx`'s `v_2_3` model);
//! - [`markdown`]: a human-readable inventory page;
//! - [`diff::diff`]: drift between two BOMs (CycloneDX or SPDX, any tool's `pkg:oci`/`pkg:docker`);
//! - [`policy::check`]: release gates, as text or SARIF;
//! - [`admission::admission_policy`]: Kyverno / policy-controller policies enforcing the BOM;
//! - [`mirror::mirror`]: air-gap mirror lists (plain, registries, `skopeo sync`, `skopeo copy`, mapping);
//! - [`merge::merge`]: partial BOMs of one recipe joined into one, deterministically;
//! - [`export`]: scanner inputs (CI matrix, `repo@digest` lines, a Dependency-Track layout).
//!
//! Output depends only on the inventory and the [`EmitContext`]: no clock, no randomness,
//! no hash-map order. Document identifiers (`serialNumber`, `documentNamespace`) are
//! UUIDv5 digests of the content, so the same input gives byte-identical output.
//!
//! # `imagebom:*` properties (CycloneDX)
//!
//! | property | on | value |
//! |---|---|---|
//! | `imagebom:reference` | image | the reference as written (smallest spelling seen) |
//! | `imagebom:normalized` | image | the fully qualified reference |
//! | `imagebom:category` | image | one per category it was found under (`pod`, `cr`, …) |
//! | `imagebom:occurrence` | image | one per occurrence: `component\|source\|kind/name\|path\|category` |
//! | `imagebom:resolution` | image | `registry`, `pinned` or `unresolved` |
//! | `imagebom:media-type` | image | manifest media type, when known |
//! | `imagebom:platform` | image | one per platform: `os/arch[/variant] digest` |
//! | `imagebom:reason` | image | why a recipe-declared image is listed |
//! | `imagebom:signature`, `imagebom:attestation`, `imagebom:sbom` | image | `true`, `false` or `unknown`, from verification records, referrer `artifactType`s and cosign's `.sig` / `.att` / `.sbom` tags (only once provenance was checked) |
//! | `imagebom:referrers`, `imagebom:referrer-artifact-type` | image | number of OCI 1.1 referrers (or `unknown`); one `artifactType` each |
//! | `imagebom:signed` | image | `verified`, `unverified`, `none` or `unknown` |
//! | `imagebom:signer-identity`, `imagebom:signer-issuer`, `imagebom:signer-key-id` | image | each verified signer |
//! | `imagebom:verification` | image | one per record: `kind\|source\|verdict\|signer\|predicateType\|reason` |
//! | `imagebom:build-builder-id`, `imagebom:build-type`, `imagebom:build-source-{repository,ref,commit}` | image | what verified SLSA provenance says |
//! | `imagebom:chart-repository`, `imagebom:chart`, `imagebom:chart-version`, `imagebom:chart-pinned` | component | the Helm chart |
//! | `imagebom:namespace`, `imagebom:manifest` | component | target namespace, manifest globs |
//! | `imagebom:warning` | metadata | one per extraction warning |
//!
//! SPDX 2.3 has no properties: the provenance of an image is written as package
//! `annotations` (`annotationType: OTHER`, by the tool) whose comment is `name=value`.

pub mod admission;
mod cyclonedx;
pub mod diff;
pub mod export;
pub mod markdown;
pub mod merge;
pub mod mirror;
pub mod policy;
mod provenance;
mod spdx;
#[cfg(feature = "schema-validation")]
pub mod validate;

use imagebom_model::{Digest, ImageEntry, ImageRef};

pub use cyclonedx::{
    cyclonedx_json, cyclonedx_json_as, cyclonedx_json_nested, Nested, SpecVersion,
};
pub use markdown::markdown;
pub use spdx::spdx_json;

/// What an emitted document says about its own making.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmitContext {
    /// Creation time, RFC 3339 UTC (`2026-11-24T00:00:00Z`); see [`timestamp_from_epoch`].
    pub timestamp: String,
    /// Tool name (`imagebom`).
    pub tool_name: String,
    /// Tool version.
    pub tool_version: String,
}

/// Why a document could not be emitted.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// Serialising the document failed.
    #[error("cannot serialise {format} document: {message}")]
    Serialize {
        format: &'static str,
        message: String,
    },
    /// The format writes mirror destinations and no target registry was given.
    #[error("{format}: a mirror target registry is required (--target registry[:port][/prefix])")]
    MissingTarget { format: &'static str },
    /// A BOM given to `diff` is not one.
    #[error("{file}: {message}")]
    Bom { file: String, message: String },
    /// Two repositories would land on the same name in the mirror.
    #[error("{first} and {second} would both be mirrored as {name:?}; mirror them separately")]
    MirrorCollision {
        first: String,
        second: String,
        name: String,
    },
    /// `--platform`: images whose index lists none of the platforms asked for.
    #[error("no platform {platforms} in {}: {} (--allow-missing-platform leaves them out)", if images.len() == 1 { "this image" } else { "these images" }, images.join(", "))]
    MissingPlatform {
        platforms: String,
        images: Vec<String>,
    },
    /// No image has a trusted signer in the recipe, so no admission policy can be written.
    #[error("no image has a signer in the recipe's trust policy (`verify`), nothing to enforce ({skipped} image(s) not enforced)")]
    NothingToEnforce { skipped: usize },
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC (`1970-01-01T00:00:00Z`).
pub fn timestamp_from_epoch(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Namespace of every UUIDv5 imagebom derives.
fn namespace() -> uuid::Uuid {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, b"https://imagebom.dev/")
}

/// UUIDv5 of `content` in imagebom's namespace.
pub(crate) fn content_uuid(content: &[u8]) -> uuid::Uuid {
    uuid::Uuid::new_v5(&namespace(), content)
}

/// The digest to publish for an image: resolved, else written in the reference.
pub(crate) fn digest_of(e: &ImageEntry) -> Option<&Digest> {
    e.digest()
}

/// `tag`, else the digest, else `latest` (the implicit tag).
pub(crate) fn version_of(r: &ImageRef, digest: Option<&Digest>) -> String {
    match (r.tag(), digest) {
        (Some(t), _) => t.to_string(),
        (None, Some(d)) => d.to_string(),
        (None, None) => "latest".to_string(),
    }
}

/// `registry/namespace` of an image: who publishes it, as far as the reference tells.
pub(crate) fn publisher_of(r: &ImageRef) -> String {
    match r.repository().rsplit_once('/') {
        Some((ns, _)) => format!("{}/{}", r.registry(), ns),
        None => r.registry().to_string(),
    }
}

/// How an image got its digest.
pub(crate) fn resolution_of(e: &ImageEntry) -> &'static str {
    match &e.resolution {
        Some(r) => match r.source {
            imagebom_model::ResolutionSource::Registry => "registry",
            imagebom_model::ResolutionSource::Pinned => "pinned",
        },
        None if e.reference.digest().is_some() => "pinned",
        None => "unresolved",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_formatting() {
        assert_eq!(timestamp_from_epoch(0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp_from_epoch(1_764_000_000), "2025-11-24T16:00:00Z");
        assert_eq!(timestamp_from_epoch(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(timestamp_from_epoch(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
