//! Sprig's `semver` and `semverCompare` (Masterminds/semver v3 rules).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;

use super::{err, vstr};
use crate::FuncMap;
use crate::error::TemplateError;
use crate::function::add_fn;
use crate::semver::{Constraints, Version};
use crate::value::{Dict, Value, ValueFunc};

fn constant(v: Value) -> ValueFunc {
    Arc::new(move |_: &[Value]| Ok(v.clone()))
}

/// A `*semver.Version` for templates.
pub(crate) fn version_value(v: &Version) -> Value {
    let mut methods: BTreeMap<String, ValueFunc> = BTreeMap::new();
    methods.insert("Major".into(), constant(Value::Int(v.major as i64)));
    methods.insert("Minor".into(), constant(Value::Int(v.minor as i64)));
    methods.insert("Patch".into(), constant(Value::Int(v.patch as i64)));
    methods.insert("Prerelease".into(), constant(vstr(v.pre.as_str())));
    methods.insert("Metadata".into(), constant(vstr(v.metadata.as_str())));
    methods.insert("Original".into(), constant(vstr(v.original.as_str())));
    methods.insert("String".into(), constant(vstr(v.to_string())));
    let cmp = |name: &'static str, f: fn(core::cmp::Ordering) -> Value| -> ValueFunc {
        let me = v.clone();
        Arc::new(move |a: &[Value]| {
            let other = match a {
                [Value::Map(d)] => match d.method("Original").map(|m| m(&[])) {
                    Some(Ok(Value::String(s))) => Version::parse(&s).ok(),
                    _ => None,
                },
                _ => None,
            };
            match other {
                Some(o) => Ok(f(me.compare(&o))),
                None => Err(TemplateError::ArgCount {
                    name: name.into(),
                    at_least: false,
                    expected: 1,
                    got: a.len(),
                }),
            }
        })
    };
    methods.insert("Compare".into(), cmp("Compare", |o| Value::Int(o as i64)));
    methods.insert(
        "LessThan".into(),
        cmp("LessThan", |o| Value::Bool(o.is_lt())),
    );
    methods.insert(
        "GreaterThan".into(),
        cmp("GreaterThan", |o| Value::Bool(o.is_gt())),
    );
    methods.insert("Equal".into(), cmp("Equal", |o| Value::Bool(o.is_eq())));
    Value::Map(
        Dict::new()
            .with_methods(methods)
            .with_type_name("*semver.Version"),
    )
}

pub(super) fn register(m: &mut FuncMap) {
    add_fn(m, "semverCompare", |c: String, v: String| {
        let c = Constraints::parse(&c).map_err(|e| err(format!("{e}")))?;
        let v = Version::parse(&v).map_err(|e| err(format!("{e}")))?;
        Ok(c.check(&v))
    });
    // Go returns a *semver.Version: an entry-less map whose methods (`.Major`, …,
    // `.String`) are reached like Go's, and which prints as `1.2.3`.
    add_fn(m, "semver", |v: String| {
        let v = Version::parse(&v).map_err(|e| err(format!("{e}")))?;
        Ok(version_value(&v))
    });
}
