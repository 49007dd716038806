//! `--platform`: copy only the platform manifests a site runs.
//!
//! An image whose lock entry lists an index's platforms is cut down to the platforms that
//! match: each becomes a [`CopyUnit`] of its own manifest digest, with the index digest kept
//! for the record. An index with no match is a missing platform (an error unless allowed:
//! then the image is left out). An image without platform information (a single manifest, an
//! artifact, an unresolved tag) cannot be filtered and is copied as it is.

use crate::{digest_of, EmitError};
use imagebom_model::{ImageEntry, Inventory, Platform};
use std::fmt;
use std::str::FromStr;

/// `os/architecture[/variant]`, as `docker --platform` spells it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PlatformSpec {
    pub os: String,
    pub architecture: String,
    /// `None` matches every variant of the architecture.
    pub variant: Option<String>,
}

impl FromStr for PlatformSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        };
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Self {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, v] if ok(os) && ok(arch) && ok(v) => Ok(Self {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: Some(v.to_string()),
            }),
            _ => Err(format!(
                "expected OS/ARCH[/VARIANT] (e.g. linux/amd64, linux/arm64/v8), got {s:?}"
            )),
        }
    }
}

impl fmt::Display for PlatformSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(v) => write!(f, "/{v}"),
            None => Ok(()),
        }
    }
}

impl PlatformSpec {
    /// Whether `p` is this platform (any variant when none is asked for).
    pub fn matches(&self, p: &Platform) -> bool {
        p.os == self.os
            && p.architecture == self.architecture
            && self
                .variant
                .as_ref()
                .is_none_or(|v| p.variant.as_deref() == Some(v.as_str()))
    }
}

/// One manifest (or whole image) to copy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CopyUnit<'a> {
    /// The image's key in the inventory.
    pub key: &'a str,
    /// `registry/repository`.
    pub source: String,
    pub tag: Option<&'a str>,
    /// The digest to copy: the image's, or the chosen platform manifest's.
    pub digest: Option<String>,
    /// With a platform filter: the chosen platform and the index it was cut from.
    pub platform: Option<ChosenPlatform>,
}

/// A platform manifest chosen from an index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChosenPlatform {
    /// `os/architecture[/variant]`.
    pub spec: String,
    /// The index digest the platform belongs to.
    pub index: String,
}

impl CopyUnit<'_> {
    /// What to pull: by digest when known, else by tag.
    pub fn pull_ref(&self) -> String {
        match &self.digest {
            Some(d) => format!("{}@{d}", self.source),
            None => format!("{}:{}", self.source, self.tag.unwrap_or("latest")),
        }
    }

    /// `registry/repository:tag@digest` when both are known (the tag a pod names, pinned),
    /// else [`CopyUnit::pull_ref`].
    pub fn pinned_ref(&self) -> String {
        match (self.tag, &self.digest) {
            (Some(t), Some(d)) => format!("{}:{t}@{d}", self.source),
            _ => self.pull_ref(),
        }
    }

    /// True when this is the whole image (every platform of an index).
    pub fn whole(&self) -> bool {
        self.platform.is_none()
    }
}

/// The copy units of `inv` under the platform filter `platforms` (empty: every image whole).
/// An index with no matching platform is [`EmitError::MissingPlatform`], or with
/// `allow_missing` left out.
pub fn units<'a>(
    inv: &'a Inventory,
    platforms: &[PlatformSpec],
    allow_missing: bool,
) -> Result<Vec<CopyUnit<'a>>, EmitError> {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for (key, e) in &inv.images {
        match chosen(e, platforms) {
            Some(list) if list.is_empty() => missing.push(key.clone()),
            Some(list) => {
                let index = digest_of(e).map(|d| d.to_string()).unwrap_or_default();
                for p in list {
                    out.push(CopyUnit {
                        key,
                        source: e.reference.qualified_name(),
                        tag: e.reference.tag(),
                        digest: Some(p.digest.to_string()),
                        platform: Some(ChosenPlatform {
                            spec: p.spec(),
                            index: index.clone(),
                        }),
                    });
                }
            }
            None => out.push(CopyUnit {
                key,
                source: e.reference.qualified_name(),
                tag: e.reference.tag(),
                digest: digest_of(e).map(|d| d.to_string()),
                platform: None,
            }),
        }
    }
    if !missing.is_empty() && !allow_missing {
        return Err(EmitError::MissingPlatform {
            platforms: platforms
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            images: missing,
        });
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Images that have no platform matching `platforms` (left out with `--allow-missing-platform`).
pub fn missing(inv: &Inventory, platforms: &[PlatformSpec]) -> Vec<String> {
    inv.images
        .iter()
        .filter(|(_, e)| chosen(e, platforms).is_some_and(|l| l.is_empty()))
        .map(|(k, _)| k.clone())
        .collect()
}

/// The platforms of `e`'s index that match, or `None` when there is no filter or nothing
/// to filter (no platform list in the lock).
fn chosen<'e>(e: &'e ImageEntry, platforms: &[PlatformSpec]) -> Option<Vec<&'e Platform>> {
    let listed = &e.resolution.as_ref()?.platforms;
    if platforms.is_empty() || listed.is_empty() {
        return None;
    }
    Some(
        listed
            .iter()
            .filter(|p| platforms.iter().any(|s| s.matches(p)))
            .collect(),
    )
}
