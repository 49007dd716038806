//! Credentials for HTTP(S) chart repositories, in this order:
//!
//! 1. userinfo in the repository URL (`https://user:token@charts.example/`), sent by the
//!    HTTP client itself and never emitted;
//! 2. Helm's own `repositories.yaml` (`$HELM_REPOSITORY_CONFIG`, else
//!    `$XDG_CONFIG_HOME/helm/repositories.yaml`, else `~/.config/helm/repositories.yaml`):
//!    the `username`/`password` of the entry whose `url` is the repository's, as
//!    `helm repo add --username --password` writes it;
//! 3. the Docker config or `REGISTRY_AUTH_FILE`, by the repository's host, as for registries
//!    ([`imagebom_resolve::registry::credentials`]).
//!
//! They are sent only to the repository's own host (scheme, host and port): a chart URL on
//! another host gets no credentials, and neither does a redirect to one.

use oci_client::secrets::RegistryAuth;
use serde::Deserialize;
use std::path::PathBuf;

/// Basic credentials (user, password).
pub(crate) type Basic = (String, String);

#[derive(Deserialize)]
struct RepositoriesFile {
    #[serde(default)]
    repositories: Option<Vec<RepoEntry>>,
}

#[derive(Deserialize)]
struct RepoEntry {
    #[serde(default)]
    url: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// Where Helm keeps its repositories file.
fn repositories_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HELM_REPOSITORY_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("helm/repositories.yaml"))
}

/// The credentials configured for the repository at `url` (without userinfo), if any.
pub(crate) fn for_repository(url: &str) -> Option<Basic> {
    from_helm(url).or_else(|| {
        match imagebom_resolve::registry::credentials(imagebom_resolve::net::host_of(url)) {
            RegistryAuth::Basic(u, p) => Some((u, p)),
            _ => None,
        }
    })
}

fn from_helm(url: &str) -> Option<Basic> {
    let path = repositories_file()?;
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e,
                "cannot read Helm's repositories file; its credentials are not used");
            return None;
        }
    };
    let file: RepositoriesFile = match serde_yaml_ng::from_slice(&text) {
        Ok(f) => f,
        Err(e) => {
            // The parser's message may quote the file: only its position is shown.
            let at = e
                .location()
                .map(|l| format!(" at line {}", l.line()))
                .unwrap_or_default();
            tracing::warn!(file = %path.display(),
                "Helm's repositories file is not valid YAML{at}; its credentials are not used");
            return None;
        }
    };
    let want = url.trim_end_matches('/');
    file.repositories
        .unwrap_or_default()
        .into_iter()
        .find(|r| r.url.trim().trim_end_matches('/') == want)
        .and_then(|r| match (r.username, r.password) {
            (Some(u), p) if !u.is_empty() => Some((u, p.unwrap_or_default())),
            _ => None,
        })
}

/// Whether `url` is on the same origin (scheme, host, port) as `base`.
pub(crate) fn same_origin(base: &reqwest::Url, url: &reqwest::Url) -> bool {
    base.scheme() == url.scheme()
        && base.host_str() == url.host_str()
        && base.port_or_known_default() == url.port_or_known_default()
}
