//! Rekor transparency-log entries checked offline: the RFC 6962 inclusion proof, the signed
//! checkpoint (a signed note), the inclusion promise (SET) and the entry body against the
//! signature, key or certificate and artifact it must record.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::keys::{pem_blocks, HashAlg};
use crate::trust::{b64, Keyring};

/// A bundle's `tlogEntries[]` element.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Entry {
    #[serde(default)]
    pub log_index: Option<Value>,
    pub log_id: LogId,
    pub kind_version: KindVersion,
    #[serde(default)]
    pub integrated_time: Option<Value>,
    #[serde(default)]
    pub inclusion_promise: Option<Promise>,
    #[serde(default)]
    pub inclusion_proof: Option<Proof>,
    pub canonicalized_body: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LogId {
    pub key_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct KindVersion {
    pub kind: String,
    pub version: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Promise {
    pub signed_entry_timestamp: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Proof {
    pub log_index: Value,
    pub root_hash: String,
    pub tree_size: Value,
    #[serde(default)]
    pub hashes: Vec<String>,
    #[serde(default)]
    pub checkpoint: Option<Checkpoint>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Checkpoint {
    pub envelope: String,
}

/// An int64 as protobuf JSON writes it (a string) or as a number; negative is malformed.
pub(crate) fn uint(what: &'static str, v: &Value) -> Result<u64> {
    let parsed = match v {
        Value::String(s) => s.parse::<u64>().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        Error::malformed(
            "bundle",
            format!("{what} is not a non-negative integer: {v}"),
        )
    })
}

impl Entry {
    pub(crate) fn log_id(&self) -> Result<Vec<u8>> {
        b64("bundle", &self.log_id.key_id)
    }

    pub(crate) fn body(&self) -> Result<Vec<u8>> {
        b64("bundle", &self.canonicalized_body)
    }

    pub(crate) fn log_index(&self) -> Result<Option<u64>> {
        self.log_index
            .as_ref()
            .map(|v| uint("logIndex", v))
            .transpose()
    }

    /// The integrated time, when set and non-zero.
    pub(crate) fn integrated_time(&self) -> Result<Option<i64>> {
        let t = self
            .integrated_time
            .as_ref()
            .map(|v| uint("integratedTime", v))
            .transpose()?;
        Ok(t.filter(|t| *t != 0).map(|t| t as i64))
    }

    /// Checks the inclusion proof and its checkpoint, and the inclusion promise when present
    /// (without a proof, which only a v0.1 bundle may omit, the promise is required).
    pub(crate) fn verify(&self, rekor: &Keyring) -> Result<()> {
        let body = self.body()?;
        let Some(proof) = self.inclusion_proof.as_ref() else {
            return match (&self.inclusion_promise, self.integrated_time()?) {
                (Some(_), Some(_)) => self.verify_promise(&body, rekor),
                _ => Err(Error::invalid(
                    "the log entry has neither an inclusion proof nor a promise",
                )),
            };
        };
        verify_inclusion(proof, &body)?;
        let checkpoint = proof
            .checkpoint
            .as_ref()
            .ok_or_else(|| Error::invalid("the inclusion proof has no checkpoint"))?;
        verify_checkpoint(
            &checkpoint.envelope,
            &self.log_id()?,
            &b64("bundle", &proof.root_hash)?,
            rekor,
        )?;
        if self.inclusion_promise.is_some() && self.integrated_time()?.is_some() {
            self.verify_promise(&body, rekor)?;
        }
        Ok(())
    }

    fn verify_promise(&self, body: &[u8], rekor: &Keyring) -> Result<()> {
        let (Some(promise), Some(t)) = (&self.inclusion_promise, self.integrated_time()?) else {
            return Err(Error::invalid("the log entry has no inclusion promise"));
        };
        let index = self
            .log_index()?
            .ok_or_else(|| Error::malformed("bundle", "logIndex missing"))?;
        let set = b64("bundle", &promise.signed_entry_timestamp)?;
        verify_set(body, t, &self.log_id()?, index, &set, rekor)
    }
}

fn node(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// RFC 6962 / RFC 9162 inclusion: the root rebuilt from the leaf and the audit path.
fn verify_inclusion(proof: &Proof, body: &[u8]) -> Result<()> {
    let index = uint("inclusionProof.logIndex", &proof.log_index)?;
    let size = uint("inclusionProof.treeSize", &proof.tree_size)?;
    if index >= size {
        return Err(Error::invalid(format!(
            "inclusion proof index {index} is outside the tree of size {size}"
        )));
    }
    let hashes = proof
        .hashes
        .iter()
        .map(|h| b64("bundle", h))
        .collect::<Result<Vec<_>>>()?;
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index >> inner).count_ones() as usize;
    if hashes.len() != inner + border {
        return Err(Error::invalid(format!(
            "inclusion proof has {} hashes, expected {}",
            hashes.len(),
            inner + border
        )));
    }
    let mut leaf = Sha256::new();
    leaf.update([0u8]);
    leaf.update(body);
    let mut acc: [u8; 32] = leaf.finalize().into();
    for (i, h) in hashes[..inner].iter().enumerate() {
        acc = if (index >> i) & 1 == 0 {
            node(&acc, h)
        } else {
            node(h, &acc)
        };
    }
    for h in &hashes[inner..] {
        acc = node(h, &acc);
    }
    let root = b64("bundle", &proof.root_hash)?;
    if acc.as_slice() != root.as_slice() {
        return Err(Error::invalid(
            "inclusion proof does not lead to the root hash",
        ));
    }
    Ok(())
}

/// Base64 as Python's lenient decoder reads it: characters outside the alphabet are dropped.
fn lenient_b64(s: &str) -> Option<Vec<u8>> {
    let clean: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
        .collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

/// A signed note (`origin\nsize\nroot\n[other]\n\n— name sig\n…`) verified with the log key
/// whose 4-byte hint matches the entry's log ID; its root must equal the proof's.
fn verify_checkpoint(text: &str, log_id: &[u8], root: &[u8], rekor: &Keyring) -> Result<()> {
    let bad = |d: &str| Error::invalid(format!("checkpoint: {d}"));
    if text.matches("\n\n").count() != 1 {
        return Err(bad("the note must contain exactly one blank line"));
    }
    let split = text.find("\n\n").expect("counted");
    let header = &text[..=split];
    let data = &text[split + 2..];
    if data.is_empty() {
        return Err(bad("no signature"));
    }
    if !data.ends_with('\n') {
        return Err(bad("the signature block must end with a newline"));
    }
    let lines: Vec<&str> = header.trim().split('\n').collect();
    if lines.len() < 3 || lines[0].is_empty() {
        return Err(bad("too few lines in the header"));
    }
    lines[1]
        .trim()
        .parse::<u64>()
        .map_err(|_| bad("bad tree size"))?;
    let note_root = lenient_b64(lines[2]).ok_or_else(|| bad("bad root hash"))?;
    let sig_line = regex::Regex::new(r"\x{2014} (\S+) (\S+)\n").expect("valid regex");
    let mut sigs = Vec::new();
    for cap in sig_line.captures_iter(data) {
        let bytes = lenient_b64(&cap[2]).ok_or_else(|| bad("bad signature base64"))?;
        if bytes.len() < 5 {
            return Err(bad("signature too short"));
        }
        sigs.push(bytes);
    }
    let hint = log_id.get(..4).ok_or_else(|| bad("log ID too short"))?;
    let sig = sigs
        .iter()
        .find(|s| &s[..4] == hint)
        .ok_or_else(|| bad("no signature from the entry's log"))?;
    rekor
        .verify(log_id, header.as_bytes(), &sig[4..])
        .map_err(|e| bad(&e.to_string()))?;
    if note_root != root {
        return Err(bad("its root hash differs from the inclusion proof's"));
    }
    Ok(())
}

/// The inclusion promise: the log's signature over the canonical JSON of the entry.
pub(crate) fn verify_set(
    body: &[u8],
    integrated_time: i64,
    log_id: &[u8],
    log_index: u64,
    set: &[u8],
    rekor: &Keyring,
) -> Result<()> {
    // RFC 8785 for these four keys: sorted, compact, integers and ASCII strings.
    let canonical = format!(
        "{{\"body\":\"{}\",\"integratedTime\":{integrated_time},\"logID\":\"{}\",\"logIndex\":{log_index}}}",
        base64::engine::general_purpose::STANDARD.encode(body),
        hex::encode(log_id)
    );
    rekor
        .verify(log_id, canonical.as_bytes(), set)
        .map_err(|e| Error::invalid(format!("inclusion promise (SET): {e}")))
}

/// What signed: a certificate (DER) or a bare key (SPKI DER).
#[derive(Clone, Copy)]
pub(crate) enum Verifier<'a> {
    Certificate(&'a [u8]),
    Key(&'a [u8], &'static str),
}

fn inconsistent(what: &str) -> Error {
    Error::invalid(format!(
        "the transparency log entry is inconsistent with the bundle: {what}"
    ))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// Whether a v1 body's base64 PEM `content` holds the verifier (certificate or key).
fn pem_matches(content: Option<&str>, verifier: Verifier) -> bool {
    let Some(pem) = content
        .and_then(lenient_b64)
        .and_then(|b| String::from_utf8(b).ok())
    else {
        return false;
    };
    let (label, der) = match verifier {
        Verifier::Certificate(d) => ("CERTIFICATE", d),
        Verifier::Key(d, _) => ("PUBLIC KEY", d),
    };
    pem_blocks(&pem, label).is_ok_and(|b| b.len() == 1 && b[0] == der)
}

fn b64_eq(s: Option<&str>, bytes: &[u8]) -> bool {
    s.and_then(lenient_b64).is_some_and(|d| d == bytes)
}

pub(crate) fn parse_body(body: &[u8], kind: &str, version: &str) -> Result<Value> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| Error::malformed("log entry body", e))?;
    if str_at(&v, &["kind"]) != Some(kind) || str_at(&v, &["apiVersion"]) != Some(version) {
        return Err(inconsistent("kind or apiVersion"));
    }
    Ok(v)
}

/// A `hashedrekord` body (0.0.1 or 0.0.2) against the digest, signature and verifier.
pub(crate) fn check_hashedrekord(
    body: &[u8],
    version: &str,
    alg: HashAlg,
    digest: &[u8],
    sig: &[u8],
    verifier: Verifier,
) -> Result<()> {
    let v = parse_body(body, "hashedrekord", version)?;
    match version {
        "0.0.1" => {
            let spec = &v["spec"];
            if alg != HashAlg::Sha256
                || str_at(spec, &["data", "hash", "algorithm"]) != Some("sha256")
                || str_at(spec, &["data", "hash", "value"]) != Some(hex::encode(digest).as_str())
            {
                return Err(inconsistent("artifact digest"));
            }
            if !b64_eq(str_at(spec, &["signature", "content"]), sig) {
                return Err(inconsistent("signature"));
            }
            if !pem_matches(
                str_at(spec, &["signature", "publicKey", "content"]),
                verifier,
            ) {
                return Err(inconsistent("certificate or key"));
            }
        }
        "0.0.2" => {
            let spec = &v["spec"]["hashedRekordV002"];
            let alg_name = match alg {
                HashAlg::Sha256 => "SHA2_256",
                HashAlg::Sha384 => "SHA2_384",
                HashAlg::Sha512 => "SHA2_512",
            };
            if str_at(spec, &["data", "algorithm"]) != Some(alg_name)
                || !b64_eq(str_at(spec, &["data", "digest"]), digest)
            {
                return Err(inconsistent("artifact digest"));
            }
            if !b64_eq(str_at(spec, &["signature", "content"]), sig) {
                return Err(inconsistent("signature"));
            }
            check_v2_verifier(&spec["signature"]["verifier"], verifier)?;
        }
        other => return Err(Error::Unsupported(format!("hashedrekord version {other}"))),
    }
    Ok(())
}

fn check_v2_verifier(v: &Value, verifier: Verifier) -> Result<()> {
    let ok = match verifier {
        Verifier::Certificate(der) => {
            let details_ok = match crate::x509::parse(der).and_then(|c| crate::x509::public_key(&c))
            {
                Ok(k) => str_at(v, &["keyDetails"]) == Some(k.kind().sigstore_details()),
                Err(_) => false,
            };
            details_ok && b64_eq(str_at(v, &["x509Certificate", "rawBytes"]), der)
        }
        Verifier::Key(spki, details) => {
            str_at(v, &["keyDetails"]) == Some(details)
                && b64_eq(str_at(v, &["publicKey", "rawBytes"]), spki)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(inconsistent("certificate or key"))
    }
}

/// The `kind` of a log entry body.
pub(crate) fn body_kind(body: &[u8]) -> Result<String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| Error::malformed("log entry body", e))?;
    Ok(str_at(&v, &["kind"]).unwrap_or_default().to_string())
}

/// A `dsse` 0.0.1 body's `envelopeHash` against the exact envelope bytes (known for cosign
/// layers, not for bundles, whose envelope JSON is re-serialised).
pub(crate) fn check_envelope_hash(body: &[u8], envelope: &[u8]) -> Result<()> {
    let v = parse_body(body, "dsse", "0.0.1")?;
    let h = &v["spec"]["envelopeHash"];
    if str_at(h, &["algorithm"]) != Some("sha256")
        || str_at(h, &["value"]) != Some(hex::encode(Sha256::digest(envelope)).as_str())
    {
        return Err(inconsistent("envelope hash"));
    }
    Ok(())
}

/// A `dsse` 0.0.1 body: the payload hash and every envelope signature with its verifier.
pub(crate) fn check_dsse_v001(
    body: &[u8],
    payload: &[u8],
    sigs: &[Vec<u8>],
    verifier: Verifier,
) -> Result<()> {
    let v = parse_body(body, "dsse", "0.0.1")?;
    let spec = &v["spec"];
    if str_at(spec, &["payloadHash", "algorithm"]) != Some("sha256")
        || str_at(spec, &["payloadHash", "value"])
            != Some(hex::encode(Sha256::digest(payload)).as_str())
    {
        return Err(inconsistent("payload hash"));
    }
    let recorded = spec["signatures"].as_array().cloned().unwrap_or_default();
    let same = recorded.len() == sigs.len()
        && recorded.iter().zip(sigs).all(|(r, s)| {
            b64_eq(str_at(r, &["signature"]), s) && pem_matches(str_at(r, &["verifier"]), verifier)
        });
    if !same {
        return Err(inconsistent("signatures"));
    }
    Ok(())
}

/// An `intoto` 0.0.2 body (npm and slsa-github-generator provenance): the payload hash, the
/// payload type, and every signature (Rekor stores them base64 twice) with its verifier.
pub(crate) fn check_intoto_v002(
    body: &[u8],
    env: &crate::dsse::Envelope,
    verifier: Verifier,
) -> Result<()> {
    let v = parse_body(body, "intoto", "0.0.2")?;
    let content = &v["spec"]["content"];
    let hash = &content["payloadHash"];
    if str_at(hash, &["algorithm"]) != Some("sha256")
        || str_at(hash, &["value"]) != Some(hex::encode(Sha256::digest(&env.payload)).as_str())
    {
        return Err(inconsistent("payload hash"));
    }
    let recorded = &content["envelope"];
    if str_at(recorded, &["payloadType"]) != Some(env.payload_type.as_str()) {
        return Err(inconsistent("payload type"));
    }
    let sigs = recorded["signatures"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let twice = |s: Option<&str>| {
        s.and_then(lenient_b64)
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| lenient_b64(&s))
    };
    let same = sigs.len() == env.signatures.len()
        && sigs.iter().zip(&env.signatures).all(|(r, s)| {
            twice(str_at(r, &["sig"])).as_deref() == Some(s.as_slice())
                && pem_matches(str_at(r, &["publicKey"]), verifier)
        });
    if !same {
        return Err(inconsistent("signatures"));
    }
    Ok(())
}

/// An `intoto` 0.0.1 body (cosign's legacy `.att` entries): the envelope and payload hashes
/// and the certificate or key.
pub(crate) fn check_intoto_v001(
    body: &[u8],
    envelope: &[u8],
    payload: &[u8],
    verifier: Verifier,
) -> Result<()> {
    let v = parse_body(body, "intoto", "0.0.1")?;
    let content = &v["spec"]["content"];
    let hash_ok = |field: &str, data: &[u8]| match content.get(field) {
        None => true,
        Some(h) => {
            str_at(h, &["algorithm"]) == Some("sha256")
                && str_at(h, &["value"]) == Some(hex::encode(Sha256::digest(data)).as_str())
        }
    };
    if content.get("payloadHash").is_none() || !hash_ok("payloadHash", payload) {
        return Err(inconsistent("payload hash"));
    }
    if !hash_ok("hash", envelope) {
        return Err(inconsistent("envelope hash"));
    }
    if !pem_matches(str_at(&v, &["spec", "publicKey"]), verifier) {
        return Err(inconsistent("certificate or key"));
    }
    Ok(())
}
