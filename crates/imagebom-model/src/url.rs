//! Redaction of URLs before they are emitted (BOMs, inventories, errors, logs).
//!
//! [`redact_url`] drops the userinfo (`https://user:token@host/` → `https://host/`) and
//! replaces the value of every query parameter whose name looks like a credential with
//! [`REDACTED`]. A name looks like a credential when, lower-cased, it
//! - is `sig`, `key`, `pass`, `pwd`, `code`, `jwt` or `auth`;
//! - ends in `key` (`apikey`, `api_key`, `access-key`);
//! - contains `token`, `secret`, `passw`, `signature`, `credential` or `session`;
//! - starts with `x-amz-`, `x-goog-` or `x-oss-` (pre-signed storage URLs).

/// What a credential-like query value is replaced with.
pub const REDACTED: &str = "REDACTED";

/// Whether a query parameter named `name` carries a credential (see the module docs).
pub fn is_credential_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    const EXACT: [&str; 7] = ["sig", "key", "pass", "pwd", "code", "jwt", "auth"];
    const PARTS: [&str; 6] = [
        "token",
        "secret",
        "passw",
        "signature",
        "credential",
        "session",
    ];
    const PREFIXES: [&str; 3] = ["x-amz-", "x-goog-", "x-oss-"];
    EXACT.contains(&n.as_str())
        || n.ends_with("key")
        || PARTS.iter().any(|p| n.contains(p))
        || PREFIXES.iter().any(|p| n.starts_with(p))
}

/// `url` without userinfo and with credential-like query values replaced by [`REDACTED`].
/// Text without `://` is returned as it is.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority
        .rfind('@')
        .map_or(authority, |at| &authority[at + 1..]);
    let tail = &rest[end..];
    let (before_fragment, fragment) = match tail.find('#') {
        Some(i) => tail.split_at(i),
        None => (tail, ""),
    };
    let tail = match before_fragment.split_once('?') {
        Some((path, query)) => format!("{path}?{}{fragment}", redact_query(query)),
        None => tail.to_string(),
    };
    format!("{scheme}://{host}{tail}")
}

fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_credential_param(name) => format!("{name}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `text` with every URL in it (a word holding `://`, delimited by whitespace, quotes,
/// parentheses or angle brackets) passed through [`redact_url`].
pub fn redact_urls_in(text: &str) -> String {
    let delimiter = |c: char| c.is_whitespace() || "\"'()<>`".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.contains("://") {
            out.push_str(&redact_url(word));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if delimiter(c) {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_dropped() {
        assert_eq!(
            redact_url("https://user:TOKEN@charts.example/"),
            "https://charts.example/"
        );
        assert_eq!(
            redact_url("oci://bot@r.example:5000/charts"),
            "oci://r.example:5000/charts"
        );
        assert_eq!(redact_url("https://u:p@h"), "https://h");
        assert_eq!(
            redact_url("https://charts.example/a@b"),
            "https://charts.example/a@b"
        );
        assert_eq!(redact_url("./charts/x"), "./charts/x");
    }

    #[test]
    fn credential_query_values_are_replaced() {
        assert_eq!(
            redact_url("https://h/x.tgz?X-Amz-Signature=abc&X-Amz-Date=1&version=2#frag"),
            "https://h/x.tgz?X-Amz-Signature=REDACTED&X-Amz-Date=REDACTED&version=2#frag"
        );
        assert_eq!(
            redact_url("https://u:p@h/i?access_token=s3&sig=zz&page=1&flag"),
            "https://h/i?access_token=REDACTED&sig=REDACTED&page=1&flag"
        );
        for name in [
            "token",
            "api_key",
            "apiKey",
            "password",
            "client_secret",
            "key",
        ] {
            assert!(is_credential_param(name), "{name}");
        }
        for name in ["version", "page", "chart", "ref"] {
            assert!(!is_credential_param(name), "{name}");
        }
    }

    #[test]
    fn urls_in_text() {
        assert_eq!(
            redact_urls_in("error sending request for url (https://u:pw@h/x?token=t): refused"),
            "error sending request for url (https://h/x?token=REDACTED): refused"
        );
        assert_eq!(redact_urls_in("no url here"), "no url here");
    }
}
