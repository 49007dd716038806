//! Semantic versions and constraints as `github.com/Masterminds/semver/v3` reads them.
//!
//! Helm uses that library for a chart's `kubeVersion`, for dependency version ranges, and
//! (through Sprig) for the `semver` and `semverCompare` template functions. Its rules
//! differ from Cargo's: versions may be partial (`1.2`, `v1`), constraints accept
//! `x`/`*` wildcards, hyphen ranges (`1.2 - 1.4`), `,`/space for AND and `||` for OR,
//! and a prerelease version only satisfies a comparison whose own version has a
//! prerelease (`>=1.21.0-0` admits `1.25.3-gke.100`, `>=1.21.0` does not).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cmp::Ordering;
use core::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// An error parsing a version or a constraint; the texts are Masterminds'.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SemverError {
    /// The text is not a (loose) semantic version.
    #[error("invalid semantic version")]
    InvalidVersion,
    /// A numeric prerelease identifier has a leading zero.
    #[error("Version segment starts with 0")]
    SegmentStartsZero,
    /// A version segment does not fit in 64 bits.
    #[error("Error parsing version segment: {0}")]
    Segment(String),
    /// The constraint text does not parse.
    #[error("improper constraint: {0:?}")]
    ImproperConstraint(String),
}

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

#[allow(clippy::expect_used, reason = "constant patterns, covered by tests")]
fn re(p: String) -> Regex {
    Regex::new(&p).expect("valid constant regex")
}

static VERSION_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$".to_string())
});
static CONSTRAINT_RE: LazyLock<Regex> = LazyLock::new(|| re(format!(r"^\s*({OPS})\s*({CV})\s*$")));
static RANGE_RE: LazyLock<Regex> = LazyLock::new(|| re(format!(r"\s*({CV})\s+-\s+({CV})\s*")));
static FIND_RE: LazyLock<Regex> = LazyLock::new(|| re(format!(r"({OPS})\s*({CV})")));
static VALID_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(format!(
        r"^(\s*({OPS})\s*({CV})\s*)((?:\s+|,\s*)({OPS})\s*({CV})\s*)*$"
    ))
});

/// A semantic version (`major.minor.patch[-prerelease][+metadata]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Major number.
    pub major: u64,
    /// Minor number (0 when the text left it out).
    pub minor: u64,
    /// Patch number (0 when the text left it out).
    pub patch: u64,
    /// Prerelease, without the `-` (empty when none).
    pub pre: String,
    /// Build metadata, without the `+` (empty when none).
    pub metadata: String,
    /// The text as given.
    pub original: String,
}

