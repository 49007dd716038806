//! Public keys (ECDSA P-256/P-384/P-521, Ed25519, RSA) and signature checks over them, with
//! aws-lc-rs.

use aws_lc_rs::{digest, signature};
use base64::Engine as _;
use sha2::{Digest as _, Sha256, Sha384, Sha512};

use crate::der;
use crate::error::{Error, Result};

/// A hash function named by a bundle, a certificate or an RFC 3161 imprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlg::Sha256 => Sha256::digest(data).to_vec(),
            HashAlg::Sha384 => Sha384::digest(data).to_vec(),
            HashAlg::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// From an OID of the NIST hash arc (2.16.840.1.101.3.4.2.x).
    pub(crate) fn from_oid(dotted: &str) -> Option<Self> {
        match dotted {
            "2.16.840.1.101.3.4.2.1" => Some(HashAlg::Sha256),
            "2.16.840.1.101.3.4.2.2" => Some(HashAlg::Sha384),
            "2.16.840.1.101.3.4.2.3" => Some(HashAlg::Sha512),
            _ => None,
        }
    }

    /// From a name as bundles and in-toto write it (`SHA2_256`, `sha256`, …).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "sha2_256" | "sha256" | "sha-256" => Some(HashAlg::Sha256),
            "sha2_384" | "sha384" | "sha-384" => Some(HashAlg::Sha384),
            "sha2_512" | "sha512" | "sha-512" => Some(HashAlg::Sha512),
            _ => None,
        }
    }

    fn aws(self) -> &'static digest::Algorithm {
        match self {
            HashAlg::Sha256 => &digest::SHA256,
            HashAlg::Sha384 => &digest::SHA384,
            HashAlg::Sha512 => &digest::SHA512,
        }
    }
}

/// The kind of a public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// ECDSA over NIST P-256.
    EcdsaP256,
    /// ECDSA over NIST P-384.
    EcdsaP384,
    /// ECDSA over NIST P-521.
    EcdsaP521,
    /// Ed25519.
    Ed25519,
    /// RSA (PKCS#1 v1.5 or PSS signatures).
    Rsa,
}

impl KeyKind {
    /// The hash a signature with this key uses by default (cosign's and Sigstore's choice).
    pub fn default_hash(self) -> Option<HashAlg> {
        match self {
            KeyKind::EcdsaP256 | KeyKind::Rsa => Some(HashAlg::Sha256),
            KeyKind::EcdsaP384 => Some(HashAlg::Sha384),
            KeyKind::EcdsaP521 => Some(HashAlg::Sha512),
            KeyKind::Ed25519 => None,
        }
    }

    /// Sigstore's `PublicKeyDetails` name for this key with its default hash.
    pub fn sigstore_details(self) -> &'static str {
        match self {
            KeyKind::EcdsaP256 => "PKIX_ECDSA_P256_SHA_256",
            KeyKind::EcdsaP384 => "PKIX_ECDSA_P384_SHA_384",
            KeyKind::EcdsaP521 => "PKIX_ECDSA_P521_SHA_512",
            KeyKind::Ed25519 => "PKIX_ED25519",
            KeyKind::Rsa => "PKIX_RSA_PKCS1V15_2048_SHA256",
        }
    }
}

/// A public key, kept as its SubjectPublicKeyInfo DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    spki: Vec<u8>,
    kind: KeyKind,
    /// The key bits inside the SPKI (EC point, PKCS#1 RSAPublicKey, raw Ed25519).
    bits: Vec<u8>,
}

const OID_EC: &str = "1.2.840.10045.2.1";
const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_ED25519: &str = "1.3.101.112";

impl PublicKey {
    /// From SubjectPublicKeyInfo DER.
    pub fn from_spki_der(spki: &[u8]) -> Result<Self> {
        let bad = |d: &str| Error::malformed("public key", d);
        let seq = der::read_one(spki)?;
        let parts = der::items(seq.value)?;
        let [alg, bits] = parts.as_slice() else {
            return Err(bad("not a SubjectPublicKeyInfo"));
        };
        let alg = der::items(alg.value)?;
        let oid_of = |t: &der::Tlv| (t.tag == 0x06).then(|| oid_string(t.value));
        let alg_oid = alg
            .first()
            .and_then(oid_of)
            .ok_or_else(|| bad("no algorithm"))?;
        let param = alg.get(1).and_then(oid_of);
        let kind = match (alg_oid.as_str(), param.as_deref()) {
            (OID_EC, Some("1.2.840.10045.3.1.7")) => KeyKind::EcdsaP256,
            (OID_EC, Some("1.3.132.0.34")) => KeyKind::EcdsaP384,
            (OID_EC, Some("1.3.132.0.35")) => KeyKind::EcdsaP521,
            (OID_RSA, _) => KeyKind::Rsa,
            (OID_ED25519, _) => KeyKind::Ed25519,
            (other, p) => {
                return Err(Error::Unsupported(format!(
                    "public key algorithm {other} {}",
                    p.unwrap_or_default()
                )))
            }
        };
        if bits.tag != 0x03 || bits.value.first() != Some(&0) {
            return Err(bad("bad key bit string"));
        }
        Ok(PublicKey {
            spki: spki.to_vec(),
            kind,
            bits: bits.value[1..].to_vec(),
        })
    }

