"""Decoded structure of X.509 certificates, random parts masked, as JSON (Python `cryptography`
plus a small DER walk for what `cryptography` re-encodes: string and time tags, raw extension
values and their order).

Reads a JSON array of jobs on stdin and prints a JSON array of results, one per job:
  {"cert": PEM, "issuer": PEM or null (self-signed)} -> the certificate's structure;
  {"value": a PEM string or the base64 of one, as a Secret or a caBundle holds it} -> {"certs":
      [structure, each certificate its own issuer], "keys": [key skeleton]};
  {"stream": rendered YAML documents} -> {"certs": {location: structure}, "serial_bits":
      {location: bit length}, "keys": {location: key skeleton}} for every certificate and
      private key in the stream (a PEM string value, or one base64-encoded), location =
      "<# Source:> <JSON pointer>[#n]"; a certificate's issuer is the one in the stream whose
      subject is its issuer and whose key verifies it (else itself). A key's skeleton is its
      PEM type, size (RSA bits, EC curve) and DER tree: tags, OIDs, integers of up to 3 bytes;
      other values by length.
Or: `x509_structure.py CERT.pem [ISSUER.pem]`.

Masked: the serial's value (kept: positive, at most 128 bits), the public key's bits (kept:
algorithm identifier, type, size), the signature (kept: algorithm, whether it verifies with the
issuer's key), the validity instants (kept: time tags, length in minutes) and key identifiers'
values (kept: length, fields, how they derive from the subject's / issuer's public key:
`sha1` (RFC 5280 method 1), `sha256-160` (RFC 7093 method 1), `other`). Every other extension
value is given as DER hex.
"""

import base64
import binascii
import hashlib
import json
import re
import sys

import yaml

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

TAGS = {0x0C: "UTF8String", 0x13: "PrintableString", 0x16: "IA5String", 0x17: "UTCTime",
        0x18: "GeneralizedTime", 0x14: "T61String", 0x1E: "BMPString"}
SKI, AKI = "2.5.29.14", "2.5.29.35"


def tlv(d, pos=0):
    """(tag, content start, end) of the DER element at pos."""
    tag, n = d[pos], d[pos + 1]
    if n < 0x80:
        return tag, pos + 2, pos + 2 + n
    k = n & 0x7F
    length = int.from_bytes(d[pos + 2:pos + 2 + k], "big")
    return tag, pos + 2 + k, pos + 2 + k + length


def children(d, start, end):
    out = []
    while start < end:
        t, s, e = tlv(d, start)
        out.append((t, s, e, start))
        start = e
    return out


