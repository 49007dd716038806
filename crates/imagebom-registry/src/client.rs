//! [`Client`]: the distribution API (`/v2/` ping, manifests, blobs, tags, referrers) and plain
//! HTTP `GET`s, over one reqwest client.

use crate::auth::{parse_challenge, AuthState};
use crate::creds::{Basic, Credential};
use crate::error::{ErrorKind, RegistryError};
use crate::retry::RetryPolicy;
use imagebom_model::{redact_url, Digest};
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Largest error body read (for its error codes); the rest is not read.
pub const MAX_ERROR_BODY: u64 = 64 << 10;
/// Largest page of a tag list.
const MAX_TAGS_PAGE: u64 = 4 << 20;
/// Most pages of a tag list followed.
const MAX_TAG_PAGES: usize = 1000;
/// Largest referrers index.
const MAX_REFERRERS_INDEX: u64 = 4 << 20;
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// How the client reaches servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Deadline of each request: connect, headers and the whole body.
    pub timeout: Duration,
    /// When to ask again.
    pub retry: RetryPolicy,
    /// Registries (`host[:port]`) reached over plain HTTP; all others use HTTPS.
    pub insecure: Vec<String>,
    /// Tags asked for per page of a tag list (`?n=`); `None` lets the registry choose.
    pub tag_page_size: Option<u32>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            insecure: Vec::new(),
            tag_page_size: None,
        }
    }
}

/// A repository in a registry: `registry/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Repository {
    /// The registry as named (`docker.io`, `ghcr.io`, `127.0.0.1:5000`): credentials are
    /// looked up by it.
    pub registry: String,
    /// The repository path (`library/nginx`).
    pub name: String,
}

impl Repository {
    /// `name` in `registry`.
    pub fn new(registry: impl Into<String>, name: impl Into<String>) -> Repository {
        Repository {
            registry: registry.into(),
            name: name.into(),
        }
    }

    /// `host/name` split at its first `/`, each part checked (the distribution spec's
    /// repository name grammar); the error says what is wrong.
    pub fn parse(text: &str) -> Result<Repository, String> {
        let (host, name) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} has no repository path after the host"))?;
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
        if !host_ok {
            return Err(format!("{host:?} is not a registry host"));
        }
        if !valid_name(name) {
            return Err(format!(
                "{name:?} is not a repository name (lower-case letters, digits and separators)"
            ));
        }
        Ok(Repository::new(host, name))
    }

    /// The host requests go to (`docker.io` is served at `index.docker.io`).
    pub fn host(&self) -> &str {
        match self.registry.as_str() {
            "docker.io" => "index.docker.io",
            r => r,
        }
    }
}

/// Whether `name` is a repository name: components of `[a-z0-9]+` joined by `.`, `_`, `__`
/// or runs of `-`, separated by `/`.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.split('/').all(|c| {
            let b = c.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|&x| x.is_ascii_digit() || x.is_ascii_lowercase() || b"._-".contains(&x))
                && !c.contains("..")
                && !c.contains("___")
        })
}

/// Whether `tag` is a tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub(crate) fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&x| x.is_ascii_alphanumeric() || b"._-".contains(&x))
}

/// A manifest in a repository: by tag, by digest, or both (the digest is asked for and
/// verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Where it is.
    pub repository: Repository,
    /// The tag.
    pub tag: Option<String>,
    /// The digest.
    pub digest: Option<Digest>,
}

impl Reference {
    /// `repository:tag`; an error when `tag` is not a tag.
    pub fn tagged(repository: Repository, tag: &str) -> Result<Reference, String> {
        if !valid_tag(tag) {
            return Err(format!("{tag:?} is not a valid tag"));
        }
        Ok(Reference {
            repository,
            tag: Some(tag.to_string()),
            digest: None,
        })
    }

    /// `repository@digest`.
    pub fn pinned(repository: Repository, digest: Digest) -> Reference {
        Reference {
            repository,
            tag: None,
            digest: Some(digest),
        }
    }

    /// What the manifest URL names: the digest when there is one, else the tag (`latest`).
    fn target(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".into(),
        }
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.repository.registry, self.repository.name)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// A manifest as served, its digest verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The body, exactly as served.
    pub bytes: Vec<u8>,
    /// `Content-Type`, without parameters.
    pub media_type: Option<String>,
    /// The reference's digest when it pins one (the body matched it), else the body's sha256.
    pub digest: Digest,
}

