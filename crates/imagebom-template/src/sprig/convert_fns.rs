//! Sprig's type conversion, type test and default/empty functions.

use alloc::format;

use alloc::string::String;

use super::{go_kind, go_type, is_empty, vstr};
use crate::FuncMap;
use crate::function::{Rest, add_fn};
use crate::value::Value;

/// `spf13/cast`'s `trimZeroDecimal`: `"1.00"` → `"1"`.
fn trim_zero_decimal(s: &str) -> &str {
    let b = s.as_bytes();
    let mut found_zero = false;
    for i in (1..=b.len()).rev() {
        match b[i - 1] {
            b'.' => {
                if found_zero {
                    return &s[..i - 1];
                }
            }
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// `cast.ToInt64` (errors become 0), which Sprig's `int64`, `add`, … use.
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        Value::Uint(n) => *n as i64,
        Value::Float(f) => {
            if f.is_nan() {
                0
            } else {
                *f as i64
            }
        }
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => crate::go::parse_int(trim_zero_decimal(s))
            .and_then(|v| i64::try_from(v).ok())
            .unwrap_or(0),
        _ => 0,
    }
}

/// `cast.ToFloat64` (errors become 0).
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(n) => *n as f64,
        Value::Uint(n) => *n as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => parse_go_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the forms charts use (decimal, exponent,
/// `inf`/`nan`, hex floats).
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.trim_start_matches(['+', '-']);
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("0x") {
        let v = crate::go::parse_hex_float(t)?;
        return Some(if s.starts_with('-') { -v } else { v });
    }
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return s.parse::<f64>().ok();
    }
    if !t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-' | b'_'))
    {
        return None;
    }
    if t.contains('_') {
        // Go allows `_` only between digits.
        let b = t.as_bytes();
        let ok = b.windows(2).all(|w| {
            !(w[0] == b'_' || w[1] == b'_')
                || (w[0].is_ascii_digit() && w[1] == b'_')
                || (w[0] == b'_' && w[1].is_ascii_digit())
        }) && !t.starts_with('_')
            && !t.ends_with('_')
            && !t.contains("__");
        if !ok {
            return None;
        }
        return s.replace('_', "").parse::<f64>().ok();
    }
    s.parse::<f64>().ok()
}

pub(super) fn register(m: &mut FuncMap) {
    conversions_and_types(m);
    choices(m);
}

fn conversions_and_types(m: &mut FuncMap) {
    add_fn(m, "atoi", |s: String| Ok(atoi(&s)));
    add_fn(m, "int", |v: Value| Ok(to_int64(&v)));
    add_fn(m, "int64", |v: Value| Ok(super::math::int64(to_int64(&v))));
    add_fn(m, "float64", |v: Value| Ok(to_float64(&v)));
    add_fn(m, "toDecimal", |v: Value| {
        let s = crate::go::sprint_value(&v);
        Ok(super::math::int64(i64::from_str_radix(&s, 8).unwrap_or(0)))
    });
    add_fn(m, "typeOf", |v: Value| Ok(vstr(go_type(&v))));
    add_fn(m, "typeIs", |t: String, v: Value| Ok(t == go_type(&v)));
    add_fn(m, "typeIsLike", |t: String, v: Value| {
        let got = go_type(&v);
        Ok(t == got || format!("*{t}") == got)
    });
    add_fn(m, "kindOf", |v: Value| Ok(vstr(go_kind(&v))));
    add_fn(m, "kindIs", |t: String, v: Value| Ok(t == go_kind(&v)));
}

/// `strconv.Atoi` with errors as 0.
fn atoi(s: &str) -> i64 {
    let t = s.strip_prefix('+').unwrap_or(s);
    let ok = !t.is_empty()
        && t.trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit())
        && t.matches('-').count() <= 1
        && !t[1.min(t.len())..].contains('-');
    if ok { s.parse::<i64>().unwrap_or(0) } else { 0 }
}

fn choices(m: &mut FuncMap) {
    add_fn(m, "default", |d: Value, Rest(given): Rest<Value>| {
        Ok(match given.into_iter().next() {
            Some(given) if !is_empty(&given) => given,
            _ => d,
        })
    });
    add_fn(m, "empty", |v: Value| Ok(is_empty(&v)));
    add_fn(m, "coalesce", |Rest(a): Rest<Value>| {
        Ok(a.into_iter().find(|v| !is_empty(v)).unwrap_or(Value::Nil))
    });
    add_fn(m, "all", |Rest(a): Rest<Value>| {
        Ok(a.iter().all(|v| !is_empty(v)))
    });
    add_fn(m, "any", |Rest(a): Rest<Value>| {
        Ok(a.iter().any(|v| !is_empty(v)))
    });
    add_fn(m, "ternary", |vt: Value, vf: Value, v: bool| {
        Ok(if v { vt } else { vf })
    });
    add_fn(m, "deepEqual", |x: Value, y: Value| Ok(x == y));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cast_rules() {
        assert_eq!(to_int64(&vstr("0x10")), 16);
        assert_eq!(to_int64(&vstr("010")), 8);
        assert_eq!(to_int64(&vstr("12.00")), 12);
        assert_eq!(to_int64(&vstr("1.5")), 0);
        assert_eq!(to_int64(&Value::Float(3.9)), 3);
        assert_eq!(to_int64(&Value::Bool(true)), 1);
        assert_eq!(to_float64(&vstr("1e3")), 1000.0);
        assert_eq!(to_float64(&vstr("abc")), 0.0);
        assert_eq!(to_float64(&vstr("1_000")), 1000.0);
        assert_eq!(to_int64(&vstr("1_000")), 1000);
        assert_eq!(to_int64(&vstr("1__0")), 0);
        assert_eq!(to_int64(&vstr("0x_1F")), 31);
    }
}
