//! Helm's own template functions that need no engine state: `toYaml`, `fromYaml`,
//! `toJson`, `fromJson`, `toToml`, `fromToml`, `required`, `fail`, `lookup`.
//! `include`, `tpl` and `template` are the engine's.
//!
//! `toYaml` follows `sigs.k8s.io/yaml.Marshal`: the value goes through JSON (so
//! integral numbers print as integers) and is written by go-yaml v2's emitter: keys
//! sorted in go-yaml's "natural" order, 2-space indent, sequences not indented under
//! their key, strings quoted only when they would read back as something else, long
//! lines folded at 80 columns. Helm trims the final newline.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::FuncMap;
use crate::error::{Result, TemplateError};
use crate::function::add_fn;
use crate::sprig::json;
use crate::value::{Dict, Value};

fn err(msg: impl Into<String>) -> TemplateError {
    TemplateError::Exec(msg.into())
}

/// Sprig + Helm's functions as `helm template` registers them (minus the engine's
/// `include`, `tpl`, `template`): Sprig's map without `env`/`expandenv`, plus Helm's
/// `toYaml`, `fromYaml`, `toJson`, `fromJson`, `toToml`, `required`, `lookup`, ….
pub fn helm_funcmap() -> FuncMap {
    static MAP: std::sync::LazyLock<FuncMap> = std::sync::LazyLock::new(build_helm_funcmap);
    MAP.clone()
}

fn build_helm_funcmap() -> FuncMap {
    let mut m = crate::sprig::sprig_funcmap();
    m.remove("env");
    m.remove("expandenv");
    serializers(&mut m);
    toml_and_failures(&mut m);
    m
}

fn serializers(m: &mut FuncMap) {
    add_fn(m, "toYaml", |v: Value| Ok(to_yaml(&v).unwrap_or_default()));
    add_fn(m, "mustToYaml", |v: Value| {
        to_yaml(&v).map_err(|e| err(e.to_string()))
    });
    add_fn(m, "toYamlPretty", |v: Value| {
        Ok(to_yaml_pretty(&v).unwrap_or_default())
    });
    add_fn(m, "fromYaml", |s: String| Ok(from_yaml_map(&s)));
    add_fn(m, "fromYamlArray", |s: String| Ok(from_yaml_array(&s)));
    add_fn(m, "toJson", |v: Value| {
        Ok(json::encode(&v, true, None).unwrap_or_default())
    });
    add_fn(m, "mustToJson", |v: Value| {
        json::encode(&v, true, None).map_err(|e| err(e.0))
    });
    add_fn(m, "fromJson", |s: String| Ok(from_json_map(&s)));
    add_fn(m, "fromJsonArray", |s: String| Ok(from_json_array(&s)));
    add_fn(m, "toToml", |v: Value| {
        if matches!(v, Value::Nil) {
            return Err(err("reflect: call of reflect.Value.Type on zero Value"));
        }
        Ok(to_toml(&v))
    });
}

/// Helm's `fromJson`: a map, or a map holding the decoding error under `Error`.
fn from_json_map(s: &str) -> Value {
    match json::decode(s) {
        Ok(Value::Map(d)) => Value::Map(d),
        Ok(Value::Nil) => Value::Map(Dict::new()),
        Ok(other) => error_map(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&other)
        )),
        Err(e) => error_map(e),
    }
}

/// Helm's `fromJsonArray`: a list, or a list of the decoding error.
fn from_json_array(s: &str) -> Value {
    match json::decode(s) {
        Ok(Value::List(l)) => Value::List(l),
        Ok(Value::Nil) => Value::List(Vec::new().into()),
        Ok(other) => Value::List(
            alloc::vec![Value::String(
                format!(
                    "json: cannot unmarshal {} into Go value of type []interface {{}}",
                    json_kind(&other)
                )
                .into()
            )]
            .into(),
        ),
        Err(e) => Value::List(alloc::vec![Value::String(e.into())].into()),
    }
}

fn toml_and_failures(m: &mut FuncMap) {
    add_fn(m, "fromToml", |s: String| Ok(from_toml(&s)));
    // Helm's `required(warn string, val interface{})` and `fail(msg string)`: the
    // message comes back typed ([`TemplateError::Fail`]), so Helm's error clean-up finds it
    // without the `HELM_ERR_START…HELM_ERR_END` markers Helm wraps it in.
    add_fn(m, "required", |msg: String, v: Value| match v {
        Value::Nil => Err(TemplateError::Fail(msg)),
        Value::String(s) if s.is_empty() => Err(TemplateError::Fail(msg)),
        v => Ok(v),
    });
    add_fn(m, "fail", |msg: String| -> Result<Value> {
        Err(TemplateError::Fail(msg))
    });
    add_fn(
        m,
        "lookup",
        |_api: String, _kind: String, _ns: String, _name: String| Ok(Value::Map(Dict::new())),
    );
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::List(_) => "array",
        Value::Map(_) => "object",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    }
}

