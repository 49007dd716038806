//! Sprig's key and certificate generators (`genPrivateKey`, `genCA`, `genSelfSignedCert`,
//! `genSignedCert`, their `…WithKey` forms and `buildCustomCert`), with rcgen.
//!
//! As in Sprig, a certificate is a value with `.Cert` and `.Key` (PEM strings); RSA keys
//! are 2048 bits for certificates and 4096 for `genPrivateKey "rsa"`, written as PKCS#1
//! `RSA PRIVATE KEY`; the validity starts now and lasts `daysValid` days; certificates
//! carry Sprig's key usages (digital signature, key encipherment, and cert sign for a
//! CA) and extended usages (server and client auth). Output is random, as in Helm.
//! `genPrivateKey "dsa"` is not available (no DSA support); `"ecdsa"` gives a P-256
//! SEC1 `EC PRIVATE KEY` and `"ed25519"` a PKCS#8 `PRIVATE KEY`, as Sprig.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use super::{err, i_arg, reg, s_arg, strval, vstr, want};
use crate::FuncMap;
use crate::error::{Result, TemplateError};
use crate::value::{Dict, Value};

/// Longest validity accepted (Go's time.Duration overflows after ~292 years).
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

/// The algorithm-specific key (PKCS#1 `RSAPrivateKey`, SEC1 `ECPrivateKey`) inside a
/// PKCS#8 `PrivateKeyInfo`.
fn pkcs8_to_pkcs1(d: &[u8]) -> Option<Vec<u8>> {
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

fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        alloc::vec![n as u8]
    } else if n < 0x100 {
        alloc::vec![0x81, n as u8]
    } else {
        alloc::vec![0x82, (n >> 8) as u8, n as u8]
    }
}

/// SEC1 `ECPrivateKey` with the curve named (`[0] prime256v1`), as Go's
/// `x509.MarshalECPrivateKey` writes it, from the one inside PKCS#8.
fn sec1_with_curve(inner: &[u8]) -> Option<Vec<u8>> {
    const P256: [u8; 12] = [
        0xA0, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07,
    ];
    let (t, s, e) = der_tlv(inner, 0)?;
    if t != 0x30 {
        return None;
    }
    let mut fields = Vec::new();
    let mut pos = s;
    while pos < e {
        let (_, _, fe) = der_tlv(inner, pos)?;
        fields.push(&inner[pos..fe]);
        pos = fe;
    }
    if fields.len() < 2 || fields.iter().any(|f| f[0] == 0xA0) {
        return (fields.len() >= 2).then(|| inner.to_vec());
    }
    let mut body = Vec::new();
    body.extend_from_slice(fields[0]);
    body.extend_from_slice(fields[1]);
    body.extend_from_slice(&P256);
    for f in &fields[2..] {
        body.extend_from_slice(f);
    }
    let mut out = alloc::vec![0x30];
    out.extend(der_len(body.len()));
    out.extend(body);
    Some(out)
}

/// A key as Sprig writes it: PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`, PKCS#8
/// for ed25519.
fn key_pem(k: &KeyPair) -> String {
    let der = k.serialize_der();
    let inner = pkcs8_to_pkcs1(&der);
    if k.algorithm() == &rcgen::PKCS_RSA_SHA256
        && let Some(p1) = &inner
    {
        return pem("RSA PRIVATE KEY", p1);
    }
    if k.algorithm() == &rcgen::PKCS_ECDSA_P256_SHA256
        && let Some(sec1) = inner.as_deref().and_then(sec1_with_curve)
    {
        return pem("EC PRIVATE KEY", &sec1);
    }
    // Go writes PKCS#8 v1 (no public key) for ed25519.
    match pkcs8_v1(&der) {
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
    let mut out = alloc::vec![0x30];
    out.extend(der_len(body.len()));
    out.extend(body);
    Some(out)
}

fn rsa_key(bits: rcgen::RsaKeySize) -> Result<KeyPair> {
    KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, bits)
        .map_err(|e| cert_err("error generating RSA key", e))
}

