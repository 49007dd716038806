//! HTTP(S) chart repositories: `index.yaml`, then the archive, verified against the index.

use super::{
    accept, from_cache, normalize_digest, redact, sha256, version, ChartCache, ChartRequest,
    FetchErrorKind, FetchOptions, Fetched,
};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    entries: Option<BTreeMap<String, Option<Vec<IndexEntry>>>>,
}

#[derive(Deserialize)]
struct IndexEntry {
    #[serde(default, deserialize_with = "super::string_or_number")]
    version: String,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    urls: Option<Vec<String>>,
}

use super::creds::{self, Basic};
use imagebom_registry::{ErrorKind, RegistryError};

/// The registry client for `opts` (its deadline, retries and plain-HTTP registries).
pub(crate) fn client(opts: &FetchOptions) -> Result<imagebom_registry::Client, FetchErrorKind> {
    imagebom_registry::Client::new(imagebom_registry::ClientOptions {
        timeout: opts.timeout,
        retry: imagebom_registry::RetryPolicy {
            retries: opts.retries,
            backoff: opts.backoff,
            ..Default::default()
        },
        insecure: opts.insecure_registries.clone(),
        ..Default::default()
    })
    .map_err(|e| FetchErrorKind::Network {
        url: "<client>".into(),
        detail: e.kind.to_string(),
    })
}

/// A registry client error as a fetch error (named by its redacted URL or reference).
pub(crate) fn fetch_error(e: RegistryError) -> FetchErrorKind {
    let url = e.reference;
    match e.kind {
        ErrorKind::Http { status, .. } => FetchErrorKind::Http { url, status },
        ErrorKind::TooLarge {
            limit, limit_name, ..
        } => FetchErrorKind::TooLarge {
            what: url,
            limit,
            limit_name,
        },
        ErrorKind::Denied { detail } => FetchErrorKind::Denied {
            reference: url,
            detail,
        },
        ErrorKind::Insecure { detail } => FetchErrorKind::Insecure {
            reference: url,
            detail,
        },
        ErrorKind::DigestMismatch {
            expected, actual, ..
        } => FetchErrorKind::DigestMismatch {
            url,
            expected,
            actual,
        },
        ErrorKind::NotFound { .. } => FetchErrorKind::Http { url, status: 404 },
        kind => FetchErrorKind::Network {
            url,
            detail: kind.to_string(),
        },
    }
}

/// `GET url` (with `auth`, if any) with the client's retries; the body is at most `limit`
/// bytes.
pub(crate) async fn get_limited(
    client: &imagebom_registry::Client,
    (url, auth): (&str, Option<&Basic>),
    limit: u64,
    limit_name: &'static str,
) -> Result<Vec<u8>, FetchErrorKind> {
    client
        .get(url, auth, limit, limit_name)
        .await
        .map_err(fetch_error)
}

pub(crate) async fn fetch(
    req: &ChartRequest,
    opts: &FetchOptions,
) -> Result<Fetched, FetchErrorKind> {
    if opts.offline {
        return from_cache(req, opts);
    }
    let repo = req.repository.trim().trim_end_matches('/');
    let base =
        reqwest::Url::parse(&format!("{repo}/")).map_err(|e| FetchErrorKind::BadRepository {
            detail: format!("{:?} is not a URL: {e}", redact(repo)),
        })?;
    let index_url = format!("{repo}/index.yaml");
    let client = client(opts)?;
    // Userinfo in the URL is sent by reqwest itself; otherwise the configured credentials.
    let configured = match base.username().is_empty() {
        true => creds::for_repository(&redact(repo)),
        false => None,
    };
    let auth_for = |url: &str| {
        let url = reqwest::Url::parse(url).ok()?;
        let own = creds::same_origin(&base, &url) && url.username().is_empty();
        own.then_some(configured.as_ref()).flatten()
    };
    let body = get_limited(
        &client,
        (&index_url, auth_for(&index_url)),
        opts.max_index_size,
        "max_index_size",
    )
    .await?;
    let invalid = |detail: String| FetchErrorKind::Invalid {
        location: redact(&index_url),
        detail,
    };
    let index: Index = serde_yaml_ng::from_slice(&body)
        .map_err(|e| invalid(format!("not a chart repository index: {e}")))?;
    let entries = index
        .entries
        .unwrap_or_default()
        .remove(&req.chart)
        .flatten()
        .unwrap_or_default();
    if entries.is_empty() {
        return Err(FetchErrorKind::NoChart {
            chart: req.chart.clone(),
            location: redact(&index_url),
        });
    }
    let versions: Vec<&str> = entries.iter().map(|e| e.version.as_str()).collect();
    let chosen = version::select(&req.version, &versions)
        .map_err(|detail| FetchErrorKind::BadVersion { detail })?
        .ok_or_else(|| FetchErrorKind::NoVersion {
            available: super::show_versions(&versions),
        })?;
    let entry = entries
        .iter()
        .find(|e| e.version == chosen)
        .ok_or_else(|| invalid(format!("version {chosen} vanished")))?;
    let urls = entry.urls.clone().unwrap_or_default();
    if urls.is_empty() {
        return Err(invalid(format!("{} {chosen} has no urls", req.chart)));
    }
    let expected = match &entry.digest {
        Some(d) if !d.trim().is_empty() => Some(normalize_digest(d).ok_or_else(|| {
            invalid(format!(
                "{} {chosen}: digest {d:?} is not a sha256 digest",
                req.chart
            ))
        })?),
        _ => {
            tracing::warn!(chart = %req.chart, version = %chosen, index = %redact(&index_url),
                "the repository index lists no digest for this chart; recording the download's");
            None
        }
    };
    let resolved: Vec<String> = urls
        .iter()
        .map(|u| base.join(u.trim()).map(|u| u.to_string()))
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(format!("{} {chosen}: bad chart URL: {e}", req.chart)))?;
    // Already downloaded? The cache is content-addressed, so the listed digest finds it.
    if let Some(d) = &expected {
        let cache = ChartCache::new(&opts.cache_dir);
        if let Ok(Some(bytes)) = cache.get_blob(d, opts.limits.max_compressed) {
            tracing::debug!(chart = %req.chart, version = %chosen, digest = %d, "chart archive already cached");
            return accept(req, opts, &bytes, chosen, &redact(&resolved[0]), None);
        }
    }
    let mut last_err = None;
    for url in &resolved {
        match get_limited(
            &client,
            (url, auth_for(url)),
            opts.limits.max_compressed,
            "max_compressed",
        )
        .await
        {
            Ok(bytes) => {
                let actual = sha256(&bytes);
                if let Some(expected) = &expected {
                    if *expected != actual {
                        return Err(FetchErrorKind::DigestMismatch {
                            url: redact(url),
                            expected: expected.clone(),
                            actual,
                        });
                    }
                }
                return accept(req, opts, &bytes, chosen, &redact(url), None);
            }
            Err(e @ FetchErrorKind::TooLarge { .. }) => return Err(e),
            Err(e) => {
                tracing::debug!(url = %redact(url), error = %e, "chart download failed; trying the next URL");
                last_err = Some(e);
            }
        }
    }
    Err(last_err.unwrap_or_else(|| invalid("no chart URL".into())))
}
