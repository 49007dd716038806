//! What a real registry cannot be made to do, from a scripted loopback server: 429 with
//! `Retry-After`, 408, 503 then success, a body trickling past the deadline, a wrong digest,
//! an oversized body, a bearer challenge with its token endpoint, a redirect to another host.

use imagebom_model::Digest;
use imagebom_registry::{
    Basic, Client, ClientOptions, Credential, ErrorKind, Reference, Repository, RetryPolicy,
};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A request as the server saw it: method, path (with query) and lower-cased head.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    head: String,
}

/// An answer: the raw head and body, the body optionally sent one byte per `trickle`.
struct Answer {
    head: String,
    body: Vec<u8>,
    trickle: Option<Duration>,
}

fn answer(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    let sized = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length"));
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if !sized {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    Answer {
        head,
        body: body.to_vec(),
        trickle: None,
    }
}

type Handler = dyn Fn(&Seen, usize) -> Answer + Send + Sync;

/// A scripted server: `handler` gets each request and how many came before it.
struct Server {
    host: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    async fn start(handler: impl Fn(&Seen, usize) -> Answer + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (handler, log) = (handler.clone(), log.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
                    let first = String::from_utf8_lossy(&buf)
                        .lines()
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let mut parts = first.split(' ');
                    let seen = Seen {
                        method: parts.next().unwrap_or("").to_string(),
                        path: parts.next().unwrap_or("").to_string(),
                        head,
                    };
                    let n = {
                        let mut l = log.lock().unwrap();
                        l.push(seen.clone());
                        l.len() - 1
                    };
                    let a = handler(&seen, n);
                    let _ = stream.write_all(a.head.as_bytes()).await;
                    if seen.method == "HEAD" {
                        return;
                    }
                    match a.trickle {
                        None => {
                            let _ = stream.write_all(&a.body).await;
                        }
                        Some(every) => {
                            for b in a.body {
                                if stream.write_all(&[b]).await.is_err() {
                                    return;
                                }
                                tokio::time::sleep(every).await;
                            }
                        }
                    }
                    let _ = stream.shutdown().await;
                });
            }
        });
        Server { host, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Requests other than the `/v2/` probe.
    fn calls(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.path != "/v2/")
            .collect()
    }

    fn client(&self, retries: u32, timeout: Duration) -> Client {
        let c = Client::new(ClientOptions {
            timeout,
            retry: RetryPolicy {
                retries,
                backoff: Duration::from_millis(1),
                ..RetryPolicy::default()
            },
            insecure: vec![self.host.clone()],
            ..ClientOptions::default()
        })
        .unwrap();
        c.set_credential(&self.host, Credential::Anonymous);
        c
    }

    fn reference(&self, tag: &str) -> Reference {
        Reference::tagged(Repository::new(self.host.clone(), "team/app"), tag).unwrap()
    }
}

const MANIFEST: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":2},"layers":[]}"#;
const MT: &str = "application/vnd.oci.image.manifest.v1+json";

fn manifest_ok() -> Answer {
    let d = Digest::sha256_of(MANIFEST).to_string();
    answer(
        "200 OK",
        &[("Content-Type", MT), ("Docker-Content-Digest", &d)],
        MANIFEST,
    )
}

/// `status` for the first `fail` requests after the probe, then the manifest.
async fn flaky(
    status: &'static str,
    extra: &'static [(&'static str, &'static str)],
    fail: usize,
) -> Server {
    Server::start(move |s, n| {
        if s.path == "/v2/" {
            return answer("200 OK", &[], b"{}");
        }
        if n <= fail {
            answer(status, extra, b"")
        } else {
            manifest_ok()
        }
    })
    .await
}

