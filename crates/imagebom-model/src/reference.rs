//! Image references, parsed by the OCI distribution reference grammar.
//!
//! ```text
//! reference   := name [ ":" tag ] [ "@" digest ]
//! name        := [ domain "/" ] path-component ( "/" path-component )*
//! domain      := host [ ":" port ]          host := dns-name | IPv4 | "[" IPv6 "]"
//! path-comp   := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag         := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//! digest      := algorithm ":" encoded      algorithm := [a-z0-9]+ ( [+._-] [a-z0-9]+ )*
//! ```
//!
//! The first path element is a registry host only when it contains a `.` or a `:`, is
//! `localhost`, or is a bracketed IPv6 address (Docker's rule); otherwise the image lives on
//! Docker Hub, and a single-element Docker Hub name gets the `library/` prefix.
//! `sha256` and `sha512` digests must have exactly 64 / 128 lowercase hex digits; other
//! algorithms are accepted by the grammar and flagged ([`Digest::is_registered`]).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Docker Hub's canonical registry name.
pub const DOCKER_HUB: &str = "docker.io";
/// The longest repository name (registry included, as written and once normalised) the
/// grammar allows.
pub const NAME_TOTAL_MAX: usize = 255;

/// Why a string is not a valid image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// The string is empty (or only whitespace).
    #[error("empty image reference")]
    Empty,
    /// The string contains whitespace or control characters.
    #[error("image reference {0:?} contains whitespace or control characters")]
    Whitespace(String),
    /// The registry host or port is malformed.
    #[error("image reference {reference:?}: invalid registry host {host:?}")]
    InvalidHost { reference: String, host: String },
    /// A repository path component breaks the grammar (upper case, bad separators, empty).
    #[error("image reference {reference:?}: invalid repository path component {component:?} (lower-case letters, digits and single `.`, `_`, `__` or `-` separators)")]
    InvalidPath {
        reference: String,
        component: String,
    },
    /// The repository name is longer than 255 characters.
    #[error(
        "image reference {reference:?}: repository name is longer than {NAME_TOTAL_MAX} characters"
    )]
    NameTooLong { reference: String },
    /// The tag breaks the grammar.
    #[error("image reference {reference:?}: invalid tag {tag:?} (at most 128 of [A-Za-z0-9_.-], not starting with `.` or `-`)")]
    InvalidTag { reference: String, tag: String },
    /// The digest breaks the grammar or its algorithm's length rule.
    #[error("image reference {reference:?}: invalid digest {digest:?}: {why}")]
    InvalidDigest {
        reference: String,
        digest: String,
        why: &'static str,
    },
}

/// A content digest: `algorithm:encoded`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    algorithm: String,
    encoded: String,
}

impl Digest {
    /// Parses `algorithm:encoded` by the OCI image-spec digest grammar. `sha256` must have
    /// 64 and `sha512` 128 lowercase hex digits; other algorithms need at least 32 hex digits.
    pub fn parse(s: &str) -> Result<Digest, RefError> {
        Self::parse_in(s, s)
    }

