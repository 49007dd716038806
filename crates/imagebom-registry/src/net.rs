//! Transport rules every request of the client follows:
//!
//! - [`client`]: one deadline per request covering connect, headers and the whole body
//!   (a server trickling bytes is cut off), and at most [`MAX_REDIRECTS`] redirects;
//!   reqwest drops `Authorization` on a redirect to another host, port or scheme, so
//!   credentials only reach the host they were meant for;
//! - [`check_realm`]: credentials for an HTTPS registry never go to a plain-HTTP token realm;
//! - [`describe`]: an error with its causes, each said once, URLs redacted.

use std::time::Duration;

/// Most redirects followed for one request (registries redirect to storage or mirrors; a
/// loop or longer chain is an error naming this limit).
pub const MAX_REDIRECTS: usize = 10;

/// An HTTP client whose every request must complete — connect, headers and body — within
/// `timeout`.
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(timeout)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
        .build()
        .map_err(|e| describe(&e))
}

/// `host[:port]` of an `scheme://[userinfo@]host[:port]/…` URL.
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority
        .rfind('@')
        .map_or(authority, |at| &authority[at + 1..])
}

/// Whether credentials (and the token they buy) may be sent to token `realm` for a registry
/// reached over HTTPS (`registry_https`) or plain HTTP: an HTTPS realm always; a plain-HTTP
/// realm only for a plain-HTTP registry or when the realm's host is in `insecure`; any
/// other scheme never. The error says why, naming the realm without secrets.
pub fn check_realm(registry_https: bool, realm: &str, insecure: &[String]) -> Result<(), String> {
    let lower = realm.trim().to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Ok(());
    }
    let host = host_of(realm.trim());
    let shown = imagebom_model::redact_url(realm.trim());
    if !lower.starts_with("http://") {
        return Err(format!("token realm {shown:?} is not an http(s) URL"));
    }
    if !registry_https || insecure.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return Ok(());
    }
    Err(format!(
        "the HTTPS registry names a plain-HTTP token realm {shown}: credentials are not sent in clear text (name {host} with --insecure-registry to allow it)"
    ))
}

/// The delay a `Retry-After` header asks for (delay-seconds; an HTTP-date is not read),
/// capped at `cap`.
pub fn retry_after(headers: &reqwest::header::HeaderMap, cap: Duration) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s).min(cap))
}

/// [`describe`] for a request error, saying so when it is the deadline that passed.
pub fn describe_request(e: &reqwest::Error) -> String {
    let d = describe(e);
    if e.is_timeout() {
        format!("{d} (past the --timeout deadline)")
    } else {
        d
    }
}

/// `e` and its causes joined by `: `, each said once (some errors repeat their cause in
/// their own message), with the credentials of every URL in it removed.
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        let c = cause.to_string();
        if !c.is_empty() && !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        src = cause.source();
    }
    imagebom_model::url::redact_urls_in(&s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realms() {
        let none: Vec<String> = Vec::new();
        assert!(check_realm(true, "https://auth.example/token", &none).is_ok());
        let e = check_realm(true, "http://u:pw@auth.example:8080/token?x=1", &none).unwrap_err();
        assert!(
            e.contains("http://auth.example:8080/token") && e.contains("--insecure-registry"),
            "{e}"
        );
        assert!(!e.contains("pw"), "{e}");
        assert!(check_realm(
            true,
            "http://auth.example:8080/token",
            &["auth.example:8080".into()]
        )
        .is_ok());
        assert!(check_realm(false, "http://auth.example/token", &none).is_ok());
        assert!(check_realm(false, "ftp://auth.example/token", &none).is_err());
    }

    #[test]
    fn hosts() {
        assert_eq!(host_of("https://r.example:5000/v2/x"), "r.example:5000");
        assert_eq!(host_of("http://u:p@h:1?q"), "h:1");
    }

    /// One HTTP/1.1 answer per connection on a loopback port; each request's head is sent
    /// to the returned channel.
    fn server(answer: String) -> (u16, std::sync::mpsc::Receiver<String>) {
        use std::io::{BufRead, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = std::io::BufReader::new(&stream);
                let mut head = String::new();
                while reader.read_line(&mut head).is_ok_and(|n| n > 2) {}
                let _ = tx.send(head);
                let _ = (&stream).write_all(answer.as_bytes());
            }
        });
        (port, rx)
    }

    /// Credentials never follow a redirect to another host (here: another port).
    #[tokio::test]
    async fn redirects_to_another_host_drop_the_credentials() {
        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
        let (other, seen_there) = server(ok.to_string());
        let redirect = format!(
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{other}/v2/x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let (registry, seen_here) = server(redirect);
        let http = client(Duration::from_secs(5)).unwrap();
        let resp = http
            .get(format!("http://127.0.0.1:{registry}/v2/x"))
            .basic_auth("ci", Some("pw"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let here = seen_here.recv().unwrap().to_ascii_lowercase();
        let there = seen_there.recv().unwrap().to_ascii_lowercase();
        assert!(here.contains("authorization: basic"), "{here}");
        assert!(!there.contains("authorization"), "{there}");
    }

    /// A refused connection: reqwest, hyper-util and the OS each describe it, and hyper-util
    /// repeats its cause in its own message; every part is said once.
    #[tokio::test]
    async fn causes_are_said_once() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let http = client(Duration::from_secs(5)).unwrap();
        let e = http
            .get(format!("http://user:s3cret@127.0.0.1:{port}/x?token=t0k"))
            .send()
            .await
            .unwrap_err();
        let d = describe(&e);
        assert_eq!(d.matches("refused").count(), 1, "{d}");
        assert!(!d.contains("s3cret") && !d.contains("t0k"), "{d}");
    }
}
