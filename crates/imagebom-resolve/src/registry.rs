//! Resolution against OCI registries (Distribution API): manifest requests with reqwest
//! (authenticating as the registry's challenge asks, see [`crate::auth`]); `oci-client` for
//! Docker config identity tokens.
//!
//! For each reference one `GET` of the manifest with the full `Accept` list (OCI index, OCI
//! manifest, Docker manifest list, Docker v2 manifest): the body gives the media type and, for an
//! index, every platform, so a tag costs one request once the registry's token is cached. The
//! sha256 of the body is computed here and must equal both the `Docker-Content-Digest` header
//! and any digest the reference pins — a registry that lies
//! gets an error, never a wrong digest in the BOM.
//!
//! Credentials come from the Docker config (`$DOCKER_CONFIG/config.json` or
//! `~/.docker/config.json`: `auths`, `credsStore`, `credHelpers`) or `REGISTRY_AUTH_FILE`;
//! anonymous (with the bearer-token flow) otherwise. They never appear in errors or logs.

use imagebom_model::{Digest, ImageRef, Platform, Resolution, ResolutionSource};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Manifest media types asked for, most specific first.
pub const ACCEPT: [&str; 4] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// Largest manifest or index body accepted from a registry, in bytes (containerd's bound:
/// registries need not accept larger manifests). A larger answer is an error naming it.
/// Enforced on the direct path (registries that need no token); registries that challenge
/// are read through `oci-client`, which has no body bound of its own.
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

pub use crate::net::MAX_REDIRECTS;

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Registries (`host[:port]`) reached over plain HTTP; all others use HTTPS.
    pub insecure: Vec<String>,
    /// Most requests in flight at once.
    pub concurrency: usize,
    /// Most requests in flight to any one registry.
    pub per_registry: usize,
    /// Mirrors: canonical registry → registry queried instead (`docker.io` →
    /// `mirror.example:5000`). The BOM and the lock keep the canonical name.
    pub mirrors: BTreeMap<String, String>,
    /// Retries after a transient failure (429, 5xx, timeouts, resets, truncated bodies).
    pub retries: u32,
    /// Deadline of each request: connect, headers and the whole body.
    pub timeout: Duration,
    /// First backoff delay; doubles on each retry (with jitter), capped at 10 s.
    pub backoff: Duration,
    /// On-disk cache of answers (`None`: ask the registry every time).
    pub cache: Option<crate::cache::Cache>,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure: Vec::new(),
            concurrency: 16,
            per_registry: 16,
            mirrors: BTreeMap::new(),
            retries: 4,
            timeout: Duration::from_secs(30),
            backoff: Duration::from_millis(250),
            cache: None,
        }
    }
}