    fn parse_in(s: &str, reference: &str) -> Result<Digest, RefError> {
        let bad = |why| RefError::InvalidDigest {
            reference: reference.to_string(),
            digest: s.to_string(),
            why,
        };
        let (alg, enc) = s.split_once(':').ok_or_else(|| bad("missing `:`"))?;
        if !valid_algorithm(alg) {
            return Err(bad("invalid algorithm name"));
        }
        match alg {
            "sha256" | "sha512" => {
                let want = if alg == "sha256" { 64 } else { 128 };
                if enc.len() != want {
                    return Err(bad(if alg == "sha256" {
                        "sha256 needs exactly 64 hex digits"
                    } else {
                        "sha512 needs exactly 128 hex digits"
                    }));
                }
                if !enc.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                    return Err(bad("encoded part must be lowercase hex"));
                }
            }
            _ => {
                if enc.len() < 32 || !enc.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad("encoded part must be at least 32 hex digits"));
                }
            }
        }
        Ok(Digest {
            algorithm: alg.to_string(),
            encoded: enc.to_string(),
        })
    }

    /// Digest of `bytes` with SHA-256.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        use sha2::Digest as _;
        Digest {
            algorithm: "sha256".into(),
            encoded: hex::encode(sha2::Sha256::digest(bytes)),
        }
    }

    /// Digest of `bytes` with `algorithm` (`sha256` or `sha512`); `None` for any other.
    pub fn of(algorithm: &str, bytes: &[u8]) -> Option<Digest> {
        use sha2::Digest as _;
        let encoded = match algorithm {
            "sha256" => hex::encode(sha2::Sha256::digest(bytes)),
            "sha512" => hex::encode(sha2::Sha512::digest(bytes)),
            _ => return None,
        };
        Some(Digest {
            algorithm: algorithm.to_string(),
            encoded,
        })
    }

    /// The algorithm, e.g. `sha256`.
    pub fn algorithm(&self) -> &str {
        &self.algorithm
    }

    /// The encoded part (hex for the registered algorithms).
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// True for `sha256`, the only algorithm registries must support and policies accept.
    pub fn is_sha256(&self) -> bool {
        self.algorithm == "sha256"
    }

    /// True for the algorithms the OCI image-spec registers (`sha256`, `sha512`).
    pub fn is_registered(&self) -> bool {
        matches!(self.algorithm.as_str(), "sha256" | "sha512")
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.encoded)
    }
}

impl std::str::FromStr for Digest {
    type Err = RefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn valid_algorithm(alg: &str) -> bool {
    // algorithm-component ([+._-] algorithm-component)*, components [a-z0-9]+
    !alg.is_empty()
        && alg.split(['+', '.', '_', '-']).all(|c| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A parsed image reference. Identity is [`ImageRef::normalized`]; the text as written is
/// kept in [`ImageRef::original`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    original: String,
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
    explicit_registry: bool,
}

impl ImageRef {
    /// Parses `s` (surrounding whitespace is not allowed inside; leading/trailing is trimmed).
    pub fn parse(s: &str) -> Result<ImageRef, RefError> {
        let original = s.trim();
        if original.is_empty() {
            return Err(RefError::Empty);
        }
        if original
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(RefError::Whitespace(original.to_string()));
        }
        let reference = original;
        // Split off the digest first: it is the only part that may contain ':' after '@'.
        let (rest, digest) = match reference.split_once('@') {
            Some((r, d)) => (r, Some(Digest::parse_in(d, reference)?)),
            None => (reference, None),
        };
        // A tag is after the last ':' that follows the last '/'.
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let i = last_slash + i;
                (&rest[..i], Some(&rest[i + 1..]))
            }
            None => (rest, None),
        };
        if let Some(t) = tag {
            if !valid_tag(t) {
                return Err(RefError::InvalidTag {
                    reference: reference.to_string(),
                    tag: t.to_string(),
                });
            }
        }
        if name.len() > NAME_TOTAL_MAX {
            return Err(RefError::NameTooLong {
                reference: reference.to_string(),
            });
        }
        let (registry, path, explicit_registry) = split_domain(name, reference)?;
        for comp in path.split('/') {
            if !valid_path_component(comp) {
                return Err(RefError::InvalidPath {
                    reference: reference.to_string(),
                    component: comp.to_string(),
                });
            }
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        // As Go's `ParseNormalizedNamed`, the limit holds for the normalised name too, so
        // every normal form parses again (lock keys are normal forms).
        if registry.len() + 1 + repository.len() > NAME_TOTAL_MAX {
            return Err(RefError::NameTooLong {
                reference: reference.to_string(),
            });
        }
        Ok(ImageRef {
            original: original.to_string(),
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest,
            explicit_registry,
        })
    }

