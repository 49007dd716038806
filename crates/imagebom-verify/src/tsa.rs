//! RFC 3161 signed timestamps: a `TimeStampResp` verified against the trusted root's timestamp
//! authorities, giving a verified time for a signature.

use crate::der::{self, Tlv};
use crate::error::{Error, Result};
use crate::keys::HashAlg;
use crate::trust::Authority;
use crate::x509;

const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const OID_TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";
const OID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const OID_TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";

/// The parts of a timestamp response a verification needs.
pub(crate) struct Timestamp<'a> {
    /// DER of the TSTInfo (the signed content).
    tst_info: &'a [u8],
    imprint_alg: HashAlg,
    imprint: &'a [u8],
    /// The signing time, Unix seconds.
    pub gen_time: i64,
    digest_alg: HashAlg,
    signed_attrs: &'a [u8],
    signature: &'a [u8],
}

fn bad(d: impl std::fmt::Display) -> Error {
    Error::malformed("RFC 3161 timestamp", d)
}

fn seq<'a>(t: &Tlv<'a>) -> Result<Vec<Tlv<'a>>> {
    if t.tag != 0x30 {
        return Err(bad("expected a SEQUENCE"));
    }
    der::items(t.value)
}

fn alg_of(t: &Tlv) -> Result<HashAlg> {
    let parts = seq(t)?;
    let oid = parts
        .first()
        .filter(|o| o.tag == 0x06)
        .ok_or_else(|| bad("no algorithm OID"))?;
    let dotted = x509::oid_of(oid.value);
    HashAlg::from_oid(&dotted).ok_or_else(|| Error::Unsupported(format!("timestamp hash {dotted}")))
}

/// Parses a DER `TimeStampResp` (status granted) down to what is verified.
pub(crate) fn parse(resp: &[u8]) -> Result<Timestamp<'_>> {
    let top = seq(&der::read_one(resp)?)?;
    let status = top
        .first()
        .map(seq)
        .transpose()?
        .ok_or_else(|| bad("no status"))?;
    let code = status
        .first()
        .filter(|s| s.tag == 0x02)
        .ok_or_else(|| bad("no status code"))?;
    if !matches!(code.value, [0] | [1]) {
        return Err(Error::invalid("the timestamp response was not granted"));
    }
    let token = seq(top.get(1).ok_or_else(|| bad("no timeStampToken"))?)?;
    if token.first().map(|o| x509::oid_of(o.value)).as_deref() != Some(OID_SIGNED_DATA) {
        return Err(bad("the token is not SignedData"));
    }
    let explicit = token
        .get(1)
        .filter(|t| t.tag == 0xa0)
        .ok_or_else(|| bad("no content"))?;
    let signed_data = seq(&der::read_one(explicit.value)?)?;
    let encap = signed_data
        .get(2)
        .map(seq)
        .transpose()?
        .ok_or_else(|| bad("no encapContentInfo"))?;
    if encap.first().map(|o| x509::oid_of(o.value)).as_deref() != Some(OID_TST_INFO) {
        return Err(bad("the content is not a TSTInfo"));
    }
    let econtent = encap
        .get(1)
        .filter(|t| t.tag == 0xa0)
        .ok_or_else(|| bad("no eContent"))?;
    let octets = der::read_one(econtent.value)?;
    if octets.tag != 0x04 {
        return Err(bad("eContent is not an OCTET STRING"));
    }
    let tst_info = octets.value;
    let tst = seq(&der::read_one(tst_info)?)?;
    let imprint = tst
        .get(2)
        .map(seq)
        .transpose()?
        .ok_or_else(|| bad("no messageImprint"))?;
    let [imprint_alg, hashed] = imprint.as_slice() else {
        return Err(bad("bad messageImprint"));
    };
    let gen = tst
        .get(4)
        .filter(|t| t.tag == 0x18)
        .ok_or_else(|| bad("no genTime"))?;
    let signer_infos = signed_data
        .last()
        .filter(|t| t.tag == 0x31)
        .ok_or_else(|| bad("no signerInfos"))?;
    let infos = der::items(signer_infos.value)?;
    let [info] = infos.as_slice() else {
        return Err(bad("expected exactly one signerInfo"));
    };
    let info = seq(info)?;
    let digest_alg = alg_of(info.get(2).ok_or_else(|| bad("no digestAlgorithm"))?)?;
    let attrs = info
        .get(3)
        .filter(|t| t.tag == 0xa0)
        .ok_or_else(|| bad("no signedAttrs"))?;
    let signature = info
        .get(5)
        .filter(|t| t.tag == 0x04)
        .ok_or_else(|| bad("no signature"))?;
    Ok(Timestamp {
        tst_info,
        imprint_alg: alg_of(imprint_alg)?,
        imprint: hashed.value,
        gen_time: der::generalized_time(gen.value)?,
        digest_alg,
        signed_attrs: attrs.value,
        signature: signature.value,
    })
}

