//! cosign's legacy image-signature format: `.sig` layers (a simple-signing payload with its
//! signature, certificate, chain and Rekor bundle in annotations) and `.att` layers (DSSE
//! envelopes carrying in-toto statements).

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::attest::Statement;
use crate::bundle::verify_certificate;
use crate::dsse::{decode_b64, Envelope, IN_TOTO};
use crate::error::{Error, Result};
use crate::keys::{pem_blocks, HashAlg, PublicKey};
use crate::policy::Policy;
use crate::tlog::{self, Verifier};
use crate::trust::{Keyring, TrustedRoot};
use crate::{x509, Options, Signer, TimeSource, Verified, VerifiedTime};

/// The media type of a simple-signing payload layer.
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The media type of an `.att` layer.
pub const DSSE_LAYER: &str = "application/vnd.dsse.envelope.v1+json";
/// Annotation: the base64 signature.
pub const ANN_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
/// Annotation: the PEM signing certificate.
pub const ANN_CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
/// Annotation: the PEM chain above it.
pub const ANN_CHAIN: &str = "dev.sigstore.cosign/chain";
/// Annotation: the Rekor bundle (SET, body, integrated time, log index and ID).
pub const ANN_BUNDLE: &str = "dev.sigstore.cosign/bundle";

/// One layer of a `.sig` or `.att` manifest: its media type, its blob and its annotations.
#[derive(Debug, Clone, Copy)]
pub struct Layer<'a> {
    /// The layer descriptor's `mediaType`.
    pub media_type: &'a str,
    /// The layer blob.
    pub blob: &'a [u8],
    /// The layer descriptor's annotations.
    pub annotations: &'a BTreeMap<String, String>,
}

/// The image a signature must be about.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    /// Its manifest digest, `sha256:<hex>`.
    pub digest: &'a str,
    /// When set, the payload's `critical.identity.docker-reference` must equal it.
    pub reference: Option<&'a str>,
}

#[derive(Deserialize)]
struct RekorBundle {
    #[serde(rename = "SignedEntryTimestamp")]
    set: String,
    #[serde(rename = "Payload")]
    payload: RekorPayload,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RekorPayload {
    body: String,
    integrated_time: i64,
    log_index: u64,
    #[serde(rename = "logID")]
    log_id: String,
}

/// The signing material a layer's annotations carry.
struct Material {
    cert: Option<Vec<u8>>,
    rekor: Option<(Vec<u8>, i64, u64)>,
}

/// Reads the certificate and verifies the Rekor bundle's SET; returns the entry body, time and index.
fn material(layer: &Layer, root: &TrustedRoot, opts: &Options) -> Result<Material> {
    let cert = match layer
        .annotations
        .get(ANN_CERTIFICATE)
        .filter(|c| !c.is_empty())
    {
        Some(pem) => Some(
            pem_blocks(pem, "CERTIFICATE")?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    Error::malformed("cosign certificate annotation", "no PEM certificate")
                })?,
        ),
        None => None,
    };
    let rekor = match layer.annotations.get(ANN_BUNDLE).filter(|b| !b.is_empty()) {
        Some(json) => {
            let b: RekorBundle = serde_json::from_str(json)
                .map_err(|e| Error::malformed("cosign bundle annotation", e))?;
            let body = decode_b64("cosign bundle annotation", &b.payload.body)?;
            let log_id = hex::decode(&b.payload.log_id)
                .map_err(|e| Error::malformed("cosign bundle annotation", e))?;
            let set = decode_b64("cosign bundle annotation", &b.set)?;
            let keyring = Keyring::new(&root.tlogs, opts.now);
            tlog::verify_set(
                &body,
                b.payload.integrated_time,
                &log_id,
                b.payload.log_index,
                &set,
                &keyring,
            )?;
            Some((body, b.payload.integrated_time, b.payload.log_index))
        }
        None if opts.require_tlog => {
            return Err(Error::invalid(
                "the signature has no Rekor bundle (transparency log entry)",
            ))
        }
        None => None,
    };
    Ok(Material { cert, rekor })
}

/// The key that signed and the verified signer.
fn signer(
    m: &Material,
    root: &TrustedRoot,
    policy: &Policy,
    opts: &Options,
) -> Result<(PublicKey, Signer, Vec<VerifiedTime>)> {
    let times: Vec<VerifiedTime> = match &m.rekor {
        Some((_, t, _)) => vec![VerifiedTime {
            source: TimeSource::TransparencyLog,
            unix: *t,
        }],
        None => vec![VerifiedTime {
            source: TimeSource::Local,
            unix: opts.now,
        }],
    };
    match (policy, &m.cert) {
        (Policy::Key(key), _) => {
            if let Some(der) = &m.cert {
                if &x509::public_key(&x509::parse(der)?)? != key {
                    return Err(Error::Policy(
                        "the signing certificate does not hold the required key".into(),
                    ));
                }
            }
            Ok((
                key.clone(),
                Signer::Key {
                    key_id: hex::encode(key.key_id()),
                },
                times,
            ))
        }
        (_, Some(der)) => {
            let id = verify_certificate(der, &times, root, policy, opts)?;
            Ok((
                x509::public_key(&x509::parse(der)?)?,
                Signer::Keyless(id),
                times,
            ))
        }
        (_, None) => Err(Error::Policy(
            "the signature has no certificate; a key is required to verify it".into(),
        )),
    }
}

