//! Keyed signatures made by `openssl` with real keys (ECDSA P-256 and P-384 — SHA-384, and
//! SHA-256 as cosign signs —, Ed25519, RSA
//! PKCS#1 v1.5 and PSS): imagebom and `openssl` agree that the untouched payload verifies and
//! that a tampered one does not.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use imagebom_testkit::{ready, Need};
use imagebom_verify::cosign::{self, Image, Layer};
use imagebom_verify::{dsse, Options, Policy, PublicKey, TrustedRoot};

const OPENSSL: Need = Need::Program("/usr/bin/openssl", "openssl");
const DIGEST: &str = "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00";

/// A key type: how openssl makes it and how it signs with it.
struct Kind {
    name: &'static str,
    genpkey: &'static [&'static str],
    /// `openssl dgst` options; empty for Ed25519 (signed raw with `pkeyutl`).
    dgst: &'static [&'static str],
}

const KINDS: &[Kind] = &[
    Kind {
        name: "p256",
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        dgst: &["-sha256"],
    },
    Kind {
        name: "p384",
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        dgst: &["-sha384"],
    },
    Kind {
        name: "p384-sha256",
        genpkey: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        dgst: &["-sha256"],
    },
    Kind {
        name: "ed25519",
        genpkey: &["-algorithm", "ED25519"],
        dgst: &[],
    },
    Kind {
        name: "rsa",
        genpkey: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        dgst: &["-sha256"],
    },
    Kind {
        name: "rsa-pss",
        genpkey: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
        dgst: &[
            "-sha256",
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:digest",
        ],
    },
];

fn openssl(args: &[&str]) -> bool {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    out.status.success()
}

fn sign(kind: &Kind, key: &Path, data: &Path, sig: &Path) {
    let (k, d, s) = (
        key.to_str().unwrap(),
        data.to_str().unwrap(),
        sig.to_str().unwrap(),
    );
    let ok = if kind.dgst.is_empty() {
        openssl(&[
            "pkeyutl", "-sign", "-rawin", "-inkey", k, "-in", d, "-out", s,
        ])
    } else {
        let mut args = vec!["dgst"];
        args.extend(kind.dgst);
        args.extend(["-sign", k, "-out", s, d]);
        openssl(&args)
    };
    assert!(ok, "{}: openssl could not sign", kind.name);
}

fn openssl_verifies(kind: &Kind, public: &Path, data: &Path, sig: &Path) -> bool {
    let (p, d, s) = (
        public.to_str().unwrap(),
        data.to_str().unwrap(),
        sig.to_str().unwrap(),
    );
    if kind.dgst.is_empty() {
        openssl(&[
            "pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", p, "-in", d, "-sigfile", s,
        ])
    } else {
        let mut args = vec!["dgst"];
        args.extend(kind.dgst);
        args.extend(["-verify", p, "-signature", s, d]);
        openssl(&args)
    }
}

fn payload(digest: &str) -> Vec<u8> {
    format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"registry.example/app"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
    )
    .into_bytes()
}

fn keyed_opts() -> Options {
    Options {
        require_tlog: false,
        ..Options::default()
    }
}

