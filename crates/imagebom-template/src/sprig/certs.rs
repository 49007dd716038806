//! Sprig's key and certificate generators (`genPrivateKey`, `genCA`, `genSelfSignedCert`,
//! `genSignedCert`, their `…WithKey` forms and `buildCustomCert`).
//!
//! As in Sprig, a certificate is a value with `.Cert` and `.Key` (PEM strings); RSA keys
//! are 2048 bits for certificates and 4096 for `genPrivateKey "rsa"`; keys are written as
//! Go writes them (PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`, PKCS#8 `PRIVATE KEY`
//! for ed25519), given keys too. Certificates are encoded as Go's `x509.CreateCertificate`
//! encodes Sprig's template (see [`create_cert`]); rcgen (aws-lc) makes keys and signs.
//! Output is random, as in Helm. `genPrivateKey "dsa"` is not available (no DSA support).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::net::IpAddr;

use rcgen::{KeyPair, PublicKeyData, SigningKey};
use sha2::Digest;

use super::{err, strval, vstr};
use crate::FuncMap;
use crate::error::{Result, TemplateError};
use crate::function::add_fn;
use crate::value::{Dict, Value};

/// Longest validity accepted either way (Go's time.Duration overflows after ~292 years).
const MAX_DAYS: i64 = 100 * 366;

fn cert_err(what: &str, e: impl core::fmt::Display) -> TemplateError {
    err(format!("{what}: {e}"))
}

/// Reads one DER TLV at `pos`: (tag, content start, content end).
fn der_tlv(d: &[u8], pos: usize) -> Option<(u8, usize, usize)> {
    let tag = *d.get(pos)?;
    let l0 = *d.get(pos + 1)? as usize;
    let (len, start) = if l0 < 0x80 {
        (l0, pos + 2)
    } else {
        let n = l0 & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *d.get(pos + 2 + i)? as usize;
        }
        (len, pos + 2 + n)
    };
    let end = start.checked_add(len)?;
    (end <= d.len()).then_some((tag, start, end))
}

/// The elements inside `d[start..end]`: (tag, element start, content start, end).
fn der_children(d: &[u8], start: usize, end: usize) -> Option<Vec<(u8, usize, usize, usize)>> {
    let mut out = Vec::new();
    let mut pos = start;
    while pos < end {
        let (t, s, e) = der_tlv(d, pos)?;
        out.push((t, pos, s, e));
        pos = e;
    }
    (pos == end).then_some(out)
}

fn der_len(n: usize) -> Vec<u8> {
    let bytes = (n as u64).to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    if n < 0x80 {
        alloc::vec![n as u8]
    } else {
        let mut out = alloc::vec![0x80 | (8 - skip) as u8];
        out.extend_from_slice(&bytes[skip..]);
        out
    }
}

/// One DER element.
fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = alloc::vec![tag];
    out.extend(der_len(body.len()));
    out.extend_from_slice(body);
    out
}

fn der_seq(parts: &[&[u8]]) -> Vec<u8> {
    der(0x30, &parts.concat())
}

/// A non-negative INTEGER from big-endian bytes, minimally encoded.
fn der_uint(be: &[u8]) -> Vec<u8> {
    let digits = &be[be.iter().take_while(|b| **b == 0).count()..];
    let mut body = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend_from_slice(digits);
    der(0x02, &body)
}

/// The algorithm-specific key (PKCS#1 `RSAPrivateKey`, SEC1 `ECPrivateKey`) inside a
/// PKCS#8 `PrivateKeyInfo`.
fn pkcs8_inner(d: &[u8]) -> Option<Vec<u8>> {
    let (t, s, _) = der_tlv(d, 0)?;
    if t != 0x30 {
        return None;
    }
    let (t1, _, e1) = der_tlv(d, s)?; // version
    let (t2, _, e2) = der_tlv(d, e1)?; // algorithm
    let (t3, s3, e3) = der_tlv(d, e2)?; // privateKey
    (t1 == 0x02 && t2 == 0x30 && t3 == 0x04).then(|| d[s3..e3].to_vec())
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = data_encoding::BASE64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The first PEM block's type and bytes, as Go's `pem.Decode` finds it (any type).
fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let begin = text.find("-----BEGIN ")?;
    let rest = &text[begin + 11..];
    let (label, rest) = rest.split_once("-----")?;
    let body_end = rest.find("-----END ")?;
    let b64: String = rest[..body_end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = data_encoding::BASE64.decode(b64.as_bytes()).ok()?;
    Some((label.to_string(), der))
}

/// An EC key's curve: (named-curve OID element, private scalar length).
fn ec_curve(k: &KeyPair) -> Option<(&'static [u8], usize)> {
    const P256: &[u8] = &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
    const P384: &[u8] = &[0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22];
    const P521: &[u8] = &[0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23];
    let alg = k.algorithm();
    if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
        Some((P256, 32))
    } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
        Some((P384, 48))
    } else if alg == &rcgen::PKCS_ECDSA_P521_SHA512 {
        Some((P521, 66))
    } else {
        None
    }
}

