//! Sigstore's trusted root (`dev.sigstore.trustedroot.v1`): the Fulcio CAs, Rekor logs, CT logs
//! and timestamp authorities a verification trusts, each with its validity window.

use base64::Engine as _;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::time::parse_rfc3339;

/// Sigstore's public-good production `trusted_root.json` (from sigstore/root-signing,
/// Apache-2.0; see `data/NOTICE`).
pub const PRODUCTION_TRUSTED_ROOT: &[u8] = include_bytes!("../data/production.trusted_root.json");

/// A validity window in Unix seconds; `end` is inclusive, absent means open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// First second of validity.
    pub start: i64,
    /// Last second of validity, if any.
    pub end: Option<i64>,
}

impl Validity {
    /// Whether `t` lies inside the window.
    pub fn contains(&self, t: i64) -> bool {
        self.start <= t && self.end.is_none_or(|e| t <= e)
    }
}

/// A transparency log (Rekor) or certificate-transparency log key.
#[derive(Debug, Clone)]
pub struct LogKey {
    /// The log's base URL.
    pub base_url: String,
    /// The key ID the root declares (`logId.keyId`).
    pub log_id: Vec<u8>,
    /// The public key.
    pub key: PublicKey,
    /// When the key is valid.
    pub validity: Option<Validity>,
}

/// A certificate authority (Fulcio) or timestamp authority: a chain, leaf first.
#[derive(Debug, Clone)]
pub struct Authority {
    /// The authority's URI.
    pub uri: String,
    /// DER certificates, leaf (or intermediate) first, root last.
    pub certs: Vec<Vec<u8>>,
    /// When the authority is valid.
    pub validity: Option<Validity>,
}

/// A parsed trusted root.
#[derive(Debug, Clone)]
pub struct TrustedRoot {
    /// Rekor logs.
    pub tlogs: Vec<LogKey>,
    /// Fulcio certificate authorities.
    pub certificate_authorities: Vec<Authority>,
    /// Certificate-transparency logs.
    pub ctlogs: Vec<LogKey>,
    /// RFC 3161 timestamp authorities.
    pub timestamp_authorities: Vec<Authority>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoot {
    media_type: Option<String>,
    #[serde(default)]
    tlogs: Vec<RawLog>,
    #[serde(default)]
    certificate_authorities: Vec<RawAuthority>,
    #[serde(default)]
    ctlogs: Vec<RawLog>,
    #[serde(default)]
    timestamp_authorities: Vec<RawAuthority>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    #[serde(default)]
    base_url: String,
    public_key: RawKey,
    log_id: RawLogId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawKey {
    raw_bytes: Option<String>,
    valid_for: Option<RawRange>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
struct RawRange {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAuthority {
    #[serde(default)]
    uri: String,
    cert_chain: RawChain,
    valid_for: Option<RawRange>,
}

#[derive(Deserialize)]
struct RawChain {
    #[serde(default)]
    certificates: Vec<RawCert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCert {
    raw_bytes: String,
}

/// Standard base64; line breaks and spaces (as PEM-style writers insert them) are ignored.
pub(crate) fn b64(what: &'static str, s: &str) -> Result<Vec<u8>> {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| Error::malformed(what, format!("bad base64: {e}")))
}

fn validity(range: Option<RawRange>) -> Result<Option<Validity>> {
    let Some(range) = range else { return Ok(None) };
    let start = range
        .start
        .ok_or_else(|| Error::malformed("trusted root", "validFor without start"))?;
    Ok(Some(Validity {
        start: parse_rfc3339(&start)?,
        end: range.end.as_deref().map(parse_rfc3339).transpose()?,
    }))
}

fn log(raw: RawLog) -> Result<Option<LogKey>> {
    let validity = validity(raw.public_key.valid_for)?;
    let Some(bytes) = raw.public_key.raw_bytes else {
        return Ok(None);
    };
    // A key imagebom cannot use (e.g. a bare PKCS#1 RSA key) is skipped, as Sigstore clients do.
    let Ok(key) = PublicKey::from_spki_der(&b64("trusted root", &bytes)?) else {
        return Ok(None);
    };
    Ok(Some(LogKey {
        base_url: raw.base_url,
        log_id: b64("trusted root", &raw.log_id.key_id)?,
        key,
        validity,
    }))
}

fn authority(raw: RawAuthority) -> Result<Authority> {
    let certs = raw
        .cert_chain
        .certificates
        .iter()
        .map(|c| b64("trusted root", &c.raw_bytes))
        .collect::<Result<Vec<_>>>()?;
    if certs.is_empty() {
        return Err(Error::malformed(
            "trusted root",
            "authority without certificates",
        ));
    }
    Ok(Authority {
        uri: raw.uri,
        certs,
        validity: validity(raw.valid_for)?,
    })
}

impl TrustedRoot {
    /// The shipped public-good production root.
    pub fn production() -> Self {
        Self::from_json(PRODUCTION_TRUSTED_ROOT).expect("the shipped trusted root parses")
    }

    /// Parses a `trusted_root.json` (or a `ClientTrustConfig` wrapping one in `trustedRoot`).
    pub fn from_json(json: &[u8]) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| Error::malformed("trusted root", e))?;
        let value = match value.get("trustedRoot") {
            Some(inner) => inner.clone(),
            None => value,
        };
        let raw: RawRoot =
            serde_json::from_value(value).map_err(|e| Error::malformed("trusted root", e))?;
        if let Some(mt) = &raw.media_type {
            if !mt.starts_with("application/vnd.dev.sigstore.trustedroot") {
                return Err(Error::malformed("trusted root", format!("media type {mt}")));
            }
        }
        let logs = |v: Vec<RawLog>| -> Result<Vec<LogKey>> {
            Ok(v.into_iter()
                .map(log)
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .flatten()
                .collect())
        };
        let auths = |v: Vec<RawAuthority>| v.into_iter().map(authority).collect::<Result<Vec<_>>>();
        Ok(TrustedRoot {
            tlogs: logs(raw.tlogs)?,
            ctlogs: logs(raw.ctlogs)?,
            certificate_authorities: auths(raw.certificate_authorities)?,
            timestamp_authorities: auths(raw.timestamp_authorities)?,
        })
    }
}

/// A set of log keys used for verification: keys not yet valid at `now` are left out; expired
/// ones stay (they may have been valid when the entry was made).
pub(crate) struct Keyring<'a> {
    keys: Vec<&'a LogKey>,
}

impl<'a> Keyring<'a> {
    pub(crate) fn new(logs: &'a [LogKey], now: i64) -> Self {
        let keys = logs
            .iter()
            .filter(|k| k.validity.is_none_or(|v| v.start <= now))
            .collect();
        Keyring { keys }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Verifies with the key whose ID is `key_id` or, when none matches, with any key.
    pub(crate) fn verify(&self, key_id: &[u8], data: &[u8], sig: &[u8]) -> Result<()> {
        let matching: Vec<&&LogKey> = self
            .keys
            .iter()
            .filter(|k| k.key.key_id().as_slice() == key_id)
            .collect();
        let candidates: Vec<&&LogKey> = if matching.is_empty() {
            self.keys.iter().collect()
        } else {
            matching
        };
        if candidates.iter().any(|k| k.key.verify(data, sig).is_ok()) {
            Ok(())
        } else {
            Err(Error::invalid("no trusted log key verifies the signature"))
        }
    }
}
