//! `kustomize build` as Kustomize v5 does it, natively: no network, no process, no `kustomize`
//! binary. [`build`] reads a kustomization directory and returns its objects in Kustomize's
//! output order, each with the kustomization and the resource file it came from.
//!
//! Supported (see `docs/kustomize.md`): `resources` (files, directories, nested bases), `bases`,
//! `components`, `namespace`, `namePrefix`/`nameSuffix` (with the common name references),
//! `commonLabels`, `labels` (with `fields`), `commonAnnotations`, `images` (and `imageTags`),
//! `replicas`, `configMapGenerator`, `secretGenerator`, `generatorOptions` (with Kustomize's
//! hash suffixes), `generators` (the builtin generator kinds), `helmCharts`, `patches` (with `options`),
//! `patchesStrategicMerge`, `patchesJson6902`, `replacements`, legacy `vars`, `configurations`,
//! `openapi` (custom merge keys), builtin patch and prefix/suffix `transformers`, `sortOptions`
//! and the legacy output order.

mod config;
mod fields;
mod fold;
mod generate;
mod generators;
mod helm;
mod kustomization;
mod patch;
mod plugins;
pub mod remote;
mod replace;
mod scalars;
mod schema;
mod sort;
mod vars;

use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};

pub use kustomization::build;
pub use remote::{CachedChart, ChartLookup, Options};

/// [`build`] with remote sources resolved through `opts`: remote bases through its mirrors,
/// `helmCharts` repositories through its mirrors, then its chart cache.
pub fn build_with(dir: &Path, opts: &Options) -> Result<Vec<Object>, KustomizeError> {
    remote::with_options(opts, || build(dir))
}

/// One object of the build's output.
#[derive(Debug, Clone)]
pub struct Object {
    /// The document as Kustomize emits it.
    pub doc: Value,
    /// The kustomization file that brought it in (or generated it).
    pub kustomization: PathBuf,
    /// The resource file it was read from; the kustomization file for generated objects.
    pub source: PathBuf,
    /// Its kind, name and namespace before any transformer: what references name.
    pub(crate) original: (String, String, String),
    /// A generated object whose name gets the content hash at the end of the build.
    pub(crate) hash: bool,
    /// How a later generator with the same name combines with it.
    pub(crate) generated: bool,
    /// The legacy vars bound to it.
    pub(crate) vars: Vec<String>,
}

/// Why a build failed; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum KustomizeError {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not valid YAML.
    #[error("{path}: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The kustomization (or a resource in it) is invalid, in Kustomize's words where cheap.
    #[error("{path}: {message}")]
    Invalid {
        /// The kustomization or resource file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A feature this increment does not implement yet.
    #[error("{path}: {feature} is not supported yet")]
    Unsupported {
        /// The kustomization file.
        path: PathBuf,
        /// The field or feature.
        feature: String,
    },
}

