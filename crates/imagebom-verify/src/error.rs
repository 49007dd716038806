//! The one error type: why a signature, bundle or attestation was not accepted.

/// Why verification did not succeed. The message names the part that failed; it never carries
/// key material beyond public keys' identifiers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input is not well-formed (bad JSON, base64, DER, PEM, unknown media type…).
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being read (`bundle`, `trusted root`, `certificate`, …).
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// A cryptographic or consistency check failed.
    #[error("{0}")]
    Invalid(String),
    /// The material verified but does not satisfy the policy (identity, issuer, key, digest).
    #[error("policy: {0}")]
    Policy(String),
    /// A format or algorithm imagebom does not verify.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl Error {
    pub(crate) fn malformed(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Error::Malformed {
            what,
            detail: detail.to_string(),
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