fn parse_key(pem_text: &str) -> Result<KeyPair> {
    KeyPair::from_pem(pem_text).map_err(|e| cert_err("error parsing private key", e))
}

fn days(v: i64) -> Result<time::Duration> {
    if !(0..=MAX_DAYS).contains(&v) {
        return Err(err(format!("daysValid {v} out of range (0..={MAX_DAYS})")));
    }
    Ok(time::Duration::days(v))
}

fn base_params(cn: &str, days_valid: i64, ca: bool) -> Result<CertificateParams> {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now;
    p.not_after = now + days(days_valid)?;
    let mut serial = [0u8; 16];
    {
        use rand::RngExt;
        rand::rng().fill(&mut serial);
    }
    serial[0] &= 0x7f;
    p.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    p.key_usages = alloc::vec![
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::DigitalSignature,
    ];
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages.push(KeyUsagePurpose::KeyCertSign);
    }
    p.extended_key_usages = alloc::vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    Ok(p)
}

fn add_sans(p: &mut CertificateParams, ips: &Value, dns: &Value) -> Result<()> {
    let items = |v: &Value, what: &str| -> Result<Vec<String>> {
        match v {
            Value::Nil => Ok(Vec::new()),
            Value::List(l) => Ok(l.iter().map(strval).collect()),
            other => Err(err(format!(
                "wrong type for value; expected []interface {{}}; got {} ({what})",
                super::go_type(other)
            ))),
        }
    };
    for ip in items(ips, "ips")? {
        let addr: IpAddr = ip
            .parse()
            .map_err(|_| err(format!("error parsing ip: {ip}")))?;
        p.subject_alt_names.push(SanType::IpAddress(addr));
    }
    for name in items(dns, "alternateDNS")? {
        let n = name
            .as_str()
            .try_into()
            .map_err(|e| cert_err("invalid DNS name", e))?;
        p.subject_alt_names.push(SanType::DnsName(n));
    }
    Ok(())
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
        Value::Map(d) => Ok((get(d, "Cert")?, get(d, "Key")?)),
        other => Err(err(format!(
            "wrong type for value; expected sprig.certificate; got {}",
            super::go_type(other)
        ))),
    }
}

/// A generated key, or one given as PEM (returned as given: Go re-encodes it to the
/// same canonical PEM).
enum Key {
    New(KeyPair),
    Given(KeyPair, String),
}

impl Key {
    fn pair(&self) -> &KeyPair {
        match self {
            Key::New(k) | Key::Given(k, _) => k,
        }
    }

    fn pem(&self) -> String {
        match self {
            Key::New(k) => key_pem(k),
            Key::Given(_, p) => p.clone(),
        }
    }
}

fn given(pem_text: &str) -> Result<Key> {
    Ok(Key::Given(parse_key(pem_text)?, pem_text.to_string()))
}

fn gen_ca(cn: &str, days_valid: i64, key: Key) -> Result<Value> {
    let p = base_params(cn, days_valid, true)?;
    let cert = p
        .self_signed(key.pair())
        .map_err(|e| cert_err("error generating certificate", e))?;
    Ok(cert_value(cert.pem(), key.pem()))
}

fn gen_self_signed(a: &[Value], key: Key) -> Result<Value> {
    let mut p = base_params(&s_arg(a, 0)?, i_arg(a, 3)?, false)?;
    add_sans(&mut p, &a[1], &a[2])?;
    let cert = p
        .self_signed(key.pair())
        .map_err(|e| cert_err("error generating certificate", e))?;
    Ok(cert_value(cert.pem(), key.pem()))
}

fn gen_signed(a: &[Value], key: Key) -> Result<Value> {
    let mut p = base_params(&s_arg(a, 0)?, i_arg(a, 3)?, false)?;
    add_sans(&mut p, &a[1], &a[2])?;
    let (ca_cert, ca_key) = ca_arg(&a[4])?;
    let ca_key = parse_key(&ca_key)?;
    let issuer = Issuer::from_ca_cert_pem(&ca_cert, &ca_key)
        .map_err(|e| cert_err("error parsing CA certificate", e))?;
    let cert = p
        .signed_by(key.pair(), &issuer)
        .map_err(|e| cert_err("error generating certificate", e))?;
    Ok(cert_value(cert.pem(), key.pem()))
}