/// SEC1 `ECPrivateKey` as Go's `x509.MarshalECPrivateKey` writes it (version 1, scalar
/// padded to the curve's size, named curve, public key), from a SEC1 key with or without
/// the optional fields.
fn go_sec1(inner: &[u8], k: &KeyPair) -> Option<Vec<u8>> {
    let (curve, size) = ec_curve(k)?;
    let (t, s, e) = der_tlv(inner, 0)?;
    let fields = der_children(inner, s, e)?;
    let &(t2, _, ps, pe) = fields.get(1)?;
    if t != 0x30 || t2 != 0x04 || pe - ps > size {
        return None;
    }
    let mut scalar = alloc::vec![0u8; size - (pe - ps)];
    scalar.extend_from_slice(&inner[ps..pe]);
    let mut point = alloc::vec![0u8];
    point.extend_from_slice(k.public_key_raw());
    Some(der_seq(&[
        &[0x02, 0x01, 0x01],
        &der(0x04, &scalar),
        &der(0xA0, curve),
        &der(0xA1, &der(0x03, &point)),
    ]))
}

/// A key as Go's Sprig writes it: PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`, PKCS#8
/// v1 `PRIVATE KEY` otherwise (ed25519), whatever form it was read from.
fn key_pem(k: &KeyPair) -> String {
    let der = k.serialized_der();
    let inner = pkcs8_inner(der).unwrap_or_else(|| der.to_vec());
    if k.algorithm() == &rcgen::PKCS_RSA_SHA256 {
        return pem("RSA PRIVATE KEY", &inner);
    }
    if let Some(sec1) = go_sec1(&inner, k) {
        return pem("EC PRIVATE KEY", &sec1);
    }
    match pkcs8_v1(der) {
        Some(v1) => pem("PRIVATE KEY", &v1),
        None => k.serialize_pem(),
    }
}

/// PKCS#8 v1 (`version 0`, no `[1] publicKey`) from a v1 or v2 `PrivateKeyInfo`.
fn pkcs8_v1(d: &[u8]) -> Option<Vec<u8>> {
    let (t, s, _) = der_tlv(d, 0)?;
    if t != 0x30 {
        return None;
    }
    let (_, _, e1) = der_tlv(d, s)?;
    let (t2, _, e2) = der_tlv(d, e1)?;
    let (t3, _, e3) = der_tlv(d, e2)?;
    if t2 != 0x30 || t3 != 0x04 {
        return None;
    }
    let mut body = alloc::vec![0x02, 0x01, 0x00];
    body.extend_from_slice(&d[e1..e3]);
    Some(der(0x30, &body))
}

fn rsa_key(bits: rcgen::RsaKeySize) -> Result<KeyPair> {
    KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, bits)
        .map_err(|e| cert_err("error generating RSA key", e))
}

/// A private key read as Sprig's `parsePrivateKeyPEM` reads it, errors after `what`.
fn parse_key_as(pem_text: &str, what: &str) -> Result<KeyPair> {
    let fail = |m: String| err(format!("{what}: {m}"));
    let Some((label, _)) = pem_decode(pem_text) else {
        return Err(fail("no PEM data in input".to_string()));
    };
    if label != "PRIVATE KEY" && !label.ends_with(" PRIVATE KEY") {
        return Err(fail(format!(
            "no private key data in PEM block of type {label}"
        )));
    }
    KeyPair::from_pem(pem_text).map_err(|e| {
        // aws-lc signs with RSA keys of 2048 to 8192 bits only (Go takes 1024 too).
        let hint = if label.starts_with("RSA") || label == "PRIVATE KEY" {
            " (RSA keys must have 2048 to 8192 bits)"
        } else {
            ""
        };
        fail(format!("decoding PEM as {label}: {e}{hint}"))
    })
}

