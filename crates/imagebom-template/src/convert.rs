//! Conversions between template [`Value`]s and JSON / YAML, with Helm's semantics.
//!
//! Helm reads values files and `fromYaml` input with `sigs.k8s.io/yaml`: the YAML is
//! decoded by go-yaml v2 (YAML 1.1 scalar resolution: `yes`/`on`/`y` are booleans,
//! `0777` is octal, `1_000` is an integer), converted to JSON, and decoded by
//! `encoding/json` into Go `interface{}`. So every number becomes a `float64`
//! ([`Value::Float`]), every map key becomes a string (`1` → `"1"`, `true` →
//! `"true"`), timestamps stay strings and `null`/`~`/empty become nil.
//! [`from_yaml_str`](crate::convert::from_yaml_str) reproduces that;
//! [`from_json`](crate::convert::from_json) and [`to_json`](crate::convert::to_json) map to and from
//! `serde_json`.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;

use crate::value::{Dict, Value};

/// Deepest nesting of maps and lists [`from_yaml_str`] accepts.
pub(crate) const MAX_YAML_DEPTH: usize = 128;
/// Most nodes (scalars, maps, lists, counting each alias expansion in full) that one
/// [`from_yaml_str`] call may build; stops "billion laughs" alias bombs.
pub(crate) const MAX_YAML_NODES: usize = 2_000_000;

/// An error converting YAML or JSON into template values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConvertError {
    /// The YAML text does not parse.
    #[error("error converting YAML to JSON: yaml: {0}")]
    Syntax(String),
    /// The document nests deeper than [`MAX_YAML_DEPTH`].
    #[error("error converting YAML to JSON: nesting deeper than the limit of {MAX_YAML_DEPTH}")]
    TooDeep,
    /// The document (aliases expanded) has more than [`MAX_YAML_NODES`] nodes.
    #[error(
        "error converting YAML to JSON: more than the limit of {MAX_YAML_NODES} nodes (aliases expanded)"
    )]
    TooManyNodes,
    /// An alias names an anchor that was not defined before it.
    #[error("error converting YAML to JSON: yaml: unknown anchor referenced")]
    UnknownAnchor,
    /// A map key that JSON cannot hold (a map, a list or null).
    #[error("error converting YAML to JSON: yaml: invalid map key: {0}")]
    UnsupportedKey(String),
    /// A null map key (`~: x`), with the value it carried (Go's `%#v`).
    #[error(
        "error converting YAML to JSON: unsupported map key of type: %!s(<nil>), key: <nil>, value: {0}"
    )]
    NullKey(String),
    /// A value JSON cannot hold (NaN or an infinity).
    #[error("error converting YAML to JSON: json: unsupported value: {0}")]
    UnsupportedValue(String),
    /// A `!!binary` scalar that is not base64, or another scalar whose tag does not fit.
    #[error("error converting YAML to JSON: yaml: {0}")]
    BadScalar(String),
}

/// Converts a JSON value as Go's `json.Unmarshal` into `interface{}` would: numbers
/// become [`Value::Float`].
pub fn from_json(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::String(s.into()),
        serde_json::Value::Array(a) => {
            Value::List(a.into_iter().map(from_json).collect::<Vec<_>>().into())
        }
        serde_json::Value::Object(o) => {
            let m: BTreeMap<Arc<str>, Value> = o
                .into_iter()
                .map(|(k, v)| (Arc::from(k.as_str()), from_json(v)))
                .collect();
            Value::Map(Dict::from_map(m))
        }
    }
}

/// Converts a template value to JSON. Integral floats below 1e21 become JSON
/// integers (as Go's `encoding/json` prints them); NaN, infinities and functions
/// become `null`.
pub fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Nil | Value::Function(_) => serde_json::Value::Null,
        Value::Map(m) if m.is_nil_map() => serde_json::Value::Null,
        Value::Typed(t) => to_json(&t.json_value()),
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(n) => serde_json::Value::from(*n),
        Value::Uint(n) => serde_json::Value::from(*n),
        Value::Float(f) => float_to_json(*f),
        Value::String(s) => serde_json::Value::String(s.to_string()),
        Value::List(l) => serde_json::Value::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => serde_json::Value::Object(
            m.entries()
                .into_iter()
                .map(|(k, v)| (k.to_string(), to_json(&v)))
                .collect(),
        ),
    }
}

