//! Keyless-style signatures under a private CA that `openssl` builds (an RSA root, an ECDSA
//! P-384 intermediate, a P-256 leaf with a URI SAN and Fulcio's issuer and source extensions):
//! imagebom's chain verdict at a time equals `openssl verify -attime`, its SANs equal what
//! `openssl x509 -ext subjectAltName` prints, and the identity policy decides the rest.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use imagebom_testkit::{ready, Need};
use imagebom_verify::cosign::{self, Image, Layer};
use imagebom_verify::{
    pem_blocks, Authority, Identity, Matcher, Options, Policy, Signer, TrustedRoot,
};

const OPENSSL: Need = Need::Program("/usr/bin/openssl", "openssl");
const SUBJECT: &str = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0";
const ISSUER: &str = "https://token.actions.githubusercontent.com";
const DIGEST: &str = "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00";

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn must(dir: &Path, args: &[&str]) {
    let (ok, _) = openssl(dir, args);
    assert!(ok, "openssl {args:?} failed");
}

/// Builds root → intermediate → leaf in `dir`; returns nothing, the files are named.
fn build_pki(dir: &Path) {
    std::fs::write(
        dir.join("ca.cnf"),
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("leaf.cnf"),
        format!(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n\
             subjectAltName=URI:{SUBJECT}\n1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:{ISSUER}\n\
             1.3.6.1.4.1.57264.1.12=ASN1:UTF8String:https://github.com/acme/app\n\
             1.3.6.1.4.1.57264.1.13=ASN1:UTF8String:0123456789abcdef0123456789abcdef01234567\n"
        ),
    )
    .unwrap();
    must(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.pem",
            "-subj",
            "/CN=test-root",
            "-days",
            "3650",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    );
    must(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-nodes",
            "-keyout",
            "inter.key",
            "-out",
            "inter.csr",
            "-subj",
            "/CN=test-intermediate",
        ],
    );
    must(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "inter.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-out",
            "inter.pem",
            "-days",
            "3650",
            "-extfile",
            "ca.cnf",
        ],
    );
    must(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=leaf",
        ],
    );
    must(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "inter.pem",
            "-CAkey",
            "inter.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "1",
            "-extfile",
            "leaf.cnf",
        ],
    );
    std::fs::write(dir.join("payload"), format!(r#"{{"critical":{{"identity":{{"docker-reference":"registry.example/app"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"cosign container image signature"}},"optional":null}}"#)).unwrap();
    must(
        dir,
        &[
            "dgst",
            "-sha256",
            "-sign",
            "leaf.key",
            "-out",
            "payload.sig",
            "payload",
        ],
    );
}

fn root_of(dir: &Path, files: &[&str]) -> TrustedRoot {
    let mut certs = Vec::new();
    for f in files {
        certs.extend(
            pem_blocks(
                &std::fs::read_to_string(dir.join(f)).unwrap(),
                "CERTIFICATE",
            )
            .unwrap(),
        );
    }
    TrustedRoot {
        tlogs: vec![],
        ctlogs: vec![],
        certificate_authorities: vec![Authority {
            uri: "test".into(),
            certs,
            validity: None,
        }],
        timestamp_authorities: vec![],
    }
}

fn verify(
    dir: &Path,
    root: &TrustedRoot,
    policy: &Policy,
    now: i64,
) -> Result<imagebom_verify::Verified, String> {
    let mut ann = BTreeMap::new();
    ann.insert(
        cosign::ANN_SIGNATURE.to_string(),
        imagebom_verify::dsse::encode_b64(&std::fs::read(dir.join("payload.sig")).unwrap()),
    );
    ann.insert(
        cosign::ANN_CERTIFICATE.to_string(),
        std::fs::read_to_string(dir.join("leaf.pem")).unwrap(),
    );
    let blob = std::fs::read(dir.join("payload")).unwrap();
    let layer = Layer {
        media_type: cosign::SIMPLE_SIGNING,
        blob: &blob,
        annotations: &ann,
    };
    let opts = Options {
        now,
        require_tlog: false,
        fulcio_profile: false,
    };
    cosign::verify_signature_layer(
        &layer,
        &Image {
            digest: DIGEST,
            reference: None,
        },
        root,
        policy,
        &opts,
    )
    .map_err(|e| e.to_string())
}

fn openssl_chain_ok(dir: &Path, at: i64) -> bool {
    let at = at.to_string();
    openssl(
        dir,
        &[
            "verify",
            "-attime",
            &at,
            "-CAfile",
            "root.pem",
            "-untrusted",
            "inter.pem",
            "leaf.pem",
        ],
    )
    .0
}

#[test]
fn a_private_ca_chain_agrees_with_openssl() {
    if !ready(&[OPENSSL]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build_pki(dir);
    let root = root_of(dir, &["inter.pem", "root.pem"]);
    let exact = Policy::Identities(vec![Identity::exact(SUBJECT, ISSUER)]);
    let real_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;

    // Valid now: both accept; the identity is what openssl prints.
    assert!(openssl_chain_ok(dir, real_now));
    let v = verify(dir, &root, &exact, real_now).unwrap();
    let Signer::Keyless(id) = &v.signer else {
        panic!("keyless expected")
    };
    let (_, san) = openssl(
        dir,
        &[
            "x509",
            "-in",
            "leaf.pem",
            "-noout",
            "-ext",
            "subjectAltName",
        ],
    );
    let printed: Vec<String> = san
        .lines()
        .skip(1)
        .flat_map(|l| l.split(','))
        .map(|s| s.trim().trim_start_matches("URI:").to_string())
        .collect();
    assert_eq!(id.sans, printed);
    assert_eq!(id.issuer.as_deref(), Some(ISSUER));
    assert_eq!(
        id.source_repository.as_deref(),
        Some("https://github.com/acme/app")
    );
    assert_eq!(
        id.source_commit.as_deref(),
        Some("0123456789abcdef0123456789abcdef01234567")
    );

    // Three days on the leaf has expired: both refuse.
    let later = real_now + 3 * 86_400;
    assert!(!openssl_chain_ok(dir, later));
    assert!(verify(dir, &root, &exact, later).is_err());

    // Trusting only another CA: both refuse.
    must(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "other.key",
            "-out",
            "other.pem",
            "-subj",
            "/CN=test-intermediate",
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ],
    );
    assert!(!openssl(dir, &["verify", "-CAfile", "other.pem", "leaf.pem"]).0);
    assert!(verify(dir, &root_of(dir, &["other.pem"]), &exact, real_now).is_err());
}

#[test]
fn identity_policies_over_a_real_certificate() {
    if !ready(&[OPENSSL]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build_pki(dir);
    let root = root_of(dir, &["inter.pem", "root.pem"]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let regex = |s: &str, i: &str| Identity {
        subject: Matcher::regex(s).unwrap(),
        issuer: Some(Matcher::Exact(i.into())),
    };
    let cases: Vec<(&str, Policy, bool)> = vec![
        (
            "exact",
            Policy::Identities(vec![Identity::exact(SUBJECT, ISSUER)]),
            true,
        ),
        (
            "a prefix is not exact",
            Policy::Identities(vec![Identity::exact(
                "https://github.com/acme/app/",
                ISSUER,
            )]),
            false,
        ),
        (
            "anchored regex",
            Policy::Identities(vec![regex(
                r"^https://github\.com/acme/app/\.github/workflows/release\.yml@refs/tags/v1\..*$",
                ISSUER,
            )]),
            true,
        ),
        (
            "regex for another tag",
            Policy::Identities(vec![regex(
                r"^https://github\.com/acme/app/.*@refs/tags/v2\.",
                ISSUER,
            )]),
            false,
        ),
        (
            "wrong issuer",
            Policy::Identities(vec![Identity::exact(
                SUBJECT,
                "https://accounts.google.com",
            )]),
            false,
        ),
        (
            "one of two",
            Policy::Identities(vec![
                Identity::exact("someone@example.com", ISSUER),
                Identity::exact(SUBJECT, ISSUER),
            ]),
            true,
        ),
        ("no identity configured", Policy::Identities(vec![]), false),
        ("any identity", Policy::AnyIdentity, true),
    ];
    for (name, policy, want) in cases {
        let got = verify(dir, &root, &policy, now);
        assert_eq!(got.is_ok(), want, "{name}: {got:?}");
    }
    assert!(Matcher::regex("(unclosed")
        .unwrap_err()
        .to_string()
        .contains("(unclosed"));
}

/// A CA certificate is never a signing certificate, even with digitalSignature and a SAN
/// (openssl's `-purpose codesign`-free chain check would accept it; Sigstore clients do not).
#[test]
fn a_ca_certificate_does_not_sign() {
    if !ready(&[OPENSSL]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build_pki(dir);
    std::fs::write(
        dir.join("ca-leaf.cnf"),
        format!("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,digitalSignature\nextendedKeyUsage=codeSigning\nsubjectAltName=URI:{SUBJECT}\n1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:{ISSUER}\n"),
    )
    .unwrap();
    must(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=ca-leaf",
        ],
    );
    must(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "inter.pem",
            "-CAkey",
            "inter.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "1",
            "-extfile",
            "ca-leaf.cnf",
        ],
    );
    must(
        dir,
        &[
            "dgst",
            "-sha256",
            "-sign",
            "leaf.key",
            "-out",
            "payload.sig",
            "payload",
        ],
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(openssl_chain_ok(dir, now), "the chain itself is valid");
    let got = verify(
        dir,
        &root_of(dir, &["inter.pem", "root.pem"]),
        &Policy::AnyIdentity,
        now,
    );
    assert!(got.as_ref().is_err_and(|e| e.contains("CA")), "{got:?}");
}