fn parse_key(pem_text: &str) -> Result<KeyPair> {
    parse_key_as(pem_text, "error parsing private key")
}

/// The key argument of the `…WithKey` functions.
fn given_key(pem: &str) -> Result<KeyPair> {
    parse_key_as(pem, "parsing private key")
}

fn days(v: i64) -> Result<time::Duration> {
    if !(-MAX_DAYS..=MAX_DAYS).contains(&v) {
        return Err(err(format!(
            "daysValid {v} out of range (-{MAX_DAYS}..={MAX_DAYS})"
        )));
    }
    Ok(time::Duration::days(v))
}

/// What Sprig's `getBaseCertTemplate` sets (and `IsCA` for a CA): subject CN, IP and DNS
/// alternative names, validity in days.
struct Spec {
    cn: String,
    days: i64,
    ca: bool,
    ips: Vec<IpAddr>,
    dns: Vec<String>,
}

impl Spec {
    fn new(cn: String, days: i64, ca: bool) -> Self {
        Spec {
            cn,
            days,
            ca,
            ips: Vec::new(),
            dns: Vec::new(),
        }
    }

    fn with_sans(cn: String, ips: &Value, dns: &Value, days: i64) -> Result<Self> {
        let mut spec = Spec::new(cn, days, false);
        for ip in san_items(ips, "ips", "error parsing ip")? {
            let addr = ip
                .parse()
                .map_err(|_| err(format!("error parsing ip: {ip}")))?;
            spec.ips.push(addr);
        }
        spec.dns = san_items(dns, "alternateDNS", "error processing alternate dns name")?;
        Ok(spec)
    }
}

/// Sprig's `ips` / `alternateDNS` lists: strings only (`not_string` names the error).
fn san_items(v: &Value, what: &str, not_string: &str) -> Result<Vec<String>> {
    match v {
        Value::Nil => Ok(Vec::new()),
        Value::List(l) => l
            .iter()
            .map(|x| match x {
                Value::String(s) => Ok(s.to_string()),
                other => Err(err(format!(
                    "{not_string}: {} is not a string",
                    strval(other)
                ))),
            })
            .collect(),
        other => Err(err(format!(
            "wrong type for value; expected []interface {{}}; got {} ({what})",
            super::go_type(other)
        ))),
    }
}

/// The signing CA: its key, its subject as encoded in its certificate, its key identifier.
struct Parent {
    key: KeyPair,
    subject: Vec<u8>,
    key_id: Option<Vec<u8>>,
}

const OID_KEY_USAGE: &[u8] = &[0x06, 0x03, 0x55, 0x1D, 0x0F];
const OID_EXT_KEY_USAGE: &[u8] = &[0x06, 0x03, 0x55, 0x1D, 0x25];
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x06, 0x03, 0x55, 0x1D, 0x13];
const OID_SUBJECT_KEY_ID: &[u8] = &[0x06, 0x03, 0x55, 0x1D, 0x0E];
const OID_AUTHORITY_KEY_ID: &[u8] = &[0x06, 0x03, 0x55, 0x1D, 0x23];
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x06, 0x03, 0x55, 0x1D, 0x11];

/// Go's `asn1` writes a string as PrintableString when every byte is in that set (`*` and
/// `&` excluded), else as UTF8String.
fn go_printable(s: &str) -> bool {
    s.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b' ' | b'\'' | b'(' | b')' | b'+'..=b'/' | b':' | b'=' | b'?'
            )
    })
}

/// `pkix.Name{CommonName: cn}` as Go encodes it (an empty name for an empty CN).
fn name_der(cn: &str) -> Vec<u8> {
    if cn.is_empty() {
        return der_seq(&[]);
    }
    const OID_CN: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x03];
    let tag = if go_printable(cn) { 0x13 } else { 0x0C };
    let atv = der_seq(&[OID_CN, &der(tag, cn.as_bytes())]);
    der_seq(&[&der(0x31, &atv)])
}

