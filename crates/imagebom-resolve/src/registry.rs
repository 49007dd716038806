//! Resolution against OCI registries (Distribution API) through the one registry client,
//! [`imagebom_registry::Client`] (credentials, the bearer-token flow, retries, deadlines,
//! typed errors; see that crate).
//!
//! For each reference one `GET` of the manifest with the full `Accept` list (OCI index, OCI
//! manifest, Docker manifest list, Docker v2 manifest): the body gives the media type and, for an
//! index, every platform, so a tag costs one request once the registry's token is cached. The
//! sha256 of the body is computed and must equal both the `Docker-Content-Digest` header
//! and any digest the reference pins — a registry that lies
//! gets an error, never a wrong digest in the BOM.
//!
//! Credentials come from the Docker config (`$DOCKER_CONFIG/config.json` or
//! `~/.docker/config.json`: `auths`, `credsStore`, `credHelpers`) or `REGISTRY_AUTH_FILE`
//! ([`imagebom_registry::creds`]); anonymous (with the bearer-token flow) otherwise. They
//! never appear in errors or logs.

use imagebom_model::{Digest, ImageRef, Platform, Resolution, ResolutionSource};
use imagebom_registry::{Client, ClientOptions, ErrorKind, Reference, Repository, RetryPolicy};
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
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

pub use imagebom_registry::MAX_REDIRECTS;

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
            provenance: None,
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

/// Checks a manifest body against the `Docker-Content-Digest` header and the digest the
/// reference pins, each with its own algorithm (`sha256` or `sha512`): the digest to record
/// (the pin when there is one, else the body's sha256), or why the answer is refused
/// ([`imagebom_registry::verify_manifest`]).
pub fn verify_body(
    reference: &str,
    body: &[u8],
    header: Option<&str>,
    pinned: Option<&Digest>,
) -> Result<Digest, RegistryError> {
    imagebom_registry::verify_manifest(reference, body, header, pinned)
        .map_err(|e| convert(reference, e))
}