def oid_str(b):
    vals, acc = [], 0
    for x in b:
        acc = (acc << 7) | (x & 0x7F)
        if not x & 0x80:
            vals.append(acc)
            acc = 0
    first = min(vals[0] // 40, 2)
    return ".".join(str(v) for v in [first, vals[0] - 40 * first] + vals[1:])


def name(d, s, e):
    out = []
    for _, rs, re_, _ in children(d, s, e):
        for _, as_, ae, _ in children(d, rs, re_):
            (_, os_, oe, _), (vt, vs, ve, _) = children(d, as_, ae)
            out.append([oid_str(d[os_:oe]), TAGS.get(vt, hex(vt)), d[vs:ve].decode("utf-8", "replace")])
    return out


def bit_string_content(d, pos):
    _, s, e = tlv(d, pos)
    return d[s + 1:e]


def derivation(key_id, spki_der):
    if spki_der is None:
        return "no issuer"
    _, s, e = tlv(spki_der)
    (_, _, _, _), (_, _, _, bpos) = children(spki_der, s, e)
    bits = bit_string_content(spki_der, bpos)
    if key_id == hashlib.sha1(bits).digest():
        return "sha1"
    if key_id == hashlib.sha256(bits).digest()[:20]:
        return "sha256-160"
    return "other"


def spki(cert):
    return cert.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id_ext(d, oid, vs, ve, own_spki, issuer_spki):
    """SKI: OCTET STRING; AKI: SEQUENCE of [0] keyIdentifier, [1] issuer, [2] serial."""
    if oid == SKI:
        _, s, e = tlv(d, vs)
        return {"key_id_len": e - s, "derives_from_subject_key": derivation(d[s:e], own_spki)}
    _, s, e = tlv(d, vs)
    out = {"fields": [hex(t) for t, _, _, _ in children(d, s, e)]}
    for t, cs, ce, _ in children(d, s, e):
        if t == 0x80:
            out["key_id_len"] = ce - cs
            out["derives_from_issuer_key"] = derivation(d[cs:ce], issuer_spki)
    return out


def extensions(d, pos, own_spki, issuer_spki):
    _, s, e = tlv(d, pos)  # [3]
    _, s, e = tlv(d, s)  # SEQUENCE OF Extension
    out = []
    for _, es, ee, _ in children(d, s, e):
        parts = children(d, es, ee)
        oid = oid_str(d[parts[0][1]:parts[0][2]])
        critical = len(parts) == 3 and d[parts[1][1]:parts[1][2]] != b"\x00"
        _, vs, ve, _ = parts[-1]
        ext = {"oid": oid, "critical": critical, "has_critical_field": len(parts) == 3}
        if oid in (SKI, AKI):
            ext.update(key_id_ext(d, oid, vs, ve, own_spki, issuer_spki))
        else:
            ext["value"] = d[vs:ve].hex()
        out.append(ext)
    return out


def verifies(cert, issuer):
    key = issuer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                       cert.signature_hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes,
                       ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        else:
            return "unsupported key"
    except Exception as e:  # noqa: BLE001 - any failure is the answer
        return f"invalid: {type(e).__name__}"
    return "valid"


def public_key(cert, d, pos):
    _, s, e = tlv(d, pos)
    alg = d[children(d, s, e)[0][3]:children(d, s, e)[0][2]].hex()
    k = cert.public_key()
    if isinstance(k, rsa.RSAPublicKey):
        return {"alg": alg, "type": "RSA", "bits": k.key_size, "exponent": k.public_numbers().e}
    if isinstance(k, ec.EllipticCurvePublicKey):
        return {"alg": alg, "type": "EC", "curve": k.curve.name}
    return {"alg": alg, "type": type(k).__name__}


def raw_subject(cert):
    """The subject as encoded in cert (DER bytes, not re-encoded)."""
    d = cert.tbs_certificate_bytes
    _, s, e = tlv(d)
    f = children(d, s, e)
    return d[f[5][3]:f[5][2]]


def structure(cert_pem, issuer_pem):
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    issuer = x509.load_pem_x509_certificate(issuer_pem.encode()) if issuer_pem else cert
    d = cert.public_bytes(serialization.Encoding.DER)
    _, cs, ce = tlv(d)
    (_, ts, te, _), (_, as_, ae, apos), _sig = children(d, cs, ce)
    f = children(d, ts, te)
    assert f[0][0] == 0xA0, "no explicit version"
    version = d[f[0][1]:f[0][2]].hex()
    _, ss, se, _ = f[1]
    serial = d[ss:se]
    validity = children(d, f[4][1], f[4][2])
    seconds = (cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds()
    return {
        "version": version,
        "serial": {"positive": serial[0] < 0x80 and cert.serial_number > 0,
                   "minimal": len(serial) == 1 or not (serial[0] == 0 and serial[1] < 0x80),
                   "at_most_128_bits": cert.serial_number.bit_length() <= 128},
        "signature_alg": d[apos:ae].hex(),
        "tbs_signature_alg": d[f[2][3]:f[2][2]].hex(),
        "issuer": name(d, f[3][1], f[3][2]),
        "issuer_is_issuers_subject": d[f[3][3]:f[3][2]] == raw_subject(issuer),
        "validity": {"tags": [TAGS[t] for t, _, _, _ in validity], "minutes": round(seconds / 60)},
        "subject": name(d, f[5][1], f[5][2]),
        "public_key": public_key(cert, d, f[6][3]),
        "fields_after_key": [hex(t) for t, _, _, _ in f[7:] if t != 0xA3],
        "extensions": extensions(d, f[-1][3], spki(cert), spki(issuer)) if f[-1][0] == 0xA3 else [],
        "signature": verifies(cert, issuer),
    }


PEM_RE = re.compile(r"-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----")
KEY_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----([^-]+)-----END \1-----")


def decoded(text):
    """text, and its base64 decoding when it is base64 of UTF-8 text."""
    try:
        return [text, base64.b64decode(text.strip(), validate=True).decode("utf-8")]
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return [text]


def walk(node, pointer, out, regex):
    if isinstance(node, dict):
        for k, v in node.items():
            walk(v, f"{pointer}/{str(k).replace('~', '~0').replace('/', '~1')}", out, regex)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk(v, f"{pointer}/{i}", out, regex)
    elif isinstance(node, str):
        found = [m.group(0) for t in decoded(node) for m in regex.finditer(t)]
        for i, pem in enumerate(found):
            out[pointer + (f"#{i}" if i else "")] = pem


def pems_in_stream(text, regex=PEM_RE):
    out, source = {}, ""
    for doc in re.split(r"^---\s*$", text, flags=re.M):
        m = re.search(r"^# Source: (.*)$", doc, flags=re.M)
        source = m.group(1) if m else source
        found = {}
        walk(yaml.safe_load(doc), "", found, regex)
        out.update({f"{source} {p}": pem for p, pem in found.items()})
    return out


def skeleton(d, start, end):
    out = []
    for t, s, e, _ in children(d, start, end):
        if t & 0x20:
            out.append([hex(t), skeleton(d, s, e)])
        elif t == 0x06 or (t == 0x02 and e - s <= 3):
            out.append(f"{hex(t)}:{d[s:e].hex()}")
        else:
            out.append(f"{hex(t)}:{'big' if t == 0x02 else e - s}")
    return out


def key_skeleton(pem):
    m = KEY_RE.search(pem)
    der = base64.b64decode("".join(m.group(2).split()))
    key = serialization.load_pem_private_key(pem.encode(), None)
    size = getattr(key, "key_size", None) or getattr(getattr(key, "curve", None), "name", None)
    return {"type": m.group(1), "der": skeleton(der, 0, len(der)), "size": size}


def issuer_of(cert, pool):
    raw = cert.tbs_certificate_bytes
    _, s, e = tlv(raw)
    f = children(raw, s, e)
    want = raw[f[3][3]:f[3][2]]
    for other in pool:
        if other != cert and raw_subject(other) == want and verifies(cert, other) == "valid":
            return other
    return cert


def stream_job(text):
    pems = pems_in_stream(text)
    loaded = {loc: x509.load_pem_x509_certificate(p.encode()) for loc, p in pems.items()}
    pool = list(loaded.values())
    certs, bits = {}, {}
    for loc, cert in loaded.items():
        issuer = issuer_of(cert, pool)
        pem = issuer.public_bytes(serialization.Encoding.PEM).decode() if issuer != cert else None
        certs[loc] = structure(pems[loc], pem)
        bits[loc] = cert.serial_number.bit_length()
    keys = {loc: key_skeleton(p) for loc, p in pems_in_stream(text, KEY_RE).items()}
    return {"certs": certs, "serial_bits": bits, "keys": keys}


def value_job(text):
    certs = [m.group(0) for t in decoded(text) for m in PEM_RE.finditer(t)]
    keys = [m.group(0) for t in decoded(text) for m in KEY_RE.finditer(t)]
    if not certs and not keys:
        raise ValueError("neither a PEM certificate or private key nor the base64 of one")
    return {"certs": [structure(c, None) for c in certs], "keys": [key_skeleton(k) for k in keys]}


def main():
    if len(sys.argv) > 1:
        issuer = open(sys.argv[2]).read() if len(sys.argv) > 2 else None
        jobs = [{"cert": open(sys.argv[1]).read(), "issuer": issuer}]
    else:
        jobs = json.load(sys.stdin)
    out = []
    for job in jobs:
        try:
            if "stream" in job:
                out.append(stream_job(job["stream"]))
            elif "value" in job:
                out.append(value_job(job["value"]))
            else:
                out.append(structure(job["cert"], job.get("issuer")))
        except Exception as e:  # noqa: BLE001 - reported per job
            out.append({"error": f"{type(e).__name__}: {e}"})
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