/// UTCTime for 1950..=2049, GeneralizedTime otherwise (RFC 5280, as Go), in whole seconds.
fn der_time(t: time::OffsetDateTime) -> Vec<u8> {
    let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
    let hms = format!("{:02}{:02}{:02}Z", t.hour(), t.minute(), t.second());
    if (1950..2050).contains(&y) {
        der(0x17, format!("{:02}{mo:02}{d:02}{hms}", y % 100).as_bytes())
    } else {
        der(0x18, format!("{y:04}{mo:02}{d:02}{hms}").as_bytes())
    }
}

/// The `AlgorithmIdentifier` Go signs with for this key (its default per key type).
fn signature_alg(k: &KeyPair) -> Result<&'static [u8]> {
    const RSA_SHA256: &[u8] = &[
        0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B, 0x05, 0x00,
    ];
    const ECDSA_SHA256: &[u8] = &[
        0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02,
    ];
    const ECDSA_SHA384: &[u8] = &[
        0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03,
    ];
    const ECDSA_SHA512: &[u8] = &[
        0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x04,
    ];
    const ED25519: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70];
    let alg = k.algorithm();
    let table: [(&rcgen::SignatureAlgorithm, &'static [u8]); 5] = [
        (&rcgen::PKCS_RSA_SHA256, RSA_SHA256),
        (&rcgen::PKCS_ECDSA_P256_SHA256, ECDSA_SHA256),
        (&rcgen::PKCS_ECDSA_P384_SHA384, ECDSA_SHA384),
        (&rcgen::PKCS_ECDSA_P521_SHA512, ECDSA_SHA512),
        (&rcgen::PKCS_ED25519, ED25519),
    ];
    table
        .iter()
        .find(|(a, _)| *a == alg)
        .map(|(_, id)| *id)
        .ok_or_else(|| {
            err("error creating certificate: x509: only RSA, ECDSA and Ed25519 keys supported")
        })
}

fn extension(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let value = der(0x04, value);
    if critical {
        der_seq(&[oid, &[0x01, 0x01, 0xFF], &value])
    } else {
        der_seq(&[oid, &value])
    }
}

/// `subjectAltName`: DNS names, then IPs (IPv4, IPv4-mapped too, in 4 bytes), as Go orders.
fn san_value(spec: &Spec) -> Result<Vec<u8>> {
    let mut names = Vec::new();
    for n in &spec.dns {
        if !n.is_ascii() {
            return Err(err(format!(
                "error creating certificate: x509: {n:?} cannot be encoded as an IA5String"
            )));
        }
        names.extend(der(0x82, n.as_bytes()));
    }
    for ip in &spec.ips {
        let bytes = match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map_or_else(|| v6.octets().to_vec(), |v4| v4.octets().to_vec()),
        };
        names.extend(der(0x87, &bytes));
    }
    Ok(der(0x30, &names))
}

/// Go's `buildCertExtensions` for Sprig's template: key usage, extended key usage, basic
/// constraints, subject key id (CAs), authority key id (signed), alternative names.
fn extensions(
    spec: &Spec,
    subject: &[u8],
    ski: Option<&[u8]>,
    aki: Option<&[u8]>,
) -> Result<Vec<u8>> {
    // digitalSignature (bit 0), keyEncipherment (bit 2), keyCertSign (bit 5) for a CA.
    let usage: u8 = 0xA0 | if spec.ca { 0x04 } else { 0 };
    let key_usage = der(0x03, &[usage.trailing_zeros() as u8, usage]);
    const SERVER_CLIENT_AUTH: &[u8] = &[
        0x30, 0x14, 0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01, 0x06, 0x08, 0x2B,
        0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02,
    ];
    let basic: &[u8] = if spec.ca {
        &[0x30, 0x03, 0x01, 0x01, 0xFF]
    } else {
        &[0x30, 0x00]
    };
    let mut out = extension(OID_KEY_USAGE, true, &key_usage);
    out.extend(extension(OID_EXT_KEY_USAGE, false, SERVER_CLIENT_AUTH));
    out.extend(extension(OID_BASIC_CONSTRAINTS, true, basic));
    if let Some(id) = ski {
        out.extend(extension(OID_SUBJECT_KEY_ID, false, &der(0x04, id)));
    }
    if let Some(id) = aki {
        out.extend(extension(
            OID_AUTHORITY_KEY_ID,
            false,
            &der_seq(&[&der(0x80, id)]),
        ));
    }
    if !spec.dns.is_empty() || !spec.ips.is_empty() {
        let empty_subject = subject == [0x30, 0x00];
        out.extend(extension(
            OID_SUBJECT_ALT_NAME,
            empty_subject,
            &san_value(spec)?,
        ));
    }
    Ok(der(0x30, &out))
}

