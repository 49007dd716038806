//! X.509 for Sigstore: the Fulcio chain at a time, the leaf's profile, its embedded SCT and the
//! identity it certifies.

use sha2::{Digest as _, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer as _;

use crate::der;
use crate::error::{Error, Result};
use crate::keys::{oid_string, HashAlg, KeyKind, PublicKey};
use crate::trust::Keyring;

const OID_SCT_LIST: &str = "1.3.6.1.4.1.11129.2.4.2";
const OID_CT_PRECERT_SIGNING: &str = "1.3.6.1.4.1.11129.2.4.4";
const OID_CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";
const OID_ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";
const OID_ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
const OID_OTHERNAME_SAN: &str = "1.3.6.1.4.1.57264.1.7";
const OID_SOURCE_REPO_URI: &str = "1.3.6.1.4.1.57264.1.12";
const OID_SOURCE_REPO_DIGEST: &str = "1.3.6.1.4.1.57264.1.13";
const OID_SOURCE_REPO_REF: &str = "1.3.6.1.4.1.57264.1.14";
const OID_BUILD_CONFIG_URI: &str = "1.3.6.1.4.1.57264.1.18";

/// Parses one DER certificate (nothing may follow it).
pub(crate) fn parse(der_bytes: &[u8]) -> Result<X509Certificate<'_>> {
    match X509Certificate::from_der(der_bytes) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(Error::malformed("certificate", "trailing data")),
        Err(e) => Err(Error::malformed("certificate", e)),
    }
}

/// The certificate's public key.
pub(crate) fn public_key(cert: &X509Certificate) -> Result<PublicKey> {
    PublicKey::from_spki_der(cert.public_key().raw)
}

fn signature_hash(cert: &X509Certificate) -> Result<Option<HashAlg>> {
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    Ok(match oid.as_str() {
        "1.2.840.10045.4.3.2" | "1.2.840.113549.1.1.11" => Some(HashAlg::Sha256),
        "1.2.840.10045.4.3.3" | "1.2.840.113549.1.1.12" => Some(HashAlg::Sha384),
        "1.2.840.10045.4.3.4" | "1.2.840.113549.1.1.13" => Some(HashAlg::Sha512),
        "1.2.840.113549.1.1.10" => Some(HashAlg::Sha256),
        "1.3.101.112" => None,
        other => {
            return Err(Error::Unsupported(format!(
                "certificate signature algorithm {other}"
            )))
        }
    })
}

/// Whether `issuer` issued and signed `child`.
pub(crate) fn signed_by(child: &X509Certificate, issuer: &X509Certificate) -> bool {
    if child.issuer().as_raw() != issuer.subject().as_raw() {
        return false;
    }
    let (Ok(key), Ok(hash)) = (public_key(issuer), signature_hash(child)) else {
        return false;
    };
    if key.kind() == KeyKind::Ed25519 && hash.is_some() {
        return false;
    }
    key.verify_hash(
        hash,
        child.tbs_certificate.as_ref(),
        &child.signature_value.data,
    )
    .is_ok()
}

/// Whether `t` (Unix seconds) lies in the certificate's validity.
pub(crate) fn valid_at(cert: &X509Certificate, t: i64) -> bool {
    let v = cert.validity();
    v.not_before.timestamp() <= t && t <= v.not_after.timestamp()
}

/// Whether the certificate is a CA (basicConstraints cA).
pub(crate) fn is_ca(cert: &X509Certificate) -> bool {
    matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca)
}

/// Builds the path from `leaf` to a certificate of `anchors` (each one is a trust anchor, as
/// in Sigstore clients) with every certificate valid at `t`; returns the issuers, leaf excluded.
pub(crate) fn verify_chain(
    leaf: &X509Certificate,
    anchors: &[&[u8]],
    t: i64,
) -> Result<Vec<Vec<u8>>> {
    if !valid_at(leaf, t) {
        return Err(Error::invalid(format!(
            "the signing certificate is not valid at {t} (valid {} to {})",
            leaf.validity().not_before.timestamp(),
            leaf.validity().not_after.timestamp()
        )));
    }
    for anchor in anchors {
        let Ok(ca) = parse(anchor) else { continue };
        if is_ca(&ca) && signed_by(leaf, &ca) && valid_at(&ca, t) {
            let mut chain = vec![anchor.to_vec()];
            // The rest of the anchor's own path, for the SCT's issuer lookup.
            let mut current = ca;
            for _ in 0..8 {
                if current.subject().as_raw() == current.issuer().as_raw() {
                    break;
                }
                let next = anchors
                    .iter()
                    .find(|a| parse(a).is_ok_and(|c| signed_by(&current, &c)));
                let Some(next) = next else { break };
                chain.push(next.to_vec());
                current = parse(next)?;
            }
            return Ok(chain);
        }
    }
    Err(Error::invalid(
        "the signing certificate does not chain to a trusted certificate authority at the signing time",
    ))
}

