//! DSSE envelopes (in-toto's signature wrapper) and their pre-authentication encoding.

use base64::Engine as _;
use serde::Deserialize;

use crate::error::{Error, Result};

/// A parsed DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `payloadType` (in-toto: `application/vnd.in-toto+json`).
    pub payload_type: String,
    /// The decoded payload.
    pub payload: Vec<u8>,
    /// The decoded signatures.
    pub signatures: Vec<Vec<u8>>,
}

/// The in-toto payload type.
pub const IN_TOTO: &str = "application/vnd.in-toto+json";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    payload_type: String,
    payload: String,
    #[serde(default)]
    signatures: Vec<RawSig>,
}

#[derive(Deserialize)]
struct RawSig {
    sig: String,
}

/// Decodes standard base64, or URL-safe (some DSSE writers use it), with or without padding;
/// `what` names the input in the error.
pub fn decode_b64(what: &'static str, s: &str) -> Result<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let trimmed = compact.trim_end_matches('=');
    let pad = "=".repeat((4 - trimmed.len() % 4) % 4);
    let padded = format!("{trimmed}{pad}");
    STANDARD
        .decode(&padded)
        .or_else(|_| URL_SAFE.decode(&padded))
        .map_err(|e| Error::malformed(what, format!("bad base64: {e}")))
}

impl Envelope {
    /// Parses an envelope's JSON.
    pub fn from_json(json: &[u8]) -> Result<Self> {
        let raw: Raw =
            serde_json::from_slice(json).map_err(|e| Error::malformed("DSSE envelope", e))?;
        Self::from_raw(raw)
    }

    pub(crate) fn from_value(v: &serde_json::Value) -> Result<Self> {
        let raw: Raw =
            serde_json::from_value(v.clone()).map_err(|e| Error::malformed("DSSE envelope", e))?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: Raw) -> Result<Self> {
        let signatures = raw
            .signatures
            .iter()
            .map(|s| decode_b64("DSSE envelope", &s.sig))
            .collect::<Result<Vec<_>>>()?;
        Ok(Envelope {
            payload_type: raw.payload_type,
            payload: decode_b64("DSSE envelope", &raw.payload)?,
            signatures,
        })
    }

    /// The pre-authentication encoding the signatures cover.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// The one signature (DSSE for Sigstore carries exactly one).
    pub(crate) fn single_signature(&self) -> Result<&[u8]> {
        match self.signatures.as_slice() {
            [one] if !one.is_empty() => Ok(one),
            [_] => Err(Error::malformed("DSSE envelope", "empty signature")),
            many => Err(Error::invalid(format!(
                "the DSSE envelope must have exactly one signature, it has {}",
                many.len()
            ))),
        }
    }
}

/// `DSSEv1 <len(type)> <type> <len(body)> <body>`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Standard base64 of `bytes` (for messages and tests).
pub fn encode_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
