//! Sprig's string functions.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::{check_len, err, strslice, strval, vlist, vstr};
use crate::FuncMap;
use crate::error::Result;
use crate::function::{Rest, add_fn};
use crate::value::{Dict, Value};

/// Go's `unicode.ToUpper`: one rune in, one rune out (`ß` stays `ß`).
pub(crate) fn go_upper_char(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's `unicode.ToLower`.
pub(crate) fn go_lower_char(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's `s[a:b]` on bytes; a cut inside a UTF-8 sequence is replaced by U+FFFD.
fn bytes_slice(s: &str, a: usize, b: usize) -> String {
    String::from_utf8_lossy(&s.as_bytes()[a..b]).into_owned()
}

fn go_title(s: &str) -> String {
    fn is_sep(r: char) -> bool {
        if (r as u32) <= 0x7F {
            return !(r.is_ascii_alphanumeric() || r == '_');
        }
        if r.is_alphabetic() || r.is_numeric() {
            return false;
        }
        r.is_whitespace()
    }
    let mut prev = ' ';
    let mut out = String::with_capacity(s.len());
    for r in s.chars() {
        if is_sep(prev) {
            out.push(go_upper_char(r));
        } else {
            out.push(r);
        }
        prev = r;
    }
    out
}

fn untitle(s: &str) -> String {
    let mut next = true;
    let mut out = String::with_capacity(s.len());
    for r in s.chars() {
        if r.is_whitespace() {
            next = true;
            out.push(r);
        } else if next {
            out.push(go_lower_char(r));
            next = false;
        } else {
            out.push(r);
        }
    }
    out
}

/// goutils `Initials`, which walks bytes (a multi-byte first letter gives its lead
/// byte as a Latin-1 character, as in Go).
fn initials(s: &str) -> String {
    let mut gap = true;
    let mut out = String::new();
    for b in s.bytes() {
        let r = b as char;
        if r.is_whitespace() {
            gap = true;
        } else if gap {
            out.push(r);
            gap = false;
        }
    }
    out
}

fn swapcase(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_uppercase() {
                go_lower_char(c)
            } else if c.is_lowercase() {
                go_upper_char(c)
            } else {
                c
            }
        })
        .collect()
}

/// goutils `AbbreviateFull`.
fn abbreviate_full(s: &str, mut offset: usize, max: usize) -> String {
    if s.is_empty() || max < 4 {
        return s.to_string();
    }
    let len = s.len();
    if len <= max {
        return s.to_string();
    }
    if offset > len {
        offset = len;
    }
    if len - offset < max - 3 {
        offset = len - (max - 3);
    }
    if offset <= 4 {
        return bytes_slice(s, 0, max - 3) + "...";
    }
    if max < 7 {
        return s.to_string();
    }
    if offset + max - 3 < len {
        let rest = bytes_slice(s, offset, len);
        return format!("...{}", abbreviate_full(&rest, 0, max - 3));
    }
    format!("...{}", bytes_slice(s, len - (max - 3), len))
}

/// goutils `WrapCustom`.
fn wrap_custom(s: &str, width: i64, nl: &str, long_words: bool) -> String {
    if s.is_empty() {
        return String::new();
    }
    let nl = if nl.is_empty() { "\n" } else { nl };
    let width = width.max(1) as usize;
    let b = s.as_bytes();
    let len = b.len();
    let mut off = 0usize;
    let mut out = String::new();
    while len - off > width {
        if b[off] == b' ' {
            off += 1;
            continue;
        }
        let end = (width + off + 1).min(len);
        let at = s.as_bytes()[off..end].iter().rposition(|c| *c == b' ');
        if let Some(p) = at {
            let sp = p + off;
            out.push_str(&bytes_slice(s, off, sp));
            out.push_str(nl);
            off = sp + 1;
        } else if long_words {
            out.push_str(&bytes_slice(s, off, width + off));
            out.push_str(nl);
            off += width;
        } else {
            let end = width + off;
            match b[end..].iter().position(|c| *c == b' ') {
                None => {
                    out.push_str(&bytes_slice(s, off, len));
                    off = len;
                }
                Some(i) => {
                    let sp = i + end;
                    out.push_str(&bytes_slice(s, off, sp));
                    out.push_str(nl);
                    off = sp + 1;
                }
            }
        }
    }
    out.push_str(&bytes_slice(s, off, len));
    out
}

