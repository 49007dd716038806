//! Bad input is an error, never a panic: every truncation and many byte flips of a real
//! bundle, of its certificate and of a real RFC 3161 timestamp are refused cleanly.

use std::panic::{catch_unwind, AssertUnwindSafe};

use imagebom_testkit::{ready, Need};
use imagebom_verify::{dsse, verify_bundle, Artifact, Identity, Options, Policy, TrustedRoot};
use serde_json::Value;

const SIGSTORE: Need = Need::SIGSTORE;

fn base() -> std::path::PathBuf {
    SIGSTORE.path().join("conformance/bundle-verify")
}

/// Runs verification on `bundle`; a panic fails the test, naming what was fed.
fn no_panic(what: &str, bundle: &[u8], root: &TrustedRoot) -> bool {
    let policy = Policy::Identities(vec![Identity::exact(
        "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
        "https://token.actions.githubusercontent.com",
    )]);
    let artifact = std::fs::read(base().join("a.txt")).unwrap();
    let r = catch_unwind(AssertUnwindSafe(|| {
        verify_bundle(
            bundle,
            &Artifact::Bytes(&artifact),
            root,
            &policy,
            &Options::default(),
        )
    }));
    match r {
        Ok(v) => v.is_ok(),
        Err(_) => panic!("verification panicked on {what}"),
    }
}

/// Replaces the base64 value at `pointer` with `f(decoded)`, re-encoded.
fn with_field(doc: &Value, pointer: &str, f: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut doc = doc.clone();
    let field = doc.pointer_mut(pointer).unwrap();
    let bytes = dsse::decode_b64("test", field.as_str().unwrap()).unwrap();
    *field = Value::String(dsse::encode_b64(&f(&bytes)));
    serde_json::to_vec(&doc).unwrap()
}

#[test]
fn mangled_bundles_are_errors() {
    if !ready(&[SIGSTORE]) {
        return;
    }
    let root = TrustedRoot::production();
    let raw = std::fs::read(base().join("happy-path-v0.3/bundle.sigstore.json")).unwrap();
    assert!(
        no_panic("the intact bundle", &raw, &root),
        "the intact bundle must verify"
    );
    for n in (0..raw.len()).step_by(7) {
        assert!(!no_panic(
            &format!("the bundle cut at {n}"),
            &raw[..n],
            &root
        ));
    }
    let doc: Value = serde_json::from_slice(&raw).unwrap();
    let cert = "/verificationMaterial/certificate/rawBytes";
    let der_len = dsse::decode_b64("test", doc.pointer(cert).unwrap().as_str().unwrap())
        .unwrap()
        .len();
    for n in (0..der_len).step_by(5) {
        no_panic(
            &format!("the certificate cut at {n}"),
            &with_field(&doc, cert, |b| b[..n].to_vec()),
            &root,
        );
        let flipped = with_field(&doc, cert, |b| {
            let mut b = b.to_vec();
            b[n] ^= 0x5a;
            b
        });
        no_panic(
            &format!("the certificate with byte {n} flipped"),
            &flipped,
            &root,
        );
    }
}

#[test]
fn mangled_timestamps_are_errors() {
    if !ready(&[SIGSTORE]) {
        return;
    }
    let dir = base().join("rekor2-timestamp-with-embedded-cert");
    let root =
        TrustedRoot::from_json(&std::fs::read(dir.join("trusted_root.json")).unwrap()).unwrap();
    let raw = std::fs::read(dir.join("bundle.sigstore.json")).unwrap();
    assert!(
        no_panic("the intact bundle", &raw, &root),
        "the intact bundle must verify"
    );
    let doc: Value = serde_json::from_slice(&raw).unwrap();
    let ts = "/verificationMaterial/timestampVerificationData/rfc3161Timestamps/0/signedTimestamp";
    let len = dsse::decode_b64("test", doc.pointer(ts).unwrap().as_str().unwrap())
        .unwrap()
        .len();
    for n in (0..len).step_by(3) {
        assert!(!no_panic(
            &format!("the timestamp cut at {n}"),
            &with_field(&doc, ts, |b| b[..n].to_vec()),
            &root
        ));
        let flipped = with_field(&doc, ts, |b| {
            let mut b = b.to_vec();
            b[n] ^= 0xa5;
            b
        });
        no_panic(
            &format!("the timestamp with byte {n} flipped"),
            &flipped,
            &root,
        );
    }
}

#[test]
fn bad_trusted_roots_and_keys_are_errors() {
    for bad in [
        &b""[..],
        b"{",
        b"[]",
        br#"{"tlogs":[{"publicKey":{"rawBytes":"!!"},"logId":{"keyId":""}}]}"#,
    ] {
        assert!(TrustedRoot::from_json(bad).is_err());
    }
    assert!(imagebom_verify::PublicKey::from_pem(
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    )
    .is_err());
    assert!(imagebom_verify::PublicKey::from_spki_der(&[0x30, 0x80]).is_err());
}

/// The embedded production root is the shared public-good copy, byte for byte, and parses.
#[test]
fn the_embedded_root_is_the_public_good_one() {
    if !ready(&[SIGSTORE]) {
        return;
    }
    let shared = base().join("../../trusted_roots/production.trusted_root.json");
    assert_eq!(
        imagebom_verify::PRODUCTION_TRUSTED_ROOT,
        std::fs::read(shared).unwrap().as_slice()
    );
    let root = TrustedRoot::production();
    assert!(
        !root.tlogs.is_empty()
            && !root.ctlogs.is_empty()
            && !root.certificate_authorities.is_empty()
    );
}

/// A digest that is not `sha256:<hex>` is an error naming it.
#[test]
fn image_bundle_digests_are_checked() {
    let err = imagebom_verify::verify_image_bundle(
        b"{}",
        "md5:00",
        &TrustedRoot::production(),
        &Policy::AnyIdentity,
        &Options::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("md5:00"), "{err}");
}