/// What a `HEAD` of a manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// `Docker-Content-Digest`, when sent and valid.
    pub digest: Option<Digest>,
    /// `Content-Type`, without parameters.
    pub media_type: Option<String>,
    /// `Content-Length`.
    pub size: Option<u64>,
}

/// An entry of an OCI index (a referrer).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The manifest's media type.
    #[serde(default)]
    pub media_type: String,
    /// Its digest, as listed.
    pub digest: String,
    /// Its size, as listed.
    #[serde(default)]
    pub size: i64,
    /// Its `artifactType`, when listed.
    #[serde(default)]
    pub artifact_type: Option<String>,
}

/// One answer: status, headers and body.
struct Answer {
    headers: HeaderMap,
    body: Vec<u8>,
    url: reqwest::Url,
}

/// A request to a registry.
struct Call<'a> {
    shown: &'a str,
    repository: &'a Repository,
    url: String,
    head: bool,
    accept: String,
    limit: u64,
    what: &'a str,
    limit_name: &'static str,
}

/// The registry and HTTP client: cheap to clone (clones share their connections, probes,
/// credentials and tokens).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    options: ClientOptions,
    auth: AuthState,
    /// Hosts whose `/v2/` was asked (once each) for its challenge.
    probed: tokio::sync::Mutex<BTreeMap<String, Arc<tokio::sync::OnceCell<()>>>>,
    /// Credentials per registry, looked up once (a credential helper run per request would
    /// cost more than the request).
    creds: Mutex<BTreeMap<String, Credential>>,
    /// Hosts that answered 404 to the referrers API (the spec forbids that from one that
    /// has it): later subjects there go straight to the tag schema.
    no_referrers_api: Mutex<BTreeSet<String>>,
}

