//! Credentials for HTTP(S) chart repositories, in this order:
//!
//! 1. userinfo in the repository URL (`https://user:token@charts.example/`), sent by the
//!    HTTP client itself and never emitted;
//! 2. Helm's own `repositories.yaml` (`$HELM_REPOSITORY_CONFIG`, else
//!    `$XDG_CONFIG_HOME/helm/repositories.yaml`, else `~/.config/helm/repositories.yaml`):
//!    the `username`/`password` of the entry whose `url` is the repository's, as
//!    `helm repo add --username --password` writes it;
//! 3. the Docker config or `REGISTRY_AUTH_FILE`, by the repository's host, as for registries.
//!
//! 2 and 3 are read by the one registry client ([`imagebom_registry::creds`]).
//!
//! They are sent only to the repository's own host (scheme, host and port): a chart URL on
//! another host gets no credentials, and neither does a redirect to one.

/// Basic credentials (user, password).
pub(crate) use imagebom_registry::Basic;

/// The credentials configured for the repository at `url` (without userinfo), if any.
pub(crate) fn for_repository(url: &str) -> Option<Basic> {
    imagebom_registry::creds::for_chart_repository(url)
}

/// Whether `url` is on the same origin (scheme, host, port) as `base`.
pub(crate) fn same_origin(base: &reqwest::Url, url: &reqwest::Url) -> bool {
    base.scheme() == url.scheme()
        && base.host_str() == url.host_str()
        && base.port_or_known_default() == url.port_or_known_default()
}
