//! Charts in OCI registries (`oci://host/path` + chart + version), as Helm pushes them: an OCI
//! image manifest whose config is `application/vnd.cncf.helm.config.v1+json` and whose one
//! chart layer is `application/vnd.cncf.helm.chart.content.v1.tar+gzip`.

use super::{
    accept, backoff, from_cache, normalize_digest, sha256, version, ChartCache, ChartRequest,
    FetchErrorKind, FetchOptions, Fetched,
};
use imagebom_template::semver::Version;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde::Deserialize;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The config media type of a Helm chart artifact.
pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// The media type of the chart archive layer.
pub const HELM_CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// The chart layer media type of Helm 3.0–3.7's experimental OCI support (still read by Helm).
const LEGACY_CHART_LAYER: &str = "application/tar+gzip";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    #[serde(default)]
    digest: String,
    #[serde(default)]
    size: i64,
}

/// Collects a blob in memory, refusing more than `limit` bytes.
struct Limited {
    buf: Vec<u8>,
    limit: u64,
    over: bool,
}

impl tokio::io::AsyncWrite for Limited {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let me = self.get_mut();
        if (me.buf.len() + data.len()) as u64 > me.limit {
            me.over = true;
            return Poll::Ready(Err(std::io::Error::other("blob size limit reached")));
        }
        me.buf.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Whether a failure is worth retrying: rate limits, server errors, transport failures.
fn transient(e: &OciDistributionError) -> bool {
    use OciDistributionError as E;
    match e {
        E::ServerError { code, .. } => *code == 408 || *code == 429 || *code >= 500,
        E::RequestError(_) | E::IoError(_) => true,
        E::RegistryError { envelope, .. } => envelope.errors.iter().any(|x| {
            let c = format!("{:?}", x.code).to_ascii_lowercase();
            c.contains("toomanyrequests") || c.contains("unavailable")
        }),
        _ => false,
    }
}

/// Registry error codes of `e` (`ManifestUnknown`, `NameUnknown`…).
fn codes(e: &OciDistributionError) -> String {
    match e {
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .map(|x| format!("{:?}", x.code))
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

fn classify(reference: &str, e: &OciDistributionError) -> FetchErrorKind {
    use OciDistributionError as E;
    let reference = reference.to_string();
    let codes = codes(e);
    match e {
        E::AuthenticationFailure(d) => FetchErrorKind::Denied {
            reference,
            detail: d.clone(),
        },
        E::UnauthorizedError { .. } => FetchErrorKind::Denied {
            reference,
            detail: "unauthorized".into(),
        },
        E::ServerError { code, .. } if *code == 401 || *code == 403 => FetchErrorKind::Denied {
            reference,
            detail: format!("HTTP {code}"),
        },
        E::ServerError { code, .. } => FetchErrorKind::Http {
            url: reference,
            status: *code,
        },
        _ if codes.contains("Unauthorized") || codes.contains("Denied") => FetchErrorKind::Denied {
            reference,
            detail: codes,
        },
        _ => FetchErrorKind::Network {
            url: reference,
            detail: e.to_string(),
        },
    }
}

/// Whether `e` says the manifest (tag) or the repository does not exist.
fn not_found(e: &OciDistributionError) -> bool {
    let c = codes(e);
    matches!(e, OciDistributionError::ImageManifestNotFoundError(_))
        || matches!(e, OciDistributionError::ServerError { code: 404, .. })
        || c.contains("ManifestUnknown")
        || c.contains("NameUnknown")
        || c.contains("NotFound")
}

async fn with_retries<T, F, Fut>(
    opts: &FetchOptions,
    reference: &str,
    mut op: F,
) -> Result<T, OciDistributionError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, OciDistributionError>>,
{
    let mut attempt = 0;
    loop {
        // One deadline per operation, covering the whole body.
        let answer = imagebom_resolve::net::within(opts.timeout, op())
            .await
            .unwrap_or_else(|detail| {
                let timed_out = std::io::Error::new(std::io::ErrorKind::TimedOut, detail);
                Err(OciDistributionError::IoError(timed_out))
            });
        match answer {
            Ok(v) => return Ok(v),
            Err(e) if attempt < opts.retries && transient(&e) => {
                let delay = backoff(opts.backoff, attempt);
                tracing::debug!(%reference, attempt, ?delay, error = %e, "retrying");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The repository without `oci://` and trailing `/`.
fn repository_path(repository: &str) -> &str {
    let r = repository.trim();
    r.get(6..).unwrap_or("").trim_end_matches('/')
}

pub(crate) async fn fetch(
    req: &ChartRequest,
    opts: &FetchOptions,
) -> Result<Fetched, FetchErrorKind> {
    if opts.offline {
        return from_cache(req, opts);
    }
    let base = repository_path(&req.repository);
    let bad_ref = |text: &str, e: String| FetchErrorKind::BadRepository {
        detail: format!("oci://{text} is not a valid OCI reference: {e}"),
    };
    let repo_text = format!("{base}/{}", req.chart);
    let repo_ref: Reference = repo_text
        .parse()
        .map_err(|e| bad_ref(&repo_text, format!("{e}")))?;
    let client = Client::new(ClientConfig {
        protocol: ClientProtocol::HttpsExcept(opts.insecure_registries.clone()),
        read_timeout: Some(opts.timeout),
        connect_timeout: Some(opts.timeout),
        ..ClientConfig::default()
    });
    let auth = imagebom_resolve::registry::credentials(repo_ref.registry());
    let shown_repo = format!("oci://{repo_text}");
    // oci-client follows the token challenge by itself: check its realm first.
    let http = super::http::client(opts)?;
    let host = repo_ref.resolve_registry();
    imagebom_resolve::net::probe_realm(&http, host, &opts.insecure_registries)
        .await
        .map_err(|detail| FetchErrorKind::Insecure {
            reference: shown_repo.clone(),
            detail,
        })?;

    // `1.2.3@sha256:…` pins the manifest by digest, as Helm reads `chart:version@digest`.
    let (requested, pinned) = match req.version.trim().split_once('@') {
        Some((v, d)) => {
            let d = normalize_digest(d).ok_or_else(|| FetchErrorKind::BadVersion {
                detail: format!("{d:?} after '@' is not a sha256 digest"),
            })?;
            if !version::is_exact(v) {
                return Err(FetchErrorKind::BadVersion {
                    detail: format!("{v:?}: a digest-pinned chart needs an exact version"),
                });
            }
            (v.trim(), Some(d))
        }
        None => (req.version.trim(), None),
    };
    // The version: exact, or the highest tag satisfying the constraint.
    let version = if version::is_exact(requested) {
        requested.to_string()
    } else {
        let tags = list_versions(&client, &repo_ref, &auth, opts, &shown_repo).await?;
        let refs: Vec<&str> = tags.iter().map(String::as_str).collect();
        version::select(requested, &refs)
            .map_err(|detail| FetchErrorKind::BadVersion { detail })?
            .ok_or_else(|| FetchErrorKind::NoVersion {
                available: super::show_versions(&refs),
            })?
            .to_string()
    };
    // Helm tags `1.0.0+build` as `1.0.0_build` (`+` is not allowed in tags).
    let tag = version.replace('+', "_");
    let text = match &pinned {
        Some(d) => format!("{repo_text}:{tag}@{d}"),
        None => format!("{repo_text}:{tag}"),
    };
    let reference: Reference = text.parse().map_err(|e| bad_ref(&text, format!("{e}")))?;
    let shown = format!("oci://{text}");

    let manifest = match with_retries(opts, &shown, || {
        client.pull_manifest_raw(&reference, &auth, &[OCI_MANIFEST])
    })
    .await
    {
        Ok((body, _digest)) => body,
        Err(e) if not_found(&e) && pinned.is_some() => {
            return Err(FetchErrorKind::Invalid {
                location: shown,
                detail: "the registry has no manifest with this digest".into(),
            })
        }
        Err(e) if not_found(&e) => {
            let available = match list_versions(&client, &repo_ref, &auth, opts, &shown_repo).await
            {
                Ok(tags) if tags.is_empty() => {
                    return Err(FetchErrorKind::NoChart {
                        chart: req.chart.clone(),
                        location: format!("oci://{base}"),
                    })
                }
                Ok(tags) => {
                    super::show_versions(&tags.iter().map(String::as_str).collect::<Vec<_>>())
                }
                Err(_) => {
                    return Err(FetchErrorKind::NoChart {
                        chart: req.chart.clone(),
                        location: format!("oci://{base} (no tag {tag})"),
                    })
                }
            };
            return Err(FetchErrorKind::NoVersion { available });
        }
        Err(e) => return Err(classify(&shown, &e)),
    };
    let manifest_digest = sha256(&manifest);
    if let Some(pinned) = &pinned {
        if *pinned != manifest_digest {
            return Err(FetchErrorKind::DigestMismatch {
                url: shown,
                expected: pinned.clone(),
                actual: manifest_digest,
            });
        }
    }
    let not_a_chart = |detail: String| FetchErrorKind::NotAChart {
        reference: shown.clone(),
        detail,
    };
    let doc: Manifest = serde_json::from_slice(&manifest)
        .map_err(|e| not_a_chart(format!("not an OCI image manifest: {e}")))?;
    let config_type = doc.config.as_ref().map(|c| c.media_type.as_str());
    if config_type != Some(HELM_CONFIG) {
        return Err(not_a_chart(format!(
            "config media type is {:?}, not a Helm chart's {HELM_CONFIG}",
            config_type.unwrap_or("(none)")
        )));
    }
    let charts: Vec<&Descriptor> = doc
        .layers
        .iter()
        .filter(|l| l.media_type == HELM_CHART_LAYER || l.media_type == LEGACY_CHART_LAYER)
        .collect();
    let [layer] = charts.as_slice() else {
        return Err(not_a_chart(format!(
            "{} layers of type {HELM_CHART_LAYER}; a chart has exactly one",
            charts.len()
        )));
    };
    let digest = normalize_digest(&layer.digest).ok_or_else(|| {
        not_a_chart(format!(
            "chart layer digest {:?} is not a sha256 digest",
            layer.digest
        ))
    })?;
    let limit = opts.limits.max_compressed;
    if layer.size < 0 || layer.size as u64 > limit {
        return Err(FetchErrorKind::TooLarge {
            what: format!("{shown} chart layer ({} bytes)", layer.size),
            limit,
            limit_name: "max_compressed",
        });
    }
    if let Ok(Some(bytes)) = ChartCache::new(&opts.cache_dir).get_blob(&digest, limit) {
        tracing::debug!(reference = %shown, %digest, "chart archive already cached");
        return accept(req, opts, &bytes, &version, &shown, Some(&manifest_digest));
    }
    let blob = with_retries(opts, &shown, || {
        let (client, reference, digest) = (&client, &reference, digest.as_str());
        async move {
            let mut out = Limited {
                buf: Vec::new(),
                limit,
                over: false,
            };
            let r = client.pull_blob(reference, digest, &mut out).await;
            match r {
                // Over the limit: not transient, stop here.
                Err(_) if out.over => Ok(None),
                Err(e) => Err(e),
                Ok(()) => Ok(Some(out.buf)),
            }
        }
    })
    .await;
    let bytes = match blob {
        Ok(Some(b)) => b,
        Ok(None) => {
            return Err(FetchErrorKind::TooLarge {
                what: format!("{shown} chart layer"),
                limit,
                limit_name: "max_compressed",
            })
        }
        Err(OciDistributionError::DigestError(e)) => {
            return Err(FetchErrorKind::DigestMismatch {
                url: shown.clone(),
                expected: digest.clone(),
                actual: e.to_string(),
            })
        }
        Err(e) => return Err(classify(&shown, &e)),
    };
    let actual = sha256(&bytes);
    if actual != digest {
        return Err(FetchErrorKind::DigestMismatch {
            url: shown.clone(),
            expected: digest,
            actual,
        });
    }
    accept(req, opts, &bytes, &version, &shown, Some(&manifest_digest))
}

/// The repository's tags that are versions (`_` back to `+`), highest first.
async fn list_versions(
    client: &Client,
    repo_ref: &Reference,
    auth: &RegistryAuth,
    opts: &FetchOptions,
    shown: &str,
) -> Result<Vec<String>, FetchErrorKind> {
    match with_retries(opts, shown, || client.list_tags(repo_ref, auth, None, None)).await {
        Ok(t) => {
            // As Helm's registry client: only tags that are versions, highest first.
            let mut v: Vec<(Version, String)> = t
                .tags
                .iter()
                .map(|t| t.replace('_', "+"))
                .filter_map(|t| Version::parse(&t).ok().map(|v| (v, t)))
                .collect();
            v.sort_by(|a, b| b.0.compare(&a.0).then_with(|| a.1.cmp(&b.1)));
            Ok(v.into_iter().map(|(_, t)| t).collect())
        }
        Err(e) if not_found(&e) => Ok(Vec::new()),
        Err(e) => Err(classify(shown, &e)),
    }
}