fn float_to_json(f: f64) -> serde_json::Value {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        if f >= 0.0 && f <= u64::MAX as f64 && f < 1.8446744073709552e19 {
            if f <= i64::MAX as f64 && f < 9.223372036854776e18 {
                return serde_json::Value::from(f as i64);
            }
            return serde_json::Value::from(f as u64);
        }
        if (-9.223372036854776e18..0.0).contains(&f) {
            return serde_json::Value::from(f as i64);
        }
    }
    serde_json::Number::from_f64(f)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

/// Converts an already parsed `serde_yaml_ng` value with Helm's number and key rules
/// (numbers → float, keys → strings). `serde_yaml_ng` resolves scalars by YAML 1.2,
/// so unquoted `yes`/`on` stay strings here; use [`from_yaml_str`] for Helm's
/// YAML 1.1 resolution.
pub fn from_yaml(v: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match v {
        Y::Null => Value::Nil,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        Y::String(s) => Value::String(s.into()),
        Y::Sequence(s) => Value::List(s.into_iter().map(from_yaml).collect::<Vec<_>>().into()),
        Y::Mapping(m) => {
            let mut out: BTreeMap<Arc<str>, Value> = BTreeMap::new();
            for (k, v) in m {
                let key: String = match k {
                    Y::String(s) => s,
                    Y::Bool(b) => b.to_string(),
                    Y::Number(n) => {
                        if let Some(i) = n.as_i64() {
                            i.to_string()
                        } else if let Some(u) = n.as_u64() {
                            u.to_string()
                        } else {
                            format_float32_g(n.as_f64().unwrap_or(0.0))
                        }
                    }
                    Y::Null => "null".to_string(),
                    other => format!("{other:?}"),
                };
                out.insert(key.into(), from_yaml(v));
            }
            Value::Map(Dict::from_map(out))
        }
        Y::Tagged(t) => from_yaml(t.value),
    }
}

/// Parses the first YAML document of `text` as Helm does (`sigs.k8s.io/yaml`): see the
/// module docs. An empty document gives [`Value::Nil`].
///
/// # Errors
///
/// Syntax errors, NaN/infinite numbers (JSON cannot hold them), map keys that are
/// maps, lists or null, unknown anchors, and documents beyond [`MAX_YAML_DEPTH`] or
/// [`MAX_YAML_NODES`].
pub fn from_yaml_str(text: &str) -> Result<Value, ConvertError> {
    let mut b = Builder {
        parser: Parser::new_from_str(text),
        anchors: BTreeMap::new(),
        nodes: 0,
    };
    loop {
        match b.next()? {
            Event::StreamStart | Event::DocumentStart => continue,
            Event::StreamEnd | Event::DocumentEnd => return Ok(Value::Nil),
            ev => {
                let (v, _) = b.node(ev, 0)?;
                return Ok(v);
            }
        }
    }
}

/// Parses every YAML document of a stream (as [`from_yaml_str`] does for one).
///
/// # Errors
///
/// As [`from_yaml_str`].
pub fn from_yaml_str_all(text: &str) -> Result<Vec<Value>, ConvertError> {
    let mut b = Builder {
        parser: Parser::new_from_str(text),
        anchors: BTreeMap::new(),
        nodes: 0,
    };
    let mut docs = Vec::new();
    let mut in_doc = false;
    let mut have = false;
    loop {
        match b.next()? {
            Event::StreamStart => {}
            Event::DocumentStart => {
                in_doc = true;
                have = false;
            }
            Event::DocumentEnd => {
                if in_doc && !have {
                    docs.push(Value::Nil);
                }
                in_doc = false;
            }
            Event::StreamEnd => return Ok(docs),
            ev => {
                let (v, _) = b.node(ev, 0)?;
                docs.push(v);
                have = true;
            }
        }
    }
}

struct Builder<'a> {
    parser: Parser<core::str::Chars<'a>>,
    anchors: BTreeMap<usize, (Value, usize)>,
    nodes: usize,
}

/// A resolved YAML scalar before JSON conversion.
enum Scalar {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
}