/// Why a reference could not be resolved. Messages name the reference, never a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The registry has no such manifest (missing tag, digest or repository).
    #[error("{reference}: not found in the registry")]
    NotFound { reference: String },
    /// The registry refused the credentials (or anonymous access).
    #[error("{reference}: access denied by the registry ({detail})")]
    Denied { reference: String, detail: String },
    /// The registry's answer contradicts itself or the reference (digest mismatch, bad JSON).
    #[error("{reference}: registry sent an invalid manifest: {detail}")]
    Invalid { reference: String, detail: String },
    /// Sending the request would expose credentials (a plain-HTTP token realm).
    #[error("{reference}: refused: {detail}")]
    Insecure { reference: String, detail: String },
    /// Network or server failure.
    #[error("{reference}: registry request failed: {detail}")]
    Network { reference: String, detail: String },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestDoc {
    media_type: Option<String>,
    artifact_type: Option<String>,
    manifests: Option<Vec<IndexEntry>>,
    config: Option<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexEntry {
    digest: String,
    platform: Option<PlatformDoc>,
}

#[derive(Deserialize)]
struct PlatformDoc {
    os: String,
    architecture: String,
    variant: Option<String>,
    #[serde(rename = "os.version")]
    os_version: Option<String>,
}

/// Image config media types: anything else in `config.mediaType` marks an OCI artifact.
const IMAGE_CONFIGS: [&str; 2] = [
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

/// Reads what a manifest body says about itself. `digest` is its verified sha256.
pub fn describe_manifest(
    reference: &str,
    body: &[u8],
    digest: Digest,
) -> Result<Resolution, RegistryError> {
    let invalid = |detail: String| RegistryError::Invalid {
        reference: reference.to_string(),
        detail,
    };
    let doc: ManifestDoc =
        serde_json::from_slice(body).map_err(|e| invalid(format!("not a manifest: {e}")))?;
    let is_index = doc.manifests.is_some();
    let media_type = doc.media_type.clone().unwrap_or_else(|| {
        if is_index {
            ACCEPT[0].to_string()
        } else {
            ACCEPT[2].to_string()
        }
    });
    let mut platforms = Vec::new();
    for m in doc.manifests.unwrap_or_default() {
        let Some(p) = m.platform else { continue };
        // BuildKit attestations are listed as unknown/unknown: not a runnable platform.
        if p.os == "unknown" && p.architecture == "unknown" {
            continue;
        }
        let d = Digest::parse(&m.digest).map_err(|e| invalid(e.to_string()))?;
        platforms.push(Platform {
            os: p.os,
            architecture: p.architecture,
            variant: p.variant,
            os_version: p.os_version,
            digest: d,
        });
    }
    platforms.sort();
    let artifact_type = doc.artifact_type.or_else(|| {
        doc.config
            .and_then(|c| c.media_type)
            .filter(|mt| !IMAGE_CONFIGS.contains(&mt.as_str()))
    });
    Ok(Resolution {
        digest,
        source: ResolutionSource::Registry,
        media_type: Some(media_type),
        size: Some(body.len() as u64),
        platforms,
        artifact_type,
        provenance: None,
        sboms: Vec::new(),
    })
}

/// Credentials for `registry` from `REGISTRY_AUTH_FILE` or the Docker config; anonymous when
/// none are configured. A file that cannot be read or parsed, or a credential helper that
/// fails, is a warning naming the file or helper (never its output, which may hold secrets).
pub fn credentials(registry: &str) -> RegistryAuth {
    let servers: Vec<String> = if registry == "docker.io" {
        vec![
            "https://index.docker.io/v1/".into(),
            "docker.io".into(),
            "index.docker.io".into(),
        ]
    } else {
        vec![registry.to_string(), format!("https://{registry}")]
    };
    if let Some(file) = std::env::var_os("REGISTRY_AUTH_FILE") {
        let path = std::path::PathBuf::from(file);
        match std::fs::read(&path) {
            Ok(bytes) => {
                if let Some(auth) = credentials_in(&path, &bytes, &servers) {
                    return auth;
                }
            }
            Err(e) => tracing::warn!(file = %path.display(), error = %e,
                "cannot read REGISTRY_AUTH_FILE; its credentials are not used"),
        }
    }
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".docker")));
    let Some(path) = dir.map(|d| d.join("config.json")) else {
        return RegistryAuth::Anonymous;
    };
    match std::fs::read(&path) {
        Ok(bytes) => credentials_in(&path, &bytes, &servers).unwrap_or(RegistryAuth::Anonymous),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => RegistryAuth::Anonymous,
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e,
                "cannot read the Docker config; its credentials are not used");
            RegistryAuth::Anonymous
        }
    }
}

/// The credentials the Docker config `bytes` (read from `path`) holds for the first of
/// `servers` it knows; `None` (with a warning saying why, when something failed) otherwise.
fn credentials_in(
    path: &std::path::Path,
    bytes: &[u8],
    servers: &[String],
) -> Option<RegistryAuth> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential as C};
    for server in servers {
        let why = match docker_credential::get_credential_from_reader(bytes, server) {
            Ok(C::UsernamePassword(u, p)) => return Some(RegistryAuth::Basic(u, p)),
            Ok(C::IdentityToken(t)) => return Some(RegistryAuth::Bearer(t)),
            Err(E::NoCredentialConfigured) => continue,
            // The helper protocol's answer for a server it holds nothing for.
            Err(E::HelperFailure { stdout, .. })
                if stdout
                    .to_ascii_lowercase()
                    .contains("credentials not found") =>
            {
                continue
            }
            Err(E::ConfigReadError | E::ConfigNotFound) => {
                "it is not a valid Docker config (JSON)".to_string()
            }
            Err(E::HelperFailure { helper, .. }) => {
                format!("credential helper {helper} failed (its output is not shown)")
            }
            Err(E::HelperCommunicationError) => format!(
                "credential helper {} cannot be run (is it on PATH?)",
                helper_of(bytes, server)
            ),
            Err(E::MalformedHelperResponse) => format!(
                "credential helper {} answered with malformed JSON",
                helper_of(bytes, server)
            ),
            Err(E::CredentialDecodingError) => {
                "its auth is not base64 of user:password".to_string()
            }
            Err(E::CredentialMismatchError) => {
                "its auth does not match its username and password".to_string()
            }
        };
        tracing::warn!(file = %path.display(), %server, "no credentials for the registry: {why}");
        return None;
    }
    None
}

/// The credential helper program a Docker config names for `server` (`credHelpers`, else
/// `credsStore`), for messages.
fn helper_of(config: &[u8], server: &str) -> String {
    let doc: serde_json::Value = serde_json::from_slice(config).unwrap_or_default();
    let name = doc
        .get("credHelpers")
        .and_then(|h| h.get(server))
        .or_else(|| doc.get("credsStore"))
        .and_then(|v| v.as_str())
        .unwrap_or("?");
    format!("docker-credential-{name}")
}

