//! Registry authentication on the direct (reqwest) path: the `WWW-Authenticate` challenge,
//! the bearer-token flow (distribution's token auth: `GET realm?service=…&scope=…`, with basic
//! credentials when configured) and basic auth.
//!
//! Doing this ourselves rather than through `oci-client` keeps every request on one path that
//! sees response headers, so `Retry-After` is honoured on token and basic-auth registries too
//! (and on the token endpoint itself). Tokens are cached per registry host and scope; a token
//! the registry stops accepting (expired) is fetched again once. Credentials and tokens never
//! appear in errors or logs.

use crate::registry::{read_bounded, retry_after, Attempt, RegistryError};
use oci_client::secrets::RegistryAuth;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// How a registry asks clients to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// `Bearer realm="…",service="…",scope="…"`: get a token from `realm`.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
    /// `Basic realm="…"`: send the credentials with every request.
    Basic,
}

/// Parses a `WWW-Authenticate` header value (one challenge; parameters may be quoted and
/// quoted values may hold commas, as `scope="repository:a:pull,push"` does).
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            name.push(c);
            chars.next();
        }
        if name.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                value.push(n);
                            }
                        }
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        params.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => Some(Challenge::Bearer {
            realm: params.remove("realm").filter(|r| !r.is_empty())?,
            service: params.remove("service"),
            scope: params.remove("scope"),
        }),
        "basic" => Some(Challenge::Basic),
        _ => None,
    }
}

pub(crate) use crate::net::host_of;

/// The token scope a Distribution API URL needs: `repository:NAME:pull` for
/// `/v2/NAME/{manifests,blobs,referrers,tags}/…`.
pub(crate) fn scope_of(url: &str) -> Option<String> {
    let path = url.split_once("/v2/")?.1;
    let name = ["/manifests/", "/blobs/", "/referrers/", "/tags/"]
        .iter()
        .filter_map(|m| path.rfind(m).map(|i| &path[..i]))
        .next()?;
    (!name.is_empty()).then(|| format!("repository:{name}:pull"))
}

/// What to send in `Authorization`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Authz {
    Bearer(String),
    Basic(String, String),
}

impl std::fmt::Debug for Authz {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a secret.
        f.write_str(match self {
            Authz::Bearer(_) => "Bearer(…)",
            Authz::Basic(..) => "Basic(…)",
        })
    }
}

impl Authz {
    pub(crate) fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Authz::Bearer(t) => req.bearer_auth(t),
            Authz::Basic(u, p) => req.basic_auth(u, Some(p)),
        }
    }
}

type TokenSlot = Arc<tokio::sync::Mutex<Option<String>>>;

/// Challenges, credentials and tokens shared by the requests of one resolver.
#[derive(Default)]
pub(crate) struct AuthState {
    /// Hosts reached over plain HTTP (`--insecure-registry`).
    insecure: Vec<String>,
    /// Host → the challenge it answered with (from the `/v2/` probe or a later 401).
    challenges: Mutex<BTreeMap<String, Challenge>>,
    /// Host → credentials configured for it.
    creds: Mutex<BTreeMap<String, RegistryAuth>>,
    /// (host, scope) → token; one fetch per scope even under concurrency.
    tokens: Mutex<BTreeMap<(String, String), TokenSlot>>,
}

impl AuthState {
    /// State for a resolver reaching the hosts of `insecure` over plain HTTP.
    pub(crate) fn new(insecure: Vec<String>) -> AuthState {
        AuthState {
            insecure,
            ..AuthState::default()
        }
    }

    pub(crate) fn set_challenge(&self, host: &str, c: Challenge) {
        if let Ok(mut m) = self.challenges.lock() {
            m.insert(host.to_string(), c);
        }
    }

    fn challenge(&self, host: &str) -> Option<Challenge> {
        self.challenges.lock().ok()?.get(host).cloned()
    }

    pub(crate) fn set_creds(&self, host: &str, auth: &RegistryAuth) {
        if let Ok(mut m) = self.creds.lock() {
            m.insert(host.to_string(), auth.clone());
        }
    }

    fn creds(&self, host: &str) -> RegistryAuth {
        self.creds
            .lock()
            .ok()
            .and_then(|m| m.get(host).cloned())
            .unwrap_or(RegistryAuth::Anonymous)
    }

    fn slot(&self, host: &str, scope: &str) -> TokenSlot {
        let mut m = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        m.entry((host.to_string(), scope.to_string()))
            .or_default()
            .clone()
    }

    /// Drops `stale` (a token the registry refused) so the next request fetches a new one.
    pub(crate) async fn forget(&self, host: &str, scope: &str, stale: &Authz) {
        let Authz::Bearer(stale) = stale else { return };
        let slot = self.slot(host, scope);
        let mut t = slot.lock().await;
        if t.as_deref() == Some(stale.as_str()) {
            *t = None;
        }
    }