/// The registry client's error for `reference` as this crate's [`RegistryError`] (named by
/// `reference`, the canonical name, even when a mirror answered).
pub fn convert(reference: &str, e: imagebom_registry::RegistryError) -> RegistryError {
    let reference = reference.to_string();
    match e.kind {
        ErrorKind::NotFound { .. } => RegistryError::NotFound { reference },
        ErrorKind::Denied { detail } => RegistryError::Denied { reference, detail },
        ErrorKind::Insecure { detail } => RegistryError::Insecure { reference, detail },
        k @ (ErrorKind::TooLarge { .. }
        | ErrorKind::DigestMismatch { .. }
        | ErrorKind::Invalid { .. }) => RegistryError::Invalid {
            reference,
            detail: k.to_string(),
        },
        k @ (ErrorKind::Http { .. } | ErrorKind::Network { .. } | ErrorKind::TooManyRedirects) => {
            RegistryError::Network {
                reference,
                detail: k.to_string(),
            }
        }
    }
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
/// Every manifest request is one `GET` through the registry client, which asks `GET /v2/`
/// once per registry and remembers its challenge: registries that need no token then get
/// one `GET` per reference, bearer-token registries one token request per repository scope
/// (cached) and one `GET` per reference, basic-auth registries the credentials with each `GET`.
pub struct Resolver {
    pub(crate) client: Client,
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
        let client = Client::new(ClientOptions {
            timeout: options.timeout,
            retry: RetryPolicy {
                retries: options.retries,
                backoff: options.backoff,
                ..RetryPolicy::default()
            },
            insecure: options.insecure.clone(),
            ..ClientOptions::default()
        })
        .map_err(|e| std::io::Error::other(e.kind.to_string()))?;
        Ok(Resolver { client, options })
    }

    /// The repository to ask for `image`: on its mirror when one is configured (a mirror
    /// answers for its canonical registry; errors and the lock keep the canonical name).
    /// A mirror `host[:port]/prefix` holds the repository under `prefix/` (the layout
    /// `skopeo sync --scoped` writes with the registry as prefix).
    pub(crate) fn queried(&self, image: &ImageRef) -> Repository {
        let Some(m) = self.options.mirrors.get(image.registry()) else {
            return Repository::new(image.registry(), image.repository());
        };
        let m = m.trim_end_matches('/');
        match m.split_once('/') {
            None => Repository::new(m, image.repository()),
            Some((host, prefix)) => {
                Repository::new(host, format!("{prefix}/{}", image.repository()))
            }
        }
    }

    /// Resolves one reference: its digest, media type, size and platforms; for a
    /// `tag@digest` reference, also whether the tag has moved.
    pub async fn resolve(&self, image: &ImageRef) -> Result<Resolved, RegistryError> {
        let key = image.normalized();
        let repository = self.queried(image);
        let reference = Reference {
            repository: repository.clone(),
            tag: image.tag().map(str::to_string),
            digest: image.digest().cloned(),
        };
        let m = self
            .client
            .manifest(&reference, &ACCEPT, MAX_MANIFEST_BYTES as u64)
            .await
            .map_err(|e| convert(&key, e))?;
        let resolution = describe_manifest(&key, &m.bytes, m.digest)?;
        let tag_moved_to = match (image.tag(), image.digest()) {
            (Some(tag), Some(pinned)) => {
                let tagged = Reference {
                    repository,
                    tag: Some(tag.to_string()),
                    digest: None,
                };
                let now = self.current_digest(&key, &tagged, pinned).await?;
                (now != *pinned).then_some(now)
            }
            _ => None,
        };
        Ok(Resolved {
            resolution,
            tag_moved_to,
        })
    }

    /// The digest `tagged` names now, in `pinned`'s algorithm: the `HEAD`'s
    /// `Docker-Content-Digest` for sha256, else the digest of the body.
    async fn current_digest(
        &self,
        key: &str,
        tagged: &Reference,
        pinned: &Digest,
    ) -> Result<Digest, RegistryError> {
        if pinned.is_sha256() {
            let head = self
                .client
                .head_manifest(tagged, &ACCEPT)
                .await
                .map_err(|e| convert(key, e))?;
            if let Some(d) = head.digest {
                return Ok(d);
            }
        }
        let m = self
            .client
            .manifest(tagged, &ACCEPT, MAX_MANIFEST_BYTES as u64)
            .await
            .map_err(|e| convert(key, e))?;
        Ok(Digest::of(pinned.algorithm(), &m.bytes).unwrap_or(m.digest))
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
    pub(crate) async fn bounded<K, I, R, F, Fut>(
        &self,
        items: Vec<(K, String, I)>,
        job: F,
    ) -> BTreeMap<K, R>
    where
        K: Ord + Clone + Send + 'static,
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

    /// A loopback registry answering `/v2/` with 200 and manifest requests with `first`
    /// once, then with a manifest; returns its host and how many manifest requests came.
    fn registry_failing_once(first: &'static str) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{BufRead, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = std::io::BufReader::new(&stream);
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let mut rest = String::new();
                while reader.read_line(&mut rest).is_ok_and(|n| n > 2) {}
                let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#;
                let answer = if line.starts_with("GET /v2/ ") {
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
                        .to_string()
                } else if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    format!("HTTP/1.1 {first}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                        body.len(),
                        String::from_utf8_lossy(body)
                    )
                };
                let _ = (&stream).write_all(answer.as_bytes());
            }
        });
        (host, count)
    }

    /// A mirror with a path holds the repositories under it (`skopeo sync --scoped`); a bare
    /// host keeps the repository path.
    #[test]
    fn mirror_with_a_path_prefixes_the_repository() {
        let mut options = RegistryOptions::default();
        options
            .mirrors
            .insert("quay.io".into(), "m.local:5000/air/quay.io".into());
        options
            .mirrors
            .insert("docker.io".into(), "m.local:5000".into());
        let r = Resolver::new(options);
        let d = format!("sha256:{}", "1".repeat(64));
        let image: ImageRef = format!("quay.io/org/app:v1@{d}").parse().unwrap();
        let q = r.queried(&image);
        assert_eq!(q.registry, "m.local:5000");
        assert_eq!(q.name, "air/quay.io/org/app");
        let image: ImageRef = "busybox".parse().unwrap();
        let q = r.queried(&image);
        assert_eq!(
            (q.registry.as_str(), q.name.as_str()),
            ("m.local:5000", "library/busybox")
        );
    }

    /// Image lookups retry 408 as chart downloads always did (one retry policy).
    #[tokio::test]
    async fn a_408_is_retried_for_images_too() {
        let (host, count) = registry_failing_once("408 Request Timeout");
        let resolver = Resolver::new(RegistryOptions {
            insecure: vec![host.clone()],
            retries: 2,
            backoff: Duration::from_millis(1),
            ..RegistryOptions::default()
        });
        let image = ImageRef::parse(&format!("{host}/team/app:1")).unwrap();
        let r = resolver.resolve(&image).await;
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    /// The registry client's typed errors keep this crate's messages.
    #[test]
    fn client_errors_keep_their_messages() {
        let e = |kind| imagebom_registry::RegistryError::new("mirror/x:1", kind);
        let nf = convert("docker.io/x:1", e(ErrorKind::NotFound { codes: vec![] }));
        assert_eq!(nf.to_string(), "docker.io/x:1: not found in the registry");
        let big = convert(
            "r/a:1",
            e(ErrorKind::TooLarge {
                what: "manifest".into(),
                size: 5,
                limit: 4,
                limit_name: "MAX_MANIFEST_BYTES",
            }),
        );
        assert_eq!(
            big.to_string(),
            "r/a:1: registry sent an invalid manifest: manifest of 5 bytes or more is larger than the limit of 4 bytes (MAX_MANIFEST_BYTES)"
        );
        let busy = convert(
            "r/a:1",
            e(ErrorKind::Http {
                status: 503,
                codes: vec![],
                retry_after: None,
            }),
        );
        assert_eq!(busy.to_string(), "r/a:1: registry request failed: HTTP 503");
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
