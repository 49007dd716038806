//! Scalars `kubectl kustomize` prints differently from `serde_yaml_ng`: its output goes
//! through JSON (`sigs.k8s.io/yaml`'s `JSONToYAML`) and go-yaml v2's encoder, so an integral
//! float becomes an integer, other floats take Go's shortest `%g` form (`1e-05`,
//! `1.2345675e+06`), and a string go-yaml cannot print unescaped (a character outside the
//! Basic Multilingual Plane, a leading byte order mark) is double-quoted with go-yaml's
//! escapes. [`prepare`] swaps such scalars for placeholders that `serde_yaml_ng` prints as
//! plain scalars, and [`substitute`] puts go-yaml's text in their place.

use serde_yaml_ng::{Mapping, Number, Value};

/// Starts and ends a placeholder (private-use characters, printable to both emitters).
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

/// The document as the JSON round trip leaves it: no tags; an integral float that JSON prints
/// without a fraction or exponent (below 1e21) and that go-yaml then reads back as an
/// integer (it fits 64 bits) is that integer; `-0.0` is `0`.
pub(crate) fn json_numbers(v: &mut Value) {
    // JSON has no tags: `!custom value` is `value`.
    while let Value::Tagged(t) = v {
        let inner = std::mem::replace(&mut t.value, Value::Null);
        *v = inner;
    }
    match v {
        Value::Mapping(m) => m.values_mut().for_each(json_numbers),
        Value::Sequence(s) => s.iter_mut().for_each(json_numbers),
        Value::Number(n) => {
            if let Some(i) = n.as_f64().filter(|_| n.is_f64()).and_then(integral) {
                *n = i;
            }
        }
        _ => {}
    }
}

/// Go's `encoding/json` on a mapping with a key that is not a string.
pub(crate) const NOT_STRING_KEY: &str = "json: unsupported type: map[interface {}]interface {}";

/// What JSON cannot hold, in the words of Go's `encoding/json` (which fails Kustomize's
/// printing): a float that is not finite, or a mapping key that is not a string.
pub(crate) fn json_unsupported(v: &Value) -> Option<String> {
    match v {
        Value::Mapping(m) => m.iter().find_map(|(k, v)| {
            if k.is_string() {
                json_unsupported(v)
            } else {
                Some(NOT_STRING_KEY.to_string())
            }
        }),
        Value::Sequence(s) => s.iter().find_map(json_unsupported),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.is_nan() => Some("json: unsupported value: NaN".into()),
            Some(f) if n.is_f64() && f.is_infinite() => Some(format!(
                "json: unsupported value: {}Inf",
                if f > 0.0 { '+' } else { '-' }
            )),
            _ => None,
        },
        Value::Tagged(t) => json_unsupported(&t.value),
        _ => None,
    }
}