/// yaml-rust2's error as go-yaml (libyaml) words it: `line N: problem`. libyaml's
/// problem drops the `while parsing …, ` context yaml-rust2 puts first; go-yaml
/// numbers a parser error's line from 0 and a scanner error's from 1, and leaves
/// the line out when it is 0.
fn go_yaml_message(e: &yaml_rust2::ScanError) -> String {
    const PARSER_CONTEXTS: [&str; 5] = [
        "while parsing a flow sequence, ",
        "while parsing a flow mapping, ",
        "while parsing a block mapping, ",
        "while parsing a block collection, ",
        "while parsing a node, ",
    ];
    let info = e.info();
    let (problem, parser) = match PARSER_CONTEXTS.iter().find_map(|c| info.strip_prefix(c)) {
        // libyaml says "did not find expected ',' or ']'" where yaml-rust2 says "expected …".
        Some(p) if p.starts_with("expected ") => (format!("did not find {p}"), true),
        Some(p) => (p.to_string(), true),
        None => match info.split_once(", ") {
            Some((ctx, p)) if ctx.starts_with("while ") => (p.to_string(), false),
            _ => (info.to_string(), false),
        },
    };
    let line = if parser {
        e.marker().line().saturating_sub(1)
    } else {
        e.marker().line()
    };
    if line == 0 {
        problem
    } else {
        format!("line {line}: {problem}")
    }
}

impl Builder<'_> {
    fn next(&mut self) -> Result<Event, ConvertError> {
        self.parser
            .next_token()
            .map(|(e, _)| e)
            .map_err(|e| ConvertError::Syntax(go_yaml_message(&e)))
    }

    fn count(&mut self, n: usize) -> Result<(), ConvertError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_YAML_NODES {
            return Err(ConvertError::TooManyNodes);
        }
        Ok(())
    }

    /// Builds the node that starts with `ev`; returns it and its node count.
    fn node(&mut self, ev: Event, depth: usize) -> Result<(Value, usize), ConvertError> {
        if depth > MAX_YAML_DEPTH {
            return Err(ConvertError::TooDeep);
        }
        match ev {
            Event::Alias(id) => {
                let (v, n) = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or(ConvertError::UnknownAnchor)?;
                self.count(n)?;
                Ok((v.deep_copy(), n))
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1)?;
                let v = scalar_value(resolve(&text, style, tag.as_ref())?)?;
                if anchor > 0 {
                    self.anchors.insert(anchor, (v.clone(), 1));
                }
                Ok((v, 1))
            }
            Event::SequenceStart(anchor, _) => {
                self.count(1)?;
                let mut items = Vec::new();
                let mut n = 1usize;
                loop {
                    match self.next()? {
                        Event::SequenceEnd => break,
                        ev => {
                            let (v, c) = self.node(ev, depth + 1)?;
                            n = n.saturating_add(c);
                            items.push(v);
                        }
                    }
                }
                let v = Value::List(items.into());
                if anchor > 0 {
                    self.anchors.insert(anchor, (v.clone(), n));
                }
                Ok((v, n))
            }
            Event::MappingStart(anchor, _) => {
                self.count(1)?;
                let mut map: BTreeMap<Arc<str>, Value> = BTreeMap::new();
                let mut n = 1usize;
                loop {
                    let kev = match self.next()? {
                        Event::MappingEnd => break,
                        ev => ev,
                    };
                    let is_merge =
                        matches!(&kev, Event::Scalar(s, TScalarStyle::Plain, _, None) if s == "<<");
                    let key = if is_merge {
                        self.count(1)?;
                        Key::Merge
                    } else {
                        match self.key(kev, depth + 1)? {
                            Some(k) => Key::Name(k),
                            None => Key::Null,
                        }
                    };
                    let vev = self.next()?;
                    let (v, c) = self.node(vev, depth + 1)?;
                    n = n.saturating_add(c).saturating_add(1);
                    match key {
                        Key::Name(k) => {
                            map.insert(k.into(), v);
                        }
                        Key::Merge => merge_into(&mut map, &v)?,
                        Key::Null => return Err(ConvertError::NullKey(go_sharp_v(&v))),
                    }
                }
                let v = Value::Map(Dict::from_map(map));
                if anchor > 0 {
                    self.anchors.insert(anchor, (v.clone(), n));
                }
                Ok((v, n))
            }
            Event::StreamEnd | Event::DocumentEnd | Event::DocumentStart => {
                Err(ConvertError::Syntax("unexpected end of document".into()))
            }
            other => Err(ConvertError::Syntax(format!("unexpected event {other:?}"))),
        }
    }

    /// Reads a map key and stringifies it as `sigs.k8s.io/yaml` does (`None`: a null key).
    fn key(&mut self, ev: Event, depth: usize) -> Result<Option<String>, ConvertError> {
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1)?;
                let s = resolve(&text, style, tag.as_ref())?;
                if anchor > 0 {
                    let v = scalar_value(resolve(&text, style, tag.as_ref())?)?;
                    self.anchors.insert(anchor, (v, 1));
                }
                key_string(s)
            }
            Event::Alias(id) => {
                let (v, n) = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or(ConvertError::UnknownAnchor)?;
                self.count(n)?;
                match v {
                    Value::String(s) => Ok(Some(s.to_string())),
                    Value::Bool(b) => Ok(Some(b.to_string())),
                    Value::Float(f) => Ok(Some(format_float32_g(f))),
                    Value::Nil => Ok(None),
                    other => Err(ConvertError::UnsupportedKey(go_sharp_v(&other))),
                }
            }
            other => {
                // Consume the whole complex key, then reject it.
                let (v, _) = self.node(other, depth)?;
                Err(ConvertError::UnsupportedKey(go_sharp_v(&v)))
            }
        }
    }
}

