//! Sprig's regular expression functions (Go RE2 syntax; the `regex` crate implements
//! the same dialect). Compiled patterns are cached.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use regex::Regex;

use super::{err, vlist, vstr};
use crate::FuncMap;
use crate::error::Result;
use crate::function::add_fn;
use crate::value::Value;

/// Longest pattern accepted, and compiled size limit.
const MAX_PATTERN_BYTES: usize = 64 * 1024;
const CACHE_MAX: usize = 256;

static CACHE: LazyLock<Mutex<HashMap<String, Regex>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn compile(p: &str) -> Result<Regex> {
    if let Ok(c) = CACHE.lock()
        && let Some(r) = c.get(p)
    {
        return Ok(r.clone());
    }
    if p.len() > MAX_PATTERN_BYTES {
        return Err(err(format!(
            "error parsing regexp: pattern longer than the limit of {MAX_PATTERN_BYTES} bytes"
        )));
    }
    let r = regex::RegexBuilder::new(&ascii_classes(p))
        .size_limit(32 * 1024 * 1024)
        .build()
        .map_err(|e| err(go_regex_error(p, &e)))?;
    if let Ok(mut c) = CACHE.lock() {
        if c.len() >= CACHE_MAX {
            c.clear();
        }
        c.insert(p.into(), r.clone());
    }
    Ok(r)
}