impl Version {
    /// Parses a version loosely, as Masterminds' `NewVersion`: a leading `v`, and
    /// missing minor or patch numbers are allowed.
    ///
    /// # Errors
    ///
    /// [`SemverError::InvalidVersion`] and friends.
    pub fn parse(text: &str) -> Result<Version, SemverError> {
        let m = VERSION_RE
            .captures(text)
            .ok_or(SemverError::InvalidVersion)?;
        let seg = |i: usize| -> Result<u64, SemverError> {
            match m.get(i) {
                None => Ok(0),
                Some(s) => s
                    .as_str()
                    .trim_start_matches('.')
                    .parse::<u64>()
                    .map_err(|e| SemverError::Segment(e.to_string())),
            }
        };
        let pre = m.get(5).map_or("", |g| g.as_str()).to_string();
        for part in pre.split('.') {
            if pre.is_empty() {
                break;
            }
            if part.len() > 1 && part.starts_with('0') && part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(SemverError::SegmentStartsZero);
            }
        }
        Ok(Version {
            major: seg(1)?,
            minor: seg(2)?,
            patch: seg(3)?,
            pre,
            metadata: m.get(8).map_or("", |g| g.as_str()).to_string(),
            original: text.to_string(),
        })
    }

    /// Masterminds' `Compare`: numbers, then prerelease (none sorts after any);
    /// metadata is ignored.
    pub fn compare(&self, o: &Version) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let ap: Vec<&str> = a.split('.').collect();
    let bp: Vec<&str> = b.split('.').collect();
    for i in 0..ap.len().max(bp.len()) {
        let d = compare_pre_part(
            ap.get(i).copied().unwrap_or(""),
            bp.get(i).copied().unwrap_or(""),
        );
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if o.is_empty() {
        return if s.parse::<u64>().is_err() {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    if s.is_empty() {
        return if o.parse::<u64>().is_err() {
            Ordering::Greater
        } else {
            Ordering::Less
        };
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => s.cmp(o),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Ok(a), Ok(b)) => a.cmp(&b),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Constraint {
    op: Op,
    con: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

/// A set of constraints: OR groups (`||`) of AND-ed comparisons.
#[derive(Debug, Clone)]
pub struct Constraints {
    groups: Vec<Vec<Constraint>>,
    text: String,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_constraint(c: &str) -> Result<Constraint, SemverError> {
    if c.is_empty() {
        return Ok(Constraint {
            op: Op::TildeOrEqual,
            con: Version::parse("0.0.0")?,
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let m = CONSTRAINT_RE
        .captures(c)
        .ok_or_else(|| SemverError::ImproperConstraint(c.to_string()))?;
    let g = |i: usize| m.get(i).map_or("", |x| x.as_str());
    let op = match g(1) {
        "" | "=" => Op::TildeOrEqual,
        "!=" => Op::NotEqual,
        ">" => Op::Greater,
        "<" => Op::Less,
        ">=" | "=>" => Op::GreaterEqual,
        "<=" | "=<" => Op::LessEqual,
        "~" | "~>" => Op::Tilde,
        _ => Op::Caret,
    };
    let (mut ver, mut minor_dirty, mut patch_dirty, mut dirty) =
        (g(2).to_string(), false, false, false);
    if is_x(g(3)) || g(3).is_empty() {
        ver = format!("0.0.0{}", g(6));
        dirty = true;
    } else if is_x(g(4).trim_start_matches('.')) || g(4).is_empty() {
        minor_dirty = true;
        dirty = true;
        ver = format!("{}.0.0{}", g(3), g(6));
    } else if is_x(g(5).trim_start_matches('.')) || g(5).is_empty() {
        dirty = true;
        patch_dirty = true;
        ver = format!("{}{}.0{}", g(3), g(4), g(6));
    }
    let con = Version::parse(&ver).map_err(|_| SemverError::ImproperConstraint(c.to_string()))?;
    Ok(Constraint {
        op,
        con,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

impl Constraints {
    /// Parses a constraint string as Masterminds' `NewConstraint`.
    ///
    /// # Errors
    ///
    /// [`SemverError::ImproperConstraint`] naming the offending OR group.
    pub fn parse(text: &str) -> Result<Constraints, SemverError> {
        // Rewrite `a - b` ranges into `>= a, <= b`.
        let mut c = text.to_string();
        let ranges: Vec<(String, String, String)> = RANGE_RE
            .captures_iter(text)
            .map(|m| {
                (
                    m.get(0).map_or("", |x| x.as_str()).to_string(),
                    m.get(1).map_or("", |x| x.as_str()).to_string(),
                    m.get(11).map_or("", |x| x.as_str()).to_string(),
                )
            })
            .collect();
        for (whole, a, b) in ranges {
            c = c.replacen(&whole, &format!(">= {a}, <= {b}"), 1);
        }
        let mut groups = Vec::new();
        for or in c.split("||") {
            if !VALID_RE.is_match(or) {
                return Err(SemverError::ImproperConstraint(or.to_string()));
            }
            let mut cs: Vec<&str> = FIND_RE.find_iter(or).map(|m| m.as_str()).collect();
            if cs.is_empty() {
                cs.push(or);
            }
            groups.push(
                cs.into_iter()
                    .map(parse_constraint)
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        Ok(Constraints {
            groups,
            text: text.to_string(),
        })
    }

    /// Whether `v` satisfies any OR group (all of its comparisons).
    pub fn check(&self, v: &Version) -> bool {
        self.groups.iter().any(|g| g.iter().all(|c| c.check(v)))
    }
}

impl fmt::Display for Constraints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Constraint {
    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        // A prerelease version only matches a constraint that names a prerelease.
        if !v.pre.is_empty() && c.pre.is_empty() {
            return false;
        }
        match self.op {
            Op::TildeOrEqual => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v.compare(c) == Ordering::Equal
                }
            }
            Op::NotEqual => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                v.compare(c) != Ordering::Equal
            }
            Op::Greater => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major > c.major {
                    true
                } else if v.major < c.major || self.minor_dirty {
                    false
                } else if self.patch_dirty {
                    v.minor > c.minor
                } else {
                    v.compare(c) == Ordering::Greater
                }
            }
            Op::Less => v.compare(c) == Ordering::Less,
            Op::GreaterEqual => v.compare(c) != Ordering::Less,
            Op::LessEqual => {
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                !(v.major > c.major
                    || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
            }
            Op::Tilde => self.tilde(v),
            Op::Caret => {
                if v.compare(c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                v.patch == c.patch
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(c: &str, v: &str) -> bool {
        Constraints::parse(c)
            .unwrap()
            .check(&Version::parse(v).unwrap())
    }

    #[test]
    fn parse_versions() {
        let v = Version::parse("v1.2").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 2, 0));
        assert_eq!(v.to_string(), "1.2.0");
        let v = Version::parse("1.2.3-rc.1+meta.2").unwrap();
        assert_eq!(v.pre, "rc.1");
        assert_eq!(v.metadata, "meta.2");
        assert_eq!(v.to_string(), "1.2.3-rc.1+meta.2");
        assert!(Version::parse("1.2.3.4").is_err());
        assert!(Version::parse("x").is_err());
        assert_eq!(
            Version::parse("1.2.3-01"),
            Err(SemverError::SegmentStartsZero)
        );
    }

    /// Examples from the Masterminds/semver v3 README.
    #[test]
    fn documented_examples() {
        // Hyphen ranges.
        assert!(ok("1.2 - 1.4.5", "1.3.0"));
        assert!(!ok("1.2 - 1.4.5", "1.4.6"));
        assert!(ok("2.3.4 - 4.5", "4.5.9"));
        // Wildcards.
        assert!(ok("1.2.x", "1.2.9"));
        assert!(!ok("1.2.x", "1.3.0"));
        assert!(ok(">= 1.2.x", "1.5.0"));
        assert!(ok("<= 2.x", "2.9.0"));
        assert!(!ok("<= 2.x", "3.0.0"));
        assert!(ok("*", "9.9.9"));
        // Tilde.
        assert!(ok("~1.2.3", "1.2.9"));
        assert!(!ok("~1.2.3", "1.3.0"));
        assert!(ok("~1", "1.9.0"));
        assert!(!ok("~1", "2.0.0"));
        assert!(ok("~2.3", "2.3.5"));
        assert!(!ok("~2.3", "2.4.0"));
        assert!(ok("~1.x", "1.7.0"));
        // Caret.
        assert!(ok("^1.2.3", "1.9.9"));
        assert!(!ok("^1.2.3", "2.0.0"));
        assert!(ok("^0.2.3", "0.2.9"));
        assert!(!ok("^0.2.3", "0.3.0"));
        assert!(ok("^0.0.3", "0.0.3"));
        assert!(!ok("^0.0.3", "0.0.4"));
        assert!(ok("^0", "0.9.0"));
        assert!(!ok("^0", "1.0.0"));
        assert!(ok("^1.x", "1.5.0"));
        // AND / OR.
        assert!(ok(">= 1.2, < 3.0.0 || >= 4.2.3", "2.5.0"));
        assert!(!ok(">= 1.2, < 3.0.0 || >= 4.2.3", "3.5.0"));
        assert!(ok(">= 1.2, < 3.0.0 || >= 4.2.3", "4.2.3"));
        assert!(ok(">=1.2 <3", "2.0.0"));
        assert!(!ok("!=1.2.3", "1.2.3"));
        assert!(ok("!=4.1", "4.2.0"));
        // Prereleases.
        assert!(!ok(">=1.2.3", "1.2.4-beta.1"));
        assert!(ok(">=1.2.3-0", "1.2.4-beta.1"));
        assert!(ok(">=1.21.0-0", "1.25.3-gke.100"));
        assert!(!ok(">=1.21.0", "1.25.3-gke.100"));
        assert!(ok("<1.30", "1.29.9"));
        assert!(!ok(">1.2", "1.2.8"));
        assert!(ok(">1.2", "1.3.0"));
    }

    #[test]
    fn bad_constraints() {
        assert_eq!(
            Constraints::parse("foo").unwrap_err().to_string(),
            "improper constraint: \"foo\""
        );
        assert!(Constraints::parse(">= 1.2 ||").is_err());
    }
}
