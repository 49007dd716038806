//! Whom a verification trusts: keyless identities (SAN + OIDC issuer) or a public key.

use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::x509::CertIdentity;

/// A string matcher: exact, or a regular expression (unanchored, as cosign's and Kyverno's
/// `…RegExp` fields are; anchor it with `^…$` to match whole values).
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Equal to this string.
    Exact(String),
    /// Matches this regular expression.
    Regex(regex::Regex),
}

impl Matcher {
    /// A regular-expression matcher; a bad pattern is an error naming it.
    pub fn regex(pattern: &str) -> Result<Self> {
        regex::Regex::new(pattern)
            .map(Matcher::Regex)
            .map_err(|e| Error::malformed("identity regular expression", format!("{pattern}: {e}")))
    }

    /// Whether `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(s) => s == value,
            Matcher::Regex(r) => r.is_match(value),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Matcher::Exact(s) => write!(f, "{s}"),
            Matcher::Regex(r) => write!(f, "/{}/", r.as_str()),
        }
    }
}

/// One trusted keyless signer: the certificate's SAN (URI, email or Sigstore otherName) and
/// its OIDC issuer extension.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The SAN to match.
    pub subject: Matcher,
    /// The OIDC issuer to match; `None` accepts any (a private PKI has none).
    pub issuer: Option<Matcher>,
}

impl Identity {
    /// An exact subject and issuer.
    pub fn exact(subject: &str, issuer: &str) -> Self {
        Identity {
            subject: Matcher::Exact(subject.to_string()),
            issuer: Some(Matcher::Exact(issuer.to_string())),
        }
    }
}

/// What a signature must satisfy.
#[derive(Debug, Clone)]
pub enum Policy {
    /// Keyless: the Fulcio certificate must carry one of these identities.
    Identities(Vec<Identity>),
    /// Keyed: signed by this key (no certificate needed).
    Key(PublicKey),
    /// Keyless, any identity: everything is verified except who signed, which the verdict
    /// reports for a later policy decision.
    AnyIdentity,
}

impl Policy {
    /// Checks a certificate's identity against the policy (keyless policies only).
    pub(crate) fn check_identity(&self, id: &CertIdentity) -> Result<()> {
        let identities = match self {
            Policy::AnyIdentity => return Ok(()),
            Policy::Key(_) => {
                return Err(Error::Policy(
                    "a key is required, the signature is keyless".into(),
                ))
            }
            Policy::Identities(ids) => ids,
        };
        if identities.is_empty() {
            return Err(Error::Policy("no trusted identity is configured".into()));
        }
        let issuer = id.issuer.as_deref().unwrap_or_default();
        let found = identities.iter().any(|want| {
            want.issuer.as_ref().is_none_or(|m| m.matches(issuer))
                && id.sans.iter().any(|s| want.subject.matches(s))
        });
        if found {
            return Ok(());
        }
        let wanted: Vec<String> = identities
            .iter()
            .map(|i| match &i.issuer {
                Some(iss) => format!("{} from {iss}", i.subject),
                None => i.subject.to_string(),
            })
            .collect();
        Err(Error::Policy(format!(
            "the certificate's identity {} from issuer {} matches none of: {}",
            id.sans.join(", "),
            if issuer.is_empty() { "(none)" } else { issuer },
            wanted.join("; ")
        )))
    }
}