#[tokio::test]
async fn regclient_429_waits_for_retry_after() {
    let srv = flaky("429 Too Many Requests", &[("Retry-After", "1")], 1).await;
    let t = Instant::now();
    let m = srv
        .client(2, Duration::from_secs(5))
        .manifest(&srv.reference("1"), &[MT], 1 << 20)
        .await
        .unwrap();
    assert_eq!(m.digest, Digest::sha256_of(MANIFEST));
    // The backoff is 1 ms: the wait is the server's Retry-After.
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(srv.calls().len(), 2);

    // Chart repository GETs honour it too.
    let srv = Server::start(|_, n| match n {
        0 => answer("429 Too Many Requests", &[("Retry-After", "1")], b""),
        _ => answer("200 OK", &[], b"index"),
    })
    .await;
    let t = Instant::now();
    let body = srv
        .client(1, Duration::from_secs(5))
        .get(
            &format!("http://{}/index.yaml", srv.host),
            None,
            100,
            "max_index_size",
        )
        .await
        .unwrap();
    assert_eq!(body, b"index");
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn regclient_408_and_503_are_retried_then_succeed() {
    for status in ["408 Request Timeout", "503 Service Unavailable"] {
        let srv = flaky(status, &[], 2).await;
        let c = srv.client(2, Duration::from_secs(5));
        c.manifest(&srv.reference("1"), &[MT], 1 << 20)
            .await
            .unwrap();
        assert_eq!(srv.calls().len(), 3, "{status}");
        // One retry fewer: the last answer is the error, typed with its status.
        let srv = flaky(status, &[], 2).await;
        let e = srv
            .client(1, Duration::from_secs(5))
            .manifest(&srv.reference("1"), &[MT], 1 << 20)
            .await
            .unwrap_err();
        let code: u16 = status[..3].parse().unwrap();
        assert!(
            matches!(e.kind, ErrorKind::Http { status, .. } if status == code),
            "{e:?}"
        );
        assert_eq!(srv.calls().len(), 2, "{status}");
    }
    // Plain HTTP GETs (chart repositories) follow the same policy.
    let srv = Server::start(|_, n| match n {
        0 => answer("408 Request Timeout", &[], b""),
        _ => answer("200 OK", &[], b"index"),
    })
    .await;
    let body = srv
        .client(1, Duration::from_secs(5))
        .get(
            &format!("http://{}/index.yaml", srv.host),
            None,
            100,
            "max_index_size",
        )
        .await
        .unwrap();
    assert_eq!(body, b"index");
}

#[tokio::test]
async fn regclient_404_and_a_wrong_digest_are_not_retried() {
    let srv = Server::start(|s, _| match s.path.as_str() {
        "/v2/" => answer("200 OK", &[], b"{}"),
        p if p.ends_with("/gone") => answer(
            "404 Not Found",
            &[("Content-Type", "application/json")],
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
        ),
        _ => answer(
            "200 OK",
            &[
                ("Content-Type", MT),
                (
                    "Docker-Content-Digest",
                    &Digest::sha256_of(b"other").to_string(),
                ),
            ],
            MANIFEST,
        ),
    })
    .await;
    let c = srv.client(3, Duration::from_secs(5));
    let e = c
        .manifest(&srv.reference("gone"), &[MT], 1 << 20)
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert!(e.to_string().contains("MANIFEST_UNKNOWN"), "{e}");
    let e = c
        .manifest(&srv.reference("lies"), &[MT], 1 << 20)
        .await
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::DigestMismatch { .. }), "{e:?}");
    assert!(e.to_string().contains("does not match the body"), "{e}");
    // A pin the body does not match.
    let mut pinned = srv.reference("x");
    pinned.digest = Some(Digest::sha256_of(b"pinned"));
    srv.seen.lock().unwrap().clear();
    let e = c.manifest(&pinned, &[MT], 1 << 20).await.unwrap_err();
    assert!(matches!(e.kind, ErrorKind::DigestMismatch { .. }), "{e:?}");
    assert_eq!(srv.calls().len(), 1);
}

#[tokio::test]
async fn regclient_oversized_bodies_stop_at_the_limit() {
    let srv = Server::start(|s, _| match s.path.as_str() {
        "/v2/" => answer("200 OK", &[], b"{}"),
        p if p.ends_with("/announced") => {
            answer("200 OK", &[("Content-Length", "5000")], &[b'x'; 5000])
        }
        _ => {
            // No Content-Length: the body ends with the connection.
            let mut a = answer("200 OK", &[], b"");
            a.head = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".into();
            a.body = vec![b'x'; 5000];
            a
        }
    })
    .await;
    let c = srv.client(3, Duration::from_secs(5));
    for tag in ["announced", "streamed"] {
        let e = c
            .manifest(&srv.reference(tag), &[MT], 1000)
            .await
            .unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::TooLarge { limit: 1000, .. }),
            "{tag}: {e:?}"
        );
        assert!(
            e.to_string()
                .contains("larger than the limit of 1000 bytes (MAX_MANIFEST_BYTES)"),
            "{e}"
        );
    }
    assert_eq!(srv.calls().len(), 2, "not retried");
}

#[tokio::test]
async fn regclient_a_trickling_body_is_cut_at_the_deadline() {
    let srv = Server::start(|s, _| {
        if s.path == "/v2/" {
            return answer("200 OK", &[], b"{}");
        }
        let mut a = answer("200 OK", &[("Content-Type", MT)], MANIFEST);
        a.trickle = Some(Duration::from_millis(100));
        a
    })
    .await;
    let t = Instant::now();
    let e = srv
        .client(0, Duration::from_secs(1))
        .manifest(&srv.reference("slow"), &[MT], 1 << 20)
        .await
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Network { .. }), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
}

