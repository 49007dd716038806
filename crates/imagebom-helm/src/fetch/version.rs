//! Choosing a chart version the way Helm's repository index does: a version string equal to
//! the requested one wins; otherwise the request is a constraint (empty: any stable version)
//! and the highest version satisfying it is chosen.

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

/// Whether `requested` pins one version (no operators, wildcards or ranges).
pub(crate) fn is_exact(requested: &str) -> bool {
    let r = requested.trim();
    !r.is_empty()
        && !r.contains(['^', '~', '>', '<', '=', '*', ' ', ',', '|'])
        && !r
            .split(['.', '-', '+'])
            .any(|p| p.eq_ignore_ascii_case("x"))
}

fn select_constraint<'a>(
    requested: &str,
    _available: &[&'a str],
) -> Result<Option<&'a str>, String> {
    // Until `imagebom_template::semver` lands: exact versions only.
    if is_exact(requested) {
        Ok(None)
    } else {
        Err(format!(
            "{requested:?}: version constraints are not supported yet; give an exact version"
        ))
    }
}
