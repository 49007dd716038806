//! Typed errors: the HTTP status and the distribution spec's error codes, never text matching.

use serde::Deserialize;
use std::time::Duration;

/// An error code of the OCI distribution spec (the `errors[].code` of an error body), with
/// Docker Hub's `TOOMANYREQUESTS` and distribution's `UNAVAILABLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
    Unavailable,
    /// A code the spec does not define, as sent (at most 64 characters).
    Other(String),
}

impl ErrorCode {
    /// The code for its wire name.
    pub fn parse(code: &str) -> ErrorCode {
        use ErrorCode as C;
        match code.trim().to_ascii_uppercase().as_str() {
            "BLOB_UNKNOWN" => C::BlobUnknown,
            "BLOB_UPLOAD_INVALID" => C::BlobUploadInvalid,
            "BLOB_UPLOAD_UNKNOWN" => C::BlobUploadUnknown,
            "DIGEST_INVALID" => C::DigestInvalid,
            "MANIFEST_BLOB_UNKNOWN" => C::ManifestBlobUnknown,
            "MANIFEST_INVALID" => C::ManifestInvalid,
            "MANIFEST_UNKNOWN" => C::ManifestUnknown,
            "NAME_INVALID" => C::NameInvalid,
            "NAME_UNKNOWN" => C::NameUnknown,
            "SIZE_INVALID" => C::SizeInvalid,
            "UNAUTHORIZED" => C::Unauthorized,
            "DENIED" => C::Denied,
            "UNSUPPORTED" => C::Unsupported,
            "TOOMANYREQUESTS" => C::TooManyRequests,
            "UNAVAILABLE" => C::Unavailable,
            other => C::Other(other.chars().take(64).collect()),
        }
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        use ErrorCode as C;
        match self {
            C::BlobUnknown => "BLOB_UNKNOWN",
            C::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            C::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            C::DigestInvalid => "DIGEST_INVALID",
            C::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            C::ManifestInvalid => "MANIFEST_INVALID",
            C::ManifestUnknown => "MANIFEST_UNKNOWN",
            C::NameInvalid => "NAME_INVALID",
            C::NameUnknown => "NAME_UNKNOWN",
            C::SizeInvalid => "SIZE_INVALID",
            C::Unauthorized => "UNAUTHORIZED",
            C::Denied => "DENIED",
            C::Unsupported => "UNSUPPORTED",
            C::TooManyRequests => "TOOMANYREQUESTS",
            C::Unavailable => "UNAVAILABLE",
            C::Other(s) => s,
        }
    }

    /// Whether the code says the thing asked for does not exist.
    pub(crate) fn is_unknown(&self) -> bool {
        matches!(
            self,
            ErrorCode::BlobUnknown | ErrorCode::ManifestUnknown | ErrorCode::NameUnknown
        )
    }