#[tokio::test]
async fn regclient_bearer_tokens_are_fetched_once_per_scope() {
    let token_host = Arc::new(Mutex::new(String::new()));
    let th = token_host.clone();
    let srv = Server::start(move |s, _| {
        if s.path.starts_with("/token") {
            return answer(
                "200 OK",
                &[("Content-Type", "application/json")],
                br#"{"token":"T0KEN"}"#,
            );
        }
        if s.head.contains("authorization: bearer t0ken") {
            return manifest_ok();
        }
        let realm = format!(
            r#"Bearer realm="http://{}/token",service="svc""#,
            th.lock().unwrap()
        );
        answer(
            "401 Unauthorized",
            &[("WWW-Authenticate", &realm)],
            br#"{"errors":[{"code":"UNAUTHORIZED"}]}"#,
        )
    })
    .await;
    *token_host.lock().unwrap() = srv.host.clone();
    let c = srv.client(0, Duration::from_secs(5));
    c.set_credential(&srv.host, Credential::Basic(Basic::new("u", "s3cret")));
    for tag in ["1", "2"] {
        c.manifest(&srv.reference(tag), &[MT], 1 << 20)
            .await
            .unwrap();
    }
    let tokens: Vec<Seen> = srv
        .seen()
        .into_iter()
        .filter(|s| s.path.starts_with("/token"))
        .collect();
    assert_eq!(tokens.len(), 1, "{:?}", srv.seen());
    assert!(tokens[0].path.contains("service=svc"), "{}", tokens[0].path);
    assert!(
        tokens[0]
            .path
            .contains("scope=repository%3Ateam%2Fapp%3Apull"),
        "{}",
        tokens[0].path
    );
    assert!(
        tokens[0].head.contains("authorization: basic"),
        "{}",
        tokens[0].head
    );
    let manifests = srv
        .seen()
        .into_iter()
        .filter(|s| s.path.contains("/manifests/"))
        .count();
    assert_eq!(
        manifests, 2,
        "the probe's challenge authenticates the first request"
    );

    // A refused token endpoint: denied, the credentials not shown.
    let token_host = Arc::new(Mutex::new(String::new()));
    let th = token_host.clone();
    let srv = Server::start(move |s, _| {
        if s.path.starts_with("/token") {
            return answer("401 Unauthorized", &[], b"");
        }
        let realm = format!(r#"Bearer realm="http://{}/token""#, th.lock().unwrap());
        answer("401 Unauthorized", &[("WWW-Authenticate", &realm)], b"")
    })
    .await;
    *token_host.lock().unwrap() = srv.host.clone();
    let c = srv.client(0, Duration::from_secs(5));
    c.set_credential(&srv.host, Credential::Basic(Basic::new("u", "s3cret")));
    let e = c
        .manifest(&srv.reference("1"), &[MT], 1 << 20)
        .await
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Denied { .. }), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("s3cret"), "{e:?}");
}

#[tokio::test]
async fn regclient_credentials_do_not_follow_a_redirect_to_another_host() {
    let other = Server::start(|_, _| answer("200 OK", &[], b"blob")).await;
    let target = format!("http://{}/storage/blob", other.host);
    let srv = Server::start(move |_, _| answer("302 Found", &[("Location", &target)], b"")).await;
    let c = srv.client(0, Duration::from_secs(5));
    let body = c
        .get(
            &format!("http://{}/charts/app.tgz", srv.host),
            Some(&Basic::new("bot", "s3cret")),
            100,
            "max_compressed",
        )
        .await
        .unwrap();
    assert_eq!(body, b"blob");
    assert!(srv.seen()[0].head.contains("authorization: basic"));
    assert!(
        !other.seen()[0].head.contains("authorization"),
        "{:?}",
        other.seen()
    );
}

#[tokio::test]
async fn regclient_a_blob_redirected_to_storage_gets_no_registry_credentials() {
    let blob = b"layer bytes".to_vec();
    let digest = Digest::sha256_of(&blob);
    let storage = Server::start(move |_, _| answer("200 OK", &[], &blob)).await;
    let target = format!("http://{}/bucket/object", storage.host);
    let srv = Server::start(move |s, _| {
        if !s.head.contains("authorization: basic") {
            return answer(
                "401 Unauthorized",
                &[("WWW-Authenticate", r#"Basic realm="r""#)],
                b"",
            );
        }
        answer("307 Temporary Redirect", &[("Location", &target)], b"")
    })
    .await;
    let c = srv.client(0, Duration::from_secs(5));
    c.set_credential(&srv.host, Credential::Basic(Basic::new("u", "s3cret")));
    let repo = Repository::new(srv.host.clone(), "team/app");
    let got = c.blob(&repo, &digest, 100, "max_blob").await.unwrap();
    assert_eq!(Digest::sha256_of(&got), digest);
    assert_eq!(storage.seen().len(), 1);
    assert!(
        !storage.seen()[0].head.contains("authorization"),
        "{:?}",
        storage.seen()
    );
    // A blob that does not hash to its digest is refused, not retried.
    let wrong = Digest::sha256_of(b"another blob");
    let e = c.blob(&repo, &wrong, 100, "max_blob").await.unwrap_err();
    assert!(matches!(e.kind, ErrorKind::DigestMismatch { .. }), "{e:?}");
    assert_eq!(storage.seen().len(), 2);
}

#[tokio::test]
async fn regclient_an_identity_token_is_sent_as_the_bearer_token() {
    let srv = Server::start(|s, _| {
        if s.head.contains("authorization: bearer id-t0ken") {
            manifest_ok()
        } else {
            answer("401 Unauthorized", &[], b"")
        }
    })
    .await;
    let c = srv.client(0, Duration::from_secs(5));
    c.set_credential(&srv.host, Credential::IdentityToken("id-t0ken".into()));
    c.manifest(&srv.reference("1"), &[MT], 1 << 20)
        .await
        .unwrap();
}