    /// What to send to `host` for a request needing `scope`: nothing while the host has not
    /// challenged; basic credentials for a basic challenge; a (cached) token for a bearer one.
    /// A failing token request is an [`Attempt`] (retried on 429/5xx, honouring `Retry-After`).
    pub(crate) async fn authorization<T>(
        &self,
        http: &reqwest::Client,
        key: &str,
        host: &str,
        scope: Option<&str>,
    ) -> Result<Option<Authz>, Attempt<T>> {
        let creds = self.creds(host);
        let basic = match &creds {
            RegistryAuth::Basic(u, p) => Some((u.clone(), p.clone())),
            _ => None,
        };
        match self.challenge(host) {
            None => Ok(None),
            Some(Challenge::Basic) => Ok(basic.map(|(u, p)| Authz::Basic(u, p))),
            Some(Challenge::Bearer {
                realm,
                service,
                scope: challenged,
            }) => {
                let scope = scope.map(str::to_string).or(challenged).unwrap_or_default();
                let slot = self.slot(host, &scope);
                let mut t = slot.lock().await;
                if let Some(tok) = t.as_ref() {
                    return Ok(Some(Authz::Bearer(tok.clone())));
                }
                let https = !self.insecure.iter().any(|h| h == host);
                crate::net::check_realm(https, &realm, &self.insecure).map_err(|detail| {
                    Attempt::Fail(RegistryError::Insecure {
                        reference: key.to_string(),
                        detail,
                    })
                })?;
                let tok = fetch_token(http, key, &realm, service.as_deref(), &scope, basic).await?;
                *t = Some(tok.clone());
                Ok(Some(Authz::Bearer(tok)))
            }
        }
    }
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
}

/// One request to the token endpoint.
async fn fetch_token<T>(
    http: &reqwest::Client,
    key: &str,
    realm: &str,
    service: Option<&str>,
    scope: &str,
    basic: Option<(String, String)>,
) -> Result<String, Attempt<T>> {
    let mut query: Vec<(&str, &str)> = Vec::new();
    if let Some(s) = service {
        query.push(("service", s));
    }
    if !scope.is_empty() {
        query.push(("scope", scope));
    }
    let mut req = http.get(realm).query(&query);
    if let Some((u, p)) = &basic {
        req = req.basic_auth(u, Some(p));
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            let detail = format!("token request: {}", crate::net::describe_request(&e));
            return Err(Attempt::Retry(None, detail));
        }
    };
    let status = resp.status();
    match status.as_u16() {
        200 => {
            let body = read_bounded(key, resp).await?;
            let a: TokenAnswer = serde_json::from_slice(&body).map_err(|e| {
                Attempt::Fail(RegistryError::Denied {
                    reference: key.to_string(),
                    detail: format!("token endpoint sent no token: {e}"),
                })
            })?;
            a.token
                .or(a.access_token)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    Attempt::Fail(RegistryError::Denied {
                        reference: key.to_string(),
                        detail: "token endpoint sent no token".into(),
                    })
                })
        }
        401 | 403 => Err(Attempt::Fail(RegistryError::Denied {
            reference: key.to_string(),
            detail: format!("token request refused (HTTP {status})"),
        })),
        429 | 500..=599 => Err(Attempt::Retry(
            retry_after(resp.headers()),
            format!("token request: HTTP {status}"),
        )),
        _ => Err(Attempt::Fail(RegistryError::Network {
            reference: key.to_string(),
            detail: format!("token request: HTTP {status}"),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/nginx:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(
            parse_challenge("bearer realm=http://x/token"),
            Some(Challenge::Bearer {
                realm: "http://x/token".into(),
                service: None,
                scope: None
            })
        );
        assert_eq!(parse_challenge("Bearer service=x"), None);
        assert_eq!(parse_challenge("Negotiate abc"), None);
    }

    #[test]
    fn scopes_and_hosts_of_urls() {
        assert_eq!(
            scope_of("https://r.example:5000/v2/team/app/manifests/v1").as_deref(),
            Some("repository:team/app:pull")
        );
        assert_eq!(
            scope_of("http://h/v2/a/referrers/sha256:00").as_deref(),
            Some("repository:a:pull")
        );
        assert_eq!(scope_of("http://h/v2/"), None);
        assert_eq!(host_of("https://r.example:5000/v2/x"), "r.example:5000");
    }

    #[test]
    fn secrets_are_not_debug_printed() {
        let s = format!(
            "{:?} {:?}",
            Authz::Bearer("t0k3n".into()),
            Authz::Basic("u".into(), "pw".into())
        );
        assert!(!s.contains("t0k3n") && !s.contains("pw"), "{s}");
    }
}