fn imagebom_verifies(key: &PublicKey, blob: &[u8], sig: &[u8], digest: &str) -> Result<(), String> {
    let mut ann = BTreeMap::new();
    ann.insert(cosign::ANN_SIGNATURE.to_string(), dsse::encode_b64(sig));
    let layer = Layer {
        media_type: cosign::SIMPLE_SIGNING,
        blob,
        annotations: &ann,
    };
    let image = Image {
        digest,
        reference: None,
    };
    cosign::verify_signature_layer(
        &layer,
        &image,
        &TrustedRoot::production(),
        &Policy::Key(key.clone()),
        &keyed_opts(),
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// Makes a key, returns (private key path, public key path, parsed public key).
fn make_key(dir: &Path, kind: &Kind) -> (std::path::PathBuf, std::path::PathBuf, PublicKey) {
    let key = dir.join(format!("{}.key", kind.name));
    let public = dir.join(format!("{}.pub", kind.name));
    let mut args = vec!["genpkey"];
    args.extend(kind.genpkey);
    args.extend(["-out", key.to_str().unwrap()]);
    assert!(openssl(&args), "{}: genpkey", kind.name);
    assert!(openssl(&[
        "pkey",
        "-in",
        key.to_str().unwrap(),
        "-pubout",
        "-out",
        public.to_str().unwrap()
    ]));
    let parsed = PublicKey::from_pem(&std::fs::read_to_string(&public).unwrap()).unwrap();
    (key, public, parsed)
}

#[test]
fn simple_signing_payloads_signed_by_openssl() {
    if !ready(&[OPENSSL]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for kind in KINDS {
        let (key, public, parsed) = make_key(dir.path(), kind);
        let data = dir.path().join(format!("{}.payload", kind.name));
        let sig_path = dir.path().join(format!("{}.sig", kind.name));
        std::fs::write(&data, payload(DIGEST)).unwrap();
        sign(kind, &key, &data, &sig_path);
        let sig = std::fs::read(&sig_path).unwrap();
        let blob = std::fs::read(&data).unwrap();

        assert!(
            openssl_verifies(kind, &public, &data, &sig_path),
            "{}: openssl rejects its own signature",
            kind.name
        );
        imagebom_verifies(&parsed, &blob, &sig, DIGEST)
            .unwrap_or_else(|e| panic!("{}: imagebom rejects: {e}", kind.name));
        // The payload names another image than the one checked.
        let other = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        assert!(
            imagebom_verifies(&parsed, &blob, &sig, other).is_err(),
            "{}: wrong image accepted",
            kind.name
        );

        // Tampered: the payload names another digest; both verifiers must refuse it.
        let tampered = payload(other);
        std::fs::write(&data, &tampered).unwrap();
        assert!(
            !openssl_verifies(kind, &public, &data, &sig_path),
            "{}: openssl accepts a tampered payload",
            kind.name
        );
        assert!(
            imagebom_verifies(&parsed, &tampered, &sig, other).is_err(),
            "{}: imagebom accepts a tampered payload",
            kind.name
        );
    }
}

#[test]
fn a_dsse_attestation_signed_by_openssl() {
    if !ready(&[OPENSSL]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let kind = &KINDS[0];
    let (key, public, parsed) = make_key(dir.path(), kind);
    let statement = format!(
        r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"registry.example/app","digest":{{"sha256":"{}"}}}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{{"buildDefinition":{{"buildType":"https://example.invalid/build"}},"runDetails":{{"builder":{{"id":"https://example.invalid/builder"}}}}}}}}"#,
        &DIGEST[7..]
    );
    let pae = dsse::pae(dsse::IN_TOTO, statement.as_bytes());
    let data = dir.path().join("pae");
    let sig_path = dir.path().join("pae.sig");
    std::fs::write(&data, &pae).unwrap();
    sign(kind, &key, &data, &sig_path);
    assert!(openssl_verifies(kind, &public, &data, &sig_path));
    let sig = std::fs::read(&sig_path).unwrap();
    let envelope = format!(
        r#"{{"payloadType":"{}","payload":"{}","signatures":[{{"keyid":"","sig":"{}"}}]}}"#,
        dsse::IN_TOTO,
        dsse::encode_b64(statement.as_bytes()),
        dsse::encode_b64(&sig)
    );
    let ann = BTreeMap::new();
    let layer = Layer {
        media_type: cosign::DSSE_LAYER,
        blob: envelope.as_bytes(),
        annotations: &ann,
    };
    let root = TrustedRoot::production();
    let policy = Policy::Key(parsed);
    let verified =
        cosign::verify_attestation_layer(&layer, DIGEST, &root, &policy, &keyed_opts()).unwrap();
    let provenance = verified.statement.unwrap().provenance().unwrap();
    assert_eq!(
        provenance.builder_id.as_deref(),
        Some("https://example.invalid/builder")
    );
    let other = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    assert!(
        cosign::verify_attestation_layer(&layer, other, &root, &policy, &keyed_opts()).is_err()
    );
    // A tampered payload under the same signature.
    let forged = envelope.replace(
        &dsse::encode_b64(statement.as_bytes()),
        &dsse::encode_b64(statement.replace("builder\"", "builder2\"").as_bytes()),
    );
    let forged_layer = Layer {
        blob: forged.as_bytes(),
        ..layer
    };
    assert!(
        cosign::verify_attestation_layer(&forged_layer, DIGEST, &root, &policy, &keyed_opts())
            .is_err()
    );
    let mut forged_pae = pae.clone();
    forged_pae.extend(b" ");
    std::fs::write(&data, &forged_pae).unwrap();
    assert!(!openssl_verifies(kind, &public, &data, &sig_path));
}
