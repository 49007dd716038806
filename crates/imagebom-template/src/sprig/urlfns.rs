//! Sprig's `urlParse` and `urlJoin`, with Go's `net/url` splitting rules (not WHATWG).

use alloc::format;
use alloc::string::{String, ToString};

use super::{err, vstr};
use crate::FuncMap;
use crate::function::{GoMap, add_fn};
use crate::value::{Dict, Value};

#[derive(Default)]
struct GoUrl {
    scheme: String,
    opaque: String,
    userinfo: Option<String>,
    host: String,
    path: String,
    query: String,
    fragment: String,
}

fn unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = alloc::vec::Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn escape_path(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "-._~/!$&'()*+,;=:@".contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Go's `url.Parse`.
fn parse(raw: &str) -> Result<GoUrl, String> {
    let mut u = GoUrl::default();
    let (rest, frag) = match raw.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (raw, None),
    };
    if let Some(f) = frag {
        u.fragment = unescape(f).ok_or_else(|| format!("parse {raw:?}: invalid URL escape"))?;
    }
    let mut rest = rest.to_string();
    // Scheme.
    if let Some(i) = rest.find(':') {
        let cand = &rest[..i];
        let valid = cand.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && cand
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if valid {
            u.scheme = cand.to_ascii_lowercase();
            rest = rest[i + 1..].to_string();
        } else if i == 0 {
            return Err(format!("parse {raw:?}: missing protocol scheme"));
        }
    }
    if let Some((r, q)) = rest.split_once('?') {
        u.query = q.to_string();
        rest = r.to_string();
    }
    if !rest.starts_with('/') && !u.scheme.is_empty() {
        u.opaque = rest;
        return Ok(u);
    }
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find('/').unwrap_or(after.len());
        let auth = &after[..end];
        let path = &after[end..];
        let host = match auth.rfind('@') {
            Some(i) => {
                u.userinfo = Some(auth[..i].to_string());
                &auth[i + 1..]
            }
            None => auth,
        };
        u.host = unescape(host).ok_or_else(|| format!("parse {raw:?}: invalid URL escape"))?;
        rest = path.to_string();
    }
    u.path = unescape(&rest).ok_or_else(|| format!("parse {raw:?}: invalid URL escape"))?;
    Ok(u)
}

fn hostname(host: &str) -> String {
    if let Some(h) = host.strip_prefix('[') {
        return h.split(']').next().unwrap_or("").to_string();
    }
    match host.rfind(':') {
        Some(i) if host[i + 1..].bytes().all(|b| b.is_ascii_digit()) => host[..i].to_string(),
        _ => host.to_string(),
    }
}

fn to_string(u: &GoUrl) -> String {
    let mut s = String::new();
    if !u.scheme.is_empty() {
        s.push_str(&u.scheme);
        s.push(':');
    }
    if !u.opaque.is_empty() {
        s.push_str(&u.opaque);
    } else {
        if !u.scheme.is_empty() || !u.host.is_empty() || u.userinfo.is_some() {
            if !u.host.is_empty() || !u.path.is_empty() || u.userinfo.is_some() {
                s.push_str("//");
            }
            if let Some(ui) = &u.userinfo {
                s.push_str(ui);
                s.push('@');
            }
            s.push_str(&u.host);
        }
        let path = escape_path(&u.path);
        if !path.is_empty() && !path.starts_with('/') && !u.host.is_empty() {
            s.push('/');
        }
        if s.is_empty() && path.split('/').next().is_some_and(|seg| seg.contains(':')) {
            s.push_str("./");
        }
        s.push_str(&path);
    }
    if !u.query.is_empty() {
        s.push('?');
        s.push_str(&u.query);
    }
    if !u.fragment.is_empty() {
        s.push('#');
        s.push_str(&escape_path(&u.fragment));
    }
    s
}

pub(super) fn register(m: &mut FuncMap) {
    add_fn(m, "urlParse", |raw: String| {
        let u = parse(&raw).map_err(|e| err(format!("unable to parse url: {e}")))?;
        let d = Dict::new();
        d.insert("scheme", vstr(u.scheme.as_str()));
        d.insert("host", vstr(u.host.as_str()));
        d.insert("hostname", vstr(hostname(&u.host)));
        d.insert("path", vstr(u.path.as_str()));
        d.insert("query", vstr(u.query.as_str()));
        d.insert("opaque", vstr(u.opaque.as_str()));
        d.insert("fragment", vstr(u.fragment.as_str()));
        d.insert("userinfo", vstr(u.userinfo.clone().unwrap_or_default()));
        Ok(Value::Map(d))
    });
    add_fn(m, "urlJoin", |d: GoMap| {
        let d = d.dict();
        let get = |k: &str| -> Result<String, crate::error::TemplateError> {
            match d.as_ref().and_then(|d| d.get(k)) {
                None => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.to_string()),
                Some(other) => Err(err(format!(
                    "interface conversion: interface {{}} is {}, not string",
                    super::go_type(&other)
                ))),
            }
        };
        let ui = get("userinfo")?;
        let u = GoUrl {
            scheme: get("scheme")?,
            host: get("host")?,
            path: get("path")?,
            query: get("query")?,
            opaque: get("opaque")?,
            fragment: get("fragment")?,
            userinfo: (!ui.is_empty()).then_some(ui),
        };
        Ok(vstr(to_string(&u)))
    });
}
