//! Charts in OCI registries (`oci://host/path` + chart + version), as Helm pushes them: an OCI
//! image manifest whose config is `application/vnd.cncf.helm.config.v1+json` and whose one
//! chart layer is `application/vnd.cncf.helm.chart.content.v1.tar+gzip`.

use super::{
    accept, from_cache, normalize_digest, sha256, version, ChartCache, ChartRequest,
    FetchErrorKind, FetchOptions, Fetched,
};
use imagebom_model::Digest;
use imagebom_registry::{Client, Reference, Repository};
use imagebom_template::semver::Version;
use serde::Deserialize;

/// The config media type of a Helm chart artifact.
pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// The media type of the chart archive layer.
pub(crate) const HELM_CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// The chart layer media type of Helm 3.0–3.7's experimental OCI support (still read by Helm).
const LEGACY_CHART_LAYER: &str = "application/tar+gzip";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Largest chart manifest read (containerd's bound for manifests, as for images).
const MAX_MANIFEST_BYTES: u64 = 4 << 20;

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
    let repo = Repository::parse(&repo_text).map_err(|e| bad_ref(&repo_text, e))?;
    let client = super::http::client(opts)?;
    let shown_repo = format!("oci://{repo_text}");

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
        let tags = list_versions(&client, &repo, &shown_repo).await?;
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
    let mut reference = Reference::tagged(repo.clone(), &tag).map_err(|e| bad_ref(&text, e))?;
    reference.digest = match &pinned {
        Some(d) => Some(Digest::parse(d).map_err(|e| bad_ref(&text, e.to_string()))?),
        None => None,
    };
    let shown = format!("oci://{text}");

    // A manifest that does not match the pinned digest is refused by the client.
    let manifest = match client
        .manifest(&reference, &[OCI_MANIFEST], MAX_MANIFEST_BYTES)
        .await
    {
        Ok(m) => m.bytes,
        Err(e) if e.is_not_found() && pinned.is_some() => {
            return Err(FetchErrorKind::Invalid {
                location: shown,
                detail: "the registry has no manifest with this digest".into(),
            })
        }
        Err(e) if e.is_not_found() => {
            let available = match list_versions(&client, &repo, &shown_repo).await {
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
        Err(e) => return Err(registry_error(&shown, e)),
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
    let layer_digest = Digest::parse(&digest).map_err(|e| not_a_chart(e.to_string()))?;
    let bytes = client
        .blob(&repo, &layer_digest, limit, "max_compressed")
        .await
        .map_err(|e| match e.kind {
            imagebom_registry::ErrorKind::TooLarge { .. } => FetchErrorKind::TooLarge {
                what: format!("{shown} chart layer"),
                limit,
                limit_name: "max_compressed",
            },
            _ => registry_error(&shown, e),
        })?;
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

/// A registry client error for `shown` (the `oci://` reference) as a fetch error.
fn registry_error(shown: &str, mut e: imagebom_registry::RegistryError) -> FetchErrorKind {
    shown.clone_into(&mut e.reference);
    super::http::fetch_error(e)
}

/// The repository's tags that are versions (`_` back to `+`), highest first.
async fn list_versions(
    client: &Client,
    repo: &Repository,
    shown: &str,
) -> Result<Vec<String>, FetchErrorKind> {
    match client.tags(repo).await {
        Ok(tags) => {
            // As Helm's registry client: only tags that are versions, highest first.
            let mut v: Vec<(Version, String)> = tags
                .iter()
                .map(|t| t.replace('_', "+"))
                .filter_map(|t| Version::parse(&t).ok().map(|v| (v, t)))
                .collect();
            v.sort_by(|a, b| b.0.compare(&a.0).then_with(|| a.1.cmp(&b.1)));
            Ok(v.into_iter().map(|(_, t)| t).collect())
        }
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        Err(e) => Err(registry_error(shown, e)),
    }
}
