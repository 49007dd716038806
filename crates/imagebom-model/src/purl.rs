//! Package URLs for container images, in the purl specification's canonical form.
//!
//! `pkg:oci/<name>@<digest>?repository_url=<registry/repository>&tag=<tag>`: the name is the
//! last path component, lower-cased; the version is the manifest digest (written as is,
//! `sha256:…`); `repository_url` carries the fully qualified repository (its `/` encoded
//! as `%2F`) and qualifiers are sorted. The purl-spec's own test suite is run against this
//! module (see `tests/purl_conformance.rs`).

use crate::reference::{Digest, ImageRef};
pub use packageurl::PackageUrl;

/// Builds the `pkg:oci` purl of `image`, with `digest` as the version when known.
///
/// Without a digest the purl has no version: a tag is mutable, and the spec says the
/// version of an OCI purl is the digest. The tag then appears only as a qualifier.
pub fn oci_purl(image: &ImageRef, digest: Option<&Digest>) -> String {
    let name = image.name().to_ascii_lowercase();
    let mut p = PackageUrl::new("oci", name).expect("image names are valid purl names");
    let version = digest.or(image.digest()).map(|d| d.to_string());
    if let Some(v) = version {
        p.with_version(v).expect("digest is a valid purl version");
    }
    p.add_qualifier("repository_url", image.qualified_name())
        .expect("valid qualifier");
    if let Some(t) = image.tag() {
        p.add_qualifier("tag", t.to_string())
            .expect("valid qualifier");
    }
    p.to_string()
}

/// Parses a purl, returning `None` when it is not a valid package URL.
pub fn parse(purl: &str) -> Option<PackageUrl<'static>> {
    purl.parse::<PackageUrl<'static>>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_oci_purl() {
        let r = ImageRef::parse("debian:latest").unwrap();
        let d = Digest::parse(&format!("sha256:{}", "a".repeat(64))).unwrap();
        assert_eq!(
            oci_purl(&r, Some(&d)),
            format!(
                "pkg:oci/debian@sha256:{}?repository_url=docker.io%2Flibrary%2Fdebian&tag=latest",
                "a".repeat(64)
            )
        );
        let r = ImageRef::parse("ghcr.io/Org/x".to_lowercase().as_str()).unwrap();
        assert_eq!(
            oci_purl(&r, None),
            "pkg:oci/x?repository_url=ghcr.io%2Forg%2Fx"
        );
    }
}