fn error_map(msg: impl Into<Arc<str>>) -> Value {
    let d = Dict::new();
    d.insert("Error", Value::String(msg.into()));
    Value::Map(d)
}

/// Helm's `fromYaml`: a map; a parse error lands under the key `Error`.
pub(crate) fn from_yaml_map(text: &str) -> Value {
    match crate::convert::from_yaml_str(text) {
        Ok(Value::Map(d)) => Value::Map(d),
        Ok(Value::Nil) => Value::Map(Dict::new()),
        Ok(other) => error_map(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&other)
        )),
        Err(e) => error_map(e.to_string()),
    }
}

/// Helm's `fromYamlArray`: a list; a parse error becomes a one-string list.
pub(crate) fn from_yaml_array(text: &str) -> Value {
    match crate::convert::from_yaml_str(text) {
        Ok(Value::List(l)) => Value::List(l),
        Ok(Value::Nil) => Value::List(Vec::new().into()),
        Ok(other) => Value::List(
            alloc::vec![Value::String(
                format!(
                    "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type []interface {{}}",
                    json_kind(&other)
                )
                .into()
            )]
            .into(),
        ),
        Err(e) => Value::List(alloc::vec![Value::String(e.to_string().into())].into()),
    }
}

// ---------------------------------------------------------------------------
// TOML

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml_quote(k)
    }
}

fn toml_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_table_array(v: &Value) -> bool {
    matches!(v, Value::List(l) if !l.is_empty() && l.iter().all(|x| matches!(x, Value::Map(_))))
}

fn toml_scalar(v: &Value) -> core::result::Result<String, String> {
    Ok(match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Uint(n) => n.to_string(),
        Value::Float(f) => {
            if f.is_nan() {
                "nan".into()
            } else if f.is_infinite() {
                if *f > 0.0 {
                    "inf".into()
                } else {
                    "-inf".into()
                }
            } else {
                let s = crate::go::format_float(*f);
                if s.contains(['.', 'e']) {
                    s
                } else {
                    format!("{s}.0")
                }
            }
        }
        Value::String(s) => toml_quote(s),
        Value::List(l) => {
            let mut parts = Vec::new();
            for x in l.iter() {
                if matches!(x, Value::Nil) {
                    return Err("toml: cannot encode array with nil element".into());
                }
                parts.push(toml_scalar(x)?);
            }
            format!("[{}]", parts.join(", "))
        }
        Value::Map(m) => {
            // An inline table inside an array.
            let mut parts = Vec::new();
            for (k, x) in m.entries() {
                if !matches!(x, Value::Nil) {
                    parts.push(format!("{} = {}", toml_key(&k), toml_scalar(&x)?));
                }
            }
            format!("{{{}}}", parts.join(", "))
        }
        _ => {
            return Err(format!(
                "toml: unsupported type: {}",
                crate::sprig::go_type(v)
            ));
        }
    })
}

