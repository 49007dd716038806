//! Go's `encoding/json` output for template values, and Sprig's JSON functions.

use alloc::format;
use alloc::string::{String, ToString};

use super::err;
use crate::FuncMap;
use crate::function::add_fn;
use crate::value::Value;

/// Why a value cannot be encoded (Go's `json.UnsupportedValueError` / `TypeError`).
#[derive(Debug)]
pub(crate) struct JsonError(pub String);

/// Deepest nesting the encoder walks (Go stops cycles at 1000 levels).
const MAX_JSON_DEPTH: usize = 1000;

/// Go's float64 JSON form: `'f'` between 1e-6 and 1e21, else `'e'` with a short
/// exponent (`1e-07`→`1e-7`).
pub(crate) fn go_json_float(f: f64) -> core::result::Result<String, JsonError> {
    if !f.is_finite() {
        return Err(JsonError(format!(
            "json: unsupported value: {}",
            crate::go::format_float(f)
        )));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = crate::go::format_float(f);
        // go_float gives the %e form here; Go's JSON drops the exponent's leading 0.
        let s = if let Some((m, e)) = s.split_once('e') {
            let (sign, digits) = e.split_at(1);
            let digits = digits.trim_start_matches('0');
            let digits = if digits.is_empty() { "0" } else { digits };
            let sign = if sign == "+" { "+" } else { "-" };
            format!("{m}e{sign}{digits}")
        } else {
            s
        };
        return Ok(s);
    }
    Ok(go_f_shortest(f))
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest round-trip digits written
/// without an exponent (`9223372036854775808.0` → `9223372036854776000`).
pub(crate) fn go_f_shortest(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let sci = format!("{f:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let n = digits.len() as i64;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else if exp + 1 >= n {
        out.push_str(&digits);
        for _ in 0..(exp + 1 - n) {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..(exp + 1) as usize]);
        out.push('.');
        out.push_str(&digits[(exp + 1) as usize..]);
    }
    out
}

fn write_str(out: &mut String, s: &str, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Encodes as Go's `json.Marshal` (`indent` = `MarshalIndent(v, "", indent)`).
pub(crate) fn encode(
    v: &Value,
    html: bool,
    indent: Option<&str>,
) -> core::result::Result<String, JsonError> {
    let mut out = String::new();
    enc(&mut out, v, html, indent, 0)?;
    Ok(out)
}

fn newline(out: &mut String, indent: Option<&str>, level: usize) {
    if let Some(ind) = indent {
        out.push('\n');
        for _ in 0..level {
            out.push_str(ind);
        }
    }
}

fn enc(
    out: &mut String,
    v: &Value,
    html: bool,
    indent: Option<&str>,
    level: usize,
) -> core::result::Result<(), JsonError> {
    if level > MAX_JSON_DEPTH {
        return Err(JsonError(
            "json: unsupported value: encountered a cycle or nesting deeper than 1000".into(),
        ));
    }
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Uint(n) => out.push_str(&n.to_string()),
        Value::Float(f) => out.push_str(&go_json_float(*f)?),
        Value::String(s) => write_str(out, s, html),
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, it) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                enc(out, it, html, indent, level + 1)?;
            }
            newline(out, indent, level);
            out.push(']');
        }
        Value::Map(m) if m.is_nil_map() => out.push_str("null"),
        Value::Map(m) => {
            let entries = m.entries();
            if entries.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, it)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                write_str(out, k, html);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                enc(out, it, html, indent, level + 1)?;
            }
            newline(out, indent, level);
            out.push('}');
        }
        Value::Typed(t) => enc(out, &t.json_value(), html, indent, level)?,
        Value::Function(_) => {
            return Err(JsonError(
                "json: unsupported type: func(...interface {}) (interface {}, error)".into(),
            ));
        }
    }
    Ok(())
}

/// Parses JSON as Go's `json.Unmarshal` into `interface{}` (numbers → float64).
pub(crate) fn decode(text: &str) -> core::result::Result<Value, String> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(crate::convert::from_json)
        .map_err(|e| go_json_error(text, &e))
}

/// serde_json's error in the words of Go's `encoding/json` scanner (for the common
/// cases; others keep serde's text).
fn go_json_error(text: &str, e: &serde_json::Error) -> String {
    if e.classify() == serde_json::error::Category::Eof {
        return "unexpected end of JSON input".into();
    }
    let msg = e.to_string();
    let ctx = [
        (
            "key must be a string",
            "looking for beginning of object key string",
        ),
        ("expected `:`", "after object key"),
        ("expected `,` or `}`", "after object key:value pair"),
        ("expected `,` or `]`", "after array element"),
        ("trailing characters", "after top-level value"),
        ("expected value", "looking for beginning of value"),
        ("expected ident", "looking for beginning of value"),
    ]
    .iter()
    .find(|(p, _)| msg.starts_with(p))
    .map(|(_, c)| *c);
    let ch = text
        .lines()
        .nth(e.line().saturating_sub(1))
        .and_then(|l| l.chars().nth(e.column().saturating_sub(1)));
    match (ctx, ch) {
        (Some(ctx), Some(c)) => {
            let q = match c {
                '\'' => "'\\''".to_string(),
                '"' => "'\"'".to_string(),
                c => {
                    let s = crate::go::go_quote(&c.to_string());
                    format!("'{}'", &s[1..s.len() - 1])
                }
            };
            format!("invalid character {q} {ctx}")
        }
        (Some(_), None) => "unexpected end of JSON input".into(),
        (None, _) => msg,
    }
}

pub(super) fn register(m: &mut FuncMap) {
    add_fn(m, "toJson", |v: Value| {
        Ok(encode(&v, true, None).unwrap_or_default())
    });
    add_fn(m, "mustToJson", |v: Value| {
        encode(&v, true, None).map_err(|e| err(e.0))
    });
    add_fn(m, "toPrettyJson", |v: Value| {
        Ok(encode(&v, true, Some("  ")).unwrap_or_default())
    });
    add_fn(m, "mustToPrettyJson", |v: Value| {
        encode(&v, true, Some("  ")).map_err(|e| err(e.0))
    });
    for name in ["toRawJson", "mustToRawJson"] {
        add_fn(m, name, |v: Value| {
            encode(&v, false, None).map_err(|e| err(e.0))
        });
    }
    add_fn(m, "fromJson", |s: String| {
        Ok(decode(&s).unwrap_or(Value::Nil))
    });
    add_fn(m, "mustFromJson", |s: String| decode(&s).map_err(err));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats() {
        assert_eq!(go_json_float(1e21).unwrap(), "1e+21");
        assert_eq!(go_json_float(1e-7).unwrap(), "1e-7");
        assert_eq!(go_json_float(0.000001).unwrap(), "0.000001");
        assert_eq!(go_json_float(1e20).unwrap(), "100000000000000000000");
        assert_eq!(go_json_float(3.0).unwrap(), "3");
        assert_eq!(
            go_json_float(9223372036854775808.0).unwrap(),
            "9223372036854776000"
        );
        assert_eq!(go_json_float(0.000123).unwrap(), "0.000123");
        assert_eq!(go_json_float(123.456).unwrap(), "123.456");
        assert_eq!(go_json_float(-1.5).unwrap(), "-1.5");
        assert!(go_json_float(f64::NAN).is_err());
    }
}
