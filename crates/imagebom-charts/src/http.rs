//! HTTP(S) chart repositories: `index.yaml`, then the archive, verified against the index.

use super::{
    accept, backoff, from_cache, normalize_digest, redact, sha256, version, ChartCache,
    ChartRequest, FetchErrorKind, FetchOptions, Fetched,
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
use imagebom_resolve::net::describe_request as describe;

pub(crate) fn client(opts: &FetchOptions) -> Result<reqwest::Client, FetchErrorKind> {
    imagebom_resolve::net::client(opts.timeout).map_err(|detail| FetchErrorKind::Network {
        url: "<client>".into(),
        detail,
    })
}

/// One `GET` of at most `limit` bytes (with `auth`, if any): the body, or the error and
/// whether it is transient.
async fn get_once(
    client: &reqwest::Client,
    url: &str,
    auth: Option<&Basic>,
    limit: u64,
    limit_name: &'static str,
) -> Result<Vec<u8>, (FetchErrorKind, bool)> {
    let shown = redact(url);
    let network = |detail: String| {
        (
            FetchErrorKind::Network {
                url: shown.clone(),
                detail,
            },
            true,
        )
    };
    let too_large = || {
        (
            FetchErrorKind::TooLarge {
                what: shown.clone(),
                limit,
                limit_name,
            },
            false,
        )
    };
    let mut req = client.get(url);
    if let Some((user, password)) = auth {
        req = req.basic_auth(user, Some(password));
    }
    let mut resp = req.send().await.map_err(|e| network(describe(&e)))?;
    let status = resp.status().as_u16();
    if status != 200 {
        let transient = status == 408 || status == 429 || status >= 500;
        return Err((
            FetchErrorKind::Http {
                url: shown.clone(),
                status,
            },
            transient,
        ));
    }
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| network(format!("reading the body: {}", describe(&e))))?
    {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `GET url` with retries on transient failures; the body is at most `limit` bytes.
pub(crate) async fn get_limited(
    client: &reqwest::Client,
    opts: &FetchOptions,
    (url, auth): (&str, Option<&Basic>),
    limit: u64,
    limit_name: &'static str,
) -> Result<Vec<u8>, FetchErrorKind> {
    let mut attempt = 0;
    loop {
        match get_once(client, url, auth, limit, limit_name).await {
            Ok(body) => return Ok(body),
            Err((kind, true)) if attempt < opts.retries => {
                let delay = backoff(opts.backoff, attempt);
                tracing::debug!(url = %redact(url), attempt, ?delay, error = %kind, "retrying");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Err((kind, _)) => return Err(kind),
        }
    }
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
        opts,
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
            opts,
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