/// BurntSushi/toml's encoder layout: plain keys first, then tables, sub-tables
/// indented by two spaces per level, a blank line before top-level tables.
fn toml_table(
    out: &mut String,
    m: &Dict,
    path: &[String],
    depth: usize,
) -> core::result::Result<(), String> {
    if depth > MAX_OUT_DEPTH {
        return Err("toml: nesting too deep".into());
    }
    let entries = m.entries();
    let ind = "  ".repeat(path.len());
    for (k, v) in &entries {
        if matches!(v, Value::Nil | Value::Map(_)) || is_table_array(v) {
            continue;
        }
        out.push_str(&format!("{ind}{} = {}\n", toml_key(k), toml_scalar(v)?));
    }
    for (k, v) in &entries {
        let mut sub = path.to_vec();
        sub.push(toml_key(k));
        let head_ind = "  ".repeat(sub.len() - 1);
        match v {
            Value::Map(sm) => {
                if sub.len() == 1 && !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&format!("{head_ind}[{}]\n", sub.join(".")));
                toml_table(out, sm, &sub, depth + 1)?;
            }
            Value::List(l) if is_table_array(v) => {
                for it in l.iter() {
                    if let Value::Map(sm) = it {
                        if !out.is_empty() {
                            out.push('\n');
                        }
                        out.push_str(&format!("{head_ind}[[{}]]\n", sub.join(".")));
                        toml_table(out, sm, &sub, depth + 1)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Helm's `toToml` (BurntSushi/toml's encoder; errors are returned as the text).
pub(crate) fn to_toml(v: &Value) -> String {
    match v {
        Value::Map(m) => {
            let mut out = String::new();
            match toml_table(&mut out, m, &[], 0) {
                Ok(()) => out,
                Err(e) => e,
            }
        }
        _ => "toml: top-level values must be Go maps or structs".into(),
    }
}

fn from_toml_value(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.into()),
        toml::Value::Integer(i) => Value::Int(i),
        toml::Value::Float(f) => Value::Float(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string().into()),
        toml::Value::Array(a) => Value::List(
            a.into_iter()
                .map(from_toml_value)
                .collect::<Vec<_>>()
                .into(),
        ),
        toml::Value::Table(t) => {
            let d = Dict::new();
            for (k, v) in t {
                d.insert(k, from_toml_value(v));
            }
            Value::Map(d)
        }
    }
}

/// Helm's `fromToml`: a map; a parse error lands under the key `Error`.
pub(crate) fn from_toml(text: &str) -> Value {
    match text.parse::<toml::Table>() {
        Ok(t) => from_toml_value(toml::Value::Table(t)),
        Err(e) => error_map(e.message().to_string()),
    }
}

// ---------------------------------------------------------------------------
// YAML output

/// A value as go-yaml sees it after `sigs.k8s.io/yaml`'s JSON round trip.
enum Node {
    Null,
    Bool(bool),
    Int(String),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// Why a value cannot be written as YAML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct YamlOutError(String);

const MAX_OUT_DEPTH: usize = 256;

fn to_node(v: &Value, via_json: bool, depth: usize) -> core::result::Result<Node, YamlOutError> {
    if depth > MAX_OUT_DEPTH {
        return Err(YamlOutError(
            "json: unsupported value: encountered a cycle or nesting deeper than 256".into(),
        ));
    }
    Ok(match v {
        Value::Nil => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Int(n) => Node::Int(n.to_string()),
        Value::Uint(n) => Node::Int(n.to_string()),
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(YamlOutError(format!(
                    "json: unsupported value: {}",
                    crate::go::format_float(*f)
                )));
            }
            if via_json {
                // JSON text that is a plain integer reads back as a YAML int.
                let j = json::go_json_float(*f).map_err(|e| YamlOutError(e.0))?;
                let digits = j.strip_prefix('-').unwrap_or(&j);
                let all_digits = digits.bytes().all(|b| b.is_ascii_digit());
                if let (true, Ok(i)) = (all_digits, j.parse::<i64>()) {
                    Node::Int(i.to_string())
                } else if let (true, Ok(u)) = (all_digits, j.parse::<u64>()) {
                    Node::Int(u.to_string())
                } else {
                    Node::Float(*f)
                }
            } else {
                Node::Float(*f)
            }
        }
        Value::String(s) => Node::Str(s.to_string()),
        Value::List(l) => Node::Seq(
            l.iter()
                .map(|x| to_node(x, via_json, depth + 1))
                .collect::<core::result::Result<_, _>>()?,
        ),
        Value::Map(m) => {
            let mut entries = m
                .entries()
                .into_iter()
                .map(|(k, x)| Ok((k.to_string(), to_node(&x, via_json, depth + 1)?)))
                .collect::<core::result::Result<Vec<_>, YamlOutError>>()?;
            entries.sort_by(|a, b| key_order(&a.0, &b.0));
            Node::Map(entries)
        }
        Value::Typed(t) => to_node(&t.json_value(), via_json, depth)?,
        Value::Function(_) => {
            return Err(YamlOutError(
                "json: unsupported type: func(...interface {}) (interface {}, error)".into(),
            ));
        }
    })
}

/// go-yaml's `keyList.Less` for string keys: letters by code point, digit runs by
/// number, other characters before letters.
fn key_order(a: &str, b: &str) -> Ordering {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

#[derive(Clone, Copy, PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

struct Analysis {
    block_plain: bool,
    single: bool,
    block: bool,
}

fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: Option<char>) -> bool {
    matches!(c, Some(' ' | '\t'))
}

fn is_blankz(c: Option<char>) -> bool {
    match c {
        None | Some('\0') => true,
        Some(c) => c == ' ' || c == '\t' || is_break(c),
    }
}

/// libyaml's `yaml_emitter_analyze_scalar`.
fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            block_plain: true,
            single: true,
            block: false,
        };
    }
    let cs: Vec<char> = s.chars().collect();
    let (mut block_ind, mut special) = (false, false);
    let (mut line_breaks, mut lead_space, mut lead_break) = (false, false, false);
    let (mut trail_space, mut trail_break, mut break_space, mut space_break) =
        (false, false, false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    if s.starts_with("---") || s.starts_with("...") {
        block_ind = true;
    }
    let mut preceded_ws = true;
    let n = cs.len();
    for i in 0..n {
        let c = cs[i];
        let followed_ws = i + 1 >= n || is_blank(cs.get(i + 1).copied());
        let first = i == 0;
        match c {
            '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
            | '@' | '`'
                if first =>
            {
                block_ind = true
            }
            '?' | ':' | '-' if first && followed_ws => block_ind = true,
            ':' if !first && followed_ws => block_ind = true,
            '#' if !first && preceded_ws => block_ind = true,
            _ => {}
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                lead_space = true;
            }
            if i + 1 == n {
                trail_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                lead_break = true;
            }
            if i + 1 == n {
                trail_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_ws = is_blankz(Some(c));
    }
    let mut a = Analysis {
        block_plain: true,
        single: true,
        block: true,
    };
    if lead_space || lead_break || trail_space || trail_break {
        a.block_plain = false;
    }
    if trail_space {
        a.block = false;
    }
    if break_space {
        a.block_plain = false;
        a.single = false;
    }
    if space_break || special {
        a.block_plain = false;
        a.single = false;
        a.block = false;
    }
    if line_breaks {
        a.block_plain = false;
    }
    if block_ind {
        a.block_plain = false;
    }
    a
}

/// go-yaml v2's `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() && i - st < 2 {
            i += 1;
        }
        let g = &s[st..i];
        let ok = match g.len() {
            1 => true,
            2 => g.as_bytes()[0] <= b'5',
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml v2's timestamp check (`YYYY-M-D` with optional time part).
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let layouts = [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dt%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.fZ",
        "%Y-%m-%dt%H:%M:%S%.fZ",
    ];
    if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
        return true;
    }
    if chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").is_ok() {
        return true;
    }
    layouts
        .iter()
        .any(|l| chrono::DateTime::parse_from_str(s, l).is_ok())
        || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.fZ").is_ok()
}