/// `image` as `oci-client` addresses it, on `registry`: built from the parts our own parser
/// already checked (parsing the string again through oci-spec's reference regex costs more
/// than a request's worth of CPU the first time, for the same result).
pub(crate) fn oci_reference(registry: String, image: &ImageRef) -> Reference {
    let repository = image.repository().to_string();
    match (image.tag(), image.digest()) {
        (Some(t), Some(d)) => {
            Reference::with_tag_and_digest(registry, repository, t.to_string(), d.to_string())
        }
        (None, Some(d)) => Reference::with_digest(registry, repository, d.to_string()),
        (Some(t), None) => Reference::with_tag(registry, repository, t.to_string()),
        (None, None) => Reference::with_tag(registry, repository, "latest".to_string()),
    }
}

/// Checks a manifest body against the `Docker-Content-Digest` header and the digest the
/// reference pins, each with its own algorithm (`sha256` or `sha512`): the digest to record
/// (the pin when there is one, else the body's sha256), or why the answer is refused.
pub fn verify_body(
    reference: &str,
    body: &[u8],
    header: Option<&str>,
    pinned: Option<&Digest>,
) -> Result<Digest, RegistryError> {
    let invalid = |detail: String| RegistryError::Invalid {
        reference: reference.to_string(),
        detail,
    };
    if let Some(h) = header {
        let claimed = Digest::parse(h.trim())
            .map_err(|e| invalid(format!("Docker-Content-Digest {h:?}: {e}")))?;
        if let Some(actual) = Digest::of(claimed.algorithm(), body) {
            if actual != claimed {
                return Err(invalid(format!(
                    "Docker-Content-Digest {claimed} does not match the body ({actual})"
                )));
            }
        }
    }
    if let Some(pin) = pinned {
        match Digest::of(pin.algorithm(), body) {
            Some(actual) if actual == *pin => return Ok(pin.clone()),
            Some(actual) => {
                return Err(invalid(format!(
                    "served manifest {actual} does not match the pinned digest {pin}"
                )))
            }
            None => {}
        }
    }
    Ok(Digest::sha256_of(body))
}

/// Whether a cached answer agrees with the digest `image` pins (an answer for a pinned
/// reference records the pin): one that does not is ignored, as a fresh one would be refused.
fn agrees_with_pin(image: &ImageRef, hit: &Resolved) -> bool {
    let ok = image
        .digest()
        .is_none_or(|pin| !pin.is_registered() || *pin == hit.resolution.digest);
    if !ok {
        tracing::warn!(reference = %image.normalized(), cached = %hit.resolution.digest,
            "the cached answer contradicts the reference's digest; asking the registry");
    }
    ok
}

/// Whether a failure is worth retrying: rate limits, server errors and transport failures.
fn transient(e: &oci_client::errors::OciDistributionError) -> bool {
    use oci_client::errors::OciDistributionError as E;
    match e {
        E::ServerError { code, .. } => *code == 429 || *code >= 500,
        E::RequestError(_) | E::IoError(_) => true,
        // A body cut short fails the digest check or JSON parsing: fetch it again.
        E::DigestError(_) | E::ManifestParsingError(_) | E::JsonError(_) => true,
        E::RegistryError { envelope, .. } => envelope.errors.iter().any(|x| {
            let c = format!("{:?}", x.code).to_ascii_lowercase();
            c.contains("toomanyrequests") || c.contains("unavailable")
        }),
        _ => false,
    }
}

fn classify(reference: &str, e: oci_client::errors::OciDistributionError) -> RegistryError {
    use oci_client::errors::OciDistributionError as E;
    let reference = reference.to_string();
    match e {
        E::ImageManifestNotFoundError(_) => RegistryError::NotFound { reference },
        E::AuthenticationFailure(d) => RegistryError::Denied {
            reference,
            detail: d,
        },
        E::UnauthorizedError { .. } => RegistryError::Denied {
            reference,
            detail: "unauthorized".into(),
        },
        E::ServerError { code: 404, .. } => RegistryError::NotFound { reference },
        E::ServerError { code, .. } if code == 401 || code == 403 => RegistryError::Denied {
            reference,
            detail: format!("HTTP {code}"),
        },
        E::RegistryError { envelope, .. } => {
            let codes: Vec<String> = envelope
                .errors
                .iter()
                .map(|x| format!("{:?}", x.code))
                .collect();
            let joined = codes.join(", ");
            if joined.contains("Unknown") {
                RegistryError::NotFound { reference }
            } else if joined.contains("Unauthorized") || joined.contains("Denied") {
                RegistryError::Denied {
                    reference,
                    detail: joined,
                }
            } else {
                RegistryError::Network {
                    reference,
                    detail: joined,
                }
            }
        }
        E::DigestError(d) => RegistryError::Invalid {
            reference,
            detail: d.to_string(),
        },
        E::ManifestParsingError(d) | E::SpecViolationError(d) => RegistryError::Invalid {
            reference,
            detail: d,
        },
        other => RegistryError::Network {
            reference,
            detail: other.to_string(),
        },
    }
}