    /// From a PEM `PUBLIC KEY` block (the first one in `pem`).
    pub fn from_pem(pem: &str) -> Result<Self> {
        let blocks = pem_blocks(pem, "PUBLIC KEY")?;
        let der = blocks
            .first()
            .ok_or_else(|| Error::malformed("public key", "no PEM PUBLIC KEY block"))?;
        Self::from_spki_der(der)
    }

    /// The SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// The key's kind.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// Sigstore's key ID: SHA-256 of the SPKI DER.
    pub fn key_id(&self) -> [u8; 32] {
        Sha256::digest(&self.spki).into()
    }

    /// Checks `sig` over `msg` with the key's default hash (RSA: PKCS#1 v1.5, then PSS); a
    /// P-384 or P-521 signature may also use SHA-256, as cosign signs with every ECDSA key.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<()> {
        let first = self.verify_hash(self.kind.default_hash(), msg, sig);
        match self.kind {
            KeyKind::EcdsaP384 | KeyKind::EcdsaP521 if first.is_err() => {
                self.verify_hash(Some(HashAlg::Sha256), msg, sig)
            }
            _ => first,
        }
    }

    /// Checks `sig` over `msg` hashed with `hash` (`None` only for Ed25519).
    pub fn verify_hash(&self, hash: Option<HashAlg>, msg: &[u8], sig: &[u8]) -> Result<()> {
        let ok = self.algorithms(hash).iter().any(|alg| {
            signature::UnparsedPublicKey::new(*alg, &self.bits)
                .verify(msg, sig)
                .is_ok()
        });
        if ok {
            Ok(())
        } else {
            Err(Error::invalid("signature does not verify"))
        }
    }

    /// Checks `sig` over a precomputed digest (ECDSA and RSA only).
    pub fn verify_digest(&self, hash: HashAlg, digest_bytes: &[u8], sig: &[u8]) -> Result<()> {
        let d = digest::Digest::import_less_safe(digest_bytes, hash.aws())
            .map_err(|_| Error::invalid("digest has the wrong length"))?;
        let ok = self.algorithms(Some(hash)).iter().any(|alg| {
            signature::UnparsedPublicKey::new(*alg, &self.bits)
                .verify_digest(&d, sig)
                .is_ok()
        });
        if ok {
            Ok(())
        } else {
            Err(Error::invalid("signature does not verify"))
        }
    }

    fn algorithms(
        &self,
        hash: Option<HashAlg>,
    ) -> Vec<&'static dyn signature::VerificationAlgorithm> {
        use signature as s;
        match (self.kind, hash) {
            (KeyKind::EcdsaP256, Some(HashAlg::Sha256)) => vec![&s::ECDSA_P256_SHA256_ASN1],
            (KeyKind::EcdsaP256, Some(HashAlg::Sha384)) => vec![&s::ECDSA_P256_SHA384_ASN1],
            (KeyKind::EcdsaP384, Some(HashAlg::Sha384)) => vec![&s::ECDSA_P384_SHA384_ASN1],
            (KeyKind::EcdsaP384, Some(HashAlg::Sha256)) => vec![&s::ECDSA_P384_SHA256_ASN1],
            (KeyKind::EcdsaP521, Some(HashAlg::Sha512)) => vec![&s::ECDSA_P521_SHA512_ASN1],
            (KeyKind::EcdsaP521, Some(HashAlg::Sha256)) => vec![&s::ECDSA_P521_SHA256_ASN1],
            (KeyKind::Ed25519, None) => vec![&s::ED25519],
            (KeyKind::Rsa, Some(HashAlg::Sha256)) => {
                vec![&s::RSA_PKCS1_2048_8192_SHA256, &s::RSA_PSS_2048_8192_SHA256]
            }
            (KeyKind::Rsa, Some(HashAlg::Sha384)) => {
                vec![&s::RSA_PKCS1_2048_8192_SHA384, &s::RSA_PSS_2048_8192_SHA384]
            }
            (KeyKind::Rsa, Some(HashAlg::Sha512)) => {
                vec![&s::RSA_PKCS1_2048_8192_SHA512, &s::RSA_PSS_2048_8192_SHA512]
            }
            _ => vec![],
        }
    }
}

/// The dotted form of an OID's content bytes.
pub(crate) fn oid_string(content: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc = 0u64;
    for b in content {
        acc = (acc << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (acc / 40).min(2);
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// The DER of every PEM block labelled `label` in `text`.
pub fn pem_blocks(text: &str, label: &str) -> Result<Vec<Vec<u8>>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let body = &rest[start + begin.len()..];
        let stop = body
            .find(&end)
            .ok_or_else(|| Error::malformed("PEM", format!("{begin} without {end}")))?;
        let b64: String = body[..stop]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| Error::malformed("PEM", e))?;
        out.push(der);
        rest = &body[stop + end.len()..];
    }
    Ok(out)
}