/// The leaf profile: not a CA, digitalSignature key usage and the code-signing EKU (with `strict`
/// false, an absent EKU extension allows any usage).
pub(crate) fn check_leaf_profile(leaf: &X509Certificate, strict: bool) -> Result<()> {
    if is_ca(leaf) {
        return Err(Error::invalid(
            "the signing certificate is a CA certificate",
        ));
    }
    let ku = leaf
        .key_usage()
        .map_err(|e| Error::malformed("certificate", e))?;
    if !ku.is_some_and(|k| k.value.digital_signature()) {
        return Err(Error::invalid(
            "the signing certificate's key usage lacks digitalSignature",
        ));
    }
    let eku = leaf
        .extended_key_usage()
        .map_err(|e| Error::malformed("certificate", e))?;
    if eku.is_none() && !strict {
        return Ok(());
    }
    let code_signing = eku.is_some_and(|e| {
        e.value.code_signing
            || e.value
                .other
                .iter()
                .any(|o| o.to_id_string() == OID_CODE_SIGNING)
    });
    if !code_signing {
        return Err(Error::invalid(
            "the signing certificate's extended key usage lacks codeSigning",
        ));
    }
    Ok(())
}

/// Verifies the leaf's one embedded precertificate SCT against the CT log keys.
pub(crate) fn verify_sct(
    leaf: &X509Certificate,
    chain: &[Vec<u8>],
    ctlogs: &Keyring,
) -> Result<()> {
    let ext = leaf
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == OID_SCT_LIST)
        .ok_or_else(|| Error::invalid("the signing certificate has no SCT extension"))?;
    let (list, _) = der::expect(ext.value, 0x04)?;
    let sct = one_sct(list.value)?;
    let issuer_der = chain
        .first()
        .ok_or_else(|| Error::invalid("SCT: no issuer certificate"))?;
    let mut issuer = parse(issuer_der)?;
    let preissuer = issuer.extended_key_usage().ok().flatten().is_some_and(|e| {
        e.value
            .other
            .iter()
            .any(|o| o.to_id_string() == OID_CT_PRECERT_SIGNING)
    });
    if preissuer {
        issuer = parse(
            chain
                .get(1)
                .ok_or_else(|| Error::invalid("SCT: no issuer after the pre-issuer"))?,
        )?;
    }
    if !is_ca(&issuer) {
        return Err(Error::invalid("SCT: the issuer is not a CA"));
    }
    let issuer_key_hash = Sha256::digest(issuer.public_key().raw);
    let tbs = precert_tbs(leaf.tbs_certificate.as_ref())?;
    let mut data = vec![sct.version, 0];
    data.extend(sct.timestamp.to_be_bytes());
    data.extend([0, 1]); // precert_entry
    data.extend(issuer_key_hash);
    let len = u32::try_from(tbs.len()).map_err(|_| Error::invalid("SCT: certificate too large"))?;
    data.extend(&len.to_be_bytes()[1..]);
    data.extend(&tbs);
    data.extend((sct.extensions.len() as u16).to_be_bytes());
    data.extend(sct.extensions);
    if sct.hash != 4 {
        return Err(Error::Unsupported(
            "SCT hash algorithm other than SHA-256".into(),
        ));
    }
    ctlogs
        .verify(sct.log_id, &data, sct.signature)
        .map_err(|e| Error::invalid(format!("SCT: {e}")))
}

struct Sct<'a> {
    version: u8,
    log_id: &'a [u8],
    timestamp: u64,
    extensions: &'a [u8],
    hash: u8,
    signature: &'a [u8],
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8]> {
    if buf.len() < n {
        return Err(Error::malformed("SCT", "truncated"));
    }
    let (head, tail) = buf.split_at(n);
    *buf = tail;
    Ok(head)
}

fn take_u16_prefixed<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8]> {
    let len = take(buf, 2)?;
    take(buf, usize::from(u16::from_be_bytes([len[0], len[1]])))
}