/// Go's key identifier for a CA's own key (RFC 7093 method 1: SHA-256 of the public key
/// bits, leftmost 160 bits, as the Go of the Helm v4 SDK computes it).
fn key_id(k: &KeyPair) -> Vec<u8> {
    sha2::Sha256::digest(k.public_key_raw())[..20].to_vec()
}

/// A certificate as Go's `x509.CreateCertificate` makes it from Sprig's template: v3, a
/// serial uniform below 2^128, signed by `parent` (self-signed without), the authority key
/// id taken from the parent unless the subject equals the issuer.
fn create_cert(spec: &Spec, key: &KeyPair, parent: Option<&Parent>) -> Result<String> {
    let subject = name_der(&spec.cn);
    let (issuer, signer, parent_id) = match parent {
        Some(p) => (p.subject.clone(), &p.key, p.key_id.as_deref()),
        None => (subject.clone(), key, None),
    };
    let alg = signature_alg(signer)?;
    let ski = spec.ca.then(|| key_id(key));
    let aki = parent_id.filter(|_| issuer != subject);
    let exts = extensions(spec, &subject, ski.as_deref(), aki)?;
    let mut serial = [0u8; 16];
    {
        use rand::RngExt;
        rand::rng().fill(&mut serial);
    }
    let now = time::OffsetDateTime::now_utc();
    let validity = der_seq(&[&der_time(now), &der_time(now + days(spec.days)?)]);
    let tbs = der_seq(&[
        &der(0xA0, &der_uint(&[2])),
        &der_uint(&serial),
        alg,
        &issuer,
        &validity,
        &subject,
        &key.subject_public_key_info(),
        &der(0xA3, &exts),
    ]);
    let sig = signer
        .sign(&tbs)
        .map_err(|e| cert_err("error creating certificate", e))?;
    let mut bits = alloc::vec![0u8];
    bits.extend(sig);
    Ok(pem(
        "CERTIFICATE",
        &der_seq(&[&tbs, alg, &der(0x03, &bits)]),
    ))
}

/// What signing needs of a CA certificate.
struct CaFields {
    /// The subject as encoded.
    subject: Vec<u8>,
    /// The public key's bits.
    public_key: Vec<u8>,
    /// The subject key identifier, if any.
    key_id: Option<Vec<u8>>,
}

fn ca_fields(d: &[u8]) -> Option<CaFields> {
    let (t, s, e) = der_tlv(d, 0)?;
    let (tt, ts, te) = der_tlv(d, s).filter(|_| t == 0x30 && e == d.len())?;
    let fields = der_children(d, ts, te).filter(|_| tt == 0x30)?;
    let f = if fields.first()?.0 == 0xA0 {
        &fields[1..]
    } else {
        &fields[..]
    };
    let &(_, subject_start, _, subject_end) = f.get(4)?;
    let &(_, _, ks, ke) = f.get(5)?;
    let spki = der_children(d, ks, ke)?;
    let &(bt, _, bs, be) = spki.get(1)?;
    if bt != 0x03 || bs >= be {
        return None;
    }
    let mut ski = None;
    if let Some(&(_, _, xs, xe)) = f.iter().find(|x| x.0 == 0xA3) {
        let (_, ls, le) = der_tlv(d, xs).filter(|x| x.2 == xe)?;
        for (_, _, es, ee) in der_children(d, ls, le)? {
            let parts = der_children(d, es, ee)?;
            let (&(_, os, _, oe), &(_, _, vs, ve)) = (parts.first()?, parts.last()?);
            if &d[os..oe] == OID_SUBJECT_KEY_ID {
                let (_, is, ie) = der_tlv(d, vs).filter(|x| x.0 == 0x04 && x.2 == ve)?;
                ski = Some(d[is..ie].to_vec());
            }
        }
    }
    Some(CaFields {
        subject: d[subject_start..subject_end].to_vec(),
        public_key: d[bs + 1..be].to_vec(),
        key_id: ski,
    })
}