/// Exponential backoff with full jitter: a random delay in [d/2, d] for d = base × 2^attempt,
/// capped at 10 s.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let d = base
        .saturating_mul(1u32 << attempt.min(16))
        .min(Duration::from_secs(10));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    let jitter = f64::from(nanos % 1000) / 1000.0;
    d.mul_f64(0.5 + jitter / 2.0)
}

/// What the registry says about one reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Digest, media type, size and platforms of the manifest the reference names.
    pub resolution: Resolution,
    /// For a `tag@digest` reference whose tag now points elsewhere: the tag's current digest.
    /// This is drift to report; the pinned digest stays what the BOM records.
    pub tag_moved_to: Option<Digest>,
}

/// Resolves references against their registries.
///
/// Every manifest request is one `GET` with reqwest, which sees the response headers
/// (`Retry-After`, `Docker-Content-Digest`, `WWW-Authenticate`): `GET /v2/` is asked once per
/// registry and its challenge, if any, remembered; registries that need no token then get
/// one `GET` per reference, bearer-token registries one token request per repository scope
/// (cached; see [`crate::auth`]) and one `GET` per reference, basic-auth registries the
/// credentials with each `GET`. Only a Docker config identity token (an OAuth2 refresh token)
/// goes through `oci-client`, which implements that exchange.
pub struct Resolver {
    /// `oci-client`, built on first use: only identity tokens and the referrers fallback
    /// need it, and building it loads the CA bundle again.
    client: Arc<std::sync::OnceLock<Client>>,
    http: reqwest::Client,
    open: Arc<tokio::sync::Mutex<BTreeMap<String, Arc<tokio::sync::OnceCell<bool>>>>>,
    auth: Arc<crate::auth::AuthState>,
    /// Credentials per registry, looked up once per run (a Docker config read, or a
    /// credential helper run, per image would cost more than the request).
    creds: Arc<std::sync::Mutex<BTreeMap<String, RegistryAuth>>>,
    pub(crate) options: RegistryOptions,
}

/// A slot under the overall and the per-registry request bounds of one batch.
pub(crate) struct Gate {
    all: Arc<tokio::sync::Semaphore>,
    registry: Arc<tokio::sync::Semaphore>,
}

impl Gate {
    /// Waits for room under both bounds; the slot is held until the returned permits drop.
    pub(crate) async fn enter(&self) -> impl Sized {
        let registry = self.registry.clone().acquire_owned().await;
        let all = self.all.clone().acquire_owned().await;
        (registry, all)
    }
}

/// One attempt of a direct request.
pub(crate) enum Attempt<T> {
    Done(T),
    /// Transient failure: retry after the server's `Retry-After`, if it gave one.
    Retry(Option<Duration>, String),
    Fail(RegistryError),
}

/// Reads a manifest body, failing as soon as it passes [`MAX_MANIFEST_BYTES`] (announced or
/// actual length), so a hostile registry cannot exhaust memory.
pub(crate) async fn read_bounded<T>(
    key: &str,
    mut resp: reqwest::Response,
) -> Result<Vec<u8>, Attempt<T>> {
    let too_large = |n: u64| {
        Attempt::Fail(RegistryError::Invalid {
            reference: key.to_string(),
            detail: format!(
                "manifest of {n} bytes or more is larger than the limit of {MAX_MANIFEST_BYTES} bytes (MAX_MANIFEST_BYTES)"
            ),
        })
    };
    if let Some(n) = resp
        .content_length()
        .filter(|&n| n > MAX_MANIFEST_BYTES as u64)
    {
        return Err(too_large(n));
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if body.len() + c.len() > MAX_MANIFEST_BYTES {
                    return Err(too_large((body.len() + c.len()) as u64));
                }
                body.extend_from_slice(&c);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                let detail = format!("reading the body: {}", crate::net::describe_request(&e));
                return Err(Attempt::Retry(None, detail));
            }
        }
    }
}

pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s.min(60)))
}