    /// The codes of an error body (`{"errors":[{"code":…}]}`); none when it is not one.
    pub(crate) fn from_body(body: &[u8]) -> Vec<ErrorCode> {
        #[derive(Deserialize)]
        struct Envelope {
            #[serde(default)]
            errors: Vec<Entry>,
        }
        #[derive(Deserialize)]
        struct Entry {
            #[serde(default)]
            code: String,
        }
        serde_json::from_slice::<Envelope>(body)
            .map(|e| {
                e.errors
                    .iter()
                    .filter(|x| !x.code.is_empty())
                    .map(|x| ErrorCode::parse(&x.code))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `" (CODE, CODE)"`, or nothing for no codes. Only codes: an error body's messages are the
/// server's text and are not repeated.
fn show_codes(codes: &[ErrorCode]) -> String {
    if codes.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = codes.iter().map(ErrorCode::as_str).collect();
    format!(" ({})", names.join(", "))
}

/// What went wrong with one request (see [`RegistryError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// 404, or an error body saying `MANIFEST_UNKNOWN`, `NAME_UNKNOWN` or `BLOB_UNKNOWN`.
    #[error("not found in the registry{}", show_codes(.codes))]
    NotFound { codes: Vec<ErrorCode> },
    /// 401/403 (after authenticating as challenged), `UNAUTHORIZED`/`DENIED`, or a token
    /// endpoint that refused or sent no token.
    #[error("access denied by the registry ({detail})")]
    Denied { detail: String },
    /// Sending the request would expose credentials (a plain-HTTP token realm).
    #[error("refused: {detail}")]
    Insecure { detail: String },
    /// Any other error status.
    #[error("HTTP {status}{}", show_codes(.codes))]
    Http {
        status: u16,
        codes: Vec<ErrorCode>,
        /// The delay `Retry-After` asked for.
        retry_after: Option<Duration>,
    },
    /// The transport failed: connect, reset, deadline, a body cut short.
    #[error("{detail}")]
    Network { detail: String },
    /// A redirect chain longer than [`crate::MAX_REDIRECTS`].
    #[error("more than {} redirects (MAX_REDIRECTS)", crate::MAX_REDIRECTS)]
    TooManyRedirects,
    /// A body (announced or read) over its limit; reading stopped there.
    #[error(
        "{what} of {size} bytes or more is larger than the limit of {limit} bytes ({limit_name})"
    )]
    TooLarge {
        what: String,
        size: u64,
        limit: u64,
        limit_name: &'static str,
    },
    /// The body's digest (`actual`) is not the one (`expected`) the header, reference or
    /// descriptor names; `detail` says which.
    #[error("{detail}")]
    DigestMismatch {
        expected: String,
        actual: String,
        detail: String,
    },
    /// An answer that is not what the API promises (bad JSON, a bad digest header).
    #[error("{detail}")]
    Invalid { detail: String },
}

/// Why a registry or HTTP request failed: the reference (or redacted URL) it was for, and
/// what went wrong. Never holds a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reference}: {kind}")]
pub struct RegistryError {
    /// The reference (`host/repo:tag`) or URL, without credentials.
    pub reference: String,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl RegistryError {
    /// An error for `reference`.
    pub fn new(reference: impl Into<String>, kind: ErrorKind) -> RegistryError {
        RegistryError {
            reference: reference.into(),
            kind,
        }
    }

    /// Whether the thing asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self.kind, ErrorKind::NotFound { .. })
    }

    /// The error for a non-success `status` with error body `body` and `retry_after`.
    pub(crate) fn from_status(
        reference: &str,
        status: u16,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> RegistryError {
        let codes = ErrorCode::from_body(body);
        let has = |c: ErrorCode| codes.contains(&c);
        let kind = if status == 404 || codes.iter().any(ErrorCode::is_unknown) {
            ErrorKind::NotFound { codes }
        } else if status == 401
            || status == 403
            || has(ErrorCode::Unauthorized)
            || has(ErrorCode::Denied)
        {
            ErrorKind::Denied {
                detail: format!("HTTP {status}{}", show_codes(&codes)),
            }
        } else {
            ErrorKind::Http {
                status,
                codes,
                retry_after,
            }
        };
        RegistryError::new(reference, kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_come_from_the_body_and_the_status() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#;
        let e = RegistryError::from_status("r/a:1", 404, body, None);
        assert_eq!(
            e.kind,
            ErrorKind::NotFound {
                codes: vec![ErrorCode::ManifestUnknown]
            }
        );
        assert_eq!(
            e.to_string(),
            "r/a:1: not found in the registry (MANIFEST_UNKNOWN)"
        );
        let e =
            RegistryError::from_status("r", 400, br#"{"errors":[{"code":"NAME_UNKNOWN"}]}"#, None);
        assert!(e.is_not_found());
        let e = RegistryError::from_status(
            "r",
            403,
            br#"{"errors":[{"code":"DENIED","message":"s3cret"}]}"#,
            None,
        );
        assert_eq!(
            e.to_string(),
            "r: access denied by the registry (HTTP 403 (DENIED))"
        );
        let e = RegistryError::from_status(
            "r",
            429,
            br#"{"errors":[{"code":"toomanyrequests"}]}"#,
            None,
        );
        assert!(
            matches!(&e.kind, ErrorKind::Http { status: 429, codes, .. } if codes == &[ErrorCode::TooManyRequests])
        );
        let e = RegistryError::from_status("r", 502, b"<html>bad gateway</html>", None);
        assert_eq!(e.to_string(), "r: HTTP 502");
        assert_eq!(ErrorCode::parse("X_Y").as_str(), "X_Y");
    }
}