impl KustomizeError {
    pub(crate) fn invalid(path: &Path, message: impl Into<String>) -> Self {
        KustomizeError::Invalid {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// The objects as one YAML stream, the way `kubectl kustomize` prints them (keys sorted,
/// documents separated by `---`).
pub fn to_yaml(objects: &[Object]) -> String {
    let mut out = String::new();
    for (i, o) in objects.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let mut table = Vec::new();
        let prepared = scalars::prepare(&sort::sort_keys(&o.doc), &mut table);
        out.push_str(&kyaml_quotes(
            &serde_yaml_ng::to_string(&prepared).unwrap_or_default(),
            &table,
        ));
    }
    out
}

/// Kyaml writes a string that would read back as another type (`"1"`, `"true"`, `""`) in
/// double quotes, where `serde_yaml_ng` writes single ones: rewrites those scalars, outside
/// block scalars, and puts the placeholders of [`scalars::prepare`] (from `table`) back.
fn kyaml_quotes(text: &str, table: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut block: Option<usize> = None;
    let lines = join_complex_keys(text);
    for line in lines.iter().map(String::as_str) {
        let body = line.trim_end_matches('\n');
        let indent = body.len() - body.trim_start().len();
        if let Some(min) = block {
            if body.trim().is_empty() || indent >= min {
                out.push_str(line);
                continue;
            }
            block = None;
        }
        if let Some(owner) = block_owner(body) {
            // Block content is indented deeper than the key (or `-`, `?`, `:`) that owns it;
            // a sibling at the owner's column ends it.
            block = Some(owner + 1);
            out.push_str(line);
            continue;
        }
        let printed = trailing_break(requote(&scalars::substitute(body, table)));
        out.push_str(&fold::fold(&printed));
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// The column of what owns the block scalar `line` opens (`key: |-`, `- |2`, `? >`), or
/// `None` when it opens none (a plain value that ends in `|` is no block).
fn block_owner(line: &str) -> Option<usize> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let (mut at, mut owner) = (indent, indent);
    while line[at..].starts_with("- ") {
        owner = at;
        at += 2;
    }
    let rest = line[at..].trim_end();
    let header = |h: &str| {
        let h = h.strip_prefix(['|', '>'])?;
        let h = h.strip_prefix(|c: char| c.is_ascii_digit()).unwrap_or(h);
        matches!(h, "" | "-" | "+").then_some(())
    };
    if header(rest).is_some() {
        return (at > indent).then_some(owner);
    }
    if let Some(h) = rest.strip_prefix("? ").or_else(|| rest.strip_prefix(": ")) {
        return header(h).map(|_| at);
    }
    // `key: |`: the header is the last token, after the key's `: `.
    let (before, h) = rest.rsplit_once(' ')?;
    header(h)?;
    before.ends_with(':').then_some(at)
}

/// go-yaml writes the indentation after a line break inside a single-quoted scalar (U+2028,
/// U+2029: the ones that do not end `serde_yaml_ng`'s line) only before a character that
/// follows it, so none before the closing quote; `serde_yaml_ng` writes it at once.
fn trailing_break(line: String) -> String {
    let Some(inner) = line.strip_suffix('\'') else {
        return line;
    };
    let kept = inner.trim_end_matches(' ');
    if kept.len() < inner.len() && kept.ends_with(['\u{2028}', '\u{2029}']) {
        return format!("{kept}'");
    }
    line
}

/// The lines of `text` (each with its `\n`), a quoted complex key (`? '…'`, `? "…"`) that
/// `serde_yaml_ng` folded joined back on one line, for [`fold::fold`] to fold as go-yaml does.
fn join_complex_keys(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut open: Option<char> = None;
    // Inside a block scalar (its content indented deeper than this column) nothing is a key.
    let mut block: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches('\n');
        if let Some(min) = block {
            let indent = content.len() - content.trim_start().len();
            if content.trim().is_empty() || indent >= min {
                out.push(line.to_string());
                continue;
            }
            block = None;
        }
        if open.is_none() {
            if let Some(owner) = block_owner(content) {
                block = Some(owner + 1);
                out.push(line.to_string());
                continue;
            }
        }
        if let (Some(q), Some(last)) = (open, out.last_mut()) {
            // A folded line break is one space; a `\` before a second space keeps it.
            let body = line.trim_start_matches(' ');
            let body = if q == '"' {
                body.strip_prefix("\\ ").map_or(body, |_| &body[1..])
            } else {
                body
            };
            last.truncate(last.trim_end_matches('\n').len());
            last.push(' ');
            last.push_str(body);
            if quoted_closes(body, q) {
                open = None;
            }
            continue;
        }
        let body = line.trim_start_matches(' ');
        let mut body = body;
        while let Some(rest) = body.strip_prefix("- ") {
            body = rest;
        }
        if let Some(key) = body.strip_prefix("? ") {
            if let Some(q) = key.chars().next().filter(|c| matches!(c, '\'' | '"')) {
                if !quoted_closes(&key[1..], q) {
                    open = Some(q);
                }
            }
        }
        out.push(line.to_string());
    }
    out
}

/// Whether the quoted scalar whose text (after the opening quote) starts `s` closes on it.
fn quoted_closes(s: &str, quote: char) -> bool {
    let mut chars = s.trim_end_matches('\n').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quote == '"' => {
                chars.next();
            }
            '\'' if quote == '\'' => {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                } else {
                    return true;
                }
            }
            '"' if quote == '"' => return true,
            _ => {}
        }
    }
    false
}

