//! Credentials, looked up where the tools that wrote them keep them:
//!
//! - registries ([`for_registry`]): `REGISTRY_AUTH_FILE` (podman, skopeo), then the Docker
//!   config (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`: `auths`, `credsStore`,
//!   `credHelpers`); anonymous otherwise;
//! - HTTP(S) chart repositories ([`for_chart_repository`]): Helm's `repositories.yaml`
//!   (`$HELM_REPOSITORY_CONFIG`, else `$XDG_CONFIG_HOME/helm/repositories.yaml`, else
//!   `~/.config/helm/repositories.yaml`: the `username`/`password` of the entry whose `url`
//!   is the repository's, as `helm repo add --username --password` writes it), then the
//!   registry credentials of the repository's host.
//!
//! A file that cannot be read or parsed, or a credential helper that fails, is a warning
//! naming the file or helper, never its content or output. No `Debug` prints a secret.

use serde::Deserialize;
use std::path::PathBuf;

/// A user name and password for basic auth.
#[derive(Clone, PartialEq, Eq)]
pub struct Basic {
    /// The user name.
    pub user: String,
    /// The password (or token used as one).
    pub password: String,
}

impl Basic {
    /// `user` and `password`.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Basic {
        Basic {
            user: user.into(),
            password: password.into(),
        }
    }
}

impl std::fmt::Debug for Basic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Basic({:?}, …)", self.user)
    }
}

/// What to authenticate to a registry with.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Credential {
    /// Nothing configured: anonymous (a bearer challenge still gets an anonymous token).
    #[default]
    Anonymous,
    /// User and password: sent to a basic challenge, or to the token endpoint.
    Basic(Basic),
    /// A Docker config `identitytoken`: sent as the bearer token itself.
    IdentityToken(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Anonymous => f.write_str("Anonymous"),
            Credential::Basic(b) => b.fmt(f),
            Credential::IdentityToken(_) => f.write_str("IdentityToken(…)"),
        }
    }
}

/// Credentials for `registry` from `REGISTRY_AUTH_FILE` or the Docker config; anonymous when
/// none are configured. A file that cannot be read or parsed, or a credential helper that
/// fails, is a warning naming the file or helper (never its output, which may hold secrets).
pub fn for_registry(registry: &str) -> Credential {
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
        return Credential::Anonymous;
    };
    match std::fs::read(&path) {
        Ok(bytes) => credentials_in(&path, &bytes, &servers).unwrap_or(Credential::Anonymous),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Credential::Anonymous,
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e,
                "cannot read the Docker config; its credentials are not used");
            Credential::Anonymous
        }
    }
}

/// The credentials the Docker config `bytes` (read from `path`) holds for the first of
/// `servers` it knows; `None` (with a warning saying why, when something failed) otherwise.
fn credentials_in(path: &std::path::Path, bytes: &[u8], servers: &[String]) -> Option<Credential> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential as C};
    for server in servers {
        let why = match docker_credential::get_credential_from_reader(bytes, server) {
            Ok(C::UsernamePassword(u, p)) => return Some(Credential::Basic(Basic::new(u, p))),
            Ok(C::IdentityToken(t)) => return Some(Credential::IdentityToken(t)),
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

/// Where Helm keeps its repositories file (`$HELM_REPOSITORY_CONFIG`, else
/// `$XDG_CONFIG_HOME/helm/repositories.yaml`, else `~/.config/helm/repositories.yaml`).
pub fn repositories_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HELM_REPOSITORY_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("helm/repositories.yaml"))
}

/// The credentials configured for the repository at `url` (without userinfo), if any.
pub fn for_chart_repository(url: &str) -> Option<Basic> {
    from_helm(url).or_else(|| match for_registry(crate::net::host_of(url)) {
        Credential::Basic(b) => Some(b),
        _ => None,
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
            (Some(u), p) if !u.is_empty() => Some(Basic::new(u, p.unwrap_or_default())),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_no_secret() {
        let s = format!(
            "{:?} {:?}",
            Credential::Basic(Basic::new("u", "pw0")),
            Credential::IdentityToken("t0k".into())
        );
        assert!(!s.contains("pw0") && !s.contains("t0k"), "{s}");
    }

    #[test]
    fn docker_config_entries() {
        let path = std::path::Path::new("config.json");
        let cfg =
            br#"{"auths":{"r.example":{"auth":"dTpwdw=="},"t.example":{"identitytoken":"tok"}}}"#;
        assert_eq!(
            credentials_in(path, cfg, &["r.example".into()]),
            Some(Credential::Basic(Basic::new("u", "pw")))
        );
        assert_eq!(
            credentials_in(path, cfg, &["t.example".into()]),
            Some(Credential::IdentityToken("tok".into()))
        );
        assert_eq!(credentials_in(path, cfg, &["x.example".into()]), None);
        assert_eq!(
            credentials_in(path, b"{not json", &["r.example".into()]),
            None
        );
    }
}
