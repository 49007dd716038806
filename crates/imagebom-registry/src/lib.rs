//! The one registry and HTTP client of imagebom: image resolution, provenance discovery and
//! chart fetching (HTTP chart repositories and OCI registries) all go through [`Client`].
//!
//! - **Credentials** ([`creds`]): `REGISTRY_AUTH_FILE`, the Docker config (`auths`,
//!   `credsStore`, `credHelpers`), Helm's `repositories.yaml` for HTTP chart repositories.
//! - **Authentication** (`auth`): the `/v2/` challenge, distribution's bearer-token flow
//!   (tokens cached per host and scope, a refused one fetched again once) and basic auth; a
//!   token realm on plain HTTP never gets the credentials of an HTTPS registry.
//! - **One retry policy** ([`RetryPolicy`]) and **one deadline per request** (connect,
//!   headers and the whole body), at most [`MAX_REDIRECTS`] redirects; credentials never
//!   follow a redirect to another origin.
//! - **Typed errors** ([`RegistryError`]): the distribution spec's error codes
//!   ([`ErrorCode`]) read from the JSON error body, with the status; each names the
//!   reference or URL (redacted), never a secret.
//! - **Verified pulls**: manifests (against `Docker-Content-Digest` and the reference's own
//!   digest) and blobs by digest, every body read with a size limit.
//! - **Tag listing** (`Link` pagination) and **referrers** (the OCI 1.1 API, else the
//!   referrers tag schema).

mod auth;
mod client;
pub mod creds;
mod error;
pub mod net;
mod retry;

pub use client::{
    verify_manifest, Client, ClientOptions, Descriptor, Head, Manifest, Reference, Repository,
    MAX_ERROR_BODY,
};
pub use creds::{Basic, Credential};
pub use error::{ErrorCode, ErrorKind, RegistryError};
pub use net::MAX_REDIRECTS;
pub use retry::RetryPolicy;