pub(super) fn register(m: &mut FuncMap) {
    reg(m, "genPrivateKey", |a| {
        want("genPrivateKey", a, 1)?;
        let typ = s_arg(a, 0)?;
        let k = match typ.as_str() {
            "" | "rsa" => rsa_key(rcgen::RsaKeySize::_4096)?,
            "ecdsa" => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                .map_err(|e| cert_err("error generating key", e))?,
            "ed25519" => KeyPair::generate_for(&rcgen::PKCS_ED25519)
                .map_err(|e| cert_err("error generating key", e))?,
            // Sprig returns the error text for an unknown type.
            other => return Ok(vstr(format!("Unknown type {other}"))),
        };
        Ok(vstr(key_pem(&k)))
    });
    reg(m, "genCA", |a| {
        want("genCA", a, 2)?;
        gen_ca(
            &s_arg(a, 0)?,
            i_arg(a, 1)?,
            Key::New(rsa_key(rcgen::RsaKeySize::_2048)?),
        )
    });
    reg(m, "genCAWithKey", |a| {
        want("genCAWithKey", a, 3)?;
        gen_ca(&s_arg(a, 0)?, i_arg(a, 1)?, given(&s_arg(a, 2)?)?)
    });
    reg(m, "genSelfSignedCert", |a| {
        want("genSelfSignedCert", a, 4)?;
        gen_self_signed(a, Key::New(rsa_key(rcgen::RsaKeySize::_2048)?))
    });
    reg(m, "genSelfSignedCertWithKey", |a| {
        want("genSelfSignedCertWithKey", a, 5)?;
        gen_self_signed(a, given(&s_arg(a, 4)?)?)
    });
    reg(m, "genSignedCert", |a| {
        want("genSignedCert", a, 5)?;
        gen_signed(a, Key::New(rsa_key(rcgen::RsaKeySize::_2048)?))
    });
    reg(m, "genSignedCertWithKey", |a| {
        want("genSignedCertWithKey", a, 6)?;
        gen_signed(a, given(&s_arg(a, 5)?)?)
    });
    reg(m, "buildCustomCert", |a| {
        want("buildCustomCert", a, 2)?;
        let dec = |s: String, what: &str| -> Result<String> {
            let b = data_encoding::BASE64
                .decode(s.as_bytes())
                .map_err(|e| cert_err(&format!("unable to decode base64 {what}"), e))?;
            String::from_utf8(b).map_err(|e| cert_err(what, e))
        };
        let cert = dec(s_arg(a, 0)?, "certificate")?;
        let key = dec(s_arg(a, 1)?, "private key")?;
        if !cert.contains("-----BEGIN CERTIFICATE-----") {
            return Err(err(
                "error parsing certificate: decoded pem is not a certificate",
            ));
        }
        parse_key(&key)?;
        Ok(cert_value(cert, key))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_and_signed_cert_chain() {
        let ca = gen_ca(
            "my-ca",
            365,
            Key::New(rsa_key(rcgen::RsaKeySize::_2048).unwrap()),
        )
        .unwrap();
        let (cert, key) = ca_arg(&ca).unwrap();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(key.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        let args = [
            vstr("svc.ns.svc"),
            Value::List(alloc::vec![vstr("10.0.0.1")].into()),
            Value::List(alloc::vec![vstr("svc"), vstr("svc.ns")].into()),
            Value::Int(30),
            ca,
        ];
        let leaf = gen_signed(&args, Key::New(rsa_key(rcgen::RsaKeySize::_2048).unwrap())).unwrap();
        let (leaf_cert, _) = ca_arg(&leaf).unwrap();
        assert!(leaf_cert.contains("BEGIN CERTIFICATE"));
        assert!(parse_key(&key).is_ok());
        assert!(days(-1).is_err());
    }
}
