//! Registry authentication: the `WWW-Authenticate` challenge, the bearer-token flow
//! (distribution's token auth: `GET realm?service=…&scope=…`, with basic credentials when
//! configured) and basic auth.
//!
//! Tokens are cached per registry host and scope (one fetch per scope even under
//! concurrency); a token the registry stops accepting (expired) is fetched again once. A
//! Docker config identity token is sent as the bearer token itself. Token requests follow
//! the same retry policy and deadline as every other request. Credentials and tokens never
//! appear in errors or logs.

use crate::client::read_body;
use crate::creds::Credential;
use crate::error::{ErrorKind, RegistryError};
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

/// Largest token endpoint answer read.
const MAX_TOKEN_BYTES: u64 = 1 << 20;

/// Challenges and tokens shared by the requests of one client.
#[derive(Default)]
pub(crate) struct AuthState {
    /// Hosts reached over plain HTTP (`--insecure-registry`).
    insecure: Vec<String>,
    /// Host → the challenge it answered with (from the `/v2/` probe or a later 401).
    challenges: Mutex<BTreeMap<String, Challenge>>,
    /// (host, scope) → token; one fetch per scope even under concurrency.
    tokens: Mutex<BTreeMap<(String, String), TokenSlot>>,
}

impl AuthState {
    /// State for a client reaching the hosts of `insecure` over plain HTTP.
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

    /// What to send to `host` for a request needing `scope`, holding `cred`: an identity
    /// token as it is; nothing while the host has not challenged; basic credentials for a
    /// basic challenge; a (cached) token for a bearer one. `shown` names the request in errors.
    pub(crate) async fn authorization(
        &self,
        http: &reqwest::Client,
        shown: &str,
        host: &str,
        scope: Option<&str>,
        cred: &Credential,
    ) -> Result<Option<Authz>, RegistryError> {
        if let Credential::IdentityToken(t) = cred {
            return Ok(Some(Authz::Bearer(t.clone())));
        }
        let basic = match cred {
            Credential::Basic(b) => Some((b.user.clone(), b.password.clone())),
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
                crate::net::check_realm(https, &realm, &self.insecure)
                    .map_err(|detail| RegistryError::new(shown, ErrorKind::Insecure { detail }))?;
                let tok =
                    fetch_token(http, shown, &realm, service.as_deref(), &scope, basic).await?;
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
async fn fetch_token(
    http: &reqwest::Client,
    shown: &str,
    realm: &str,
    service: Option<&str>,
    scope: &str,
    basic: Option<(String, String)>,
) -> Result<String, RegistryError> {
    let fail = |kind| RegistryError::new(shown, kind);
    let mut url = reqwest::Url::parse(realm).map_err(|e| {
        fail(ErrorKind::Invalid {
            detail: format!(
                "token realm {:?} is not a URL: {e}",
                imagebom_model::redact_url(realm)
            ),
        })
    })?;
    {
        let mut q = url.query_pairs_mut();
        if let Some(s) = service {
            q.append_pair("service", s);
        }
        if !scope.is_empty() {
            q.append_pair("scope", scope);
        }
    }
    let mut req = http.get(url);
    if let Some((u, p)) = &basic {
        req = req.basic_auth(u, Some(p));
    }
    let resp = req.send().await.map_err(|e| {
        fail(ErrorKind::Network {
            detail: format!("token request: {}", crate::net::describe_request(&e)),
        })
    })?;
    let status = resp.status().as_u16();
    let denied = |detail: String| fail(ErrorKind::Denied { detail });
    match status {
        200 => {
            let body = read_body(
                shown,
                resp,
                MAX_TOKEN_BYTES,
                "token answer",
                "MAX_TOKEN_BYTES",
            )
            .await?;
            let a: TokenAnswer = serde_json::from_slice(&body)
                .map_err(|e| denied(format!("token endpoint sent no token: {e}")))?;
            a.token
                .or(a.access_token)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| denied("token endpoint sent no token".into()))
        }
        401 | 403 => Err(denied(format!("token request refused (HTTP {status})"))),
        _ => {
            let after = crate::net::retry_after(resp.headers(), std::time::Duration::MAX);
            let e = RegistryError::from_status(shown, status, &[], after);
            match e.kind {
                ErrorKind::Http { .. } => Err(e),
                _ => Err(fail(ErrorKind::Network {
                    detail: format!("token request: HTTP {status}"),
                })),
            }
        }
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
    fn secrets_are_not_debug_printed() {
        let s = format!(
            "{:?} {:?}",
            Authz::Bearer("t0k3n".into()),
            Authz::Basic("u".into(), "pw".into())
        );
        assert!(!s.contains("t0k3n") && !s.contains("pw"), "{s}");
    }
}