/// The integer go-yaml reads back from JSON's text for an integral float: Go writes the
/// shortest digits, zero-filled (`-9223372036854776000` for -2^63), which must fit 64 bits.
fn integral(f: f64) -> Option<Number> {
    if !f.is_finite() || f.fract() != 0.0 || f.abs() >= 1e21 {
        return None;
    }
    if f == 0.0 {
        return Some(Number::from(0));
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e')?;
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let dp = usize::try_from(exp.parse::<i32>().ok()? + 1).ok()?;
    let zeros = "0".repeat(dp.checked_sub(digits.len())?);
    let sign = if f < 0.0 { "-" } else { "" };
    let text = format!("{sign}{digits}{zeros}");
    text.parse::<i64>()
        .map(Number::from)
        .or_else(|_| text.parse::<u64>().map(Number::from))
        .ok()
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`, as go-yaml v2 prints a float: the shortest
/// digits that read back as `f`, in exponent form (at least two exponent digits) when the
/// exponent is below -4 or at least 6 (`shortest` uses precision 6 for that decision).
pub(crate) fn go_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0");
    }
    if !(-4..6).contains(&exp) {
        let (head, tail) = digits.split_at(1);
        let dot = if tail.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{head}{dot}{tail}e{esign}{:02}", exp.abs());
    }
    // Fixed notation: the decimal point after `exp + 1` digits.
    let dp = exp + 1;
    if dp <= 0 {
        let zeros = "0".repeat((-dp) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let dp = dp as usize;
    if digits.len() <= dp {
        format!("{sign}{digits}{}", "0".repeat(dp - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..dp], &digits[dp..])
    }
}

/// go-yaml v2's `is_printable` (what it may write unescaped): `\n`, printable ASCII, and
/// the Basic Multilingual Plane from U+00A0 but the byte order mark, U+FFFE and U+FFFF.
fn go_printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        && c != '\u{FEFF}'
}

/// Whether go-yaml prints `s` otherwise than `serde_yaml_ng` (whose libyaml prints the
/// planes above the first unescaped): a character outside the Basic Multilingual Plane, or
/// a leading byte order mark (after which go-yaml escapes every character).
fn differs(s: &str) -> bool {
    s.starts_with('\u{FEFF}') || s.chars().any(|c| c > '\u{FFFF}')
}

/// `s` double-quoted as go-yaml v2's `write_double_quoted_scalar` writes it (before folding,
/// which [`crate::fold`] does): non-printable characters, line breaks, `"` and `\` escaped;
/// when `s` starts with a byte order mark, every character (go-yaml's `is_bom` looks at the
/// start of the value, not at the character).
pub(crate) fn go_double_quoted(s: &str) -> String {
    let all = s.starts_with('\u{FEFF}');
    let mut out = String::with_capacity(s.len() + 8);
    out.push('"');
    for c in s.chars() {
        let brk = matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}');
        if !(all || !go_printable(c) || brk || c == '"' || c == '\\') {
            out.push(c);
            continue;
        }
        out.push('\\');
        let short = match c {
            '\0' => Some('0'),
            '\u{7}' => Some('a'),
            '\u{8}' => Some('b'),
            '\t' => Some('t'),
            '\n' => Some('n'),
            '\u{b}' => Some('v'),
            '\u{c}' => Some('f'),
            '\r' => Some('r'),
            '\u{1b}' => Some('e'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\u{85}' => Some('N'),
            '\u{A0}' => Some('_'),
            '\u{2028}' => Some('L'),
            '\u{2029}' => Some('P'),
            _ => None,
        };
        match short {
            Some(e) => out.push(e),
            None if (c as u32) <= 0xFF => out.push_str(&format!("x{:02X}", c as u32)),
            None if (c as u32) <= 0xFFFF => out.push_str(&format!("u{:04X}", c as u32)),
            None => out.push_str(&format!("U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// A copy of `v` with the scalars go-yaml prints otherwise replaced by placeholders; their
/// text is pushed on `table`. A key that go-yaml writes as a complex key (`? key`: over 128
/// bytes or with a line break) gets a placeholder padded past 128 bytes, which
/// `serde_yaml_ng` writes as one too.
pub(crate) fn prepare(v: &Value, table: &mut Vec<String>) -> Value {
    match v {
        Value::Mapping(m) => {
            let mut out = Mapping::new();
            for (k, val) in m {
                let key = match k {
                    Value::String(s) if differs(s) => {
                        let breaks = ['\r', '\n', '\u{85}', '\u{2028}', '\u{2029}'];
                        let complex = s.len() > 128 || s.contains(breaks);
                        match hold(table, go_double_quoted(s)) {
                            Value::String(p) if complex => Value::String(pad(&p)),
                            other => other,
                        }
                    }
                    other => other.clone(),
                };
                out.insert(key, prepare(val, table));
            }
            Value::Mapping(out)
        }
        Value::Sequence(s) => Value::Sequence(s.iter().map(|x| prepare(x, table)).collect()),
        Value::String(s) if differs(s) => hold(table, go_double_quoted(s)),
        Value::Number(n) if n.is_f64() => hold(table, go_float(n.as_f64().unwrap_or_default())),
        other => other.clone(),
    }
}

/// A placeholder for `text`, kept in `table`.
fn hold(table: &mut Vec<String>, text: String) -> Value {
    table.push(text);
    Value::String(format!("{OPEN}{}{CLOSE}", table.len() - 1))
}

/// A placeholder made longer than a simple key may be (its padding is dropped again).
fn pad(placeholder: &str) -> String {
    let inner = placeholder.trim_end_matches(CLOSE);
    format!("{inner}{}{CLOSE}", PAD.to_string().repeat(130))
}

/// The padding of [`pad`].
const PAD: char = 'p';

/// `line` with the placeholders of [`prepare`] replaced by their text.
pub(crate) fn substitute(line: &str, table: &[String]) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len_utf8()..];
        let Some(end) = after.find(CLOSE) else {
            break;
        };
        match after[..end]
            .trim_end_matches(PAD)
            .parse::<usize>()
            .ok()
            .and_then(|i| table.get(i))
        {
            Some(text) => {
                out.push_str(&rest[..start]);
                out.push_str(text);
            }
            None => out.push_str(&rest[..start + OPEN.len_utf8() + end + CLOSE.len_utf8()]),
        }
        rest = &after[end + CLOSE.len_utf8()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_go_formats_them() {
        // kubectl kustomize's output (tests/cases/printer-numbers).
        for (f, want) in [
            (0.5, "0.5"),
            (1234567.5, "1.2345675e+06"),
            (123456.5, "123456.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e20, "1e+20"),
            (2.5e-300, "2.5e-300"),
            (-1.25, "-1.25"),
            (1e100, "1e+100"),
            (1.5e-7, "1.5e-07"),
            (6.02e23, "6.02e+23"),
            (2.71, "2.71"),
        ] {
            assert_eq!(go_float(f), want, "{f}");
        }
    }

    #[test]
    fn integral_floats_become_integers_as_through_json() {
        let mut v: Value = serde_yaml_ng::from_str("[1.0, -0.0, 1e19, 1e20, 0.5, 3]").unwrap();
        json_numbers(&mut v);
        let want: Value =
            serde_yaml_ng::from_str("[1, 0, 10000000000000000000, 1e20, 0.5, 3]").unwrap();
        assert_eq!(v, want);
        // (tests/cases/printer-numbers) -2^63 is written -9223372036854776000: no integer.
        let mut v = Value::from(-9223372036854775808.0f64);
        json_numbers(&mut v);
        let want = Value::from(-9223372036854775808.0f64);
        assert_eq!(v, want);
    }

    #[test]
    fn strings_go_yaml_escapes() {
        assert_eq!(go_double_quoted("\u{1F600} smile"), r#""\U0001F600 smile""#);
        assert_eq!(go_double_quoted("\u{FEFF}a b"), r#""\uFEFF\x61\x20\x62""#);
        assert_eq!(go_double_quoted("a\u{2028}\"\n"), r#""a\L\"\n""#);
        assert!(!differs("héllo ☃") && differs("\u{1F600}") && differs("\u{FEFF}a"));
    }
}
