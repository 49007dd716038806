//! Sprig's `semver` and `semverCompare` (Masterminds/semver v3 rules).

use alloc::format;

use super::{err, reg, s_arg, vstr, want};
use crate::FuncMap;
use crate::semver::{Constraints, Version};
use crate::value::{Dict, Value};

pub(super) fn register(m: &mut FuncMap) {
    reg(m, "semverCompare", |a| {
        want("semverCompare", a, 2)?;
        let c = Constraints::parse(&s_arg(a, 0)?).map_err(|e| err(format!("{e}")))?;
        let v = Version::parse(&s_arg(a, 1)?).map_err(|e| err(format!("{e}")))?;
        Ok(Value::Bool(c.check(&v)))
    });
    // Go returns a *semver.Version; its methods read like fields here.
    reg(m, "semver", |a| {
        want("semver", a, 1)?;
        let v = Version::parse(&s_arg(a, 0)?).map_err(|e| err(format!("{e}")))?;
        let d = Dict::new();
        d.insert("Major", Value::Int(v.major as i64));
        d.insert("Minor", Value::Int(v.minor as i64));
        d.insert("Patch", Value::Int(v.patch as i64));
        d.insert("Prerelease", vstr(v.pre.as_str()));
        d.insert("Metadata", vstr(v.metadata.as_str()));
        d.insert("Original", vstr(v.original.as_str()));
        Ok(Value::Map(d))
    });
}