/// Splits an identifier into words the way xstrings' case functions mostly do: at
/// separators, at lower→upper steps and before the last capital of an acronym.
fn words(s: &str) -> Vec<String> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for i in 0..cs.len() {
        let c = cs[i];
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(core::mem::take(&mut cur));
            }
            continue;
        }
        if !cur.is_empty() && c.is_uppercase() {
            let prev = cs[i - 1];
            let next_lower = cs.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_lower) {
                out.push(core::mem::take(&mut cur));
            }
        }
        // Digits after letters stay with them ("Bld4Floor"), unless lower-case letters
        // follow the digits ("HTTP2xx" -> "HTTP", "2xx").
        if !cur.is_empty() && c.is_numeric() && cs[i - 1].is_alphabetic() {
            let after = cs[i..].iter().find(|x| !x.is_numeric());
            if after.is_some_and(|x| x.is_lowercase()) {
                out.push(core::mem::take(&mut cur));
            }
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn join_lower(s: &str, sep: &str) -> String {
    words(s)
        .iter()
        .map(|w| w.chars().map(go_lower_char).collect::<String>())
        .collect::<Vec<_>>()
        .join(sep)
}

/// xstrings `ToCamelCase` (Pascal case): connectors (`-`, `_`, spaces) dropped and the
/// next letter upper-cased; a word's leading run of capitals is lower-cased after its
/// first letter (`HTTP_SERVER` -> `HttpServer`, `alreadyCamel` -> `AlreadyCamel`).
fn camelcase(s: &str) -> String {
    let is_conn = |r: char| r == '-' || r == '_' || r.is_whitespace();
    let cs: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut r0 = None;
    let mut first_upper = false;
    while i < cs.len() {
        let r = cs[i];
        i += 1;
        if !is_conn(r) {
            first_upper = r.is_uppercase();
            r0 = Some(go_upper_char(r));
            break;
        }
        out.push(r);
    }
    let mut r0 = match r0 {
        Some(r) => r,
        None => {
            // xstrings writes the last connector once more here.
            if let Some(last) = cs.last() {
                out.push(*last);
            }
            return out;
        }
    };
    while i < cs.len() {
        let r1 = r0;
        r0 = cs[i];
        i += 1;
        if is_conn(r0) && is_conn(r1) {
            out.push(r1);
            continue;
        }
        if is_conn(r1) {
            first_upper = r0.is_uppercase();
            r0 = go_upper_char(r0);
        } else {
            if first_upper {
                if r0.is_uppercase() {
                    r0 = go_lower_char(r0);
                } else {
                    first_upper = false;
                }
            }
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

fn indent(n: i64, s: &str) -> Result<String> {
    let n = usize::try_from(n).map_err(|_| err("strings: negative Repeat count"))?;
    let lines = s.matches('\n').count() + 1;
    check_len(n.saturating_mul(lines).saturating_add(s.len()), "indent")?;
    let pad = " ".repeat(n);
    Ok(format!("{pad}{}", s.replace('\n', &format!("\n{pad}"))))
}

pub(super) fn register(m: &mut FuncMap) {
    case_and_trim(m);
    shorten_and_quote(m);
    layout(m);
    split_and_join(m);
    paths(m);
}

fn case_and_trim(m: &mut FuncMap) {
    add_fn(m, "upper", |s: String| {
        Ok(s.chars().map(go_upper_char).collect::<String>())
    });
    add_fn(m, "lower", |s: String| {
        Ok(s.chars().map(go_lower_char).collect::<String>())
    });
    add_fn(m, "title", |s: String| Ok(go_title(&s)));
    add_fn(m, "untitle", |s: String| Ok(untitle(&s)));
    add_fn(m, "substr", |start: i64, end: i64, s: String| {
        let len = s.len() as i64;
        let (lo, hi) = if start < 0 {
            (0, end)
        } else if end < 0 || end > len {
            (start, len)
        } else {
            (start, end)
        };
        if lo < 0 || hi < lo || hi > len {
            return Err(err(format!(
                "runtime error: slice bounds out of range [{lo}:{hi}] with length {len}"
            )));
        }
        Ok(vstr(bytes_slice(&s, lo as usize, hi as usize)))
    });
    add_fn(m, "repeat", |n: i64, s: String| {
        let n = usize::try_from(n).map_err(|_| err("strings: negative Repeat count"))?;
        check_len(n.saturating_mul(s.len()), "repeat")?;
        Ok(s.repeat(n))
    });
    add_fn(m, "trim", |s: String| Ok(vstr(s.trim())));
    for name in ["trimAll", "trimall"] {
        add_fn(m, name, |cut: String, s: String| {
            Ok(vstr(s.trim_matches(|c| cut.contains(c))))
        });
    }
    add_fn(m, "trimSuffix", |suf: String, s: String| {
        Ok(vstr(s.strip_suffix(suf.as_str()).unwrap_or(&s)))
    });
    add_fn(m, "trimPrefix", |pre: String, s: String| {
        Ok(vstr(s.strip_prefix(pre.as_str()).unwrap_or(&s)))
    });
}

fn shorten_and_quote(m: &mut FuncMap) {
    add_fn(m, "nospace", |s: String| {
        Ok(s.chars().filter(|c| !c.is_whitespace()).collect::<String>())
    });
    add_fn(m, "initials", |s: String| Ok(initials(&s)));
    add_fn(m, "trunc", |c: i64, s: String| {
        let len = s.len() as i64;
        Ok(if c < 0 && len + c > 0 {
            bytes_slice(&s, (len + c) as usize, s.len())
        } else if c >= 0 && len > c {
            bytes_slice(&s, 0, c as usize)
        } else {
            s
        })
    });
    add_fn(m, "abbrev", |w: i64, s: String| {
        if w < 4 {
            return Ok(s);
        }
        Ok(abbreviate_full(&s, 0, w as usize))
    });
    add_fn(m, "abbrevboth", |l: i64, r: i64, s: String| {
        if r < 4 || (l > 0 && r < 7) {
            return Ok(s);
        }
        Ok(abbreviate_full(&s, l.max(0) as usize, r as usize))
    });
    add_fn(m, "contains", |sub: String, s: String| {
        Ok(s.contains(sub.as_str()))
    });
    add_fn(m, "hasPrefix", |pre: String, s: String| {
        Ok(s.starts_with(pre.as_str()))
    });
    add_fn(m, "hasSuffix", |suf: String, s: String| {
        Ok(s.ends_with(suf.as_str()))
    });
    add_fn(m, "quote", |Rest(a): Rest<Value>| {
        Ok(a.iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| crate::go::go_quote(&strval(v)))
            .collect::<Vec<_>>()
            .join(" "))
    });
    add_fn(m, "squote", |Rest(a): Rest<Value>| {
        Ok(a.iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| format!("'{}'", strval(v)))
            .collect::<Vec<_>>()
            .join(" "))
    });
}

fn layout(m: &mut FuncMap) {
    add_fn(m, "cat", |Rest(a): Rest<Value>| {
        Ok(a.iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(strval)
            .collect::<Vec<_>>()
            .join(" "))
    });
    add_fn(m, "indent", |n: i64, s: String| indent(n, &s));
    add_fn(m, "nindent", |n: i64, s: String| {
        Ok(format!("\n{}", indent(n, &s)?))
    });
    add_fn(m, "replace", |old: String, new: String, s: String| {
        if old.is_empty() {
            // Go inserts `new` before every rune and at the end.
            let n = s.chars().count() + 1;
            check_len(
                n.saturating_mul(new.len()).saturating_add(s.len()),
                "replace",
            )?;
            let mut out = String::new();
            for c in s.chars() {
                out.push_str(&new);
                out.push(c);
            }
            out.push_str(&new);
            return Ok(out);
        }
        Ok(s.replace(old.as_str(), &new))
    });
    add_fn(m, "plural", |one: String, many: String, n: i64| {
        Ok(if n == 1 { one } else { many })
    });
    add_fn(m, "snakecase", |s: String| Ok(join_lower(&s, "_")));
    add_fn(m, "kebabcase", |s: String| Ok(join_lower(&s, "-")));
    add_fn(m, "camelcase", |s: String| Ok(camelcase(&s)));
    add_fn(m, "swapcase", |s: String| Ok(swapcase(&s)));
    add_fn(m, "shuffle", |s: String| {
        use rand::seq::SliceRandom;
        let mut cs: Vec<char> = s.chars().collect();
        cs.shuffle(&mut rand::rng());
        Ok(cs.into_iter().collect::<String>())
    });
    add_fn(m, "wrap", |n: i64, s: String| {
        Ok(wrap_custom(&s, n, "\n", false))
    });
}

fn split_and_join(m: &mut FuncMap) {
    add_fn(m, "wrapWith", |n: i64, with: String, s: String| {
        Ok(wrap_custom(&s, n, &with, true))
    });
    add_fn(m, "split", |sep: String, s: String| {
        Ok(split_map(&s, &sep, -1))
    });
    add_fn(m, "splitn", |sep: String, n: i64, s: String| {
        Ok(split_map(&s, &sep, n))
    });
    add_fn(m, "splitList", |sep: String, s: String| {
        let l = vlist(go_split(&s, &sep, -1).into_iter().map(vstr).collect());
        Ok(Value::typed("[]string", "slice", l))
    });
    add_fn(m, "join", |sep: String, v: Value| {
        Ok(strslice(&v).join(&sep))
    });
    add_fn(m, "sortAlpha", |v: Value| {
        let mut l = match &v {
            Value::List(_) => strslice(&v),
            other => alloc::vec![strval(other)],
        };
        l.sort();
        Ok(Value::typed(
            "[]string",
            "slice",
            vlist(l.into_iter().map(vstr).collect()),
        ))
    });
    add_fn(m, "toStrings", |v: Value| {
        let l = vlist(strslice(&v).into_iter().map(vstr).collect());
        Ok(Value::typed("[]string", "slice", l))
    });
    add_fn(m, "toString", |v: Value| Ok(strval(&v)));
}

/// Sprig's `split`/`splitn`: a `map[string]string` of `_0`, `_1`, … parts.
fn split_map(s: &str, sep: &str, n: i64) -> Value {
    let d = Dict::new();
    for (i, p) in go_split(s, sep, n).into_iter().enumerate() {
        d.insert(format!("_{i}"), vstr(p));
    }
    Value::Map(d.with_go_type("map[string]string", "map"))
}

/// Go's `path` package: forward slashes only.
fn paths(m: &mut FuncMap) {
    add_fn(m, "base", |p: String| Ok(path_base(&p)));
    add_fn(m, "dir", |p: String| Ok(path_dir(&p)));
    add_fn(m, "clean", |p: String| Ok(path_clean(&p)));
    add_fn(m, "ext", |s: String| {
        let ext = s
            .rfind(['.', '/'])
            .filter(|&i| s.as_bytes()[i] == b'.')
            .map_or("", |i| &s[i..]);
        Ok(vstr(ext))
    });
    add_fn(m, "isAbs", |p: String| Ok(p.starts_with('/')));
    // The `os…` forms use the OS path rules; on Unix they are the same.
    for (os, plain) in [
        ("osBase", "base"),
        ("osDir", "dir"),
        ("osClean", "clean"),
        ("osExt", "ext"),
        ("osIsAbs", "isAbs"),
    ] {
        if let Some(f) = m.get(plain).cloned() {
            m.insert(os.into(), f);
        }
    }
    add_fn(m, "hello", || Ok(vstr("Hello!")));
}

/// Go's `strings.SplitN` (n < 0: all).
pub(crate) fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let cs: Vec<String> = s.chars().map(|c| c.to_string()).collect();
        if n < 0 || cs.len() <= n as usize {
            return cs;
        }
        let n = n as usize;
        let mut out: Vec<String> = cs[..n - 1].to_vec();
        out.push(cs[n - 1..].concat());
        return out;
    }
    if n < 0 {
        return s.split(sep).map(str::to_string).collect();
    }
    s.splitn(n as usize, sep).map(str::to_string).collect()
}

fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    if rooted {
        format!("/{body}")
    } else if body.is_empty() {
        ".".into()
    } else {
        body
    }
}

fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

fn path_dir(p: &str) -> String {
    let dir = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    path_clean(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(go_title("hello world-foo_bar"), "Hello World-Foo_bar");
        assert_eq!(abbreviate_full("hello world", 0, 5), "he...");
        assert_eq!(
            wrap_custom("hello world again", 5, "\n", false),
            "hello\nworld\nagain"
        );
        assert_eq!(path_clean("a/../b/./c/"), "b/c");
        assert_eq!(path_dir("/a/b/c"), "/a/b");
        assert_eq!(path_base("/a/b/c/"), "c");
        assert_eq!(go_split("a,b,c", ",", 2), vec!["a", "b,c"]);
    }
}
