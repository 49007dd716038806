//! Semver constraint checks as Helm's `IsCompatibleRange` does them (Masterminds semver v3).

/// Whether `version` satisfies `constraint`; false if either does not parse.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    let Ok(v) = imagebom_template::semver::Version::parse(version) else {
        return false;
    };
    match imagebom_template::semver::Constraints::parse(constraint) {
        Ok(c) => c.check(&v),
        Err(_) => false,
    }
}