/// The plain scalars YAML 1.1 (go-yaml v2, which prints `kubectl kustomize`'s output) reads as
/// booleans beyond YAML 1.2's `true` / `false`.
const YAML11_BOOLS: [&str; 16] = [
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
    "OFF",
];

/// A line whose mapping key is a string YAML 1.1 reads as another type (plain `y`, `on`,
/// `0755`, or single-quoted `'1'`) with the key double-quoted, as kyaml writes it.
fn requote_key(line: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let mut at = line.len() - line.trim_start_matches(' ').len();
    while line[at..].starts_with("- ") {
        at += 2;
    }
    let rest = &line[at..];
    if let Some(key) = rest.strip_prefix("? ") {
        // A complex key (over 128 bytes) is the rest of its line.
        let inner = match key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')) {
            Some(q) if !q.contains(['\'', '\\', '"']) && go_typed(q) => q,
            None if yaml11_only_string(key) => key,
            _ => return Cow::Borrowed(line),
        };
        return Cow::Owned(format!("{}? \"{inner}\"", &line[..at]));
    }
    let key_len = if let Some(quoted) = rest.strip_prefix('\'') {
        match quoted.find('\'') {
            Some(i) if !quoted[i + 1..].starts_with('\'') => i + 2,
            _ => return Cow::Borrowed(line),
        }
    } else {
        match rest.find(": ") {
            Some(i) => i,
            None if rest.ends_with(':') => rest.len() - 1,
            None => return Cow::Borrowed(line),
        }
    };
    let (key, after) = rest.split_at(key_len);
    if !(after.starts_with(": ") || after == ":") {
        return Cow::Borrowed(line);
    }
    let text = match key.strip_prefix('\'') {
        Some(q) => {
            let inner = &q[..q.len() - 1];
            let typed = yaml11_typed(inner)
                || matches!(
                    serde_yaml_ng::from_str::<serde_yaml_ng::Value>(inner),
                    Ok(serde_yaml_ng::Value::Number(_) | serde_yaml_ng::Value::Bool(_))
                );
            if !typed || inner.contains(['\\', '"']) {
                return Cow::Borrowed(line);
            }
            inner
        }
        None if yaml11_only_string(key) => key,
        None => return Cow::Borrowed(line),
    };
    Cow::Owned(format!("{}\"{text}\"{after}", &line[..at]))
}

/// Whether go-yaml v2 or YAML 1.2 reads plain `text` as another type than string.
fn go_typed(text: &str) -> bool {
    yaml11_typed(text)
        || matches!(
            serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text),
            Ok(serde_yaml_ng::Value::Number(_) | serde_yaml_ng::Value::Bool(_))
        )
}

/// Whether plain `text` reads as a string in YAML 1.2 (`serde_yaml_ng`) but as another type
/// in YAML 1.1 (go-yaml v2, which prints `kubectl kustomize`'s output).
fn yaml11_only_string(text: &str) -> bool {
    yaml11_typed(text)
        && matches!(
            serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text),
            Ok(serde_yaml_ng::Value::String(_))
        )
}