/// Sprig's CA argument: the certificate parsed, its key checked against it (as Go does).
fn parse_parent(ca: &Value) -> Result<Parent> {
    let (cert, key) = ca_arg(ca)?;
    let (_, der) = pem_decode(&cert).ok_or_else(|| err("unable to decode certificate"))?;
    let ca = ca_fields(&der).ok_or_else(|| {
        err("error parsing certificate: decodedSignerCert.Bytes: x509: malformed certificate")
    })?;
    let key = parse_key(&key)?;
    if key.public_key_raw() != ca.public_key.as_slice() {
        return Err(err(
            "error creating certificate: x509: provided PrivateKey doesn't match parent's PublicKey",
        ));
    }
    Ok(Parent {
        key,
        subject: ca.subject,
        key_id: ca.key_id,
    })
}

fn cert_value(cert_pem: String, key_pem: String) -> Value {
    let d = Dict::new();
    d.insert("Cert", vstr(cert_pem));
    d.insert("Key", vstr(key_pem));
    // Sprig's `certificate` struct: `typeOf` says `sprig.certificate`.
    Value::Map(d.with_type_name("sprig.certificate"))
}

fn ca_arg(v: &Value) -> Result<(String, String)> {
    let get = |d: &Dict, k: &str| match d.get(k) {
        Some(Value::String(s)) => Ok(s.to_string()),
        _ => Err(err(format!("certificate has no {k}"))),
    };
    match v {
        Value::Map(d) if d.go_type_name() == Some("sprig.certificate") => {
            Ok((get(d, "Cert")?, get(d, "Key")?))
        }
        other => Err(err(format!(
            "wrong type for value; expected sprig.certificate; got {}",
            super::go_type(other)
        ))),
    }
}

fn new_key() -> Result<KeyPair> {
    rsa_key(rcgen::RsaKeySize::_2048)
}

fn gen_ca(cn: &str, days_valid: i64, key: KeyPair) -> Result<Value> {
    let cert = create_cert(&Spec::new(cn.to_string(), days_valid, true), &key, None)?;
    Ok(cert_value(cert, key_pem(&key)))
}

fn gen_self_signed(spec: Spec, key: KeyPair) -> Result<Value> {
    let cert = create_cert(&spec, &key, None)?;
    Ok(cert_value(cert, key_pem(&key)))
}

fn gen_signed(spec: impl FnOnce() -> Result<Spec>, ca: &Value, key: KeyPair) -> Result<Value> {
    let parent = parse_parent(ca)?;
    let cert = create_cert(&spec()?, &key, Some(&parent))?;
    Ok(cert_value(cert, key_pem(&key)))
}

/// Sprig's `genPrivateKey`: a PEM key, or Sprig's text for an unknown type.
fn gen_private_key(typ: &str) -> Result<String> {
    let k = match typ {
        "" | "rsa" => rsa_key(rcgen::RsaKeySize::_4096)?,
        "ecdsa" => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| cert_err("error generating key", e))?,
        "ed25519" => KeyPair::generate_for(&rcgen::PKCS_ED25519)
            .map_err(|e| cert_err("error generating key", e))?,
        other => return Ok(format!("Unknown type {other}")),
    };
    Ok(key_pem(&k))
}

/// Sprig's `buildCustomCert`: Go's base64, the first PEM block parsed as a
/// certificate, the key read.
fn build_custom_cert(b64_cert: &str, b64_key: &str) -> Result<Value> {
    let dec = |s: &str, what: &str| -> Result<String> {
        let b = super::crypto::go_b64_decode(s.as_bytes())
            .map_err(|_| err(format!("unable to decode base64 {what}")))?;
        Ok(String::from_utf8_lossy(&b).into_owned())
    };
    let cert = dec(b64_cert, "certificate")?;
    let key = dec(b64_key, "private key")?;
    let (_, der) = pem_decode(&cert).ok_or_else(|| err("unable to decode certificate"))?;
    ca_fields(&der).ok_or_else(|| {
        err("error parsing certificate: decodedCert.Bytes: x509: malformed certificate")
    })?;
    parse_key(&key)?;
    Ok(cert_value(cert, key))
}