impl Client {
    /// A client with `options`; an error (naming the likely cause) when no HTTP client can
    /// be built, as on a system without CA certificates.
    pub fn new(options: ClientOptions) -> Result<Client, RegistryError> {
        let http = crate::net::client(options.timeout).map_err(|e| {
            RegistryError::new(
                "registry client",
                ErrorKind::Network {
                    detail: format!(
                        "cannot set up the registry client: {e} (are CA certificates installed, e.g. /etc/ssl/certs/ca-certificates.crt?)"
                    ),
                },
            )
        })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                auth: AuthState::new(options.insecure.clone()),
                options,
                probed: Default::default(),
                creds: Default::default(),
                no_referrers_api: Default::default(),
            }),
        })
    }

    /// The options the client was built with.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// Uses `cred` for `registry` instead of what the configuration files say.
    pub fn set_credential(&self, registry: &str, cred: Credential) {
        if let Ok(mut m) = self.inner.creds.lock() {
            m.insert(registry.to_string(), cred);
        }
    }

    /// The credential for `registry` ([`crate::creds::for_registry`]), looked up on first use.
    pub fn credential(&self, registry: &str) -> Credential {
        if let Some(c) = self
            .inner
            .creds
            .lock()
            .ok()
            .and_then(|m| m.get(registry).cloned())
        {
            return c;
        }
        let c = crate::creds::for_registry(registry);
        self.set_credential(registry, c.clone());
        c
    }

    fn scheme(&self, host: &str) -> &'static str {
        if self.inner.options.insecure.iter().any(|h| h == host) {
            "http"
        } else {
            "https"
        }
    }

    /// `scheme://host/v2/name`.
    fn base(&self, repo: &Repository) -> String {
        let host = repo.host();
        format!("{}://{host}/v2/{}", self.scheme(host), repo.name)
    }

    /// Asks `host`'s `/v2/` once for its challenge and remembers it, so the first real
    /// request is authenticated. A probe that fails is no verdict (the request that follows
    /// reports the failure).
    async fn probe(&self, host: &str) {
        let cell = self
            .inner
            .probed
            .lock()
            .await
            .entry(host.to_string())
            .or_default()
            .clone();
        cell.get_or_init(|| async {
            let url = format!("{}://{host}/v2/", self.scheme(host));
            if let Ok(r) = self.inner.http.get(&url).send().await {
                if let Some(c) = challenge_of(r.headers()) {
                    self.inner.auth.set_challenge(host, c);
                }
            }
        })
        .await;
    }

    /// `call` with the retry policy.
    async fn call(&self, call: &Call<'_>) -> Result<Answer, RegistryError> {
        self.probe(call.repository.host()).await;
        let cred = self.credential(&call.repository.registry);
        self.inner
            .options
            .retry
            .run(|| self.attempt(call, &cred))
            .await
    }

    /// One attempt of `call`, authenticated as the registry asks; on a 401 the new
    /// challenge is remembered (a refused token forgotten) and the request sent once more.
    async fn attempt(&self, call: &Call<'_>, cred: &Credential) -> Result<Answer, RegistryError> {
        let host = call.repository.host();
        let scope = format!("repository:{}:pull", call.repository.name);
        let http = &self.inner.http;
        let mut round = 0;
        let resp = loop {
            let authz = self
                .inner
                .auth
                .authorization(http, call.shown, host, Some(&scope), cred)
                .await?;
            let mut req = if call.head {
                http.head(&call.url)
            } else {
                http.get(&call.url)
            };
            if let Some(a) = &authz {
                req = a.apply(req);
            }
            let resp = send(call.shown, req.header(ACCEPT, &call.accept)).await?;
            match challenge_of(resp.headers()) {
                Some(c) if resp.status() == 401 && round == 0 => {
                    self.inner.auth.set_challenge(host, c);
                    if let Some(a) = &authz {
                        self.inner.auth.forget(host, &scope, a).await;
                    }
                    round += 1;
                }
                _ => break resp,
            }
        };
        answer(
            call.shown,
            resp,
            !call.head,
            call.limit,
            call.what,
            call.limit_name,
        )
        .await
    }

    /// The request for the manifest `reference` names (shown as `shown`): a `GET` reading at
    /// most `max` bytes of body, or with `None` a `HEAD`.
    fn manifest_call<'a>(
        &self,
        shown: &'a str,
        reference: &'a Reference,
        accept: &[&str],
        max: Option<u64>,
    ) -> Call<'a> {
        Call {
            shown,
            repository: &reference.repository,
            url: format!(
                "{}/manifests/{}",
                self.base(&reference.repository),
                reference.target()
            ),
            head: max.is_none(),
            accept: accept.join(", "),
            limit: max.unwrap_or(0),
            what: "manifest",
            limit_name: "MAX_MANIFEST_BYTES",
        }
    }

    /// The manifest `reference` names, asking for the media types of `accept`, at most
    /// `max` bytes; verified against `Docker-Content-Digest` and the reference's digest.
    pub async fn manifest(
        &self,
        reference: &Reference,
        accept: &[&str],
        max: u64,
    ) -> Result<Manifest, RegistryError> {
        let shown = reference.to_string();
        let call = self.manifest_call(&shown, reference, accept, Some(max));
        let a = self.call(&call).await?;
        let header = header_str(&a.headers, "docker-content-digest");
        let digest = verify_manifest(&shown, &a.body, header, reference.digest.as_ref())?;
        Ok(Manifest {
            media_type: media_type(&a.headers),
            bytes: a.body,
            digest,
        })
    }

    /// `HEAD` of the manifest `reference` names (no body is read).
    pub async fn head_manifest(
        &self,
        reference: &Reference,
        accept: &[&str],
    ) -> Result<Head, RegistryError> {
        let shown = reference.to_string();
        let call = self.manifest_call(&shown, reference, accept, None);
        let a = self.call(&call).await?;
        Ok(Head {
            digest: header_str(&a.headers, "docker-content-digest")
                .and_then(|d| Digest::parse(d.trim()).ok()),
            media_type: media_type(&a.headers),
            size: header_str(&a.headers, "content-length").and_then(|n| n.trim().parse().ok()),
        })
    }

    /// The blob `digest` of `repository`, at most `max` bytes (`limit_name` names the
    /// limit in errors), verified against `digest`.
    pub async fn blob(
        &self,
        repository: &Repository,
        digest: &Digest,
        max: u64,
        limit_name: &'static str,
    ) -> Result<Vec<u8>, RegistryError> {
        let shown = format!("{}/{}@{digest}", repository.registry, repository.name);
        let call = Call {
            shown: &shown,
            repository,
            url: format!("{}/blobs/{digest}", self.base(repository)),
            head: false,
            accept: "*/*".into(),
            limit: max,
            what: "blob",
            limit_name,
        };
        let a = self.call(&call).await?;
        match Digest::of(digest.algorithm(), &a.body) {
            Some(actual) if actual != *digest => Err(RegistryError::new(
                shown,
                ErrorKind::DigestMismatch {
                    detail: format!("served blob {actual} does not match its digest {digest}"),
                    expected: digest.to_string(),
                    actual: actual.to_string(),
                },
            )),
            _ => Ok(a.body),
        }
    }

    /// Every tag of `repository`, in the registry's order, following `Link` pagination.
    pub async fn tags(&self, repository: &Repository) -> Result<Vec<String>, RegistryError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let shown = format!("{}/{}", repository.registry, repository.name);
        let mut url = format!("{}/tags/list", self.base(repository));
        if let Some(n) = self.inner.options.tag_page_size {
            url = format!("{url}?n={n}");
        }
        let mut out = Vec::new();
        for _ in 0..MAX_TAG_PAGES {
            let call = Call {
                shown: &shown,
                repository,
                url: url.clone(),
                head: false,
                accept: "application/json".into(),
                limit: MAX_TAGS_PAGE,
                what: "tag list page",
                limit_name: "MAX_TAGS_PAGE",
            };
            let a = self.call(&call).await?;
            let page: Page = serde_json::from_slice(&a.body).map_err(|e| {
                RegistryError::new(
                    &shown,
                    ErrorKind::Invalid {
                        detail: format!("tag list: {e}"),
                    },
                )
            })?;
            out.extend(page.tags.unwrap_or_default());
            match next_link(&a.headers, &a.url) {
                Some(next) => url = next,
                None => return Ok(out),
            }
        }
        tracing::warn!(repository = %shown, "the tag list has more than {MAX_TAG_PAGES} pages; reading the first");
        Ok(out)
    }

    /// The referrers of `digest` in `repository` (of `artifact_type` only, when given): the
    /// OCI 1.1 referrers API, else (404: no API) the referrers tag schema index
    /// (`alg-hex`; none when it does not exist).
    pub async fn referrers(
        &self,
        repository: &Repository,
        digest: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, RegistryError> {
        let shown = format!("{}/{}@{digest}", repository.registry, repository.name);
        let host = repository.host().to_string();
        let known_without = self
            .inner
            .no_referrers_api
            .lock()
            .is_ok_and(|s| s.contains(&host));
        let mut entries = None;
        if !known_without {
            let mut url = format!("{}/referrers/{digest}", self.base(repository));
            if let Some(t) = artifact_type {
                url = format!("{url}?artifactType={}", query_escape(t));
            }
            let call = Call {
                shown: &shown,
                repository,
                url,
                head: false,
                accept: OCI_INDEX.into(),
                limit: MAX_REFERRERS_INDEX,
                what: "referrers index",
                limit_name: "MAX_REFERRERS_INDEX",
            };
            match self.call(&call).await {
                Ok(a) => entries = Some(parse_index(&shown, &a.body)?),
                Err(e) if e.is_not_found() => {
                    if let Ok(mut s) = self.inner.no_referrers_api.lock() {
                        s.insert(host);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let entries = match entries {
            Some(e) => e,
            None => {
                tracing::debug!(reference = %shown, "no referrers API: reading the referrers tag schema index");
                let tag = format!("{}-{}", digest.algorithm(), digest.encoded());
                let fallback = Reference::tagged(repository.clone(), &tag)
                    .map_err(|detail| RegistryError::new(&shown, ErrorKind::Invalid { detail }))?;
                match self
                    .manifest(&fallback, &[OCI_INDEX], MAX_REFERRERS_INDEX)
                    .await
                {
                    Ok(m) => parse_index(&shown, &m.bytes)?,
                    Err(e) if e.is_not_found() => Vec::new(),
                    Err(e) => return Err(e),
                }
            }
        };
        Ok(entries
            .into_iter()
            .filter(|d| artifact_type.is_none_or(|t| d.artifact_type.as_deref() == Some(t)))
            .collect())
    }

    /// `GET url` (an HTTP chart repository's `index.yaml` or archive) with `auth`, at most
    /// `max` bytes (`limit_name` names the limit): the body of a 2xx answer. Any other status
    /// is [`ErrorKind::Http`]. Errors name the URL without credentials.
    pub async fn get(
        &self,
        url: &str,
        auth: Option<&Basic>,
        max: u64,
        limit_name: &'static str,
    ) -> Result<Vec<u8>, RegistryError> {
        let shown = redact_url(url);
        self.inner
            .options
            .retry
            .run(|| async {
                let mut req = self.inner.http.get(url);
                if let Some(b) = auth {
                    req = req.basic_auth(&b.user, Some(&b.password));
                }
                let resp = send(&shown, req).await?;
                let status = resp.status().as_u16();
                if !resp.status().is_success() {
                    let retry_after = crate::net::retry_after(resp.headers(), Duration::MAX);
                    return Err(RegistryError::new(
                        &shown,
                        ErrorKind::Http {
                            status,
                            codes: Vec::new(),
                            retry_after,
                        },
                    ));
                }
                read_body(&shown, resp, max, &shown, limit_name).await
            })
            .await
    }
}

/// Sends `req`: a redirect chain too long or a transport failure is an error for `shown`.
async fn send(
    shown: &str,
    req: reqwest::RequestBuilder,
) -> Result<reqwest::Response, RegistryError> {
    req.send().await.map_err(|e| {
        let kind = if e.is_redirect() {
            ErrorKind::TooManyRedirects
        } else {
            ErrorKind::Network {
                detail: crate::net::describe_request(&e),
            }
        };
        RegistryError::new(shown, kind)
    })
}

/// A response as an [`Answer`] (its body read when `body`, at most `limit` bytes), or the
/// typed error of a non-success status (its error body read for the codes).
async fn answer(
    shown: &str,
    resp: reqwest::Response,
    body: bool,
    limit: u64,
    what: &str,
    limit_name: &'static str,
) -> Result<Answer, RegistryError> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let url = resp.url().clone();
    if !resp.status().is_success() {
        let after = crate::net::retry_after(&headers, Duration::MAX);
        let error_body = match body {
            true => read_body(shown, resp, MAX_ERROR_BODY, "error body", "MAX_ERROR_BODY")
                .await
                .unwrap_or_default(),
            false => Vec::new(),
        };
        return Err(RegistryError::from_status(
            shown,
            status,
            &error_body,
            after,
        ));
    }
    let body = match body {
        true => read_body(shown, resp, limit, what, limit_name).await?,
        false => Vec::new(),
    };
    Ok(Answer { headers, body, url })
}

/// Reads a body, failing as soon as it passes `limit` (announced or actual length), so a
/// hostile server cannot exhaust memory; a body cut short is a (transient) network error.
pub(crate) async fn read_body(
    shown: &str,
    mut resp: reqwest::Response,
    limit: u64,
    what: &str,
    limit_name: &'static str,
) -> Result<Vec<u8>, RegistryError> {
    let too_large = |size: u64| {
        RegistryError::new(
            shown,
            ErrorKind::TooLarge {
                what: what.to_string(),
                size,
                limit,
                limit_name,
            },
        )
    };
    if let Some(n) = resp.content_length().filter(|&n| n > limit) {
        return Err(too_large(n));
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                let n = (body.len() + c.len()) as u64;
                if n > limit {
                    return Err(too_large(n));
                }
                body.extend_from_slice(&c);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                let detail = format!("reading the body: {}", crate::net::describe_request(&e));
                return Err(RegistryError::new(shown, ErrorKind::Network { detail }));
            }
        }
    }
}

fn challenge_of(headers: &HeaderMap) -> Option<crate::auth::Challenge> {
    headers
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_challenge)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn media_type(headers: &HeaderMap) -> Option<String> {
    header_str(headers, CONTENT_TYPE.as_str())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The `rel="next"` target of a `Link` header, resolved against `base`.
fn next_link(headers: &HeaderMap, base: &reqwest::Url) -> Option<String> {
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(v) = value.to_str() else { continue };
        for link in v.split(',') {
            let (target, params) = link.split_once(';').unwrap_or((link, ""));
            let is_next = params.split(';').any(|p| {
                let p = p.trim().replace(' ', "").to_ascii_lowercase();
                p == "rel=\"next\"" || p == "rel=next"
            });
            let target = target.trim().trim_start_matches('<').trim_end_matches('>');
            if is_next && !target.is_empty() {
                return base.join(target).ok().map(|u| u.to_string());
            }
        }
    }
    None
}

fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `manifests` of a referrers index.
fn parse_index(shown: &str, body: &[u8]) -> Result<Vec<Descriptor>, RegistryError> {
    #[derive(Deserialize)]
    struct Index {
        #[serde(default)]
        manifests: Vec<Descriptor>,
    }
    serde_json::from_slice::<Index>(body)
        .map(|i| i.manifests)
        .map_err(|e| {
            RegistryError::new(
                shown,
                ErrorKind::Invalid {
                    detail: format!("referrers index: {e}"),
                },
            )
        })
}

/// Checks a manifest body against the `Docker-Content-Digest` header and the digest the
/// reference pins, each with its own algorithm (`sha256` or `sha512`): the digest to record
/// (the pin when there is one, else the body's sha256), or why the answer is refused.
pub fn verify_manifest(
    shown: &str,
    body: &[u8],
    header: Option<&str>,
    pinned: Option<&Digest>,
) -> Result<Digest, RegistryError> {
    let fail = |kind| RegistryError::new(shown, kind);
    if let Some(h) = header {
        let claimed = Digest::parse(h.trim()).map_err(|e| {
            fail(ErrorKind::Invalid {
                detail: format!("Docker-Content-Digest {h:?}: {e}"),
            })
        })?;
        if let Some(actual) = Digest::of(claimed.algorithm(), body) {
            if actual != claimed {
                return Err(fail(ErrorKind::DigestMismatch {
                    detail: format!(
                        "Docker-Content-Digest {claimed} does not match the body ({actual})"
                    ),
                    expected: claimed.to_string(),
                    actual: actual.to_string(),
                }));
            }
        }
    }
    if let Some(pin) = pinned {
        match Digest::of(pin.algorithm(), body) {
            Some(actual) if actual == *pin => return Ok(pin.clone()),
            Some(actual) => {
                return Err(fail(ErrorKind::DigestMismatch {
                    detail: format!(
                        "served manifest {actual} does not match the pinned digest {pin}"
                    ),
                    expected: pin.to_string(),
                    actual: actual.to_string(),
                }))
            }
            None => {}
        }
    }
    Ok(Digest::sha256_of(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_tags_and_references() {
        let r = Repository::parse("127.0.0.1:5000/team/app").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.name.as_str()),
            ("127.0.0.1:5000", "team/app")
        );
        assert_eq!(
            Repository::new("docker.io", "library/x").host(),
            "index.docker.io"
        );
        for bad in [
            "host",
            "host/",
            "host/Upper",
            "host/a//b",
            "ho st/a",
            "host/-a",
            "host/a..",
        ] {
            assert!(Repository::parse(bad).is_err(), "{bad}");
        }
        assert!(
            valid_tag("1.0.0_build.7") && valid_tag("_x") && !valid_tag("-x") && !valid_tag("a+b")
        );
        let d = Digest::sha256_of(b"x");
        let t = Reference::tagged(r.clone(), "v1").unwrap();
        assert_eq!(t.to_string(), "127.0.0.1:5000/team/app:v1");
        assert_eq!(Reference::pinned(r, d.clone()).target(), d.to_string());
    }

    #[test]
    fn link_headers() {
        let base = reqwest::Url::parse("http://h:5000/v2/a/tags/list").unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            reqwest::header::LINK,
            r#"</v2/a/tags/list?last=b&n=2>; rel="next""#.parse().unwrap(),
        );
        assert_eq!(
            next_link(&h, &base).as_deref(),
            Some("http://h:5000/v2/a/tags/list?last=b&n=2")
        );
        h.insert(
            reqwest::header::LINK,
            r#"</x>; rel="prev""#.parse().unwrap(),
        );
        assert_eq!(next_link(&h, &base), None);
    }

    /// sha512 digests (allowed by the OCI image spec) are checked with sha512: the FIPS 180-2
    /// test vector of "abc".
    #[test]
    fn digests_are_verified_with_their_own_algorithm() {
        let abc512 = "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
        let pin = Digest::parse(abc512).unwrap();
        assert_eq!(
            verify_manifest("r", b"abc", Some(abc512), Some(&pin)).unwrap(),
            pin
        );
        let plain = verify_manifest("r", b"abc", Some(abc512), None).unwrap();
        assert_eq!(plain, Digest::sha256_of(b"abc"));
        let e = verify_manifest("r", b"abd", Some(abc512), None).unwrap_err();
        assert!(e.to_string().contains("does not match the body"), "{e}");
        let e = verify_manifest("r", b"abd", None, Some(&pin)).unwrap_err();
        assert!(e.to_string().contains("pinned digest"), "{e}");
    }
}