/// Whether go-yaml v2 resolves plain `text` to a type other than string (null, bool, int,
/// float, timestamp, merge key) or treats it as a sexagesimal float: it then writes such a
/// string double-quoted.
fn yaml11_typed(text: &str) -> bool {
    // (Not `<<`: go-yaml v2 looks words up only after a first character that hints at one,
    // and `<` does not.)
    const WORDS: [&str; 23] = [
        "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", ".inf",
        ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN",
        ".NAN",
    ];
    static RES: std::sync::OnceLock<[regex::Regex; 3]> = std::sync::OnceLock::new();
    let [int, float, base60] = RES.get_or_init(|| {
        [
            // Go's `strconv.ParseInt(s, 0, 64)` syntax.
            regex::Regex::new(
                r"^[-+]?(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)$",
            )
            .unwrap(),
            regex::Regex::new(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$").unwrap(),
            regex::Regex::new(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$").unwrap(),
        ]
    });
    if WORDS.contains(&text) || YAML11_BOOLS.contains(&text) || is_go_timestamp(text) {
        return true;
    }
    // go-yaml tries numbers only for a scalar starting with a digit, a sign or `.` (its
    // `resolveTable` hint): `_1` is a string.
    let hint = text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.'));
    // After a `.` it tries the float as written (`.5_` is a string), else without `_`.
    let plain = if text.starts_with('.') {
        text.to_string()
    } else {
        text.replace('_', "")
    };
    hint && (int.is_match(&plain) || float.is_match(&plain)) || base60.is_match(text)
}

/// Whether go-yaml v2 resolves a plain scalar to a timestamp (its layouts, valid dates
/// only: `2022-02-03T16:03:17Z`, `2022-02-03`; not `2001-12-14T21:59:43` nor `2001-02-30`).
fn is_go_timestamp(v: &str) -> bool {
    kustomization::go_yaml_timestamp(v, false).is_some()
}

/// One line with a single-quoted scalar at its end rewritten in double quotes when the
/// unquoted text would resolve to a number, bool or null.
fn requote(line: &str) -> String {
    let line = &requote_key(line);
    // A plain string that YAML 1.1 reads as another type (`yes`, `off`, `0755`, `1_000`, a
    // timestamp): kyaml double-quotes it; `serde_yaml_ng` (YAML 1.2) leaves it plain.
    let plain_value = line
        .rsplit_once(": ")
        .map(|(before, value)| (format!("{before}: "), value))
        .or_else(|| {
            let mut value = line.trim_start_matches(' ').strip_prefix("- ")?;
            while let Some(v) = value.strip_prefix("- ") {
                value = v;
            }
            Some((line[..line.len() - value.len()].to_string(), value))
        });
    if let Some((before, value)) = plain_value {
        if yaml11_only_string(value) {
            return format!("{before}\"{value}\"");
        }
    }
    // A double-quoted string without escapes that needs quoting for its syntax only:
    // kyaml (like libyaml) prefers single quotes.
    if let Some(inner) = line.strip_suffix('"') {
        if let Some(start) = inner.rfind(": \"").map(|i| i + 2) {
            let content = &inner[start + 1..];
            let plain_type = content.is_empty()
                || ["null", "Null", "NULL", "~"].contains(&content)
                || matches!(
                    serde_yaml_ng::from_str::<serde_yaml_ng::Value>(content),
                    Ok(serde_yaml_ng::Value::Number(_) | serde_yaml_ng::Value::Bool(_))
                );
            if !content.contains(['\\', '\'', '"']) && !plain_type {
                return format!("{}'{content}'", &inner[..start]);
            }
        }
    }
    let Some(inner) = line.strip_suffix('\'') else {
        return line.to_string();
    };
    let Some(start) = inner.rfind(' ').map(|i| i + 1) else {
        return line.to_string();
    };
    if inner.as_bytes().get(start) != Some(&b'\'') {
        return line.to_string();
    }
    let content = &inner[start + 1..];
    let before = &inner[..start];
    if content.contains('\'') || content.contains('"') || content.contains('\\') {
        return line.to_string();
    }
    if !(before.ends_with(": ") || before.trim_start().trim_start_matches("- ").is_empty()) {
        return line.to_string();
    }
    // (A text that parses as null only because it is a comment, `#34577c`, is no null.)
    let typed = yaml11_typed(content)
        || matches!(
            serde_yaml_ng::from_str::<serde_yaml_ng::Value>(content),
            Ok(serde_yaml_ng::Value::Number(_) | serde_yaml_ng::Value::Bool(_))
        );
    if !typed {
        return line.to_string();
    }
    format!("{before}\"{content}\"")
}

/// A string field of a mapping.
pub(crate) fn get_str<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str()
}

/// `kind`, `metadata.name`, `metadata.namespace`, group and version of an object.
pub(crate) struct Id {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

pub(crate) fn id(v: &Value) -> Id {
    let api = get_str(v, &["apiVersion"]).unwrap_or("");
    let (group, version) = match api.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), api.to_string()),
    };
    Id {
        group,
        version,
        kind: get_str(v, &["kind"]).unwrap_or("").to_string(),
        name: get_str(v, &["metadata", "name"]).unwrap_or("").to_string(),
        namespace: get_str(v, &["metadata", "namespace"])
            .unwrap_or("")
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::requote;

    #[test]
    fn strings_yaml_1_1_reads_as_other_types_are_double_quoted() {
        // kubectl kustomize's output (go-yaml v2) for these strings.
        assert_eq!(
            requote("    gatekeeper.sh/system: yes"),
            "    gatekeeper.sh/system: \"yes\""
        );
        assert_eq!(requote("  - off"), "  - \"off\"");
        assert_eq!(requote("    quoted: '0755'"), "    quoted: \"0755\"");
        assert_eq!(requote("    - '0644'"), "    - \"0644\"");
        assert_eq!(requote("  y: \"2\""), "  \"y\": \"2\"");
        assert_eq!(requote("  '1': a"), "  \"1\": a");
        assert_eq!(requote("  at: 12:30"), "  at: \"12:30\"");
        assert_eq!(requote("  n: 1_000"), "  \"n\": \"1_000\"");
        // (tests/cases/printer-blocks) what opens a block scalar, and who owns it.
        use super::block_owner;
        assert_eq!(block_owner("    - expr: |-"), Some(6));
        assert_eq!(block_owner("  lead: |2"), Some(2));
        assert_eq!(block_owner("      - - |"), Some(8));
        assert_eq!(block_owner("  ? >-"), Some(2));
        assert_eq!(block_owner("  text: a plain value ending in |"), None);
        assert_eq!(block_owner("  gt: it ends in >"), None);
        // (tests/cases/printer-keys) complex keys and nested sequence items.
        let ones = "1".repeat(129);
        assert_eq!(requote(&format!("  ? '{ones}'")), format!("  ? \"{ones}\""));
        assert_eq!(requote("  - - - y"), "  - - - \"y\"");
        // (tests/cases/printer-data) `<<` is a plain string to go-yaml v2's printer.
        assert_eq!(requote("  k: <<"), "  k: <<");
        assert_eq!(
            super::trailing_break("  k: 'a\u{2028}    '".into()),
            "  k: 'a\u{2028}'"
        );
        // (tests/cases/yaml11-flow-ints) go-yaml tries numbers only after a digit, sign or dot.
        assert_eq!(requote("  - _1"), "  - _1");
        assert_eq!(requote("  - 1_"), "  - \"1_\"");
        // Numbers, plain strings and syntax-only quoting stay.
        assert_eq!(requote("  port: 8080"), "  port: 8080");
        assert_eq!(requote("  color: '#34577c'"), "  color: '#34577c'");
        assert_eq!(requote("  name: yesterday"), "  name: yesterday");
        assert_eq!(requote("  url: http://a:80"), "  url: http://a:80");
    }
}
