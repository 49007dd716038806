//! Sprig v3's template functions (`github.com/Masterminds/sprig/v3`), as Helm ships them.
//!
//! [`sprig_funcmap`](crate::sprig::sprig_funcmap) is Sprig's `TxtFuncMap()` without `env` and `expandenv`, which
//! Helm removes. Helm's own functions (and its replacements of `toJson`, `fromJson`
//! …) are added by [`crate::helmfuncs::helm_funcmap`].
//!
//! Go's calling rules are kept where charts can see them: a `string` parameter
//! given a number is an error (`wrong type for value; expected string; got
//! float64`), integer parameters do not take floats, and values read from YAML are
//! `float64`. Bounded resources: results of `repeat`, `randAlpha`…, `until`, `seq`,
//! `untilStep` and `indent` are capped (see [`MAX_STRING_BYTES`](crate::sprig::MAX_STRING_BYTES),
//! [`MAX_LIST_LEN`](crate::sprig::MAX_LIST_LEN)).
//!
//! Go types charts can see are kept with [`Value::typed`]: the integer math and
//! `int64` give `int64`, `toStrings` a `[]string`, `now`/`toDate` a `time.Time`
//! (carried as its `Time.String()` text), `genCA` a `sprig.certificate`.
//!
//! Known differences from Go: `map[string]string` is an ordinary map; a named type
//! given for another parameter type is rejected only by the date formatters;
//! `b64dec` of bytes that are not UTF-8 gives U+001A for each such byte (so `len`
//! is Go's); `genPrivateKey "dsa"` is unknown.

mod certs;
mod convert_fns;
mod crypto;
mod date;
mod dicts;
pub(crate) mod json;
mod lists;
mod math;
mod regexfns;
mod semverfns;
mod strings;
mod urlfns;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::FuncMap;
use crate::error::{Result, TemplateError};
use crate::value::Value;

/// Longest string (in bytes) a Sprig function will build (`repeat`, `indent`, `rand*`…).
pub(crate) const MAX_STRING_BYTES: usize = 64 * 1024 * 1024;
/// Longest list `until`, `untilStep` and `seq` will build.
pub(crate) const MAX_LIST_LEN: usize = 1_000_000;

/// Sprig's functions as Helm registers them (no `env`, `expandenv`).
pub(crate) fn sprig_funcmap() -> FuncMap {
    let mut m = FuncMap::new();
    strings::register(&mut m);
    convert_fns::register(&mut m);
    math::register(&mut m);
    lists::register(&mut m);
    dicts::register(&mut m);
    regexfns::register(&mut m);
    json::register(&mut m);
    crypto::register(&mut m);
    certs::register(&mut m);
    date::register(&mut m);
    urlfns::register(&mut m);
    semverfns::register(&mut m);
    m
}

pub(crate) fn err(msg: impl Into<String>) -> TemplateError {
    TemplateError::Exec(msg.into())
}

pub(crate) use crate::go::{kind_name as go_kind, type_name as go_type};

pub(crate) fn vstr(s: impl Into<Arc<str>>) -> Value {
    Value::String(s.into())
}

pub(crate) fn vlist(items: Vec<Value>) -> Value {
    Value::List(items.into())
}

/// Sprig's `strval`: strings as they are, a `[]byte` as its text, everything
/// else as `%v`.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Typed(t) if t.go_type == "[]uint8" => strval(&t.value),
        other => crate::go::sprint_value(other),
    }
}

/// Sprig's `strslice`: a list's non-nil elements as strings; nil → empty; a scalar →
/// one element.
pub(crate) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l
            .iter()
            .filter(|x| !matches!(x, Value::Nil))
            .map(strval)
            .collect(),
        Value::Nil => Vec::new(),
        other => alloc::vec![strval(other)],
    }
}

/// Sprig's `empty`: Go's zero-value test.
pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(n) => *n == 0,
        Value::Uint(n) => *n == 0,
        Value::Float(f) => *f == 0.0,
        Value::String(s) => s.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Function(_) => false,
        Value::Typed(t) => is_empty(&t.value),
    }
}

pub(crate) fn check_len(n: usize, what: &str) -> Result<()> {
    if n > MAX_STRING_BYTES {
        return Err(err(format!(
            "{what}: result of {n} bytes is over the limit of {MAX_STRING_BYTES} bytes"
        )));
    }
    Ok(())
}
