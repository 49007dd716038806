//! Sigstore bundles (v0.1, v0.2, v0.3) verified offline against a trusted root and a policy,
//! following the Sigstore client specification's order of checks.

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::attest::Statement;
use crate::dsse::{Envelope, IN_TOTO};
use crate::error::{Error, Result};
use crate::keys::{HashAlg, KeyKind, PublicKey};
use crate::policy::Policy;
use crate::tlog::{self, Entry, Verifier};
use crate::trust::{b64, Keyring, TrustedRoot};
use crate::{tsa, x509, Artifact, Options, Signer, TimeSource, Verified, VerifiedTime};

const MEDIA_V01: &str = "application/vnd.dev.sigstore.bundle+json;version=0.1";
const MEDIA_V02: &str = "application/vnd.dev.sigstore.bundle+json;version=0.2";
const MEDIA_V03_ALT: &str = "application/vnd.dev.sigstore.bundle+json;version=0.3";
const MEDIA_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// More timestamps than this are refused (as sigstore-go and sigstore-python do).
const MAX_TIMESTAMPS: usize = 32;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBundle {
    media_type: String,
    verification_material: Material,
    message_signature: Option<MessageSignature>,
    dsse_envelope: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Material {
    certificate: Option<RawCert>,
    x509_certificate_chain: Option<Chain>,
    public_key: Option<serde_json::Value>,
    #[serde(default)]
    tlog_entries: Vec<Entry>,
    timestamp_verification_data: Option<Tvd>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCert {
    raw_bytes: String,
}

#[derive(Deserialize)]
struct Chain {
    #[serde(default)]
    certificates: Vec<RawCert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tvd {
    #[serde(default)]
    rfc3161_timestamps: Vec<SignedTimestamp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignedTimestamp {
    signed_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageSignature {
    message_digest: Option<MessageDigest>,
    signature: String,
}

#[derive(Deserialize)]
struct MessageDigest {
    algorithm: String,
    digest: String,
}

enum Content {
    Message {
        digest: Option<(String, Vec<u8>)>,
        signature: Vec<u8>,
    },
    Dsse(Envelope),
}

/// A bundle read and checked for shape, before any cryptography.
struct Parsed {
    leaf: Option<Vec<u8>>,
    entry: Entry,
    timestamps: Vec<Vec<u8>>,
    content: Content,
}

fn malformed(d: impl std::fmt::Display) -> Error {
    Error::malformed("bundle", d)
}

fn parse(json: &[u8], keyed: bool) -> Result<Parsed> {
    let raw: RawBundle = serde_json::from_slice(json).map_err(malformed)?;
    let vm = raw.verification_material;
    let leaf = match raw.media_type.as_str() {
        MEDIA_V03 | MEDIA_V03_ALT => match (vm.certificate, &vm.public_key) {
            (Some(c), _) => Some(b64("bundle", &c.raw_bytes)?),
            (None, Some(_)) if keyed => None,
            _ => return Err(malformed("expected a certificate in the bundle")),
        },
        MEDIA_V01 | MEDIA_V02 => match (vm.x509_certificate_chain, &vm.public_key) {
            (Some(chain), _) => {
                let first = chain
                    .certificates
                    .first()
                    .ok_or_else(|| malformed("empty certificate chain"))?;
                let der = b64("bundle", &first.raw_bytes)?;
                if x509::is_ca(&x509::parse(&der)?) {
                    return Err(malformed(
                        "the first certificate of the chain is a CA, not a signing certificate",
                    ));
                }
                Some(der)
            }
            (None, Some(_)) if keyed => None,
            _ => return Err(malformed("expected a certificate chain in the bundle")),
        },
        other => return Err(malformed(format!("unsupported media type {other:?}"))),
    };
    let [entry] = <[Entry; 1]>::try_from(vm.tlog_entries).map_err(|v| {
        malformed(format!(
            "expected exactly one transparency log entry, found {}",
            v.len()
        ))
    })?;
    if !matches!(entry.kind_version.version.as_str(), "0.0.1" | "0.0.2") {
        return Err(Error::Unsupported(format!(
            "log entry version {}",
            entry.kind_version.version
        )));
    }
    entry.log_index()?;
    // A v0.1 bundle may carry only the promise (the proof became mandatory in v0.2); a proof
    // that is there must have its checkpoint.
    let promise_only = raw.media_type == MEDIA_V01
        && entry.inclusion_proof.is_none()
        && entry.inclusion_promise.is_some();
    if !promise_only
        && entry
            .inclusion_proof
            .as_ref()
            .is_none_or(|p| p.checkpoint.is_none())
    {
        return Err(malformed(
            "the log entry needs an inclusion proof with a checkpoint",
        ));
    }
    let timestamps = vm
        .timestamp_verification_data
        .map(|t| t.rfc3161_timestamps)
        .unwrap_or_default()
        .iter()
        .map(|t| b64("bundle", &t.signed_timestamp))
        .collect::<Result<Vec<_>>>()?;
    if raw.media_type == MEDIA_V01 && entry.inclusion_promise.is_none() {
        return Err(malformed("a v0.1 bundle must carry an inclusion promise"));
    }
    if entry.inclusion_promise.is_none() && timestamps.is_empty() {
        return Err(malformed(
            "the bundle needs an inclusion promise or signed timestamps",
        ));
    }
    let content = match (raw.message_signature, raw.dsse_envelope) {
        (Some(m), None) => Content::Message {
            digest: m
                .message_digest
                .map(|d| Ok::<_, Error>((d.algorithm, b64("bundle", &d.digest)?)))
                .transpose()?,
            signature: b64("bundle", &m.signature)?,
        },
        (None, Some(e)) => {
            let env = Envelope::from_value(&e)?;
            env.single_signature()?;
            Content::Dsse(env)
        }
        _ => {
            return Err(malformed(
                "expected exactly one of messageSignature and dsseEnvelope",
            ))
        }
    };
    Ok(Parsed {
        leaf,
        entry,
        timestamps,
        content,
    })
}

impl Parsed {
    fn signature(&self) -> &[u8] {
        match &self.content {
            Content::Message { signature, .. } => signature,
            Content::Dsse(env) => env
                .signatures
                .first()
                .map(Vec::as_slice)
                .unwrap_or_default(),
        }
    }
}

/// Verified times: RFC 3161 timestamps over the signature, and the log's integrated time when
/// an inclusion promise binds it.
fn establish_times(p: &Parsed, root: &TrustedRoot, now: i64) -> Result<Vec<VerifiedTime>> {
    let mut times = Vec::new();
    if !p.timestamps.is_empty() {
        if root.timestamp_authorities.is_empty() {
            return Err(Error::invalid(
                "the bundle has signed timestamps but the trusted root has no timestamp authority",
            ));
        }
        if p.timestamps.len() > MAX_TIMESTAMPS {
            return Err(Error::invalid(format!(
                "too many signed timestamps ({})",
                p.timestamps.len()
            )));
        }
        let mut seen = std::collections::BTreeSet::new();
        for ts in &p.timestamps {
            if !seen.insert(ts) {
                return Err(Error::invalid("duplicate signed timestamp"));
            }
            let parsed = tsa::parse(ts)?;
            let authorities = root
                .timestamp_authorities
                .iter()
                .filter(|a| a.validity.is_none_or(|v| v.start <= now));
            if let Some(t) = authorities
                .filter_map(|a| parsed.verify(p.signature(), a).ok())
                .next()
            {
                times.push(VerifiedTime {
                    source: TimeSource::TimestampAuthority,
                    unix: t,
                });
            }
        }
    }
    if let (Some(t), Some(_)) = (p.entry.integrated_time()?, &p.entry.inclusion_promise) {
        let kv = &p.entry.kind_version;
        // Rekor v1 entries carry an integrated time; Rekor v2's (hashedrekord / dsse 0.0.2) do not.
        if matches!(
            (kv.kind.as_str(), kv.version.as_str()),
            ("hashedrekord" | "dsse", "0.0.2")
        ) {
            return Err(Error::Unsupported(format!(
                "an integrated time on a {}/{} entry",
                kv.kind, kv.version
            )));
        }
        times.push(VerifiedTime {
            source: TimeSource::TransparencyLog,
            unix: t,
        });
    }
    Ok(times)
}

/// The keyless checks shared with cosign's legacy format: the chain at every verified time, the
/// SCT, the leaf profile and the identity policy.
pub(crate) fn verify_certificate(
    leaf_der: &[u8],
    times: &[VerifiedTime],
    root: &TrustedRoot,
    policy: &Policy,
    opts: &Options,
) -> Result<x509::CertIdentity> {
    if times.is_empty() {
        return Err(Error::invalid(
            "no verified time for the signature (no valid timestamp or inclusion promise)",
        ));
    }
    let leaf = x509::parse(leaf_der)?;
    let anchors: Vec<&[u8]> = root
        .certificate_authorities
        .iter()
        .filter(|a| a.validity.is_none_or(|v| v.start <= opts.now))
        .flat_map(|a| a.certs.iter().map(Vec::as_slice))
        .collect();
    let mut chain = Vec::new();
    for t in times {
        chain = x509::verify_chain(&leaf, &anchors, t.unix)?;
    }
    if opts.fulcio_profile {
        x509::verify_sct(&leaf, &chain, &Keyring::new(&root.ctlogs, opts.now))?;
    }
    x509::check_leaf_profile(&leaf, opts.fulcio_profile)?;
    let id = x509::identity(&leaf);
    policy.check_identity(&id)?;
    Ok(id)
}

/// The signing key and how the log records it.
fn signing_key<'a>(
    leaf: &'a Option<Vec<u8>>,
    policy: &'a Policy,
) -> Result<(PublicKey, Verifier<'a>)> {
    match (leaf, policy) {
        (Some(der), Policy::Key(key)) => {
            let cert_key = x509::public_key(&x509::parse(der)?)?;
            if &cert_key != key {
                return Err(Error::Policy(
                    "the bundle's certificate does not hold the required key".into(),
                ));
            }
            Ok((cert_key, Verifier::Certificate(der)))
        }
        (Some(der), _) => Ok((
            x509::public_key(&x509::parse(der)?)?,
            Verifier::Certificate(der),
        )),
        (None, Policy::Key(key)) => Ok((
            key.clone(),
            Verifier::Key(key.spki_der(), key.kind().sigstore_details()),
        )),
        (None, _) => Err(Error::Policy(
            "the bundle is key-signed; a key is required to verify it".into(),
        )),
    }
}

/// Verifies a Sigstore bundle's JSON against `artifact` (for a DSSE bundle: an in-toto subject
/// digest), `root` and `policy`.
pub fn verify_bundle(
    json: &[u8],
    artifact: &Artifact,
    root: &TrustedRoot,
    policy: &Policy,
    opts: &Options,
) -> Result<Verified> {
    let keyed = matches!(policy, Policy::Key(_));
    let p = parse(json, keyed)?;
    let times = establish_times(&p, root, opts.now)?;
    let (key, verifier) = signing_key(&p.leaf, policy)?;
    let signer = match (&p.leaf, keyed) {
        (Some(der), false) => Signer::Keyless(verify_certificate(der, &times, root, policy, opts)?),
        _ => Signer::Key {
            key_id: hex::encode(key.key_id()),
        },
    };
    let rekor = Keyring::new(&root.tlogs, opts.now);
    if rekor.is_empty() {
        return Err(Error::invalid(
            "the trusted root has no transparency log key",
        ));
    }
    p.entry.verify(&rekor)?;
    let body = p.entry.body()?;
    let statement = match &p.content {
        Content::Message { digest, signature } => {
            let m = Message {
                digest: digest.as_ref().map(|(_, d)| d.as_slice()),
                signature,
            };
            verify_message(&m, &key, verifier, &p.entry, &body, artifact)?;
            None
        }
        Content::Dsse(env) => Some(verify_dsse_content(
            env, &key, verifier, &p.entry, &body, artifact,
        )?),
    };
    Ok(Verified {
        signer,
        times,
        log_index: p.entry.log_index()?,
        statement,
    })
}

/// A message signature as the bundle carries it.
struct Message<'a> {
    digest: Option<&'a [u8]>,
    signature: &'a [u8],
}

/// A message signature over the artifact's SHA-256, and the `hashedrekord` entry recording it.
fn verify_message(
    m: &Message,
    key: &PublicKey,
    verifier: Verifier,
    entry: &Entry,
    body: &[u8],
    artifact: &Artifact,
) -> Result<()> {
    let hashed = match artifact {
        Artifact::Bytes(b) => Sha256::digest(b).to_vec(),
        Artifact::Digest(HashAlg::Sha256, d) => d.clone(),
        Artifact::Digest(..) => {
            return Err(Error::Unsupported(
                "a message signature over a non-SHA-256 digest".into(),
            ))
        }
    };
    if m.digest.is_some_and(|d| d != hashed.as_slice()) {
        return Err(Error::invalid(
            "the bundle's message digest differs from the artifact's",
        ));
    }
    let sig_ok = match (key.kind(), artifact) {
        (KeyKind::Ed25519, Artifact::Bytes(b)) => key.verify(b, m.signature),
        (KeyKind::Ed25519, _) => Err(Error::Unsupported(
            "an Ed25519 signature checked by digest".into(),
        )),
        _ => key.verify_digest(HashAlg::Sha256, &hashed, m.signature),
    };
    sig_ok.map_err(|_| Error::invalid("the signature does not verify over the artifact"))?;
    let kv = &entry.kind_version;
    if kv.kind != "hashedrekord" {
        return Err(Error::invalid(format!(
            "expected a hashedrekord log entry, found {}",
            kv.kind
        )));
    }
    tlog::check_hashedrekord(
        body,
        &kv.version,
        HashAlg::Sha256,
        &hashed,
        m.signature,
        verifier,
    )
}

fn verify_dsse_content(
    env: &Envelope,
    key: &PublicKey,
    verifier: Verifier,
    entry: &Entry,
    body: &[u8],
    artifact: &Artifact,
) -> Result<Statement> {
    let sig = env.single_signature()?;
    let pae = env.pae();
    key.verify(&pae, sig)
        .map_err(|_| Error::invalid("the DSSE signature does not verify"))?;
    let kv = &entry.kind_version;
    match (kv.kind.as_str(), kv.version.as_str()) {
        ("hashedrekord", "0.0.2") => {
            let alg = key.kind().default_hash().unwrap_or(HashAlg::Sha512);
            tlog::check_hashedrekord(body, "0.0.2", alg, &alg.digest(&pae), sig, verifier)?;
        }
        ("dsse", "0.0.1") => tlog::check_dsse_v001(body, &env.payload, &env.signatures, verifier)?,
        ("intoto", "0.0.2") => tlog::check_intoto_v002(body, env, verifier)?,
        (k, v) => {
            return Err(Error::Unsupported(format!(
                "a DSSE log entry of type {k}/{v}"
            )))
        }
    }
    if env.payload_type != IN_TOTO {
        return Err(Error::invalid(format!(
            "expected an in-toto payload, found {}",
            env.payload_type
        )));
    }
    let statement = Statement::from_json(&env.payload)?;
    let (alg, digest) = match artifact {
        Artifact::Bytes(b) => (HashAlg::Sha256, Sha256::digest(b).to_vec()),
        Artifact::Digest(alg, d) => (*alg, d.clone()),
    };
    if !statement.has_subject(alg, &digest) {
        return Err(Error::Policy(format!(
            "the in-toto statement has no subject with digest {}",
            hex::encode(&digest)
        )));
    }
    Ok(statement)
}

/// Verifies a bundle attached to a container image (an OCI 1.1 referrer): the artifact is the
/// image's manifest digest, `sha256:<hex>` — signed directly or named as an in-toto subject.
pub fn verify_image_bundle(
    json: &[u8],
    image_digest: &str,
    root: &TrustedRoot,
    policy: &Policy,
    opts: &Options,
) -> Result<Verified> {
    let hex_digest = image_digest.strip_prefix("sha256:").ok_or_else(|| {
        Error::malformed(
            "image digest",
            format!("{image_digest} is not sha256:<hex>"),
        )
    })?;
    let digest = hex::decode(hex_digest).map_err(|e| Error::malformed("image digest", e))?;
    verify_bundle(
        json,
        &Artifact::Digest(HashAlg::Sha256, digest),
        root,
        policy,
        opts,
    )
}
