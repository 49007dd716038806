//! Choosing a chart version the way Helm's repository index does: a version string equal to
//! the requested one wins; otherwise the request is a constraint (empty: any stable version)
//! and the highest version satisfying it is chosen (`imagebom_template::semver`: Masterminds
//! rules, as Helm).

use imagebom_template::semver::{Constraints, Version};

/// Picks the version of `available` that `requested` names: `Ok(None)` when none matches,
/// `Err` when `requested` is neither a version nor a constraint.
pub(crate) fn select<'a>(
    requested: &str,
    available: &[&'a str],
) -> Result<Option<&'a str>, String> {
    let requested = requested.trim();
    if !requested.is_empty() {
        if let Some(v) = available.iter().find(|v| **v == requested) {
            return Ok(Some(v));
        }
    }
    select_constraint(requested, available)
}

/// Whether `requested` is a version rather than a constraint: it parses as one (loosely,
/// as Masterminds' `NewVersion`: `v1.2` counts). Helm asks an OCI registry for its tags only
/// when this is false.
pub(crate) fn is_exact(requested: &str) -> bool {
    Version::parse(requested.trim()).is_ok()
}

/// The highest of `available` (skipping what is not a version) that satisfies `requested`
/// as a constraint (empty: `*`, which admits no prerelease).
fn select_constraint<'a>(
    requested: &str,
    available: &[&'a str],
) -> Result<Option<&'a str>, String> {
    let text = if requested.is_empty() { "*" } else { requested };
    let constraints = Constraints::parse(text).map_err(|e| format!("{requested:?}: {e}"))?;
    let mut best: Option<(Version, &'a str)> = None;
    for v in available {
        let Ok(parsed) = Version::parse(v) else {
            continue;
        };
        let higher = best
            .as_ref()
            .is_none_or(|(b, _)| parsed.compare(b) == std::cmp::Ordering::Greater);
        if constraints.check(&parsed) && higher {
            best = Some((parsed, v));
        }
    }
    Ok(best.map(|(_, v)| v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_first_then_the_highest_match() {
        let av = ["1.0.0", "1.10.0", "1.9.3", "2.0.0-rc.1", "v1.2.0", "junk"];
        assert_eq!(select("1.9.3", &av), Ok(Some("1.9.3")));
        // An exact string wins even when it is not a version.
        assert_eq!(select("junk", &av), Ok(Some("junk")));
        assert_eq!(select("^1.2", &av), Ok(Some("1.10.0")));
        assert_eq!(select("~1.9", &av), Ok(Some("1.9.3")));
        assert_eq!(select(">=1.0.0 <1.5.0", &av), Ok(Some("v1.2.0")));
        // Empty: the highest stable version; prereleases only when asked for.
        assert_eq!(select("", &av), Ok(Some("1.10.0")));
        assert_eq!(select(">=2.0.0-0", &av), Ok(Some("2.0.0-rc.1")));
        assert_eq!(select("3.0.0", &av), Ok(None));
        assert!(select(">>1", &av).is_err());
        assert!(is_exact("1.2.3") && is_exact("v1.2") && is_exact("1.0.0+build.1"));
        assert!(!is_exact("^1.2") && !is_exact("1.x") && !is_exact("") && !is_exact("latest"));
    }
}