    /// Builds a reference from parts (as CR triplets and `{registry, repository, tag, digest}`
    /// maps spell them) and parses the result, so the grammar is enforced the same way.
    pub fn from_parts(
        registry: Option<&str>,
        repository: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> Result<ImageRef, RefError> {
        let mut s = String::new();
        if let Some(r) = registry.filter(|r| !r.is_empty()) {
            s.push_str(r.trim_end_matches('/'));
            s.push('/');
        }
        s.push_str(repository);
        if let Some(t) = tag.filter(|t| !t.is_empty()) {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = digest.filter(|d| !d.is_empty()) {
            s.push('@');
            s.push_str(d);
        }
        ImageRef::parse(&s)
    }

    /// The text as written in the input (trimmed).
    pub fn original(&self) -> &str {
        &self.original
    }

    /// Registry host (and port), Docker Hub normalised to `docker.io`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// Repository path within the registry (`library/busybox` for `busybox`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if one was written.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if one was written.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// True when the reference named its registry (rather than defaulting to Docker Hub).
    pub fn has_explicit_registry(&self) -> bool {
        self.explicit_registry
    }

    /// True when neither tag nor digest was written, so `:latest` is implied.
    pub fn is_implicit_latest(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }

    /// The last path component (`busybox` for `docker.io/library/busybox`).
    pub fn name(&self) -> &str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
    }

    /// `registry/repository`, fully qualified.
    pub fn qualified_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The identity of this reference: `registry/repository[:tag][@digest]`, fully qualified,
    /// with `:latest` when neither tag nor digest is written (that is what a runtime pulls).
    pub fn normalized(&self) -> String {
        let mut s = self.qualified_name();
        match (&self.tag, &self.digest) {
            (None, None) => s.push_str(":latest"),
            (t, d) => {
                if let Some(t) = t {
                    s.push(':');
                    s.push_str(t);
                }
                if let Some(d) = d {
                    s.push('@');
                    s.push_str(&d.to_string());
                }
            }
        }
        s
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl std::str::FromStr for ImageRef {
    type Err = RefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ImageRef::parse(s)
    }
}

impl Serialize for ImageRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.original)
    }
}

impl<'de> Deserialize<'de> for ImageRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ImageRef::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Splits `name` into (registry, path, explicit) by Docker's rule.
fn split_domain(name: &str, reference: &str) -> Result<(String, String, bool), RefError> {
    let bad_host = |h: &str| RefError::InvalidHost {
        reference: reference.to_string(),
        host: h.to_string(),
    };
    // A bracketed IPv6 host may itself contain ':' and so must be found before splitting.
    let first_end = if name.starts_with('[') {
        match name.find("]") {
            Some(i) => name[i..].find('/').map(|j| i + j),
            None => return Err(bad_host(name)),
        }
    } else {
        name.find('/')
    };
    let Some(i) = first_end else {
        if name.starts_with('[') {
            return Err(RefError::InvalidPath {
                reference: reference.to_string(),
                component: name.to_string(),
            });
        }
        return Ok((DOCKER_HUB.to_string(), name.to_string(), false));
    };
    let first = &name[..i];
    let path = &name[i + 1..];
    let is_domain = first.contains('.')
        || first.contains(':')
        || first == "localhost"
        || first.starts_with('[')
        || first.bytes().any(|b| b.is_ascii_uppercase());
    if !is_domain {
        return Ok((DOCKER_HUB.to_string(), name.to_string(), false));
    }
    if !valid_domain(first) {
        return Err(bad_host(first));
    }
    let registry = match first {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => DOCKER_HUB,
        other => other,
    };
    Ok((registry.to_string(), path.to_string(), true))
}

fn valid_domain(d: &str) -> bool {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return false;
        };
        let v6 = &rest[..end];
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        let after = &rest[end + 1..];
        if after.is_empty() {
            return true;
        }
        match after.strip_prefix(':') {
            Some(p) => return !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()),
            None => return false,
        }
    } else {
        match d.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    !host.is_empty()
        && host.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !c.starts_with('-')
                && !c.ends_with('-')
        })
}

fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        // separator: '.', '_', '__' or '-'+
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || i >= b.len() || !is_alnum(b[i]) {
            return false;
        }
    }
    true
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:594ceea76b01c592858f803f9ff4d2cb40542cae2060410b2c95f75907d659e1";

    fn n(s: &str) -> String {
        ImageRef::parse(s).unwrap().normalized()
    }

    #[test]
    fn docker_hub_normalisation() {
        assert_eq!(n("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(n("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(n("bitnami/redis:8"), "docker.io/bitnami/redis:8");
        assert_eq!(n("docker.io/busybox"), "docker.io/library/busybox:latest");
        assert_eq!(
            n("index.docker.io/library/busybox:1"),
            "docker.io/library/busybox:1"
        );
        let r = ImageRef::parse("busybox").unwrap();
        assert!(r.is_implicit_latest());
        assert!(!r.has_explicit_registry());
        assert_eq!(r.original(), "busybox");
        assert_eq!(r.name(), "busybox");
    }

    #[test]
    fn hosts_ports_ipv6_localhost() {
        let r = ImageRef::parse("localhost:5000/team/app:v1").unwrap();
        assert_eq!(r.registry(), "localhost:5000");
        assert_eq!(r.repository(), "team/app");
        assert_eq!(r.tag(), Some("v1"));
        let r = ImageRef::parse("localhost/app").unwrap();
        assert_eq!(r.registry(), "localhost");
        let r = ImageRef::parse("[::1]:5000/app:1").unwrap();
        assert_eq!(r.registry(), "[::1]:5000");
        assert_eq!(r.repository(), "app");
        assert_eq!(r.tag(), Some("1"));
        let r = ImageRef::parse(&format!("[2001:db8::1]/ns/app@{D}")).unwrap();
        assert_eq!(r.registry(), "[2001:db8::1]");
        assert!(ImageRef::parse("[::1/app").is_err());
        assert!(ImageRef::parse("[zz::1]:5000/app").is_err());
        let r = ImageRef::parse("registry.example.com:443/a/b/c:t").unwrap();
        assert_eq!(r.registry(), "registry.example.com:443");
        assert_eq!(r.repository(), "a/b/c");
    }

    #[test]
    fn tag_and_digest() {
        let s = format!("registry.k8s.io/ingress-nginx/controller:v1.15.1@{D}");
        let r = ImageRef::parse(&s).unwrap();
        assert_eq!(r.tag(), Some("v1.15.1"));
        assert_eq!(r.digest().unwrap().to_string(), D);
        assert_eq!(r.normalized(), s);
        let r = ImageRef::parse(&format!("nvcr.io/nvidia/driver@{D}")).unwrap();
        assert_eq!(r.tag(), None);
        assert!(!r.is_implicit_latest());
        assert_eq!(r.normalized(), format!("nvcr.io/nvidia/driver@{D}"));
    }

    #[test]
    fn digest_rules() {
        let short = &D[..D.len() - 1];
        let e = ImageRef::parse(&format!("busybox@{short}")).unwrap_err();
        assert!(e.to_string().contains("64 hex"), "{e}");
        assert!(ImageRef::parse(&format!(
            "busybox@{}",
            D.to_uppercase().replace("SHA", "sha")
        ))
        .is_err());
        let other = format!("busybox@sha384:{}", "a".repeat(96));
        let r = ImageRef::parse(&other).unwrap();
        assert!(!r.digest().unwrap().is_registered());
        assert!(!r.digest().unwrap().is_sha256());
        assert!(ImageRef::parse("busybox@sha256").is_err());
        assert!(ImageRef::parse("busybox@md5:abc").is_err());
        assert!(Digest::parse(&format!("sha512:{}", "0".repeat(128)))
            .unwrap()
            .is_registered());
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "",
            "  ",
            "Busybox",
            "busybox:",
            "busybox:-x",
            "a//b",
            "/abs/path",
            "ns/Upper:1",
            "with space:1",
            "a..b",
            "a-",
            "registry.example.com:port/app",
            "-bad.example.com/app",
            "app:tag:tag2",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let long_tag = format!("app:{}", "t".repeat(129));
        assert!(ImageRef::parse(&long_tag).is_err());
        let long_name = format!("example.com/{}", "a".repeat(250));
        assert!(matches!(
            ImageRef::parse(&long_name),
            Err(RefError::NameTooLong { .. })
        ));
    }

    #[test]
    fn separators() {
        for ok in ["a_b", "a__b", "a---b", "a.b", "foo/bar-baz_qux.x"] {
            assert!(ImageRef::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["a___b", "a_.b", "a-.b", "_a", "a_"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn from_parts() {
        let r = ImageRef::from_parts(Some("nvcr.io/nvidia/"), "driver", Some("595.91.07"), None)
            .unwrap();
        assert_eq!(r.original(), "nvcr.io/nvidia/driver:595.91.07");
        let r = ImageRef::from_parts(None, "busybox", None, Some(D)).unwrap();
        assert_eq!(r.normalized(), format!("docker.io/library/busybox@{D}"));
    }
}