pub(super) fn register(m: &mut FuncMap) {
    add_fn(m, "genPrivateKey", |typ: String| gen_private_key(&typ));
    add_fn(m, "genCA", |cn: String, days: i64| {
        gen_ca(&cn, days, new_key()?)
    });
    add_fn(m, "genCAWithKey", |cn: String, days: i64, pem: String| {
        gen_ca(&cn, days, given_key(&pem)?)
    });
    add_fn(
        m,
        "genSelfSignedCert",
        |cn: String, ips: Value, dns: Value, days: i64| {
            let key = new_key()?;
            gen_self_signed(Spec::with_sans(cn, &ips, &dns, days)?, key)
        },
    );
    add_fn(
        m,
        "genSelfSignedCertWithKey",
        |cn: String, ips: Value, dns: Value, days: i64, pem: String| {
            let key = given_key(&pem)?;
            gen_self_signed(Spec::with_sans(cn, &ips, &dns, days)?, key)
        },
    );
    add_fn(
        m,
        "genSignedCert",
        |cn: String, ips: Value, dns: Value, days: i64, ca: Value| {
            let spec = || Spec::with_sans(cn, &ips, &dns, days);
            gen_signed(spec, &ca, new_key()?)
        },
    );
    add_fn(
        m,
        "genSignedCertWithKey",
        |cn: String, ips: Value, dns: Value, days: i64, ca: Value, pem: String| {
            let key = given_key(&pem)?;
            let spec = || Spec::with_sans(cn, &ips, &dns, days);
            gen_signed(spec, &ca, key)
        },
    );
    add_fn(m, "buildCustomCert", |cert: String, key: String| {
        build_custom_cert(&cert, &key)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `genSignedCert "svc.ns.svc" (list "10.0.0.1") (list "svc" "svc.ns") 30 CA`.
    fn signed_leaf(ca: Value) -> Result<Value> {
        let ips = Value::List(alloc::vec![vstr("10.0.0.1")].into());
        let dns = Value::List(alloc::vec![vstr("svc"), vstr("svc.ns")].into());
        let spec = || Spec::with_sans("svc.ns.svc".into(), &ips, &dns, 30);
        gen_signed(spec, &ca, new_key()?)
    }

    #[test]
    fn ca_and_signed_cert_chain() {
        let ca = gen_ca("my-ca", 365, new_key().unwrap()).unwrap();
        let (cert, key) = ca_arg(&ca).unwrap();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(key.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        let leaf = signed_leaf(ca).unwrap();
        let (leaf_cert, _) = ca_arg(&leaf).unwrap();
        assert!(leaf_cert.contains("BEGIN CERTIFICATE"));
        assert!(parse_key(&key).is_ok());
        assert!(days(-1).is_ok() && days(MAX_DAYS + 1).is_err());
    }

    #[test]
    fn ca_key_must_match_its_certificate() {
        let ca = gen_ca("my-ca", 1, new_key().unwrap()).unwrap();
        let (cert, _) = ca_arg(&ca).unwrap();
        let other = key_pem(&new_key().unwrap());
        let d = Dict::new();
        d.insert("Cert", vstr(cert));
        d.insert("Key", vstr(other));
        let ca = Value::Map(d.with_type_name("sprig.certificate"));
        let e = signed_leaf(ca).unwrap_err();
        assert!(
            e.to_string().contains("doesn't match parent's PublicKey"),
            "{e}"
        );
    }

    #[test]
    fn der_integers_and_strings() {
        assert_eq!(der_uint(&[0, 0, 0x7f]), [0x02, 0x01, 0x7f]);
        assert_eq!(der_uint(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(der_uint(&[0, 0]), [0x02, 0x01, 0x00]);
        assert_eq!(der_len(0x1234), [0x82, 0x12, 0x34]);
        assert!(go_printable("a-b.c (d), e=f?") && !go_printable("*.x") && !go_printable("a&b"));
        assert_eq!(name_der(""), [0x30, 0x00]);
    }
}
