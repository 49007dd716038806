//! Sprig's type conversion, type test and default/empty functions.

use alloc::format;

use super::{go_kind, go_type, is_empty, reg, s_arg, vstr, want, want_at_least};
use crate::FuncMap;
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
    reg(m, "atoi", |a| {
        want("atoi", a, 1)?;
        let s = s_arg(a, 0)?;
        let t = s.strip_prefix('+').unwrap_or(&s);
        let ok = !t.is_empty()
            && t.trim_start_matches('-')
                .bytes()
                .all(|b| b.is_ascii_digit())
            && t.matches('-').count() <= 1
            && !t[1.min(t.len())..].contains('-');
        Ok(Value::Int(if ok {
            s.parse::<i64>().unwrap_or(0)
        } else {
            0
        }))
    });
    reg(m, "int", |a| {
        want("int", a, 1)?;
        Ok(Value::Int(to_int64(&a[0])))
    });
    reg(m, "int64", |a| {
        want("int64", a, 1)?;
        Ok(super::math::int64(to_int64(&a[0])))
    });
    reg(m, "float64", |a| {
        want("float64", a, 1)?;
        Ok(Value::Float(to_float64(&a[0])))
    });
    reg(m, "toDecimal", |a| {
        want("toDecimal", a, 1)?;
        let s = crate::go::sprint_value(&a[0]);
        Ok(super::math::int64(i64::from_str_radix(&s, 8).unwrap_or(0)))
    });
    reg(m, "typeOf", |a| {
        want("typeOf", a, 1)?;
        Ok(vstr(go_type(&a[0])))
    });
    reg(m, "typeIs", |a| {
        want("typeIs", a, 2)?;
        Ok(Value::Bool(s_arg(a, 0)? == go_type(&a[1])))
    });
    reg(m, "typeIsLike", |a| {
        want("typeIsLike", a, 2)?;
        let t = s_arg(a, 0)?;
        let got = go_type(&a[1]);
        Ok(Value::Bool(t == got || format!("*{t}") == got))
    });
    reg(m, "kindOf", |a| {
        want("kindOf", a, 1)?;
        Ok(vstr(go_kind(&a[0])))
    });
    reg(m, "kindIs", |a| {
        want("kindIs", a, 2)?;
        Ok(Value::Bool(s_arg(a, 0)? == go_kind(&a[1])))
    });
    reg(m, "default", |a| {
        want_at_least("default", a, 1)?;
        match a.get(1) {
            Some(given) if !is_empty(given) => Ok(given.clone()),
            _ => Ok(a[0].clone()),
        }
    });
    reg(m, "empty", |a| {
        want("empty", a, 1)?;
        Ok(Value::Bool(is_empty(&a[0])))
    });
    reg(m, "coalesce", |a| {
        Ok(a.iter()
            .find(|v| !is_empty(v))
            .cloned()
            .unwrap_or(Value::Nil))
    });
    reg(m, "all", |a| {
        Ok(Value::Bool(a.iter().all(|v| !is_empty(v))))
    });
}

fn choices(m: &mut FuncMap) {
    reg(m, "any", |a| {
        Ok(Value::Bool(a.iter().any(|v| !is_empty(v))))
    });
    reg(m, "ternary", |a| {
        want("ternary", a, 3)?;
        match &a[2] {
            Value::Bool(b) => Ok(if *b { a[0].clone() } else { a[1].clone() }),
            // The third argument (`v bool`) is the one Go's check names.
            Value::Nil => Err(crate::error::TemplateError::BadArg {
                index: 2,
                message: "invalid value; expected bool".into(),
            }),
            other => Err(super::wrong_type(2, "bool", other)),
        }
    });
    reg(m, "deepEqual", |a| {
        want("deepEqual", a, 2)?;
        Ok(Value::Bool(a[0] == a[1]))
    });
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