fn verifier<'a>(m: &'a Material, key: &'a PublicKey) -> Verifier<'a> {
    match &m.cert {
        Some(der) => Verifier::Certificate(der),
        None => Verifier::Key(key.spki_der(), key.kind().sigstore_details()),
    }
}

#[derive(Deserialize)]
struct SimpleSigning {
    critical: Critical,
}

#[derive(Deserialize)]
struct Critical {
    #[serde(default)]
    identity: Option<DockerIdentity>,
    image: CriticalImage,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct DockerIdentity {
    #[serde(rename = "docker-reference", default)]
    docker_reference: Option<String>,
}

#[derive(Deserialize)]
struct CriticalImage {
    #[serde(rename = "docker-manifest-digest")]
    digest: String,
}

/// Verifies one `.sig` layer: its signature over the simple-signing payload, the signer
/// against `policy` and `root`, the Rekor entry, and that the payload names `image`.
pub fn verify_signature_layer(
    layer: &Layer,
    image: &Image,
    root: &TrustedRoot,
    policy: &Policy,
    opts: &Options,
) -> Result<Verified> {
    if layer.media_type != SIMPLE_SIGNING {
        return Err(Error::invalid(format!(
            "the layer is a {}, not a simple-signing payload",
            layer.media_type
        )));
    }
    let sig_b64 = layer
        .annotations
        .get(ANN_SIGNATURE)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::invalid("the layer has no signature annotation"))?;
    let sig = decode_b64("cosign signature annotation", sig_b64)?;
    let m = material(layer, root, opts)?;
    let (key, signer, times) = signer(&m, root, policy, opts)?;
    key.verify(layer.blob, &sig).map_err(|_| {
        Error::invalid("the signature does not verify over the simple-signing payload")
    })?;
    if let Some((body, _, _)) = &m.rekor {
        let digest = Sha256::digest(layer.blob);
        tlog::check_hashedrekord(
            body,
            "0.0.1",
            HashAlg::Sha256,
            &digest,
            &sig,
            verifier(&m, &key),
        )?;
    }
    let payload: SimpleSigning = serde_json::from_slice(layer.blob)
        .map_err(|e| Error::malformed("simple-signing payload", e))?;
    if payload.critical.kind != "cosign container image signature"
        && payload.critical.kind != "atomic container signature"
    {
        return Err(Error::invalid(format!(
            "the payload type is {:?}",
            payload.critical.kind
        )));
    }
    if !payload
        .critical
        .image
        .digest
        .eq_ignore_ascii_case(image.digest)
    {
        return Err(Error::Policy(format!(
            "the signature is for {}, not {}",
            payload.critical.image.digest, image.digest
        )));
    }
    if let Some(want) = image.reference {
        let got = payload.critical.identity.and_then(|i| i.docker_reference);
        if got.as_deref() != Some(want) {
            return Err(Error::Policy(format!(
                "the signature names {}, not {want}",
                got.unwrap_or_default()
            )));
        }
    }
    Ok(Verified {
        signer,
        times,
        log_index: m.rekor.map(|r| r.2),
        statement: None,
    })
}

/// Verifies one `.att` layer: the DSSE envelope's signature, the signer, the Rekor entry, and
/// that the in-toto statement has `image_digest` (`sha256:<hex>`) as a subject.
pub fn verify_attestation_layer(
    layer: &Layer,
    image_digest: &str,
    root: &TrustedRoot,
    policy: &Policy,
    opts: &Options,
) -> Result<Verified> {
    if layer.media_type != DSSE_LAYER {
        return Err(Error::invalid(format!(
            "the layer is a {}, not a DSSE envelope",
            layer.media_type
        )));
    }
    let env = Envelope::from_json(layer.blob)?;
    let sig = env.single_signature()?;
    let m = material(layer, root, opts)?;
    let (key, signer, times) = signer(&m, root, policy, opts)?;
    key.verify(&env.pae(), sig)
        .map_err(|_| Error::invalid("the DSSE signature does not verify"))?;
    if let Some((body, _, _)) = &m.rekor {
        let v = verifier(&m, &key);
        match tlog::body_kind(body)?.as_str() {
            "intoto" => tlog::check_intoto_v001(body, layer.blob, &env.payload, v)?,
            "dsse" => {
                tlog::check_dsse_v001(body, &env.payload, &env.signatures, v)?;
                tlog::check_envelope_hash(body, layer.blob)?;
            }
            other => {
                return Err(Error::Unsupported(format!(
                    "an attestation log entry of kind {other}"
                )))
            }
        }
    }
    if env.payload_type != IN_TOTO {
        return Err(Error::invalid(format!(
            "expected an in-toto payload, found {}",
            env.payload_type
        )));
    }
    let statement = Statement::from_json(&env.payload)?;
    let hex_digest = image_digest.strip_prefix("sha256:").unwrap_or(image_digest);
    let digest = hex::decode(hex_digest).map_err(|e| Error::malformed("image digest", e))?;
    if !statement.has_subject(HashAlg::Sha256, &digest) {
        return Err(Error::Policy(format!(
            "the attestation's subjects do not include {image_digest}"
        )));
    }
    Ok(Verified {
        signer,
        times,
        log_index: m.rekor.map(|r| r.2),
        statement: Some(statement),
    })
}
