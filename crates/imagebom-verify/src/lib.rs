//! Verify Sigstore bundles, cosign signatures and DSSE attestations offline, and read what they
//! attest.
//!
//! Everything takes bytes and returns a typed verdict; nothing touches the network. The
//! entry points:
//! - [`verify_bundle`]: a Sigstore bundle (v0.1–v0.3, message signature or DSSE) against an
//!   artifact or digest;
//! - [`cosign::verify_signature_layer`] / [`cosign::verify_attestation_layer`]: cosign's
//!   legacy `.sig` / `.att` layers against an image digest;
//! - [`PublicKey::verify`]: a keyed signature over a payload;
//! - [`Statement`] / [`ImageAttestations`]: what verified attestations say.
//!
//! Trust comes from a [`TrustedRoot`] (the shipped public-good one, or a replacement) and a
//! [`Policy`] (identities, a key, or any identity for reporting).
//!
//! ```no_run
//! use imagebom_verify::{verify_image_bundle, Identity, ImageAttestations, Options, Policy, TrustedRoot};
//!
//! let bundle = std::fs::read("referrer.sigstore.json").unwrap();
//! let policy = Policy::Identities(vec![Identity::exact(
//!     "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0",
//!     "https://token.actions.githubusercontent.com",
//! )]);
//! let digest = "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00";
//! match verify_image_bundle(&bundle, digest, &TrustedRoot::production(), &policy, &Options::default()) {
//!     Ok(verified) => {
//!         let mut summary = ImageAttestations::default();
//!         summary.add_signer(&verified.signer);
//!         if let Some(statement) = &verified.statement {
//!             summary.add_statement(statement);
//!         }
//!     }
//!     Err(why) => eprintln!("not verified: {why}"),
//! }
//! ```

pub mod attest;
mod bundle;
pub mod cosign;
mod der;
pub mod dsse;
mod error;
mod keys;
mod policy;
mod time;
mod tlog;
mod trust;
mod tsa;
mod x509;

pub use attest::{ImageAttestations, PredicateKind, Provenance, Statement, Subject};
pub use bundle::{verify_bundle, verify_image_bundle};
pub use error::{Error, Result};
pub use keys::{pem_blocks, HashAlg, KeyKind, PublicKey};
pub use policy::{Identity, Matcher, Policy};
pub use time::parse_rfc3339;
pub use trust::{Authority, LogKey, TrustedRoot, Validity, PRODUCTION_TRUSTED_ROOT};
pub use x509::CertIdentity;

/// What was signed: the artifact's bytes or its digest.
#[derive(Debug, Clone)]
pub enum Artifact<'a> {
    /// The artifact itself.
    Bytes(&'a [u8]),
    /// Its digest (for DSSE bundles: the in-toto subject digest to find).
    Digest(HashAlg, Vec<u8>),
}

/// Where a verified time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeSource {
    /// The transparency log's integrated time, bound by its inclusion promise.
    TransparencyLog,
    /// An RFC 3161 timestamp from a trusted timestamp authority.
    TimestampAuthority,
    /// The verifier's clock (cosign signatures without a log entry, when allowed).
    Local,
}

/// A verified signing time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct VerifiedTime {
    /// Its source.
    pub source: TimeSource,
    /// Unix seconds.
    pub unix: i64,
}

/// Who signed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signer {
    /// A Fulcio certificate with this identity.
    Keyless(CertIdentity),
    /// A public key, by its Sigstore key ID (hex SHA-256 of the SPKI).
    Key {
        /// Hex key ID.
        key_id: String,
    },
}

/// A successful verification.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// Who signed.
    pub signer: Signer,
    /// The verified signing times.
    pub times: Vec<VerifiedTime>,
    /// The transparency log index, when there is an entry.
    pub log_index: Option<u64>,
    /// The in-toto statement, for DSSE bundles and attestations.
    pub statement: Option<Statement>,
}

/// Verification settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// "Now" in Unix seconds: trusted-root keys and authorities starting later are ignored.
    pub now: i64,
    /// Whether a cosign signature must have a Rekor entry (bundles always have one).
    pub require_tlog: bool,
    /// Whether the signing certificate must meet Fulcio's profile: an embedded SCT verified
    /// against the trusted root's CT logs and the code-signing extended key usage. Off only for
    /// a private PKI without certificate transparency, where (as in Go's x509) an absent
    /// extended key usage allows any usage.
    pub fulcio_profile: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            now: time::now(),
            require_tlog: true,
            fulcio_profile: true,
        }
    }
}