impl Timestamp<'_> {
    fn attr(&self, oid: &str) -> Result<Option<Vec<u8>>> {
        for attr in der::items(self.signed_attrs)? {
            let parts = seq(&attr)?;
            if parts.first().map(|o| x509::oid_of(o.value)).as_deref() == Some(oid) {
                let values = parts
                    .get(1)
                    .ok_or_else(|| bad("attribute without values"))?;
                let first = der::items(values.value)?;
                return Ok(first.first().map(|v| v.value.to_vec()));
            }
        }
        Ok(None)
    }

    /// Verifies the timestamp over `message` with `authority` (leaf TSA certificate first);
    /// returns the verified time.
    pub(crate) fn verify(&self, message: &[u8], authority: &Authority) -> Result<i64> {
        if self.imprint_alg.digest(message) != self.imprint {
            return Err(Error::invalid(
                "the timestamp is over a different signature",
            ));
        }
        if self
            .attr(OID_CONTENT_TYPE)?
            .map(|o| x509::oid_of(&o))
            .as_deref()
            != Some(OID_TST_INFO)
        {
            return Err(Error::invalid(
                "the timestamp's content-type attribute is not TSTInfo",
            ));
        }
        if self.attr(OID_MESSAGE_DIGEST)? != Some(self.digest_alg.digest(self.tst_info)) {
            return Err(Error::invalid(
                "the timestamp's message-digest attribute does not match",
            ));
        }
        let [leaf_der, rest @ ..] = authority.certs.as_slice() else {
            return Err(Error::invalid("the timestamp authority has no certificate"));
        };
        if rest.is_empty() {
            return Err(Error::invalid(
                "the timestamp authority's chain is incomplete",
            ));
        }
        let leaf = x509::parse(leaf_der)?;
        let signed = der::encode(0x31, self.signed_attrs);
        x509::public_key(&leaf)?
            .verify_hash(Some(self.digest_alg), &signed, self.signature)
            .map_err(|_| {
                Error::invalid("the timestamp's signature does not verify with the authority")
            })?;
        let eku_ok = leaf.extended_key_usage().ok().flatten().is_some_and(|e| {
            e.value.time_stamping
                || e.value
                    .other
                    .iter()
                    .any(|o| o.to_id_string() == OID_TIME_STAMPING)
        });
        if !eku_ok {
            return Err(Error::invalid(
                "the timestamp certificate lacks the timeStamping usage",
            ));
        }
        let t = self.gen_time;
        let mut child = leaf;
        for der_bytes in rest {
            let parent = x509::parse(der_bytes)?;
            if !x509::valid_at(&child, t) || !x509::signed_by(&child, &parent) {
                return Err(Error::invalid(
                    "the timestamp certificate chain is not valid at its time",
                ));
            }
            child = parent;
        }
        if !x509::valid_at(&child, t) {
            return Err(Error::invalid(
                "the timestamp root is not valid at its time",
            ));
        }
        if let Some(v) = authority.validity {
            if !v.contains(t) {
                return Err(Error::invalid(
                    "the timestamp is outside its authority's validity",
                ));
            }
        }
        Ok(t)
    }
}
