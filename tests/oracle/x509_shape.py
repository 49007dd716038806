"""The structure of PEM certificates and private keys with their random parts masked.

Usage: python x509_shape.py < values.json
stdin: a JSON list of strings, each a PEM block or the base64 of one (as in a Secret's data or
a webhook's caBundle). stdout: a JSON list, one structure per string, decoded with Python
`cryptography`: for a certificate its version, subject, issuer, whether it is self-signed,
validity length, signature algorithm, public key type and size, and extensions (the key
identifiers, derived from the random key, masked); for a private key its PEM label, type and
size. The serial number, the key material, the signature and the validity dates are random
or time-dependent and left out; {"error": ...} when a string is neither.
"""
import base64
import binascii
import json
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

MASKED = {x509.SubjectKeyIdentifier.oid, x509.AuthorityKeyIdentifier.oid}


def pem_text(s):
    if s.lstrip().startswith("-----BEGIN"):
        return s
    try:
        return base64.b64decode(s, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as e:
        raise ValueError(f"neither PEM nor base64 of PEM: {e}") from e


def key_shape(k):
    if isinstance(k, rsa.RSAPublicKey) or isinstance(k, rsa.RSAPrivateKey):
        return {"type": "RSA", "size": k.key_size}
    if isinstance(k, ec.EllipticCurvePublicKey) or isinstance(k, ec.EllipticCurvePrivateKey):
        return {"type": "EC", "curve": k.curve.name}
    return {"type": type(k).__name__}


def cert_shape(c):
    return {
        "kind": "certificate",
        "version": c.version.name,
        "subject": c.subject.rfc4514_string(),
        "issuer": c.issuer.rfc4514_string(),
        "self_signed": c.subject == c.issuer,
        "validity_seconds": int((c.not_valid_after_utc - c.not_valid_before_utc).total_seconds()),
        "signature_algorithm": c.signature_algorithm_oid.dotted_string,
        "serial_bits_at_most_128": c.serial_number.bit_length() <= 128,
        "public_key": key_shape(c.public_key()),
        "extensions": [
            {
                "oid": e.oid.dotted_string,
                "critical": e.critical,
                "value": "<masked>" if e.oid in MASKED else repr(e.value),
            }
            for e in c.extensions
        ],
    }


def shape(s):
    text = pem_text(s)
    label = text.strip().splitlines()[0]
    if "CERTIFICATE" in label:
        return cert_shape(x509.load_pem_x509_certificate(text.encode()))
    if "PRIVATE KEY" in label:
        key = serialization.load_pem_private_key(text.encode(), password=None)
        return {"kind": "private key", "label": label, **key_shape(key)}
    raise ValueError(f"unknown PEM block {label!r}")


def main():
    out = []
    for s in json.load(sys.stdin):
        try:
            out.append(shape(s))
        except ValueError as e:
            out.append({"error": str(e)})
    json.dump(out, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