impl Resolver {
    /// A resolver with `options`.
    ///
    /// # Panics
    /// When no HTTP client can be built (no CA certificates in the system store): use
    /// [`Resolver::try_new`] to get that as an error.
    pub fn new(options: RegistryOptions) -> Resolver {
        match Resolver::try_new(options) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    /// A resolver with `options`; an error (not a panic) when no HTTP client can be built, as
    /// when the system has no CA certificates (a `scratch` image without a CA bundle).
    pub fn try_new(options: RegistryOptions) -> std::io::Result<Resolver> {
        let failed = |e: String| {
            std::io::Error::other(format!(
                "cannot set up the registry client: {e} (are CA certificates installed, e.g. /etc/ssl/certs/ca-certificates.crt?)"
            ))
        };
        let http = crate::net::client(options.timeout).map_err(failed)?;
        Ok(Resolver {
            client: Arc::default(),
            http,
            open: Arc::default(),
            auth: Arc::new(crate::auth::AuthState::new(options.insecure.clone())),
            creds: Arc::default(),
            options,
        })
    }

    /// The `oci-client` client, built on first use.
    pub(crate) fn oci(&self, reference: &str) -> Result<&Client, RegistryError> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(self.options.insecure.clone()),
            read_timeout: Some(self.options.timeout),
            connect_timeout: Some(self.options.timeout),
            ..ClientConfig::default()
        };
        let built = Client::try_from(config).map_err(|e| RegistryError::Network {
            reference: reference.to_string(),
            detail: format!("cannot set up the registry client: {e}"),
        })?;
        Ok(self.client.get_or_init(|| built))
    }

    pub(crate) fn scheme(&self, host: &str) -> &'static str {
        if self.options.insecure.iter().any(|h| h == host) {
            "http"
        } else {
            "https"
        }
    }

    /// Whether `host` serves `/v2/` without a challenge; asked once per registry. A
    /// challenge it answers with is remembered for the direct path's authentication.
    pub(crate) async fn is_open(&self, host: &str) -> bool {
        let cell = self
            .open
            .lock()
            .await
            .entry(host.to_string())
            .or_default()
            .clone();
        *cell
            .get_or_init(|| async {
                let url = format!("{}://{host}/v2/", self.scheme(host));
                match self.http.get(&url).send().await {
                    Ok(r) if r.status().is_success() => true,
                    Ok(r) => {
                        if let Some(c) = r
                            .headers()
                            .get(reqwest::header::WWW_AUTHENTICATE)
                            .and_then(|v| v.to_str().ok())
                            .and_then(crate::auth::parse_challenge)
                        {
                            self.auth.set_challenge(host, c);
                        }
                        false
                    }
                    Err(_) => false,
                }
            })
            .await
    }

    /// One direct request with retries; `f` turns a response into an attempt.
    pub(crate) async fn direct<T, F, Fut>(&self, key: &str, mut f: F) -> Result<T, RegistryError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Attempt<T>>,
    {
        let mut attempt = 0;
        loop {
            match f().await {
                Attempt::Done(t) => return Ok(t),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(after, detail) => {
                    if attempt >= self.options.retries {
                        return Err(RegistryError::Network {
                            reference: key.to_string(),
                            detail,
                        });
                    }
                    let delay = after.unwrap_or_else(|| backoff(self.options.backoff, attempt));
                    tracing::debug!(reference = %key, attempt, ?delay, %detail, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    /// `GET` (or `HEAD`) of a manifest on an open registry: body and `Docker-Content-Digest`.
    pub(crate) async fn direct_manifest(
        &self,
        key: &str,
        reference: &Reference,
        head: bool,
    ) -> Result<(Vec<u8>, Option<String>), RegistryError> {
        let host = reference.resolve_registry();
        let target = reference
            .digest()
            .or(reference.tag())
            .unwrap_or("latest")
            .to_string();
        let url = format!(
            "{}://{host}/v2/{}/manifests/{target}",
            self.scheme(host),
            reference.repository()
        );
        self.direct_get(key, &url, head).await
    }

    /// `GET` (or `HEAD`) of `url` on an open registry with the manifest `Accept` list, with
    /// retries: body and `Docker-Content-Digest`. 404 is [`RegistryError::NotFound`].
    pub(crate) async fn direct_get(
        &self,
        key: &str,
        url: &str,
        head: bool,
    ) -> Result<(Vec<u8>, Option<String>), RegistryError> {
        self.direct(key, || self.attempt_get(key, url, head)).await
    }

    /// One attempt of [`Resolver::direct_get`], authenticated as the registry asks: with what
    /// its known challenge calls for (see [`crate::auth`]); on a 401 the new challenge is
    /// remembered (a refused token forgotten) and the request sent once more.
    async fn attempt_get(
        &self,
        key: &str,
        url: &str,
        head: bool,
    ) -> Attempt<(Vec<u8>, Option<String>)> {
        let host = crate::auth::host_of(url);
        let scope = crate::auth::scope_of(url);
        let mut round = 0;
        let resp = loop {
            let authz = match self
                .auth
                .authorization(&self.http, key, host, scope.as_deref())
                .await
            {
                Ok(a) => a,
                Err(a) => return a,
            };
            let mut req = if head {
                self.http.head(url)
            } else {
                self.http.get(url)
            };
            if let Some(a) = &authz {
                req = a.apply(req);
            }
            let resp = match req
                .header(reqwest::header::ACCEPT, ACCEPT.join(", "))
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) if e.is_redirect() => {
                    return Attempt::Fail(RegistryError::Network {
                        reference: key.to_string(),
                        detail: format!("more than {MAX_REDIRECTS} redirects (MAX_REDIRECTS)"),
                    })
                }
                Err(e) => return Attempt::Retry(None, crate::net::describe_request(&e)),
            };
            let challenge = resp
                .headers()
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(crate::auth::parse_challenge);
            match challenge {
                Some(c) if resp.status() == 401 && round == 0 => {
                    self.auth.set_challenge(host, c);
                    if let Some(a) = &authz {
                        self.auth
                            .forget(host, scope.as_deref().unwrap_or(""), a)
                            .await;
                    }
                    round += 1;
                }
                _ => break resp,
            }
        };
        let status = resp.status();
        let digest = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match status.as_u16() {
            200 => match read_bounded(key, resp).await {
                Ok(b) => Attempt::Done((b, digest)),
                Err(a) => a,
            },
            404 => Attempt::Fail(RegistryError::NotFound {
                reference: key.to_string(),
            }),
            401 | 403 => Attempt::Fail(RegistryError::Denied {
                reference: key.to_string(),
                detail: format!("HTTP {status}"),
            }),
            429 | 500..=599 => {
                Attempt::Retry(retry_after(resp.headers()), format!("HTTP {status}"))
            }
            _ => Attempt::Fail(RegistryError::Network {
                reference: key.to_string(),
                detail: format!("HTTP {status}"),
            }),
        }
    }

    /// Retries `op` on transient failures with backoff; maps the final error.
    pub(crate) async fn with_retries<T, F, Fut>(
        &self,
        key: &str,
        mut op: F,
    ) -> Result<T, RegistryError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, oci_client::errors::OciDistributionError>>,
    {
        let mut attempt = 0;
        loop {
            let answer = match crate::net::within(self.options.timeout, op()).await {
                Ok(a) => a,
                Err(detail) if attempt < self.options.retries => {
                    let delay = backoff(self.options.backoff, attempt);
                    tracing::debug!(reference = %key, attempt, ?delay, %detail, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                    continue;
                }
                Err(detail) => {
                    return Err(RegistryError::Network {
                        reference: key.to_string(),
                        detail,
                    })
                }
            };
            match answer {
                Ok(ok) => return Ok(ok),
                Err(e) if attempt < self.options.retries && transient(&e) => {
                    let delay = backoff(self.options.backoff, attempt);
                    tracing::debug!(reference = %key, attempt, ?delay, error = %e, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(e) => return Err(classify(key, e)),
            }
        }
    }

    /// The reference to ask for `image`: on its mirror when one is configured (a mirror
    /// answers for its canonical registry; errors and the lock keep the canonical name).
    pub(crate) fn queried(&self, image: &ImageRef) -> Result<Reference, RegistryError> {
        let registry = match self.options.mirrors.get(image.registry()) {
            Some(m) => m.clone(),
            None => image.registry().to_string(),
        };
        Ok(oci_reference(registry, image))
    }

    /// [`credentials`] for `registry`, looked up on first use and remembered.
    fn credentials_for(&self, registry: &str) -> RegistryAuth {
        let cached = self
            .creds
            .lock()
            .ok()
            .and_then(|m| m.get(registry).cloned());
        if let Some(auth) = cached {
            return auth;
        }
        let auth = credentials(registry);
        if let Ok(mut m) = self.creds.lock() {
            m.insert(registry.to_string(), auth.clone());
        }
        auth
    }

    /// The credentials for `reference`'s registry, and whether it is asked directly (with
    /// reqwest, authenticating as its challenge asks) rather than through `oci-client`.
    pub(crate) async fn access(&self, reference: &Reference) -> (RegistryAuth, bool) {
        let auth = self.credentials_for(reference.registry());
        // An identity token needs the OAuth2 exchange `oci-client` implements; everything
        // else (anonymous, basic, bearer tokens for them) goes the direct way.
        if matches!(auth, RegistryAuth::Bearer(_)) {
            return (auth, false);
        }
        let host = reference.resolve_registry();
        self.auth.set_creds(host, &auth);
        // The probe remembers the registry's challenge, so the first request is authenticated.
        self.is_open(host).await;
        (auth, true)
    }

    /// Resolves one reference: its digest, media type, size and platforms; for a
    /// `tag@digest` reference, also whether the tag has moved.
    pub async fn resolve(&self, image: &ImageRef) -> Result<Resolved, RegistryError> {
        let key = image.normalized();
        let reference = self.queried(image)?;
        let (auth, open) = self.access(&reference).await;
        let invalid = |detail: String| RegistryError::Invalid {
            reference: key.clone(),
            detail,
        };
        let (body, header_digest) = if open {
            self.direct_manifest(&key, &reference, false).await?
        } else {
            let client = self.oci(&key)?;
            let (b, d) = self
                .with_retries(&key, || {
                    client.pull_manifest_raw(&reference, &auth, &ACCEPT)
                })
                .await?;
            (b.to_vec(), Some(d))
        };
        let digest = verify_body(&key, &body, header_digest.as_deref(), image.digest())?;
        let resolution = describe_manifest(&key, &body, digest)?;
        let tag_moved_to = match (image.tag(), image.digest()) {
            (Some(tag), Some(pinned)) => {
                let tagged = format!("{}/{}:{tag}", reference.registry(), reference.repository());
                let tag_ref: Reference = tagged.parse().map_err(|e| RegistryError::Invalid {
                    reference: tagged.clone(),
                    detail: format!("{e}"),
                })?;
                let now = if open {
                    let head = match pinned.is_sha256() {
                        true => self.direct_manifest(&key, &tag_ref, true).await?.1,
                        false => None,
                    };
                    match head {
                        Some(d) => d,
                        None => {
                            let (b, _) = self.direct_manifest(&key, &tag_ref, false).await?;
                            Digest::of(pinned.algorithm(), &b)
                                .unwrap_or_else(|| Digest::sha256_of(&b))
                                .to_string()
                        }
                    }
                } else {
                    let client = self.oci(&key)?;
                    self.with_retries(&key, || client.fetch_manifest_digest(&tag_ref, &auth))
                        .await?
                };
                let now = Digest::parse(&now).map_err(|e| invalid(e.to_string()))?;
                (now != *pinned).then_some(now)
            }
            _ => None,
        };
        Ok(Resolved {
            resolution,
            tag_moved_to,
        })
    }

    /// Resolves every reference with bounded concurrency; results keyed by normalised form.
    /// `progress` is called with each reference as it finishes.
    pub async fn resolve_all(
        &self,
        images: &[ImageRef],
        progress: Option<Progress>,
    ) -> BTreeMap<String, Result<Resolved, RegistryError>> {
        let items = images
            .iter()
            .map(|i| (i.normalized(), i.registry().to_string(), i.clone()))
            .collect();
        // Answers go to the cache from one writer thread: a file per answer, written off the
        // runtime's workers (and without a blocking-pool thread per answer), finished before
        // this returns.
        let writer = self.options.cache.clone().map(|cache| {
            let (tx, rx) = std::sync::mpsc::channel::<(String, Resolved)>();
            let thread = std::thread::Builder::new()
                .name("imagebom-cache".into())
                .spawn(move || {
                    for (key, r) in rx {
                        cache.put(&key, &r);
                    }
                });
            (tx, thread)
        });
        let to_cache = writer
            .as_ref()
            .and_then(|(tx, t)| t.is_ok().then(|| tx.clone()));
        let out = self
            .bounded(items, move |me, gate, image: ImageRef| {
                let progress = progress.clone();
                let to_cache = to_cache.clone();
                async move {
                    let key = image.normalized();
                    let immutable = image.tag().is_none() && image.digest().is_some();
                    let cached = me
                        .options
                        .cache
                        .as_ref()
                        .filter(|c| c.may_hit(immutable))
                        .and_then(|c| c.get(&key, immutable));
                    let r = match cached.filter(|hit| agrees_with_pin(&image, hit)) {
                        Some(hit) => Ok(hit),
                        None => {
                            let r = {
                                let _slot = gate.enter().await;
                                me.resolve(&image).await
                            };
                            if let Ok(ok) = &r {
                                match (&to_cache, &me.options.cache) {
                                    (Some(tx), _) => {
                                        let _ = tx.send((key.clone(), ok.clone()));
                                    }
                                    // No writer thread could start: write here, as before.
                                    (None, Some(c)) => c.put(&key, ok),
                                    (None, None) => {}
                                }
                            }
                            r
                        }
                    };
                    if let Some(p) = progress {
                        p(&key);
                    }
                    r
                }
            })
            .await;
        if let Some((tx, Ok(thread))) = writer {
            drop(tx);
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        out
    }

    /// Runs `job` once per distinct key of `items` (`(key, registry, item)`), each task given
    /// a [`Gate`] for the overall (`--concurrency`) and per-registry (`--per-registry`) bounds;
    /// results keyed by `key`.
    pub(crate) async fn bounded<I, R, F, Fut>(
        &self,
        items: Vec<(String, String, I)>,
        job: F,
    ) -> BTreeMap<String, R>
    where
        I: Send + 'static,
        R: Send + 'static,
        F: Fn(Arc<Resolver>, Gate, I) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = R> + Send + 'static,
    {
        let all = Arc::new(tokio::sync::Semaphore::new(self.options.concurrency.max(1)));
        let mut per_registry: BTreeMap<String, Arc<tokio::sync::Semaphore>> = BTreeMap::new();
        let mut set = tokio::task::JoinSet::new();
        let me = Arc::new(Resolver {
            client: self.client.clone(),
            http: self.http.clone(),
            open: self.open.clone(),
            auth: self.auth.clone(),
            creds: self.creds.clone(),
            options: self.options.clone(),
        });
        let job = Arc::new(job);
        let mut seen = std::collections::BTreeSet::new();
        for (key, registry, item) in items {
            if !seen.insert(key.clone()) {
                continue;
            }
            let gate = Gate {
                all: all.clone(),
                registry: per_registry
                    .entry(registry)
                    .or_insert_with(|| {
                        Arc::new(tokio::sync::Semaphore::new(
                            self.options.per_registry.max(1),
                        ))
                    })
                    .clone(),
            };
            let (me, job) = (me.clone(), job.clone());
            set.spawn(async move { (key, job(me, gate, item).await) });
        }
        let mut out = BTreeMap::new();
        while let Some(res) = set.join_next().await {
            if let Ok((k, r)) = res {
                out.insert(k, r);
            }
        }
        out
    }
}

/// A callback told of each finished reference (for progress bars).
pub type Progress = Arc<dyn Fn(&str) + Send + Sync>;

/// [`Resolver::resolve_all`] on a fresh runtime, for synchronous callers.
pub fn resolve_blocking(
    images: &[ImageRef],
    options: RegistryOptions,
    progress: Option<Progress>,
) -> std::io::Result<BTreeMap<String, Result<Resolved, RegistryError>>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let resolver = Resolver::try_new(options)?;
    Ok(rt.block_on(resolver.resolve_all(images, progress)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference built from our parsed parts is the one oci-spec parses from the text.
    #[test]
    fn oci_reference_equals_the_parsed_one() {
        for text in [
            "nginx",
            "nginx:1.27",
            "library/nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "ghcr.io/org/sub/app:v1@sha256:1111111111111111111111111111111111111111111111111111111111111111",
            "localhost:5000/a/b:c",
            "registry.k8s.io/ingress-nginx/controller:v1.11.2",
            "127.0.0.1:41234/bench/multi:t7",
        ] {
            let image: ImageRef = text.parse().unwrap();
            let parsed: Reference = image.normalized().parse().unwrap();
            let built = oci_reference(image.registry().to_string(), &image);
            assert_eq!(built.whole(), parsed.whole(), "{text}");
            assert_eq!(built.registry(), parsed.registry(), "{text}");
            assert_eq!(built.resolve_registry(), parsed.resolve_registry(), "{text}");
            assert_eq!(built.repository(), parsed.repository(), "{text}");
            assert_eq!(built.tag(), parsed.tag(), "{text}");
            assert_eq!(built.digest(), parsed.digest(), "{text}");
        }
    }

    /// sha512 digests (allowed by the OCI image spec) are checked with sha512: the FIPS 180-2
    /// test vector of "abc".
    #[test]
    fn digests_are_verified_with_their_own_algorithm() {
        let abc512 = "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
        let pin = Digest::parse(abc512).unwrap();
        assert_eq!(
            verify_body("r", b"abc", Some(abc512), Some(&pin)).unwrap(),
            pin
        );
        let plain = verify_body("r", b"abc", Some(abc512), None).unwrap();
        assert_eq!(plain, Digest::sha256_of(b"abc"));
        let e = verify_body("r", b"abd", Some(abc512), None).unwrap_err();
        assert!(e.to_string().contains("does not match the body"), "{e}");
        let e = verify_body("r", b"abd", None, Some(&pin)).unwrap_err();
        assert!(e.to_string().contains("pinned digest"), "{e}");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = Duration::from_millis(100);
        for attempt in 0..20 {
            let d = backoff(b, attempt);
            let full = b
                .saturating_mul(1 << attempt.min(16))
                .min(Duration::from_secs(10));
            assert!(d >= full / 2 && d <= full, "{attempt}: {d:?}");
        }
    }

    #[test]
    fn describes_an_index_with_platforms() {
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":1,"platform":{"os":"linux","architecture":"amd64"}},
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:3333333333333333333333333333333333333333333333333333333333333333","size":1,"platform":{"os":"unknown","architecture":"unknown"}}]}"#;
        let d = Digest::sha256_of(body);
        let r = describe_manifest("x", body, d.clone()).unwrap();
        assert_eq!(r.digest, d);
        assert_eq!(r.media_type.as_deref(), Some(ACCEPT[0]));
        let specs: Vec<String> = r.platforms.iter().map(|p| p.spec()).collect();
        assert_eq!(specs, ["linux/amd64", "linux/arm64/v8"]);
        assert_eq!(r.size, Some(body.len() as u64));
    }

    #[test]
    fn describes_an_artifact_and_rejects_junk() {
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.example.sbom+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":2},"layers":[]}"#;
        let r = describe_manifest("x", body, Digest::sha256_of(body)).unwrap();
        assert_eq!(
            r.artifact_type.as_deref(),
            Some("application/vnd.example.sbom+json")
        );
        assert!(r.platforms.is_empty());
        let e = describe_manifest("x", b"<html>", Digest::sha256_of(b"")).unwrap_err();
        assert!(matches!(e, RegistryError::Invalid { .. }));
    }
}