fn one_sct(list: &[u8]) -> Result<Sct<'_>> {
    let mut buf = list;
    let mut all = take_u16_prefixed(&mut buf)?;
    let mut scts = Vec::new();
    while !all.is_empty() {
        scts.push(take_u16_prefixed(&mut all)?);
    }
    let [one] = scts.as_slice() else {
        return Err(Error::invalid(format!(
            "expected one SCT, found {}",
            scts.len()
        )));
    };
    let mut s = *one;
    let version = take(&mut s, 1)?[0];
    let log_id = take(&mut s, 32)?;
    let ts = take(&mut s, 8)?;
    let timestamp = u64::from_be_bytes(ts.try_into().expect("8 bytes"));
    let extensions = take_u16_prefixed(&mut s)?;
    let alg = take(&mut s, 2)?;
    let signature = take_u16_prefixed(&mut s)?;
    Ok(Sct {
        version,
        log_id,
        timestamp,
        extensions,
        hash: alg[0],
        signature,
    })
}

/// The TBSCertificate with the SCT-list extension removed (RFC 6962 §3.2).
fn precert_tbs(tbs: &[u8]) -> Result<Vec<u8>> {
    let seq = der::read_one(tbs)?;
    let sct_oid = der::encode(0x06, &der::oid(OID_SCT_LIST));
    let mut content = Vec::new();
    for item in der::items(seq.value)? {
        if item.tag != 0xa3 {
            content.extend_from_slice(item.raw);
            continue;
        }
        let (exts, _) = der::expect(item.value, 0x30)?;
        let mut kept = Vec::new();
        for ext in der::items(exts.value)? {
            if !ext.value.starts_with(&sct_oid) {
                kept.extend_from_slice(ext.raw);
            }
        }
        content.extend(der::encode(0xa3, &der::encode(0x30, &kept)));
    }
    Ok(der::encode(0x30, &content))
}

/// What a Fulcio certificate says about its subject.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CertIdentity {
    /// SAN values: URIs, emails and Sigstore otherNames, in certificate order.
    pub sans: Vec<String>,
    /// The OIDC issuer (extension .1.8, else the legacy .1.1).
    pub issuer: Option<String>,
    /// Source repository URI (extension .1.12), when the certificate names one.
    pub source_repository: Option<String>,
    /// Source repository commit digest (extension .1.13).
    pub source_commit: Option<String>,
    /// Source repository ref (extension .1.14).
    pub source_ref: Option<String>,
    /// Build configuration URI (extension .1.18).
    pub build_config: Option<String>,
}

fn utf8_ext(value: &[u8]) -> Option<String> {
    let (tlv, _) = der::read(value).ok()?;
    (tlv.tag == 0x0c).then(|| String::from_utf8(tlv.value.to_vec()).ok())?
}

/// Reads the SANs and Fulcio extensions.
pub(crate) fn identity(cert: &X509Certificate) -> CertIdentity {
    let mut id = CertIdentity::default();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::URI(u) => id.sans.push((*u).to_string()),
                GeneralName::RFC822Name(e) => id.sans.push((*e).to_string()),
                GeneralName::OtherName(oid, rest) if oid.to_id_string() == OID_OTHERNAME_SAN => {
                    if let Some(v) = der::read(rest).ok().and_then(|(t, _)| utf8_ext(t.value)) {
                        id.sans.push(v);
                    }
                }
                _ => {}
            }
        }
    }
    let mut v1 = None;
    for ext in cert.extensions() {
        let oid = ext.oid.to_id_string();
        match oid.as_str() {
            OID_ISSUER_V1 => v1 = String::from_utf8(ext.value.to_vec()).ok(),
            OID_ISSUER_V2 => id.issuer = utf8_ext(ext.value),
            OID_SOURCE_REPO_URI => id.source_repository = utf8_ext(ext.value),
            OID_SOURCE_REPO_DIGEST => id.source_commit = utf8_ext(ext.value),
            OID_SOURCE_REPO_REF => id.source_ref = utf8_ext(ext.value),
            OID_BUILD_CONFIG_URI => id.build_config = utf8_ext(ext.value),
            _ => {}
        }
    }
    if id.issuer.is_none() {
        id.issuer = v1;
    }
    id
}

/// The dotted OID of an encoded OBJECT IDENTIFIER content (re-exported for the TSA reader).
pub(crate) fn oid_of(content: &[u8]) -> String {
    oid_string(content)
}