/// Applies a `<<` merge: a map, or a list of maps where earlier maps win.
fn merge_into(map: &mut BTreeMap<Arc<str>, Value>, v: &Value) -> Result<(), ConvertError> {
    match v {
        Value::Map(m) => {
            for (k, v) in m.entries() {
                map.insert(k, v);
            }
            Ok(())
        }
        Value::List(items) => {
            for it in items.iter().rev() {
                match it {
                    Value::Map(_) => merge_into(map, it)?,
                    _ => {
                        return Err(ConvertError::BadScalar(
                            "map merge requires map or sequence of maps as the value".into(),
                        ));
                    }
                }
            }
            Ok(())
        }
        _ => Err(ConvertError::BadScalar(
            "map merge requires map or sequence of maps as the value".into(),
        )),
    }
}

/// A map key as the mapping loop sees it.
enum Key {
    Name(String),
    Merge,
    Null,
}

/// Go's `%#v` of a decoded YAML value (for error messages).
fn go_sharp_v(v: &Value) -> String {
    match v {
        Value::Nil => "<nil>".into(),
        Value::String(s) => crate::go::go_quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Float(f) => crate::go::format_float(*f),
        Value::List(l) => format!(
            "[]interface {{}}{{{}}}",
            l.iter().map(go_sharp_v).collect::<Vec<_>>().join(", ")
        ),
        Value::Map(m) => format!(
            "map[interface {{}}]interface {{}}{{{}}}",
            m.entries()
                .iter()
                .map(|(k, v)| format!("{}:{}", crate::go::go_quote(k), go_sharp_v(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}"),
    }
}

fn key_string(s: Scalar) -> Result<Option<String>, ConvertError> {
    Ok(Some(match s {
        Scalar::Str(s) => s,
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => {
            if f.is_nan() {
                ".nan".into()
            } else if f.is_infinite() {
                if f > 0.0 {
                    ".inf".into()
                } else {
                    "-.inf".into()
                }
            } else {
                format_float32_g(f)
            }
        }
        Scalar::Null => return Ok(None),
    }))
}

fn scalar_value(s: Scalar) -> Result<Value, ConvertError> {
    Ok(match s {
        Scalar::Null => Value::Nil,
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Int(i) => Value::Float(i as f64),
        Scalar::Float(f) => {
            if f.is_nan() {
                return Err(ConvertError::UnsupportedValue("NaN".into()));
            }
            if f.is_infinite() {
                return Err(ConvertError::UnsupportedValue(
                    if f > 0.0 { "+Inf" } else { "-Inf" }.into(),
                ));
            }
            Value::Float(f)
        }
        Scalar::Str(s) => Value::String(s.into()),
    })
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`: how `sigs.k8s.io/yaml` names float keys.
pub(crate) fn format_float32_g(f: f64) -> String {
    let f32v = f as f32;
    // Shortest repr of the f32, then Go's %g exponent rule (exp < -4 || exp >= 21 with
    // shortest formatting uses eprec = digits, capped at 21).
    let s = format!("{:e}", f32v);
    crate::go::g_from_shortest(&s, false)
}

/// YAML 1.1 boolean/null spellings go-yaml v2 resolves.
fn resolve_word(s: &str) -> Option<Scalar> {
    Some(match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Scalar::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Scalar::Bool(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => Scalar::Null,
        ".nan" | ".NaN" | ".NAN" => Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Scalar::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Scalar::Float(f64::NEG_INFINITY),
        _ => return None,
    })
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Whether go-yaml v2 reads the unquoted text as a string (not a bool, number or null).
pub(crate) fn resolves_to_string(s: &str) -> bool {
    matches!(resolve_plain(s), Scalar::Str(_))
}

/// go-yaml v2's `resolve` for an untagged plain scalar.
fn resolve_plain(s: &str) -> Scalar {
    if let Some(v) = resolve_word(s) {
        return v;
    }
    let first = s.as_bytes().first().copied().unwrap_or(0);
    if first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.') {
        let plain = s.replace('_', "");
        if let Some(i) = crate::go::parse_int(&plain) {
            return Scalar::Int(i);
        }
        if is_yaml_style_float(&plain)
            && let Ok(f) = plain.parse::<f64>()
        {
            return Scalar::Float(f);
        }
    }
    Scalar::Str(s.to_string())
}

fn resolve(text: &str, style: TScalarStyle, tag: Option<&Tag>) -> Result<Scalar, ConvertError> {
    let plain = matches!(style, TScalarStyle::Plain);
    let Some(tag) = tag else {
        return Ok(if plain {
            resolve_plain(text)
        } else {
            Scalar::Str(text.to_string())
        });
    };
    let full = if tag.handle == "!!" {
        format!("tag:yaml.org,2002:{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    };
    let bad = |what: &str| ConvertError::BadScalar(format!("cannot decode !!{what} `{text}`"));
    match full.as_str() {
        "tag:yaml.org,2002:str" => Ok(Scalar::Str(text.to_string())),
        "tag:yaml.org,2002:null" => Ok(Scalar::Null),
        "tag:yaml.org,2002:bool" => match resolve_plain(text) {
            b @ Scalar::Bool(_) => Ok(b),
            _ => Err(bad("bool")),
        },
        "tag:yaml.org,2002:int" => match resolve_plain(text) {
            i @ Scalar::Int(_) => Ok(i),
            _ => Err(bad("int")),
        },
        "tag:yaml.org,2002:float" => match resolve_plain(text) {
            Scalar::Int(i) => Ok(Scalar::Float(i as f64)),
            f @ Scalar::Float(_) => Ok(f),
            _ => Err(bad("float")),
        },
        "tag:yaml.org,2002:binary" => {
            let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = data_encoding::BASE64
                .decode(clean.as_bytes())
                .map_err(|_| bad("binary"))?;
            Ok(Scalar::Str(String::from_utf8_lossy(&bytes).into_owned()))
        }
        _ => Ok(if plain {
            resolve_plain(text)
        } else {
            Scalar::Str(text.to_string())
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(s: &str) -> Value {
        from_yaml_str(s).unwrap()
    }

    #[test]
    fn numbers_are_floats_and_words_are_yaml11() {
        let v = y(
            "a: 1\nb: 0777\nc: 1_000\nd: 0x1F\ne: 1.5e3\nf: yes\ng: off\nh: ~\ni: '1'\nj: 2001-12-14\nk: .5\nl: +12\nm: 08\n",
        );
        let m = match v {
            Value::Map(m) => m,
            _ => panic!(),
        };
        assert_eq!(m.get("a"), Some(Value::Float(1.0)));
        assert_eq!(m.get("b"), Some(Value::Float(511.0)));
        assert_eq!(m.get("c"), Some(Value::Float(1000.0)));
        assert_eq!(m.get("d"), Some(Value::Float(31.0)));
        assert_eq!(m.get("e"), Some(Value::Float(1500.0)));
        assert_eq!(m.get("f"), Some(Value::Bool(true)));
        assert_eq!(m.get("g"), Some(Value::Bool(false)));
        assert_eq!(m.get("h"), Some(Value::Nil));
        assert_eq!(m.get("i"), Some(Value::String("1".into())));
        assert_eq!(m.get("j"), Some(Value::String("2001-12-14".into())));
        assert_eq!(m.get("k"), Some(Value::Float(0.5)));
        assert_eq!(m.get("l"), Some(Value::Float(12.0)));
        assert_eq!(m.get("m"), Some(Value::Float(8.0)));
    }

    /// `y`/`n` are YAML 1.1 booleans for go-yaml v2, keys included (checked against the
    /// Helm v4 SDK: `y: 1` and `on: x` both land under the key "true").
    #[test]
    fn keys_are_stringified() {
        let v = y("1: a\ntrue: b\non: c\n1.5: d\n");
        let m = match v {
            Value::Map(m) => m,
            _ => panic!(),
        };
        let keys: Vec<String> = m.keys().iter().map(|k| k.to_string()).collect();
        assert_eq!(keys, vec!["1", "1.5", "true"]);
        assert_eq!(m.get("true"), Some(Value::String("c".into())));
    }

    #[test]
    fn anchors_merge_and_copies() {
        let v = y("base: &b {x: 1, q: 2}\nother:\n  <<: *b\n  q: 3\nlist: [*b]\n");
        let m = match v {
            Value::Map(m) => m,
            _ => panic!(),
        };
        let other = match m.get("other").unwrap() {
            Value::Map(o) => o,
            _ => panic!(),
        };
        assert_eq!(other.get("x"), Some(Value::Float(1.0)));
        assert_eq!(other.get("q"), Some(Value::Float(3.0)));
        // Alias expansions are independent copies.
        let base = match m.get("base").unwrap() {
            Value::Map(b) => b,
            _ => panic!(),
        };
        base.insert("x", Value::Nil);
        let l = match m.get("list").unwrap() {
            Value::List(l) => l,
            _ => panic!(),
        };
        assert_eq!(l[0].field("x"), Some(Value::Float(1.0)));
    }

    #[test]
    fn alias_bomb_and_depth_are_bounded() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = format!("*a{}", i - 1);
            s.push_str(&format!(
                "a{i}: &a{i} [{}]\n",
                [prev.as_str(); 10].join(", ")
            ));
        }
        assert_eq!(from_yaml_str(&s), Err(ConvertError::TooManyNodes));
        // The parser stops deep flow nesting itself; block nesting hits our limit.
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(matches!(from_yaml_str(&deep), Err(ConvertError::Syntax(_))));
        let mut block = String::new();
        for i in 0..(MAX_YAML_DEPTH + 2) {
            block.push_str(&" ".repeat(i));
            block.push_str("k:\n");
        }
        assert_eq!(from_yaml_str(&block), Err(ConvertError::TooDeep));
    }

    #[test]
    fn errors() {
        assert!(matches!(
            from_yaml_str("a: .nan"),
            Err(ConvertError::UnsupportedValue(_))
        ));
        assert!(matches!(
            from_yaml_str("? [1]\n: x"),
            Err(ConvertError::UnsupportedKey(_))
        ));
        assert!(matches!(
            from_yaml_str("a: *nope"),
            Err(ConvertError::Syntax(_))
        ));
        assert!(matches!(
            from_yaml_str("a: [1"),
            Err(ConvertError::Syntax(_))
        ));
        assert_eq!(from_yaml_str("").unwrap(), Value::Nil);
        assert_eq!(from_yaml_str("# only a comment\n").unwrap(), Value::Nil);
    }

    #[test]
    fn json_round_trip() {
        let j = serde_json::json!({"a": 1, "b": [true, null, "s", 1.5]});
        let v = from_json(j.clone());
        assert_eq!(v.field("a"), Some(Value::Float(1.0)));
        assert_eq!(to_json(&v), j);
    }

    #[test]
    fn float32_key_format() {
        assert_eq!(format_float32_g(1.5), "1.5");
        assert_eq!(format_float32_g(0.1), "0.1");
        assert_eq!(format_float32_g(1e21), "1e+21");
        assert_eq!(format_float32_g(100.0), "100");
        assert_eq!(format_float32_g(0.00001), "1e-05");
    }
}