/// Whether go-yaml v2 would read the unquoted text as something other than a string.
fn resolves_non_string(s: &str) -> bool {
    if !crate::convert::resolves_to_string(s) {
        return true;
    }
    let first = s.as_bytes().first().copied().unwrap_or(0);
    (first.is_ascii_digit()) && is_timestamp(s)
}

struct Emitter {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
    indent: i64,
    indents: Vec<i64>,
    best_width: usize,
    /// yaml.v3 with `SetIndent(2)` (toYamlPretty): sequences indented under keys, no folding.
    pretty: bool,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { 2 } else { 0 };
        } else if !indentless {
            self.indent += 2;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, ind: &str, need_ws: bool, is_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.put(' ');
        }
        for c in ind.chars() {
            self.put(c);
        }
        self.whitespace = is_ws;
        self.indention = self.indention && is_indention;
    }

    fn node(&mut self, n: &Node, mapping_ctx: bool) {
        match n {
            Node::Null => self.scalar("null", Style::Plain, false),
            Node::Bool(b) => self.scalar(if *b { "true" } else { "false" }, Style::Plain, false),
            Node::Int(s) => self.scalar(s, Style::Plain, false),
            Node::Float(f) => {
                let s = crate::go::format_float(*f);
                self.scalar(&s, Style::Plain, false);
            }
            Node::Str(s) => {
                let style = if s.contains('\n') {
                    Style::Literal
                } else if !resolves_non_string(s) && !is_base60_float(s) {
                    Style::Plain
                } else {
                    Style::Double
                };
                self.scalar(s, style, false);
            }
            Node::Seq(items) if items.is_empty() => self.empty_flow("[", "]"),
            Node::Map(entries) if entries.is_empty() => self.empty_flow("{", "}"),
            Node::Seq(items) => {
                let indentless = mapping_ctx && !self.indention && !self.pretty;
                self.increase_indent(false, indentless);
                for it in items {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.node(it, false);
                }
                self.pop_indent();
            }
            Node::Map(entries) => {
                self.increase_indent(false, false);
                for (k, v) in entries {
                    self.write_indent();
                    let style = if k.contains('\n') {
                        Style::Literal
                    } else if !resolves_non_string(k) && !is_base60_float(k) {
                        Style::Plain
                    } else {
                        Style::Double
                    };
                    // libyaml's check_simple_key: at most 128 bytes, one line.
                    if k.len() <= 128 && !k.chars().any(is_break) {
                        self.scalar(k, style, true);
                        self.write_indicator(":", false, false, false);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.scalar(k, style, false);
                        self.write_indent();
                        self.write_indicator(":", true, false, true);
                    }
                    self.node(v, true);
                }
                self.pop_indent();
            }
        }
    }

    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    fn scalar(&mut self, s: &str, requested: Style, simple_key: bool) {
        let a = analyze(s);
        let mut style = requested;
        if style == Style::Plain && (!a.block_plain || (s.is_empty() && simple_key)) {
            style = Style::Single;
        }
        if style == Style::Single && !a.single {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block || simple_key) {
            style = Style::Double;
        }
        self.increase_indent(true, false);
        let allow_breaks = !simple_key && !self.pretty;
        match style {
            Style::Plain => self.write_plain(s, allow_breaks),
            Style::Single => self.write_single(s, allow_breaks),
            Style::Double => self.write_double(s, allow_breaks),
            Style::Literal => self.write_literal(s),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, s: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let cs: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for i in 0..cs.len() {
            let c = cs[i];
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && cs.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single(&mut self, s: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let cs: Vec<char> = s.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        let n = cs.len();
        for i in 0..n {
            let c = cs[i];
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && i != 0
                    && i != n - 1
                    && cs.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.put_break();
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
    }

    fn write_double(&mut self, s: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let cs: Vec<char> = s.chars().collect();
        let n = cs.len();
        let mut spaces = false;
        for i in 0..n {
            let c = cs[i];
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let u = c as u32;
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{b}' => self.put('v'),
                    '\u{c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    _ => {
                        let (p, w) = if u <= 0xFF {
                            ('x', 2)
                        } else if u <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(p);
                        let hex = format!("{u:0w$X}");
                        for h in hex.chars() {
                            self.put(h);
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > self.best_width && i != 0 && i != n - 1
                {
                    self.write_indent();
                    if cs.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
    }

    fn write_literal(&mut self, s: &str) {
        self.write_indicator("|", true, false, false);
        let cs: Vec<char> = s.chars().collect();
        if cs.first().is_some_and(|c| *c == ' ' || is_break(*c)) {
            self.write_indicator("2", false, false, false);
        }
        let chomp = match cs.last() {
            None => Some("-"),
            Some(c) if !is_break(*c) => Some("-"),
            Some(_) if cs.len() == 1 => Some("+"),
            Some(_) if is_break(cs[cs.len() - 2]) => Some("+"),
            Some(_) => None,
        };
        if let Some(ch) = chomp {
            self.write_indicator(ch, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in cs {
            if is_break(c) {
                self.put_break();
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                    breaks = false;
                }
                self.put(c);
                self.indention = false;
            }
        }
    }
}

fn emit(n: &Node, pretty: bool) -> String {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
        indent: -1,
        indents: Vec::new(),
        best_width: 80,
        pretty,
    };
    e.node(n, false);
    // Document end: a final line break.
    e.write_indent();
    e.out
}

/// `sigs.k8s.io/yaml.Marshal` as Helm's `toYaml` uses it, final newline trimmed.
///
/// # Errors
///
/// Values JSON cannot hold (NaN, infinities, functions).
pub(crate) fn to_yaml(v: &Value) -> core::result::Result<String, YamlOutError> {
    let n = to_node(v, true, 0)?;
    let out = emit(&n, false);
    Ok(out.strip_suffix('\n').unwrap_or(&out).to_string())
}

/// Helm's `toYamlPretty` (yaml.v3, indent 2): sequences indented under their key,
/// no line folding, numbers as Go formats them.
///
/// # Errors
///
/// As [`to_yaml`].
pub(crate) fn to_yaml_pretty(v: &Value) -> core::result::Result<String, YamlOutError> {
    let n = to_node(v, false, 0)?;
    let out = emit(&n, true);
    Ok(out.strip_suffix('\n').unwrap_or(&out).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_is_go_yamls() {
        let mut k = vec!["b", "a10", "a2", "B", "_x", "a"];
        k.sort_by(|a, b| key_order(a, b));
        assert_eq!(k, vec!["_x", "B", "a", "a2", "a10", "b"]);
    }

    #[test]
    fn base60() {
        assert!(is_base60_float("10:30"));
        assert!(is_base60_float("1:20:30.5"));
        assert!(!is_base60_float("10:70"));
        assert!(!is_base60_float("a:1"));
    }
}