/// Go's `\d`, `\w`, `\s`, `\b` are ASCII-only; the `regex` crate's are Unicode. Outside
/// brackets they become `(?-u:…)`; inside brackets `\d`, `\w`, `\s` are spelled out.
fn ascii_classes(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 16);
    let mut it = p.chars().peekable();
    let mut in_class = false;
    while let Some(c) = it.next() {
        match c {
            '\\' => {
                let Some(n) = it.next() else {
                    out.push(c);
                    break;
                };
                match (in_class, n) {
                    (false, 'b' | 'B') => {
                        out.push_str("(?-u:\\");
                        out.push(n);
                        out.push(')');
                    }
                    (false, 'd') => out.push_str("[0-9]"),
                    (false, 'D') => out.push_str("[^0-9]"),
                    (false, 'w') => out.push_str("[0-9A-Za-z_]"),
                    (false, 'W') => out.push_str("[^0-9A-Za-z_]"),
                    (false, 's') => out.push_str("[\\t\\n\\x0C\\r ]"),
                    (false, 'S') => out.push_str("[^\\t\\n\\x0C\\r ]"),
                    (true, 'd') => out.push_str("0-9"),
                    (true, 'w') => out.push_str("0-9A-Za-z_"),
                    (true, 's') => out.push_str("\\t\\n\\x0C\\r "),
                    _ => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A leading `^` and/or `]` belong to the class.
                if it.peek() == Some(&'^') {
                    out.push('^');
                    it.next();
                }
                if it.peek() == Some(&']') {
                    out.push(']');
                    it.next();
                }
            }
            '[' if in_class && it.peek() == Some(&':') => {
                // POSIX class `[:alpha:]`: copy through its closing `:]`.
                out.push(c);
                for d in it.by_ref() {
                    out.push(d);
                    if d == ']' {
                        break;
                    }
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Go's `error parsing regexp: CODE: `TEXT`` for the common syntax errors.
fn go_regex_error(p: &str, e: &regex::Error) -> String {
    use regex_syntax::ast::ErrorKind as K;
    if let Err(ae) = regex_syntax::ast::parse::Parser::new().parse(p) {
        let span = ae.span();
        let at = p.get(span.start.offset..span.end.offset).unwrap_or(p);
        let (code, text) = match ae.kind() {
            K::GroupUnclosed => ("missing closing )", p),
            K::GroupUnopened => ("unexpected )", p),
            K::ClassUnclosed => ("missing closing ]", p.get(span.start.offset..).unwrap_or(p)),
            K::RepetitionMissing => ("missing argument to repetition operator", at),
            K::EscapeUnrecognized | K::EscapeHexInvalid | K::EscapeHexEmpty => {
                ("invalid escape sequence", at)
            }
            K::ClassRangeInvalid => ("invalid character class range", at),
            K::RepetitionCountInvalid | K::RepetitionCountUnclosed => ("invalid repeat count", at),
            K::GroupNameDuplicate { .. } => ("duplicate capture group name", at),
            K::GroupNameInvalid => ("invalid named capture", at),
            _ => return format!("error parsing regexp: {e}"),
        };
        return format!("error parsing regexp: {code}: `{text}`");
    }
    format!("error parsing regexp: {e}")
}

/// A pattern compiled for the non-`must` functions, which panic in Sprig
/// (`regexp.MustCompile`), so the message carries Go's `regexp: Compile(…)` prefix.
fn must_compile(p: &str) -> Result<Regex> {
    compile(p).map_err(|e| match e {
        crate::error::TemplateError::Exec(m) => err(format!("regexp: Compile(`{p}`): {m}")),
        other => other,
    })
}

/// Go's `regexp.QuoteMeta`.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Go's `(*Regexp).Split(s, n)`.
fn go_regex_split(r: &Regex, s: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if !r.as_str().is_empty() && s.is_empty() {
        return alloc::vec![String::new()];
    }
    let mut matches: Vec<(usize, usize)> = r.find_iter(s).map(|m| (m.start(), m.end())).collect();
    if n > 0 && matches.len() > n as usize {
        matches.truncate(n as usize);
    }
    let mut out = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for (ms, me) in matches {
        if n > 0 && out.len() == (n as usize) - 1 {
            break;
        }
        end = ms;
        if me != 0 {
            out.push(s[beg..end].into());
        }
        beg = me;
    }
    if end != s.len() {
        out.push(s[beg..].into());
    }
    out
}

/// Go's `Expand` template syntax (`$1`, `${name}`, `$$`) is also the `regex` crate's.
fn replace_all(r: &Regex, s: &str, repl: &str, literal: bool) -> String {
    if literal {
        r.replace_all(s, regex::NoExpand(repl)).into_owned()
    } else {
        r.replace_all(s, repl).into_owned()
    }
}

/// Go's `FindAllString(s, n)`: nil (not an empty list) when nothing is found.
fn find_all(r: &Regex, s: &str, n: i64) -> Value {
    let it = r.find_iter(s).map(|m| vstr(m.as_str()));
    let v: Vec<Value> = if n < 0 {
        it.collect()
    } else {
        it.take(n as usize).collect()
    };
    if v.is_empty() { Value::Nil } else { vlist(v) }
}

pub(super) fn register(m: &mut FuncMap) {
    for must in [false, true] {
        let name = |n: &'static str| -> &'static str {
            match (must, n) {
                (false, n) => n,
                (true, "regexMatch") => "mustRegexMatch",
                (true, "regexFindAll") => "mustRegexFindAll",
                (true, "regexFind") => "mustRegexFind",
                (true, "regexReplaceAll") => "mustRegexReplaceAll",
                (true, "regexReplaceAllLiteral") => "mustRegexReplaceAllLiteral",
                (true, _) => "mustRegexSplit",
            }
        };
        let comp = move |p: &str| if must { compile(p) } else { must_compile(p) };
        add_fn(m, name("regexMatch"), move |p: String, s: String| {
            match compile(&p) {
                Ok(r) => Ok(r.is_match(&s)),
                // Sprig's regexMatch swallows a bad pattern; mustRegexMatch reports it.
                Err(_) if !must => Ok(false),
                Err(e) => Err(e),
            }
        });
        add_fn(
            m,
            name("regexFindAll"),
            move |p: String, s: String, n: i64| {
                // A Go `[]string` (nil when nothing matches).
                Ok(match find_all(&comp(&p)?, &s, n) {
                    Value::Nil => Value::Nil,
                    l => Value::typed("[]string", "slice", l),
                })
            },
        );
        add_fn(m, name("regexFind"), move |p: String, s: String| {
            Ok(vstr(comp(&p)?.find(&s).map_or("", |m| m.as_str())))
        });
        add_fn(
            m,
            name("regexReplaceAll"),
            move |p: String, s: String, r: String| Ok(vstr(replace_all(&comp(&p)?, &s, &r, false))),
        );
        add_fn(
            m,
            name("regexReplaceAllLiteral"),
            move |p: String, s: String, r: String| Ok(vstr(replace_all(&comp(&p)?, &s, &r, true))),
        );
        add_fn(
            m,
            name("regexSplit"),
            move |p: String, s: String, n: i64| {
                let r = comp(&p)?;
                if n == 0 {
                    return Ok(Value::Nil);
                }
                let parts = go_regex_split(&r, &s, n);
                Ok(Value::typed(
                    "[]string",
                    "slice",
                    vlist(parts.into_iter().map(vstr).collect()),
                ))
            },
        );
    }
    add_fn(m, "regexQuoteMeta", |s: String| Ok(quote_meta(&s)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_like_go() {
        let r = compile("a").unwrap();
        assert_eq!(go_regex_split(&r, "banana", -1), vec!["b", "n", "n", ""]);
        assert_eq!(go_regex_split(&r, "banana", 2), vec!["b", "nana"]);
        assert_eq!(quote_meta("1.2+x"), "1\\.2\\+x");
        for (p, text, want) in [
            (r"^\d+$", "١٢", false),
            (r"^\d+$", "12", true),
            (r"^\w+$", "é", false),
            (r"^\W$", "é", true),
            (r"\bfoo\b", "a foo b", true),
            (r"^[\d\s]+$", "1 2", true),
            (r"^[^\d]+$", "ab", true),
            (r"\\d", "\\d", true),
        ] {
            assert_eq!(compile(p).unwrap().is_match(text), want, "{p} on {text}");
        }
    }
}
