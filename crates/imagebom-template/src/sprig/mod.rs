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
pub const MAX_STRING_BYTES: usize = 64 * 1024 * 1024;
/// Longest list `until`, `untilStep` and `seq` will build.
pub const MAX_LIST_LEN: usize = 1_000_000;

/// Sprig's functions as Helm registers them (no `env`, `expandenv`).
pub fn sprig_funcmap() -> FuncMap {
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

pub(crate) fn reg(
    m: &mut FuncMap,
    name: &str,
    f: impl Fn(&[Value]) -> Result<Value> + Send + Sync + 'static,
) {
    m.insert(name.to_string(), Arc::new(f));
}

pub(crate) fn err(msg: impl Into<String>) -> TemplateError {
    TemplateError::Exec(msg.into())
}

/// Go's error for a call with the wrong number of arguments.
pub(crate) fn want(name: &str, args: &[Value], n: usize) -> Result<()> {
    if args.len() != n {
        return Err(err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        )));
    }
    Ok(())
}

/// Go's error for a variadic call given too few arguments.
pub(crate) fn want_at_least(name: &str, args: &[Value], n: usize) -> Result<()> {
    if args.len() < n {
        return Err(err(format!(
            "wrong number of args for {name}: want at least {n} got {}",
            args.len()
        )));
    }
    Ok(())
}

/// The Go type name of a value as `%T` prints it.
pub(crate) fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Nil => "<nil>",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Uint(_) => "uint64",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "[]interface {}",
        Value::Map(m) => m.go_type_name().unwrap_or("map[string]interface {}"),
        Value::Function(_) => "func",
        Value::Typed(t) => t.go_type,
        #[cfg(feature = "html")]
        Value::Safe { .. } => "string",
    }
}

/// The Go `reflect.Kind` name of a value.
pub(crate) fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Uint(_) => "uint64",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "slice",
        Value::Map(m) => m.go_kind_name().unwrap_or("map"),
        Value::Function(_) => "func",
        Value::Typed(t) => t.kind,
        #[cfg(feature = "html")]
        Value::Safe { .. } => "string",
    }
}

/// Go's pre-call type check failure for argument `index` (Helm v4's wording: a
/// missing value is `got interface {}`).
pub(crate) fn wrong_type(index: usize, expected: &str, v: &Value) -> TemplateError {
    let got = match v {
        Value::Nil => "interface {}",
        other => go_type(other),
    };
    TemplateError::BadArg {
        index,
        message: format!("wrong type for value; expected {expected}; got {got}"),
    }
}

/// A `string` parameter.
pub(crate) fn s_arg(args: &[Value], i: usize) -> Result<String> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.to_string()),
        #[cfg(feature = "html")]
        Some(Value::Safe { s, .. }) => Ok(s.to_string()),
        Some(v) => Err(wrong_type(i, "string", v)),
        None => Err(err("missing argument")),
    }
}

/// An `int` parameter: integers only (as Go's `reflect` assignability).
pub(crate) fn i_arg(args: &[Value], i: usize) -> Result<i64> {
    match args.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        Some(Value::Uint(n)) => i64::try_from(*n).map_err(|_| err("integer overflow")),
        Some(v) => Err(wrong_type(i, "int", v)),
        None => Err(err("missing argument")),
    }
}

/// An `interface{}` parameter.
pub(crate) fn arg(args: &[Value], i: usize) -> Value {
    args.get(i).cloned().unwrap_or(Value::Nil)
}

pub(crate) fn vstr(s: impl Into<Arc<str>>) -> Value {
    Value::String(s.into())
}

pub(crate) fn vlist(items: Vec<Value>) -> Value {
    Value::List(items.into())
}

/// Nesting depth and size at which `%v` printing stops (Go would recurse forever on a
/// map that contains itself; here the text is cut short instead).
const SPRINT_MAX_DEPTH: usize = 100;
const SPRINT_MAX_BYTES: usize = 8 * 1024 * 1024;

/// Go's `fmt.Sprintf("%v", v)`.
pub fn go_sprint(v: &Value) -> String {
    let mut out = String::new();
    write_v(&mut out, v, 0);
    out
}

/// Go's `%v` for a float64: shortest digits, `%e` form when the exponent is below -4 or
/// at least 21 digits... as `strconv.FormatFloat(f, 'g', -1, 64)`.
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    crate::convert::go_g_from_sci(&format!("{f:e}"))
}

fn write_v(out: &mut String, v: &Value, depth: usize) {
    if out.len() > SPRINT_MAX_BYTES {
        return;
    }
    if depth > SPRINT_MAX_DEPTH {
        out.push_str("...");
        return;
    }
    match v {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Uint(n) => out.push_str(&n.to_string()),
        Value::Float(f) => out.push_str(&go_float(*f)),
        Value::String(s) => out.push_str(s),
        Value::List(l) => {
            out.push('[');
            for (i, it) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_v(out, it, depth + 1);
            }
            out.push(']');
        }
        // A value with a String method prints through it (Go's fmt.Stringer).
        Value::Map(m) if m.method("String").is_some() => match m.method("String").map(|f| f(&[])) {
            Some(Ok(Value::String(s))) => out.push_str(&s),
            Some(Ok(other)) => write_v(out, &other, depth + 1),
            _ => {}
        },
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, it)) in m.entries().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_v(out, it, depth + 1);
            }
            out.push(']');
        }
        Value::Function(_) => out.push_str("<func>"),
        Value::Typed(t) => write_v(out, &t.value, depth),
        #[cfg(feature = "html")]
        Value::Safe { s, .. } => out.push_str(s),
    }
}

/// Sprig's `strval`: strings as they are, everything else as `%v`.
pub(crate) fn strval(v: &Value) -> String {
    go_sprint(v)
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
        #[cfg(feature = "html")]
        Value::Safe { s, .. } => s.is_empty(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_formatting_is_gos() {
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(123456789.0), "1.23456789e+08");
        assert_eq!(go_float(1e-6), "1e-06");
        assert_eq!(go_float(1500.0), "1500");
        assert_eq!(go_float(0.5), "0.5");
        assert_eq!(go_float(100000.0), "100000");
        assert_eq!(go_float(-2.5), "-2.5");
    }
}
